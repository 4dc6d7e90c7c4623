/** Runs the load generator (bench/pipeline-load.ts) as a child process and reads what it reports. */
import { spawnBenchChild } from './bench-child';

export interface LoadOptions {
  events: number;
  /** Tag of the events (the latency destination counts per phase). */
  phase: string;
  /** Events per second; absent or 0: as fast as the senders go. */
  rate?: number;
  /** Whether the chain drops a tenth (drop-tenth): the onEvent calls to expect. True by default. */
  dropsTenth?: boolean;
}

export interface LoadResult {
  events: number;
  requests: number;
  /** Events the filter lets through: the onEvent calls to wait for. */
  expected: number;
  /** 429 and 503 answers (each sent again after Retry-After). */
  refused: number;
  /** ms since the epoch: the first request's send and the last answer. */
  firstSentAt: number;
  lastAckedAt: number;
  /** Request send → 200, ms. */
  ackP50: number;
  ackP99: number;
  /** CPU the load generator used. */
  cpuSeconds: number;
}

export const LOAD_BATCH = 100;
export const LOAD_SENDERS = 8;

export async function runLoad(url: string, options: LoadOptions): Promise<LoadResult> {
  const child = spawnBenchChild('bench/pipeline-load.ts', {
    LOAD_URL: url, LOAD_EVENTS: String(options.events), LOAD_PHASE: options.phase, LOAD_RATE: String(options.rate ?? 0), LOAD_DROPS_TENTH: String(options.dropsTenth ?? true),
    LOAD_BATCH: String(LOAD_BATCH), LOAD_SENDERS: String(LOAD_SENDERS),
  });
  const code = await child.exited;
  const line = child.stdout().trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`the load generator failed (exit ${code}): ${child.output()}`);
  return JSON.parse(line) as LoadResult;
}
