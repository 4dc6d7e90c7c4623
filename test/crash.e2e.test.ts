import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { install, post, sampleEvents } from './helpers/api';
import { startCluster, type Cluster } from './helpers/cluster';
import { PROJECT_TOKEN, REDIS_URL, waitFor } from './helpers/services';
import { createRedis } from '@sluice/queues';

const TOTAL = 2000;

describe('a stage worker SIGKILLed mid-run (separate processes, Postgres)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    // Small jobs and a short lock, so the killed worker's jobs are taken over within seconds.
    cluster = await startCluster({ SLUICE_BATCH_MAX_EVENTS: '50', SLUICE_JOB_LOCK_MS: '2000', SLUICE_STALLED_INTERVAL_MS: '1000' });
    await cluster.start('runner');
  });

  afterAll(async () => cluster?.stop());

  it('stores every accepted event exactly once after the restart', async () => {
    const { url } = cluster;
    const slow = await install(url, 'test/fixtures/apps/slow-stage', { ms: '3' });
    await install(url, 'examples/hello-world');
    const worker = await cluster.start('worker');

    const events = sampleEvents(TOTAL);
    const answers = [];
    for (let i = 0; i < TOTAL; i += 100) {
      answers.push(await post(url, '/batch', { api_key: PROJECT_TOKEN, batch: events.slice(i, i + 100) }));
    }
    expect(answers.every((answer) => answer.status === 200)).toBe(true);

    // Kill the worker while it holds jobs of the slow stage.
    const redis = createRedis(REDIS_URL);
    // The stage's unordered lane and its 8 ordered ones (SLUICE_ORDER_SHARDS' default).
    const activeKeys = ['', ...Array.from({ length: 8 }, (_, k) => `.${k}`)].map((lane) => `${cluster.env.SLUICE_REDIS_PREFIX}:{stage-${slow.appId}${lane}}:active`);
    const inFlight = async () => (await Promise.all(activeKeys.map((key) => redis.llen(key)))).reduce((sum, n) => sum + n, 0);
    await waitFor('jobs in flight on the worker', async () => (await inFlight()) > 0, 10_000, 20);
    await worker.stop('SIGKILL');
    const orphaned = await inFlight();
    redis.disconnect();
    expect(orphaned).toBeGreaterThan(0);

    await cluster.start('worker');
    const db = await cluster.db();
    try {
      const count = await waitFor('all events stored', async () => {
        const { rows } = await db.query('SELECT count(*)::int AS n FROM events');
        return rows[0].n >= TOTAL && rows[0].n;
      }, 60_000, 250);
      expect(count).toBe(TOTAL);
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM events WHERE properties->>'hello' = 'Hello world' AND properties->>'slow' = 'true'`);
      expect(rows[0].n).toBe(TOTAL);
      const uuids = await db.query('SELECT uuid::text FROM events');
      expect(new Set(uuids.rows.map((row) => row.uuid))).toEqual(new Set(events.map((event) => event.uuid)));
    } finally {
      await db.end();
    }
  });
});
