/**
 * processEvent throughput of the hello-world app through the QuickJS sandbox (batches of 100, one
 * crossing per batch), against the same function called directly in V8 with the same JSON round
 * trip — the baseline, measured in the same run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileApp, createAppVm } from '@sluice/sandbox';
import type { PluginEvent } from '@sluice/core';
import { REPO_ROOT } from '../test/helpers/services';

const BATCH = 100;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

function sampleBatch(): PluginEvent[] {
  const lines = readFileSync(join(REPO_ROOT, '../shared/data/events-sample.jsonl'), 'utf8').trim().split('\n');
  return lines.slice(0, BATCH).map((line) => JSON.parse(line) as PluginEvent);
}

async function eventsPerSecond(run: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < 20; i++) await run(); // warm-up
  const started = performance.now();
  let events = 0;
  while (performance.now() - started < SECONDS * 1000) {
    await run();
    events += BATCH;
  }
  return Math.round(events / ((performance.now() - started) / 1000));
}

export async function benchSandbox(): Promise<void> {
  const dir = join(REPO_ROOT, 'examples/hello-world');
  const source = { 'plugin.json': readFileSync(join(dir, 'plugin.json'), 'utf8'), 'index.js': readFileSync(join(dir, 'index.js'), 'utf8') };
  const app = await compileApp(source);
  const vm = await createAppVm({ instanceId: 1, name: 'hello', code: app.code, config: { name: 'Ada' }, onLog: () => {} });
  const batch = sampleBatch();
  const config = { name: 'Ada' };
  // The same app function in V8, with the JSON round trip the sandbox pays (string in, string out).
  const processEvent = (event: PluginEvent, meta: { config: typeof config }) => {
    event.properties.hello = `Hello ${meta.config.name || 'world'}`;
    return event;
  };
  const direct = await eventsPerSecond(() => {
    const events = JSON.parse(JSON.stringify(batch)) as PluginEvent[];
    return JSON.parse(JSON.stringify(events.map((event) => processEvent(event, { config }))));
  });
  const sandboxed = await eventsPerSecond(() => vm.processEventBatch(batch));
  vm.dispose();
  process.stdout.write(`\nsandbox: hello-world processEvent, batches of ${BATCH} sample events, ${SECONDS} s each, one core\n`);
  process.stdout.write(`V8 direct + JSON round trip (baseline)  ${String(direct).padStart(8)} events/s\n`);
  process.stdout.write(`QuickJS sandbox                          ${String(sandboxed).padStart(8)} events/s  (${(sandboxed / direct).toFixed(2)}× baseline)\n`);
}
