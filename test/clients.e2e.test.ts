import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { PostHog, type PostHogOptions } from 'posthog-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedEvents } from './helpers/api';
import { launchChromium, startPageServer, startRecordingTap, type PageServer, type RecordingTap, type TappedRequest } from './helpers/browser';
import { PROJECT_TOKEN, REPO_ROOT, startSluice, waitFor, type RunningSluice } from './helpers/services';

/** An event as a client puts it on the wire. */
interface SentEvent {
  uuid: string;
  event: string;
  distinct_id?: string;
  properties: Record<string, any>;
  timestamp?: string;
  $set?: Record<string, unknown>;
  $set_once?: Record<string, unknown>;
}

interface CaptureBody {
  api_key: string;
  batch: SentEvent[];
  sent_at?: string;
}

/** posthog-node sends distinct_id at the top level, posthog-js inside properties. */
const distinctIdOf = (event: SentEvent) => String(event.distinct_id ?? event.properties.distinct_id);

/**
 * Waits until every sent event is stored, then checks each one against what the client sent:
 * same uuid, name and distinct_id, every property it sent, and its timestamp.
 */
async function expectAllStored(url: string, sentEvents: SentEvent[]): Promise<Map<string, any>> {
  // A client may send an event again (a retry, a flush on page unload): it is stored once, by uuid.
  const sent = [...new Map(sentEvents.map((event) => [event.uuid, event])).values()];
  const uuids = new Set(sent.map((event) => event.uuid));
  const stored = async () => new Map((await storedEvents(url)).filter((row) => uuids.has(row.uuid)).map((row) => [row.uuid as string, row]));
  let rows: Map<string, any>;
  try {
    rows = await waitFor(`${sent.length} events stored`, async () => {
      const found = await stored();
      return found.size === uuids.size && found;
    }, 20_000, 200);
  } catch {
    const found = await stored();
    const missing = sent.filter((event) => !found.has(event.uuid)).map((event) => `${event.event} ${event.uuid}`);
    throw new Error(`${missing.length} of ${sent.length} sent events were never stored: ${missing.join(', ')}`);
  }
  for (const event of sent) {
    const row = rows.get(event.uuid)!;
    expect(row.event, event.uuid).toBe(event.event);
    expect(row.distinct_id, `${event.event} ${event.uuid}`).toBe(distinctIdOf(event));
    expect(row.properties, `${event.event} ${event.uuid}`).toMatchObject(event.properties);
    if (event.timestamp) expect(Math.abs(Date.parse(row.timestamp) - Date.parse(event.timestamp))).toBeLessThan(60_000);
  }
  return rows;
}

/** Requests the intake refused or never answered, as "METHOD url → status body" (empty when all went well). */
function refused(requests: Array<{ method: string; url: string; status: number | null; responseText: string }>) {
  return requests
    .filter((request) => request.status === null || request.status >= 300)
    .map((request) => `${request.method} ${request.url} → ${request.status ?? 'no answer'} ${request.responseText}`.trim());
}

describe('the real PostHog clients from npm, pointed at the intake (sluice start)', () => {
  let sluice: RunningSluice;

  beforeAll(async () => {
    sluice = await startSluice();
  });

  afterAll(async () => {
    await sluice?.stop();
  });

  describe('posthog-node', () => {
    interface NodeRequest {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: Buffer;
      status: number;
      responseText: string;
    }

    /** Runs the client through its own fetch, recording each request as sent and the intake's answer. */
    async function runNodeClient(options: Partial<PostHogOptions>, distinctId: string) {
      const requests: NodeRequest[] = [];
      const errors: string[] = [];
      const recordingFetch: NonNullable<PostHogOptions['fetch']> = async (url, init) => {
        const response = await fetch(url, init as RequestInit);
        const text = await response.text();
        const body = init.body === undefined ? Buffer.alloc(0) : init.body instanceof Blob ? Buffer.from(await init.body.arrayBuffer()) : Buffer.from(init.body);
        const headers = Object.fromEntries(Object.entries(init.headers).map(([name, value]) => [name.toLowerCase(), value]));
        requests.push({ method: init.method, url, headers, body, status: response.status, responseText: text });
        return { status: response.status, text: async () => text, json: async () => JSON.parse(text), headers: response.headers };
      };
      const client = new PostHog(PROJECT_TOKEN, {
        host: sluice.url,
        // Batches of three, flushed as soon as three are queued; shutdown() flushes the rest.
        flushAt: 3,
        maxBatchSize: 3,
        flushInterval: 10_000,
        fetchRetryDelay: 100,
        fetch: recordingFetch,
        ...options,
      });
      client.on('error', (error) => errors.push(String(error)));
      const company = `acme-${distinctId}`;
      client.capture({
        distinctId,
        event: 'order_placed',
        properties: { order_id: 1001, total: 59.9, items: [{ sku: 'A-1', qty: 2 }], coupon: null, note: 'ünïcødé ✓ 🚀' },
      });
      client.capture({ distinctId, event: 'order_placed', properties: { order_id: 1002, total: 5, items: [] } });
      client.identify({ distinctId, properties: { email: `${distinctId}@example.com`, plan: 'pro' } });
      client.alias({ distinctId, alias: `${distinctId}-alias` });
      client.groupIdentify({ groupType: 'company', groupKey: company, properties: { name: 'Acme', employees: 12 } });
      client.capture({ distinctId, event: 'report_exported', groups: { company }, properties: { format: 'csv' } });
      client.capture({ distinctId, event: 'order_refunded', properties: { order_id: 1002, reason: 'changed mind' } });
      await client.shutdown(10_000);
      const sent = requests.flatMap((request) => {
        const raw = request.headers['content-encoding'] === 'gzip' ? gunzipSync(request.body) : request.body;
        return (JSON.parse(raw.toString('utf8')) as CaptureBody).batch;
      });
      return { requests, errors, sent, company };
    }

    async function expectNodeRun(run: Awaited<ReturnType<typeof runNodeClient>>, distinctId: string) {
      expect(refused(run.requests)).toEqual([]);
      expect(run.errors).toEqual([]);
      for (const request of run.requests) {
        expect(request.method).toBe('POST');
        expect(request.url).toBe(`${sluice.url}/batch/`);
        expect(request.headers['content-type']).toBe('application/json');
        expect(JSON.parse(request.responseText)).toEqual({ status: 1 });
      }
      // Several batches: the flushes at three events, and shutdown's flush of the rest.
      expect(run.requests.length).toBeGreaterThanOrEqual(3);
      expect(run.sent.map((event) => event.event)).toEqual([
        'order_placed', 'order_placed', '$identify', '$create_alias', '$groupidentify', 'report_exported', 'order_refunded',
      ]);
      const rows = await expectAllStored(sluice.url, run.sent);
      const byName = (name: string) => [...rows.values()].find((row) => row.event === name);
      expect(byName('$identify').properties.$set).toEqual({ email: `${distinctId}@example.com`, plan: 'pro' });
      expect(byName('$create_alias').properties).toMatchObject({ distinct_id: distinctId, alias: `${distinctId}-alias` });
      expect(byName('$groupidentify')).toMatchObject({
        distinct_id: `$company_${run.company}`,
        properties: { $group_type: 'company', $group_key: run.company, $group_set: { name: 'Acme', employees: 12 } },
      });
      expect(byName('report_exported').properties.$groups).toEqual({ company: run.company });
      expect(byName('order_placed').properties.$lib).toBe('posthog-node');
    }

    it('gzip (the default: Content-Encoding: gzip on /batch/): capture, identify, alias, groupIdentify, batch flush — every event stored', async () => {
      const run = await runNodeClient({}, 'node-user-gzip');
      expect(run.requests.every((request) => request.headers['content-encoding'] === 'gzip')).toBe(true);
      expect(run.requests.every((request) => request.body[0] === 0x1f && request.body[1] === 0x8b)).toBe(true);
      await expectNodeRun(run, 'node-user-gzip');
    });

    it('uncompressed (disableCompression: true: plain JSON on /batch/) — every event stored', async () => {
      const run = await runNodeClient({ disableCompression: true }, 'node-user-plain');
      expect(run.requests.some((request) => 'content-encoding' in request.headers)).toBe(false);
      await expectNodeRun(run, 'node-user-plain');
    });
  });

  describe('posthog-js in headless Chromium', () => {
    type Encoding = 'gzip' | 'base64' | 'json';
    const SHOP = readFileSync(join(REPO_ROOT, 'test/fixtures/clients/shop.html'), 'utf8');
    let browser: Browser;
    let pages: PageServer;
    /** The shop page's HTML by path, filled in by each test. */
    const pageHtml: Record<string, string> = {};
    const taps: RecordingTap[] = [];

    beforeAll(async () => {
      [browser, pages] = await Promise.all([launchChromium(), startPageServer(pageHtml)]);
    });

    afterAll(async () => {
      await browser?.close();
      await pages?.close();
      await Promise.all(taps.map((tap) => tap.close()));
    });

    const pathOf = (request: TappedRequest) => new URL(request.url).pathname.replace(/\/$/, '');
    const isCapture = (request: TappedRequest) => request.method === 'POST' && ['/e', '/i/v0/e', '/batch', '/capture'].includes(pathOf(request));

    /** A capture request's body as posthog-js encodes it: raw gzip, `data=` base64 (compression=base64) or JSON. */
    function decodeCapture(request: TappedRequest): { encoding: Encoding; body: CaptureBody } {
      const bytes = request.body;
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) return { encoding: 'gzip', body: JSON.parse(gunzipSync(bytes).toString('utf8')) };
      if (new URL(request.url).searchParams.get('compression') === 'base64') {
        const data = new URLSearchParams(bytes.toString('utf8')).get('data') ?? '';
        return { encoding: 'base64', body: JSON.parse(Buffer.from(data, 'base64').toString('utf8')) };
      }
      return { encoding: 'json', body: JSON.parse(bytes.toString('utf8')) };
    }

    /**
     * Opens the shop page (posthog-js with `extraConfig`) in a fresh context, lets `act` use
     * posthog-js, then leaves the page ($pageleave goes out as the page unloads) and waits until all
     * `expected` event names went out. posthog-js's api_host is a tap that forwards every request to
     * the intake unchanged and records it with the intake's answer.
     */
    async function visitShop(path: string, extraConfig: Record<string, unknown>, expected: string[], act: (page: Page) => Promise<void>) {
      const tap = await startRecordingTap(sluice.url);
      taps.push(tap);
      pageHtml[path] = SHOP.replace('__PROJECT_TOKEN__', PROJECT_TOKEN)
        .replace('__SLUICE_URL__', tap.url)
        .replace('__EXTRA_CONFIG__', JSON.stringify(extraConfig));
      const context = await browser.newContext();
      const consoleLines: string[] = [];
      const sentEvents = () => tap.requests.filter(isCapture).flatMap((request) => decodeCapture(request).body.batch);
      const waitSent = async (names: string[]) =>
        waitFor(`${names.join(', ')} sent`, async () => {
          const sent = new Set(sentEvents().map((event) => event.event));
          return names.every((name) => sent.has(name));
        }, 15_000, 100).catch((error: Error) => {
          throw new Error(`${error.message}; sent ${JSON.stringify(sentEvents().map((e) => e.event))}; requests ${JSON.stringify(
            tap.requests.map((r) => `${r.method} ${r.url} → ${r.status}`),
          )}; console: ${consoleLines.join(' | ')}`);
        });
      try {
        const page = await context.newPage();
        page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
        page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
        await page.goto(`${pages.url}${path}`);
        await page.waitForFunction(() => (globalThis as any).posthog?.__loaded === true);
        await act(page);
        await waitSent(expected.filter((name) => name !== '$pageleave'));
        // Leave only once the intake has answered: posthog-js sends again on unload what is still in flight.
        await tap.settled();
        await page.goto('about:blank');
        await waitSent(['$pageleave']);
        await tap.settled();
      } finally {
        await context.close();
      }
      const captures = tap.requests.filter(isCapture).map((request) => ({ request, ...decodeCapture(request) }));
      const sent = captures.flatMap((capture) => capture.body.batch);
      expect([...new Set(sent.map((event) => event.event))].sort()).toEqual([...expected].sort());
      return { requests: tap.requests, captures, sent, consoleLines, origin: pages.url };
    }

    /**
     * What every posthog-js visit must show: every request (preflights, remote config, flags,
     * captures) answered with success and CORS headers for the page's origin, every event stored,
     * and the anonymous visitor linked to the identified user.
     */
    async function expectVisit(visit: Awaited<ReturnType<typeof visitShop>>, user: string, path: string) {
      expect(refused(visit.requests)).toEqual([]);
      // The browser itself refused nothing (a CORS refusal shows here, not in the intake's answers).
      expect(visit.consoleLines.filter((line) => /^(error|pageerror):/.test(line))).toEqual([]);
      const withoutCors = visit.requests
        .filter((request) => request.headers.origin !== undefined)
        .filter((request) => ![visit.origin, '*'].includes(String(request.responseHeaders['access-control-allow-origin'])))
        .map((request) => `${request.method} ${request.url}: access-control-allow-origin ${request.responseHeaders['access-control-allow-origin']}`);
      expect(withoutCors).toEqual([]);
      for (const { request, body } of visit.captures) {
        expect(body.api_key, request.url).toBe(PROJECT_TOKEN);
        expect(JSON.parse(request.responseText), request.url).toEqual({ status: 1 });
      }
      // posthog-js asks for feature flags (and its remote config) at start; Sluice answers "none".
      const flags = visit.requests.find((request) => request.method !== 'OPTIONS' && /^\/(flags|decide)$/.test(pathOf(request)));
      expect(flags, 'a /flags or /decide request').toBeDefined();
      expect(JSON.parse(flags!.responseText)).toMatchObject({ featureFlags: {}, errorsWhileComputingFlags: false });

      const stored = [...(await expectAllStored(sluice.url, visit.sent)).values()];
      const pageview = stored.find((row) => row.event === '$pageview');
      expect(pageview.properties).toMatchObject({ $current_url: `${visit.origin}${path}`, $lib: 'web' });
      const identify = stored.find((row) => row.event === '$identify');
      expect(identify.distinct_id).toBe(user);
      expect(identify.properties.$anon_distinct_id).toBe(pageview.distinct_id);
      expect(stored.find((row) => row.event === 'clicked_buy').properties).toMatchObject(CLICKED_BUY);
      expect(stored.find((row) => row.event === '$pageleave').distinct_id).toBe(user);
      return stored;
    }

    /**
     * posthog-js sends identify()'s person properties as a top-level "$set" next to "properties";
     * PostHog's ingestion merges it into properties.$set, so the stored event must carry it there.
     */
    function expectIdentifyKeepsSet(visit: Awaited<ReturnType<typeof visitShop>>, stored: any[], user: string) {
      const sent = visit.sent.find((event) => event.event === '$identify')!;
      expect(sent.$set).toEqual({ email: `${user}@example.com` });
      const identify = stored.find((row) => row.event === '$identify');
      expect(identify.properties.$set, 'the stored $identify keeps the top-level $set posthog.identify() sent').toMatchObject(sent.$set!);
    }

    const CLICKED_BUY = { sku: 'SKU-1', price: 19.99, tags: ['red', 'xl'], nested: { deep: { ok: true } }, note: 'ünïcødé ✓ 🚀' };
    const buyAndIdentify = (user: string) => async (page: Page) => {
      await page.evaluate(({ user, props }) => {
        const posthog = (globalThis as any).posthog;
        posthog.capture('clicked_buy', props);
        posthog.identify(user, { email: `${user}@example.com` });
      }, { user, props: CLICKED_BUY });
    };

    it('default options (gzip bodies): $pageview, capture, identify and $pageleave on leaving — every event stored', async () => {
      const user = 'web-user-gzip';
      const visit = await visitShop('/default.html', {}, ['$pageview', 'clicked_buy', '$identify', '$pageleave'], buyAndIdentify(user));
      // posthog-js gzips by default (a text/plain body, no query parameter) and keeps doing so
      // when the intake's remote config lists gzip-js among supportedCompression.
      expect(new Set(visit.captures.map((capture) => capture.encoding))).toEqual(new Set(['gzip']));
      for (const { request } of visit.captures) expect(request.headers['content-type']).toBe('text/plain');
      const stored = await expectVisit(visit, user, '/default.html');
      expectIdentifyKeepsSet(visit, stored, user);
    });

    it('disable_compression: true (JSON after a CORS preflight; a sendBeacon capture as base64 form) — every event stored', async () => {
      const user = 'web-user-plain';
      const expected = ['$pageview', 'clicked_buy', '$identify', 'newsletter_signup', '$pageleave'];
      const visit = await visitShop('/uncompressed.html', { disable_compression: true }, expected, async (page) => {
        await buyAndIdentify(user)(page);
        await page.evaluate(() => {
          (globalThis as any).posthog.capture('newsletter_signup', { list: 'weekly', source: 'footer' }, { transport: 'sendBeacon' });
        });
      });
      const encodingOf = (name: string) => visit.captures.find((capture) => capture.body.batch.some((event) => event.event === name))?.encoding;
      expect(encodingOf('clicked_buy')).toBe('json');
      expect(encodingOf('newsletter_signup')).toBe('base64');
      for (const { request, encoding } of visit.captures) {
        expect(request.headers['content-type']).toBe(encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded');
      }
      // application/json is not a CORS-simple type: the browser asked the intake first.
      const preflight = visit.requests.find((request) => request.method === 'OPTIONS' && pathOf(request) === '/e');
      expect(preflight, 'an OPTIONS preflight for /e/').toBeDefined();
      expect(preflight!.responseHeaders['access-control-allow-origin']).toBe(visit.origin);
      expect(String(preflight!.responseHeaders['access-control-allow-headers']).toLowerCase()).toContain('content-type');
      const stored = await expectVisit(visit, user, '/uncompressed.html');
      expect(stored.find((row) => row.event === 'newsletter_signup').properties).toMatchObject({ list: 'weekly', source: 'footer' });
      expectIdentifyKeepsSet(visit, stored, user);
    });
  });
});
