import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { install, post, sampleEvents } from './helpers/api';
import {
  ADMIN_TOKEN, PROJECT_TOKEN, REDIS_URL, deleteRedisPrefix, freePort, spawnSluice, testPrefix, waitFor, waitReady, type SluiceProcess,
} from './helpers/services';

const ADMIN_DATABASE_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TOTAL = 2000;

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

describe('a stage worker SIGKILLed mid-run (separate processes, Postgres)', () => {
  const database = `sluice_test_${randomBytes(6).toString('hex')}`;
  const prefix = testPrefix();
  const processes: SluiceProcess[] = [];
  let env: Record<string, string>;
  let url: string;
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = {
      DATABASE_URL: databaseUrl(database), REDIS_URL, SLUICE_REDIS_PREFIX: prefix, SLUICE_PORT: String(port),
      SLUICE_ADMIN_TOKEN: ADMIN_TOKEN, SLUICE_PROJECT_TOKEN: PROJECT_TOKEN,
      // Small jobs and a short lock, so the killed worker's jobs are taken over within seconds.
      SLUICE_BATCH_MAX_EVENTS: '50', SLUICE_JOB_LOCK_MS: '2000', SLUICE_STALLED_INTERVAL_MS: '1000',
    };
    const intake = spawnSluice('intake', env);
    processes.push(intake);
    await waitReady(url, intake);
    const runnerPort = await freePort();
    const runner = spawnSluice('runner', { ...env, SLUICE_METRICS_PORT: String(runnerPort) });
    processes.push(runner);
    await waitReady(`http://127.0.0.1:${runnerPort}`, runner);
  });

  afterAll(async () => {
    await Promise.all(processes.map((proc) => proc.stop('SIGKILL')));
    await deleteRedisPrefix(prefix);
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  async function startWorker(): Promise<SluiceProcess> {
    const metricsPort = await freePort();
    const worker = spawnSluice('worker', { ...env, SLUICE_METRICS_PORT: String(metricsPort) });
    processes.push(worker);
    await waitReady(`http://127.0.0.1:${metricsPort}`, worker);
    return worker;
  }

  it('stores every accepted event exactly once after the restart', async () => {
    const slow = await install(url, 'test/fixtures/apps/slow-stage', { ms: '3' });
    await install(url, 'examples/hello-world');
    const worker = await startWorker();

    const events = sampleEvents(TOTAL);
    const answers = [];
    for (let i = 0; i < TOTAL; i += 100) {
      answers.push(await post(url, '/batch', { api_key: PROJECT_TOKEN, batch: events.slice(i, i + 100) }));
    }
    expect(answers.every((answer) => answer.status === 200)).toBe(true);

    // Kill the worker while it holds jobs of the slow stage.
    const redis = new Redis(REDIS_URL);
    const activeKey = `${prefix}:{stage-${slow.appId}}:active`;
    await waitFor('jobs in flight on the worker', async () => (await redis.llen(activeKey)) > 0, 10_000, 20);
    await worker.stop('SIGKILL');
    const orphaned = await redis.llen(activeKey);
    redis.disconnect();
    expect(orphaned).toBeGreaterThan(0);

    await startWorker();
    const db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
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
