/**
 * PostHog's Pub/Sub export as the catalogue writes it (test/compat/pubsub-export: a service-account
 * key uploaded as an attachment, getMetadata then create on NOT_FOUND, one publish per event)
 * through the whole pipeline, with the operator's PUBSUB_EMULATOR_HOST pointing the real SDK on
 * the host at a Pub/Sub Publisher served over real gRPC on loopback (test/helpers/pubsub-server.ts).
 */
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxy } from 'proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardedFetch, type HostServices } from '@sluice/sandbox';
import { admin, post, sampleEvents, installWithKeyFile } from './helpers/api';
import { startPubSubServer, type PubSubServer } from './helpers/pubsub-server';
import { makeTestCa } from './helpers/test-ca';
import { egress, outOf } from './helpers/bridge-apps';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';

const PROJECT = 'sluice-pubsub-test';

/** A service-account key file as Google Cloud's console hands it out (its own RSA key), and the key's public half. */
function serviceAccount(): { key: Record<string, string>; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const key = {
    type: 'service_account', project_id: PROJECT, private_key_id: 'a1b2c3', private_key: privateKey,
    client_email: `exporter@${PROJECT}.iam.gserviceaccount.com`, client_id: '1234567890', auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token', universe_domain: 'googleapis.com',
  };
  return { key, publicKey };
}

const loopbackAllowed = () => egress(['127.0.0.1']);
const publicOnly = () => egress(false);
const runApp = (code: string, services: HostServices, config: Record<string, string> = {}): Promise<any> => outOf('pubsub-calls', code, services, config);

/** PUBSUB_EMULATOR_HOST as the host process sees it, for the direct VM tests. */
async function withEmulatorHost<T>(host: string | undefined, run: () => Promise<T>): Promise<T> {
  const before = process.env.PUBSUB_EMULATOR_HOST;
  if (host === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
  else process.env.PUBSUB_EMULATOR_HOST = host;
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
    else process.env.PUBSUB_EMULATOR_HOST = before;
  }
}

describe('the Pub/Sub export app into a Pub/Sub Publisher over gRPC', () => {
  let server: PubSubServer;
  let sluice: RunningSluice;

  beforeAll(async () => {
    server = await startPubSubServer();
    sluice = await startSluice({ PUBSUB_EMULATOR_HOST: server.host, SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1' });
  }, 60_000);
  afterAll(async () => {
    await sluice?.stop();
    await server?.close();
  });

  /** Installs the compat app for `topicId`, uploads its key file, and enables it (PostHog's attachment flow). */
  async function installExport(topicId: string, messageAttributes: string): Promise<void> {
    await installWithKeyFile(sluice.url, 'test/compat/pubsub-export', { topicId, messageAttributes, exportEventsBufferSeconds: '0.5' }, serviceAccount().key);
  }


  it('publishes every exported event once, as JSON with the numeric team_id; creates the topic only when NOT_FOUND', async () => {
    const existing = `projects/${PROJECT}/topics/existing-events`;
    server.topics.set(existing, { name: existing, labels: {} });
    await installExport('existing-events', 'None');
    await installExport('new-events', 'Event name and uuid');

    const events = sampleEvents(150);
    for (let start = 0; start < events.length; start += 50) {
      const batch = events.slice(start, start + 50);
      expect((await post(sluice.url, '/batch', { api_key: batch[0]!.api_key, batch })).status).toBe(200);
    }
    const created = `projects/${PROJECT}/topics/new-events`;
    const onTopic = (topic: string) => server.published.filter((message) => message.topic === topic);
    await waitFor('150 events on each topic', async () => onTopic(existing).length >= events.length && onTopic(created).length >= events.length, 30_000, 200);

    const { body: project } = await admin(sluice.url, 'GET', '/api/projects/default');
    expect(typeof project.teamId).toBe('number');
    for (const topic of [existing, created]) {
      const messages = onTopic(topic).map((message) => ({ ...message, json: JSON.parse(message.data.toString('utf8')) }));
      expect(messages.map((message) => message.json.uuid).sort()).toEqual(events.map((event) => event.uuid).sort());
      expect(new Set(messages.map((message) => message.json.team_id))).toEqual(new Set([project.teamId]));
      expect(messages[0]!.json).toMatchObject({ event: expect.any(String), distinct_id: expect.any(String), properties: expect.any(Object), people_set: expect.any(Object) });
      // publishMessage's attributes arrive as given; publish(Buffer) sends none.
      if (topic === created) for (const message of messages) expect(message.attributes).toEqual({ event: message.json.event, uuid: message.json.uuid });
      else for (const message of messages) expect(message.attributes).toEqual({});
    }
    // setupPlugin: the existing topic is looked up only; the new one is looked up, then created once.
    const adminCalls = server.calls.filter((call) => call.method !== 'Publish').map((call) => [call.method, call.request.topic ?? call.request.name]);
    expect(adminCalls.filter(([, name]) => name === existing)).toEqual([['GetTopic', existing]]);
    expect(adminCalls.filter(([, name]) => name === created)).toEqual([['GetTopic', created], ['CreateTopic', created]]);
    // Publishes awaited together go out together (the SDK's batching, flushed within milliseconds), never one RPC per event.
    expect(server.calls.filter((call) => call.method === 'Publish').length).toBeLessThan(2 * events.length);
  });

  it("answers the SDK's calls as the SDK does: arrays, gRPC codes, message ids, callbacks; one Publish for a Promise.all", async () => {
    const before = server.calls.length;
    // Left to itself, the SDK without a key looks for the host's own credentials, up to the GCE
    // metadata server (a MetadataLookupWarning when none answers): the bridge never lets it.
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const out = await withEmulatorHost(server.host, () => runApp(`const { PubSub } = require('@google-cloud/pubsub')
      const failure = (error) => ({ code: error.code, message: error.message })
      export async function processEvent(event) {
        const pubsub = new PubSub({ projectId: '${PROJECT}' })
        const topic = pubsub.topic('direct-calls')
        const missing = await topic.getMetadata().then(() => null, failure)
        const [created, response] = await topic.create()
        const again = await topic.create().then(() => null, failure)
        const [metadata] = await topic.getMetadata()
        const [exists] = await topic.exists()
        const [absent] = await pubsub.topic('never-made').exists()
        const viaCallback = await new Promise((resolve, reject) => topic.getMetadata((error, found) => error ? reject(error) : resolve(found)))
        const ids = await Promise.all([topic.publish(Buffer.from('one')), topic.publishMessage({ data: Buffer.from('two'), attributes: { n: '2' } }), topic.publishJSON({ n: 3 })])
        const callbackId = await new Promise((resolve, reject) => topic.publish(Buffer.from('four'), { n: '4' }, (error, id) => error ? reject(error) : resolve(id)))
        const unknownTopic = await pubsub.topic('never-made').publishMessage({ data: Buffer.from('x') }).then(() => null, failure)
        let badAttribute
        try { topic.publishMessage({ data: Buffer.from('x'), attributes: { n: 5 } }) } catch (error) { badAttribute = error.message }
        const [made] = await pubsub.createTopic('made-by-pubsub')
        const [autoMade] = await pubsub.topic('auto-made').get({ autoCreate: true })
        const viaCreateCallback = await new Promise((resolve, reject) => pubsub.createTopic('callback-made', (error, made, response) => error ? reject(error) : resolve([made.name, response.name])))
        await made.delete()
        const [afterDelete] = await made.exists()
        await pubsub.close()
        event.properties.out = { missing, sameTopic: created === topic, name: topic.name, responseName: response.name, again, metadata, exists, absent,
          callbackName: viaCallback.name, ids, callbackId, unknownTopic, badAttribute, made: made.name, autoMade: autoMade.name, viaCreateCallback, afterDelete }
        return event
      }`, loopbackAllowed())).finally(() => process.off('warning', onWarning));

    expect(warnings).not.toContain('MetadataLookupWarning');
    const name = `projects/${PROJECT}/topics/direct-calls`;
    expect(out).toMatchObject({
      missing: { code: 5, message: expect.stringContaining('NOT_FOUND') },
      sameTopic: true, name, responseName: name,
      again: { code: 6, message: expect.stringContaining('ALREADY_EXISTS') },
      metadata: { name, labels: {}, kmsKeyName: '', state: 'STATE_UNSPECIFIED' },
      exists: true, absent: false, callbackName: name,
      unknownTopic: { code: 5, message: expect.stringContaining('NOT_FOUND') },
      badAttribute: expect.stringContaining('All attributes must be in the form of a string'),
      made: `projects/${PROJECT}/topics/made-by-pubsub`, autoMade: `projects/${PROJECT}/topics/auto-made`,
      viaCreateCallback: [`projects/${PROJECT}/topics/callback-made`, `projects/${PROJECT}/topics/callback-made`], afterDelete: false,
    });
    // Each publish resolved with the id the server gave that very message.
    const byData = new Map(server.published.filter((message) => message.topic === name).map((message) => [message.data.toString('utf8'), message]));
    expect([...out.ids, out.callbackId]).toEqual(['one', 'two', '{"n":3}', 'four'].map((data) => byData.get(data)?.messageId));
    expect(byData.get('two')!.attributes).toEqual({ n: '2' });
    expect(byData.get('four')!.attributes).toEqual({ n: '4' });
    const calls = server.calls.slice(before);
    const publishes = calls.filter((call) => call.method === 'Publish' && call.request.topic === name);
    expect(publishes.map((call) => call.request.messages.length)).toEqual([3, 1]);
    // The SDK dialled the address the guard checked, and named it as the SDK does.
    expect(new Set(calls.map((call) => call.authority))).toEqual(new Set([server.host]));
  });

  it('refuses what the fetch guard refuses: the emulator at 127.0.0.1 without the allow setting, 169.254.169.254, and no key', async () => {
    const attempt = (options: string) => `const { PubSub } = require('@google-cloud/pubsub')
      export async function processEvent(event) {
        event.properties.out = await new PubSub(${options}).topic('t').getMetadata().then(() => 'reached', (error) => error.message)
        return event
      }`;
    const key = JSON.stringify(serviceAccount().key);
    expect(await withEmulatorHost(server.host, () => runApp(attempt(`{ projectId: '${PROJECT}' }`), publicOnly())))
      .toMatch(/Pub\/Sub to 127\.0\.0\.1 \(127\.0\.0\.1\) is blocked: loopback addresses are not reachable from apps/);
    expect(await withEmulatorHost(undefined, () => runApp(attempt(`{ credentials: ${key}, apiEndpoint: 'https://169.254.169.254' }`), loopbackAllowed())))
      .toMatch(/169\.254\.169\.254\) is blocked: linkLocal addresses are not reachable from apps/);
    expect(await withEmulatorHost(undefined, () => runApp(attempt(`{ credentials: ${key}, apiEndpoint: 'localhost:1' }`), publicOnly())))
      .toMatch(/Pub\/Sub to localhost \(.+\) is blocked/);
    expect(await withEmulatorHost(undefined, () => runApp(attempt(`{ projectId: '${PROJECT}' }`), publicOnly())))
      .toMatch(/credentials \(a service account key\) are required/);
    expect(await withEmulatorHost(undefined, () => runApp(attempt(`{ projectId: '${PROJECT}', credentials: { type: 'external_account', credential_source: { file: '/etc/passwd' } } }`), publicOnly())))
      .toMatch(/credentials must be a service account key/);
  });

  it("to a TLS endpoint by name: dials the checked address, checks the certificate against the name with the policy's CAs, signs each call with the app's key", async () => {
    const ca = makeTestCa();
    const tlsServer = await startPubSubServer({ tls: { cert: ca.cert, key: ca.key }, bind: 'localhost' });
    try {
      const { key, publicKey } = serviceAccount();
      const port = tlsServer.host.split(':').pop();
      const out = await withEmulatorHost(undefined, () => runApp(`const { PubSub } = require('@google-cloud/pubsub')
        export async function processEvent(event) {
          const topic = new PubSub({ projectId: '${PROJECT}', credentials: ${JSON.stringify(key)}, apiEndpoint: 'localhost:${port}' }).topic('over-tls')
          const [, created] = await topic.create()
          event.properties.out = { created: created.name, id: await topic.publishMessage({ data: Buffer.from('secure') }) }
          return event
        }`, { fetch: new GuardedFetch({ allowPrivate: ['127.0.0.1', '::1'], extraCa: ca.caPem, timeoutMs: 5000, maxResponseBytes: 1_000_000, maxRedirects: 0 }) }));
      expect(out).toEqual({ created: `projects/${PROJECT}/topics/over-tls`, id: tlsServer.published[0]!.messageId });
      expect(tlsServer.calls.map((call) => [call.method, call.authority])).toEqual([['CreateTopic', `localhost:${port}`], ['Publish', `localhost:${port}`]]);
      // A self-signed JWT (what the SDK makes of a service-account key: no token request), verifiable with the key's public half.
      const [header, payload, signature] = tlsServer.calls[0]!.authorization!.replace(/^Bearer /, '').split('.');
      expect(createVerify('RSA-SHA256').update(`${header}.${payload}`).verify(publicKey, signature!, 'base64url')).toBe(true);
      expect(JSON.parse(Buffer.from(payload!, 'base64url').toString())).toMatchObject({ iss: key.client_email, sub: key.client_email, scope: expect.stringContaining('https://www.googleapis.com/auth/pubsub') });
      // The same over HTTPS_PROXY: TLS inside the tunnel, to the name.
      const proxy = createProxy(http.createServer());
      const tunnels: string[] = [];
      proxy.on('connect', (request: http.IncomingMessage) => tunnels.push(String(request.url)));
      proxy.listen(0, '127.0.0.1');
      await once(proxy, 'listening');
      process.env.HTTPS_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      try {
        const proxied = await withEmulatorHost(undefined, () => runApp(`const { PubSub } = require('@google-cloud/pubsub')
          export async function processEvent(event) {
            event.properties.out = await new PubSub({ projectId: '${PROJECT}', credentials: ${JSON.stringify(key)}, apiEndpoint: 'localhost:${port}' }).topic('over-tls').publishMessage({ data: Buffer.from('tunnelled') })
            return event
          }`, { fetch: new GuardedFetch({ allowPrivate: ['127.0.0.1', '::1'], extraCa: ca.caPem, timeoutMs: 5000, maxResponseBytes: 1_000_000, maxRedirects: 0 }) }));
        expect(proxied).toBe(tlsServer.published[1]?.messageId);
        expect(tunnels).toHaveLength(1);
        expect(tunnels[0]).toMatch(new RegExp(`^(127\\.0\\.0\\.1|\\[::1\\]):${port}$`));
      } finally {
        delete process.env.HTTPS_PROXY;
        proxy.close();
      }
    } finally {
      await tlsServer.close();
      ca.remove();
    }
  });

  it('goes through the HTTP(S)_PROXY that fetch and the other bridges use (upper case, NO_PROXY honoured), tunnelling to the checked address', async () => {
    const proxy = createProxy(http.createServer());
    const tunnels: string[] = [];
    proxy.on('connect', (request: http.IncomingMessage) => tunnels.push(String(request.url)));
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const publish = (topic: string) => `const { PubSub } = require('@google-cloud/pubsub')
      export async function processEvent(event) {
        const t = new PubSub({ projectId: '${PROJECT}' }).topic('${topic}')
        await t.get({ autoCreate: true })
        event.properties.out = await t.publishMessage({ data: Buffer.from('proxied') })
        return event
      }`;
    try {
      process.env.HTTP_PROXY = proxyUrl;
      const id = await withEmulatorHost(server.host, () => runApp(publish('via-proxy'), loopbackAllowed()));
      expect(id).toBe(server.published.find((message) => message.topic.endsWith('/via-proxy'))?.messageId);
      expect(tunnels).toContain(server.host);
      // NO_PROXY names the emulator: straight there, no new tunnel.
      const tunnelled = tunnels.length;
      process.env.NO_PROXY = '127.0.0.1';
      await withEmulatorHost(server.host, () => runApp(publish('no-proxy'), loopbackAllowed()));
      expect(tunnels.length).toBe(tunnelled);
    } finally {
      delete process.env.HTTP_PROXY;
      delete process.env.NO_PROXY;
      proxy.close();
    }
  });
});
