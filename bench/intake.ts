/**
 * Intake throughput and latency under autocannon, 50 connections: /batch (50 events of ~600 B per
 * request) and /capture (one event per request) against the intake alone (`sluice intake`, the
 * target's subject) and `sluice start` with no apps (everything in one event loop, for comparison),
 * beside an empty fastify route that parses the same bodies — the baseline, measured in the same
 * run under the same conditions: each server in a child process of its own, autocannon in this process.
 * Baseline and intake alternate over BENCH_ROUNDS rounds (3); the verdict is on the medians.
 * Target (the intake issue): intake ≥ 0.5× the empty route's events/s, p99 < 20 ms.
 * Then a head-of-line run: small requests beside large bodies, with and without the intake's
 * body-check threads (what they are for; the /batch bodies above are small enough to stay on the
 * event loop).
 */
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { readSampleEvents, type SampleEvent } from '../test/fixtures/sample-events';
import { startCluster } from '../test/helpers/cluster';
import { startBenchServer } from './bench-child';
import { int, median, ms } from './format';
import { measureHeadOfLine, printHeadOfLine } from './intake-head-of-line';
import { machineBusySeconds, metricSum, processCpuSeconds, redisCpuSeconds, redisInfo } from './readings';
import { PROJECT_TOKEN, startSluice, type RunningSluice } from '../test/helpers/services';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
/**
 * Baseline and intake are measured in alternating rounds and judged on the medians: on a shared
 * 2-core VM one run of the same server varies by ±10%, and drift over a minute is as large.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 50;
const PER_BATCH = 50;
/** Each sample event keeps its properties, in order, while it stays within this size: ~600 B on average. */
const MAX_EVENT_BYTES = 640;
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 20;
/** Cores' worth used by unrelated processes during a run above which the output says the figures are disturbed. */
const OTHER_CPU_WARNING = 0.2;

export type { SampleEvent };

/** The sample events trimmed to ≤ MAX_EVENT_BYTES, each with a fresh uuid. */
function trimmedEvents(): SampleEvent[] {
  return readSampleEvents().map((sampleEvent) => {
    const { properties, ...top } = sampleEvent;
    const event = { ...top, uuid: crypto.randomUUID(), properties: {} } as SampleEvent;
    for (const [key, value] of Object.entries(properties)) {
      event.properties[key] = value;
      if (Buffer.byteLength(JSON.stringify(event)) > MAX_EVENT_BYTES) delete event.properties[key];
    }
    return event;
  });
}

interface Workload {
  path: '/batch' | '/capture';
  eventsPerRequest: number;
  bodies: string[];
}

function workloads(events: SampleEvent[]): Workload[] {
  const batches: string[] = [];
  // Every body holds distinct uuids (the store deduplicates); bodies repeat across requests.
  for (let i = 0; i + PER_BATCH <= events.length; i += PER_BATCH) {
    batches.push(JSON.stringify({ api_key: PROJECT_TOKEN, batch: events.slice(i, i + PER_BATCH) }));
  }
  // Every 10th event: autocannon prepares each connection's whole list, thousands take seconds.
  const captures = events.filter((_, index) => index % 10 === 0).map((event) => JSON.stringify({ api_key: PROJECT_TOKEN, ...event }));
  return [
    { path: '/batch', eventsPerRequest: PER_BATCH, bodies: batches },
    { path: '/capture', eventsPerRequest: 1, bodies: captures },
  ];
}

interface Server {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** The empty route (bench/empty-route-server.ts), started as sluice is: node with the services' flags (and tsx: it is TypeScript), a child process. */
function startEmptyRoute(): Promise<Server> {
  return startBenchServer('bench/empty-route-server.ts');
}

function sluiceServer(sluice: RunningSluice): Server {
  return { url: sluice.url, pid: sluice.proc.child.pid, stop: () => sluice.stop() };
}

interface Measurement {
  server: string;
  path: string;
  requestsPerSecond: number;
  eventsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  statusCodes: string;
  errors: number;
  /** Cores' worth of CPU during the measured run: the server, autocannon, Redis, every other process. */
  serverCpu: number | undefined;
  loadCpu: number;
  redisCpu: number | undefined;
  otherCpu: number | undefined;
  /** Which of the alternating rounds (baseline and intake), if it is one. */
  round?: number;
  /** Intake only: what the runner stored meanwhile and what Redis held at the end. */
  storedPerSecond?: number;
  backlogEvents?: number;
  redisBytes?: number;
}

interface CpuSnapshot {
  server: number | undefined;
  load: NodeJS.CpuUsage;
  machine: number | undefined;
}

const cpuSnapshot = (pid: number | undefined): CpuSnapshot => ({ server: processCpuSeconds(pid), load: process.cpuUsage(), machine: machineBusySeconds() });

/**
 * One autocannon run. autocannon's own `duration` also counts building every connection's
 * requests (seconds for thousands of bodies), so the run is timed, and `atStart` called, from
 * its 'start' event, when the requests begin.
 */
async function fire(url: string, workload: Workload, seconds: number, atStart: () => void = () => {}): Promise<{ result: autocannon.Result; seconds: number }> {
  const requests = workload.bodies.map((body) => ({ method: 'POST', path: workload.path, body }));
  let client = 0;
  const run = autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    requests,
    // Each connection starts at its own place in the bodies, so concurrent requests differ.
    setupClient: (connection) => {
      const offset = Math.floor((client++ * requests.length) / CONNECTIONS) % requests.length;
      connection.setRequests([...requests.slice(offset), ...requests.slice(0, offset)]);
    },
  });
  let startedAt = performance.now();
  run.once('start', () => {
    startedAt = performance.now();
    atStart();
  });
  const result = await run;
  return { result, seconds: (performance.now() - startedAt) / 1000 };
}

async function measure(name: string, server: Server, workload: Workload): Promise<Measurement> {
  // One request first: a server refusing the body would make every figure meaningless.
  const probe = await fetch(`${server.url}${workload.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: workload.bodies[0] });
  const answer = await probe.text();
  if (probe.status !== 200) throw new Error(`${name} answered ${probe.status} to a ${workload.path} body: ${answer}`);

  await fire(server.url, workload, WARMUP_SECONDS);
  const redisBefore = await redisCpuSeconds();
  let before = cpuSnapshot(server.pid);
  const { result, seconds } = await fire(server.url, workload, SECONDS, () => (before = cpuSnapshot(server.pid)));
  const after = cpuSnapshot(server.pid);
  const redisAfter = await redisCpuSeconds();
  const rate = (from: number | undefined, to: number | undefined) => (from !== undefined && to !== undefined ? (to - from) / seconds : undefined);
  const serverCpu = rate(before.server, after.server);
  const loadCpu = (after.load.user + after.load.system - before.load.user - before.load.system) / 1e6 / seconds;
  const machineCpu = rate(before.machine, after.machine);
  const redisCpu = rate(redisBefore, redisAfter);
  const statusCodes = Object.entries(result.statusCodeStats)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, { count }]) => `${code}×${count}`)
    .join(' ');
  return {
    server: name,
    path: workload.path,
    requestsPerSecond: result['2xx'] / seconds,
    eventsPerSecond: (result['2xx'] * workload.eventsPerRequest) / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    statusCodes,
    errors: result.errors,
    serverCpu,
    loadCpu,
    redisCpu,
    otherCpu: machineCpu !== undefined && serverCpu !== undefined ? Math.max(0, machineCpu - serverCpu - loadCpu - (redisCpu ?? 0)) : undefined,
  };
}

/**
 * The intake service alone (`sluice intake`, its own process, as production runs it): what it
 * accepts is queued in Redis and nothing drains it during the run, so the figures are the
 * intake's own. The cluster (its Postgres database, its Redis keys) is removed afterwards.
 */
async function measureIntakeAlone(workload: Workload): Promise<Measurement> {
  // Nothing consumes here by design, so backpressure (which would rightly refuse a pipeline
  // that never drains) is off: the run measures what the intake itself can take.
  const cluster = await startCluster({ SLUICE_LOG_LEVEL: 'error', SLUICE_BACKPRESSURE_WAITING_JOBS: '0' });
  try {
    const server: Server = { url: cluster.url, pid: cluster.processes[0]!.child.pid, stop: async () => {} };
    const measurement = await measure('intake', server, workload);
    return { ...measurement, redisBytes: Number((await redisInfo()).used_memory ?? NaN) };
  } finally {
    await cluster.stop();
  }
}

async function measureIntake(workload: Workload): Promise<Measurement> {
  // A fresh `sluice start` per endpoint: the previous run's store backlog must not eat this run's CPU.
  const sluice = await startSluice({ SLUICE_LOG_LEVEL: 'error' });
  try {
    const startedAt = performance.now();
    const measurement = await measure('sluice start', sluiceServer(sluice), workload);
    const seconds = (performance.now() - startedAt) / 1000;
    // autocannon stops with requests in flight: let them be answered (and counted as received)
    // before the counters are read, or the backlog can come out negative.
    await new Promise((done) => setTimeout(done, 1000));
    const metrics = await (await fetch(`${sluice.url}/metrics`)).text();
    const received = metricSum(metrics, 'sluice_events_received_total');
    const stored = metricSum(metrics, 'sluice_events_stored_total') + metricSum(metrics, 'sluice_events_duplicate_total');
    return { ...measurement, storedPerSecond: stored / seconds, backlogEvents: received - stored, redisBytes: Number((await redisInfo()).used_memory ?? NaN) };
  } finally {
    await sluice.stop();
  }
}

const cores = (value: number | undefined) => (value === undefined ? '?' : value.toFixed(2));

export async function benchIntake(): Promise<void> {
  const events = trimmedEvents();
  const meanBytes = events.reduce((sum, event) => sum + Buffer.byteLength(JSON.stringify(event)), 0) / events.length;
  const loads = workloads(events);
  const meanBody = (workload: Workload) => workload.bodies.reduce((sum, body) => sum + Buffer.byteLength(body), 0) / workload.bodies.length;

  const results: Measurement[] = [];
  const emptyRoute = await startEmptyRoute();
  try {
    for (const workload of loads) {
      for (let round = 1; round <= ROUNDS; round++) {
        results.push({ ...(await measure('empty route', emptyRoute, workload)), round });
        results.push({ ...(await measureIntakeAlone(workload)), round });
      }
      results.push(await measureIntake(workload));
    }
  } finally {
    await emptyRoute.stop();
  }
  const headOfLine = [await measureHeadOfLine(events, undefined, SECONDS), await measureHeadOfLine(events, '0', SECONDS)];

  const out = (line = '') => process.stdout.write(`${line}\n`);
  out();
  out(`intake: autocannon, ${CONNECTIONS} connections, ${SECONDS} s per run after a ${WARMUP_SECONDS} s warm-up; ` +
    `empty route and intake in ${ROUNDS} alternating rounds (#1…), judged on the medians`);
  out(`  events: ${events.length} sample events trimmed to ≤ ${MAX_EVENT_BYTES} B, mean ${Math.round(meanBytes)} B; ` +
    `/batch bodies ${PER_BATCH} events (${loads[0]!.bodies.length} bodies, mean ${(meanBody(loads[0]!) / 1024).toFixed(1)} KiB), /capture bodies 1 event (${loads[1]!.bodies.length} bodies, mean ${Math.round(meanBody(loads[1]!))} B)`);
  out(`  baseline "empty route": bare fastify in a child process; JSON.parse of the body, counts the events, answers {"status":1}`);
  out(`  "intake": sluice intake alone in a child process (Postgres for projects; accepted events stay queued in Redis), a fresh one per run — the target's subject`);
  out(`  "sluice start": intake + stage workers + runner in one process and one event loop (PGlite), no apps, a fresh one per endpoint — the newcomer's default, for comparison`);
  out(`  ${cpus().length} cores: autocannon runs in this process and competes with the server for CPU, for baseline and intake alike;`);
  out(`  CPU columns: cores' worth used during the measured run by the server, autocannon ("load"), Redis, and every other process ("other")`);
  out();
  out(`${'endpoint'.padEnd(10)}${'server'.padEnd(16)}${'req/s'.padStart(7)}${'events/s'.padStart(10)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}` +
    `${'non-2xx'.padStart(9)}${'errors'.padStart(8)}${'CPU server'.padStart(12)}${'load'.padStart(6)}${'redis'.padStart(7)}${'other'.padStart(7)}`);
  for (const result of results) {
    out(`${result.path.padEnd(10)}${`${result.server}${result.round ? ` #${result.round}` : ''}`.padEnd(16)}${int(result.requestsPerSecond).padStart(7)}${int(result.eventsPerSecond).padStart(10)}` +
      `${ms(result.p50).padStart(8)}${ms(result.p99).padStart(8)}${String(result.non2xx).padStart(9)}${String(result.errors).padStart(8)}` +
      `${cores(result.serverCpu).padStart(12)}${cores(result.loadCpu).padStart(6)}${cores(result.redisCpu).padStart(7)}${cores(result.otherCpu).padStart(7)}` +
      `${result.statusCodes ? `  (${result.statusCodes})` : ''}`);
  }
  out();
  for (const workload of loads) {
    const of = (server: string) => results.filter((result) => result.path === workload.path && result.server === server);
    const baselines = of('empty route');
    const intakes = of('intake');
    const ratios = intakes.map((intake, index) => intake.eventsPerSecond / baselines[index]!.eventsPerSecond);
    const p99s = intakes.map((intake) => intake.p99);
    const ratio = median(ratios);
    const p99 = median(p99s);
    const refused = intakes.reduce((sum, intake) => sum + intake.non2xx + intake.errors, 0);
    const met = ratio >= TARGET_RATIO && p99 < TARGET_P99_MS && refused === 0;
    out(`${workload.path.padEnd(10)}intake/empty route events/s ${ratios.map((value) => `${value.toFixed(2)}×`).join(' ')} (median ${ratio.toFixed(2)}×), ` +
      `intake p99 ${p99s.map(ms).join(' ')} ms (median ${ms(p99)})` +
      ` — target ≥ ${TARGET_RATIO}× and p99 < ${TARGET_P99_MS} ms: ${met ? 'met' : 'not met'}${refused ? ` (${refused} requests refused or failed)` : ''}`);
  }
  const busiest = Math.max(...results.map((result) => result.otherCpu ?? 0));
  if (busiest > OTHER_CPU_WARNING) {
    out(`note: other processes used up to ${busiest.toFixed(2)} cores during a measured run; the figures are disturbed (rerun on a quiet machine)`);
  }
  for (const whole of results.filter((result) => result.server === 'sluice start')) {
    const baseline = median(results.filter((result) => result.path === whole.path && result.server === 'empty route').map((result) => result.eventsPerSecond));
    out(`${whole.path.padEnd(10)}sluice start/empty route (median) events/s ${(whole.eventsPerSecond / baseline).toFixed(2)}×, p99 ${ms(whole.p99)} ms (runner and PGlite share its event loop)`);
  }
  for (const intake of results.filter((result) => result.server === 'sluice start')) {
    const redis = intake.redisBytes === undefined || Number.isNaN(intake.redisBytes) ? '' : `, Redis used_memory ${(intake.redisBytes / 1024 / 1024).toFixed(0)} MB`;
    out(`${intake.path.padEnd(10)}runner in the intake's process: ${int(intake.storedPerSecond ?? 0)} events/s inserted or skipped as duplicates` +
      ` (bodies repeat); at the end ${intake.backlogEvents} accepted events still queued${redis}`);
  }
  out();
  printHeadOfLine(headOfLine, events, SECONDS, out);
}
