/**
 * What every bridge and `fetch` share, against real servers on loopback: HTTP(S)_PROXY and
 * NO_PROXY through a real forward proxy (the `proxy` package), the SDK agent's guard, host errors
 * reaching the app with their name and code (a real PostgreSQL error), and secret config values
 * masked in the errors an app's calls answer.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxy, type ProxyServer } from 'proxy';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { GuardedFetch, compileApp, createAppVm, type HostServices } from '@sluice/sandbox';

const DATABASE_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const loopbackPolicy = { allowPrivate: ['127.0.0.1'], timeoutMs: 5000, maxResponseBytes: 1_000_000, maxRedirects: 0 };

function event(): PluginEvent {
  return { uuid: 'u1', event: 'e', distinct_id: 'd', properties: {}, timestamp: '2026-01-02T03:04:05.000Z', ip: null, site_url: '', team_id: 1, now: '', sent_at: null };
}

async function appVm(code: string, options: { services?: HostServices; config?: Record<string, string>; secrets?: string[] } = {}) {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'egress-test' }), 'index.js': code });
  return createAppVm({
    instanceId: 1, name: 'egress-test', code: app.code, config: options.config ?? {}, limits: { callTimeoutMs: 10_000 },
    onLog: () => {}, ...(options.services && { services: options.services }), ...(options.secrets && { secrets: options.secrets }),
  });
}

async function processOne(code: string, options: Parameters<typeof appVm>[1] = {}) {
  const vm = await appVm(code, options);
  try {
    const [outcome] = await vm.processEventBatch([event()]);
    return outcome;
  } finally {
    vm.dispose();
  }
}

describe('HTTP(S)_PROXY and NO_PROXY for fetch and the SDK agent', () => {
  let target: http.Server;
  let proxy: ProxyServer;
  let proxied: string[];
  let targetUrl: string;

  beforeAll(async () => {
    target = http.createServer((request, response) => response.end(`hello from ${request.url}`));
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    proxy = createProxy(http.createServer());
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
  });
  afterEach(() => {
    delete process.env.HTTP_PROXY;
    delete process.env.NO_PROXY;
  });
  afterAll(async () => {
    target.close();
    proxy.close();
  });

  const useProxy = (noProxy?: string) => {
    proxied = [];
    // Tunnels (CONNECT) and plain proxied requests (absolute URLs) both show here.
    proxy.prependListener('connect', (request: http.IncomingMessage) => proxied.push(`CONNECT ${request.url}`));
    proxy.prependListener('request', (request: http.IncomingMessage) => proxied.push(`${request.method} ${request.url}`));
    process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    if (noProxy) process.env.NO_PROXY = noProxy;
  };

  it("sends an app's fetch through HTTP_PROXY, and straight to the target for a NO_PROXY host", async () => {
    const code = `export async function processEvent(event, { config }) {
      const response = await fetch(config.url + '/e')
      event.properties.body = await response.text()
      return event
    }`;
    const services = { fetch: new GuardedFetch(loopbackPolicy) };
    useProxy();
    expect(await processOne(code, { services, config: { url: targetUrl } })).toMatchObject({ status: 'ok', event: { properties: { body: 'hello from /e' } } });
    expect(proxied.length).toBeGreaterThan(0);
    expect(proxied.join(' ')).toContain(targetUrl.replace('http://', ''));
    await services.fetch.close();

    const direct = { fetch: new GuardedFetch(loopbackPolicy) };
    useProxy('127.0.0.1');
    expect(await processOne(code, { services: direct, config: { url: targetUrl } })).toMatchObject({ status: 'ok', event: { properties: { body: 'hello from /e' } } });
    expect(proxied).toEqual([]);
    await direct.fetch.close();
  });

  it('still refuses a blocked target through the proxy (the proxy is the operator\'s; the target is the app\'s)', async () => {
    useProxy();
    const services = { fetch: new GuardedFetch({ ...loopbackPolicy, allowPrivate: false }) };
    const outcome = await processOne(`export async function processEvent(event, { config }) {
      try { await fetch(config.url) } catch (error) { event.properties.error = error.message; event.properties.name = error.name }
      return event
    }`, { services, config: { url: 'http://169.254.169.254/latest/meta-data/' } });
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { name: 'FetchBlockedError', error: expect.stringContaining('linkLocal addresses are not reachable') } } });
    expect(proxied).toEqual([]);
    await services.fetch.close();
  });

  it("sends an SDK client's requests (the bridge agent) through the proxy, and checks its direct connections' addresses", async () => {
    const guard = new GuardedFetch(loopbackPolicy);
    const get = (agent: http.Agent, url: string) => new Promise<string>((resolve, reject) => {
      http.get(url, { agent }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk)).on('end', () => resolve(body));
      }).on('error', reject);
    });
    useProxy();
    expect(await get(guard.nodeAgent('S3'), `${targetUrl}/object`)).toBe('hello from /object');
    expect(proxied.join(' ')).toContain('/object');
    delete process.env.HTTP_PROXY;
    const strict = new GuardedFetch({ ...loopbackPolicy, allowPrivate: false });
    await expect(get(strict.nodeAgent('S3'), `http://localhost:${(target.address() as AddressInfo).port}/`)).rejects.toThrow(/S3 to localhost \(127\.0\.0\.1\) is blocked/);
    // An IP literal, which Node connects to without a lookup, is checked as well.
    await expect(get(strict.nodeAgent('S3'), `${targetUrl}/`)).rejects.toThrow(/S3 to 127\.0\.0\.1 \(127\.0\.0\.1\) is blocked/);
    await guard.close();
    await strict.close();
  });
});

describe('host errors and secrets as the app and the operator see them', () => {
  it("gives the app a database error's name and code as node-postgres does", async () => {
    const outcome = await processOne(`const { Client } = require('pg')
      export async function processEvent(event, { config }) {
        const client = new Client(config.url)
        await client.connect()
        try { await client.query('SELEC 1') } catch (error) { event.properties.code = error.code; event.properties.message = error.message }
        await client.end()
        return event
      }`, { services: { fetch: new GuardedFetch(loopbackPolicy) }, config: { url: DATABASE_URL } });
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { code: '42601', message: expect.stringContaining('syntax error') } } });
  });

  it('masks secret config values in the errors of processEvent, onEvent and setupPlugin', async () => {
    const secret = 'AKIA-very-secret-key-1234';
    const code = `export function processEvent(event, { config }) { throw new Error('S3 refused key ' + config.key) }
      export function onEvent(event, { config }) { throw new Error('denied for ' + config.key) }`;
    const vm = await appVm(code, { config: { key: secret }, secrets: [secret] });
    try {
      const [outcome] = await vm.processEventBatch([event()]);
      expect(outcome).toMatchObject({ status: 'error' });
      expect(JSON.stringify(outcome)).not.toContain(secret);
      expect(JSON.stringify(outcome)).toContain('S3 refused key');
      const result = await vm.onEvent(event());
      expect(result).toMatchObject({ ok: false, error: expect.stringContaining('denied for') });
      expect(JSON.stringify(result)).not.toContain(secret);
    } finally {
      vm.dispose();
    }
    const failing = await appVm(`export function setupPlugin({ config }) { throw new Error('login failed with ' + config.key) }
      export function processEvent(event) { return event }`, { config: { key: secret }, secrets: [secret] });
    try {
      const error = await failing.setup().then(() => undefined, (caught: Error) => caught);
      expect(error?.message).toContain('login failed with');
      expect(error?.message).not.toContain(secret);
    } finally {
      failing.dispose();
    }
  });
});

describe("the SDK agent's connections", () => {
  const get = (agent: http.Agent, url: string) => new Promise<string>((done, fail) => {
    http.get(url, { agent }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => done(`${response.statusCode} ${body}`));
    }).on('error', fail);
  });

  it('keeps a direct connection alive across requests, and sends every proxied request with its absolute path', async () => {
    let connections = 0;
    const target = http.createServer((request, response) => response.end(`ok ${request.url}`));
    target.on('connection', () => connections++);
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    const proxy = createProxy(http.createServer());
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const base = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    const guard = new GuardedFetch(loopbackPolicy);
    const direct = guard.nodeAgent('S3');
    try {
      for (const path of ['/a', '/b', '/c']) expect(await get(direct, `${base}${path}`)).toBe(`200 ok ${path}`);
      expect(connections).toBe(1);
      process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const proxied = guard.nodeAgent('S3');
      // (a pooled socket handed back without the proxy agent would send "GET /e", which the proxy refuses)
      for (const path of ['/d', '/e', '/f']) expect(await get(proxied, `${base}${path}`)).toBe(`200 ok ${path}`);
    } finally {
      delete process.env.HTTP_PROXY;
      await guard.close();
      target.close();
      proxy.close();
    }
  });
});
