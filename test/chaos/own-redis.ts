import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor } from '../helpers/services';

/** A redis-server of the scenario's own, persisting with AOF `everysec` as production should. */
export interface OwnRedis {
  url: string;
  /** SHUTDOWN (Redis fsyncs its AOF first), then nothing listens until start(). */
  shutdown(): Promise<void>;
  start(): Promise<void>;
  remove(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-chaos-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    const child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction',
      '--daemonize', 'yes', '--logfile', join(dir, 'redis.log'), '--pidfile', join(dir, 'redis.pid'),
    ], { stdio: 'ignore' });
    await new Promise((done) => child.once('exit', done));
    await waitFor(`redis-server on ${port}`, async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {}); // refused until the server listens: connect() rejects with it anyway
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    }, 10_000);
  };
  const shutdown = async () => {
    spawnSync('redis-cli', ['-p', String(port), 'shutdown']);
  };
  await start();
  return {
    url,
    shutdown,
    start,
    remove: async () => {
      await shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
