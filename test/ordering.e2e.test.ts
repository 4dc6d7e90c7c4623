import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { personShard } from '@sluice/core';
import { admin, appSource, capture, metricSum, metricValue, post, storedEvents } from './helpers/api';
import { startCluster, type Cluster } from './helpers/cluster';
import { PROJECT_TOKEN, REDIS_URL, startSluice, waitFor, type RunningSluice, type SluiceProcess } from './helpers/services';
import { QueueProducer, createRedis, deliverQueue } from '@sluice/queues';

/**
 * Per-person order (on by default): each person's (project + distinct_id) events pass each stage
 * app and each destination one after another, in the order the intake acknowledged them. Shard
 * queues `{stage-<appId>.<k>}`, `{store.<k>}`, `{deliver-<appId>.<k>}` for k < SLUICE_ORDER_SHARDS
 * (default 8); the unsharded queues (`{stage-<appId>}`…) are the unordered overflow lane.
 */
const SHARDS = 8;

/** A queue family's lanes: the unordered one, then the SHARDS ordered ones. */
function lanes(family: string): string[] {
  return [`{${family}}`, ...Array.from({ length: SHARDS }, (_, k) => `{${family}.${k}}`)];
}

/** Installs the app in `dir` into `project`: the instance. */
async function installIn(url: string, project: string, dir: string, config: Record<string, string> = {}): Promise<any> {
  const { status, body } = await admin(url, 'POST', `/api/projects/${project}/apps`, { source: appSource(dir), config });
  if (status !== 201) throw new Error(`install ${dir} into ${project} failed: ${status} ${JSON.stringify(body)}`);
  return body;
}

async function createProject(url: string, id: string): Promise<string> {
  const { status, body } = await admin(url, 'POST', '/api/projects', { name: id, id });
  if (status !== 201) throw new Error(`creating project ${id} failed: ${status} ${JSON.stringify(body)}`);
  return body.token;
}

async function send(url: string, token: string, batch: Array<Record<string, unknown>>): Promise<void> {
  const { status, body } = await post(url, '/batch', { api_key: token, batch });
  if (status !== 200) throw new Error(`/batch: ${status} ${JSON.stringify(body)}`);
}

/** A small deterministic PRNG (mulberry32), so a failing interleaving can be run again. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `persons` × `each` events in send order, interleaved: round i holds every person's i-th event,
 * the persons shuffled in each round. Cut into requests of 100, each request mixes ~40 persons.
 */
function interleaved(prefix: string, persons: number, each: number, seed: number) {
  const next = random(seed);
  const events: Array<{ event: string; distinct_id: string; uuid: string; properties: { sent_index: number } }> = [];
  for (let i = 0; i < each; i++) {
    const order = Array.from({ length: persons }, (_, p) => p);
    for (let j = order.length - 1; j > 0; j--) {
      const k = Math.floor(next() * (j + 1));
      [order[j], order[k]] = [order[k]!, order[j]!];
    }
    for (const p of order) events.push({ event: 'tick', distinct_id: `${prefix}-${p}`, uuid: randomUUID(), properties: { sent_index: i } });
  }
  return events;
}

interface Row {
  uuid: string;
  distinct_id: string;
  sent_index: number;
  seq: number | null;
}

function byPerson(rows: Row[]): Map<string, Row[]> {
  const persons = new Map<string, Row[]>();
  for (const row of rows) {
    const list = persons.get(row.distinct_id);
    if (list) list.push(row);
    else persons.set(row.distinct_id, [row]);
  }
  for (const list of persons.values()) list.sort((a, b) => a.sent_index - b.sent_index);
  return persons;
}

const PERSONS = 40;
const EACH = 50;
const TOTAL = PERSONS * EACH;

describe('per-person order through a stage, across 3 worker processes (Postgres)', () => {
  let cluster: Cluster;
  let numberer: { id: number; appId: number };
  const workers: SluiceProcess[] = [];

  beforeAll(async () => {
    cluster = await startCluster({
      // A short lock, so a killed worker's jobs are taken over within seconds.
      SLUICE_JOB_LOCK_MS: '2000', SLUICE_STALLED_INTERVAL_MS: '1000',
      // Room for a whole request's batch of busy events whatever the lanes' batches grow to.
      SLUICE_APP_TIMEOUT_MS: '5000',
    });
    // 2 ms per event: the workers fall behind the sends, so several jobs of a person are queued at once.
    numberer = await installIn(cluster.url, 'default', 'test/fixtures/apps/person-numberer', { ms: '2' });
    await cluster.start('runner');
    for (let i = 0; i < 3; i++) workers.push(await cluster.start('worker'));
  }, 90_000);

  afterAll(async () => cluster?.stop());

  async function storedRows(prefix: string): Promise<Row[]> {
    const db = await cluster.db();
    try {
      const { rows } = await db.query(
        `SELECT uuid::text AS uuid, distinct_id, (properties->>'sent_index')::int AS sent_index, (properties->>'seq')::int AS seq
         FROM events WHERE project_id = 'default' AND distinct_id LIKE $1`,
        [`${prefix}-%`],
      );
      return rows;
    } finally {
      await db.end();
    }
  }

  async function waitStored(prefix: string, total: number): Promise<Row[]> {
    await waitFor(`${total} events of ${prefix}-* stored`, async () => (await storedRows(prefix)).length >= total, 45_000, 250);
    // A moment more, so a duplicate written late is seen too.
    await new Promise((done) => setTimeout(done, 500));
    return storedRows(prefix);
  }

  it('numbers every person\'s events in the order they were sent (no crash)', async () => {
    const events = interleaved('a', PERSONS, EACH, 1);
    for (let i = 0; i < TOTAL; i += 100) await send(cluster.url, PROJECT_TOKEN, events.slice(i, i + 100));

    const rows = await waitStored('a', TOTAL);
    expect(rows).toHaveLength(TOTAL);
    expect(new Set(rows.map((row) => row.uuid))).toEqual(new Set(events.map((event) => event.uuid)));
    const wrong = rows.filter((row) => row.seq !== row.sent_index);
    // The first few misnumbered events, named, for the failure message.
    expect(wrong.slice(0, 5).map((row) => `${row.distinct_id}#${row.sent_index} seq ${row.seq}`)).toEqual([]);
    expect(wrong).toHaveLength(0);

    // The lanes are dealt out (lane-owners.ts): every worker process ran a share of the batches.
    // Served by all alike, the process completing a lane's job fetched its next one, and one
    // process ended up with most lanes while the others idled.
    const batches = await Promise.all(cluster.metricsPorts.slice(1).map(async (port) =>
      metricSum(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), 'sluice_stage_batch_duration_seconds_count')));
    const all = batches.reduce((sum, count) => sum + count, 0);
    expect(batches.map((count) => count / all >= 0.15)).toEqual([true, true, true]);
  }, 60_000);

  it('keeps each person\'s order when a worker is SIGKILLed mid-run: a re-run batch may skip numbers, never reorder', async () => {
    const events = interleaved('b', PERSONS, EACH, 2);
    const redis = createRedis(REDIS_URL);
    const prefix = cluster.env.SLUICE_REDIS_PREFIX;
    const stageLanes = lanes(`stage-${numberer.appId}`);
    const active = async () => {
      const lengths = await Promise.all(stageLanes.map((lane) => redis.llen(`${prefix}:${lane}:active`)));
      return lengths.reduce((sum, n) => sum + n, 0);
    };
    try {
      let sent = 0;
      const sending = (async () => {
        for (let i = 0; i < TOTAL; i += 100) {
          await send(cluster.url, PROJECT_TOKEN, events.slice(i, i + 100));
          sent += 100;
        }
      })();
      const stalled = async () => {
        let count = 0;
        for (const lane of stageLanes) {
          const entries = await redis.xrange(`${prefix}:${lane}:events`, '-', '+');
          count += entries.filter(([, fields]) => fields[0] === 'event' && fields[1] === 'stalled').length;
        }
        return count;
      };
      // Mid-run: a quarter sent, and the stage holds jobs in flight. The killed worker may happen
      // to hold none of them: then (no job taken over as stalled) a second worker is killed too.
      await waitFor('jobs of the numbering stage in flight', async () => sent >= TOTAL / 4 && (await active()) > 0, 20_000, 10);
      await workers[0]!.stop('SIGKILL');
      const hit = await waitFor('a job of the killed worker taken over as stalled', stalled, 6_000, 100).catch(() => 0);
      if (!hit) {
        await waitFor('jobs in flight again', async () => (await active()) > 0, 20_000, 10);
        await workers[1]!.stop('SIGKILL');
      }
      await sending;

      const rows = await waitStored('b', TOTAL);
      expect(rows).toHaveLength(TOTAL);
      expect(new Set(rows.map((row) => row.uuid))).toEqual(new Set(events.map((event) => event.uuid)));
      // The kill did hit jobs: some were taken over as stalled (else this case proved nothing).
      expect(await stalled(), 'jobs the killed worker held, taken over as stalled').toBeGreaterThan(0);

      const persons = byPerson(rows);
      expect(persons.size).toBe(PERSONS);
      const reordered: string[] = [];
      for (const [person, list] of persons) {
        expect(list.map((row) => row.sent_index)).toEqual(Array.from({ length: EACH }, (_, i) => i));
        for (let i = 1; i < list.length; i++) {
          if (!(list[i]!.seq! > list[i - 1]!.seq!)) reordered.push(`${person}#${i} seq ${list[i]!.seq} after ${list[i - 1]!.seq}`);
        }
      }
      expect(reordered.slice(0, 5)).toEqual([]);
      expect(rows.every((row) => row.seq !== null)).toBe(true);
    } finally {
      redis.disconnect();
    }
  }, 90_000);
});

interface Attempt {
  uuid: string;
  distinct_id: string;
  sent_index: number;
  attempt: number;
  outcome: 'retry' | 'delivered';
  at: number;
}

/** A call of the retrying-exporter app: its batch, in batch order. */
interface ExportCall {
  outcome: 'retry' | 'exported';
  attempt: number;
  events: Array<{ uuid: string; distinct_id: string; sent_index: number }>;
  at: number;
}

/** A loopback server the retrying-recorder (or retrying-exporter) app POSTs each attempt to: what arrived, in arrival order. */
async function startAttemptSink<T extends { at: number } = Attempt>(): Promise<{ url: string; attempts: T[]; close(): Promise<void> }> {
  const attempts: T[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      attempts.push({ ...JSON.parse(body), at: Date.now() });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/`, attempts, close: () => new Promise((done) => server.close(() => done())) };
}

/** The ordered lane of a person, as the intake computes it. */
const shardOf = (person: string): number => personShard(person, SHARDS);

/** PostHog's first two onEvent retry delays (5 s, 10 s) at this scale: 1 s, 2 s. */
const RETRY_SCALE = 0.2;

describe('per-person order across requests: a storage stage and a destination that retries (separate processes, Postgres)', () => {
  let cluster: Cluster;
  let sink: Awaited<ReturnType<typeof startAttemptSink<Attempt>>>;

  beforeAll(async () => {
    sink = await startAttemptSink();
    cluster = await startCluster({
      SLUICE_RETRY_DELAY_SCALE: String(RETRY_SCALE), SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1',
      SLUICE_JOB_LOCK_MS: '2000', SLUICE_STALLED_INTERVAL_MS: '1000',
      // Room for the delay stage should a lane batch several of its events into one call.
      SLUICE_APP_TIMEOUT_MS: '5000',
    });
    await cluster.start('runner');
    for (let i = 0; i < 3; i++) await cluster.start('worker');
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
    await sink?.close();
  });

  it('a first-time tracker on meta.storage marks exactly the first of 5 sequential requests', async () => {
    const token = await createProject(cluster.url, 'firsts');
    // A slow stage first keeps the 5 requests queued before the tracker; each event is slower than
    // the next (500, 375, 250, 125, 0 ms), so without per-person order a later one overtakes.
    await installIn(cluster.url, 'firsts', 'test/fixtures/apps/per-event-delay');
    await installIn(cluster.url, 'firsts', 'test/fixtures/apps/first-time-tracker');
    // The pipeline change reaches every worker over Redis; give it a moment.
    await new Promise((done) => setTimeout(done, 500));

    const events = Array.from({ length: 5 }, (_, i) => ({ event: 'signed_up', distinct_id: 'newbie', uuid: randomUUID(), properties: { sent_index: i, delay_ms: 500 - 125 * i } }));
    for (const event of events) await send(cluster.url, token, [event]);

    const db = await cluster.db();
    try {
      const query = `SELECT (properties->>'sent_index')::int AS sent_index, properties->'first' AS first, properties->'delayed' AS delayed
                     FROM events WHERE project_id = 'firsts' ORDER BY sent_index`;
      await waitFor('the 5 events stored', async () => (await db.query(query)).rows.length >= 5, 30_000, 200);
      const { rows } = await db.query(query);
      expect(rows.map((row) => row.sent_index)).toEqual([0, 1, 2, 3, 4]);
      expect(rows.every((row) => row.delayed === true)).toBe(true);
      expect(rows.filter((row) => row.first === true).map((row) => row.sent_index)).toEqual([0]);
    } finally {
      await db.end();
    }
  }, 60_000);

  it('parks a person whose event is being retried in a destination, and only that person', async () => {
    const token = await createProject(cluster.url, 'deliveries');
    const app = await installIn(cluster.url, 'deliveries', 'test/fixtures/apps/retrying-recorder', { url: sink.url });
    await new Promise((done) => setTimeout(done, 500));

    // Three others, one of them on stuck's own ordered lane: parking holds a person, not a lane.
    const stuckShard = shardOf('stuck');
    const candidates = Array.from({ length: 200 }, (_, i) => `other-${i}`);
    const sameLane = candidates.find((person) => shardOf(person) === stuckShard)!;
    const otherLanes = candidates.filter((person) => shardOf(person) !== stuckShard).slice(0, 2);
    const others = [sameLane, ...otherLanes];
    const persons = ['stuck', ...others];

    // 10 requests, each one event of every person (stuck first), sent one after another.
    const sent: Array<{ distinct_id: string; uuid: string; sent_index: number }> = [];
    for (let i = 0; i < 10; i++) {
      const batch = persons.map((person) => ({
        event: 'tick', distinct_id: person, uuid: randomUUID(),
        properties: { sent_index: i, ...(person === 'stuck' && i === 0 ? { retries: 2 } : {}) },
      }));
      sent.push(...batch.map((event) => ({ distinct_id: event.distinct_id, uuid: event.uuid, sent_index: i })));
      await send(cluster.url, token, batch);
    }

    const delivered = () => sink.attempts.filter((attempt) => attempt.outcome === 'delivered');
    await waitFor('all 40 events delivered', async () => delivered().length >= 40, 30_000, 100);
    await new Promise((done) => setTimeout(done, 500)); // a late duplicate is seen too
    const done = delivered();
    expect(done).toHaveLength(40);
    expect(new Set(done.map((attempt) => attempt.uuid))).toEqual(new Set(sent.map((event) => event.uuid)));

    // stuck's first event: two RetryErrors, delivered on the third attempt, on PostHog's schedule.
    const firstUuid = sent.find((event) => event.distinct_id === 'stuck' && event.sent_index === 0)!.uuid;
    const tries = sink.attempts.filter((attempt) => attempt.uuid === firstUuid);
    expect(tries.map((attempt) => [attempt.attempt, attempt.outcome])).toEqual([[1, 'retry'], [2, 'retry'], [3, 'delivered']]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(5000 * RETRY_SCALE - 50);
    expect(tries[2]!.at - tries[1]!.at).toBeGreaterThanOrEqual(10000 * RETRY_SCALE - 50);

    // stuck's events arrive in send order: the later ones waited for the retried one.
    const stuckOrder = done.filter((attempt) => attempt.distinct_id === 'stuck').map((attempt) => attempt.sent_index);
    expect(stuckOrder).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(sink.attempts.filter((attempt) => attempt.distinct_id === 'stuck' && attempt.uuid !== firstUuid)).toHaveLength(9); // tried once each

    // The others did not wait: each in its own send order, all delivered before stuck's first was.
    const firstDelivered = tries[2]!;
    for (const person of others) {
      const theirs = done.filter((attempt) => attempt.distinct_id === person);
      expect(theirs.map((attempt) => attempt.sent_index), person).toEqual(Array.from({ length: 10 }, (_, i) => i));
      expect(done.indexOf(theirs.at(-1)!), `${person}'s last delivery before stuck's first`).toBeLessThan(done.indexOf(firstDelivered));
    }

    const { body } = await admin(cluster.url, 'GET', `/api/projects/deliveries/dead-letters?instance=${app.id}`);
    expect(body.total).toBe(0);
  }, 60_000);

  it('exportEvents: a batch answered RetryError parks all its persons as one group; a person sent after it, on the same lane, is exported meanwhile', async () => {
    const exports = await startAttemptSink<ExportCall>();
    try {
      const token = await createProject(cluster.url, 'exports');
      const app = await installIn(cluster.url, 'exports', 'test/fixtures/apps/retrying-exporter', { url: exports.url, exportEventsBufferSeconds: '1' });
      await new Promise((done) => setTimeout(done, 500));

      // mate and late share stuck's lane (so its buffer); apart has a lane of its own.
      const stuckShard = shardOf('stuck');
      const candidates = Array.from({ length: 200 }, (_, i) => `other-${i}`);
      const [mate, late] = candidates.filter((person) => shardOf(person) === stuckShard);
      const apart = candidates.find((person) => shardOf(person) !== stuckShard)!;

      const sent: Array<{ distinct_id: string; uuid: string; sent_index: number }> = [];
      const sendRound = async (persons: string[], i: number) => {
        const batch = persons.map((person) => ({
          event: 'tick', distinct_id: person, uuid: randomUUID(),
          // stuck's first event: the first 2 exportEvents calls whose batch holds it throw RetryError.
          properties: { sent_index: i, ...(person === 'stuck' && i === 0 ? { retries: 2 } : {}) },
        }));
        sent.push(...batch.map((event) => ({ distinct_id: event.distinct_id, uuid: event.uuid, sent_index: i })));
        await send(cluster.url, token, batch);
      };
      // Rounds 0-3, one request each, before the first flush: stuck and mate share the failing batch.
      for (let i = 0; i < 4; i++) await sendRound(['stuck', mate!, apart], i);
      const failed = await waitFor('the first exportEvents RetryError', async () => exports.attempts.find((call) => call.outcome === 'retry'), 15_000, 50);
      // Rounds 4-7 after it failed, with late, whose first event is in none of the parked group.
      for (let i = 4; i < 8; i++) await sendRound(['stuck', mate!, apart, late!], i);

      const calls = exports.attempts;
      const exported = () => calls.filter((call) => call.outcome === 'exported');
      const exportedUuids = () => new Set(exported().flatMap((call) => call.events.map((event) => event.uuid)));
      await waitFor(`all ${sent.length} events exported`, async () => sent.every((event) => exportedUuids().has(event.uuid)), 30_000, 100);
      await new Promise((done) => setTimeout(done, 1500)); // a late duplicate is seen too

      // Every event exported, at least once.
      expect(sent.filter((event) => !exportedUuids().has(event.uuid)).map((event) => `${event.distinct_id}#${event.sent_index}`)).toEqual([]);

      // Each event's first export, in export order: per person, the send order.
      const done = exported();
      const firstExport = new Map<string, { call: number; uuid: string; distinct_id: string; sent_index: number }>();
      done.forEach((call, index) => {
        for (const event of call.events) if (!firstExport.has(event.uuid)) firstExport.set(event.uuid, { call: index, ...event });
      });
      const inOrder = [...firstExport.values()];
      for (const person of ['stuck', mate!, apart, late!]) {
        const expected = sent.filter((event) => event.distinct_id === person).map((event) => event.sent_index);
        expect(inOrder.filter((event) => event.distinct_id === person).map((event) => event.sent_index), `${person}'s export order`).toEqual(expected);
      }

      // The failed batch: retried twice more, the same events, on PostHog's schedule (6 s, 12 s, scaled).
      const stuckFirst = sent.find((event) => event.distinct_id === 'stuck' && event.sent_index === 0)!.uuid;
      const tries = calls.filter((call) => call.events.some((event) => event.uuid === stuckFirst));
      expect(tries.map((call) => [call.attempt, call.outcome])).toEqual([[1, 'retry'], [2, 'retry'], [3, 'exported']]);
      expect(tries[0]).toBe(failed);
      const failedUuids = failed.events.map((event) => event.uuid);
      for (const call of tries) expect(call.events.map((event) => event.uuid)).toEqual(failedUuids);
      expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(6000 * RETRY_SCALE - 50);
      expect(tries[2]!.at - tries[1]!.at).toBeGreaterThanOrEqual(12000 * RETRY_SCALE - 50);

      // The group: every person of the failed batch, stuck and mate (the same request, the same lane).
      const group = new Set(failed.events.map((event) => event.distinct_id));
      expect([...group].sort()).toEqual(['stuck', mate!].sort());
      // Their events are exported with the retried batch or after it, none before.
      const retried = done.indexOf(tries[2]!);
      for (const person of group) {
        const before = done.slice(0, retried).flatMap((call) => call.events).filter((event) => event.distinct_id === person);
        expect(before.map((event) => event.sent_index), `${person}'s events exported before the retried batch`).toEqual([]);
        const afterBatch = inOrder.filter((event) => event.distinct_id === person && !failedUuids.includes(event.uuid));
        expect(afterBatch.every((event) => event.call > retried), `${person}'s held events exported after the retried batch`).toBe(true);
      }
      // late (stuck's lane, first sent after the failure) and apart did not wait for the retry.
      for (const person of [late!, apart]) {
        const theirs = inOrder.filter((event) => event.distinct_id === person);
        expect(theirs.every((event) => event.call < retried), `${person} exported before the retried batch`).toBe(true);
      }

      const { body } = await admin(cluster.url, 'GET', `/api/projects/exports/dead-letters?instance=${app.id}`);
      expect(body.total).toBe(0);
    } finally {
      await exports.close();
    }
  }, 60_000);

  it('exportEvents: a lane buffer left without its flush job (a runner killed between the two) is exported with the next event on its lane', async () => {
    const exports = await startAttemptSink<ExportCall>();
    const redis = createRedis(REDIS_URL);
    const producer = new QueueProducer(redis, cluster.env.SLUICE_REDIS_PREFIX!);
    try {
      const token = await createProject(cluster.url, 'orphans');
      const app = await installIn(cluster.url, 'orphans', 'test/fixtures/apps/retrying-exporter', { url: exports.url, exportEventsBufferSeconds: '3' });
      await new Promise((done) => setTimeout(done, 500));
      const lane = producer.queue(deliverQueue(app.appId, shardOf('orphan')));
      const event = (sent_index: number) => ({ event: 'tick', distinct_id: 'orphan', uuid: randomUUID(), properties: { sent_index } });

      // The first event lands in the lane's buffer; its flush job is removed before it is due, as
      // if the runner had died between appending and adding it.
      const first = event(0);
      await send(cluster.url, token, [first]);
      const flushJob = await waitFor('the buffer\'s flush job', async () => (await lane.getDelayed()).find((job) => job.data.flush), 2_500, 20);
      await flushJob.remove();
      expect(await lane.getDelayed()).toEqual([]);

      // The next event on that lane finds the buffer begun; both are exported, in one batch.
      const second = event(1);
      await send(cluster.url, token, [second]);
      const call = await waitFor('the buffer exported', async () => exports.attempts.find((attempt) => attempt.outcome === 'exported'), 15_000, 100);
      expect(call.events.map((exported) => exported.uuid)).toEqual([first.uuid, second.uuid]);
    } finally {
      await producer.close();
      redis.disconnect();
      await exports.close();
    }
  }, 60_000);
});

describe('the overflow lane: a hot person\'s excess is accepted unordered (sluice start)', () => {
  let sluice: RunningSluice;

  beforeAll(async () => {
    // A bucket of 5 that refills slowly: the test's sends cannot refill it.
    sluice = await startSluice({ SLUICE_PERSON_BUCKET_CAPACITY: '5', SLUICE_PERSON_BUCKET_REFILL_PER_SECOND: '0.01' });
  });
  afterAll(async () => sluice?.stop());

  it('stores all 20 events of one /batch, counts 15 as overflow, and sends those through the unsharded queue', async () => {
    const events = Array.from({ length: 20 }, (_, i) => ({ event: 'tick', distinct_id: 'hot', uuid: randomUUID(), properties: { sent_index: i } }));
    await capture(sluice.url, events);

    const metrics = await (await fetch(`${sluice.url}/metrics`)).text();
    expect(metricValue(metrics, 'sluice_ingestion_overflow_events_total{project="default"}')).toBe(15);
    const stored = await waitFor('all 20 stored', async () => {
      const all = await storedEvents(sluice.url);
      return all.length >= 20 && all;
    });
    await new Promise((done) => setTimeout(done, 300));
    expect(new Set((await storedEvents(sluice.url)).map((event: any) => event.uuid))).toEqual(new Set(events.map((event) => event.uuid)));
    expect(stored).toHaveLength(20);

    // No app: the jobs enter the store family. BullMQ writes an "added" entry per job to each
    // queue's events stream (job ids are Sluice's own, so the queues' id counters say nothing).
    const redis = createRedis(REDIS_URL);
    try {
      const prefix = sluice.env.SLUICE_REDIS_PREFIX;
      const added = async (lane: string) =>
        (await redis.xrange(`${prefix}:${lane}:events`, '-', '+')).filter(([, fields]) => fields[0] === 'event' && fields[1] === 'added').length;
      const [unordered, ...ordered] = lanes('store');
      expect(await added(unordered!), 'jobs on the unordered lane {store} (the overflow)').toBeGreaterThan(0);
      const perLane = await Promise.all(ordered.map(added));
      // The 5 within the bucket took the person's ordered lane, and only that one.
      expect(perLane.map((n, k) => (n > 0 ? k : -1)).filter((k) => k >= 0)).toEqual([shardOf('hot')]);
      // Nothing left waiting on any lane.
      for (const lane of lanes('store')) expect(await redis.llen(`${prefix}:${lane}:wait`), lane).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});
