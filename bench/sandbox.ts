/**
 * `pnpm bench sandbox`: processEvent throughput through the QuickJS sandbox (batches of 100 sample
 * events, one crossing per batch) for three apps — hello-world, a taxonomy-style app doing string
 * work on every property, and an app awaiting meta.cache.get + set per event — each against the
 * same compiled function called directly in V8 with the JSON round trip the sandbox pays (string
 * in, string out; the cache app against the same cache) and, for the sync apps, a bare QuickJS
 * loop (the app-runtime issue's reference point). Then the memory of a warm instance.
 *
 * The machine is shared and noisy: the variants run interleaved in ROUNDS short rounds, and each
 * figure is the median over rounds with its min–max spread. "per CPU-s" divides by the process's
 * own CPU time instead of wall time: what one core does when other work steals it. Ratios are
 * taken per round (neighbouring runs see the same load), then the median.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { applyConfigDefaults, compileApp, createAppVm, instanceMemoryBytes, MemoryAppCache, type AppCache, type AppVm } from '@sluice/sandbox';
import type { PluginEvent } from '@sluice/core';
import releaseSyncVariant from '@jitl/quickjs-wasmfile-release-sync';
import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';
import { readSampleEvents } from '../test/fixtures/sample-events';
import { REDIS_URL, REPO_ROOT } from '../test/helpers/services';
import { RedisAppCache, clearAppCache } from '../packages/queues/src/app-cache';

const BATCH = 100;
/** Seconds each variant runs in total, split over the rounds. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function sampleBatch(): PluginEvent[] {
  return readSampleEvents().slice(0, BATCH) as PluginEvent[];
}

interface Rate {
  wall: number;
  cpu: number;
}

/** Runs `run` (one batch) for `seconds`: events per wall-clock second and per CPU-second of this process. */
async function measure(run: () => Promise<unknown> | unknown, seconds: number): Promise<Rate> {
  for (let i = 0; i < 5; i++) await run(); // warm-up
  const started = performance.now();
  const cpu = process.cpuUsage();
  let events = 0;
  while (performance.now() - started < seconds * 1000) {
    await run();
    events += BATCH;
  }
  const used = process.cpuUsage(cpu);
  return { wall: events / ((performance.now() - started) / 1000), cpu: events / ((used.user + used.system) / 1e6) };
}

type Meta = { config: Record<string, string>; global: Record<string, unknown>; cache?: unknown };
type ProcessEvent = (event: PluginEvent, meta: Meta) => PluginEvent | null | Promise<PluginEvent | null>;

interface BenchApp {
  name: string;
  /** The compiled bundle (CommonJS), as the sandbox and the baselines run it. */
  code: string;
  vm: AppVm;
  /** The same compiled code, run in V8. */
  direct: ProcessEvent;
  meta: Meta;
}

/** The app compiled as an install would, in a sandbox VM and (the same bundle) as a plain V8 function. */
async function loadApp(name: string, dir: string, config: Record<string, string>, cache?: AppCache): Promise<BenchApp> {
  const source = { 'plugin.json': readFileSync(join(dir, 'plugin.json'), 'utf8'), 'index.js': readFileSync(join(dir, 'index.js'), 'utf8') };
  const app = await compileApp(source);
  const resolved = applyConfigDefaults(app.pluginJson, config);
  const vm = await createAppVm({ instanceId: 1, name, code: app.code, config: resolved, onLog: () => {}, ...(cache && { services: { cache } }) });
  await vm.setup();
  const module = { exports: {} as Record<string, unknown> };
  new Function('module', 'exports', 'require', app.code)(module, module.exports, () => ({}));
  const exported = (module.exports.default ?? module.exports) as { processEvent: ProcessEvent };
  // meta.cache as the sandbox's shim gives it (values JSON-encoded), straight on the same cache.
  const metaCache = cache && {
    get: async (key: string, fallback: unknown) => {
      const value = await cache.get(key);
      return value === null ? fallback : (JSON.parse(value) as unknown);
    },
    set: (key: string, value: unknown, ttl?: number) => cache.set(key, JSON.stringify(value), ttl),
  };
  return { name, code: app.code, vm, direct: exported.processEvent, meta: { config: resolved, global: {}, ...(metaCache && { cache: metaCache }) } };
}

/**
 * The V8 baseline: parse the batch's JSON, run every event, serialise what comes back. Async apps'
 * events run concurrently, as in the sandbox; sync ones in a plain loop.
 */
function directRun(app: BenchApp, batch: PluginEvent[]): () => unknown {
  const answer = (results: (PluginEvent | null)[]) => JSON.parse(JSON.stringify(results.map((event) => (event ? { status: 'ok', event } : { status: 'dropped' }))));
  return () => {
    const events = JSON.parse(JSON.stringify(batch)) as PluginEvent[];
    const results = events.map((event) => app.direct(event, app.meta));
    return results.some((result) => result instanceof Promise) ? Promise.all(results).then(answer) : answer(results as (PluginEvent | null)[]);
  };
}

/**
 * The app-runtime issue's reference point, "a bare QuickJS loop with JSON in and out": the same bundle in a
 * plain quickjs-emscripten context (same release-sync build the sandbox uses), with none of the
 * sandbox's work — no limits, no interrupt handler, no meta beyond config and global, no tracking:
 * per batch the host stringifies the events into one string, the VM parses it, runs every event
 * and stringifies the outcomes, and the host parses them. Sync apps only (no job pumping).
 */
async function bareQuickJsRun(app: BenchApp, batch: PluginEvent[]): Promise<{ run: () => unknown; dispose: () => void }> {
  const module = await newQuickJSWASMModuleFromVariant(releaseSyncVariant);
  const vm = module.newContext();
  const setup = vm.evalCode(`
    const module = { exports: {} };
    (function (module, exports, require) { ${app.code}\n })(module, module.exports, () => ({}));
    const app = module.exports.default || module.exports;
    const meta = { config: ${JSON.stringify(app.meta.config)}, global: {} };
    globalThis.run = (json) => JSON.stringify(JSON.parse(json).map((event) => {
      const result = app.processEvent(event, meta);
      return result ? { status: 'ok', event: result } : { status: 'dropped' };
    }));`);
  vm.unwrapResult(setup).dispose();
  const run = vm.getProp(vm.global, 'run');
  return {
    run: () => {
      const input = vm.newString(JSON.stringify(batch));
      const output = vm.unwrapResult(vm.callFunction(run, vm.undefined, input));
      input.dispose();
      const outcomes = JSON.parse(vm.getString(output)) as unknown[];
      output.dispose();
      return outcomes;
    },
    dispose: () => {
      run.dispose();
      vm.dispose();
    },
  };
}

/** A Redis-backed meta.cache (auto-pipelined, as the runtime builds it) when Redis answers; else the in-memory one. */
async function benchCache(): Promise<{ cache: AppCache; label: string; close: () => Promise<void> }> {
  try {
    // ioredis is a dependency of @sluice/queues, not of the bench: resolved from there.
    type Redis = ConstructorParameters<typeof RedisAppCache>[0];
    const { Redis } = createRequire(join(REPO_ROOT, 'packages/queues/package.json'))('ioredis') as { Redis: new (url: string, options: object) => Redis };
    const redis = new Redis(REDIS_URL, { enableAutoPipelining: true, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 1 });
    await redis.connect();
    await redis.ping();
    const prefix = `sluice-bench-${process.pid}`;
    return {
      cache: new RedisAppCache(redis, prefix, 1),
      label: `Redis at ${REDIS_URL}, auto-pipelined`,
      close: async () => {
        await clearAppCache(redis, prefix, 1);
        redis.disconnect();
      },
    };
  } catch {
    return { cache: new MemoryAppCache(), label: 'in memory (no Redis answered)', close: async () => {} };
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const thousands = (value: number) => Math.round(value).toLocaleString('en-US');

function rateLine(label: string, rates: Rate[], ratios?: number[]): string {
  const walls = rates.map((rate) => rate.wall);
  const spread = `[${thousands(Math.min(...walls))}–${thousands(Math.max(...walls))}]`;
  const ratio = ratios ? `  ${median(ratios).toFixed(2)}× baseline [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]` : '';
  return `  ${label.padEnd(34)}${thousands(median(walls)).padStart(9)} ev/s ${spread.padEnd(17)} ${thousands(median(rates.map((rate) => rate.cpu))).padStart(9)} ev/CPU-s${ratio}\n`;
}

export async function benchSandbox(): Promise<void> {
  const batch = sampleBatch();
  const cacheBackend = await benchCache();
  const apps = [
    await loadApp('hello-world', join(REPO_ROOT, 'examples/hello-world'), { name: 'Ada' }),
    await loadApp('taxonomy', join(REPO_ROOT, 'bench/apps/taxonomy'), { defaultNamingConvention: 'snake_case' }),
    await loadApp('cache get+set', join(REPO_ROOT, 'bench/apps/cache-counter'), {}, cacheBackend.cache),
  ];
  const seconds = SECONDS / ROUNDS;
  const results = apps.map(() => ({ direct: [] as Rate[], sandbox: [] as Rate[], ratios: [] as number[], bare: [] as Rate[], bareRatios: [] as number[] }));
  // The bare loop for the sync apps (the cache app awaits, which a bare loop does not pump).
  const bareLoops = await Promise.all(apps.map((app) => (app.meta.cache ? undefined : bareQuickJsRun(app, batch))));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, app] of apps.entries()) {
      const result = results[index]!;
      const direct = await measure(directRun(app, batch), seconds);
      const bareLoop = bareLoops[index];
      const bare = bareLoop && (await measure(bareLoop.run, seconds));
      const sandboxed = await measure(() => app.vm.processEventBatch(batch), seconds);
      result.direct.push(direct);
      result.sandbox.push(sandboxed);
      result.ratios.push(sandboxed.wall / direct.wall);
      if (bare) {
        result.bare.push(bare);
        result.bareRatios.push(sandboxed.wall / bare.wall);
      }
    }
  }
  for (const bareLoop of bareLoops) bareLoop?.dispose();
  const out: string[] = [
    `\nsandbox: processEvent, batches of ${BATCH} sample events, one crossing per batch; one core; ${ROUNDS} interleaved rounds × ${seconds.toFixed(2)} s per variant\n`,
    `  median ev/s [min–max over rounds], median ev per CPU-second of this process, sandbox ÷ same-round V8 baseline (and ÷ the same-round bare QuickJS loop)\n`,
  ];
  for (const [index, app] of apps.entries()) {
    const result = results[index]!;
    out.push(`${app.name}${app.name.startsWith('cache') ? ` (meta.cache: ${cacheBackend.label})` : ''}\n`);
    out.push(rateLine('V8 direct + JSON round trip', result.direct));
    if (result.bare.length) out.push(rateLine('bare QuickJS loop, JSON in/out', result.bare));
    out.push(rateLine('QuickJS sandbox', result.sandbox, result.ratios));
    if (result.bare.length) out.push(`  ${''.padEnd(34)}${''.padStart(9)}      ${''.padEnd(17)} ${''.padStart(9)}         ${median(result.bareRatios).toFixed(2)}× the bare loop [${Math.min(...result.bareRatios).toFixed(2)}–${Math.max(...result.bareRatios).toFixed(2)}]\n`);
  }
  // A warm instance: set up, a few batches run (the ones above, and five more on a fresh VM).
  out.push('memory of a warm instance (QuickJS "memory used" of its runtime)\n');
  for (const app of apps) {
    out.push(`  ${`${app.name}, after the runs above`.padEnd(42)}${thousands(instanceMemoryBytes(app.vm) ?? Number.NaN).padStart(10)} bytes\n`);
  }
  const fresh = await loadApp('hello-world', join(REPO_ROOT, 'examples/hello-world'), { name: 'Ada' });
  const afterSetup = instanceMemoryBytes(fresh.vm) ?? Number.NaN;
  for (let i = 0; i < 5; i++) await fresh.vm.processEventBatch(batch);
  out.push(`  ${'hello-world, fresh: after setup'.padEnd(42)}${thousands(afterSetup).padStart(10)} bytes\n`);
  out.push(`  ${'hello-world, fresh: after 5 batches'.padEnd(42)}${thousands(instanceMemoryBytes(fresh.vm) ?? Number.NaN).padStart(10)} bytes\n`);
  fresh.vm.dispose();
  for (const app of apps) app.vm.dispose();
  await cacheBackend.close();
  process.stdout.write(out.join(''));
}
