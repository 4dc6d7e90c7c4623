import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSampleEvents } from './fixtures/sample-events';
import { admin, appSource, post } from './helpers/api';
import { startCluster, type Cluster } from './helpers/cluster';
import { REDIS_URL, waitFor } from './helpers/services';
import { createRedis, scanKeys, type RedisClient } from '@sluice/queues';

/**
 * The compatibility corpus (test/compat/): well-known PostHog apps, re-created from their public
 * behaviour, installed through the admin API as users do and fed through the real pipeline
 * (intake, stage worker and runner as separate processes, Postgres, Redis). Each test checks the
 * stored output against what the original app documents, value for value.
 *
 * One cluster for all apps, one project per app (per config), so the apps never see each other's
 * events and everything is installed and sent up front.
 */

/** PostHog's retry delays at 1/100: onEvent's first retry after 50 ms. */
const RETRY_SCALE = 0.01;
/** runEveryDay, accelerated. */
const DAY_MS = 1500;
const PIPELINE_KEYS = ['$plugins_succeeded', '$plugins_failed', '$plugins_deferred'];

type Json = Record<string, any>;

const SAMPLE: Json[] = readSampleEvents();

/** Sample events matching `filter`, as clients send them: fresh uuids, optional overrides. */
function sample(count: number, filter: (event: Json) => boolean = () => true, overrides: (event: Json, index: number) => Json = () => ({})): Json[] {
  const picked = SAMPLE.filter(filter).slice(0, count);
  if (picked.length < count) throw new Error(`only ${picked.length} sample events match`);
  return picked.map((event, index) => {
    const copy = structuredClone(event);
    const extra = overrides(copy, index);
    return { ...copy, ...extra, properties: { ...copy.properties, ...extra.properties }, uuid: randomUUID() };
  });
}

function event(name: string, distinctId: string, properties: Json = {}): Json {
  return { event: name, distinct_id: distinctId, uuid: randomUUID(), timestamp: new Date().toISOString(), properties };
}

/** Properties without the pipeline's own $plugins_* lists. */
function appProperties(properties: Json): Json {
  return Object.fromEntries(Object.entries(properties).filter(([key]) => !PIPELINE_KEYS.includes(key)));
}

/** What an app receives for properties a client sent: the intake adds the client's address as $ip, as PostHog's does. */
function received(properties: Json): Json {
  return { ...properties, $ip: '127.0.0.1' };
}

interface Project {
  id: string;
  token: string;
  instance: { id: number; appId: number; name: string };
  label: string;
}

describe('compatibility corpus: PostHog apps, unmodified, through the real pipeline (separate processes, Postgres)', () => {
  let cluster: Cluster;
  let stub: Server;
  let stubUrl: string;
  let redis: RedisClient;
  const projects: Record<string, Project> = {};

  // ---- The local stub: OpenExchangeRates' latest.json and a webhook receiver. ----
  let rates: Record<string, number> = { USD: 1, EUR: 0.9, GBP: 0.8, JPY: 150 };
  const ratesRequests: Array<{ at: number; appId: string | null; served: Record<string, number> }> = [];
  const webhookRequests: Array<{ at: number; body: Json; authorization: string | undefined }> = [];
  const webhookSeen = new Set<string>();

  const readBody = (request: IncomingMessage) => new Promise<string>((done) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => done(body));
  });

  async function project(key: string, name: string, dir: string, config: Record<string, string>): Promise<Project> {
    const created = await admin(cluster.url, 'POST', '/api/projects', { name });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const installed = await admin(cluster.url, 'POST', `/api/projects/${created.body.id}/apps`, { source: appSource(dir), config });
    expect(installed.status, JSON.stringify(installed.body)).toBe(201);
    const instance = installed.body;
    projects[key] = { id: created.body.id, token: created.body.token, instance, label: `${instance.name} (${instance.id})` };
    return projects[key]!;
  }

  async function send(key: string, events: Json[]): Promise<void> {
    const { status, body } = await post(cluster.url, '/batch', { api_key: projects[key]!.token, batch: events });
    if (status !== 200) throw new Error(`capture into ${key}: ${status} ${JSON.stringify(body)}`);
  }

  /** The stored events of `key`'s project with these uuids, once all of them are there, by uuid. */
  async function stored(key: string, events: Json[]): Promise<Map<string, Json>> {
    const wanted = new Set(events.map((e) => e.uuid as string));
    return waitFor(`${events.length} events stored in ${key}`, async () => {
      const { status, body } = await admin(cluster.url, 'GET', `/api/projects/${projects[key]!.id}/events?limit=1000`);
      if (status !== 200) throw new Error(`events: ${status}`);
      const found = new Map<string, Json>((body.results as Json[]).filter((e) => wanted.has(e.uuid)).map((e) => [e.uuid, e]));
      return found.size === wanted.size && found;
    }, 20_000, 100);
  }

  async function logs(key: string): Promise<Array<{ timestamp: string; level: string; message: string }>> {
    const { id, instance } = projects[key]!;
    const { status, body } = await admin(cluster.url, 'GET', `/api/projects/${id}/apps/${instance.id}/logs?limit=1000`);
    if (status !== 200) throw new Error(`logs: ${status}`);
    return body.results.reverse();
  }

  beforeAll(async () => {
    stub = createServer(async (request, response) => {
      const url = new URL(request.url!, 'http://stub');
      if (url.pathname === '/api/latest.json') {
        ratesRequests.push({ at: Date.now(), appId: url.searchParams.get('app_id'), served: rates });
        if (url.searchParams.get('app_id') !== 'oxr-test-key') return response.writeHead(401).end('{"error":true,"status":401,"message":"invalid_app_id"}');
        return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ disclaimer: 'stub', base: 'USD', timestamp: Math.floor(Date.now() / 1000), rates }));
      }
      if (url.pathname === '/webhook' && request.method === 'POST') {
        const body = JSON.parse(await readBody(request)) as Json;
        webhookRequests.push({ at: Date.now(), body, authorization: request.headers.authorization });
        if (body.properties?.reject) return response.writeHead(400).end('unknown event schema');
        // Busy the first time each event comes; fine after that.
        if (!webhookSeen.has(body.uuid)) {
          webhookSeen.add(body.uuid);
          return response.writeHead(503).end('try later');
        }
        return response.writeHead(200).end('ok');
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((done) => stub.listen(0, '127.0.0.1', done));
    stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
    redis = createRedis(REDIS_URL);

    cluster = await startCluster({
      // Apps may reach the stub (and only the loopback address it listens on).
      SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1',
      SLUICE_RUN_EVERY_DAY_MS: String(DAY_MS),
      SLUICE_RETRY_DELAY_SCALE: String(RETRY_SCALE),
    });
    await Promise.all([cluster.start('worker'), cluster.start('runner')]);

    await Promise.all([
      project('hello', 'compat-hello', 'test/compat/hello-world', { greeting: 'Hej från Sluice!' }),
      project('helloDefault', 'compat-hello-default', 'test/compat/hello-world', {}),
      project('filter', 'compat-property-filter', 'test/compat/property-filter', {
        properties: '$set.email,$set.gender,$ip,$raw_user_agent,foo.bar.baz.one,nonExisting,no-such.with-dot',
      }),
      project('camelCase', 'compat-taxonomy-camel', 'test/compat/taxonomy', { defaultNamingConvention: 'camelCase' }),
      project('PascalCase', 'compat-taxonomy-pascal', 'test/compat/taxonomy', { defaultNamingConvention: 'PascalCase' }),
      project('snake_case', 'compat-taxonomy-snake', 'test/compat/taxonomy', { defaultNamingConvention: 'snake_case' }),
      project('kebab-case', 'compat-taxonomy-kebab', 'test/compat/taxonomy', { defaultNamingConvention: 'kebab-case' }),
      project('spaces in between', 'compat-taxonomy-spaces', 'test/compat/taxonomy', { defaultNamingConvention: 'spaces in between' }),
      project('url', 'compat-url-normalizer', 'test/compat/url-normalizer', {}),
      project('firstTime', 'compat-first-time', 'test/compat/first-time-event-tracker', { events: 'signed_up,purchase' }),
      project('currency', 'compat-currency', 'test/compat/currency-normalization', {
        openExchangeRatesApiKey: 'oxr-test-key', normalizedCurrency: 'EUR', ratesUrl: `${stubUrl}/api/latest.json`,
      }),
      project('webhook', 'compat-webhook', 'test/compat/retry-destination', { webhookUrl: `${stubUrl}/webhook`, authToken: 's3cret' }),
    ]);
  });

  afterAll(async () => {
    await cluster?.stop();
    redis?.disconnect();
    await new Promise((done) => stub?.close(done));
  });

  it('hello world (export default { setupPlugin, processEvent }): adds the configured greeting, "Hello world!" by default', async () => {
    const greeted = sample(3);
    const defaulted = sample(2, (e) => e.event === '$pageview');
    await Promise.all([send('hello', greeted), send('helloDefault', defaulted)]);
    const [storedGreeted, storedDefault] = await Promise.all([stored('hello', greeted), stored('helloDefault', defaulted)]);
    for (const input of greeted) {
      const output = storedGreeted.get(input.uuid)!;
      expect(output.event).toBe(input.event);
      expect(output.ip).toBe('127.0.0.1'); // what the property filter's "$ip" must clear
      expect(appProperties(output.properties)).toEqual({ ...received(input.properties), greeting: 'Hej från Sluice!' });
      expect(output.properties.$plugins_succeeded).toEqual([projects.hello!.label]);
    }
    for (const input of defaulted) expect(storedDefault.get(input.uuid)!.properties.greeting).toBe('Hello world!');
    await waitFor('setupPlugin\'s log line', async () => (await logs('hello')).some((line) => line.message === 'greeting set to "Hej från Sluice!"'));
  });

  it('property filter (module.exports): removes the listed properties, nested ones by dots; "$ip" also clears event.ip', async () => {
    const events = sample(3, (e) => e.event === '$pageview', (_, index) => ({
      properties: {
        $set: { email: `user${index}@example.com`, gender: 'female', plan: 'pro' },
        foo: { bar: { baz: { one: 'one', two: 'two' } } },
        'no-such': 'kept: no "with-dot" inside',
      },
    }));
    await send('filter', events);
    const output = await stored('filter', events);
    for (const input of events) {
      const stored = output.get(input.uuid)!;
      const { $raw_user_agent, $ip, ...expected } = input.properties;
      expect($raw_user_agent).toBeTypeOf('string'); // it was there to be removed
      expect(appProperties(stored.properties)).toEqual({ ...expected, $set: { plan: 'pro' }, foo: { bar: { baz: { two: 'two' } } } });
      expect(stored.ip).toBeNull();
      expect(stored.properties.$plugins_succeeded).toEqual([projects.filter!.label]);
    }
  });

  it('taxonomy (deprecated processEventBatch): converts event names between the five patterns, leaves $ and survey events alone', async () => {
    // The conversions the original documents (README patterns, its test cases).
    const cases: Record<string, Array<[string, string]>> = {
      camelCase: [['user_signed_up', 'userSignedUp'], ['checkout-completed', 'checkoutCompleted'], ['HelloThereWorld', 'helloThereWorld'], ['hello there world', 'helloThereWorld'], ['helloThereWorld', 'helloThereWorld']],
      PascalCase: [['user_signed_up', 'UserSignedUp'], ['user logged in', 'UserLoggedIn'], ['checkout-completed', 'CheckoutCompleted'], ['helloThereWorld', 'HelloThereWorld']],
      snake_case: [['userSignedUp', 'user_signed_up'], ['checkout-completed', 'checkout_completed'], ['HelloThereWorld', 'hello_there_world'], ['hello there world', 'hello_there_world']],
      'kebab-case': [['userSignedUp', 'user-signed-up'], ['checkout_completed', 'checkout-completed'], ['hello there world', 'hello-there-world']],
      'spaces in between': [['userSignedUp', 'user signed up'], ['user-logged-in', 'user logged in'], ['checkout_completed', 'checkout completed'], ['HelloThereWorld', 'hello there world']],
    };
    const untouched = ['$pageview', '$autocapture', '$feature_flag_called', 'survey shown', 'survey sent', 'survey dismissed'];
    const sent: Record<string, Json[]> = {};
    for (const [convention, pairs] of Object.entries(cases)) {
      sent[convention] = [...pairs.map(([name]) => name), ...untouched].map((name) => event(name, 'taxonomy-user', { $current_url: 'https://shop.example.com/' }));
    }
    await Promise.all(Object.entries(sent).map(([convention, events]) => send(convention, events)));
    for (const [convention, pairs] of Object.entries(cases)) {
      const output = await stored(convention, sent[convention]!);
      const names = sent[convention]!.map((input) => output.get(input.uuid)!.event);
      expect(names, convention).toEqual([...pairs.map(([, converted]) => converted), ...untouched]);
      for (const input of sent[convention]!) {
        expect(appProperties(output.get(input.uuid)!.properties)).toEqual(received(input.properties));
        expect(output.get(input.uuid)!.properties.$plugins_succeeded).toEqual([projects[convention]!.label]);
      }
    }
  });

  it('url normalizer (TypeScript, src/index.ts + ./normalize): lowercases $current_url and drops a trailing slash; an invalid URL fails the app, not the event', async () => {
    // The original's documented cases: [sent, stored].
    const cases: Array<[string, string]> = [
      ['http://www.google.com/test', 'http://www.google.com/test'],
      ['http://www.GoOGle.com/WhatAreYouThinking', 'http://www.google.com/whatareyouthinking'],
      ['http://www.google.com/this_is_a_test/', 'http://www.google.com/this_is_a_test'],
      ['http://www.google.com/', 'http://www.google.com/'],
      ['http://www.google.com/this_is_a_test#id_anchor', 'http://www.google.com/this_is_a_test#id_anchor'],
      ['http://www.google.com/this_is_a_test_with_trailing_slash/#id_anchor', 'http://www.google.com/this_is_a_test_with_trailing_slash#id_anchor'],
      ['https://Shop.Example.com/Blog/2024/Launch/?UTM_Source=Newsletter', 'https://shop.example.com/blog/2024/launch?utm_source=newsletter'],
    ];
    const pageviews = sample(cases.length, (e) => e.event === '$pageview', (_, index) => ({ properties: { $current_url: cases[index]![0] } }));
    const [invalid] = sample(1, (e) => e.event === '$pageview', () => ({ properties: { $current_url: 'invalid url' } }));
    const identify = event('$identify', 'url-user', { $set: { plan: 'pro' } });
    const events = [...pageviews, invalid!, identify];
    await send('url', events);
    const output = await stored('url', events);
    pageviews.forEach((input, index) => {
      const stored = output.get(input.uuid)!;
      expect(stored.properties.$current_url).toBe(cases[index]![1]);
      expect(appProperties(stored.properties)).toEqual({ ...received(input.properties), $current_url: cases[index]![1] });
    });
    // processEvent threw: PostHog lets the event go on as it stood, marked failed.
    const failed = output.get(invalid!.uuid)!;
    expect(failed.properties.$current_url).toBe('invalid url');
    expect(failed.properties.$plugins_failed).toEqual([projects.url!.label]);
    expect(failed.properties.$plugins_succeeded).toBeUndefined();
    expect(appProperties(output.get(identify.uuid)!.properties)).toEqual(received(identify.properties));
    const lines = await waitFor('the app\'s logs', async () => {
      const all = await logs('url');
      return all.some((line) => line.message.includes('Unable to normalize invalid URL: "invalid url"')) && all;
    });
    expect(lines).toContainEqual(expect.objectContaining({
      level: 'debug', message: 'event.$current_url: "http://www.GoOGle.com/WhatAreYouThinking" normalized to "http://www.google.com/whatareyouthinking"',
    }));
  });

  it('first-time event tracker (module.exports = plugin; meta.storage + meta.cache): is_first_event_ever / is_first_event_for_user', async () => {
    const first = event('signed_up', 'ada');
    await send('firstTime', [first]);
    const one = await stored('firstTime', [first]);
    expect(appProperties(one.get(first.uuid)!.properties)).toEqual(received({ is_first_event_ever: true, is_first_event_for_user: true }));

    const again = event('signed_up', 'ada', { plan: 'pro' });
    const otherUser = event('signed_up', 'grace');
    const firstPurchase = event('purchase', 'ada', { amount: 10 });
    const untracked = event('$pageview', 'ada', { $current_url: 'https://shop.example.com/' });
    await send('firstTime', [again, otherUser, firstPurchase, untracked]);
    const two = await stored('firstTime', [again, otherUser, firstPurchase, untracked]);
    expect(appProperties(two.get(again.uuid)!.properties)).toEqual(received({ plan: 'pro', is_first_event_ever: false, is_first_event_for_user: false }));
    expect(appProperties(two.get(otherUser.uuid)!.properties)).toEqual(received({ is_first_event_ever: false, is_first_event_for_user: true }));
    expect(appProperties(two.get(firstPurchase.uuid)!.properties)).toEqual(received({ amount: 10, is_first_event_ever: true, is_first_event_for_user: true }));
    expect(appProperties(two.get(untracked.uuid)!.properties)).toEqual(received(untracked.properties));

    const secondPurchase = event('purchase', 'grace');
    await send('firstTime', [secondPurchase]);
    const three = await stored('firstTime', [secondPurchase]);
    expect(appProperties(three.get(secondPurchase.uuid)!.properties)).toEqual(received({ is_first_event_ever: false, is_first_event_for_user: true }));

    // A person's two events in one batch: the second sees the first (issue 14: one person's events run in order).
    const linFirst = event('signed_up', 'lin');
    const linSecond = event('signed_up', 'lin', { plan: 'pro' });
    await send('firstTime', [linFirst, linSecond]);
    const four = await stored('firstTime', [linFirst, linSecond]);
    expect(appProperties(four.get(linFirst.uuid)!.properties)).toEqual(received({ is_first_event_ever: false, is_first_event_for_user: true }));
    expect(appProperties(four.get(linSecond.uuid)!.properties)).toEqual(received({ plan: 'pro', is_first_event_ever: false, is_first_event_for_user: false }));

    // What it remembered: persistent flags in Postgres (meta.storage), copies in Redis (meta.cache).
    const db = await cluster.db();
    try {
      const { rows } = await db.query('SELECT key, value FROM app_storage WHERE instance_id = $1 ORDER BY key', [projects.firstTime!.instance.id]);
      expect(rows).toEqual(['purchase', 'purchase_ada', 'purchase_grace', 'signed_up', 'signed_up_ada', 'signed_up_grace', 'signed_up_lin'].map((key) => ({ key, value: 'true' })));
    } finally {
      await db.end();
    }
    const cached: string[] = [];
    for await (const keys of scanKeys(redis, `${cluster.env.SLUICE_REDIS_PREFIX}:cache:${projects.firstTime!.instance.id}:seen:*`)) cached.push(...keys);
    expect(cached.map((key) => key.split(':seen:')[1]).sort()).toEqual(['purchase', 'purchase_ada', 'purchase_grace', 'signed_up', 'signed_up_ada', 'signed_up_grace', 'signed_up_lin']);
  });

  it('currency normalization (CommonJS over two files; fetch + meta.storage + runEveryDay): converts amounts with rates it refreshes daily', async () => {
    const purchase = (amount: number, currency: string) => sample(1, (e) => e.event !== '$pageview', () => ({ event: 'purchase', properties: { amount, currency } }))[0]!;
    const before = [purchase(100, 'GBP'), purchase(19.99, 'USD'), purchase(1000, 'JPY'), purchase(5, 'XYZ'), purchase(42, 'EUR')];
    const noCurrency = event('purchase', 'cur-user', { amount: 7 });
    await send('currency', [...before, noCurrency]);
    const first = await stored('currency', [...before, noCurrency]);
    // roundToDigits(amount * rates.EUR / rates[currency], 4) with the stub's rates.
    const expectedBefore = [112.5, 17.991, 6, undefined, 42];
    before.forEach((input, index) => {
      const properties = appProperties(first.get(input.uuid)!.properties);
      if (expectedBefore[index] === undefined) expect(properties).toEqual(received(input.properties));
      else expect(properties).toEqual({ ...received(input.properties), normalized_amount: expectedBefore[index], normalized_currency: 'EUR' });
    });
    expect(appProperties(first.get(noCurrency.uuid)!.properties)).toEqual(received({ amount: 7 }));
    expect(ratesRequests.length).toBeGreaterThan(0);
    expect(ratesRequests.every((request) => request.appId === 'oxr-test-key')).toBe(true);

    // New rates at the source: the next daily run picks them up, and events use them.
    const changedAt = Date.now();
    rates = { USD: 1, EUR: 0.95, GBP: 0.8, JPY: 150 };
    await waitFor('a runEveryDay refresh with the new rates', async () => {
      const refreshed = (await logs('currency')).some((line) => line.message === 'refreshed 4 currency rates' && Date.parse(line.timestamp) > changedAt);
      return refreshed && ratesRequests.some((request) => request.at > changedAt && request.served.EUR === 0.95);
    }, 15_000, 200);
    const after = [purchase(100, 'GBP'), purchase(19.99, 'USD')];
    await send('currency', after);
    const second = await stored('currency', after);
    expect(appProperties(second.get(after[0]!.uuid)!.properties)).toEqual({ ...received(after[0]!.properties), normalized_amount: 118.75, normalized_currency: 'EUR' });
    expect(appProperties(second.get(after[1]!.uuid)!.properties)).toEqual({ ...received(after[1]!.properties), normalized_amount: 18.9905, normalized_currency: 'EUR' });
    // The API key is a secret: masked in the API.
    const { body } = await admin(cluster.url, 'GET', `/api/projects/${projects.currency!.id}/apps/${projects.currency!.instance.id}`);
    expect(body.config.openExchangeRatesApiKey).not.toContain('oxr-test-key');
  });

  it('TypeScript destination importing RetryError from @posthog/plugin-scaffold: retried after a 503, delivered once the webhook is up; a 400 is not retried', async () => {
    const events = sample(3, (e) => e.event === '$autocapture');
    const rejected = event('bad schema', 'hook-user', { reject: true });
    await send('webhook', [...events, rejected]);
    await waitFor('every event delivered on its second attempt', async () => {
      const delivered = (await logs('webhook')).map((line) => line.message);
      return events.every((input) => delivered.includes(`delivered ${input.uuid} on attempt 2`));
    }, 20_000, 200);
    const storedEvents = await stored('webhook', [...events, rejected]);
    const { body: project } = await admin(cluster.url, 'GET', `/api/projects/${projects.webhook!.id}`);
    expect(project.teamId).toEqual(expect.any(Number));
    for (const input of events) {
      const attempts = webhookRequests.filter((request) => request.body.uuid === input.uuid);
      expect(attempts.map((request) => request.body.attempt)).toEqual([1, 2]);
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(5000 * RETRY_SCALE - 5);
      const stored = storedEvents.get(input.uuid)!;
      // What the webhook got is the stored event (onEvent sees events after storage).
      expect(attempts[1]!.body).toEqual({
        uuid: input.uuid, event: input.event, distinct_id: input.distinct_id, team_id: project.teamId, timestamp: stored.timestamp, properties: stored.properties, attempt: 2,
      });
      expect(appProperties(stored.properties)).toEqual(received(input.properties));
      expect(attempts.every((request) => request.authorization === 'Bearer s3cret')).toBe(true);
    }
    const letters = await waitFor('the refused event in the dead letters', async () => {
      const { body } = await admin(cluster.url, 'GET', `/api/projects/${projects.webhook!.id}/dead-letters`);
      return body.total >= 1 && body.results;
    });
    expect(letters).toEqual([expect.objectContaining({
      instanceId: projects.webhook!.instance.id, function: 'onEvent', attempts: 1, error: 'webhook refused the event: 400 unknown event schema',
    })]);
    expect(letters[0].event.uuid).toBe(rejected.uuid);
    expect(webhookRequests.filter((request) => request.body.uuid === rejected.uuid)).toHaveLength(1);
  });
});
