import { describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { compileApp, createAppVm } from '../src';
import { expectNodeParity, runInNode, runInSandbox, type Snippets } from './node-parity';

/** Each snippet runs in the sandbox and in Node; the outputs must be identical. */
const URLS = [
  'https://user:pa%20ss@EXAMPLE.com:8080/a/./b/../c?x=1&y=%zz#frag',
  'https://münchen.de/straße?q=ü ö#ä',
  'http://[::1]:80/',
  'HTTP://a.com:443/',
  'http:\\\\a.com\\b\\c',
  '  https://a.com/trim  ',
  'file:///C:/x/../y',
  'data:text/plain,hello world',
  'javascript:alert(1)',
  'https://a.com/?q=a+b c&&=x&y=%F0%9F%98%80',
  'https://xn--mnchen-3ya.de/',
  'mailto:someone@example.com',
  'https://a.com/path with spaces/<>"`{}',
];

describe('URL and URLSearchParams (Node parity)', () => {
  it('parses like Node: every part, toString, toJSON, relative with a base', async () => {
    const snippets: Snippets = {};
    URLS.forEach((input, i) => {
      snippets[`parse${i}`] = `const u = new URL(${JSON.stringify(input)});
        return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, String(u), JSON.stringify({ u }), [...u.searchParams]]`;
    });
    Object.assign(snippets, {
      relative: `return ['../x?y#z', '//other.com/p', '?q=1', '#h', '/abs', 'https://full.com'].map((r) => new URL(r, 'https://a.com/b/c/d?e#f').href)`,
      baseUrlObject: `return new URL('x', new URL('https://a.com/b/')).href`,
      invalid: `new URL('not a url')`,
      invalidBase: `new URL('/x', 'nope')`,
      noArgs: `new URL()`,
      canParse: `return [URL.canParse('https://a.com'), URL.canParse('nope'), URL.canParse('/x', 'https://a.com')]`,
      keys: `const u = new URL('https://a.com'); return [Object.keys(u), Object.prototype.toString.call(u), u instanceof URL, typeof URL]`,
      objectInput: `return new URL({ toString() { return 'https://obj.com/' } }).href`,
    });
    const out = await expectNodeParity(snippets);
    expect(out.invalid).toEqual({ error: { kind: 'TypeError', name: 'TypeError', code: 'ERR_INVALID_URL', message: 'Invalid URL' } });
  });

  it('applies setters as Node does, keeping searchParams in step both ways', async () => {
    await expectNodeParity({
      setters: `const u = new URL('https://a.com:8080/p?q=1#h');
        const seen = [];
        for (const [key, value] of [['protocol', 'http'], ['protocol', 'bogus'], ['username', 'ü s'], ['password', 'p@ss'], ['hostname', 'Example.ORG'],
          ['port', '99999'], ['port', '81'], ['port', ''], ['host', 'b.com:9'], ['pathname', '/x y/../z'], ['search', 'a=1 2&b'], ['hash', 'x y'], ['search', ''], ['hash', '']]) {
          u[key] = value;
          seen.push(u.href);
        }
        return seen`,
      hrefSetter: `const u = new URL('https://a.com/?a=1'); const p = u.searchParams; u.href = 'https://b.com/?b=2&c=3'; return [u.href, p.toString(), p.get('b')]`,
      hrefSetterInvalid: `const u = new URL('https://a.com/'); u.href = 'nope'`,
      paramsToUrl: `const u = new URL('https://a.com/p?x=1#h'); const p = u.searchParams;
        p.append('name', 'Ada Lovelace & co'); p.set('x', '2'); p.append('emoji', '😀'); const a = u.href;
        p.delete('x'); const b = u.href; p.sort(); const c = u.search; p.delete('name'); p.delete('emoji'); return [a, b, c, u.href, u.search]`,
      urlToParams: `const u = new URL('https://a.com/?a=1'); const p = u.searchParams; u.search = '?b=2&b=3&c'; return [p.getAll('b'), p.get('c'), p.has('a'), p.size, u.searchParams === p]`,
    });
  });

  it('builds, reads and serializes URLSearchParams like Node', async () => {
    await expectNodeParity({
      fromString: `const p = new URLSearchParams('?a=1&b=%20x+y&c&=d&e=%zz&f=%C3%A9&f=%FF&a=3'); return [[...p], p.toString(), p.size, p.get('a'), p.getAll('a'), p.get('none'), p.has('c'), p.has('a', '3'), p.has('a', '9')]`,
      fromObject: `return new URLSearchParams({ a: 1, b: 'x y', c: null, d: undefined, e: { toString() { return 'obj' } } }).toString()`,
      fromPairs: `return new URLSearchParams([['a', '1'], ['b', '2'], ['a', '3']]).toString()`,
      fromMap: `return new URLSearchParams(new Map([['k', 'v'], ['k2', 'v2']])).toString()`,
      fromParams: `const p = new URLSearchParams('a=1'); const q = new URLSearchParams(p); q.append('b', '2'); return [p.toString(), q.toString()]`,
      badPair: `new URLSearchParams([['a', 'b', 'c']])`,
      serializeSpecials: `const p = new URLSearchParams(); p.append("k !'()*-._~", "v\\u0000\\n\\r\\t+&=%/?#@:;,$ é€😀\\ud800"); return p.toString()`,
      mutations: `const p = new URLSearchParams('z=1&a=2&z=3&b=4&a=5'); p.set('z', 'new'); const s1 = p.toString(); p.delete('a', '5'); const s2 = p.toString(); p.sort(); return [s1, s2, p.toString(), [...p.keys()], [...p.values()], [...p.entries()]]`,
      forEach: `const seen = []; new URLSearchParams('a=1&b=2').forEach(function (value, key, params) { seen.push([key, value, params instanceof URLSearchParams, this.tag]) }, { tag: 't' }); return seen`,
      missingArgs: `new URLSearchParams().append('only-name')`,
      tag: `return [Object.prototype.toString.call(new URLSearchParams()), String(new URLSearchParams('a=b'))]`,
      stableSort: `const p = new URLSearchParams('b=1&a=1&b=2&a=2&ä=1&Z=1&aa=1'); p.sort(); return p.toString()`,
    });
  });
});

describe('TextEncoder, TextDecoder, atob, btoa (Node parity)', () => {
  it('encodes and decodes UTF-8 and other labels like Node', async () => {
    await expectNodeParity({
      encode: `return Array.from(new TextEncoder().encode('aé€😀\\ud800x'))`,
      encodeDefault: `return [Array.from(new TextEncoder().encode()), new TextEncoder().encoding]`,
      encodeInto: `const dest = new Uint8Array(5); const r = new TextEncoder().encodeInto('a€😀', dest); return [r, Array.from(dest)]`,
      decode: `return new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0xc3, 0xa9, 0xff, 0xe2, 0x82, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0x80, 0xc0, 0xaf]))`,
      decodeKeepBom: `return new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])).length`,
      decodeFatal: `return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0x41, 0xff]))`,
      decodeLabels: `return ['utf8', 'UTF-16LE', 'latin1', 'ascii', 'windows-1252'].map((label) => { const d = new TextDecoder(label); return [d.encoding, d.decode(new Uint8Array([0x41, 0x00, 0xe9, 0x80]))] })`,
      decodeBadLabel: `new TextDecoder('no-such-encoding')`,
      decodeViews: `const bytes = new Uint8Array([0, 0x68, 0x69, 0]); return [new TextDecoder().decode(bytes.subarray(1, 3)), new TextDecoder().decode(new DataView(bytes.buffer, 1, 2)), new TextDecoder().decode(bytes.buffer.slice(1, 3)), new TextDecoder().decode()]`,
      decodeStream: `const d = new TextDecoder(); const bytes = new TextEncoder().encode('\\ufeffé€😀z'); let out = '';
        for (let i = 0; i < bytes.length; i++) out += d.decode(bytes.subarray(i, i + 1), { stream: true });
        out += d.decode(); const again = d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])); return [out, again]`,
      decodeStreamTruncated: `const d = new TextDecoder(); return [d.decode(new Uint8Array([0x41, 0xe2, 0x82]), { stream: true }), d.decode()]`,
      atobBtoa: `return [btoa('hello\\u00ff'), atob(' aGVs bG8= '), atob('aGk'), btoa(''), atob('')]`,
      atobNul: `return [atob('AEEA'), btoa('\\u0000\\u0001J'), atob(btoa('\\u0001J"x"'))]`,
      urlNul: `return [new URL('https://a.com/a\\u0000b?c\\u0000#\\u0000').href, new URLSearchParams('a=%00').get('a').length]`,
      atobInvalid: `atob('a*b')`,
      atobBadLength: `atob('a')`,
      btoaWide: `btoa('€')`,
      atobMissing: `atob()`,
    });
  });
});

describe('crypto global (Node parity where not random)', () => {
  it('randomUUID and getRandomValues use the host CSPRNG and check their input like Node', async () => {
    const out = await expectNodeParity({
      uuid: `const ids = Array.from({ length: 20 }, () => crypto.randomUUID()); return [ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)), new Set(ids).size]`,
      getRandomValues: `const a = new Uint32Array(64); const same = crypto.getRandomValues(a) === a; return [same, a.some((x) => x !== 0), new Set(a).size > 50]`,
      getRandomValuesView: `const buf = new Uint8Array(16); const view = new Uint8Array(buf.buffer, 4, 8); crypto.getRandomValues(view); return [buf.slice(0, 4).every((x) => x === 0), buf.slice(12).every((x) => x === 0)]`,
      float: `crypto.getRandomValues(new Float64Array(2))`,
      tooBig: `crypto.getRandomValues(new Uint8Array(65537))`,
      bigInts: `return crypto.getRandomValues(new BigUint64Array(2)).length`,
    });
    expect(out.float).toMatchObject({ error: { name: 'TypeMismatchError', message: 'The data argument must be an integer-type TypedArray' } });
  });
});

describe('timers', () => {
  it('setTimeout, setInterval and setImmediate are errors at once, not a hang', async () => {
    const app = await compileApp({
      'plugin.json': JSON.stringify({ name: 'timers' }),
      'index.js': `export function processEvent(e) { globalThis[e.event](() => {}, 10); return e }`,
    });
    const vm = await createAppVm({ instanceId: 1, name: 'timers', code: app.code, config: {}, limits: { callTimeoutMs: 5000 }, onLog: () => {} });
    const events = ['setTimeout', 'setInterval', 'setImmediate'].map((name): PluginEvent => ({ uuid: name, event: name, distinct_id: 'd', properties: {}, timestamp: '', ip: null, site_url: '', team_id: 1, now: '', sent_at: null }));
    const started = Date.now();
    const outcomes = await vm.processEventBatch(events);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(outcomes).toEqual(['setTimeout', 'setInterval', 'setImmediate'].map((name) => ({ status: 'error', error: `${name} is not available in apps: use jobs` })));
    vm.dispose();
  });
});

describe('Intl-backed formatting (Node parity)', () => {
  it('formats dates with locales and options exactly as Node', async () => {
    const t = Date.UTC(2026, 10, 25, 15, 4, 5, 678);
    await expectNodeParity({
      dateString: `const d = new Date(${t}); return [d.toLocaleDateString('en-US', { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' }), d.toLocaleDateString('de-DE'), d.toLocaleDateString('ja-JP', { era: 'long', timeZone: 'Asia/Tokyo' }), d.toLocaleDateString(undefined, { month: 'short', day: '2-digit' }), d.toLocaleDateString(['fr-FR', 'en'], { dateStyle: 'full' })]`,
      timeString: `const d = new Date(${t}); return [d.toLocaleTimeString('en-US'), d.toLocaleTimeString('en-GB', { timeZone: 'America/New_York', timeZoneName: 'short' }), d.toLocaleTimeString('en-US', { hour12: false, fractionalSecondDigits: 3 })]`,
      localeString: `const d = new Date(${t}); return [d.toLocaleString(), d.toLocaleString('en-US', { timeZone: 'UTC' }), d.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai' }), new Date(NaN).toLocaleString()]`,
      dateToString: `const d = new Date(${t}); return [d.toString(), d.toTimeString(), d.toDateString(), String(new Date(0)), new Date(NaN).toString()]`,
      badTimeZone: `new Date(0).toLocaleDateString('en-US', { timeZone: 'Mars/Olympus' })`,
      badLocale: `new Date(0).toLocaleDateString('not a locale!')`,
      notADate: `Date.prototype.toLocaleDateString.call({})`,
    });
  });

  it('formats numbers, bigints and compares strings exactly as Node', async () => {
    await expectNodeParity({
      numbers: `return [(1234567.891).toLocaleString(), (1234567.891).toLocaleString('de-DE'), (0.256).toLocaleString('en-US', { style: 'percent', maximumFractionDigits: 1 }),
        (1234.5).toLocaleString('en-US', { style: 'currency', currency: 'EUR' }), (1234.5).toLocaleString('ja-JP', { style: 'currency', currency: 'JPY' }),
        (12345678).toLocaleString('en', { notation: 'compact' }), (-0).toLocaleString(), NaN.toLocaleString(), Infinity.toLocaleString('fr'), (5).toLocaleString('en', { minimumIntegerDigits: 3 }),
        (1e21).toLocaleString('en-IN'), (0.1 + 0.2).toLocaleString('en', { maximumSignificantDigits: 17 }), (12.5).toLocaleString('en', { style: 'unit', unit: 'kilometer-per-hour' })]`,
      bigint: `return [12345678901234567890n.toLocaleString(), 12345678901234567890n.toLocaleString('de')]`,
      badCurrency: `(1).toLocaleString('en', { style: 'currency' })`,
      badDigits: `(1).toLocaleString('en', { maximumFractionDigits: 500 })`,
      localeCompare: `return ['a'.localeCompare('B'), 'B'.localeCompare('a'), 'ä'.localeCompare('z', 'de'), 'ä'.localeCompare('z', 'sv'), 'a'.localeCompare('A', undefined, { sensitivity: 'base' }), ['b', 'A', 'a', 'B', 'é', 'e'].sort((x, y) => x.localeCompare(y))]`,
    });
  });

  it('offers Intl.DateTimeFormat, NumberFormat and Collator backed by Node', async () => {
    await expectNodeParity({
      dateTimeFormat: `const f = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/London' }); const { format } = f;
        return [f.format(new Date(${Date.UTC(2026, 5, 1, 12)})), format(0), [0, 86400000].map(f.format), f.formatToParts(0), f.resolvedOptions()]`,
      timeZone: `return Intl.DateTimeFormat().resolvedOptions().timeZone`,
      callable: `return Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).format(0)`,
      numberFormat: `const f = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }); return [f.format(1234.567), f.format(12345678901234567890n), f.format('1.005'), f.formatToParts(-1.5), f.resolvedOptions().currency, Intl.NumberFormat('de').format(1e6)]`,
      collator: `const c = new Intl.Collator('de', { sensitivity: 'base' }); return [c.compare('a', 'ä'), ['z', 'ä', 'a'].sort(c.compare), ['z', 'ä', 'a'].sort(new Intl.Collator('sv').compare)]`,
      invalidTimeValue: `new Intl.DateTimeFormat('en').format(NaN)`,
      canonical: `return [Intl.getCanonicalLocales(['EN-us', 'de-de']), Intl.NumberFormat.supportedLocalesOf(['en-US', 'xx-XX'])]`,
      tags: `return [Object.prototype.toString.call(Intl), Object.prototype.toString.call(new Intl.NumberFormat())]`,
    });
  });
});

describe('what apps cannot reach', () => {
  it('leaves no host functions on the global object', async () => {
    const { out } = await runInSandbox({
      hosts: `return Object.getOwnPropertyNames(globalThis).filter((n) => /host|sluice/i.test(n))`,
      hostErrorsArePlainVmErrors: `try { new URL('x') } catch (error) { return [error instanceof TypeError, error.constructor === TypeError, Object.getPrototypeOf(error) === TypeError.prototype, typeof error.stack] }`,
    });
    expect(out).toEqual({ hosts: { value: [] }, hostErrorsArePlainVmErrors: { value: [true, true, true, 'string'] } });
  });

  it('refuses oversized inputs to host functions with an ordinary error', async () => {
    const { out } = await runInSandbox({
      bigUrl: `new URL('https://a.com/' + 'x'.repeat(2 * 1024 * 1024))`,
      bigDecode: `new TextDecoder().decode(new Uint8Array(9 * 1024 * 1024))`,
      bigOptions: `const o = {}; o.timeZone = 'x'.repeat(100000); return new Date(0).toLocaleString('en', o)`,
      stillWorks: `return new URL('https://a.com/ok').pathname`,
    });
    expect(out.bigUrl).toMatchObject({ error: { kind: 'RangeError', message: expect.stringMatching(/over the limit/) } });
    expect(out.bigDecode).toMatchObject({ error: { kind: 'RangeError', message: expect.stringMatching(/over the limit/) } });
    expect(out.bigOptions).toMatchObject({ error: { kind: 'RangeError', message: expect.stringMatching(/over the limit/) } });
    expect(out.stillWorks).toEqual({ value: '/ok' });
  });
});
