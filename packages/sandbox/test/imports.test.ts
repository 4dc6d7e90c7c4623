import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { compileApp, createAppVm } from '../src';
import { expectNodeParity, runInNode, runInSandbox, type Snippets } from './node-parity';

function event(name = 'e'): PluginEvent {
  return { uuid: 'u', event: name, distinct_id: 'd', properties: {}, timestamp: '', ip: null, site_url: '', team_id: 1, now: '', sent_at: null };
}

async function processWith(files: Record<string, string>) {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'imports' }), ...files });
  const vm = await createAppVm({ instanceId: 1, name: 'imports', code: app.code, config: {}, limits: { callTimeoutMs: 20_000 }, onLog: () => {} });
  try {
    const [outcome] = await vm.processEventBatch([event()]);
    return outcome!;
  } finally {
    vm.dispose();
  }
}

describe('crypto module (Node parity)', () => {
  it('hashes and HMACs like Node: hex, base64, bytes indexable like a Buffer', async () => {
    await expectNodeParity({
      digests: `const { createHash } = require('crypto');
        return ['md5', 'sha1', 'sha256', 'sha512', 'SHA256', 'sha3-256', 'RSA-SHA1'].map((a) => [createHash(a).update('hello wörld 😀').digest('hex'), createHash(a).update('x').digest('base64')])`,
      bytes: `const { createHash } = require('node:crypto'); const d = createHash('sha1').update('distinct-id-42').digest();
        return [d.length, d[0], d[19], d.readUInt32BE(0), d.readUInt32LE(4), d.readUInt16BE(2), d.readInt8(1), d.toString('hex'), d.toString('base64'), d.toString('base64url'), d.toString('latin1'), JSON.stringify(d.subarray(0, 4)), d instanceof Uint8Array, Array.from(d.slice(1, 3))]`,
      updates: `const { createHash } = require('crypto'); const h = createHash('sha256');
        h.update('a').update(new Uint8Array([0x62])).update('63', 'hex').update('ZA==', 'base64').update('\\u00e9', 'latin1').update(new Uint16Array([1, 2])).update('é😀').update('x', 'bogus-encoding');
        return h.digest('hex')`,
      loneSurrogates: `const { createHash } = require('crypto'); const h = createHash('md5'); h.update('a\\ud83d'); h.update('\\ude00b'); return [h.digest('hex'), createHash('md5').update('\\ud800').digest('hex')]`,
      nulBytes: `const { createHash } = require('crypto'); return [createHash('md5').update('a\\u0000b').digest('hex'), createHash('md5').update('\\u0001Jx').digest('latin1'), createHash('sha1').update('x').digest('binary').length]`,
      copy: `const { createHash } = require('crypto'); const h = createHash('md5').update('a'); const c = h.copy().update('b'); return [h.digest('hex'), c.digest('hex')]`,
      digestTwice: `const h = require('crypto').createHash('md5'); h.digest(); h.digest()`,
      updateAfter: `const h = require('crypto').createHash('md5'); h.digest('hex'); h.update('x')`,
      unsupported: `require('crypto').createHash('nope')`,
      badData: `require('crypto').createHash('md5').update(42)`,
      oddHex: `require('crypto').createHash('md5').update('abc', 'hex')`,
      unknownDigestEncoding: `return JSON.stringify(require('crypto').createHash('md5').update('x').digest('buffer'))`,
      hmac: `const { createHmac } = require('crypto'); return [createHmac('sha256', 'secret').update('msg').digest('hex'), createHmac('sha1', new Uint8Array([1, 2, 3])).update('m').digest('base64'), createHmac('md5', '').digest('hex')]`,
      hmacTwice: `const h = require('crypto').createHmac('sha256', 'k'); h.update('a'); return [h.digest('hex'), h.digest('hex'), h.digest().length]`,
      hmacBadDigest: `require('crypto').createHmac('nope', 'k')`,
      timingSafeEqual: `const { timingSafeEqual } = require('crypto'); return [timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))]`,
      timingSafeEqualLength: `require('crypto').timingSafeEqual(new Uint8Array([1]), new Uint8Array([1, 2]))`,
      random: `const c = require('crypto'); const b = c.randomBytes(16); const ints = Array.from({ length: 200 }, () => c.randomInt(5, 10));
        return [b.length, b.toString('hex').length, ints.every((n) => n >= 5 && n < 10), new Set(ints).size, typeof c.randomUUID(), c.randomInt(1) === 0, c.getRandomValues(new Uint8Array(4)).length]`,
      randomBad: `require('crypto').randomBytes(-1)`,
      hashes: `return require('crypto').getHashes().includes('sha256')`,
    });
  });

  it('works through import as well as require, and gives a Buffer digest apps index into', async () => {
    const outcome = await processWith({
      'index.ts': `import { createHash, randomUUID } from 'crypto'
        import * as nodeCrypto from 'node:crypto'
        export function processEvent(e: any) {
          const hash = createHash('sha256').update(e.distinct_id).digest()
          e.properties.bucket = hash[0] % 10
          e.properties.hex = nodeCrypto.createHash('md5').update('x').digest('hex')
          e.properties.uuid = randomUUID().length
          return e
        }`,
    });
    const { createHash } = await import('node:crypto');
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { bucket: createHash('sha256').update('d').digest()[0]! % 10, hex: createHash('md5').update('x').digest('hex'), uuid: 36 } } });
  });

  it('refuses hash input over the cap with an ordinary error', async () => {
    const { out } = await runInSandbox({
      big: `return require('crypto').createHash('md5').update('x'.repeat(9 * 1024 * 1024)).digest('hex')`,
      bigRandom: `require('crypto').randomBytes(64 * 1024 * 1024)`,
    });
    expect(out.big).toMatchObject({ error: { kind: 'RangeError', message: expect.stringMatching(/limit/) } });
    expect(out.bigRandom).toMatchObject({ error: { kind: 'RangeError' } });
  });
});

describe('url module (Node parity)', () => {
  it('offers URL, URLSearchParams and the legacy parse / format / resolve', async () => {
    await expectNodeParity({
      classes: `const url = require('url'); return [url.URL === URL, url.URLSearchParams === URLSearchParams, new url.URL('https://a.com/x').pathname]`,
      parse: `const url = require('url'); return [url.parse('http://user:pw@Host.com:8080/p/a/t/h?query=string&q=2#hash'), url.parse('/relative?x=1', true), url.parse('//host/path', false, true)]`,
      parseQuery: `const q = require('url').parse('/x?a=1&a=2&b=', true).query; return [Object.getPrototypeOf(q), q]`,
      format: `const url = require('url'); return [url.format({ protocol: 'https', hostname: 'a.com', pathname: '/x', query: { a: 1, b: 'c d' } }), url.format(new URL('https://u:p@a.com/x?y#z'), { auth: false, fragment: false }), url.format('http://a.com/x')]`,
      resolve: `const url = require('url'); return [url.resolve('/one/two/three', 'four'), url.resolve('http://example.com/', '/one'), url.resolve('http://example.com/one', '../two')]`,
      domains: `const url = require('url'); return [url.domainToASCII('español.com'), url.domainToUnicode('xn--espaol-zwa.com')]`,
      parseNotString: `require('url').parse(42)`,
    });
  });
});

describe('zlib module', () => {
  it('compresses and decompresses like Node, sync and with callbacks', async () => {
    const gz = gzipSync('from node').toString('base64');
    const out = await expectNodeParity({
      roundTrip: `const zlib = require('zlib'); const text = 'hello '.repeat(100) + 'é😀';
        return [zlib.gunzipSync(zlib.gzipSync(text)).toString(), zlib.inflateSync(zlib.deflateSync(text, { level: 9 })).toString('utf8'), zlib.inflateRawSync(zlib.deflateRawSync(new TextEncoder().encode(text))).length, zlib.unzipSync(zlib.deflateSync('u')).toString(), zlib.brotliDecompressSync(zlib.brotliCompressSync(text)).toString() === text]`,
      sameBytes: `const zlib = require('node:zlib'); return [Array.from(zlib.gzipSync('abc')), Array.from(zlib.deflateSync('abc', { level: 1 }))]`,
      fromNode: `const zlib = require('zlib'); const bytes = Uint8Array.from(atob('${gz}'), (c) => c.charCodeAt(0)); return zlib.gunzipSync(bytes).toString()`,
      corrupt: `require('zlib').gunzipSync(new Uint8Array([1, 2, 3, 4]))`,
      badInput: `require('zlib').gzipSync(42)`,
    });
    expect(out.corrupt).toMatchObject({ error: { code: 'Z_DATA_ERROR', message: 'incorrect header check' } });
  });

  it('answers callbacks on a later microtask, and stops a decompression bomb at the output cap', async () => {
    const bomb64 = gzipSync(Buffer.alloc(32 * 1024 * 1024)).toString('base64'); // 32 KiB that inflate to 32 MiB
    const outcome = await processWith({
      'index.js': `import zlib from 'zlib'
        export async function processEvent(e) {
          e.properties.cb = await new Promise((resolve, reject) => zlib.gzip('cb', (error, data) => error ? reject(error) : resolve(zlib.gunzipSync(data).toString())))
          const bomb = Uint8Array.from(atob('${bomb64}'), (c) => c.charCodeAt(0))
          try { zlib.gunzipSync(bomb) } catch (error) { e.properties.bomb = [error instanceof RangeError, error.message] }
          e.properties.capped = (() => { try { zlib.inflateSync(zlib.deflateSync('x'.repeat(1000)), { maxOutputLength: 10 }); return 'no' } catch (error) { return error.code } })()
          return e
        }`,
    });
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { cb: 'cb', capped: 'ERR_BUFFER_TOO_LARGE' } } });
    const bomb = (outcome as unknown as { event: { properties: { bomb: [boolean, string] } } }).event.properties.bomb;
    expect(bomb[0]).toBe(true);
    expect(bomb[1]).toBe('Cannot create a Buffer larger than 8388608 bytes');
  });
});

describe('node-fetch, plugin-contrib, plugin-scaffold', () => {
  it('maps node-fetch to the global fetch, looked up when called (import and require)', async () => {
    const outcome = await processWith({
      'index.js': `import fetch, { Headers } from 'node-fetch'
        const required = require('node-fetch')
        export async function processEvent(e) {
          const real = globalThis.fetch
          globalThis.fetch = async (url, init) => 'stub:' + url + ':' + (init && init.method)
          e.properties.viaImport = await fetch('https://x.test/a', { method: 'POST' })
          e.properties.viaRequire = await required('https://x.test/b')
          e.properties.same = [required === fetch, required.default === fetch, typeof Headers === typeof real ? 'ok' : 'ok']
          globalThis.fetch = real
          return e
        }`,
    });
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { viaImport: 'stub:https://x.test/a:POST', viaRequire: 'stub:https://x.test/b:undefined', same: [true, true, 'ok'] } } });
  });

  it('createBuffer flushes at its limit, on flush(), and once stale at the next add', async () => {
    const outcome = await processWith({
      'index.js': `import { createBuffer } from '@posthog/plugin-contrib'
        export async function processEvent(e) {
          const flushed = []
          const buffer = createBuffer({ limit: 3, timeoutSeconds: 60, onFlush: (items, points) => { flushed.push([items, points]) } })
          for (const n of [1, 2, 3, 4, 5]) buffer.add(n)
          await null; await null
          const atLimit = JSON.stringify(flushed)
          await buffer.flush()
          const realNow = Date.now
          buffer.add('old')
          Date.now = () => realNow() + 61000
          buffer.add('new')
          Date.now = realNow
          await null; await null
          e.properties.flushes = [atLimit, JSON.stringify(flushed)]
          return e
        }`,
    });
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { flushes: ['[[[1,2,3],3]]', '[[[1,2,3],3],[[4,5],2],[["old"],1]]'] } } });
  });

  it('still provides RetryError from @posthog/plugin-scaffold, by import and require', async () => {
    const outcome = await processWith({
      'index.js': `import { RetryError } from '@posthog/plugin-scaffold'
        export function processEvent(e) { e.properties.same = RetryError === require('@posthog/plugin-scaffold').RetryError; e.properties.name = new RetryError('x').name; return e }`,
    });
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { same: true, name: 'RetryError' } } });
  });
});

describe('install-time refusals', () => {
  it('accepts every network SDK PostHog allowed: each is served by a host-side bridge', async () => {
    const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'sdk' }), 'index.js': `import { BigQuery } from '@google-cloud/bigquery'; import snowflake from 'snowflake-sdk'; import genericPool from 'generic-pool'
      export function processEvent(e) { return e }` });
    expect(app.capabilities).toEqual(['processEvent']);
  });

  it('refuses any other module by name, and accepts every provided one', async () => {
    await expect(compileApp({ 'plugin.json': JSON.stringify({ name: 'x' }), 'index.js': "import fs from 'fs'\nexport function processEvent(e) { return e }" }))
      .rejects.toThrow(/^index\.js:1:\d+: import of "fs" is not available in the sandbox$/);
    const app = await compileApp({
      'plugin.json': JSON.stringify({ name: 'all' }),
      'index.js': `import '@posthog/plugin-scaffold'; import '@posthog/plugin-contrib'; import 'node-fetch'; import 'crypto'; import 'node:crypto'; import 'url'; import 'node:url'; import 'zlib'; import 'node:zlib'; import 'buffer'; import 'node:buffer'; import 'pg'; import 'aws-sdk'; import 'aws-sdk/clients/s3'; import 'aws-sdk/clients/kinesis'; import 'stream'; import 'node:stream'; import '@google-cloud/storage'
        export function processEvent(e) { return e }`,
    });
    expect(app.capabilities).toEqual(['processEvent']);
  });
});

describe('optional requires (a require inside try of a module the sandbox lacks)', () => {
  const files = {
    'plugin.json': JSON.stringify({ name: 'optional' }),
    'index.js': `let redis = null, error = null
      try { redis = require('ioredis') } catch (e) { error = e.message }
      export function processEvent(e) {
        e.properties.error = error
        try { new redis() } catch (thrown) { e.properties.atCall = thrown.constructor.name }
        return e
      }`,
  };

  it('installs, names the module, and its require throws when it runs, for the app to catch', async () => {
    const app = await compileApp(files);
    expect(app.optionalModules).toEqual(['ioredis']);
    const vm = await createAppVm({ instanceId: 1, name: 'optional', code: app.code, config: {}, onLog: () => {} });
    try {
      const [outcome] = await vm.processEventBatch([event()]);
      expect(outcome).toMatchObject({ status: 'ok', event: { properties: { error: 'module "ioredis" is not available in the sandbox', atCall: 'TypeError' } } });
    } finally {
      vm.dispose();
    }
  });

  it('still refuses the same module at top level, required or imported, naming it and its line', async () => {
    await expect(compileApp({ ...files, 'index.js': "const redis = require('ioredis')\nexport function processEvent(e) { return e }" }))
      .rejects.toThrow(/^index\.js:1:\d+: import of "ioredis" is not available in the sandbox$/);
    await expect(compileApp({ ...files, 'index.js': "export function processEvent(e) { return e }\nimport Redis from 'ioredis'" }))
      .rejects.toThrow(/^index\.js:2:\d+: import of "ioredis" is not available in the sandbox$/);
  });

  it('never bundles a host file: a module on the host disk stays out of the app (node_modules, package.json)', async () => {
    const app = await compileApp({ ...files, 'index.js': "let v; try { v = require('vitest/package.json') } catch {}\nexport function processEvent(e) { e.properties.v = v === undefined; return e }" });
    expect(app.optionalModules).toEqual(['vitest/package.json']);
    expect(app.code).not.toContain('"version"');
  });

  it('provided modules are not optional ones', async () => {
    const app = await compileApp({ ...files, 'index.js': "let pg; try { pg = require('pg') } catch {}\nexport function processEvent(e) { return e }" });
    expect(app.optionalModules).toEqual([]);
  });
});
