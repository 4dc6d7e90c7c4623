import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  ADMIN_TOKEN, PROJECT_TOKEN, REDIS_URL, deleteRedisPrefix, freePort, spawnSluice, testPrefix, waitReady, type SluiceProcess,
} from './services';

const ADMIN_DATABASE_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestDatabase {
  url: string;
  /** Drops it, closing whatever connections are left. */
  drop(): Promise<void>;
}

/** A Postgres database of its own (`sluice_test_<random>`), for one test or bench run. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `sluice_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  return {
    url: databaseUrl(name),
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export interface Cluster {
  /** The intake's base URL. */
  url: string;
  env: Record<string, string>;
  processes: SluiceProcess[];
  /** The /metrics ports of the workers and runners started so far. */
  metricsPorts: number[];
  /**
   * Starts `sluice worker` or `sluice runner` as its own process on a free SLUICE_METRICS_PORT and
   * waits until it is ready; with `metricsPort: 'unset'`, leaves the variable unset (the process
   * picks its port) and returns at once.
   */
  start(role: 'worker' | 'runner', extraEnv?: Record<string, string>, options?: { metricsPort?: 'free' | 'unset' }): Promise<SluiceProcess>;
  /** A client on the cluster's own database. */
  db(): Promise<pg.Client>;
  stop(): Promise<void>;
}

/**
 * Sluice as production runs it: each service its own process, sharing a Postgres database made
 * for this test (dropped afterwards) and a Redis prefix of its own. Starts the intake.
 */
export async function startCluster(extraEnv: Record<string, string> = {}): Promise<Cluster> {
  const database = await createTestDatabase();
  const prefix = testPrefix();
  const port = await freePort();
  const env = {
    DATABASE_URL: database.url, REDIS_URL, SLUICE_REDIS_PREFIX: prefix, SLUICE_PORT: String(port),
    SLUICE_ADMIN_TOKEN: ADMIN_TOKEN, SLUICE_PROJECT_TOKEN: PROJECT_TOKEN,
    ...extraEnv,
  };
  const processes: SluiceProcess[] = [];
  const metricsPorts: number[] = [];
  const url = `http://127.0.0.1:${port}`;
  const cluster: Cluster = {
    url,
    env,
    processes,
    metricsPorts,
    start: async (role, roleEnv = {}, options = {}) => {
      if (options.metricsPort === 'unset') {
        const proc = spawnSluice(role, { ...env, ...roleEnv });
        processes.push(proc);
        return proc;
      }
      const metricsPort = await freePort();
      metricsPorts.push(metricsPort);
      const proc = spawnSluice(role, { ...env, ...roleEnv, SLUICE_METRICS_PORT: String(metricsPort) });
      processes.push(proc);
      await waitReady(`http://127.0.0.1:${metricsPort}`, proc);
      return proc;
    },
    db: async () => {
      const client = new pg.Client({ connectionString: env.DATABASE_URL });
      await client.connect();
      return client;
    },
    stop: async () => {
      await Promise.all(processes.map((proc) => proc.stop('SIGKILL')));
      await deleteRedisPrefix(prefix);
      await database.drop();
    },
  };
  try {
    const intake = spawnSluice('intake', env);
    processes.push(intake);
    await waitReady(url, intake);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
