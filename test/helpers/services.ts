import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRedis, deleteMatching } from '@sluice/queues';
import { pgliteTemplateDir } from '@sluice/store';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const REDIS_URL = process.env.SLUICE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_TOKEN = 'sla_test_admin_token';
export const PROJECT_TOKEN = 'phc_test_project_token';

/**
 * Ports are handed out below the kernel's ephemeral range (32768 and up), each vitest worker from
 * its own block, never one twice. listen(0) drew from the ephemeral range: two workers could be
 * handed the same just-freed port a moment apart, and the second test's readiness probe then
 * reached the first test's `sluice start` (its installs went there, and its requests failed once
 * that test stopped it); an outgoing connection could also take the port before the service bound it.
 */
const PORT_BLOCK = 1000;
const PORT_BLOCKS_START = 20_000;
const PORT_BLOCK_COUNT = 12; // 20000..31999
const poolBlock = Number(process.env.VITEST_POOL_ID ?? 0) % PORT_BLOCK_COUNT;
// A random start inside the block, so a second test run on the same machine rarely meets this one.
let nextPortOffset = Math.floor(Math.random() * PORT_BLOCK);

function canListen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORT_BLOCK; tries++) {
    const port = PORT_BLOCKS_START + poolBlock * PORT_BLOCK + (nextPortOffset++ % PORT_BLOCK);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port left in block ${poolBlock} (${PORT_BLOCKS_START + poolBlock * PORT_BLOCK}+${PORT_BLOCK})`);
}

export interface SluiceProcess {
  child: ChildProcess;
  output: () => string;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Node's flags for a service: those of the CLI's shebang line (packages/cli/src/bin.ts), which
 * `./sluice`, `npm start` and the Dockerfile run by. A young generation that starts large.
 * Left to grow on its own, it sometimes stays small under a burst of large requests, their bodies
 * are promoted, and the intake runs mark-compacts (p99 of /batch 28 ms instead of 16 in one run
 * of three). Source maps make stack traces name the TypeScript sources.
 */
export const SERVICE_NODE_FLAGS = readFileSync(join(REPO_ROOT, 'packages/cli/src/bin.ts'), 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(3);

/** The CLI as users run it: the JavaScript bundle scripts/build.mjs writes (vitest's global setup builds it). */
export const CLI_ENTRY = 'packages/cli/dist/bin.js';

/** node's arguments for `sluice <args>`, as `./sluice` gives them (run from REPO_ROOT). */
export function cliArgv(...args: string[]): string[] {
  return [...SERVICE_NODE_FLAGS, CLI_ENTRY, ...args];
}

/** Runs `sluice <args>` to its end against a running Sluice (its environment, SLUICE_URL), as a user would. */
export function runCli(sluice: { env: Record<string, string>; url: string }, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, cliArgv(...args), {
    cwd: REPO_ROOT,
    env: { ...process.env, ...sluice.env, SLUICE_URL: sluice.url },
    encoding: 'utf8',
  });
}

/**
 * runCli without blocking this process: for tests whose own servers (a recorder an app posts to)
 * must keep answering while the command runs.
 */
export function runCliAsync(sluice: { env: Record<string, string>; url: string }, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, cliArgv(...args), { cwd: REPO_ROOT, env: { ...process.env, ...sluice.env, SLUICE_URL: sluice.url } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((done) => child.once('close', (status) => done({ status, stdout, stderr })));
}

/** Starts `sluice <command>` exactly as `npm start` does (node on the built CLI). */
export function spawnSluice(command: string, env: Record<string, string>): SluiceProcess {
  const child = spawn(process.execPath, cliArgv(command), {
    cwd: REPO_ROOT,
    env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((done) => setTimeout(done, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export async function waitReady(url: string, proc?: SluiceProcess): Promise<void> {
  await waitFor(`${url}/readyz`, async () => {
    if (proc && proc.child.exitCode !== null) throw new Error(`process exited: ${proc.output()}`);
    return (await fetch(`${url}/readyz`)).status === 200;
  });
}

/** Deletes every Redis key of a test's prefix, so runs leave nothing behind. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = createRedis(REDIS_URL);
  try {
    await deleteMatching(redis, `${prefix}:*`);
  } finally {
    redis.disconnect();
  }
}

/** A fresh data dir holding a copy of the migrated PGlite template (skips the ~3.5 s initdb). */
export async function freshDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-e2e-'));
  await cp(await pgliteTemplateDir(), join(dir, 'pglite'), { recursive: true });
  return dir;
}

export function testPrefix(): string {
  return `sluice-test-${randomBytes(6).toString('hex')}`;
}

export interface RunningSluice {
  url: string;
  env: Record<string, string>;
  proc: SluiceProcess;
  stop(): Promise<void>;
}

/** `sluice start` with the embedded store in its own data dir and its own Redis prefix. */
export async function startSluice(extraEnv: Record<string, string> = {}): Promise<RunningSluice> {
  const dataDir = await freshDataDir();
  const port = await freePort();
  const prefix = testPrefix();
  const env = {
    SLUICE_PORT: String(port),
    SLUICE_DATA_DIR: dataDir,
    SLUICE_REDIS_PREFIX: prefix,
    REDIS_URL,
    SLUICE_ADMIN_TOKEN: ADMIN_TOKEN,
    SLUICE_PROJECT_TOKEN: PROJECT_TOKEN,
    ...extraEnv,
  };
  const proc = spawnSluice('start', env);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, proc);
  return {
    url,
    env,
    proc,
    stop: async () => {
      await proc.stop();
      await deleteRedisPrefix(prefix);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
