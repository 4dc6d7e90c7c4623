import { describe, expect, it } from 'vitest';
import type { AppLogEntry, PluginEvent } from '@sluice/core';
import { AppSourceError, applyConfigDefaults, compileApp, createAppVm, type AppVm } from '../src';
import { abandonedRuntimes } from '../src/quickjs';
import { readSampleEvents } from '../../../test/fixtures/sample-events';


function event(name = '$pageview', properties: Record<string, unknown> = {}): PluginEvent {
  return {
    uuid: crypto.randomUUID(), event: name, distinct_id: 'u1', properties, timestamp: '2026-11-25T00:00:00.000Z',
    ip: null, site_url: '', team_id: 1, now: '2026-11-25T00:00:00.000Z', sent_at: null,
  };
}

async function load(files: Record<string, string>, config: Record<string, string> = {}): Promise<{ vm: AppVm; logs: AppLogEntry[] }> {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'shape' }), ...files });
  const logs: AppLogEntry[] = [];
  const vm = await createAppVm({ instanceId: 7, name: 'shape', code: app.code, config: applyConfigDefaults(app.pluginJson, config), onLog: (entry) => logs.push(entry) });
  return { vm, logs };
}

describe('hello-world', () => {
  it('greets with the plugin.json default when the instance gives no config', async () => {
    const { vm } = await load({
      'plugin.json': JSON.stringify({ name: 'Hello', config: [{ markdown: 'Greets.' }, { key: 'name', type: 'string', default: 'Sluice' }] }),
      'index.js': 'export function processEvent(event, meta) { event.properties.hello = `Hello ${meta.config.name || "world"}`; return event }',
    });
    const [outcome] = await vm.processEventBatch([event()]);
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { hello: 'Hello Sluice' } } });
    vm.dispose();
  });

  it('gives back the sample events exactly as Node would, non-ASCII text included', async () => {
    const { vm } = await load({ 'index.js': "export function processEvent(e) { e.properties.hello = 'Hello ☃ 𝄞 ü'; return e }" });
    const events = readSampleEvents().slice(0, 300) as PluginEvent[];
    events[0]!.properties.tricky = 'lone \ud800 surrogate, nul \u0000 and ' + '€'.repeat(500);
    const expected = events.map((e) => ({ status: 'ok', event: { ...e, properties: { ...e.properties, hello: 'Hello ☃ 𝄞 ü' } } }));
    expect(await vm.processEventBatch(events)).toEqual(expected);
    vm.dispose();
  });
});

describe('app shapes at run time', () => {
  const cases: Record<string, string> = {
    'CommonJS exports object': "module.exports = { processEvent(e) { e.properties.shape = 'cjs'; return e } }",
    'module.exports = plugin': "const plugin = { processEvent: (e) => { e.properties.shape = 'plugin'; return e } }\nmodule.exports = plugin",
    'export default object': "export default { processEvent(e) { e.properties.shape = 'default'; return e } }",
    'require of the scaffold': "const { RetryError } = require('@posthog/plugin-scaffold')\nexports.processEvent = (e) => { e.properties.shape = new RetryError('r').name; return e }",
  };
  for (const [name, code] of Object.entries(cases)) {
    it(`runs ${name}`, async () => {
      const { vm } = await load({ 'index.js': code });
      const [outcome] = await vm.processEventBatch([event()]);
      expect(outcome).toMatchObject({ status: 'ok', event: { properties: { shape: expect.any(String) } } });
      expect((outcome as { event: PluginEvent }).event.properties.shape).not.toBe('');
      vm.dispose();
    });
  }

  it('takes the top-level functions of a script with no exports, as PostHog\'s VM took them from its globals', async () => {
    const app = await compileApp({
      'plugin.json': JSON.stringify({ name: 'script' }),
      'index.js': `const crypto = require('crypto')
        async function setupPlugin({ global }) { global.salt = 'pepper' }
        function hashed(id, salt) { return crypto.createHash('sha256').update(salt + id).digest('hex').slice(0, 8) }
        async function processEvent(event, { global }) { event.properties.hashed = hashed(event.distinct_id, global.salt); return event }
        const jobs = { later: async () => {} }`,
    });
    expect(app.capabilities.sort()).toEqual(['jobs', 'processEvent', 'setupPlugin']);
    const vm = await createAppVm({ instanceId: 8, name: 'script', code: app.code, config: {}, onLog: () => {} });
    const [outcome] = await vm.processEventBatch([event()]);
    const expected = (await import('node:crypto')).createHash('sha256').update(`pepper${event().distinct_id}`).digest('hex').slice(0, 8);
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { hashed: expected } } });
    vm.dispose();
    // A script with none of the app functions is still refused, naming the file.
    await expect(compileApp({ 'plugin.json': JSON.stringify({ name: 'none' }), 'index.js': 'function helper() {}' })).rejects.toThrow('index.js: exports none of processEvent');
  });

  it('calls a deprecated processEventBatch once with the whole batch, in order', async () => {
    const { vm, logs } = await load({
      'index.js': "export function processEventBatch(events) { console.log('batch of ' + events.length); return events.map((e, i) => e.event === 'drop' ? null : { ...e, properties: { i } }) }",
    });
    const outcomes = await vm.processEventBatch([event('a'), event('drop'), event('c')]);
    expect(outcomes).toMatchObject([{ status: 'ok', event: { event: 'a', properties: { i: 0 } } }, { status: 'dropped' }, { status: 'ok', event: { event: 'c', properties: { i: 2 } } }]);
    expect(logs.map((l) => l.message)).toEqual(['batch of 3']);
    vm.dispose();
  });

  it('treats undefined as a drop and a non-object result as that event’s error', async () => {
    const { vm } = await load({ 'index.js': "export function processEvent(e) { if (e.event === 'u') return undefined; if (e.event === 's') return 'nope'; if (e.event === 'n') return 42; return e }" });
    const outcomes = await vm.processEventBatch([event('u'), event('s'), event('n'), event('ok')]);
    expect(outcomes.map((o) => o.status)).toEqual(['dropped', 'error', 'error', 'ok']);
    expect(outcomes[1]).toEqual({ status: 'error', error: expect.stringMatching(/returned string/) });
    vm.dispose();
  });

  it('answers an empty batch with no outcomes and without calling the app', async () => {
    const { vm, logs } = await load({ 'index.js': "export function processEvent(e) { console.log('called'); return e }" });
    expect(await vm.processEventBatch([])).toEqual([]);
    expect(logs).toEqual([]);
    vm.dispose();
  });
});

describe('console', () => {
  it('sends every level with an ISO timestamp, formatting values like Node', async () => {
    const { vm, logs } = await load({
      'index.js': "export function processEvent(e) { console.debug('d', 1, true, null); console.info('i', [1, 'x']); console.log(undefined); console.warn({ a: { b: 2 } }); console.error('e'); return e }",
    });
    await vm.processEventBatch([event()]);
    expect(logs.map(({ level, message }) => [level, message])).toEqual([
      ['debug', 'd 1 true null'], ['info', 'i [1,"x"]'], ['log', 'undefined'], ['warn', '{"a":{"b":2}}'], ['error', 'e'],
    ]);
    for (const { timestamp } of logs) expect(new Date(timestamp).toISOString()).toBe(timestamp);
    vm.dispose();
  });
});

describe('handles', () => {
  it('disposes cleanly after sync, async, failing and limit-hitting calls', async () => {
    const abandonedBefore = abandonedRuntimes();
    const app = await compileApp({
      'plugin.json': JSON.stringify({ name: 'leaks' }),
      'index.js': "export async function setupPlugin(meta) { await null; meta.global.ready = true }\nexport async function processEvent(e) { if (e.event === 'spin') while (true) {} if (e.event === 'throw') throw new Error('x'); await null; return e }\nexport function onEvent(e) { if (e.event === 'throw') throw new Error('y') }\nexport async function teardownPlugin() { await null }",
    });
    const vm = await createAppVm({ instanceId: 1, name: 'leaks', code: app.code, config: {}, limits: { callTimeoutMs: 50 }, onLog: () => {} });
    await vm.setup();
    expect((await vm.processEventBatch([event(), event('throw')])).map((o) => o.status)).toEqual(['ok', 'error']);
    expect((await vm.processEventBatch([event('spin')]))[0]).toMatchObject({ status: 'error', error: 'processEvent exceeded the 50 ms time limit' });
    expect(await vm.onEvent(event('throw'))).toEqual({ ok: false, error: 'y', retry: false });
    expect(await vm.onEvent(event())).toEqual({ ok: true });
    expect(() => vm.dispose()).not.toThrow();
    expect(() => vm.dispose()).not.toThrow(); // twice is harmless

    const other = await createAppVm({ instanceId: 2, name: 'leaks', code: app.code, config: {}, onLog: () => {} });
    await other.processEventBatch([event()]);
    await expect(other.teardown()).resolves.toBeUndefined();
    // Every runtime was freed for real (a leaked handle would have made QuickJS abort, and the
    // runtime would have been abandoned instead).
    expect(abandonedRuntimes()).toBe(abandonedBefore);
  });
});

describe('compileApp details', () => {
  it('hashes the files, not their order', async () => {
    const files = { 'plugin.json': JSON.stringify({ name: 'h' }), 'index.js': 'export const processEvent = (e) => e', 'lib.js': 'export const x = 1' };
    const reordered = { 'lib.js': files['lib.js'], 'index.js': files['index.js'], 'plugin.json': files['plugin.json'] };
    const [a, b, c] = await Promise.all([compileApp(files), compileApp(reordered), compileApp({ ...files, 'lib.js': 'export const x = 2' })]);
    expect(a.versionHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.versionHash).toBe(a.versionHash);
    expect(c.versionHash).not.toBe(a.versionHash);
  });

  it('prefers plugin.json main, then index.ts over index.js, and names a missing main', async () => {
    const pick = await compileApp({
      'plugin.json': JSON.stringify({ name: 'p' }),
      'index.ts': 'export const processEvent = (e: any) => e',
      'index.js': 'export const onEvent = () => {}',
    });
    expect(pick.capabilities).toEqual(['processEvent']);
    const error = await compileApp({ 'plugin.json': JSON.stringify({ name: 'p', main: 'dist/index.js' }), 'index.js': '' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppSourceError);
    expect(error).toMatchObject({ file: 'plugin.json', field: 'main', message: expect.stringContaining('dist/index.js') });
  });

  it('resolves folder imports, .json files and index files from memory only', async () => {
    const { vm } = await load({
      'plugin.json': JSON.stringify({ name: 'multi', main: 'src/main.ts' }),
      'src/main.ts': "import { tag } from './lib'\nimport data from '../data.json'\nexport function processEvent(e: any) { e.properties.tag = tag + data.n; return e }",
      'src/lib/index.ts': "export const tag: string = 'lib-'",
      'data.json': '{"n": 3}',
    });
    expect((await vm.processEventBatch([event()]))[0]).toMatchObject({ event: { properties: { tag: 'lib-3' } } });
    vm.dispose();
    await expect(compileApp({ 'plugin.json': JSON.stringify({ name: 'fs' }), 'index.js': "import x from '/etc/passwd'\nexport const processEvent = (e) => x" })).rejects.toThrow(AppSourceError);
  });

  it('names the key of a missing required config field, and the field of a bad config entry', async () => {
    const pluginJson = { name: 'x', config: [{ key: 'apiKey', type: 'string' as const, required: true }] };
    const missing = (() => { try { applyConfigDefaults(pluginJson, {}) } catch (error) { return error } })();
    expect(missing).toBeInstanceOf(AppSourceError);
    expect(missing).toMatchObject({ file: 'plugin.json', field: 'apiKey', message: expect.stringContaining('"apiKey"') });
    await expect(compileApp({ 'plugin.json': JSON.stringify({ name: 'x', config: [{ type: 'string' }] }), 'index.js': '' })).rejects.toMatchObject({ file: 'plugin.json', field: 'config[0].key' });
    await expect(compileApp({ 'plugin.json': '{"name": "x",', 'index.js': '' })).rejects.toThrow(/^plugin\.json: not valid JSON/);
    await expect(compileApp({ 'plugin.json': JSON.stringify({ name: 'x', config: {} }), 'index.js': '' })).rejects.toMatchObject({ field: 'config' });
  });
});
