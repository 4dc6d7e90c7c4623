import { describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { compileApp, createAppVm } from '../src';

function event(name: string): PluginEvent {
  return { uuid: crypto.randomUUID(), event: name, distinct_id: 'u', properties: {}, timestamp: '', ip: null, site_url: '', team_id: 1, now: '', sent_at: null };
}

async function vmOf(code: string, memoryBytes?: number) {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'iso' }), 'index.js': code });
  return createAppVm({ instanceId: 1, name: 'iso', code: app.code, config: { k: 'v' },
    // On a loaded machine the time limit must not stop a memory bomb before the memory limit does.
    limits: { memoryBytes, ...(memoryBytes && { callTimeoutMs: 20_000 }) }, onLog: () => {} });
}

describe('what the app can reach', () => {
  it('sees only its own globals: no sandbox internals, no host functions', async () => {
    const vm = await vmOf(`export function processEvent(e) {
      e.properties.internals = typeof __sluice + ',' + typeof __host_log;
      e.properties.globals = Object.getOwnPropertyNames(globalThis).filter((n) => /sluice|host|^(process|Buffer|fetch|global|setTimeout)$/.test(n)).sort().join(',');
      return e }`);
    const [outcome] = await vm.processEventBatch([event('a')]);
    // fetch is the app's own (a shim over the host's guarded fetch); nothing else of the host's shows.
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { internals: 'undefined,undefined', globals: 'Buffer,fetch,setTimeout' } } });
    vm.dispose();
  });

  it('cannot corrupt the batch answer by replacing JSON or the outcome array', async () => {
    const vm = await vmOf(`JSON.stringify = () => '[]'; JSON.parse = () => []; globalThis.__sluice = { processBatch: () => '[]' };
      export function processEvent(e) { e.properties.seen = true; return e }`);
    const outcomes = await vm.processEventBatch([event('a'), event('b')]);
    expect(outcomes).toMatchObject([{ status: 'ok', event: { event: 'a', properties: { seen: true } } }, { status: 'ok', event: { event: 'b' } }]);
    vm.dispose();
  });

  it('counts an out-of-memory inside async code as the memory limit and recovers', async () => {
    const vm = await vmOf("export async function processEvent(e) { await null; if (e.event === 'bomb') { const a = []; while (true) a.push({ n: a.length, s: [a.length] }) } return e }", 16 * 1024 * 1024);
    const outcomes = await vm.processEventBatch([event('ok'), event('bomb')]);
    expect(outcomes.map((o) => o.status === 'error' && o.error)).toEqual([false, 'processEvent exceeded the 16 MiB memory limit']); // the bomb found by re-running halves
    expect((await vm.processEventBatch([event('ok')]))[0]).toMatchObject({ status: 'ok' });
    expect(() => vm.dispose()).not.toThrow();
  });
});
