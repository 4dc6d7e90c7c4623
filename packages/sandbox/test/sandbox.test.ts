import { describe, expect, it } from 'vitest';
import type { AppLogEntry, PluginEvent } from '@sluice/core';
import { AppSourceError, SECRET_MASK, applyConfigDefaults, compileApp, createAppVm, keepMaskedSecrets, type AppVm } from '../src';

const HELLO_JSON = JSON.stringify({ name: 'Hello', config: [{ key: 'name', type: 'string', default: '' }] });

function event(name = '$pageview', properties: Record<string, unknown> = {}): PluginEvent {
  return {
    uuid: crypto.randomUUID(), event: name, distinct_id: 'u1', properties, timestamp: '2026-11-25T00:00:00.000Z',
    ip: null, site_url: '', team_id: 1, now: '2026-11-25T00:00:00.000Z', sent_at: null,
  };
}

async function vmFor(files: Record<string, string>, options: { config?: Record<string, string>; callTimeoutMs?: number; memoryBytes?: number } = {}) {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'test' }), ...files });
  const logs: AppLogEntry[] = [];
  const vm = await createAppVm({
    instanceId: 1, name: 'test', code: app.code, config: applyConfigDefaults(app.pluginJson, options.config ?? {}),
    limits: { callTimeoutMs: options.callTimeoutMs, memoryBytes: options.memoryBytes }, onLog: (entry) => logs.push(entry),
  });
  return { app, vm, logs };
}

async function processOne(vm: AppVm, input = event()) {
  const [outcome] = await vm.processEventBatch([input]);
  return outcome!;
}

describe('compileApp', () => {
  it('detects capabilities of every real app shape', async () => {
    const shapes: Record<string, string> = {
      esm: 'export function processEvent(e) { return e }\nexport function onEvent() {}',
      cjs: 'module.exports = { processEvent(e) { return e } }',
      object: 'const plugin = { processEvent: (e) => e, setupPlugin() {} }; module.exports = plugin',
      defaultExport: 'export default { processEvent(e) { return e }, jobs: { x() {} } }',
      batch: 'export function processEventBatch(events) { return events }',
    };
    const found: Record<string, string[]> = {};
    for (const [shape, code] of Object.entries(shapes)) {
      found[shape] = (await compileApp({ 'plugin.json': HELLO_JSON, 'index.js': code })).capabilities;
    }
    expect(found).toEqual({
      esm: ['processEvent', 'onEvent'],
      cjs: ['processEvent'],
      object: ['setupPlugin', 'processEvent'],
      defaultExport: ['processEvent', 'jobs'],
      batch: ['processEventBatch'],
    });
  });

  it('bundles a TypeScript entry with local imports and RetryError from @posthog/plugin-scaffold', async () => {
    const { vm } = await vmFor({
      'plugin.json': JSON.stringify({ name: 'ts', main: 'src/index.ts' }),
      'src/index.ts': `import { RetryError } from '@posthog/plugin-scaffold'\nimport { shout } from './lib'\nexport function processEvent(e: any) { e.properties.loud = shout(e.event); e.properties.retry = new RetryError('x') instanceof Error && new RetryError('x').name; return e }`,
      'src/lib.ts': 'export const shout = (s: string): string => s.toUpperCase()',
    });
    const outcome = await processOne(vm, event('hi'));
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { loud: 'HI', retry: 'RetryError' } } });
  });

  it('refuses an unknown import, naming the module', async () => {
    const attempt = compileApp({ 'plugin.json': HELLO_JSON, 'index.js': 'import _ from "lodash"\nexport const processEvent = (e) => e' });
    await expect(attempt).rejects.toThrow(/^index\.js:1:\d+: import of "lodash" is not available in the sandbox/);
    await expect(attempt).rejects.toBeInstanceOf(AppSourceError);
  });

  it('names the file and field of a bad plugin.json, and a syntax error with its line', async () => {
    await expect(compileApp({ 'plugin.json': '{"name": 1}', 'index.js': '' })).rejects.toMatchObject({ file: 'plugin.json', field: 'name' });
    await expect(
      compileApp({ 'plugin.json': JSON.stringify({ name: 'x', config: [{ key: 'k', type: 'number' }] }), 'index.js': '' }),
    ).rejects.toMatchObject({ file: 'plugin.json', field: 'config[0].type' });
    await expect(compileApp({ 'plugin.json': HELLO_JSON, 'index.js': 'export function processEvent(e) {\n return e +' })).rejects.toThrow(/^index\.js:2:/);
    await expect(compileApp({ 'plugin.json': HELLO_JSON })).rejects.toThrow(/index\.ts or index\.js is missing/);
  });

  it('fills config defaults and refuses a missing required key', () => {
    const pluginJson = { name: 'x', config: [{ key: 'a', default: 'A' }, { key: 'b', required: true }] };
    expect(applyConfigDefaults(pluginJson, { b: '1' })).toEqual({ a: 'A', b: '1' });
    expect(() => applyConfigDefaults(pluginJson, {})).toThrow(/config "b" is required/);
  });

  it("applies PostHog's required_if and visible_if, and checks json fields", async () => {
    const pluginJson = {
      name: 'x',
      config: [
        { key: 'mode', type: 'choice' as const, choices: ['basic', 'oauth'], default: 'basic' },
        { key: 'secret', required_if: [['mode', 'oauth']] as Array<[string, string]>, visible_if: [['mode', 'oauth']] as Array<[string, string]> },
        { key: 'anyMode', required_if: [['mode']] as Array<[string]> },
        { key: 'mapping', type: 'json' as const },
      ],
    };
    expect(() => applyConfigDefaults(pluginJson, { anyMode: '1' })).not.toThrow();
    expect(() => applyConfigDefaults(pluginJson, { mode: 'oauth', anyMode: '1' })).toThrow(/config "secret" is required but was not given \(required_if/);
    // [key] alone: required whenever mode has a value (here its default).
    expect(() => applyConfigDefaults(pluginJson, {})).toThrow(/config "anyMode" is required/);
    expect(() => applyConfigDefaults(pluginJson, { anyMode: '1', mapping: '{"a": 1' })).toThrow(/config "mapping" must be JSON/);
    expect(applyConfigDefaults(pluginJson, { anyMode: '1', mapping: '{"a": 1}' }).mapping).toBe('{"a": 1}');
    await expect(compileApp({ 'plugin.json': JSON.stringify({ name: 'x', config: [{ key: 'a', visible_if: 'mode' }] }), 'index.js': '' })).rejects.toThrow(/"config\[0\].visible_if" must be a list of \[key, value\] pairs/);
  });

  it('keeps a secret sent back masked, and takes a new one', () => {
    const pluginJson = { name: 'x', config: [{ key: 'apiKey', secret: true }, { key: 'host' }] };
    const stored = { apiKey: 'sk_live_1234', host: 'a' };
    expect(keepMaskedSecrets(pluginJson, { apiKey: SECRET_MASK, host: 'b' }, stored)).toEqual({ apiKey: 'sk_live_1234', host: 'b' });
    expect(keepMaskedSecrets(pluginJson, { apiKey: 'sk_new', host: 'b' }, stored)).toEqual({ apiKey: 'sk_new', host: 'b' });
    expect(keepMaskedSecrets(pluginJson, { apiKey: SECRET_MASK }, {})).toEqual({});
  });
});

describe('AppVm', () => {
  it('runs hello-world on a batch and drops events returning null', async () => {
    const { vm } = await vmFor({
      'plugin.json': HELLO_JSON,
      'index.js': "export function processEvent(e, { config }) { if (e.event === 'drop') return null; e.properties.hello = `Hello ${config.name || 'world'}`; return e }",
    }, { config: { name: 'Ada' } });
    const outcomes = await vm.processEventBatch([event('a'), event('drop'), event('b')]);
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'dropped', 'ok']);
    expect(outcomes[0]).toMatchObject({ event: { properties: { hello: 'Hello Ada' } } });
    vm.dispose();
  });

  it('keeps meta.global across batches and runs setupPlugin once', async () => {
    const { vm } = await vmFor({
      'index.js': 'export function setupPlugin({ global }) { global.setups = (global.setups || 0) + 1; global.seen = 0 }\nexport function processEvent(e, { global }) { e.properties.n = ++global.seen; e.properties.setups = global.setups; return e }',
    });
    await vm.processEventBatch([event(), event()]);
    const [third] = await vm.processEventBatch([event()]);
    expect(third).toMatchObject({ event: { properties: { n: 3, setups: 1 } } });
  });

  it('runs setupPlugin once for concurrent first batches, and a limit hit in one call spares the other', async () => {
    const { vm } = await vmFor({
      'index.js': "export function setupPlugin({ global }) { global.setups = (global.setups || 0) + 1 }\nexport async function processEvent(e, { global }) { await null; if (e.event === 'spin') while (true) {} e.properties.setups = global.setups; return e }",
    }, { callTimeoutMs: 100 });
    const [spun, fine] = await Promise.all([vm.processEventBatch([event('spin')]), vm.processEventBatch([event('ok'), event('ok')])]);
    expect(spun[0]).toMatchObject({ status: 'error', error: expect.stringMatching(/time limit/) });
    expect(fine.map((o) => o.status)).toEqual(['ok', 'ok']);
    const [first, second] = await Promise.all([vm.processEventBatch([event()]), vm.processEventBatch([event()])]);
    expect([first[0], second[0]]).toMatchObject([{ event: { properties: { setups: 1 } } }, { event: { properties: { setups: 1 } } }]);
  });

  it('awaits async processEvent', async () => {
    const { vm } = await vmFor({ 'index.js': 'export async function processEvent(e) { await null; e.properties.async = true; return e }' });
    expect(await processOne(vm)).toMatchObject({ status: 'ok', event: { properties: { async: true } } });
  });

  it('gives a throwing event an error outcome while its neighbours go on', async () => {
    const { vm } = await vmFor({ 'index.js': "export function processEvent(e) { if (e.event === 'bad') throw new TypeError('boom'); return e }" });
    const outcomes = await vm.processEventBatch([event('ok'), event('bad'), event('ok')]);
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'error', 'ok']);
    expect(outcomes[1]).toEqual({ status: 'error', error: 'TypeError: boom' });
  });

  it('captures console output with levels', async () => {
    const { vm, logs } = await vmFor({ 'index.js': "export function processEvent(e) { console.log('a', { b: 1 }, 2); console.warn('careful'); console.error(new Error('x').message); return e }" });
    await processOne(vm);
    expect(logs.map(({ level, message }) => [level, message])).toEqual([['log', 'a {"b":1} 2'], ['warn', 'careful'], ['error', 'x']]);
  });

  it('stops an endless loop at the time limit, logs it, and the next batch works', async () => {
    const { vm, logs } = await vmFor({ 'index.js': "export function processEvent(e) { if (e.event === 'spin') while (true) {} return e }" }, { callTimeoutMs: 100 });
    const outcomes = await vm.processEventBatch([event('ok'), event('spin')]);
    // The batch is re-run in halves on a fresh realm: only the looping event fails.
    expect(outcomes).toEqual([
      { status: 'ok', event: expect.objectContaining({ event: 'ok' }) },
      { status: 'error', error: 'processEvent exceeded the 100 ms time limit' },
    ]);
    expect(logs.at(-1)).toMatchObject({ level: 'error', message: 'processEvent exceeded the 100 ms time limit' });
    expect(await processOne(vm, event('ok'))).toMatchObject({ status: 'ok' });
  });

  it('contains a memory bomb and deep recursion, and recovers', async () => {
    const { vm } = await vmFor({
      'index.js': "export function processEvent(e) { if (e.event === 'oom') { const a = []; while (true) a.push({ n: a.length, s: [a.length] }) } if (e.event === 'deep') { const f = (n) => f(n + 1) + 1; f(0) } if (e.event === 'nested') { let o = {}; const root = o; for (let i = 0; i < 100000; i++) { o.a = {}; o = o.a } JSON.stringify(root) } return e }",
    }, { memoryBytes: 16 * 1024 * 1024, callTimeoutMs: 20_000 }); // memory, not time, must stop the bomb on a loaded machine
    expect(await processOne(vm, event('oom'))).toMatchObject({ status: 'error', error: expect.stringMatching(/memory limit/) });
    expect(await processOne(vm, event('fine'))).toMatchObject({ status: 'ok' });
    expect(await processOne(vm, event('deep'))).toMatchObject({ status: 'error', error: expect.stringMatching(/stack limit/) });
    expect(await processOne(vm, event('fine'))).toMatchObject({ status: 'ok' });
    expect(await processOne(vm, event('nested'))).toMatchObject({ status: 'error', error: expect.stringMatching(/stack limit/) });
    expect(await processOne(vm, event('fine'))).toMatchObject({ status: 'ok' });
  });

  it('survives many host-stack overflows in a row (each moves new VMs to a fresh wasm module)', async () => {
    const { vm } = await vmFor({
      'index.js': "export function processEvent(e) { if (e.event === 'nested') JSON.parse('['.repeat(200000)); return e }",
    });
    for (let i = 0; i < 60; i++) {
      expect(await processOne(vm, event('nested'))).toMatchObject({ status: 'error', error: expect.stringMatching(/limit/) });
    }
    expect(await processOne(vm, event('fine'))).toMatchObject({ status: 'ok' });
  });

  it('gives no way to the host: no process, no require of host modules, no timers', async () => {
    const { vm } = await vmFor({
      'index.js': `export function processEvent(e) {
        const escaped = this && this.constructor ? this.constructor.constructor('return typeof process')() : 'none';
        const viaFunction = Function('return typeof process + typeof require("fs")')
        let fsError = ''; const load = require; try { load('fs') } catch (error) { fsError = error.message }
        let timerError = ''; try { setTimeout(() => {}, 1) } catch (error) { timerError = error.message }
        e.properties = { escaped, fsError, timerError, hasProcess: typeof process, hasGlobalThisProcess: typeof globalThis.process };
        return e }`,
    });
    const outcome = await processOne(vm);
    expect(outcome).toMatchObject({
      status: 'ok',
      event: { properties: { escaped: 'undefined', fsError: 'module "fs" is not available in the sandbox', timerError: 'setTimeout is not available in apps: use jobs', hasProcess: 'undefined', hasGlobalThisProcess: 'undefined' } },
    });
  });

  it('keeps two instances apart: one app polluting prototypes does not reach the other', async () => {
    const polluter = await vmFor({ 'index.js': "export function processEvent(e) { Object.prototype.polluted = 'yes'; globalThis.shared = 1; return e }" });
    const victim = await vmFor({ 'index.js': 'export function processEvent(e) { e.properties.polluted = ({}).polluted || null; e.properties.shared = typeof shared; return e }' });
    await processOne(polluter.vm);
    expect(await processOne(victim.vm)).toMatchObject({ event: { properties: { polluted: null, shared: 'undefined' } } });
  });

  it('calls onEvent and reports its errors', async () => {
    const { vm, logs } = await vmFor({ 'index.js': "export function onEvent(e) { if (e.event === 'bad') throw new Error('nope'); console.log('got ' + e.event) }" });
    expect(await vm.onEvent(event('good'))).toEqual({ ok: true });
    expect(await vm.onEvent(event('bad'))).toEqual({ ok: false, error: 'nope', retry: false });
    expect(logs.map((l) => l.message)).toEqual(['got good', 'onEvent failed: nope']);
    const spinning = await vmFor({ 'index.js': 'export async function onEvent() { await null; while (true) {} }' }, { callTimeoutMs: 50 });
    expect(await spinning.vm.onEvent(event())).toEqual({ ok: false, error: 'onEvent exceeded the 50 ms time limit', retry: false });
  });

  describe('onEvents: a job\'s events in one crossing', () => {
    const of = (person: string, name: string) => ({ ...event(name), distinct_id: person });

    it('runs each person\'s events one after another in order, different persons meanwhile', async () => {
      const { vm, logs } = await vmFor({
        'index.js': 'export async function onEvent(e) { console.log("start " + e.event); for (let i = 0; i < 3; i++) await null; console.log("end " + e.event) }',
      });
      const outcomes = await vm.onEvents([of('a', 'a1'), of('b', 'b1'), of('a', 'a2'), of('b', 'b2'), of('a', 'a3')]);
      expect(outcomes).toEqual(Array(5).fill({ ok: true }));
      const lines = logs.map((line) => line.message);
      const own = (person: string) => lines.filter((line) => line.split(' ')[1]!.startsWith(person));
      expect(own('a')).toEqual(['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
      expect(own('b')).toEqual(['start b1', 'end b1', 'start b2', 'end b2']);
      // b1 started before a1 ended: persons do not wait for each other.
      expect(lines.indexOf('start b1')).toBeLessThan(lines.indexOf('end a1'));
    });

    it('with holdAfterRetry, leaves a person\'s events after a RetryError unrun; without it, runs them', async () => {
      const files = {
        'index.js': `import { RetryError } from '@posthog/plugin-scaffold'
          export function onEvent(e) { console.log('ran ' + e.event); if (e.event === 'a1') throw new RetryError('busy'); if (e.event === 'b2') throw new Error('bad') }`,
      };
      const events = [of('a', 'a1'), of('b', 'b1'), of('a', 'a2'), of('b', 'b2'), of('b', 'b3'), of('a', 'a3')];
      const holding = await vmFor(files);
      expect(await holding.vm.onEvents(events, true)).toEqual([
        { ok: false, error: 'RetryError: busy', retry: true }, { ok: true }, 'held', { ok: false, error: 'bad', retry: false }, { ok: true }, 'held',
      ]);
      expect(holding.logs.map((line) => line.message).filter((line) => line.startsWith('ran')).sort()).toEqual(['ran a1', 'ran b1', 'ran b2', 'ran b3']);
      expect(holding.logs.map((line) => line.message)).toContain('onEvent failed: RetryError: busy');
      const running = await vmFor(files);
      expect((await running.vm.onEvents(events)).map((outcome) => outcome !== 'held' && outcome.ok)).toEqual([false, true, true, false, true, true]);
    });

    it('after a limit hit in the crossing, runs the events one call each: only the culprit fails', async () => {
      const { vm } = await vmFor({ 'index.js': "export function onEvent(e) { if (e.event === 'spin') while (true) {} }" }, { callTimeoutMs: 50 });
      expect(await vm.onEvents([of('a', 'ok'), of('b', 'spin'), of('a', 'ok2')])).toEqual([
        { ok: true }, { ok: false, error: 'onEvent exceeded the 50 ms time limit', retry: false }, { ok: true },
      ]);
    });
  });

  it('tells RetryError from other errors in onEvent, exportEvents and jobs', async () => {
    const { vm } = await vmFor({
      'index.js': `import { RetryError } from '@posthog/plugin-scaffold'
        export async function onEvent(e) { if (e.event === 'later') throw new RetryError('busy') }
        export function exportEvents(events) { if (events.length > 1) throw new RetryError('too many'); if (events[0].event === 'bad') throw new Error('bad') }
        export const jobs = { again: () => { throw new RetryError('again') }, fine: (payload) => { if (payload.n !== 1) throw new Error('payload lost') } }`,
    });
    expect(await vm.onEvent(event('later'))).toEqual({ ok: false, error: 'RetryError: busy', retry: true });
    expect(await vm.onEvent(event('now'))).toEqual({ ok: true });
    expect(await vm.exportEvents([event('a'), event('b')])).toEqual({ ok: false, error: 'RetryError: too many', retry: true });
    expect(await vm.exportEvents([event('bad')])).toEqual({ ok: false, error: 'bad', retry: false });
    expect(await vm.runJob('again', {})).toEqual({ ok: false, error: 'RetryError: again', retry: true });
    expect(await vm.runJob('fine', { n: 1 })).toEqual({ ok: true });
    expect(await vm.runJob('nope', {})).toEqual({ ok: false, error: 'job "nope" is not defined: the app\'s jobs are again, fine', retry: false });
  });

  it('enqueues meta.jobs with runNow, runIn and runAt, and refuses bad units and payloads', async () => {
    const requests: Array<{ name: string; payload: unknown; runAt: number }> = [];
    const app = await compileApp({
      'plugin.json': JSON.stringify({ name: 'jobs' }),
      'index.js': `export async function processEvent(e, { jobs }) {
          if (e.event === 'now') await jobs.ping({ id: 1 }).runNow()
          if (e.event === 'in') await jobs.ping({ id: 2 }).runIn(2, 'hours')
          if (e.event === 'at') await jobs.ping({ id: 3 }).runAt(new Date(Date.UTC(2030, 0, 1)))
          if (e.event === 'unit') jobs.ping({}).runIn(1, 'fortnights')
          if (e.event === 'cycle') { const a = {}; a.a = a; jobs.ping(a).runNow() }
          return e
        }`,
    });
    const vm = await createAppVm({
      instanceId: 1, name: 'jobs', code: app.code, config: {}, onLog: () => {},
      enqueueJob: async (request) => {
        await new Promise((done) => setTimeout(done, 5)); // settles later, as Redis does
        requests.push(request);
      },
    });
    const before = Date.now();
    const outcomes = await vm.processEventBatch([event('now'), event('in'), event('at'), event('unit'), event('cycle')]);
    expect(outcomes.slice(0, 3).map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
    expect(outcomes[3]).toMatchObject({ status: 'error', error: expect.stringContaining('unknown unit "fortnights"') });
    expect(outcomes[4]).toMatchObject({ status: 'error', error: expect.stringMatching(/circular|cyclic/i) });
    expect(requests.map((r) => [r.name, r.payload])).toEqual([['ping', { id: 1 }], ['ping', { id: 2 }], ['ping', { id: 3 }]]);
    expect(requests[0]!.runAt).toBeGreaterThanOrEqual(before);
    expect(requests[1]!.runAt - before).toBeGreaterThanOrEqual(2 * 3600_000);
    expect(requests[2]!.runAt).toBe(Date.UTC(2030, 0, 1));
    vm.dispose();
  });

  it('fails meta.jobs clearly where no jobs queue exists, and frees pending host calls on dispose', async () => {
    const { vm } = await vmFor({ 'index.js': "export async function processEvent(e, { jobs }) { await jobs.ping({}).runNow(); return e }" });
    expect(await processOne(vm, event())).toMatchObject({ status: 'error', error: expect.stringContaining('meta.jobs is not available here') });
    const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'hang' }), 'index.js': "export function processEvent(e, { jobs }) { jobs.ping({}).runNow(); return e }" });
    const hanging = await createAppVm({ instanceId: 2, name: 'hang', code: app.code, config: {}, onLog: () => {}, enqueueJob: () => new Promise(() => {}) });
    expect(await processOne(hanging, event())).toMatchObject({ status: 'ok' });
    expect(() => hanging.dispose()).not.toThrow();
  });

  it('rejects setup when setupPlugin throws, and runs teardownPlugin then disposes cleanly', async () => {
    const failing = await vmFor({ 'index.js': "export function setupPlugin() { throw new Error('no key') }\nexport const processEvent = (e) => e" });
    await expect(failing.vm.setup()).rejects.toThrow('no key');
    const { vm, logs } = await vmFor({ 'index.js': "export function teardownPlugin() { console.log('bye') }\nexport const processEvent = (e) => e" });
    await processOne(vm);
    await vm.teardown();
    expect(logs.map((l) => l.message)).toEqual(['bye']);
  });
});
