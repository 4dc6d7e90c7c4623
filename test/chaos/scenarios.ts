import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pgliteTemplateDir } from '@sluice/store';
import { startCluster, type Cluster } from '../helpers/cluster';
import {
  ADMIN_TOKEN, PROJECT_TOKEN, REDIS_URL, deleteRedisPrefix, freePort, spawnSluice, testPrefix, waitReady, type SluiceProcess,
} from '../helpers/services';
import { answersSince, feed, startFeed, type FeedResult } from './feeder';
import { startOwnPostgres } from './own-postgres';
import { startOwnRedis } from './own-redis';
import { CHAOS_ENV, chaosEvents, installChain, tally, waitDelivered, type ChaosRow } from './pipeline';
import { startRecorder, type Recorder } from './recorder';
import { storedRows } from './stored';

export interface ScenarioSize {
  /** Events of the SIGKILL scenario (the issue's 100,000 in the full run). */
  killEvents: number;
  /** Events of every other scenario. */
  events: number;
  /** How long a scenario may take to drain after its fault. */
  drainTimeoutMs: number;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export function answersNote(fed: FeedResult): string {
  const kinds = [...fed.answers].sort(([a], [b]) => a.localeCompare(b)).map(([kind, n]) => `${kind}×${n}`).join(' ');
  return `intake answers: ${kinds}${fed.withoutRetryAfter ? `; ${fed.withoutRetryAfter} refusals WITHOUT Retry-After` : ''}`;
}

/** The separate-process deployment with the chain installed and the given workers and runners. */
async function startPipeline(env: Record<string, string>, recorder: Recorder, workers: number, runners: number) {
  const cluster = await startCluster({ ...CHAOS_ENV, ...env });
  try {
    await installChain(cluster.url, recorder);
    const roles: Array<{ role: 'worker' | 'runner'; proc: SluiceProcess }> = [];
    for (let i = 0; i < workers; i++) roles.push({ role: 'worker', proc: await cluster.start('worker') });
    for (let i = 0; i < runners; i++) roles.push({ role: 'runner', proc: await cluster.start('runner') });
    return { cluster, roles };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** Runs `body` with a recorder and the separate-process pipeline, and always cleans up. */
export async function withPipeline(
  env: Record<string, string>, workers: number, runners: number,
  body: (cluster: Cluster, recorder: Recorder, roles: Array<{ role: 'worker' | 'runner'; proc: SluiceProcess }>) => Promise<ChaosRow>,
): Promise<ChaosRow> {
  const recorder = await startRecorder();
  try {
    const { cluster, roles } = await startPipeline(env, recorder, workers, runners);
    try {
      return await body(cluster, recorder, roles);
    } finally {
      await cluster.stop();
    }
  } finally {
    await recorder.close();
  }
}

/** 3 workers and 2 runners; every 2 s one of them, at random, is SIGKILLed and started again. */
export function killWorkersAndRunners(size: ScenarioSize): Promise<ChaosRow> {
  return withPipeline({}, 3, 2, async (cluster, recorder, roles) => {
    let kills = 0;
    let killing = true;
    let lastKillAt = Date.now();
    const killer = (async () => {
      while (killing) {
        await sleep(2000);
        if (!killing) break;
        const victim = roles[Math.floor(Math.random() * roles.length)]!;
        await victim.proc.stop('SIGKILL');
        kills++;
        victim.proc = await cluster.start(victim.role);
        lastKillAt = Date.now();
      }
    })();
    const fed = await feed(chaosEvents(size.killEvents), { url: () => cluster.url });
    // The intake accepts faster than the chain runs: the kills go on while the pipeline works
    // through the backlog, until 95% of it has reached both destinations; the rest drains in peace.
    const mostDelivered = () => Math.min(recorder.onEvent.size, recorder.exported.size) >= 0.95 * fed.accepted.size;
    const killsEnd = Date.now() + size.drainTimeoutMs;
    while (!mostDelivered() && Date.now() < killsEnd) await sleep(250);
    killing = false;
    await killer;
    const drainedAt = await waitDelivered(recorder, fed.accepted, size.drainTimeoutMs);
    const rows = await storedRows({ databaseUrl: cluster.env.DATABASE_URL! });
    return tally(`SIGKILL a worker/runner every 2 s (3 workers, 2 runners, ${kills} kills)`, fed.accepted, rows, recorder, drainedAt && drainedAt - lastKillAt, [answersNote(fed)]);
  });
}

export function answersText(answers: Map<string, number>): string {
  return [...answers].sort(([a], [b]) => a.localeCompare(b)).map(([kind, n]) => `${kind}×${n}`).join(' ') || 'none';
}

/**
 * Feeds the events and, once a third of them is accepted, runs `fault` (which resolves when the
 * fault is over); returns what was fed, the moment the fault ended and the answers meanwhile.
 */
export async function feedThroughFault(url: () => string, count: number, fault: () => Promise<void>) {
  let faultRun: Promise<{ endedAt: number; during: Map<string, number> }> | undefined;
  const feeding = startFeed(chaosEvents(count), {
    url,
    onBatch: (sent) => {
      if (faultRun || sent < count / 3) return;
      const before = new Map(feeding.live.answers);
      faultRun = fault().then(() => ({ endedAt: Date.now(), during: answersSince(feeding.live.answers, before) }));
    },
  });
  const fed = await feeding.done;
  const { endedAt, during } = await (faultRun ?? fault().then(() => ({ endedAt: Date.now(), during: new Map<string, number>() })));
  return { fed, endedAt, during };
}

export function exitedOf(roles: Array<{ proc: SluiceProcess }>): number {
  return roles.filter(({ proc }) => proc.child.exitCode !== null || proc.child.signalCode !== null).length;
}

/** Its own redis-server (AOF everysec), shut down for 5 s a third of the way through. */
export async function redisRestart(size: ScenarioSize): Promise<ChaosRow> {
  const redis = await startOwnRedis();
  try {
    return await withPipeline({ REDIS_URL: redis.url }, 2, 1, async (cluster, recorder, roles) => {
      const { fed, endedAt, during } = await feedThroughFault(() => cluster.url, size.events, async () => {
        await redis.shutdown();
        await sleep(5000);
        await redis.start();
      });
      const drainedAt = await waitDelivered(recorder, fed.accepted, size.drainTimeoutMs);
      const rows = await storedRows({ databaseUrl: cluster.env.DATABASE_URL! });
      const notes = [answersNote(fed), `while Redis was down: ${answersText(during)}`];
      if (exitedOf(roles)) notes.push(`${exitedOf(roles)} services exited instead of reconnecting`);
      return tally('Redis shut down 5 s, restarted (AOF everysec)', fed.accepted, rows, recorder, drainedAt && drainedAt - endedAt, notes);
    });
  } finally {
    await redis.remove();
  }
}

/**
 * The pipeline's backlog as an operator's dashboard shows it: jobs waiting or waiting out a retry
 * backoff (sluice_queue_waiting + sluice_queue_delayed) over every queue a process reports, and
 * the queue holding most of it.
 */
async function pipelineBacklog(ports: number[]): Promise<{ jobs: number; deepest: string }> {
  let most = { jobs: 0, deepest: '' };
  for (const port of ports) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
    const byQueue = new Map<string, number>();
    for (const match of text.matchAll(/^sluice_queue_(?:waiting|delayed)\{queue="([^"]*)"\} (\d+)/gm)) {
      byQueue.set(match[1]!, (byQueue.get(match[1]!) ?? 0) + Number(match[2]));
    }
    const jobs = [...byQueue.values()].reduce((sum, n) => sum + n, 0);
    if (jobs > most.jobs) most = { jobs, deepest: [...byQueue].sort((a, b) => b[1] - a[1])[0]![0] };
  }
  return most;
}

/** Its own PostgreSQL, stopped for 10 s a third of the way through. */
export async function postgresStop(size: ScenarioSize): Promise<ChaosRow> {
  const postgres = await startOwnPostgres();
  try {
    return await withPipeline({ DATABASE_URL: postgres.url }, 2, 1, async (cluster, recorder, roles) => {
      let backlog = { jobs: 0, deepest: '' };
      const { fed, endedAt, during } = await feedThroughFault(() => cluster.url, size.events, async () => {
        postgres.stop();
        const until = Date.now() + 10_000;
        while (Date.now() < until) {
          const now = await pipelineBacklog(cluster.metricsPorts);
          if (now.jobs > backlog.jobs) backlog = now;
          await sleep(500);
        }
        postgres.start();
      });
      const drainedAt = await waitDelivered(recorder, fed.accepted, size.drainTimeoutMs);
      const rows = await storedRows({ databaseUrl: postgres.url });
      const notes = [answersNote(fed), `while Postgres was down: answers ${answersText(during)}; backlog in sluice_queue_waiting + sluice_queue_delayed up to ${backlog.jobs} jobs${backlog.deepest ? ` (most in ${backlog.deepest})` : ''}`];
      if (exitedOf(roles)) notes.push(`${exitedOf(roles)} services exited`);
      if (backlog.jobs === 0) notes.push('the backlog never showed in the metrics');
      const row = tally('Postgres stopped 10 s', fed.accepted, rows, recorder, drainedAt && drainedAt - endedAt, notes);
      if (backlog.jobs === 0) row.recoveryMs = null; // an outage the metrics did not show is no pass
      return row;
    });
  } finally {
    await postgres.remove();
  }
}

/** The intake SIGTERMed under load and started again; clients retry meanwhile. */
export function intakeSigterm(size: ScenarioSize): Promise<ChaosRow> {
  return withPipeline({}, 2, 1, async (cluster, recorder) => {
    let exit = '';
    const { fed, endedAt, during } = await feedThroughFault(() => cluster.url, size.events, async () => {
      const intake = cluster.processes[0]!;
      const started = Date.now();
      const code = await intake.stop('SIGTERM');
      exit = `exit ${code} after ${Date.now() - started} ms`;
      const next = spawnSluice('intake', cluster.env);
      cluster.processes.push(next);
      await waitReady(cluster.url, next);
    });
    const drainedAt = await waitDelivered(recorder, fed.accepted, size.drainTimeoutMs);
    const rows = await storedRows({ databaseUrl: cluster.env.DATABASE_URL! });
    return tally('intake SIGTERM under load, restarted', fed.accepted, rows, recorder, drainedAt && drainedAt - endedAt, [answersNote(fed), `intake ${exit}; meanwhile ${answersText(during)}`]);
  });
}

/** `sluice start` (what `pnpm start` runs; embedded PGlite) with its data in `dataDir`. */
export async function startAllInOne(dataDir: string, prefix: string, port: number, extraEnv: Record<string, string> = {}) {
  const env = {
    ...CHAOS_ENV, SLUICE_PORT: String(port), SLUICE_DATA_DIR: dataDir, SLUICE_REDIS_PREFIX: prefix, REDIS_URL,
    SLUICE_ADMIN_TOKEN: ADMIN_TOKEN, SLUICE_PROJECT_TOKEN: PROJECT_TOKEN, ...extraEnv,
  };
  const proc = spawnSluice('start', env);
  await waitReady(`http://127.0.0.1:${port}`, proc);
  return proc;
}

/** `sluice start` SIGTERMed under load and started again on the same data. */
export async function startSigterm(size: ScenarioSize): Promise<ChaosRow> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-chaos-start-'));
  await cp(await pgliteTemplateDir(), join(dataDir, 'pglite'), { recursive: true });
  const prefix = testPrefix();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const recorder = await startRecorder();
  let proc = await startAllInOne(dataDir, prefix, port);
  try {
    await installChain(url, recorder);
    let exit = '';
    const { fed, endedAt, during } = await feedThroughFault(() => url, size.events, async () => {
      const started = Date.now();
      const code = await proc.stop('SIGTERM');
      exit = `exit ${code} after ${Date.now() - started} ms`;
      proc = await startAllInOne(dataDir, prefix, port);
    });
    const drainedAt = await waitDelivered(recorder, fed.accepted, size.drainTimeoutMs);
    await proc.stop('SIGTERM');
    const rows = await storedRows({ dataDir: join(dataDir, 'pglite') });
    return tally('sluice start SIGTERM under load, restarted', fed.accepted, rows, recorder, drainedAt && drainedAt - endedAt, [answersNote(fed), `sluice start ${exit}; meanwhile ${answersText(during)}`]);
  } finally {
    await proc.stop('SIGKILL');
    await recorder.close();
    await deleteRedisPrefix(prefix);
    await rm(dataDir, { recursive: true, force: true });
  }
}
