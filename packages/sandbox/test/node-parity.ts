import { createRequire } from 'node:module';
import { expect } from 'vitest';
import type { AppLogEntry, PluginEvent } from '@sluice/core';
import { compileApp, createAppVm } from '../src';

/**
 * Runs the same snippets in the sandbox (inside one app's processEvent) and in Node (with Node's
 * own URL, crypto, Intl, TextEncoder… and `require`), so a test compares the app's output with
 * what the same code gives under Node. A snippet is a function body; what it returns (or the
 * error it throws: name, code, message, class) is compared after a JSON round trip.
 */
export type Snippets = Record<string, string>;

const nodeRequire = createRequire(import.meta.url);

const RUN = String.raw`(function run(fn) {
  try {
    const value = fn();
    return { value: value === undefined ? '<undefined>' : value };
  } catch (error) {
    const kind = error instanceof TypeError ? 'TypeError' : error instanceof RangeError ? 'RangeError' : error instanceof SyntaxError ? 'SyntaxError' : error instanceof Error ? 'Error' : typeof error;
    return { error: { kind, name: error && error.name, code: error && error.code, message: error && error.message } };
  }
})`;

function appSource(snippets: Snippets, prefix = ''): string {
  const entries = Object.entries(snippets).map(([name, body]) => `${JSON.stringify(name)}: function () {\n${body}\n}`).join(',\n');
  return `${prefix}\nconst run = ${RUN};\nconst CASES = {\n${entries}\n};\nexport function processEvent(e) {\n  const out = {};\n  for (const name of Object.keys(CASES)) out[name] = JSON.parse(JSON.stringify(run(CASES[name])));\n  e.properties.out = out;\n  return e;\n}`;
}

function event(): PluginEvent {
  return { uuid: 'u', event: 'e', distinct_id: 'd', properties: {}, timestamp: '', ip: null, site_url: '', team_id: 1, now: '', sent_at: null };
}

export async function runInSandbox(snippets: Snippets, prefix = ''): Promise<{ out: Record<string, unknown>; logs: AppLogEntry[] }> {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'parity' }), 'index.js': appSource(snippets, prefix) });
  const logs: AppLogEntry[] = [];
  const vm = await createAppVm({ instanceId: 1, name: 'parity', code: app.code, config: {}, limits: { callTimeoutMs: 20_000 }, onLog: (entry) => logs.push(entry) });
  try {
    const [outcome] = await vm.processEventBatch([event()]);
    if (!outcome || outcome.status !== 'ok') throw new Error(`the app failed: ${JSON.stringify(outcome)}`);
    return { out: outcome.event.properties.out as Record<string, unknown>, logs };
  } finally {
    vm.dispose();
  }
}

export function runInNode(snippets: Snippets): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the test's own snippets, run in Node for the expected values
  const run = new Function(`return ${RUN}`)() as (fn: () => unknown) => unknown;
  const out: Record<string, unknown> = {};
  for (const [name, body] of Object.entries(snippets)) {
    const fn = new Function('require', body).bind(undefined, nodeRequire) as () => unknown;
    out[name] = JSON.parse(JSON.stringify(run(fn))) as unknown;
  }
  return out;
}

/** Runs the snippets in both and expects each to give in the sandbox what it gives in Node; answers the sandbox's results. */
export async function expectNodeParity(snippets: Snippets, prefix = ''): Promise<Record<string, unknown>> {
  const { out } = await runInSandbox(snippets, prefix);
  const expected = runInNode(snippets);
  for (const name of Object.keys(snippets)) expect({ [name]: out[name] }).toEqual({ [name]: expected[name] });
  return out;
}
