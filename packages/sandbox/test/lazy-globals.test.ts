import { describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { compileApp, createAppVm, instanceMemoryBytes } from '../src';

/** The globals of the lazy groups (meta/lazy.ts), by group. */
const GROUPS = {
  encoding: ['TextEncoder', 'TextDecoder', 'atob', 'btoa', 'DOMException'],
  url: ['URL', 'URLSearchParams'],
  buffer: ['Buffer'],
  crypto: ['crypto'],
  intl: ['Intl'],
};
const NAMES = Object.values(GROUPS).flat();

function event(): PluginEvent {
  return { uuid: 'u', event: 'e', distinct_id: 'd', properties: {}, timestamp: '', ip: null, site_url: '', team_id: 1, now: '', sent_at: null };
}

/** Runs `body` (a function body with `names` in scope) in a fresh VM's processEvent; answers what it returns and the VM's heap after. */
async function run(body: string, prefix = ''): Promise<{ out: unknown; heap: number }> {
  const code = `${prefix}
    const names = ${JSON.stringify(NAMES)};
    // Which of the groups' globals are still the loader's accessors (not evaluated yet).
    const pending = () => names.filter((n) => { const d = Object.getOwnPropertyDescriptor(globalThis, n); return !!d && typeof d.get === 'function' });
    export function processEvent(e) { e.properties.out = (function () { ${body} })(); return e }`;
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'lazy' }), 'index.js': code });
  const vm = await createAppVm({ instanceId: 1, name: 'lazy', code: app.code, config: {}, limits: { callTimeoutMs: 20_000 }, onLog: () => {} });
  try {
    const [outcome] = await vm.processEventBatch([event()]);
    if (!outcome || outcome.status !== 'ok') throw new Error(`the app failed: ${JSON.stringify(outcome)}`);
    return { out: outcome.event.properties.out, heap: instanceMemoryBytes(vm)! };
  } finally {
    vm.dispose();
  }
}

describe('lazy globals and modules', () => {
  it('evaluates none of the groups in a fresh VM, though their names are there', async () => {
    const fresh = await run('return [pending(), names.filter((n) => !Object.getOwnPropertyNames(globalThis).includes(n)), Object.keys(globalThis).filter((n) => names.includes(n))]');
    expect(fresh.out).toEqual([NAMES, [], []]);
    const touched = await run(`new URL('https://a.com/'); new TextEncoder(); crypto.randomUUID(); (1).toLocaleString(); Intl.Collator;
      require('zlib'); require('url'); require('node-fetch'); require('@posthog/plugin-contrib'); return pending()`);
    expect(touched.out).toEqual([]);
    // The groups' code is tens of KB of heap once evaluated (~130 KB measured): a fresh VM holds none of it.
    expect(touched.heap - fresh.heap).toBeGreaterThan(60_000);
  });

  it('evaluates an SDK bridge only when its module is first required (a fresh VM carries none of them)', async () => {
    const bridges = ['pg', 'aws-sdk', '@google-cloud/storage', '@google-cloud/bigquery', '@google-cloud/pubsub', 'snowflake-sdk'];
    // (stream and Buffer loaded in both: the storage bridge needs them, and they are lazy groups of their own)
    const fresh = await run("require('stream'); return 1");
    const required = await run(`return ${JSON.stringify(bridges)}.map((name) => typeof require(name))`);
    expect(required.out).toEqual(bridges.map(() => 'object'));
    // Their shims are ~110 KB of heap once evaluated (measured): held only by a VM whose app required them.
    expect(required.heap - fresh.heap).toBeGreaterThan(60_000);
  });

  it('loads a group (with its dependencies) on first touch, and only that', async () => {
    const { out } = await run(`const before = pending();
      const zlib = require('zlib'); const afterZlib = pending();
      const text = new Date(0).toLocaleString('en-US', { timeZone: 'UTC' }); const afterDate = pending();
      return [before.length, afterZlib, typeof zlib.gzipSync, text, afterDate]`);
    expect(out).toEqual([NAMES.length, [...GROUPS.encoding, ...GROUPS.url, ...GROUPS.crypto, ...GROUPS.intl], 'function', '1/1/1970, 12:00:00 AM', [...GROUPS.encoding, ...GROUPS.url, ...GROUPS.crypto]]);
  });

  it("lets the app's own assignments win, as in Node", async () => {
    const { out } = await run(`globalThis.URL = 'mine';
      TextEncoder = 42;
      delete globalThis.atob;
      const params = new URLSearchParams('a=1').get('a'); // loads the url group: URL stays the app's
      const encoded = btoa('hi'); // loads encoding: TextEncoder stays the app's, atob stays deleted
      const d = Object.getOwnPropertyDescriptor(globalThis, 'URL');
      return [URL, typeof require('url').URL, params, TextEncoder, typeof globalThis.atob, 'atob' in globalThis, encoded, d.writable, d.enumerable, d.configurable]`);
    expect(out).toEqual(['mine', 'function', '1', 42, 'undefined', false, 'aGk=', true, false, true]);
  });

  it('answers real data properties once loaded, in the same order', async () => {
    const { out } = await run(`const order = Object.getOwnPropertyNames(globalThis).filter((n) => names.includes(n));
      const value = URL;
      const d = Object.getOwnPropertyDescriptor(globalThis, 'URL');
      return [order, d.value === value, d.writable, d.enumerable, d.configurable, typeof d.get, Object.getOwnPropertyNames(globalThis).filter((n) => names.includes(n))]`);
    expect(out).toEqual([NAMES, true, true, false, true, 'undefined', NAMES]);
  });

  it("keeps the patched prototype methods as stubs: an app's replacement survives the group loading", async () => {
    const { out } = await run(`const original = Date.prototype.toString;
      Date.prototype.toString = function () { return 'app ' + original.call(this).slice(0, 15) };
      const before = pending().includes('Intl');
      const n = (1234.5).toLocaleString('en-US');
      return [before, String(new Date(0)), n, Date.prototype.toLocaleString.name, Date.prototype.toLocaleString.length, 'a'.localeCompare.length, typeof Intl.DateTimeFormat]`);
    expect(out).toEqual([true, `app ${new Date(0).toString().slice(0, 15)}`, '1,234.5', 'toLocaleString', 0, 1, 'function']);
  });

  it('hands no host function to setters the app put on the prototypes while a group loads', async () => {
    const { out } = await run(`let seen = ''; // a string: pushing to an array would hit the Array.prototype traps
      const traps = [[Object.prototype, ['decode', 'base64', 'parse', 'canParse', 'query', 'legacy', 'digest', 'random', 'buffer', 'zlib', 'intl', 'date', 'locales', 'globals', 'modules', 'methods', 'DOMException', 'NodeBuffer']], [Array.prototype, ['0', '1', '2']]];
      for (const [target, keys] of traps) for (const key of keys) Object.defineProperty(target, key, { set(value) { if (typeof value === 'function') seen += key + ' ' }, configurable: true });
      let results;
      try {
        results = [new TextDecoder().decode(new Uint8Array([104, 105])), new URL('https://a.com/x').pathname, crypto.randomUUID().length,
          require('zlib').gunzipSync(require('zlib').gzipSync('z')).toString(), (1).toLocaleString('en-US'), typeof require('node-fetch')];
      } finally {
        for (const [target, keys] of traps) for (const key of keys) delete target[key];
      }
      return [seen, results, pending()]`);
    expect(out).toEqual(['', ['hi', '/x', 36, 'z', '1', 'function'], []]);
  });

  it('still works with a frozen globalThis', async () => {
    const { out } = await run(`Object.freeze(globalThis); return [new URL('https://a.com/x').pathname, typeof Object.getOwnPropertyDescriptor(globalThis, 'URL').get]`);
    expect(out).toEqual(['/x', 'function']);
  });
});
