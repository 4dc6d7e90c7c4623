import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appLogs, install } from './helpers/api';
import { startCluster, type Cluster } from './helpers/cluster';
import { waitFor } from './helpers/services';

/** runEveryMinute every second: the schedule PostHog runs, 60 times faster. */
const EVERY_MS = 1000;
const WINDOW_MS = 8000;

async function runsOf(cluster: Cluster, instanceId: number) {
  const lines = await appLogs(cluster.url, instanceId);
  return {
    starts: lines.filter((line) => line.message === 'start').map((line) => Date.parse(line.timestamp)),
    ends: lines.filter((line) => line.message === 'end').map((line) => Date.parse(line.timestamp)),
  };
}

async function scheduleMetric(cluster: Cluster, outcome: string): Promise<number> {
  let total = 0;
  for (const port of cluster.metricsPorts) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const match of text.matchAll(new RegExp(`sluice_schedule_runs_total\\{[^}]*outcome="${outcome}"\\} (\\d+)`, 'g'))) total += Number(match[1]);
  }
  return total;
}

describe('runEvery* across three runner processes (Postgres)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({ SLUICE_RUN_EVERY_MINUTE_MS: String(EVERY_MS), SLUICE_APP_JOB_TIMEOUT_MS: '5000' });
    await Promise.all([cluster.start('runner'), cluster.start('runner'), cluster.start('runner')]);
  });
  afterAll(async () => cluster?.stop());

  it('runs each tick exactly once', async () => {
    const ticker = await install(cluster.url, 'test/fixtures/apps/ticker');
    await waitFor('the first run', async () => (await runsOf(cluster, ticker.id)).starts.length > 0, 10_000);
    const before = (await runsOf(cluster, ticker.id)).starts.length;
    await new Promise((done) => setTimeout(done, WINDOW_MS));
    const { starts } = await runsOf(cluster, ticker.id);
    const runs = starts.length - before;
    // One run per tick; three runners each running every tick would give about 24.
    expect(runs).toBeGreaterThanOrEqual(WINDOW_MS / EVERY_MS - 1);
    expect(runs).toBeLessThanOrEqual(WINDOW_MS / EVERY_MS + 1);
    // No two runs of the same tick: ticks fall on whole seconds, so consecutive runs are about a second apart.
    starts.slice(1).forEach((time, index) => expect(time - starts[index]!).toBeGreaterThan(EVERY_MS / 2));
    expect(starts.every((time) => time % EVERY_MS < EVERY_MS * 0.8)).toBe(true);
    await disable(cluster, ticker.id);
  });

  it('skips ticks while a run is still in progress (PostHog\'s debounce)', async () => {
    const slow = await install(cluster.url, 'test/fixtures/apps/ticker', { busyMs: '2500' });
    await waitFor('three slow runs', async () => (await runsOf(cluster, slow.id)).ends.length >= 3, 20_000);
    const { starts, ends } = await runsOf(cluster, slow.id);
    // Runs never overlap: each starts after the previous one ended.
    for (let i = 1; i < Math.min(starts.length, ends.length); i++) expect(starts[i]!).toBeGreaterThanOrEqual(ends[i - 1]!);
    expect(await scheduleMetric(cluster, 'skipped')).toBeGreaterThan(0);
  });
});

/** Disables an instance so its schedule stops (and the next test sees only its own runs). */
async function disable(cluster: Cluster, instanceId: number): Promise<void> {
  const response = await fetch(`${cluster.url}/api/projects/default/apps/${instanceId}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${cluster.env.SLUICE_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ enabled: false }),
  });
  expect(response.status).toBe(200);
}
