/**
 * `pnpm bench pipeline [--soak SECONDS]`: the whole path, black box. A load generator in its own
 * process (bench/pipeline-load.ts) sends sample events as /batch requests through the chain of
 * bench/pipeline-chain.ts, and the latency destination counts each event's time from its send to
 * its onEvent. Measured in one run, each on a fresh system:
 * - the no-durability ceiling (bench/pipeline-ceiling.ts): the same apps as plain functions;
 * - `sluice start` (embedded store), flat out, then at half the rate it reached;
 * - intake, one stage worker and the runner as separate processes on Postgres, the same two phases;
 * - the naive design (bench/pipeline-naive.ts): one BullMQ job per event per stage.
 * With `--soak`, then `sluice start` for that many seconds at half its maximum, RSS and Redis
 * memory printed every 30 s with their fitted slopes.
 * Writes bench/results/pipeline.json and bench/results/pipeline.svg.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createTestDatabase, startCluster, type Cluster } from '../test/helpers/cluster';
import { REDIS_URL, REPO_ROOT, deleteRedisPrefix, startSluice, testPrefix, waitFor, type RunningSluice } from '../test/helpers/services';
import { startBenchServer, type BenchServer } from './bench-child';
import { int, leastSquaresSlope, mb } from './format';
import { histogramOf, mergedBuckets, quantile, redisHistogram, timeline, type LatencyHistogram } from './latency-histogram';
import { CHAIN, LIGHT_SCALING_CHAIN, SCALING_CHAIN, installChain, type ChainApp } from './pipeline-chain';
import { LOAD_BATCH, LOAD_SENDERS, runLoad, type LoadResult } from './pipeline-load-run';
import { metricSum, processCpuSeconds, processMemoryBytes, redisCpuSeconds, redisInfo, sampleRedisMemory } from './readings';
import { svgChart, type Panel } from './svg-chart';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
/** The naive design runs a fraction of the load: at its rate, the full load would take many minutes. */
const NAIVE_EVENTS = Number(process.env.BENCH_NAIVE_EVENTS ?? Math.min(EVENTS, 10_000));
/** The modes to run beside the ceiling (BENCH_PIPELINE_MODES=start,separate,naive: all by default), for quicker comparisons. */
const MODES = new Set((process.env.BENCH_PIPELINE_MODES ?? 'start,separate,naive,scaling').split(','));
/** Events of each stage-scaling run of cpu-heavy (a CPU-bound stage: ~5 ms an event). */
const SCALING_EVENTS = Number(process.env.BENCH_SCALING_EVENTS ?? Math.min(EVENTS, 4_000));
/** Events of each stage-scaling run of taxonomy: a cheap stage needs more of them for a run long enough to measure. */
const SCALING_LIGHT_EVENTS = Number(process.env.BENCH_SCALING_LIGHT_EVENTS ?? 4 * SCALING_EVENTS);
/** Stage-worker processes of each point of the scale-out curve. */
const SCALING_WORKERS = [1, 2, 4] as const;
/** The scale-out curve's apps, each the one stage of its chain (then the latency destination). */
const SCALING_APPS = [
  { app: 'cpu-heavy', about: 'CPU-bound, ~5 ms an event in QuickJS', chain: SCALING_CHAIN, events: SCALING_EVENTS },
  { app: 'taxonomy', about: 'a cheap transform: string work on each property', chain: LIGHT_SCALING_CHAIN, events: SCALING_LIGHT_EVENTS },
] as const;
const SOAK_SAMPLE_SECONDS = 30;
const DELIVERY_TIMEOUT_MS = 15 * 60_000;
const RESULTS_DIR = join(REPO_ROOT, 'bench/results');

/** One system under load: where to send, whose CPU and memory to read, how to count deliveries. */
interface Target {
  url: string;
  /** Service name → pid. */
  pids: Record<string, number | undefined>;
  /** onEvent calls the latency destination has completed so far. */
  delivered(): Promise<number>;
  histogram(phase: string): Promise<LatencyHistogram>;
  stop(): Promise<void>;
}

interface PhaseResult {
  mode: string;
  phase: string;
  events: number;
  delivered: number;
  /** Paced rate, events/s (0: flat out). */
  rate: number;
  /** First send → last onEvent. */
  seconds: number;
  eventsPerSecond: number;
  acceptedPerSecond: number;
  /** Send → onEvent, ms (two significant digits). */
  p50: number;
  p99: number;
  /** Send → 200 of /batch, ms. */
  ackP99: number;
  refused: number;
  cpuMicrosPerEvent: Record<string, number>;
  rssPeakBytes: Record<string, number>;
  redisPeakBytes: number;
  redisBaseBytes: number;
  timeline: Array<{ second: number; events: number; p99: number }>;
}

const out = (line = '') => process.stdout.write(`${line}\n`);

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

const onEventDelivered = async (url: string) => metricSum(await metricsText(url), 'sluice_delivery_events_total', { function: 'onEvent', outcome: 'delivered' });

async function statsOf(server: BenchServer): Promise<{ delivered: number; counters?: Record<string, number> }> {
  return (await fetch(`${server.url}/stats`)).json() as Promise<{ delivered: number; counters?: Record<string, number> }>;
}

async function ceilingTarget(): Promise<Target> {
  const server = await startBenchServer('bench/pipeline-ceiling.ts');
  return {
    url: server.url,
    pids: { ceiling: server.pid },
    delivered: async () => (await statsOf(server)).delivered,
    histogram: async (phase) => histogramOf(Object.entries((await statsOf(server)).counters ?? {}), phase),
    stop: () => server.stop(),
  };
}

async function sluiceTarget(redis: Redis): Promise<Target & { sluice: RunningSluice }> {
  const sluice = await startSluice({ SLUICE_LOG_LEVEL: 'error' });
  await installChain(sluice.url);
  return {
    sluice,
    url: sluice.url,
    pids: { sluice: sluice.proc.child.pid },
    delivered: () => onEventDelivered(sluice.url),
    histogram: (phase) => redisHistogram(redis, sluice.env.SLUICE_REDIS_PREFIX!, phase),
    stop: () => sluice.stop(),
  };
}

async function clusterTarget(redis: Redis, chain: readonly ChainApp[] = CHAIN, workers = 1): Promise<Target> {
  const cluster: Cluster = await startCluster({ SLUICE_LOG_LEVEL: 'error' });
  try {
    await cluster.start('runner');
    for (let worker = 0; worker < workers; worker++) await cluster.start('worker');
    await installChain(cluster.url, chain);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const [intake, runner, ...stageWorkers] = cluster.processes;
  const runnerUrl = `http://127.0.0.1:${cluster.metricsPorts[0]}`;
  const workerPids = Object.fromEntries(stageWorkers.map((worker, index) => [workers > 1 ? `worker ${index + 1}` : 'worker', worker.child.pid]));
  return {
    url: cluster.url,
    pids: { intake: intake!.child.pid, ...workerPids, runner: runner!.child.pid },
    delivered: () => onEventDelivered(runnerUrl),
    histogram: (phase) => redisHistogram(redis, cluster.env.SLUICE_REDIS_PREFIX!, phase),
    stop: () => cluster.stop(),
  };
}

async function naiveTarget(redis: Redis): Promise<Target> {
  const database = await createTestDatabase();
  const prefix = testPrefix();
  const server = await startBenchServer('bench/pipeline-naive.ts', { NAIVE_PREFIX: prefix, REDIS_URL, DATABASE_URL: database.url })
    .catch(async (error) => {
      await database.drop();
      throw error;
    });
  return {
    url: server.url,
    pids: { naive: server.pid },
    delivered: async () => (await statsOf(server)).delivered,
    histogram: (phase) => redisHistogram(redis, prefix, phase),
    stop: async () => {
      await server.stop();
      await deleteRedisPrefix(prefix);
      await database.drop();
    },
  };
}

/** One phase of load on a target: sends, waits for the last onEvent, reads what it cost. */
async function measure(target: Target, mode: string, phase: string, events: number, rate = 0, dropsTenth = true): Promise<PhaseResult> {
  const cpuBefore = Object.fromEntries(Object.entries(target.pids).map(([name, pid]) => [name, processCpuSeconds(pid)]));
  const redisCpuBefore = await redisCpuSeconds();
  const redisBaseBytes = Number((await redisInfo()).used_memory ?? NaN);
  const deliveredBefore = await target.delivered();
  const redisMemory = sampleRedisMemory();
  let load: LoadResult;
  try {
    load = await runLoad(target.url, { events, phase, rate, dropsTenth });
  } catch (error) {
    await redisMemory.stop();
    throw error;
  }
  const delivered = await waitFor(`${mode} ${phase}: ${load.expected} onEvent calls`, async () => {
    const count = (await target.delivered()) - deliveredBefore;
    return count >= load.expected && count;
  }, DELIVERY_TIMEOUT_MS, 50);
  const lastAt = Date.now();
  const redis = await redisMemory.stop();
  const cpuMicrosPerEvent: Record<string, number> = {};
  for (const [name, pid] of Object.entries(target.pids)) cpuMicrosPerEvent[name] = (((processCpuSeconds(pid) ?? NaN) - (cpuBefore[name] ?? NaN)) * 1e6) / events;
  cpuMicrosPerEvent.redis = (((await redisCpuSeconds()) ?? NaN) - (redisCpuBefore ?? NaN)) * 1e6 / events;
  cpuMicrosPerEvent.load = (load.cpuSeconds * 1e6) / events;
  const rssPeakBytes = Object.fromEntries(Object.entries(target.pids).map(([name, pid]) => [name, processMemoryBytes(pid)?.peak ?? NaN]));
  const histogram = await target.histogram(phase);
  const buckets = mergedBuckets(histogram);
  const seconds = (lastAt - load.firstSentAt) / 1000;
  const firstSecond = Math.floor(load.firstSentAt / 1000);
  return {
    mode, phase, events, delivered, rate, seconds,
    eventsPerSecond: events / seconds,
    acceptedPerSecond: events / ((load.lastAckedAt - load.firstSentAt) / 1000),
    p50: quantile(buckets, 0.5), p99: quantile(buckets, 0.99), ackP99: load.ackP99, refused: load.refused,
    cpuMicrosPerEvent, rssPeakBytes, redisPeakBytes: redis.peak, redisBaseBytes,
    timeline: timeline(histogram).map((point) => ({ ...point, second: point.second - firstSecond })),
  };
}

/** Starts a target, runs its phases, stops it whatever happens. */
async function withTarget<T>(start: () => Promise<Target>, run: (target: Target) => Promise<T>): Promise<T> {
  const target = await start();
  try {
    return await run(target);
  } finally {
    await target.stop();
  }
}

/** Flat out, then at half the rate reached (the latency target's load). */
async function maxAndHalf(target: Target, mode: string): Promise<PhaseResult[]> {
  const max = await measure(target, mode, 'max', EVENTS);
  const half = await measure(target, mode, 'half', Math.ceil(EVENTS / 2), Math.round(max.eventsPerSecond / 2));
  return [max, half];
}

interface SoakSample { atSeconds: number; rssBytes: number; redisBytes: number }

/** `sluice start` for `seconds` at `rate`, RSS and Redis memory every 30 s. */
async function soak(redis: Redis, seconds: number, rate: number): Promise<{ result: PhaseResult; samples: SoakSample[]; rssSlope: number; redisSlope: number }> {
  return withTarget(() => sluiceTarget(redis), async (target) => {
    const samples: SoakSample[] = [];
    const started = Date.now();
    out(`\nsoak: sluice start at ${int(rate)} events/s (half its maximum) for ${seconds} s`);
    out(`${'t (s)'.padStart(8)}${'RSS MB'.padStart(10)}${'Redis MB'.padStart(10)}`);
    const sample = async () => {
      const point = { atSeconds: (Date.now() - started) / 1000, rssBytes: processMemoryBytes(target.pids.sluice)?.rss ?? NaN, redisBytes: Number((await redisInfo()).used_memory ?? NaN) };
      samples.push(point);
      out(`${point.atSeconds.toFixed(0).padStart(8)}${mb(point.rssBytes).padStart(10)}${mb(point.redisBytes).padStart(10)}`);
    };
    await sample();
    const timer = setInterval(() => void sample(), SOAK_SAMPLE_SECONDS * 1000);
    try {
      const result = await measure(target, 'sluice start', 'soak', Math.round(rate * seconds), rate);
      // The first sample is before any load: the slope is over the samples under load.
      const underLoad = samples.slice(1);
      const perMinute = (pick: (point: SoakSample) => number) => leastSquaresSlope(underLoad.map((point) => [point.atSeconds / 60, pick(point)] as const));
      return { result, samples, rssSlope: perMinute((point) => point.rssBytes), redisSlope: perMinute((point) => point.redisBytes) };
    } finally {
      clearInterval(timer);
    }
  });
}

function printPhases(results: PhaseResult[], ceiling: PhaseResult, naive: PhaseResult | undefined): void {
  out(`\npipeline: ${int(EVENTS)} sample events (naive: ${int(NAIVE_EVENTS)}), /batch of ${LOAD_BATCH} from ${LOAD_SENDERS} senders in a process of their own`);
  out('  chain: hello-world → drop-tenth (drops 1 in 10) → taxonomy, then onEvent (latency destination: one meta.cache.incr) and exportEvents (null)');
  out('  events/s: first send → last onEvent; latency: send → onEvent (two significant digits); "half": paced at half that mode\'s maximum');
  out(`${'mode'.padEnd(26)}${'phase'.padEnd(6)}${'events/s'.padStart(10)}${'accepted/s'.padStart(12)}${'vs ceiling'.padStart(12)}${'vs naive'.padStart(10)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'ack p99'.padStart(9)}${'Redis peak MB'.padStart(15)}`);
  for (const result of results) {
    const ratio = (base: PhaseResult | undefined) => (base && result.phase === 'max' ? (result.eventsPerSecond / base.eventsPerSecond).toFixed(2) : '');
    out(`${result.mode.padEnd(26)}${result.phase.padEnd(6)}${int(result.eventsPerSecond).padStart(10)}${int(result.acceptedPerSecond).padStart(12)}` +
      `${ratio(ceiling).padStart(12)}${ratio(naive).padStart(10)}${String(result.p50).padStart(8)}${String(result.p99).padStart(8)}${String(result.ackP99).padStart(9)}` +
      `${`${mb(result.redisPeakBytes)} (+${mb(result.redisPeakBytes - result.redisBaseBytes)})`.padStart(15)}`);
  }
  out('\nCPU µs per event sent, per service (/proc; redis from INFO; load: the load generator), and RSS peak (VmHWM) MB');
  for (const result of results.filter((each) => each.phase === 'max')) {
    const cpu = Object.entries(result.cpuMicrosPerEvent).map(([name, micros]) => `${name} ${int(micros)}`).join(', ');
    const rss = Object.entries(result.rssPeakBytes).map(([name, bytes]) => `${name} ${mb(bytes)}`).join(', ');
    out(`  ${result.mode.padEnd(26)}CPU: ${cpu}; RSS: ${rss}`);
  }
  const refused = results.filter((result) => result.refused > 0);
  for (const result of refused) out(`note: ${result.mode} ${result.phase}: ${result.refused} requests refused (429/503) and sent again`);
}

function chart(results: PhaseResult[], soakSamples?: SoakSample[]): string {
  const series = (pick: (point: PhaseResult['timeline'][number]) => number) => results.map((result) => ({
    name: `${result.mode} ${result.phase}`, points: result.timeline.map((point) => [point.second, pick(point)] as const),
  }));
  const panels: Panel[] = [
    { kind: 'lines', title: 'onEvent calls per second', xLabel: 's since the first send', yLabel: 'events/s', series: series((point) => point.events) },
    { kind: 'lines', title: 'p99 latency, send → onEvent, per second of arrival', xLabel: 's since the first send', yLabel: 'ms', series: series((point) => point.p99) },
    { kind: 'bars', title: 'CPU µs per event, per service (flat out)', yLabel: 'µs/event',
      groups: results.filter((result) => result.phase === 'max').map((result) => ({ name: result.mode, values: result.cpuMicrosPerEvent })) },
  ];
  if (soakSamples) {
    panels.push({ kind: 'lines', title: 'soak: memory', xLabel: 's', yLabel: 'MB', series: [
      { name: 'sluice RSS', points: soakSamples.map((point) => [point.atSeconds, point.rssBytes / 2 ** 20] as const) },
      { name: 'Redis used_memory', points: soakSamples.map((point) => [point.atSeconds, point.redisBytes / 2 ** 20] as const) },
    ] });
  }
  return svgChart(panels);
}

/**
 * Stage workers scale out: separate processes with 1, 2 and 4 stage-worker processes, flat out, for a
 * CPU-bound stage (bench/apps/cpu-heavy) and a cheap one (bench/apps/taxonomy). Speed-ups are against
 * one worker of the same app in the same run. The machine's cores bound it: the intake, the runner,
 * Redis and the load generator take their share of them.
 */
async function stageScaling(redis: Redis): Promise<PhaseResult[]> {
  const runs: Array<{ app: string; workers: number; run: PhaseResult }> = [];
  for (const { app, chain, events } of SCALING_APPS) {
    for (const workers of SCALING_WORKERS) {
      const mode = `${workers} worker${workers > 1 ? 's' : ''}, ${app}`;
      runs.push({ app, workers, run: await withTarget(() => clusterTarget(redis, chain, workers), (target) => measure(target, mode, 'max', events, 0, false)) });
    }
  }
  const runOf = (app: string, workers: number) => runs.find((each) => each.app === app && each.workers === workers)!.run;
  const speedUp = (app: string, workers: number) => runOf(app, workers).eventsPerSecond / runOf(app, 1).eventsPerSecond;
  out('\nstage scaling: one stage → latency destination, separate processes (intake, runner, 1, 2 and 4 stage workers), flat out');
  for (const { app, about, events } of SCALING_APPS) out(`  ${app}: ${about}; ${int(events)} events a run`);
  out(`  ${'app'.padEnd(11)}${'workers'.padStart(7)}${'events/s'.padStart(10)}${'p99 ms'.padStart(8)}${'÷ 1 worker'.padStart(12)}  CPU µs/event per process (redis from INFO; load: the load generator)`);
  for (const { app, workers, run } of runs) {
    const cpu = Object.entries(run.cpuMicrosPerEvent).map(([name, micros]) => `${name} ${int(micros)}`).join(', ');
    out(`  ${app.padEnd(11)}${String(workers).padStart(7)}${int(run.eventsPerSecond).padStart(10)}${String(run.p99).padStart(8)}${`${speedUp(app, workers).toFixed(2)}×`.padStart(12)}  ${cpu}`);
  }
  out(`  2 workers ÷ 1, cpu-heavy: ${speedUp('cpu-heavy', 2).toFixed(2)}× (target ≥ 1.6×)`);
  const cores = availableParallelism();
  out(`  this machine has ${cores} core${cores > 1 ? 's' : ''} (availableParallelism()): beyond ${cores} processes, more cannot add throughput (the intake, runner, Redis and the load generator share the same cores as the stage workers)`);
  return runs.map((each) => each.run);
}

/** `--soak SECONDS` among the arguments, or undefined. */
function soakSeconds(args: readonly string[]): number | undefined {
  const at = args.indexOf('--soak');
  if (at < 0) return undefined;
  const seconds = Number(args[at + 1]);
  if (!(seconds > 0)) throw new Error(`--soak needs a number of seconds, got "${args[at + 1] ?? ''}"`);
  return seconds;
}

export async function benchPipeline(args: readonly string[] = []): Promise<void> {
  const soakFor = soakSeconds(args);
  const redis = new Redis(REDIS_URL);
  try {
    const ceiling = await withTarget(ceilingTarget, (target) => measure(target, 'ceiling (no durability)', 'max', EVENTS));
    const start = MODES.has('start') ? await withTarget(() => sluiceTarget(redis), (target) => maxAndHalf(target, 'sluice start')) : [];
    const cluster = MODES.has('separate') ? await withTarget(() => clusterTarget(redis), (target) => maxAndHalf(target, 'separate processes')) : [];
    const naive = MODES.has('naive') ? await withTarget(() => naiveTarget(redis), (target) => measure(target, 'naive (job per event)', 'max', NAIVE_EVENTS)) : undefined;
    const results = [ceiling, ...start, ...cluster, ...(naive ? [naive] : [])];
    printPhases(results, ceiling, naive);
    const scaling = MODES.has('scaling') ? await stageScaling(redis) : [];
    const startMax = start[0] ?? (await withTarget(() => sluiceTarget(redis), (target) => measure(target, 'sluice start', 'max', EVENTS)));
    const soaked = soakFor ? await soak(redis, soakFor, Math.round(startMax.eventsPerSecond / 2)) : undefined;
    if (soaked) {
      out(`soak: ${int(soaked.result.eventsPerSecond)} events/s delivered, p50 ${soaked.result.p50} ms, p99 ${soaked.result.p99} ms; ` +
        `slope RSS ${mb(soaked.rssSlope)} MB/min, Redis ${mb(soaked.redisSlope)} MB/min (least squares over the samples under load)`);
    }
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'pipeline.json'), `${JSON.stringify({ at: new Date().toISOString(), events: EVENTS, naiveEvents: NAIVE_EVENTS, results, scaling, soak: soaked }, null, 2)}\n`);
    writeFileSync(join(RESULTS_DIR, 'pipeline.svg'), chart(soaked ? [...results, soaked.result] : results, soaked?.samples));
    out(`\nwrote bench/results/pipeline.json and bench/results/pipeline.svg`);
  } finally {
    redis.disconnect();
  }
}
