/**
 * The head-of-line part of `pnpm bench intake` (bench/intake.ts): small requests beside large
 * bodies, with and without the intake's body-check threads.
 */
import autocannon from 'autocannon';
import { loadConfig } from '@sluice/core';
import { startCluster } from '../test/helpers/cluster';
import { PROJECT_TOKEN } from '../test/helpers/services';
import { int, ms } from './format';
import type { SampleEvent } from './intake';

/** Events per large body in the head-of-line run: the whole sample, ~1.7 MB of JSON. */
const LARGE_BODY_EVENTS = 2000;
const LARGE_BODY_CONNECTIONS = 2;
const SMALL_BODY_CONNECTIONS = 10;

export interface HeadOfLine {
  threads: string;
  largeEventsPerSecond: number;
  smallRequestsPerSecond: number;
  smallP50: number;
  smallP99: number;
  refused: number;
}

/**
 * Large bodies beside small ones: 2 connections send /batch bodies of the whole sample while 10
 * send single-event /capture requests, to the intake alone with its body-check threads (the
 * default) and without (SLUICE_INTAKE_CHECK_THREADS=0). Without threads, every small request
 * waits behind the parse of whatever large body the event loop is on.
 */
export async function measureHeadOfLine(events: SampleEvent[], checkThreads: string | undefined, seconds: number): Promise<HeadOfLine> {
  const large = JSON.stringify({ api_key: PROJECT_TOKEN, batch: events.slice(0, LARGE_BODY_EVENTS) });
  const small = events.slice(0, 200).map((event) => JSON.stringify({ api_key: PROJECT_TOKEN, ...event }));
  const cluster = await startCluster({
    SLUICE_LOG_LEVEL: 'error', SLUICE_BACKPRESSURE_WAITING_JOBS: '0',
    ...(checkThreads === undefined ? {} : { SLUICE_INTAKE_CHECK_THREADS: checkThreads }),
  });
  try {
    const run = (connections: number, path: string, bodies: string[]) =>
      autocannon({ url: cluster.url, connections, duration: seconds, headers: { 'content-type': 'application/json' }, requests: bodies.map((body) => ({ method: 'POST', path, body })) });
    const [largeRun, smallRun] = await Promise.all([run(LARGE_BODY_CONNECTIONS, '/batch', [large]), run(SMALL_BODY_CONNECTIONS, '/capture', small)]);
    return {
      threads: checkThreads ?? 'default',
      largeEventsPerSecond: (largeRun['2xx'] * LARGE_BODY_EVENTS) / seconds,
      smallRequestsPerSecond: smallRun['2xx'] / seconds,
      smallP50: smallRun.latency.p50,
      smallP99: smallRun.latency.p99,
      refused: largeRun.non2xx + largeRun.errors + smallRun.non2xx + smallRun.errors,
    };
  } finally {
    await cluster.stop();
  }
}


export function printHeadOfLine(runs: HeadOfLine[], events: SampleEvent[], seconds: number, out: (line?: string) => void): void {
  out(`head of line: ${LARGE_BODY_CONNECTIONS} connections send /batch bodies of ${LARGE_BODY_EVENTS} events (${(Buffer.byteLength(JSON.stringify(events.slice(0, LARGE_BODY_EVENTS))) / 1024 / 1024).toFixed(1)} MiB) while ${SMALL_BODY_CONNECTIONS} send /capture, to the intake alone, ${seconds} s`);
  out(`${'check threads'.padEnd(16)}${'large events/s'.padStart(15)}${'small req/s'.padStart(13)}${'small p50 ms'.padStart(14)}${'small p99 ms'.padStart(14)}${'refused'.padStart(9)}`);
  for (const run of runs) {
    const label = run.threads === 'default' ? `default (${loadConfig({}).intakeCheckThreads})` : run.threads;
    out(`${label.padEnd(16)}${int(run.largeEventsPerSecond).padStart(15)}${int(run.smallRequestsPerSecond).padStart(13)}${ms(run.smallP50).padStart(14)}${ms(run.smallP99).padStart(14)}${String(run.refused).padStart(9)}`);
  }
}
