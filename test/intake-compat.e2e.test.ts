import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { gzipSync } from 'node:zlib';
import LZString from 'lz-string';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, install, metricValue, storedEvents } from './helpers/api';
import { startCluster, type Cluster } from './helpers/cluster';
import { PROJECT_TOKEN, startSluice, waitFor, type RunningSluice } from './helpers/services';

function event(name: string, properties: Record<string, unknown> = {}) {
  return { event: name, distinct_id: 'compat-user', uuid: randomUUID(), properties };
}

async function send(url: string, path: string, init: RequestInit & { query?: Record<string, string> } = {}) {
  const query = init.query ? `?${new URLSearchParams(init.query)}` : '';
  const response = await fetch(`${url}${path}${query}`, { method: 'POST', ...init });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/**
 * A POST whose Content-Length is over the body limit, answered without its body being sent: the
 * intake refuses it at once and closes the connection, so sending the body would race that (EPIPE).
 */
function announceTooLarge(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', headers: { ...headers, 'content-length': String(30 * 1024 * 1024) } }, (response) => {
      resolve(response);
      response.resume();
      request.destroy();
    });
    request.on('error', reject);
    request.flushHeaders();
  });
}

async function storedByUuid(url: string, uuids: string[]) {
  return waitFor(`${uuids.length} events stored`, async () => {
    const stored = await storedEvents(url);
    const found = uuids.map((uuid) => stored.find((e) => e.uuid === uuid));
    return found.every(Boolean) && found;
  });
}

describe('intake compatibility with what PostHog clients send (sluice start)', () => {
  let sluice: RunningSluice;
  beforeAll(async () => {
    // The test client is the "proxy": X-Forwarded-For from 127.0.0.1 is believed.
    sluice = await startSluice({ SLUICE_TRUSTED_PROXIES: '127.0.0.1' });
  });
  afterAll(async () => sluice?.stop());

  it('accepts every endpoint, with and without trailing slash, and every body encoding', async () => {
    const sent: string[] = [];
    const one = (name: string) => {
      const e = { ...event(name), api_key: PROJECT_TOKEN };
      sent.push(e.uuid);
      return e;
    };
    const json = (value: unknown) => JSON.stringify(value);
    const answers = [
      await send(sluice.url, '/capture', { body: json(one('capture')), headers: { 'content-type': 'application/json' } }),
      await send(sluice.url, '/e/', { body: json([one('e-array')]) }),
      await send(sluice.url, '/i/v0/e/', { body: json({ api_key: PROJECT_TOKEN, batch: [one('i-v0-e')] }) }),
      await send(sluice.url, '/track', { body: json(one('track')) }),
      await send(sluice.url, '/batch/', { body: gzipSync(json({ api_key: PROJECT_TOKEN, batch: [one('gzip-header')] })), headers: { 'content-encoding': 'gzip' } }),
      await send(sluice.url, '/e/', { body: gzipSync(json([one('gzip-js')])), query: { compression: 'gzip-js' }, headers: { 'content-type': 'text/plain' } }),
      await send(sluice.url, '/e/', { body: Buffer.from(json(one('base64'))).toString('base64'), query: { compression: 'base64' } }),
      await send(sluice.url, '/e/', {
        body: `data=${encodeURIComponent(LZString.compressToBase64(json([one('lz64')])))}&compression=lz64`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      await send(sluice.url, '/e/', { body: `data=${encodeURIComponent(json(one('form-json')))}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      await send(sluice.url, '/e/', { method: 'GET', query: { data: Buffer.from(json(one('get-beacon'))).toString('base64'), ip: '1' } }),
      await send(sluice.url, '/capture/', { body: json({ ...event('query-token'), uuid: (() => { const u = randomUUID(); sent.push(u); return u; })() }), query: { token: PROJECT_TOKEN } }),
    ];
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(answers.every((a) => a.body.status === 1)).toBe(true);
    const stored = await storedByUuid(sluice.url, sent);
    expect(stored.map((e) => e!.event)).toEqual(['capture', 'e-array', 'i-v0-e', 'track', 'gzip-header', 'gzip-js', 'base64', 'lz64', 'form-json', 'get-beacon', 'query-token']);
  });

  it('records /engage person updates as $identify events', async () => {
    const answer = await send(sluice.url, '/engage/', { body: JSON.stringify({ $token: PROJECT_TOKEN, $distinct_id: 'engaged-1', $set: { plan: 'pro' } }) });
    expect(answer.status).toBe(200);
    const identified = await waitFor('the $identify event', async () =>
      (await storedEvents(sluice.url)).find((e) => e.event === '$identify' && e.distinct_id === 'engaged-1'));
    expect(identified.properties.$set).toEqual({ plan: 'pro' });
  });

  it('corrects client clock skew from sent_at, keeps valid uuids and makes v7 ones', async () => {
    const now = Date.now();
    const skewed = { ...event('skewed'), timestamp: new Date(now - 3_600_000 - 5_000).toISOString() };
    const noUuid = { event: 'no-uuid', distinct_id: 'compat-user', properties: { marker: randomUUID() } };
    // The client's clock is an hour behind: it stamped the event 5 s before sending.
    const answer = await send(sluice.url, '/batch', { body: JSON.stringify({ api_key: PROJECT_TOKEN, sent_at: new Date(now - 3_600_000).toISOString(), batch: [skewed, noUuid] }) });
    expect(answer.status).toBe(200);
    const [stored] = await storedByUuid(sluice.url, [skewed.uuid]);
    expect(Math.abs(Date.parse(stored!.timestamp) - (now - 5_000))).toBeLessThan(2_000);
    const generated = await waitFor('the event without uuid', async () =>
      (await storedEvents(sluice.url)).find((e) => e.properties.marker === noUuid.properties.marker));
    expect(generated.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('takes the client ip from X-Forwarded-For of a trusted proxy, honours $ip, and drops both for an anonymizing project', async () => {
    const forwarded = event('forwarded');
    const explicit = event('explicit-ip', { $ip: '203.0.113.9' });
    await send(sluice.url, '/batch', { body: JSON.stringify({ api_key: PROJECT_TOKEN, batch: [forwarded, explicit] }), headers: { 'x-forwarded-for': '198.51.100.7' } });
    const [a, b] = await storedByUuid(sluice.url, [forwarded.uuid, explicit.uuid]);
    expect(a).toMatchObject({ ip: '198.51.100.7', properties: { $ip: '198.51.100.7' } });
    expect(b).toMatchObject({ ip: '203.0.113.9', properties: { $ip: '203.0.113.9' } });

    const patched = await admin(sluice.url, 'PATCH', '/api/projects/default', { anonymizeIps: true });
    expect(patched).toMatchObject({ status: 200, body: { id: 'default', anonymizeIps: true } });
    const hidden = event('anonymized', { $ip: '203.0.113.10' });
    await send(sluice.url, '/batch', { body: JSON.stringify({ api_key: PROJECT_TOKEN, batch: [hidden] }), headers: { 'x-forwarded-for': '198.51.100.8' } });
    const [c] = await storedByUuid(sluice.url, [hidden.uuid]);
    expect(c!.ip).toBeNull();
    expect(c!.properties.$ip).toBeUndefined();
    await admin(sluice.url, 'PATCH', '/api/projects/default', { anonymizeIps: false });
  });

  it('answers browsers: CORS preflight and headers, /decide and /flags with no flags', async () => {
    const counted = async () => {
      const text = await (await fetch(`${sluice.url}/metrics`)).text();
      return (route: string, status: number) => metricValue(text, `sluice_capture_requests_total{route="${route}",status="${status}"}`);
    };
    const before = await counted();
    const preflight = await fetch(`${sluice.url}/e/`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    const captured = await fetch(`${sluice.url}/e/`, { method: 'POST', headers: { origin: 'https://shop.example' }, body: JSON.stringify({ ...event('cors'), api_key: PROJECT_TOKEN }) });
    expect(captured.status).toBe(200);
    expect(captured.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(captured.headers.get('access-control-allow-credentials')).toBe('true');
    expect(captured.headers.get('vary')).toBe('Origin');
    // A refusal carries them too, or the browser could not read why (before the handler as well: a body over the limit).
    const refused = await fetch(`${sluice.url}/e/`, { method: 'POST', headers: { origin: 'https://shop.example' }, body: JSON.stringify({ ...event('cors'), api_key: 'phc_unknown' }) });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const tooLarge = await announceTooLarge(`${sluice.url}/e/`, { origin: 'https://shop.example' });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.headers['access-control-allow-origin']).toBe('https://shop.example');
    // Without an Origin (server-side SDKs, curl) there is nothing to allow.
    const plain = await send(sluice.url, '/e/', { body: JSON.stringify({ ...event('cors'), api_key: PROJECT_TOKEN }) });
    expect(plain.status).toBe(200);
    for (const path of ['/decide/?v=3', '/flags/?v=2']) {
      const flags = await send(sluice.url, path, { headers: { origin: 'https://shop.example' }, body: JSON.stringify({ token: PROJECT_TOKEN, distinct_id: 'u' }) });
      expect(flags.status).toBe(200);
      expect(flags.headers.get('access-control-allow-origin')).toBe('https://shop.example');
      expect(flags.body).toMatchObject({ featureFlags: {}, flags: {}, errorsWhileComputingFlags: false });
    }
    // Every answer above is counted once, by route and status.
    const after = await counted();
    expect(after('/e', 200) - before('/e', 200)).toBe(2);
    expect(after('/e', 401) - before('/e', 401)).toBe(1);
    expect(after('/e', 413) - before('/e', 413)).toBe(1);
    expect(after('/decide', 200) - before('/decide', 200)).toBe(1);
    expect(after('/flags', 200) - before('/flags', 200)).toBe(1);
    expect(after('*', 204) - before('*', 204)).toBe(1);
  });

  it('refuses too many events per request and too deep events with a JSON 4xx', async () => {
    const tooDeep = JSON.parse(`${'{"a":'.repeat(150)}1${'}'.repeat(150)}`);
    const deep = await send(sluice.url, '/capture', { body: JSON.stringify({ ...event('deep', tooDeep), api_key: PROJECT_TOKEN }) });
    expect(deep).toMatchObject({ status: 400, body: { error: 'too_deep' } });
    const unsupported = await send(sluice.url, '/capture', { body: 'x', headers: { 'content-encoding': 'br' } });
    expect(unsupported).toMatchObject({ status: 415, body: { error: 'unsupported_encoding' } });
    // Past 128 KiB a body is checked on a thread: its refusals are the same.
    const largeDeep = { api_key: PROJECT_TOKEN, batch: [...Array.from({ length: 600 }, () => event('padding', { text: 'x'.repeat(300) })), event('deep', tooDeep)] };
    expect(await send(sluice.url, '/batch', { body: JSON.stringify(largeDeep) })).toMatchObject({ status: 400, body: { error: 'too_deep' } });
    const largeNameless = { api_key: PROJECT_TOKEN, batch: [...largeDeep.batch.slice(0, 600), { distinct_id: 'u' }] };
    expect(await send(sluice.url, '/batch', { body: JSON.stringify(largeNameless) })).toMatchObject({ status: 400, body: { error: 'missing_event_name' } });
  });

  it('stores every event of a large body (checked on a thread), with its ip and skew-corrected timestamps', async () => {
    const sentAt = new Date(Date.now() + 3_600_000).toISOString(); // the client's clock is an hour ahead
    const events = Array.from({ length: 800 }, (_, i) => ({ ...event(`large-${i}`, { text: 'é😀'.repeat(100) }), timestamp: sentAt }));
    const body = JSON.stringify({ api_key: PROJECT_TOKEN, sent_at: sentAt, batch: events });
    expect(Buffer.byteLength(body)).toBeGreaterThan(128 * 1024);
    const onThreads = async () => metricValue(await (await fetch(`${sluice.url}/metrics`)).text(), 'sluice_intake_body_checks_total{where="thread"}');
    const before = await onThreads();
    const answer = await send(sluice.url, '/batch', { body, headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(answer).toMatchObject({ status: 200, body: { status: 1 } });
    expect(await onThreads()).toBe(before + 1);
    const stored = await storedByUuid(sluice.url, events.map((e) => e.uuid));
    expect(stored.map((e) => e.event)).toEqual(events.map((e) => e.event));
    for (const e of stored) {
      expect(e.ip).toBe('203.0.113.9');
      expect(e.properties.text).toBe('é😀'.repeat(100));
      // timestamp == sent_at: the event happened "now" by the intake's clock, not an hour ahead.
      expect(Math.abs(Date.parse(e.timestamp) - Date.now())).toBeLessThan(60_000);
    }
  });
});

describe('intake protection (separate processes: a rate limit, backpressure and small limits)', () => {
  let cluster: Cluster;
  let sluice: { url: string };
  beforeAll(async () => {
    // The intake alone at first: nothing drains the queues until the test starts a worker.
    cluster = await startCluster({
      SLUICE_RATE_LIMIT_EVENTS_PER_SECOND: '100',
      SLUICE_RATE_LIMIT_BURST: '200',
      SLUICE_MAX_EVENTS_PER_REQUEST: '150',
      SLUICE_MAX_DECODED_BYTES: '1048576',
      SLUICE_BACKPRESSURE_WAITING_JOBS: '3',
      SLUICE_BATCH_MAX_EVENTS: '10',
    });
    sluice = cluster;
  });
  afterAll(async () => cluster?.stop());

  it('refuses more events per request than allowed, and a gzip bomb, with 413', async () => {
    const many = await send(sluice.url, '/batch', { body: JSON.stringify({ api_key: PROJECT_TOKEN, batch: Array.from({ length: 151 }, () => event('many')) }) });
    expect(many).toMatchObject({ status: 413, body: { error: 'too_many_events' } });
    const bomb = gzipSync(`{"api_key":"${PROJECT_TOKEN}","batch":[${' '.repeat(32 * 1024 * 1024)}]}`);
    expect(bomb.length).toBeLessThan(64 * 1024);
    const refused = await send(sluice.url, '/batch', { body: bomb, headers: { 'content-encoding': 'gzip' } });
    expect(refused).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
  });

  it('answers 429 with Retry-After past the project\'s rate, and accepts again after waiting', async () => {
    await new Promise((done) => setTimeout(done, 2100)); // a full bucket
    const batch = () => JSON.stringify({ api_key: PROJECT_TOKEN, batch: Array.from({ length: 100 }, () => event('rated')) });
    const first = await send(sluice.url, '/batch', { body: batch() });
    const second = await send(sluice.url, '/batch', { body: batch() });
    const third = await send(sluice.url, '/batch', { body: batch() });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(third).toMatchObject({ status: 429, body: { error: 'rate_limited' } });
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await new Promise((done) => setTimeout(done, Number(third.headers.get('retry-after')) * 1000 + 100));
    expect((await send(sluice.url, '/batch', { body: batch() })).status).toBe(200);
    const metrics = await (await fetch(`${sluice.url}/metrics`)).text();
    expect(metrics).toMatch(/sluice_intake_refused_events_total\{project="default",reason="rate_limit"\} 100/);
  });

  it('answers 503 with Retry-After while the first stage is too far behind, and accepts again once it caught up', async () => {
    await install(sluice.url, 'test/fixtures/apps/slow-stage', { ms: '1' });
    await new Promise((done) => setTimeout(done, 2100));
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    // No worker yet: every accepted request leaves one more waiting job in the stage's queue.
    for (let i = 0; i < 20 && !statuses.includes(503); i++) {
      const answer = await send(sluice.url, '/batch', { body: JSON.stringify({ api_key: PROJECT_TOKEN, batch: Array.from({ length: 10 }, () => event('pressure')) }) });
      statuses.push(answer.status);
      if (answer.status === 503) retryAfter = answer.headers.get('retry-after');
      await new Promise((done) => setTimeout(done, 100));
    }
    expect(statuses).toContain(503);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(4);
    expect(retryAfter).toBe('1');
    await cluster.start('worker');
    await waitFor('the stage to catch up and the intake to accept again', async () => {
      const answer = await send(sluice.url, '/batch', { body: JSON.stringify({ api_key: PROJECT_TOKEN, batch: [event('after')] }) });
      return answer.status === 200;
    }, 30_000, 500);
  });
});
