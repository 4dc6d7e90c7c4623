import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, capture, install, sampleEvents, storedEvents } from './helpers/api';
import { startCluster, type Cluster } from './helpers/cluster';
import { runCliAsync, startSluice, waitFor, type RunningSluice, type SluiceProcess } from './helpers/services';
import { startUuidRecorder, type UuidRecorder } from './helpers/uuid-recorder';

const STORED = 20_000;
/** Event i is stamped BASE + i seconds; the backfill takes events FIRST_IN … LAST_IN. */
const BASE = Date.parse('2025-01-01T00:00:00Z');
const FIRST_IN = 2_000;
const END_IN = 18_000;
const stamp = (i: number) => new Date(BASE + i * 1000).toISOString();

/** Sample events with fresh uuids and the given timestamps (no sent_at or offset: taken as they are). */
function stampedEvents(count: number, timestamp: (i: number) => string): Array<Record<string, any>> {
  return sampleEvents(count).map((event, i) => {
    const stamped: Record<string, any> = { ...event, timestamp: timestamp(i) };
    delete stamped.sent_at;
    delete stamped.offset;
    return stamped;
  });
}

describe('backfill of 20,000 stored events into an export app, the runner SIGKILLed halfway (separate processes, Postgres)', () => {
  let cluster: Cluster;
  let recorder: UuidRecorder;
  let runner: SluiceProcess;

  beforeAll(async () => {
    recorder = await startUuidRecorder();
    // A short job lock and backfill lease: the killed runner's work is taken over within seconds.
    cluster = await startCluster({
      SLUICE_JOB_LOCK_MS: '2000',
      SLUICE_STALLED_INTERVAL_MS: '1000',
      SLUICE_BACKFILL_LEASE_MS: '2000',
      SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1',
    });
    runner = await cluster.start('runner');
  });

  afterAll(async () => {
    await cluster?.stop();
    await recorder?.close();
  });

  it('delivers every event of the range at least once, none outside it, while live events flow', async () => {
    const { url } = cluster;
    const stored = stampedEvents(STORED, stamp);
    for (let i = 0; i < STORED; i += 5000) await capture(url, stored.slice(i, i + 5000));
    const db = await cluster.db();
    try {
      await waitFor('the events stored', async () => (await db.query('SELECT count(*)::int AS n FROM events')).rows[0].n === STORED, 30_000, 250);
    } finally {
      await db.end();
    }
    // Installed after the events were stored: only a backfill brings them to it.
    const instance = await install(url, 'test/fixtures/apps/backfill-recorder', { url: recorder.url });

    // Live traffic all along (stamped now: outside the range), which the app gets as it arrives.
    const live: string[] = [];
    let flowing = true;
    const liveTraffic = (async () => {
      while (flowing) {
        const batch = stampedEvents(20, () => new Date().toISOString());
        await capture(url, batch).then(() => live.push(...batch.map((event) => event.uuid)), () => {});
        await new Promise((done) => setTimeout(done, 100));
      }
    })();

    const path = `/api/projects/default/apps/${instance.id}`;
    const started = await admin(url, 'POST', `${path}/backfill`, { from: stamp(FIRST_IN), to: stamp(END_IN), rate: 2500 });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ from: stamp(FIRST_IN), to: stamp(END_IN), done: 0, total: END_IN - FIRST_IN, state: 'running' });
    const backfill = async () => (await admin(url, 'GET', `${path}/backfills`)).body.results.find((item: any) => item.id === started.body.id);

    // Halfway (or so): SIGKILL the runner, the one process driving it, and start another.
    const before = await waitFor('the backfill under way', async () => {
      const current = await backfill();
      return current.done >= 4000 && current;
    }, 30_000, 50);
    expect(before.state).toBe('running');
    expect(before.done).toBeLessThan(END_IN - FIRST_IN);
    await runner.stop('SIGKILL');
    runner = await cluster.start('runner');

    const finished = await waitFor('the backfill done', async () => {
      const current = await backfill();
      return current.state !== 'running' && current;
    }, 40_000, 250);
    flowing = false;
    await liveTraffic;
    expect(finished).toMatchObject({ state: 'done', done: END_IN - FIRST_IN, total: END_IN - FIRST_IN });

    const inRange = stored.slice(FIRST_IN, END_IN).map((event) => event.uuid);
    const outside = [...stored.slice(0, FIRST_IN), ...stored.slice(END_IN)].map((event) => event.uuid);
    expect(inRange.filter((uuid) => !recorder.received.has(uuid))).toEqual([]);
    expect(outside.filter((uuid) => recorder.received.has(uuid))).toEqual([]);
    // It went on from its checkpoint rather than from the start: at most the slice in flight (two,
    // if the killed runner's job was also redone) arrived twice.
    expect(inRange.filter((uuid) => recorder.received.get(uuid)! > 1).length).toBeLessThanOrEqual(1000);
    // Live events kept reaching the app throughout (none lost in the crash either).
    await waitFor('the live events delivered', async () => live.every((uuid) => recorder.received.has(uuid)), 30_000, 250);
    expect(live.length).toBeGreaterThan(0);
  }, 120_000);
});

describe('backfill API and CLI (sluice start, PGlite)', () => {
  const COUNT = 300;
  let sluice: RunningSluice;
  let recorder: UuidRecorder;
  let instance: { id: number };
  let path: string;
  const seeded = stampedEvents(COUNT, stamp);

  beforeAll(async () => {
    recorder = await startUuidRecorder();
    sluice = await startSluice({ SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1' });
    await capture(sluice.url, seeded);
    await waitFor('the events stored', async () => (await storedEvents(sluice.url)).length === COUNT);
    instance = await install(sluice.url, 'test/fixtures/apps/backfill-recorder', { url: recorder.url });
    path = `/api/projects/default/apps/${instance.id}`;
  });

  afterAll(async () => {
    await sluice?.stop();
    await recorder?.close();
  });

  it('answers bad input with a 400 naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ to: stamp(10) }, 'from'],
      [{ from: 'yesterday', to: stamp(10) }, 'from'],
      [{ from: stamp(0), to: 'soon' }, 'to'],
      [{ from: stamp(10), to: stamp(10) }, 'to'],
      [{ from: stamp(0), to: stamp(10), events: [] }, 'events'],
      [{ from: stamp(0), to: stamp(10), events: [1] }, 'events'],
      [{ from: stamp(0), to: stamp(10), rate: 0 }, 'rate'],
      [{ from: stamp(0), to: stamp(10), rate: 'fast' }, 'rate'],
    ];
    for (const [body, field] of cases) {
      const answer = await admin(sluice.url, 'POST', `${path}/backfill`, body);
      expect({ body, status: answer.status, error: answer.body.error, field: answer.body.details?.field }).toEqual({ body, status: 400, error: 'invalid_request', field });
    }
    const stage = await install(sluice.url, 'examples/hello-world');
    const notDestination = await admin(sluice.url, 'POST', `/api/projects/default/apps/${stage.id}/backfill`, { from: stamp(0), to: stamp(10) });
    expect(notDestination.status).toBe(400);
    expect(notDestination.body.error).toBe('not_a_destination');
    expect((await admin(sluice.url, 'GET', `${path}/backfills`)).body.results).toEqual([]);
  });

  it('runs one backfill per instance at a time (409), and cancels', async () => {
    // One event a second: still running when the second request comes.
    const slow = await admin(sluice.url, 'POST', `${path}/backfill`, { from: stamp(0), to: stamp(COUNT), rate: 1 });
    expect(slow.status).toBe(201);
    expect(slow.body).toMatchObject({ total: COUNT, state: 'running', done: 0 });
    const second = await admin(sluice.url, 'POST', `${path}/backfill`, { from: stamp(0), to: stamp(10) });
    expect(second.status).toBe(409);
    expect(second.body.error).toBe('backfill_running');
    const cancelled = await admin(sluice.url, 'DELETE', `${path}/backfills/${slow.body.id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: slow.body.id, state: 'cancelled' });
    expect((await admin(sluice.url, 'DELETE', `${path}/backfills/999999`)).status).toBe(404);
    const { results } = (await admin(sluice.url, 'GET', `${path}/backfills`)).body;
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ id: slow.body.id, state: 'cancelled', total: COUNT });
    expect(Object.keys(results[0])).toEqual(expect.arrayContaining(['id', 'from', 'to', 'done', 'total', 'eventsPerSecond', 'state']));
    // The cancelled one no longer counts: another may start.
    const next = await admin(sluice.url, 'POST', `${path}/backfill`, { from: stamp(0), to: stamp(100) });
    expect(next.status).toBe(201);
    const done = await waitFor('the backfill done', async () => {
      const current = (await admin(sluice.url, 'GET', `${path}/backfills`)).body.results[0];
      return current.state === 'done' && current;
    });
    expect(done).toMatchObject({ id: next.body.id, done: 100, total: 100 });
    expect((await admin(sluice.url, 'DELETE', `${path}/backfills/${next.body.id}`)).status).toBe(409);
    await waitFor('the range delivered', async () => seeded.slice(0, 100).every((event) => recorder.received.has(event.uuid)));
  });

  it('sluice apps backfill follows it to the end (by app name, --events, --json and plain lines)', async () => {
    const pageviews = seeded.slice(100, 300).filter((event) => event.event === '$pageview');
    expect(pageviews.length).toBeGreaterThan(0);
    const args = ['apps', 'backfill', 'backfill-recorder', '--from', stamp(100), '--to', stamp(300), '--events', '$pageview'];
    const json = await runCliAsync(sluice, [...args, '--json']);
    expect(json.stderr).toBe('');
    expect(json.status).toBe(0);
    const final = JSON.parse(json.stdout.trim().split('\n').at(-1)!);
    expect(final).toMatchObject({ state: 'done', done: pageviews.length, total: pageviews.length });

    // Not a terminal: plain progress lines, then the outcome.
    const plain = await runCliAsync(sluice, [...args, '--rate', '100']);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/^backfill \d+ of instance \d+: \d+ events from /m);
    expect(plain.stdout).toMatch(/%\s+\d+\/\d+ events\s+\d+ ev\/s\s+ETA /);
    expect(plain.stdout).toMatch(new RegExp(`^backfill \\d+ done: ${pageviews.length}/${pageviews.length} events$`, 'm'));
    expect(plain.stdout).not.toContain('\r');

    const detached = await runCliAsync(sluice, [...args, '--no-wait', '--json']);
    expect(detached.status).toBe(0);
    expect(JSON.parse(detached.stdout)).toMatchObject({ state: 'running', total: pageviews.length });
  });
});
