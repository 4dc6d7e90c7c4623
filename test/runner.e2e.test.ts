import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, appLogs, capture, install } from './helpers/api';
import { runCli, startSluice, waitFor, type RunningSluice } from './helpers/services';

/** PostHog's delays at 1/100: onEvent retries after 50, 100, 200, 400, 800 ms; exportEvents after 60, 120, 240 ms. */
const SCALE = 0.01;
const ON_EVENT_DELAYS_MS = [5000, 10000, 20000, 40000, 80000].map((ms) => ms * SCALE);

function event(name: string, properties: Record<string, unknown> = {}) {
  return { event: name, distinct_id: 'user-1', uuid: randomUUID(), properties };
}

/** Log lines of an instance that start with `prefix`, with their times. */
async function linesStarting(url: string, instanceId: number, prefix: string) {
  return (await appLogs(url, instanceId)).filter((line) => line.message.startsWith(prefix));
}

describe('the runner: retries, dead letters, replay, isolation (sluice start)', () => {
  let sluice: RunningSluice;
  let flaky: { id: number };
  let recorder: { id: number };
  const ok = Array.from({ length: 10 }, () => event('fine'));
  const retrying = Array.from({ length: 5 }, () => event('busy', { fail: 'retry' }));
  const erroring = Array.from({ length: 5 }, () => event('broken', { fail: 'error' }));
  let sentAt = 0;

  beforeAll(async () => {
    sluice = await startSluice({ SLUICE_RETRY_DELAY_SCALE: String(SCALE) });
    flaky = await install(sluice.url, 'test/fixtures/apps/flaky-destination');
    recorder = await install(sluice.url, 'test/fixtures/apps/onevent-recorder');
    sentAt = Date.now();
    await capture(sluice.url, [...ok, ...retrying, ...erroring]);
  });
  afterAll(async () => sluice?.stop());

  it('delivers to a healthy destination at once while another keeps failing', async () => {
    const received = await waitFor('the recorder to get all 20 events', async () => {
      const lines = await linesStarting(sluice.url, recorder.id, 'received ');
      return lines.length >= 20 && lines;
    });
    const last = Math.max(...received.map((line) => Date.parse(line.timestamp)));
    // The flaky app's retries take 1.55 s in all; the recorder must not wait for them.
    expect(last - sentAt).toBeLessThan(1500);
    const { body } = await admin(sluice.url, 'GET', '/api/projects/default/dead-letters');
    expect(body.results.filter((letter: any) => letter.event.properties.fail === 'retry')).toHaveLength(0);
  });

  it('retries only the events that threw RetryError, on PostHog\'s schedule, then dead-letters them', async () => {
    const letters = await waitFor('10 dead letters', async () => {
      const { body } = await admin(sluice.url, 'GET', '/api/projects/default/dead-letters');
      return body.total === 10 && body.results;
    });
    // App logs are written in batches (every 500 ms): wait for the last attempts' lines.
    const attempts = await waitFor('the attempts in the app logs', async () => {
      const lines = await linesStarting(sluice.url, flaky.id, 'attempt ');
      return lines.length >= ok.length + erroring.length + retrying.length * 6 && lines;
    });
    const attemptsOf = (uuid: string) => attempts.filter((line) => line.message === `attempt ${uuid}`);
    for (const { uuid } of ok) expect(attemptsOf(uuid)).toHaveLength(1);
    for (const { uuid } of erroring) expect(attemptsOf(uuid)).toHaveLength(1); // other errors: not retried
    for (const { uuid } of retrying) {
      const times = attemptsOf(uuid).map((line) => Date.parse(line.timestamp));
      expect(times).toHaveLength(1 + ON_EVENT_DELAYS_MS.length);
      times.slice(1).forEach((time, index) => expect(time - times[index]!).toBeGreaterThanOrEqual(ON_EVENT_DELAYS_MS[index]! - 5));
    }
    const byUuid = new Map(letters.map((letter: any) => [letter.event.uuid, letter]));
    for (const { uuid } of retrying) {
      expect(byUuid.get(uuid)).toMatchObject({ instanceId: flaky.id, function: 'onEvent', attempts: 6, error: 'RetryError: destination busy' });
    }
    for (const { uuid } of erroring) {
      expect(byUuid.get(uuid)).toMatchObject({ function: 'onEvent', attempts: 1, error: expect.stringContaining('TypeError: cannot handle') });
    }
    const metrics = await (await fetch(`${sluice.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`sluice_delivery_events_total\\{app="Flaky Destination",instance="${flaky.id}",function="onEvent",outcome="dead_lettered"\\} 10`));
    expect(metrics).toMatch(new RegExp(`sluice_delivery_events_total\\{app="Flaky Destination",instance="${flaky.id}",function="onEvent",outcome="retried"\\} 25`));
  });

  it('lists and replays dead letters with the CLI once the destination is fixed', async () => {
    const listed = runCli(sluice, ['dead-letters', 'list', '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).total).toBe(10);
    const table = runCli(sluice, ['dead-letters', 'list', '--instance', String(flaky.id)]);
    expect(table.stdout).toMatch(/^ID\s+INSTANCE\s+FUNCTION/);
    expect(table.stdout).toContain('10 of 10 dead letter(s)');

    const healed = await admin(sluice.url, 'PATCH', `/api/projects/default/apps/${flaky.id}`, { config: { mode: 'heal' } });
    expect(healed.status).toBe(200);
    // The change reaches the runner through the pipeline bus; give it a moment, then replay.
    await new Promise((done) => setTimeout(done, 300));
    const replay = runCli(sluice, ['dead-letters', 'replay']);
    expect(replay.status, replay.stderr).toBe(0);
    expect(replay.stdout).toContain('replayed 10 of 10');
    await waitFor('the replayed events to be delivered', async () => {
      const delivered = await linesStarting(sluice.url, flaky.id, 'delivered ');
      return [...retrying, ...erroring].every(({ uuid }) => delivered.some((line) => line.message === `delivered ${uuid}`));
    });
    const { body } = await admin(sluice.url, 'GET', '/api/projects/default/dead-letters');
    expect(body.total).toBe(0);
  });

  it('answers a clear 4xx for bad dead-letter requests', async () => {
    const bad = await admin(sluice.url, 'POST', '/api/projects/default/dead-letters/replay', { ids: ['x'] });
    expect(bad).toMatchObject({ status: 400, body: { error: 'invalid_request', details: { field: 'ids' } } });
    const missing = await admin(sluice.url, 'GET', '/api/projects/nope/dead-letters');
    expect(missing.status).toBe(404);
  });
});

describe('exportEvents, jobs and schedules (sluice start)', () => {
  let sluice: RunningSluice;

  beforeAll(async () => {
    sluice = await startSluice({ SLUICE_RETRY_DELAY_SCALE: String(SCALE), SLUICE_RUN_EVERY_MINUTE_MS: '500' });
  });
  afterAll(async () => sluice?.stop());

  it('buffers exportEvents, skips exportEventsToIgnore, and retries only the failed batch', async () => {
    const exporter = await install(sluice.url, 'test/fixtures/apps/export-destination', {
      failFirst: 'yes', exportEventsBufferSeconds: '0.3', exportEventsToIgnore: 'noise, $feature_flag_called',
    });
    const wanted = Array.from({ length: 30 }, () => event('purchase'));
    const noise = [event('noise'), event('$feature_flag_called')];
    await capture(sluice.url, [...wanted.slice(0, 15), ...noise]);
    await capture(sluice.url, wanted.slice(15));
    const exported = await waitFor('every wanted event exported', async () => {
      const lines = await linesStarting(sluice.url, exporter.id, 'exported ');
      const uuids = lines.flatMap((line) => line.message.slice('exported '.length).split(','));
      return wanted.every(({ uuid }) => uuids.includes(uuid)) && uuids;
    });
    expect(new Set(exported).size).toBe(exported.length); // the retried batch was not exported twice
    expect(exported.some((uuid) => noise.some((n) => n.uuid === uuid))).toBe(false);
    const logs = await appLogs(sluice.url, exporter.id);
    expect(logs.some((line) => /exportEvents: RetryError: warehouse not ready; \d+ event\(s\) retried in 60 ms \(retry 1 of 3\)/.test(line.message))).toBe(true);
    const metrics = await (await fetch(`${sluice.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`sluice_delivery_events_total\\{app="Export Destination",instance="${exporter.id}",function="exportEvents",outcome="ignored"\\} 2`));
  });

  it('runs meta.jobs after runIn, and retries a job that throws RetryError', async () => {
    const app = await install(sluice.url, 'test/fixtures/apps/jobs-and-schedules');
    const later = event('later');
    const now = event('now');
    await capture(sluice.url, [later, now, event('stubborn')]);
    const lines = await waitFor('both jobs and three stubborn tries', async () => {
      const all = await linesStarting(sluice.url, app.id, 'job ');
      return all.filter((line) => line.message.startsWith('job remember')).length >= 2 && all.some((line) => line.message === 'job stubborn try 3') && all;
    });
    const waited = (uuid: string) => Number(lines.find((line) => line.message.startsWith(`job remember ${uuid}`))!.message.split(' waited ')[1]);
    expect(waited(later.uuid)).toBeGreaterThanOrEqual(295);
    expect(waited(now.uuid)).toBeLessThan(5000);
    expect(lines.filter((line) => line.message.startsWith('job stubborn'))).toHaveLength(3);
  });

  it('runs runEveryMinute on its (accelerated) schedule', async () => {
    const { body } = await admin(sluice.url, 'GET', '/api/projects/default/apps');
    const app = body.results.find((instance: any) => instance.name === 'Jobs And Schedules');
    await waitFor('three ticks', async () => (await linesStarting(sluice.url, app.id, 'tick')).length >= 3, 10_000);
  });
});
