import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppLogEntry, PluginEvent } from '@sluice/core';
import { GuardedFetch, MemoryAppCache, compileApp, createAppVm, type AppVm, type EventOutcome, type HostServices, type SandboxLimits } from '../src';

/**
 * Hostile apps (issue 6, "Limits and containment"): each case must be contained — an error for
 * that call or event, nothing reaching or changing the host — and the same AppVm must process a
 * normal event correctly right after (the instance recreated where a limit was hit).
 * sandbox.test.ts and isolation.test.ts already cover the plain cases (a sync/async endless loop
 * in processEvent, an array memory bomb, plain deep recursion, process/require('fs')/setTimeout,
 * Object.prototype pollution between two VMs); this file goes after the variations.
 */

// The host's own builtins, taken before any app runs: nothing below may change them.
const HOST = {
  push: Array.prototype.push,
  map: Array.prototype.map,
  parse: JSON.parse,
  stringify: JSON.stringify,
  toUpperCase: String.prototype.toUpperCase,
  then: Promise.prototype.then,
  call: Function.prototype.call,
  objectKeys: Object.getOwnPropertyNames(Object.prototype).sort(),
};

function event(name: string, properties: Record<string, unknown> = {}): PluginEvent {
  return {
    uuid: crypto.randomUUID(), event: name, distinct_id: 'u1', properties, timestamp: '2026-11-25T00:00:00.000Z',
    ip: null, site_url: '', team_id: 1, now: '2026-11-25T00:00:00.000Z', sent_at: null,
  };
}

/** Every app below answers this event normally: the proof that its VM is still (or again) sound. */
const FINE = "if (e.event === 'fine') { e.properties.fine = true; e.properties.setups = globalThis.__setups || 0; return e }";
const SETUP = 'export function setupPlugin() { globalThis.__setups = (globalThis.__setups || 0) + 1 }';

interface Hostile {
  vm: AppVm;
  logs: AppLogEntry[];
}

async function hostile(code: string, limits: Partial<SandboxLimits> = {}, services: HostServices = {}): Promise<Hostile> {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'hostile' }), 'index.js': code });
  const logs: AppLogEntry[] = [];
  const vm = await createAppVm({ instanceId: 1, name: 'hostile', code: app.code, config: {}, limits: { callTimeoutMs: 300, ...limits }, onLog: (entry) => logs.push(entry), services });
  return { vm, logs };
}

async function one(vm: AppVm, name: string, properties: Record<string, unknown> = {}): Promise<EventOutcome> {
  const [outcome] = await vm.processEventBatch([event(name, properties)]);
  return outcome!;
}

/** The same AppVm answers a normal event correctly; `setups` = how many times setupPlugin ran in its current VM. */
async function expectFine(vm: AppVm, setups?: number): Promise<void> {
  const outcome = await one(vm, 'fine', { kept: 'yes' });
  expect(outcome).toMatchObject({ status: 'ok', event: { event: 'fine', properties: { kept: 'yes', fine: true } } });
  if (setups !== undefined) expect(outcome.status === 'ok' && outcome.event.properties.setups).toBe(setups);
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const result = await work();
  return [result, Date.now() - started];
}

afterAll(() => {
  // Whatever the apps did, the host's builtins are its own.
  expect(Array.prototype.push).toBe(HOST.push);
  expect(Array.prototype.map).toBe(HOST.map);
  expect(JSON.parse).toBe(HOST.parse);
  expect(JSON.stringify).toBe(HOST.stringify);
  expect(String.prototype.toUpperCase).toBe(HOST.toUpperCase);
  expect(Promise.prototype.then).toBe(HOST.then);
  expect(Function.prototype.call).toBe(HOST.call);
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(HOST.objectKeys);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('CPU: endless code stops at the time limit', () => {
  it('refuses at install an app whose module body never ends', async () => {
    const [attempt, ms] = await timed(() => compileApp({ 'plugin.json': '{"name":"x"}', 'index.js': 'while (true) {}\nexport const processEvent = (e) => e' }).then(() => 'installed', (error: Error) => error.message));
    expect(attempt).toMatch(/loading the app exceeded the \d+ ms time limit/);
    expect(ms).toBeLessThan(5000);
  });

  it('an interrupt cannot be caught: try/catch around while(true) in a loop still ends the call', async () => {
    const { vm, logs } = await hostile(`${SETUP}\nexport function processEvent(e) { ${FINE} let caught = 0; for (;;) { try { while (true) {} } catch (x) { caught++ } finally { while (true) {} } } }`);
    const [outcomes, ms] = await timed(() => vm.processEventBatch([event('spin'), event('fine')]));
    expect(outcomes[0]).toEqual({ status: 'error', error: 'processEvent exceeded the 300 ms time limit' });
    // Bisected: the neighbour of the endless event is still processed.
    expect(outcomes[1]).toMatchObject({ status: 'ok', event: { properties: { fine: true } } });
    expect(ms).toBeLessThan(3000);
    expect(logs.filter((l) => l.level === 'error').map((l) => l.message)).toContain('processEvent exceeded the 300 ms time limit');
    await expectFine(vm, 1);
  });

  it('stops loops the host itself triggers: a getter serialised with the result, and catastrophic regex backtracking', async () => {
    const { vm } = await hostile(`${SETUP}\nexport function processEvent(e) { ${FINE}
      if (e.event === 'getter') { Object.defineProperty(e.properties, 'x', { enumerable: true, get() { while (true) {} } }); return e }
      if (e.event === 'toJSON') { e.properties.x = { toJSON() { for (;;) {} } }; return e }
      e.properties.matched = /(a+)+$/.test('a'.repeat(40) + 'b'); return e }`);
    for (const name of ['getter', 'toJSON', 'regex']) {
      const [outcome, ms] = await timed(() => one(vm, name));
      expect(outcome, name).toEqual({ status: 'error', error: 'processEvent exceeded the 300 ms time limit' });
      expect(ms, name).toBeLessThan(3000);
      await expectFine(vm, 1);
    }
  });

  it('a promise job left running after a synchronous processEvent returns neither hangs the host nor breaks later calls', async () => {
    const { vm } = await hostile(`export function processEvent(e) { ${FINE} if (e.event === 'async') return Promise.resolve().then(() => { e.properties.async = true; return e })
      Promise.resolve().then(() => { while (true) {} }); return e }
      export async function onEvent() {}`);
    const [outcome, ms] = await timed(() => one(vm, 'leave-a-job'));
    expect(outcome.status).not.toBe('dropped');
    expect(ms).toBeLessThan(3000);
    // Whenever the VM pumps its jobs again, the loop meets the limit of that call and the VM is rebuilt.
    await timed(() => one(vm, 'async'));
    await vm.onEvent(event('x'));
    await expectFine(vm);
    expect(await one(vm, 'async')).toMatchObject({ status: 'ok', event: { properties: { async: true } } });
  });

  it("counts the app's own running time, not its waits on the host: a slow host call within hostWaitTimeoutMs passes, a longer one fails", async () => {
    // A host whose answers take 700 ms: longer than the 300 ms the app may run, far below its wait limit.
    const slow = createServer((_, response) => setTimeout(() => response.end('slow'), 700).unref());
    await new Promise<void>((done) => slow.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`;
    const services = { fetch: new GuardedFetch({ allowPrivate: ['127.0.0.1'], timeoutMs: 10_000, maxResponseBytes: 1000, maxRedirects: 0 }) };
    try {
      const { vm } = await hostile(`export async function processEvent(e) { ${FINE}
        const text = await (await fetch(e.properties.url)).text()
        if (e.properties.spin) { const end = Date.now() + 1000; while (Date.now() < end) {} }
        e.properties.text = text; return e }`, { callTimeoutMs: 300, hostWaitTimeoutMs: 2000 }, services);
      expect(await one(vm, 'waits', { url })).toMatchObject({ status: 'ok', event: { properties: { text: 'slow' } } });
      // Its own code is still held to 300 ms after the wait.
      expect(await one(vm, 'spins', { url, spin: true })).toEqual({ status: 'error', error: 'processEvent exceeded the 300 ms time limit' });
      const { vm: impatient } = await hostile(`export async function processEvent(e) { ${FINE} await fetch(e.properties.url); return e }`, { callTimeoutMs: 300, hostWaitTimeoutMs: 400 }, services);
      const [outcome, ms] = await timed(() => one(impatient, 'waits too long', { url }));
      expect(outcome).toEqual({ status: 'error', error: 'processEvent exceeded the 400 ms time limit' });
      expect(ms).toBeLessThan(650);
      await expectFine(vm);
    } finally {
      await new Promise((done) => slow.close(done));
    }
  });

  it('a promise that never settles is a time-limit error, not a hang', async () => {
    const { vm } = await hostile(`${SETUP}\nexport async function processEvent(e) { ${FINE} await new Promise(() => {}); return e }`);
    const [outcomes, ms] = await timed(() => vm.processEventBatch([event('wait-forever'), event('fine')]));
    expect(outcomes[0]).toEqual({ status: 'error', error: 'processEvent exceeded the 300 ms time limit' });
    expect(outcomes[1]).toMatchObject({ status: 'ok' });
    expect(ms).toBeLessThan(3000);
    await expectFine(vm, 1);
  });

  // KNOWN BUG (see the report): code that catches the stack overflow and recurses again runs far past
  // the time limit — QuickJS polls its interrupt handler rarely while building stack-overflow errors
  // (a backtrace per throw). At the default 256 KiB stack a 100 ms limit took ~8.5 s (1000 ms: ~10 s);
  // the overshoot grows with stackBytes (64 KiB: ~2 s). Run here on a 32 KiB stack to keep it cheaper.
  // How far past the limit it runs is a timing, which varies with the machine (it has measured
  // 0.4 to 0.9 s here), so the test holds only what does not: the call ends, as a limit error (the
  // suspension after an overrun is the next test's). The overshoot is the known bug, not asserted.
  it('catch-and-recurse at the stack limit still ends, as a limit error', async () => {
    const { vm } = await hostile(`export function processEvent(e) { ${FINE} function f() { try { f() } catch (x) { f() } } f() }`, { callTimeoutMs: 100, stackBytes: 32 * 1024 });
    expect(await one(vm, 'recurse')).toMatchObject({ status: 'error', error: expect.stringMatching(/limit/) });
  });

  it('does not search a batch for the culprit after a call overran its time limit by far: one overrun, not one per slice', async () => {
    const { vm, logs } = await hostile(`export function processEvent(e) { ${FINE} if (e.event === 'recurse') { function f() { try { f() } catch (x) { f() } } f() } return e }\nexport function onEvent() {}`, { callTimeoutMs: 100, stackBytes: 32 * 1024, overrunSuspendMs: 1500 });
    const outcomes = await vm.processEventBatch([event('a'), event('recurse'), event('b'), event('c')]);
    expect(outcomes.every((outcome) => outcome.status === 'error' && outcome.error.includes('100 ms time limit'))).toBe(true);
    expect(logs.filter((line) => line.message.includes('exceeded the 100 ms time limit'))).toHaveLength(1);
    // …and the instance is suspended: its calls fail at once (no second overrun), then it comes back.
    expect(logs.some((line) => /is suspended until .*: a call took \d+ ms against its 100 ms time limit/.test(line.message))).toBe(true);
    const [suspended, ms] = await timed(() => one(vm, 'recurse'));
    expect(suspended).toMatchObject({ status: 'error', error: expect.stringContaining('is suspended until') });
    expect(ms).toBeLessThan(100);
    expect(await vm.onEvent(event('a'))).toMatchObject({ ok: false, retry: true });
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await expectFine(vm);
  });
});

describe('memory and stack', () => {
  it('contains allocation variants: string doubling, a huge ArrayBuffer, and an app that swallows out-of-memory and keeps allocating', async () => {
    const { vm, logs } = await hostile(`${SETUP}\nexport function processEvent(e) { ${FINE}
      if (e.event === 'double') { let s = 'xy'; for (;;) s += s }
      if (e.event === 'buffer') { e.properties.size = new ArrayBuffer(2 ** 31).byteLength; return e }
      if (e.event === 'swallow') for (;;) { try { const a = []; for (;;) a.push(new Array(1000).fill(a.length)) } catch (x) {} }
      return e }`, { memoryBytes: 16 * 1024 * 1024, callTimeoutMs: 800 });
    expect(await one(vm, 'double')).toMatchObject({ status: 'error', error: expect.stringMatching(/string too long|memory limit/) });
    await expectFine(vm);
    expect(await one(vm, 'buffer')).toMatchObject({ status: 'error', error: expect.stringMatching(/RangeError|memory limit/) });
    await expectFine(vm);
    const [swallowed, ms] = await timed(() => one(vm, 'swallow'));
    // Caught out-of-memory errors do not let it run on: the memory limit or, at the latest, the time limit ends it.
    expect(swallowed).toMatchObject({ status: 'error', error: expect.stringMatching(/exceeded the (16 MiB memory|800 ms time) limit/) });
    expect(ms).toBeLessThan(6000);
    expect(logs.some((l) => l.level === 'error' && /exceeded the/.test(l.message))).toBe(true);
    // The limit rebuilt the VM: setupPlugin ran again in the new one (its own count starts at 1).
    await expectFine(vm, 1);
  });

  it('contains recursion that does not look like recursion: a Proxy get trap, toString, an async chain', async () => {
    const { vm } = await hostile(`${SETUP}\nexport async function processEvent(e) { ${FINE}
      if (e.event === 'proxy') { const p = new Proxy({}, { get: (t, k) => p[k] }); e.properties.x = p.x }
      if (e.event === 'toString') { const o = { toString() { return 'x' + o } }; e.properties.x = String(o) }
      if (e.event === 'async') { const f = async (n) => { await null; return f(n + 1) }; await f(0) }
      return e }`);
    expect(await one(vm, 'proxy')).toEqual({ status: 'error', error: 'processEvent exceeded the 256 KiB stack limit' });
    await expectFine(vm, 1);
    expect(await one(vm, 'toString')).toEqual({ status: 'error', error: 'processEvent exceeded the 256 KiB stack limit' });
    await expectFine(vm, 1);
    const [outcome, ms] = await timed(() => one(vm, 'async'));
    expect(outcome).toMatchObject({ status: 'error', error: expect.stringMatching(/exceeded the .* limit/) });
    expect(ms).toBeLessThan(3000);
    await expectFine(vm, 1);
  });
});

describe('escape attempts: nothing of the host is reachable', () => {
  it('every road to a global object leads to the VM\'s own, which has no process, require of host modules, std/os or wasm', async () => {
    const { vm } = await hostile(`export function processEvent(e) { ${FINE}
      const roads = {
        constructorConstructor: this && this.constructor ? this.constructor.constructor('return globalThis')() : globalThis,
        Function: Function('return globalThis')(),
        protoConstructor: ({}).__proto__.constructor.constructor('return this')(),
        indirectEval: (0, eval)('this'),
        arrowBind: (() => this).constructor('return this')(),
      };
      const report = {};
      for (const [road, g] of Object.entries(roads)) report[road] = g === globalThis;
      let asyncCtor = '';
      try { (async () => {}).constructor('return process.mainModule')().then(() => { asyncCtor = 'resolved' }, (x) => { asyncCtor = x.name }) } catch (x) { asyncCtor = 'threw ' + x.name }
      const modules = {};
      for (const name of ['fs', 'node:fs', 'fs/promises', 'child_process', 'node:child_process', 'module', 'vm', 'worker_threads', 'os', 'std', 'net', 'http', 'process', 'v8', 'inspector', '/etc/passwd', '../../../../etc/passwd', './app.js']) {
        try { const m = require(name); modules[name] = 'LOADED ' + Object.keys(m || {}).slice(0, 5) } catch (x) { modules[name] = x.message }
      }
      const globals = ['process', 'global', 'Buffer', 'WebAssembly', 'std', 'os', 'scriptArgs', 'print', '__filename', '__dirname', 'Deno', 'Bun', 'importScripts', 'module', 'exports'].map((n) => n + ':' + typeof globalThis[n]);
      let caller = 'none'; try { caller = typeof processEvent.caller } catch (x) { caller = 'throws' }
      e.properties = { report, modules, globals, caller, protoChain: Object.getPrototypeOf(Object.getPrototypeOf({})) === null, asyncCtor: () => asyncCtor };
      return Promise.resolve().then(() => { e.properties.asyncCtor = asyncCtor; return e });
    }`);
    const outcome = await one(vm, 'escape');
    expect(outcome.status).toBe('ok');
    const p = outcome.status === 'ok' ? (outcome.event.properties as Record<string, any>) : {};
    expect(p.report).toEqual({ constructorConstructor: true, Function: true, protoConstructor: true, indirectEval: true, arrowBind: true });
    expect(p.asyncCtor).toBe('ReferenceError'); // no `process` in there either
    for (const [name, result] of Object.entries(p.modules as Record<string, string>)) {
      expect(result, name).toBe(`module "${name}" is not available in the sandbox`);
    }
    // Buffer is the VM's own (a Uint8Array with Node's API, vm/buffer.js), as in Node; nothing else of Node's shows.
    expect(p.globals).toEqual(['process', 'global', 'Buffer', 'WebAssembly', 'std', 'os', 'scriptArgs', 'print', '__filename', '__dirname', 'Deno', 'Bun', 'importScripts', 'module', 'exports'].map((n) => `${n}:${n === 'Buffer' ? 'function' : 'undefined'}`));
    expect(p.caller).not.toBe('function');
    expect(p.protoChain).toBe(true);
    await expectFine(vm);
  });

  it('dynamic import() loads nothing, not even QuickJS\'s own std/os modules', async () => {
    const { vm } = await hostile(`export async function processEvent(e) { ${FINE}
      const results = {};
      for (const name of ['fs', 'std', 'os', 'node:child_process', 'data:text/javascript,export default 1']) {
        try { const m = await import([name][0]); results[name] = 'LOADED ' + Object.keys(m) } catch (x) { results[name] = 'refused' }
      }
      e.properties.results = results; return e }`);
    expect(await one(vm, 'import')).toMatchObject({
      status: 'ok', event: { properties: { results: { fs: 'refused', std: 'refused', os: 'refused', 'node:child_process': 'refused', 'data:text/javascript,export default 1': 'refused' } } },
    });
    await expectFine(vm);
  });

  it('a static import of a host module fails the install, naming it', async () => {
    for (const name of ['child_process', 'fs', 'node:os']) {
      await expect(compileApp({ 'plugin.json': '{"name":"x"}', 'index.js': `import * as m from '${name}'\nexport function processEvent(e) { e.properties.m = Object.keys(m); return e }` }))
        .rejects.toThrow(`import of "${name}" is not available in the sandbox`);
    }
  });
});

describe('prototype pollution stays in its own VM', () => {
  it('one app rewriting every shared builtin changes nothing for another app, nor for the host', async () => {
    const polluter = await hostile(`
      Object.prototype.polluted = 'yes';
      Object.defineProperty(Object.prototype, 'status', { get() { return 'hacked' }, configurable: true });
      Array.prototype.push = function () { return -1 };
      Array.prototype.map = function () { return ['hacked'] };
      String.prototype.toUpperCase = function () { return 'PWNED' };
      Function.prototype.call = function () { return 'hacked' };
      Promise.prototype.then = function () { return this };
      JSON.parse = () => ({ hacked: true });
      JSON.stringify = () => '"hacked"';
      globalThis.secretOfPolluter = 's3cret';
      Symbol.for('sluice.shared').description;
      export function processEvent(e) { ${FINE} e.properties.inside = ({}).polluted; return e }`);
    // Its own events still come back whole (the prelude took JSON and friends before the app ran).
    expect(await one(polluter.vm, 'x')).toMatchObject({ status: 'ok', event: { event: 'x', properties: { inside: 'yes' } } });

    const victim = await hostile(`export function processEvent(e) { ${FINE}
      const a = []; const pushed = a.push(1);
      e.properties.seen = {
        polluted: ({}).polluted === undefined, status: ({}).status === undefined, pushed, mapped: [1, 2].map((n) => n * 2),
        upper: 'ok'.toUpperCase(), call: Math.max.call(null, 1, 2), parsed: JSON.parse('{"a":1}').a, stringified: JSON.stringify({ a: 1 }),
        secret: typeof secretOfPolluter, then: typeof Promise.resolve(1).then(() => 1).then,
      };
      return e }`);
    expect(await one(victim.vm, 'look')).toMatchObject({
      status: 'ok',
      event: { properties: { seen: { polluted: true, status: true, pushed: 1, mapped: [2, 4], upper: 'OK', call: 2, parsed: 1, stringified: '{"a":1}', secret: 'undefined', then: 'function' } } },
    });
    await expectFine(polluter.vm);
    await expectFine(victim.vm);
    // The host: see afterAll, and here at once.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect([3].map((n) => n + 1)).toEqual([4]);
  });

  it('__proto__ and constructor.prototype keys in a returned event stay plain keys on the host', async () => {
    const { vm } = await hostile(`export function processEvent(e) { ${FINE}
      if (e.event === 'whole') return JSON.parse('{"event":"whole","distinct_id":"u1","properties":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}}');
      Object.defineProperty(e.properties, '__proto__', { value: { polluted: 'yes' }, enumerable: true, writable: true, configurable: true });
      Object.defineProperty(e, '__proto__', { value: { polluted: 'yes' }, enumerable: true, writable: true, configurable: true });
      e.properties.constructor = { prototype: { polluted: 'yes' } };
      return e }`);
    for (const name of ['whole', 'patched']) {
      const outcome = await one(vm, name);
      expect(outcome.status, name).toBe('ok');
      const returned = outcome.status === 'ok' ? outcome.event : ({} as PluginEvent);
      expect(Object.getPrototypeOf(returned.properties), name).toBe(Object.prototype);
      expect(Object.getPrototypeOf(returned), name).toBe(Object.prototype);
      expect(Object.prototype.hasOwnProperty.call(returned.properties, '__proto__'), name).toBe(true);
      expect((returned.properties as Record<string, any>).polluted, name).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted, name).toBeUndefined();
    }
    await expectFine(vm);
  });
});

describe('fetch to private addresses', () => {
  let listener: Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    listener = createServer((_, response) => {
      hits++;
      response.writeHead(200).end('host secret');
    });
    await new Promise<void>((done) => listener.listen(0, '0.0.0.0', done));
    port = (listener.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((done) => listener.close(done)));

  it('refuses loopback (in every spelling), link-local metadata and private ranges with a clear error; no request reaches a local listener', async () => {
    const { vm } = await hostile(`export async function processEvent(e) { ${FINE}
      const results = {};
      for (const url of e.properties.urls) {
        try { const r = await fetch(url); results[url] = 'REACHED ' + r.status + ' ' + (await r.text()) } catch (x) { results[url] = x.message }
      }
      e.properties = { results }; return e }`, { callTimeoutMs: 5000 });
    const urls = [
      `http://127.0.0.1:${port}/`, `http://localhost:${port}/`, `http://127.1:${port}/`, `http://2130706433:${port}/`, `http://0x7f.0.0.1:${port}/`,
      `http://0.0.0.0:${port}/`, `http://[::1]:${port}/`, `http://[::ffff:127.0.0.1]:${port}/`, `http://[::]:${port}/`,
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/', 'http://[fd00:ec2::254]/latest/meta-data/',
      'http://10.0.0.1/', 'http://10.255.255.254:8080/', 'http://172.16.0.1/', 'http://192.168.1.1/', 'http://100.64.0.1/', 'http://[fd12:3456::1]/',
    ];
    const [outcome, ms] = await timed(() => one(vm, 'ssrf', { urls }));
    expect(outcome.status).toBe('ok');
    const results = outcome.status === 'ok' ? (outcome.event.properties.results as Record<string, string>) : {};
    for (const url of urls) expect(results[url], url).toMatch(/^fetch to \S+( \(\S+\))? is blocked: \w+ addresses are not reachable from apps/);
    expect(hits).toBe(0);
    expect(ms).toBeLessThan(3000); // refused before connecting, not timed out
    const [files] = await timed(() => one(vm, 'file', { urls: ['file:///etc/passwd', 'ftp://127.0.0.1/'] }));
    expect(files).toMatchObject({ status: 'ok', event: { properties: { results: { 'file:///etc/passwd': expect.stringMatching(/only http and https/), 'ftp://127.0.0.1/': expect.stringMatching(/only http and https/) } } } });
    expect(hits).toBe(0);
    await expectFine(vm);
  });
});

describe('huge values, timers, host-call floods', () => {
  it('an event grown past the heap is the memory limit, not a host crash', async () => {
    const { vm } = await hostile(`${SETUP}\nexport function processEvent(e) { ${FINE} e.properties.big = 'x'.repeat(80 * 1024 * 1024); return e }`, { callTimeoutMs: 5000 });
    const [outcomes, ms] = await timed(() => vm.processEventBatch([event('huge'), event('fine')]));
    expect(outcomes[0]).toMatchObject({ status: 'error', error: expect.stringMatching(/memory limit|string too long/) });
    expect(outcomes[1]).toMatchObject({ status: 'ok', event: { properties: { fine: true } } });
    expect(ms).toBeLessThan(10_000);
    await expectFine(vm);
  });

  // KNOWN GAP (see the report): nothing caps the size of what processEvent returns below the heap
  // limit — a 50 MB property under the default 64 MiB heap comes back as an ordinary event (~3 s of
  // work on the host) and would flow on to the queues and the store.
  it('a 50 MB property in a returned event is refused with a clear limit error', async () => {
    const { vm } = await hostile(`export function processEvent(e) { ${FINE} e.properties.big = 'x'.repeat(50 * 1000 * 1000); return e }`, { callTimeoutMs: 10_000 });
    const outcome = await one(vm, 'huge');
    expect(outcome).toMatchObject({ status: 'error', error: expect.stringMatching(/limit|too large/) });
  });

  it('setTimeout, setInterval and setImmediate are clear errors, even awaited, not hangs', async () => {
    const { vm } = await hostile(`export async function processEvent(e) { ${FINE}
      const timer = globalThis[e.event];
      await new Promise((resolve) => timer(resolve, 10));
      return e }`);
    for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
      const [outcome, ms] = await timed(() => one(vm, name));
      expect(outcome).toEqual({ status: 'error', error: `${name} is not available in apps: use jobs` });
      expect(ms).toBeLessThan(250);
    }
    await expectFine(vm);
  });

  it('100k host calls in one event (awaited one by one, or all at once) are bounded by the time limit', async () => {
    const cache = new MemoryAppCache();
    let gets = 0;
    const counting = Object.assign(Object.create(cache) as MemoryAppCache, { get: (key: string) => (gets++, cache.get(key)) });
    const { vm } = await hostile(`${SETUP}\nexport async function processEvent(e, { cache }) { ${FINE}
      if (e.event === 'serial') for (let i = 0; i < 100000; i++) await cache.get('k');
      if (e.event === 'parallel') await Promise.all(Array.from({ length: 100000 }, () => cache.get('k')));
      e.properties.done = true; return e }`, { callTimeoutMs: 250 }, { cache: counting });
    for (const name of ['serial', 'parallel']) {
      gets = 0;
      const [outcome, ms] = await timed(() => one(vm, name));
      // Awaited one by one they run into the time limit. All at once, into the cap on waiting host
      // calls, then (the other 90k calls are still made and refused) mostly the time limit; where
      // the interrupt lands inside QuickJS's promise machinery it can also surface as a TypeError
      // of that event: contained either way, as the next event shows.
      if (name === 'serial') expect(outcome).toEqual({ status: 'error', error: 'processEvent exceeded the 250 ms time limit' });
      else expect(outcome).toMatchObject({ status: 'error' });
      expect(ms, name).toBeLessThan(3000);
      if (name === 'serial') expect(gets).toBeLessThan(100_000);
      await expectFine(vm, 1);
    }
  });
});

describe('throwing values that are not Errors', () => {
  const THROWN: Array<[string, string, RegExp]> = [
    ['undefined', 'undefined', /^undefined$/],
    ['a number', '42', /^42$/],
    ['a symbol', 'Symbol("s")', /^Symbol\(s\)$/],
    ['a frozen plain object', "Object.freeze({ message: 'frozen' })", /^frozen$/],
    ['an object whose message getter loops forever', '({ get message() { while (true) {} } })', /time limit/],
    // QuickJS cannot tell it from its own out-of-memory null (documented): taken for the memory limit.
    ['null', 'null', /memory limit/],
  ];

  for (const [what, thrown, error] of THROWN) {
    it(`${what}: an error for that event, its neighbour processed, the VM fine after (sync and async)`, async () => {
      const { vm } = await hostile(`export async function processEvent(e) { ${FINE} if (e.event === 'async') await null; throw ${thrown} }`);
      for (const name of ['sync', 'async']) {
        const outcomes = await vm.processEventBatch([event(name), event('fine')]);
        expect(outcomes[0], name).toMatchObject({ status: 'error', error: expect.stringMatching(error) });
        expect(outcomes[1], name).toMatchObject({ status: 'ok', event: { properties: { fine: true } } });
        await expectFine(vm);
      }
    });
  }

  const UNDESCRIBABLE: Array<[string, string]> = [
    ['an object whose message getter throws', "({ get message() { throw new Error('gotcha') } })"],
    ['an object whose name getter throws', "({ message: 'm', get name() { throw new Error('gotcha') } })"],
    ['a Proxy whose every trap throws', "new Proxy({}, new Proxy({}, { get() { return () => { throw new Error('trap') } } }))"],
    ['a revoked Proxy', '(() => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy })()'],
    ['an object whose toString throws', "({ toString() { throw new Error('no string') } })"],
  ];

  for (const [what, thrown] of UNDESCRIBABLE) {
    it(`${what}: contained, and the same VM processes normal events after`, async () => {
      const { vm } = await hostile(`export async function processEvent(e) { ${FINE} if (e.event === 'async') await null; throw ${thrown} }`);
      for (const name of ['sync', 'async']) {
        const [outcome] = await vm.processEventBatch([event(name)]);
        expect(outcome, name).toMatchObject({ status: 'error', error: expect.any(String) });
        await expectFine(vm);
      }
    });

    // KNOWN BUG (see the report): the prelude describes a thrown value inside its catch handler
    // (sluice.describe / rethrowLimit); when that throws, the whole batch fails with it.
    it(`${what}: the neighbouring event of the same batch is unaffected`, async () => {
      const { vm } = await hostile(`export function processEvent(e) { ${FINE} throw ${thrown} }`);
      const outcomes = await vm.processEventBatch([event('throw'), event('fine')]);
      expect(outcomes[1]).toMatchObject({ status: 'ok', event: { properties: { fine: true } } });
    });
  }

  // KNOWN BUG (see the report): the prelude stringifies all outcomes at once, so one event returning
  // a value JSON cannot carry fails every event of its batch with that TypeError.
  it('an event returning a cyclic or BigInt value fails alone, not its whole batch', async () => {
    const { vm } = await hostile(`export function processEvent(e) { ${FINE} if (e.event === 'cyclic') { const o = {}; o.o = o; e.properties.o = o } else e.properties.n = 10n; return e }`);
    for (const name of ['cyclic', 'bigint']) {
      const outcomes = await vm.processEventBatch([event(name), event('fine')]);
      expect(outcomes[0]).toMatchObject({ status: 'error' });
      expect(outcomes[1]).toMatchObject({ status: 'ok', event: { properties: { fine: true } } });
    }
  });

  it('an event returning a cyclic or BigInt value is an error, and the VM goes on', async () => {
    const { vm } = await hostile(`export function processEvent(e) { ${FINE} if (e.event === 'cyclic') { const o = {}; o.o = o; e.properties.o = o } else e.properties.n = 10n; return e }`);
    expect(await one(vm, 'cyclic')).toMatchObject({ status: 'error', error: expect.stringMatching(/circular/) });
    expect(await one(vm, 'bigint')).toMatchObject({ status: 'error', error: expect.stringMatching(/BigInt/) });
    await expectFine(vm);
  });

  it('onEvent throwing undescribable values: a failed CallResult, never a host exception', async () => {
    const { vm } = await hostile(`export function processEvent(e) { ${FINE} return e }
      export async function onEvent(e) { await null; const kind = e.properties.kind;
        if (kind === 'proxy') throw new Proxy({}, { get() { throw new Error('trap') }, getPrototypeOf() { throw new Error('trap') }, ownKeys() { throw new Error('trap') } });
        if (kind === 'getter') throw { get message() { throw new Error('gotcha') }, get name() { throw new Error('gotcha') } };
        if (kind === 'undefined') throw undefined;
      }`);
    for (const kind of ['proxy', 'getter', 'undefined']) {
      const result = await vm.onEvent(event('x', { kind }));
      expect(result, kind).toMatchObject({ ok: false, retry: false, error: expect.any(String) });
    }
    expect(await vm.onEvent(event('x', { kind: 'fine' }))).toEqual({ ok: true });
    await expectFine(vm);
  });
});
