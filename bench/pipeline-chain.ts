/**
 * The chain every mode of `pnpm bench pipeline` runs, in one place: three processEvent stages
 * (hello-world, a filter dropping a tenth, taxonomy) and two destinations (an onEvent recording
 * latency, a null exportEvents). Sluice installs it through the admin API; the ceiling imports the
 * same index.js files as plain modules; the naive design loads them into the sandbox.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PluginEvent } from '@sluice/core';
import { applyConfigDefaults } from '@sluice/sandbox';
import { install } from '../test/helpers/api';
import { REPO_ROOT } from '../test/helpers/services';

export interface ChainApp {
  dir: string;
  config: Record<string, string>;
}

/** In install order: the stages run in this order; the destinations after the store. */
export const CHAIN: readonly ChainApp[] = [
  { dir: 'examples/hello-world', config: { name: 'Ada' } },
  { dir: 'bench/apps/drop-tenth', config: {} },
  { dir: 'bench/apps/taxonomy', config: {} },
  { dir: 'bench/apps/latency-destination', config: {} },
  { dir: 'bench/apps/null-exporter', config: {} },
];

/** A stage-scaling chain: one stage, then the latency destination (nothing dropped). */
const scalingChain = (stage: ChainApp): readonly ChainApp[] => [stage, { dir: 'bench/apps/latency-destination', config: {} }];

/** The stage-scaling chain: one CPU-bound stage (cpu-heavy, ~5 ms an event), then the latency destination. */
export const SCALING_CHAIN = scalingChain({ dir: 'bench/apps/cpu-heavy', config: {} });

/** The light stage-scaling chain: one cheap transform (taxonomy's string work), then the latency destination. */
export const LIGHT_SCALING_CHAIN = scalingChain({ dir: 'bench/apps/taxonomy', config: {} });

/** The properties the load generator stamps on every event and the latency destination reads. */
export const SENT_AT = 'bench_sent_at';
export const PHASE = 'bench_phase';

export async function installChain(url: string, chain: readonly ChainApp[] = CHAIN): Promise<void> {
  for (const app of chain) await install(url, app.dir, app.config);
}

/** The meta a plain-JS run gives an app: its config with plugin.json's defaults, a global, and a cache if the caller has one. */
export interface DirectMeta {
  config: Record<string, string>;
  global: Record<string, unknown>;
  cache?: { incr(key: string): Promise<number> };
}

/** An app's exports as a plain module: the functions the chain calls. */
export interface DirectApp {
  dir: string;
  meta: DirectMeta;
  processEvent?: (event: PluginEvent, meta: DirectMeta) => PluginEvent | null | undefined | Promise<PluginEvent | null | undefined>;
  onEvent?: (event: PluginEvent, meta: DirectMeta) => unknown;
  exportEvents?: (events: PluginEvent[], meta: DirectMeta) => unknown;
}

/** One app's index.js imported as an ordinary module, with its meta. */
export async function directApp(app: ChainApp, cache?: DirectMeta['cache']): Promise<DirectApp> {
  const pluginJson = JSON.parse(readFileSync(join(REPO_ROOT, app.dir, 'plugin.json'), 'utf8'));
  // A path known only at run time: the apps are untyped JavaScript, their shape is DirectApp's.
  const module = (await import(join(REPO_ROOT, app.dir, 'index.js'))) as Omit<DirectApp, 'dir' | 'meta'>;
  return { ...module, dir: app.dir, meta: { config: applyConfigDefaults(pluginJson, app.config), global: {}, ...(cache && { cache }) } };
}

/** The whole chain as plain modules, in order. */
export function directChain(cache?: DirectMeta['cache']): Promise<DirectApp[]> {
  return Promise.all(CHAIN.map((app) => directApp(app, cache)));
}
