/**
 * A bench TypeScript file run as a child process of its own, started as sluice is (node with the
 * services' flags) plus tsx: servers that must not share the bench's event loop (the empty route,
 * the pipeline ceiling and naive design) and load generators that must not share the server's.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, SERVICE_NODE_FLAGS, freePort, waitFor } from '../test/helpers/services';

export interface BenchChild {
  pid: number | undefined;
  /** What it wrote to stdout: children that report write their result there. */
  stdout(): string;
  /** stdout and stderr together, for errors. */
  output(): string;
  /** Its exit code (null after a signal). */
  exited: Promise<number | null>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

export interface BenchServer extends BenchChild {
  url: string;
}

/** Spawns `node <service flags> --import tsx <file>` from the repository root, `env` on top of this process's. */
export function spawnBenchChild(file: string, env: Record<string, string> = {}): BenchChild {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, '--import', 'tsx', join(REPO_ROOT, file)], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let output = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    pid: child.pid,
    stdout: () => stdout,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A bench server on a free port (given as PORT): it listens on 127.0.0.1:$PORT and writes
 * "listening" to stdout when ready.
 */
export async function startBenchServer(file: string, env: Record<string, string> = {}): Promise<BenchServer> {
  const port = await freePort();
  const child = spawnBenchChild(file, { ...env, PORT: String(port) });
  // waitFor retries a probe that throws, so an early exit is raced against it instead.
  const died = child.exited.then((code) => Promise.reject(new Error(`${file} exited (${code}): ${child.output()}`)));
  died.catch(() => {}); // once ready, an exit is the caller's business (stop() waits for it)
  try {
    await Promise.race([waitFor(file, async () => child.stdout().includes('listening'), 60_000, 50), died]);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { ...child, url: `http://127.0.0.1:${port}` };
}
