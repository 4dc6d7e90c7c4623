import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { parseRedisUrl, redactRedisUrl, type Logger } from '@sluice/core';

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

export interface ManagedRedis {
  /** The child redis-server, when this process had to start one. */
  child: ChildProcess | undefined;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Whether a Redis Cluster answers at the URL's seed nodes and says cluster_state:ok, within
 * `timeoutMs`: undefined if so, else what went wrong.
 */
async function clusterProblem(url: string, timeoutMs = 5000): Promise<string | undefined> {
  const target = parseRedisUrl(url);
  if (target.kind !== 'cluster') throw new Error('not a cluster URL');
  const probe = new Cluster(target.nodes, {
    lazyConnect: true,
    enableReadyCheck: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: () => null,
    redisOptions: {
      connectTimeout: 1000,
      maxRetriesPerRequest: 0,
      ...(target.username !== undefined && { username: target.username }),
      ...(target.password !== undefined && { password: target.password }),
      ...(target.tls && { tls: {} }),
    },
  });
  let lastError: unknown;
  probe.on('error', (error) => (lastError = error));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe.connect().then(() => probe.ping()),
      new Promise((_, fail) => (timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ]);
    return undefined;
  } catch (error) {
    return ((lastError ?? error) as Error).message;
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Makes sure Redis answers at `url`. When nothing does and the URL is local, starts
 * `redis-server` as a child with AOF on (acknowledged events survive a Redis restart) and
 * `noeviction` (BullMQ's requirement), its files under `dataDir/redis`; stopped with `stop()`.
 * A cluster URL (`redis+cluster://…`) is only checked: cluster_state:ok at its nodes, or an error.
 */
export async function ensureRedis(url: string, dataDir: string, logger: Logger): Promise<ManagedRedis> {
  if (parseRedisUrl(url).kind === 'cluster') {
    // A cluster is never started here: it is the operator's (scripts/redis-cluster.ts starts one to try).
    const problem = await clusterProblem(url);
    if (problem) throw new RedisUnavailableError(`the Redis Cluster at ${redactRedisUrl(url)} is not ready (${problem}): start it, or set REDIS_URL to one that answers`);
    return { child: undefined, stop: async () => {} };
  }
  if (await answers(url)) return { child: undefined, stop: async () => {} };
  const parsed = new URL(url);
  if (!LOCAL_HOSTS.has(parsed.hostname)) {
    throw new RedisUnavailableError(`Redis does not answer at ${url}: start it or set REDIS_URL to one that does`);
  }
  const binary = findOnPath('redis-server');
  if (!binary) {
    throw new RedisUnavailableError(
      `Redis does not answer at ${url} and redis-server is not installed: install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL`,
    );
  }
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = parsed.port || '6379';
  const child = spawn(
    binary,
    ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec',
      '--save', '', '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--logfile', join(dir, 'redis.log')],
    { stdio: 'ignore' },
  );
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  logger.info({ pid: child.pid, port, dir }, 'started redis-server (nothing answered at REDIS_URL)');
  for (let waited = 0; waited < 10_000; waited += 100) {
    if (child.exitCode !== null) break;
    if (await answers(url)) {
      return {
        child,
        stop: async () => {
          process.off('exit', killOnExit);
          if (child.exitCode !== null) return;
          const exited = new Promise((done) => child.once('exit', done));
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  child.kill('SIGKILL');
  throw new RedisUnavailableError(`redis-server did not start on port ${port}; see ${join(dir, 'redis.log')}`);
}
