import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, install, post, sampleEvents, storedEvents } from './helpers/api';
import { runCli, startSluice, waitFor, type RunningSluice } from './helpers/services';

const TOTAL = 1000;
const DROPPED_EVENT = '$pageleave';

describe('the whole path: intake → QuickJS stages → store → runner (sluice start, embedded store)', () => {
  let sluice: RunningSluice;
  const instances: Record<string, any> = {};

  beforeAll(async () => {
    sluice = await startSluice();
    instances.first = await install(sluice.url, 'test/fixtures/apps/chain-recorder', { label: 'first' });
    // hello-world through the CLI, as a user installs it.
    const cli = runCli(sluice, ['apps', 'install', './examples/hello-world', '--project', 'default', '--config', 'name=Ada', '--json']);
    expect(cli.status, cli.stderr).toBe(0);
    instances.hello = JSON.parse(cli.stdout);
    instances.drop = await install(sluice.url, 'examples/drop-events', { eventsToDrop: `${DROPPED_EVENT},nothing-else` });
    instances.last = await install(sluice.url, 'test/fixtures/apps/chain-recorder', { label: 'last' });
    instances.recorder = await install(sluice.url, 'test/fixtures/apps/onevent-recorder');
  });

  afterAll(async () => {
    await sluice?.stop();
  });

  it('lists the installed apps in order with their capabilities', async () => {
    const { status, body } = await admin(sluice.url, 'GET', '/api/projects/default/apps');
    expect(status).toBe(200);
    expect(body.results.map((i: any) => i.name)).toEqual(['Chain Recorder', 'Hello World', 'Drop Events', 'Chain Recorder', 'onEvent Recorder']);
    expect(instances.hello.capabilities).toContain('processEvent');
    expect(instances.recorder.capabilities).toEqual(['onEvent']);
  });

  it(`stores exactly the ${TOTAL} events the chain lets through, in app order, and onEvent sees each`, async () => {
    const events = sampleEvents(TOTAL);
    const expected = events.filter((event) => event.event !== DROPPED_EVENT);
    expect(expected.length).toBeLessThan(TOTAL); // some are dropped

    const started = performance.now();
    const singles = events.slice(0, 200);
    const batched = events.slice(200);
    const requests: Array<Promise<{ status: number; body: any }>> = singles.map((event) => post(sluice.url, '/capture', event));
    for (let i = 0; i < batched.length; i += 50) {
      requests.push(post(sluice.url, '/batch', { api_key: batched[0]!.api_key, batch: batched.slice(i, i + 50) }));
    }
    const answers = await Promise.all(requests);
    expect(answers.every((answer) => answer.status === 200 && answer.body.status === 1)).toBe(true);

    const stored = await waitFor('all events stored', async () => {
      const rows = await storedEvents(sluice.url);
      return rows.length >= expected.length && rows;
    }, 60_000, 200);
    const seconds = (performance.now() - started) / 1000;
    console.log(`e2e: ${TOTAL} events posted, ${stored.length} stored in ${seconds.toFixed(2)} s = ${Math.round(TOTAL / seconds)} events/s end to end`);

    expect(stored.length).toBe(expected.length);
    expect(new Set(stored.map((e) => e.uuid))).toEqual(new Set(expected.map((e) => e.uuid)));
    expect(stored.some((e) => e.event === DROPPED_EVENT)).toBe(false);
    const label = (instance: any) => `${instance.name} (${instance.id})`;
    for (const event of stored) {
      expect(event.properties.hello).toBe('Hello Ada');
      expect(event.properties.trail).toEqual(['first', 'last']);
      expect(event.properties.seen_before_first).toEqual([]);
      expect(event.properties.seen_before_last).toEqual([label(instances.first), label(instances.hello), label(instances.drop)]);
      expect(event.properties.hello_seen_by_first).toBeNull();
      expect(event.properties.$plugins_succeeded).toEqual([label(instances.first), label(instances.hello), label(instances.drop), label(instances.last)]);
      expect(event.properties.$plugins_deferred).toEqual([label(instances.recorder)]);
    }

    const received = await waitFor('onEvent for every stored event', async () => {
      const { body } = await admin(sluice.url, 'GET', `/api/projects/default/apps/${instances.recorder.id}/logs?limit=5000`);
      const uuids = new Set<string>(body.results.map((log: any) => log.message.split(' ')[1]));
      return uuids.size >= stored.length && { uuids, logs: body.results };
    }, 30_000, 200);
    expect(received.uuids).toEqual(new Set(stored.map((e) => e.uuid)));
    expect(received.logs.every((log: any) => log.message.endsWith('Hello Ada') && log.level === 'log')).toBe(true);
  });

  it('shows the flow in Prometheus metrics', async () => {
    const text = await (await fetch(`${sluice.url}/metrics`)).text();
    expect(text).toContain(`sluice_events_received_total{project="default"} ${TOTAL}`);
    const dropped = text.match(/sluice_stage_events_total\{app="Drop Events",instance="\d+",outcome="dropped"\} (\d+)/);
    expect(Number(dropped?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/sluice_events_stored_total\{project="default"\} \d+/);
    expect(text).toMatch(/sluice_delivery_calls_total\{app="onEvent Recorder",instance="\d+",function="onEvent",outcome="ok"\} \d+/);
    expect(text).toContain('sluice_queue_waiting{queue="{store}"}');
    expect(text).toContain(`sluice_queue_waiting{queue="{stage-${instances.hello.appId}}"}`);
    expect(text).toContain('sluice_queue_oldest_waiting_age_seconds{queue="{store}"}');
    // Every event stored went through the lag histogram; the process metrics carry one sluice_ prefix.
    const stored = Number(text.match(/sluice_events_stored_total\{project="default"\} (\d+)/)?.[1]);
    expect(Number(text.match(/sluice_event_store_lag_seconds_count\{project="default"\} (\d+)/)?.[1])).toBeGreaterThanOrEqual(stored);
    expect(text).toMatch(/^sluice_process_cpu_seconds_total \d/m);
    expect(text).not.toContain('sluice_process_process_');
  });

  it('answers the probes', async () => {
    expect((await fetch(`${sluice.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${sluice.url}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { redis: 'ok', store: 'ok', apps: 'ok' } });
  });
});
