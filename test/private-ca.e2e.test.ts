/**
 * An operator's private CA for apps' HTTPS egress, through the real pipeline: an app's fetch to a
 * loopback HTTPS server whose certificate only that CA signed succeeds when the CA is given by
 * NODE_EXTRA_CA_CERTS (Node's own variable) or SLUICE_FETCH_CA, and fails without either.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, post, sampleEvents, storedEvents } from './helpers/api';
import { startSluice, waitFor } from './helpers/services';
import { makeTestCa, type TestCa } from './helpers/test-ca';

const APP = {
  'plugin.json': JSON.stringify({ name: 'tls probe', config: [{ key: 'url', type: 'string', required: true }] }),
  'index.js': `export async function processEvent(event, { config }) {
    try {
      event.properties.tls = (await (await fetch(config.url)).json()).over
    } catch (error) {
      event.properties.tls = 'failed: ' + error.message
    }
    return event
  }`,
};

describe('HTTPS egress under a private CA', () => {
  let ca: TestCa;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    ca = makeTestCa();
    server = createServer({ cert: ca.cert, key: ca.key }, (_request, response) => response.end('{"over":"tls"}'));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => {
    server?.close();
    ca?.remove();
  });

  async function tlsSeenWith(env: Record<string, string>): Promise<unknown> {
    const sluice = await startSluice({ SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1', ...env });
    try {
      const installed = await admin(sluice.url, 'POST', '/api/projects/default/apps', { source: APP, config: { url } });
      expect(installed.status).toBe(201);
      const [event] = sampleEvents(1);
      expect((await post(sluice.url, '/capture', event)).status).toBe(200);
      const stored = await waitFor('the event stored', async () => (await storedEvents(sluice.url)).find((row) => row.uuid === event!.uuid));
      return stored.properties.tls;
    } finally {
      await sluice.stop();
    }
  }

  it('trusts the CA named by NODE_EXTRA_CA_CERTS', async () => {
    expect(await tlsSeenWith({ NODE_EXTRA_CA_CERTS: ca.caFile })).toBe('tls');
  });

  it('trusts the CA named by SLUICE_FETCH_CA', async () => {
    expect(await tlsSeenWith({ SLUICE_FETCH_CA: ca.caFile })).toBe('tls');
  });

  it('refuses the certificate without either', async () => {
    expect(await tlsSeenWith({})).toMatch(/^failed: .*certificate/i);
  });
});
