import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppLogEntry, PluginEvent } from '@sluice/core';
import { makeTestCa } from '../../../test/helpers/test-ca';
import { writeMmdb } from './helpers/mmdb';
import {
  GeoIpDatabase,
  GuardedFetch,
  MemoryAppCache,
  MemoryAppStorage,
  compileApp,
  createAppVm,
  type CapturedEvent,
  type HostServices,
} from '../src';

function event(properties: Record<string, unknown> = {}, name = '$pageview'): PluginEvent {
  return {
    uuid: crypto.randomUUID(), event: name, distinct_id: 'u1', properties, timestamp: '2026-11-25T00:00:00.000Z',
    ip: null, site_url: '', team_id: 1, now: '2026-11-25T00:00:00.000Z', sent_at: null,
  };
}

async function vmWith(code: string, services: HostServices, callTimeoutMs = 2000) {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'services-test' }), 'index.js': code });
  const logs: AppLogEntry[] = [];
  const vm = await createAppVm({
    instanceId: 1, name: 'services-test', code: app.code, config: {}, limits: { callTimeoutMs }, onLog: (entry) => logs.push(entry), services,
  });
  return { vm, logs };
}

/** Runs one processEvent and answers the properties it left, or throws the outcome's error. */
async function propertiesAfter(code: string, services: HostServices, input = event()): Promise<Record<string, unknown>> {
  const { vm } = await vmWith(code, services);
  try {
    const [outcome] = await vm.processEventBatch([input]);
    if (outcome?.status !== 'ok') throw new Error(outcome?.status === 'error' ? outcome.error : 'dropped');
    return outcome.event.properties;
  } finally {
    vm.dispose();
  }
}

describe('meta.cache', () => {
  it('does PostHog\'s set/get (JSON and raw), incr, expire and the list operations', async () => {
    const cache = new MemoryAppCache();
    const props = await propertiesAfter(`
      export async function processEvent(event, { cache }) {
        await cache.set('obj', { a: [1, 2] });
        await cache.set('raw', 'plain text', undefined, { jsonSerialize: false });
        event.properties.obj = await cache.get('obj', null);
        event.properties.raw = await cache.get('raw', null, { jsonSerialize: false });
        event.properties.missing = await cache.get('nope', 'fallback');
        event.properties.incr = [await cache.incr('n'), await cache.incr('n')];
        event.properties.expire = [await cache.expire('n', 60), await cache.expire('absent', 60)];
        event.properties.lpush = await cache.lpush('list', ['a', 'b']) + await cache.lpush('list', 'c');
        event.properties.lrange = await cache.lrange('list', 0, -1);
        event.properties.llen = await cache.llen('list');
        event.properties.lrem = await cache.lrem('list', 1, 'b');
        event.properties.lpop = await cache.lpop('list', 2);
        return event;
      }`, { cache });
    expect(props).toMatchObject({
      obj: { a: [1, 2] }, raw: 'plain text', missing: 'fallback', incr: [1, 2], expire: [true, false],
      lpush: 5, lrange: ['c', 'b', 'a'], llen: 3, lrem: 1, lpop: ['c', 'a'],
    });
  });

  it('keeps each instance to its own cache, and runs a batch\'s cache calls concurrently across people, in order for one person', async () => {
    const counted: string[] = [];
    const cache = new MemoryAppCache();
    const tracking: HostServices['cache'] = Object.assign(Object.create(cache) as MemoryAppCache, {
      get: (key: string) => {
        counted.push(key);
        return cache.get(key);
      },
    });
    const { vm } = await vmWith(`
      export async function processEvent(event, { cache }) {
        const seen = await cache.get(event.distinct_id, 0);
        await cache.set(event.distinct_id, seen + 1);
        event.properties.seen = seen;
        return event;
      }`, { cache: tracking });
    const of = (person: string) => ({ ...event(), distinct_id: person });
    const outcomes = await vm.processEventBatch([of('u1'), of('u2'), of('u3'), of('u1'), of('u1')]);
    vm.dispose();
    // Different people's gets go out before any set (their events do not wait for each other);
    // one person's events run one after another, so u1's counter is read after each write.
    expect(outcomes.map((outcome) => outcome.status === 'ok' && outcome.event.properties.seen)).toEqual([0, 0, 0, 1, 2]);
    expect(counted.slice(0, 3)).toEqual(['u1', 'u2', 'u3']);
    expect(counted).toHaveLength(5);
  });

  it('refuses bad keys, oversized values and over-long lpush with a clear error; fails clearly without a cache', async () => {
    const cache = new MemoryAppCache();
    const errorOf = async (body: string, services: HostServices = { cache }) => {
      const { vm } = await vmWith(`export async function processEvent(event, { cache }) { ${body}; return event }`, services);
      const [outcome] = await vm.processEventBatch([event()]);
      vm.dispose();
      return outcome?.status === 'error' ? outcome.error : 'no error';
    };
    expect(await errorOf(`await cache.set({}, 1)`)).toContain('the key must be a non-empty string');
    expect(await errorOf(`await cache.set('big', 'x'.repeat(1100000), undefined, { jsonSerialize: false })`)).toContain('larger than');
    expect(await errorOf(`await cache.lpush('l', Array.from({ length: 1001 }, String))`)).toContain('at most 1000 elements');
    expect(await errorOf(`await cache.set('f', () => 1)`)).toContain('not JSON-serializable');
    expect(await errorOf(`await cache.get('x')`, {})).toContain('meta.cache is not available here');
  });

  it('keeps export cursors with meta.utils.cursor', async () => {
    const cache = new MemoryAppCache();
    const props = await propertiesAfter(`
      export async function processEvent(event, { utils }) {
        await utils.cursor.init('c', 10);
        await utils.cursor.init('c', 99);
        event.properties.cursor = [await utils.cursor.increment('c'), await utils.cursor.increment('c', 5)];
        return event;
      }`, { cache });
    expect(props.cursor).toEqual([11, 16]);
  });
});

describe('meta.storage', () => {
  it('gets, sets and deletes JSON values, with the default for a missing key', async () => {
    const storage = new MemoryAppStorage();
    const props = await propertiesAfter(`
      export async function processEvent(event, { storage }) {
        event.properties.before = await storage.get('k', 'default');
        await storage.set('k', { nested: [true, null, 'x'] });
        await storage.set('nothing', null);
        event.properties.after = await storage.get('k');
        event.properties.storedNull = await storage.get('nothing', 'default');
        await storage.del('k');
        event.properties.deleted = await storage.get('k', 'gone');
        return event;
      }`, { storage });
    expect(props).toMatchObject({ before: 'default', after: { nested: [true, null, 'x'] }, storedNull: null, deleted: 'gone' });
    expect(storage.values.get('nothing')).toBe('null');
  });
});

describe('posthog.capture', () => {
  it('captures into the project with PostHog\'s defaults, and explains posthog.api', async () => {
    const captured: CapturedEvent[] = [];
    const props = await propertiesAfter(`
      export async function processEvent(event) {
        await posthog.capture('derived', { plan: 'pro' });
        await posthog.capture('for user', { distinct_id: 'u9', timestamp: '2026-01-01T00:00:00.000Z' });
        try { await posthog.api.get('/api/projects') } catch (error) { event.properties.api = error.message }
        return event;
      }`, { capture: async (captured_) => void captured.push(captured_) });
    expect(captured[0]).toMatchObject({ event: 'derived', distinct_id: 'services-test', properties: { plan: 'pro', $lib: 'posthog-plugin-server' } });
    expect(captured[1]).toMatchObject({ event: 'for user', distinct_id: 'u9', timestamp: '2026-01-01T00:00:00.000Z' });
    expect(props.api).toContain('not available in Sluice');
  });
});

describe('meta.geoip', () => {
  it('fails clearly when no MaxMind database is configured', async () => {
    const { vm } = await vmWith(`export async function processEvent(event, { geoip }) { await geoip.locate('1.1.1.1'); return event }`, {});
    const [outcome] = await vm.processEventBatch([event()]);
    vm.dispose();
    expect(outcome).toMatchObject({ status: 'error', error: expect.stringContaining('no MaxMind database is configured') });
  });
});

describe('fetch', () => {
  let server: Server;
  let port: number;
  const hits: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      hits.push(`${request.method} ${request.url}`);
      if (request.url === '/json') return response.writeHead(200, { 'content-type': 'application/json', 'x-test': 'yes' }).end('{"rate":1.5}');
      if (request.url === '/echo') {
        let body = '';
        request.on('data', (chunk) => (body += chunk));
        request.on('end', () => response.writeHead(201).end(JSON.stringify({ body, type: request.headers['content-type'] })));
        return;
      }
      if (request.url === '/redirect-private') return response.writeHead(302, { location: `http://127.0.0.2:${port}/json` }).end();
      if (request.url === '/redirect-ok') return response.writeHead(301, { location: '/json' }).end();
      if (request.url === '/big') return response.writeHead(200).end('x'.repeat(200_000));
      if (request.url === '/slow') return void setTimeout(() => response.writeHead(200).end('late'), 3000);
      response.writeHead(404).end('no');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const FETCH_APP = `
    export async function processEvent(event) {
      try {
        const response = await fetch(event.properties.url, event.properties.init);
        event.properties.result = { status: response.status, ok: response.ok, header: response.headers.get('X-Test'), body: await response.text(), redirected: response.redirected };
      } catch (error) {
        event.properties.error = error.message;
      }
      return event;
    }`;

  async function fetchFrom(guarded: GuardedFetch | undefined, url: string, init?: object) {
    return propertiesAfter(FETCH_APP, guarded ? { fetch: guarded } : {}, event({ url, ...(init ? { init } : {}) }));
  }

  it('fetches from an allowed address with a node-fetch-like Response (status, headers, text, json, POST bodies)', async () => {
    const guarded = new GuardedFetch({ allowPrivate: ['127.0.0.1'], timeoutMs: 1000, maxResponseBytes: 100_000, maxRedirects: 2 });
    expect((await fetchFrom(guarded, `http://127.0.0.1:${port}/json`)).result).toEqual({ status: 200, ok: true, header: 'yes', body: '{"rate":1.5}', redirected: false });
    const posted = await fetchFrom(guarded, `http://127.0.0.1:${port}/echo`, { method: 'POST', body: '{"a":1}', headers: { 'Content-Type': 'application/json' } });
    expect(posted.result).toMatchObject({ status: 201, body: JSON.stringify({ body: '{"a":1}', type: 'application/json' }) });
    expect((await fetchFrom(guarded, `http://127.0.0.1:${port}/redirect-ok`)).result).toMatchObject({ status: 200, redirected: true });
    await guarded.close();
  });

  it('blocks loopback, link-local (cloud metadata) and private targets by default, and redirects into them', async () => {
    for (const url of [`http://127.0.0.1:${port}/json`, 'http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/', `http://localhost:${port}/json`, 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'file:///etc/passwd']) {
      expect((await fetchFrom(undefined, url)).error, url).toMatch(/is blocked|only http and https/);
    }
    const onlyFirst = new GuardedFetch({ allowPrivate: ['127.0.0.1'], timeoutMs: 1000, maxResponseBytes: 100_000, maxRedirects: 2 });
    expect((await fetchFrom(onlyFirst, `http://127.0.0.1:${port}/redirect-private`)).error).toContain('127.0.0.2 is blocked');
    await onlyFirst.close();
    expect(hits.filter((hit) => hit.startsWith('GET /json')).length).toBeGreaterThan(0);
  });

  it('trusts an operator\'s private CA for HTTPS when given one (SLUICE_FETCH_CA), and only then', async () => {
    const ca = makeTestCa();
    const server = createHttpsServer({ cert: ca.cert, key: ca.key }, (_request, response) => response.end('{"over":"tls"}'));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const policy = { allowPrivate: ['127.0.0.1'], timeoutMs: 2000, maxResponseBytes: 100_000, maxRedirects: 0 };
    const trusting = new GuardedFetch({ ...policy, extraCa: ca.caPem });
    const publicOnly = new GuardedFetch(policy);
    try {
      expect((await fetchFrom(trusting, url)).result).toMatchObject({ status: 200, body: '{"over":"tls"}' });
      expect((await fetchFrom(publicOnly, url)).error).toMatch(/certificate/i);
    } finally {
      await Promise.all([trusting.close(), publicOnly.close()]);
      server.close();
      ca.remove();
    }
  });

  it('caps response size and time', async () => {
    const strict = new GuardedFetch({ allowPrivate: true, timeoutMs: 300, maxResponseBytes: 100_000, maxRedirects: 0 });
    expect((await fetchFrom(strict, `http://127.0.0.1:${port}/big`)).error).toContain('larger than 100000 bytes');
    expect((await fetchFrom(strict, `http://127.0.0.1:${port}/slow`)).error).toContain('timed out after 300 ms');
    expect((await fetchFrom(strict, `http://127.0.0.1:${port}/redirect-ok`)).error).toContain('more than 0 redirects');
    await strict.close();
  });
});

describe('meta.geoip with no database configured (DB-IP\'s, from npm)', () => {
  it('answers MaxMind\'s City shape for IPv4 and IPv6, and null for unknown or invalid addresses', () => {
    const geoip = GeoIpDatabase.openDefault();
    const google = geoip.locate('8.8.8.8') as Record<string, any>;
    expect(google).toMatchObject({
      country: { isoCode: 'US', names: { en: 'United States' } },
      registeredCountry: { isoCode: 'US' },
      continent: { code: 'NA', names: { en: 'North America' } },
      location: { latitude: expect.any(Number), longitude: expect.any(Number) },
    });
    expect(google.subdivisions?.[0]).toMatchObject({ names: { en: expect.any(String) } });
    expect(geoip.locate('2001:4860:4860::8888')).toMatchObject({ country: { isoCode: expect.stringMatching(/^[A-Z]{2}$/) }, location: { latitude: expect.any(Number) } });
    // A subdivision's ISO code comes from its name where ISO 3166-2 lists it.
    const london = geoip.locate('81.2.69.142') as Record<string, any>;
    expect(london).toMatchObject({ city: { names: { en: 'London' } }, country: { isoCode: 'GB', names: { en: 'United Kingdom' } }, continent: { code: 'EU' }, subdivisions: [{ isoCode: 'ENG', names: { en: 'England' } }] });
    expect(geoip.locate('10.0.0.1')).toBeNull();
    expect(geoip.locate('not an address')).toBeNull();
  });
});

describe('meta.geoip with a MaxMind database', () => {
  it('locates an address as PostHog\'s apps read it (geoip2-node City model), and answers null for unknown ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-geoip-'));
    try {
      const file = join(dir, 'city.mmdb');
      await writeFile(file, writeMmdb('GeoLite2-City', [{
        network: '81.2.69.0', prefix: 24, record: {
          city: { geoname_id: 2643743, names: { en: 'London' } },
          country: { geoname_id: 2635167, iso_code: 'GB', names: { en: 'United Kingdom' } },
          continent: { code: 'EU', geoname_id: 6255148, names: { en: 'Europe' } },
          location: { latitude: { double: 51.5142 }, longitude: { double: -0.0931 }, time_zone: 'Europe/London', accuracy_radius: 10 },
          postal: { code: 'EC2V' },
          subdivisions: [{ iso_code: 'ENG', names: { en: 'England' } }],
        },
      }]));
      const geoip = await GeoIpDatabase.open(file);
      const props = await propertiesAfter(`
        export async function processEvent(event, { geoip }) {
          const found = await geoip.locate('81.2.69.160');
          event.properties.city = found.city.names.en;
          event.properties.country = found.country.isoCode;
          event.properties.lat = found.location.latitude;
          event.properties.tz = found.location.timeZone;
          event.properties.postal = found.postal.code;
          event.properties.subdivision = found.subdivisions[0].isoCode;
          event.properties.unknown = await geoip.locate('8.8.8.8');
          event.properties.notAnIp = await geoip.locate('not an ip');
          return event;
        }`, { geoip });
      expect(props).toMatchObject({ city: 'London', country: 'GB', lat: 51.5142, tz: 'Europe/London', postal: 'EC2V', subdivision: 'ENG', unknown: null, notAnIp: null });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the host-call channel', () => {
  it('refuses more than 10,000 waiting host calls of one VM with a clear error, and serves calls again afterwards', async () => {
    const cache = new MemoryAppCache();
    const props = await propertiesAfter(`
      export async function processEvent(event, { cache }) {
        const calls = [];
        for (let i = 0; i < 10001; i++) calls.push(cache.get('k').then(() => 'ok', (error) => error.message));
        const answers = await Promise.all(calls);
        event.properties.refused = answers.filter((answer) => answer !== 'ok');
        event.properties.after = await cache.get('missing', 'default');
        return event;
      }`, { cache });
    expect(props.refused).toEqual(['too many host calls waiting at once (meta.cache, meta.storage, fetch…): at most 10000']);
    expect(props.after).toBe('default');
  });
});
