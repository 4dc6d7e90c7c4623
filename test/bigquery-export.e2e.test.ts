/**
 * PostHog's BigQuery export as the catalogue writes it (test/compat/bigquery-export: a
 * service-account key uploaded as an attachment, getMetadata then createTable on "Not found",
 * setMetadata for missing fields, insert(rows, { raw: true }) with insertId = uuid) through the
 * whole pipeline, with the operator's BIGQUERY_EMULATOR_HOST pointing the real SDK on the host at
 * a BigQuery REST server on loopback (test/helpers/bigquery-server.ts), which also answers the
 * service account's token request at its token_uri.
 */
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxy } from 'proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardedFetch, type HostServices } from '@sluice/sandbox';
import { admin, post, sampleEvents, installWithKeyFile } from './helpers/api';
import { serviceAccountKey, startBigQueryServer, type BigQueryServer } from './helpers/bigquery-server';
import { makeTestCa } from './helpers/test-ca';
import { egress, outOf, loopAndThief } from './helpers/bridge-apps';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';

const PROJECT = 'sluice-bigquery-test';
const DATASET = 'posthog';
const KEYS = generateKeyPairSync('rsa', { modulusLength: 2048 });
const CLIENT_EMAIL = `exporter@${PROJECT}.iam.gserviceaccount.com`;
const EXPORT_FIELDS = ['uuid', 'event', 'properties', 'elements', 'set', 'set_once', 'distinct_id', 'team_id', 'ip', 'site_url', 'timestamp', 'bq_ingested_timestamp'];

const loopbackAllowed = () => egress(['127.0.0.1']);
const publicOnly = () => egress(false);
const runApp = (code: string, services: HostServices, config: Record<string, string> = {}): Promise<any> => outOf('bigquery-calls', code, services, config);

describe('the BigQuery export app into a BigQuery REST server', () => {
  let server: BigQueryServer;
  let sluice: RunningSluice;

  beforeAll(async () => {
    server = await startBigQueryServer({ publicKey: KEYS.publicKey, clientEmail: CLIENT_EMAIL, datasets: [[PROJECT, DATASET]] });
    sluice = await startSluice({ BIGQUERY_EMULATOR_HOST: server.url, SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1' });
  }, 60_000);
  afterAll(async () => {
    await sluice?.stop();
    await server?.close();
  });

  /** Installs the compat app for `tableId`, uploads its key file, and enables it (PostHog's attachment flow). */
  async function installExport(tableId: string): Promise<void> {
    await installWithKeyFile(sluice.url, 'test/compat/bigquery-export', { datasetId: DATASET, tableId, exportEventsBufferSeconds: '0.5' }, serviceAccountKey(PROJECT, server.tokenUri, KEYS));
  }


  it('inserts every exported event once with its uuid as insertId and the numeric team_id; creates the table, or adds the fields an older one lacks', async () => {
    // An older table of the export: without bq_ingested_timestamp, which setupPlugin adds.
    server.createTable(PROJECT, DATASET, 'older_events', EXPORT_FIELDS.filter((name) => name !== 'bq_ingested_timestamp').map((name) => ({ name, type: name === 'team_id' ? 'INT64' : name.endsWith('timestamp') ? 'TIMESTAMP' : 'STRING' })));
    await installExport('events');
    await installExport('older_events');
    const events = sampleEvents(120);
    for (let start = 0; start < events.length; start += 40) {
      const batch = events.slice(start, start + 40);
      expect((await post(sluice.url, '/batch', { api_key: batch[0]!.api_key, batch })).status).toBe(200);
    }
    for (const tableId of ['events', 'older_events']) {
      const rows = await waitFor(`${events.length} rows in ${tableId}`, async () => {
        const found = server.rows(PROJECT, DATASET, tableId);
        return found.length >= events.length && found;
      }, 30_000, 200);
      expect(rows.map((row) => row.uuid).sort()).toEqual(events.map((event) => event.uuid).sort());
      // Sent once each, too (the server's insertId de-duplication would hide a second send).
      const sent = server.requests.filter((request) => request.path === `/projects/${PROJECT}/datasets/${DATASET}/tables/${tableId}/insertAll`).flatMap((request) => request.body.rows);
      expect(sent.map((row) => row.json.uuid).sort()).toEqual(events.map((event) => event.uuid).sort());
      const { body: project } = await admin(sluice.url, 'GET', '/api/projects/default');
      expect(new Set(rows.map((row) => row.team_id))).toEqual(new Set([project.teamId]));
      expect(typeof rows[0]!.team_id).toBe('number');
      expect(JSON.parse(rows[0]!.properties as string)).toEqual(expect.any(Object));
      expect(server.table(PROJECT, DATASET, tableId)!.schema.fields.map((field: any) => field.name)).toEqual(EXPORT_FIELDS);
    }

    const api = server.requests.filter((request) => request.path !== '/token');
    const tables = `/projects/${PROJECT}/datasets/${DATASET}/tables`;
    // BIGQUERY_EMULATOR_HOST is the SDK's base URL as it is (no /bigquery/v2).
    expect(api.every((request) => request.rawPath === request.path && request.authorization?.startsWith('Bearer ya29.'))).toBe(true);
    expect(api.filter((request) => request.method === 'POST' && request.path === tables).map((request) => request.body)).toEqual([
      expect.objectContaining({ tableReference: { projectId: PROJECT, datasetId: DATASET, tableId: 'events' }, schema: { fields: expect.arrayContaining([{ name: 'team_id', type: 'INT64' }]) } }),
    ]);
    const patches = api.filter((request) => request.method === 'PATCH');
    expect(patches.map((request) => request.path)).toEqual([`${tables}/older_events`]);
    expect(patches[0]!.body.schema.fields.map((field: any) => field.name)).toEqual(EXPORT_FIELDS);
    const inserts = api.filter((request) => request.path.endsWith('/insertAll'));
    expect(inserts.length).toBeGreaterThan(0);
    for (const insert of inserts) {
      for (const row of insert.body.rows) expect(row.insertId).toBe(row.json.uuid);
      expect(Object.keys(insert.body)).toEqual(['rows']); // raw: true and the other options stay in the SDK
    }
    // The JWT bearer grant, posted to the key file's token_uri; a token per client, reused.
    const grants = server.requests.filter((request) => request.path === '/token');
    expect(grants.length).toBeGreaterThan(0);
    expect(grants[0]!.body).toMatchObject({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) });
    expect(grants.length).toBeLessThan(inserts.length + 4);
  });

  it('answers as the SDK does: [metadata, apiResponse], callbacks, Tables, err.code 404, PartialFailureError with errors', async () => {
    const key = serviceAccountKey(PROJECT, server.tokenUri, KEYS);
    const out = await runApp(`const { BigQuery } = require('@google-cloud/bigquery')
      export async function processEvent(event, { config }) {
        const credentials = JSON.parse(config.key)
        const bq = new BigQuery({ projectId: credentials.project_id, credentials, apiEndpoint: config.endpoint })
        const dataset = bq.dataset('${DATASET}')
        const table = dataset.table('calls')
        const out = {}
        try { await table.getMetadata() } catch (error) { out.missing = { message: error.message, code: error.code, errors: error.errors } }
        out.existsBefore = (await table.exists())[0]
        const [created, createResponse] = await dataset.createTable('calls', { schema: [{ name: 'uuid', type: 'STRING' }, { name: 'team_id', type: 'INT64' }] })
        out.created = { id: created.id, dataset: created.dataset.id, types: created.metadata.schema.fields.map((field) => field.type), kind: createResponse.kind }
        try { await dataset.createTable('calls', { schema: [] }) } catch (error) { out.again = { message: error.message, code: error.code } }
        out.viaCallback = await new Promise((resolve, reject) => table.getMetadata((error, metadata, apiResponse) => error ? reject(error)
          : resolve({ fields: metadata.schema.fields.length, status: apiResponse.statusCode, same: apiResponse.body.id === metadata.id, kept: table.metadata.id === metadata.id })))
        const [metadata, apiResponse] = await table.getMetadata()
        out.apiResponse = { status: apiResponse.statusCode, id: apiResponse.body.id }
        metadata.schema.fields.push({ name: 'ip', type: 'STRING' })
        const [patched] = await table.setMetadata(metadata)
        out.patched = patched.schema.fields.map((field) => field.name)
        try { await table.setMetadata({ schema: { fields: [{ name: 'uuid', type: 'STRING' }] } }) } catch (error) { out.narrowed = { message: error.message, code: error.code } }
        const [inserted] = await table.insert([{ insertId: 'a', json: { uuid: 'a', team_id: 2 } }], { raw: true })
        out.inserted = inserted
        out.insertedViaCallback = await new Promise((resolve) => table.insert([{ insertId: 'd', json: { uuid: 'd', team_id: 4 } }], { raw: true }, (error, response) => resolve([error, response])))
        try {
          await table.insert([{ insertId: 'b', json: { uuid: 'b', team_id: 'not a number' } }, { insertId: 'c', json: { uuid: 'c', team_id: 3 } }], { raw: true, partialRetries: 0 })
        } catch (error) { out.partial = { name: error.name, message: error.message, errors: error.errors, isError: error instanceof Error } }
        const [skipped] = await table.insert([{ insertId: 'e', json: { uuid: 'e', team_id: 5, extra: 1 } }], { raw: true, ignoreUnknownValues: true })
        out.skipped = skipped
        out.existsAfter = await new Promise((resolve) => table.exists((error, exists) => resolve(exists)))
        const [got, gotResponse] = await table.get()
        out.got = { same: got === table, id: got.metadata.id, responseId: gotResponse.id }
        return Object.assign(event, { properties: { out } })
      }`, loopbackAllowed(), { key: JSON.stringify(key), endpoint: server.url });

    const id = `${PROJECT}:${DATASET}.calls`;
    expect(out).toEqual({
      missing: { message: `Not found: Table ${id}`, code: 404, errors: [{ message: `Not found: Table ${id}`, domain: 'global', reason: 'notFound' }] },
      existsBefore: false,
      created: { id: 'calls', dataset: DATASET, types: ['STRING', 'INTEGER'], kind: 'bigquery#table' },
      again: { message: `Already Exists: Table ${id}`, code: 409 },
      viaCallback: { fields: 2, status: 200, same: true, kept: true },
      apiResponse: { status: 200, id },
      patched: ['uuid', 'team_id', 'ip'],
      narrowed: { message: `Provided Schema does not match Table ${id}. Field team_id is missing in new schema`, code: 400 },
      inserted: { kind: 'bigquery#tableDataInsertAllResponse' },
      insertedViaCallback: [null, { kind: 'bigquery#tableDataInsertAllResponse' }],
      partial: {
        name: 'PartialFailureError', isError: true,
        message: '', // the SDK's own: its message is made of the entries' messages, which these rows' entries lack
        errors: [
          { row: { insertId: 'b', json: { uuid: 'b', team_id: 'not a number' } }, errors: [{ reason: 'invalid', message: 'Cannot convert value to integer (bad value): not a number' }] },
          { row: { insertId: 'c', json: { uuid: 'c', team_id: 3 } }, errors: [{ reason: 'stopped', message: '' }] },
        ],
      },
      skipped: { kind: 'bigquery#tableDataInsertAllResponse' },
      existsAfter: true,
      got: { same: true, id, responseId: id },
    });
    expect(server.rows(PROJECT, DATASET, 'calls')).toEqual([{ uuid: 'a', team_id: 2 }, { uuid: 'd', team_id: 4 }, { uuid: 'e', team_id: 5 }]);
    // apiEndpoint is the base of /bigquery/v2, as the SDK makes it.
    expect(server.requests.some((request) => request.rawPath === `/bigquery/v2/projects/${PROJECT}/datasets/${DATASET}/tables/calls`)).toBe(true);
  });

  it('refuses clients aimed at loopback or the metadata address unless allowed: the token request and the API requests alike', async () => {
    const local = serviceAccountKey(PROJECT, server.tokenUri, KEYS);
    const byName = serviceAccountKey(PROJECT, server.tokenUri.replace('127.0.0.1', 'localhost'), KEYS);
    const code = `const { BigQuery } = require('@google-cloud/bigquery')
      export async function processEvent(event, { config }) {
        const attempt = async (credentials, apiEndpoint) => {
          try { await new BigQuery({ credentials, apiEndpoint }).dataset('d').table('t').getMetadata(); return 'reached' } catch (error) { return error.message }
        }
        const out = {
          tokenAtLoopback: await attempt(JSON.parse(config.local), 'https://bigquery.googleapis.com'),
          tokenAtLocalhost: await attempt(JSON.parse(config.byName), 'https://bigquery.googleapis.com'),
          apiAtMetadata: await attempt(JSON.parse(config.local), 'http://169.254.169.254'),
          apiAtLoopback: await attempt(JSON.parse(config.local), config.endpoint),
          apiAtOtherLoopback: await attempt(JSON.parse(config.local), config.endpoint.replace('127.0.0.1', '127.0.0.2')),
        }
        out.noKey = await new Promise((resolve) => new BigQuery({ projectId: 'p' }).dataset('d').table('t').getMetadata((error) => resolve(error.message)))
        try { await new BigQuery({ projectId: 'p', keyFilename: '/etc/passwd' }).dataset('d').table('t').getMetadata() } catch (error) { out.keyFile = error.message }
        return Object.assign(event, { properties: { out } })
      }`;
    const config = { local: JSON.stringify(local), byName: JSON.stringify(byName), endpoint: server.url };
    const before = server.requests.length;
    const refused = await runApp(code, publicOnly(), config);
    expect(refused).toEqual({
      tokenAtLoopback: expect.stringMatching(/BigQuery to 127\.0\.0\.1 \(127\.0\.0\.1\) is blocked: loopback addresses are not reachable from apps/),
      // A name is checked by the guarded agent's own lookup when it connects: the SDK's HTTP really goes through it.
      tokenAtLocalhost: expect.stringMatching(/BigQuery to localhost \((127\.0\.0\.1|::1)\) is blocked/),
      // Without a token there is no API request: these stop at the token request too.
      apiAtMetadata: expect.stringMatching(/BigQuery to 127\.0\.0\.1 \(127\.0\.0\.1\) is blocked/),
      apiAtLoopback: expect.stringMatching(/BigQuery to 127\.0\.0\.1 \(127\.0\.0\.1\) is blocked/),
      apiAtOtherLoopback: expect.stringMatching(/BigQuery to 127\.0\.0\.1 \(127\.0\.0\.1\) is blocked/),
      noKey: expect.stringContaining('needs service-account credentials'),
      keyFile: expect.stringContaining('needs service-account credentials'),
    });
    expect(server.requests.length).toBe(before); // nothing reached the server
    // With 127.0.0.1 allowed, the token comes from the local server, and the API requests to the
    // metadata address and to another loopback address are refused.
    const allowed = await runApp(code, loopbackAllowed(), config);
    expect(allowed.apiAtMetadata).toMatch(/BigQuery to 169\.254\.169\.254 \(169\.254\.169\.254\) is blocked: linkLocal addresses/);
    expect(allowed.apiAtOtherLoopback).toMatch(/BigQuery to 127\.0\.0\.2 \(127\.0\.0\.2\) is blocked: loopback addresses/);
    expect(allowed.apiAtLoopback).toBe(`Not found: Dataset ${PROJECT}:d`);
  });

  it("sends the token and API requests over HTTPS through the operator's HTTPS_PROXY, trusting the operator's CA (the guarded agent, not the SDK's own proxy and TLS settings)", async () => {
    const ca = makeTestCa();
    const secure = await startBigQueryServer({ publicKey: KEYS.publicKey, clientEmail: CLIENT_EMAIL, datasets: [[PROJECT, DATASET]], tls: { cert: ca.cert, key: ca.key } });
    const proxy = createProxy(createServer());
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const tunnels: string[] = [];
    proxy.prependListener('connect', (request: IncomingMessage) => tunnels.push(`CONNECT ${request.url}`));
    process.env.HTTPS_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const code = `const { BigQuery } = require('@google-cloud/bigquery')
      export async function processEvent(event, { config }) {
        let out
        try { out = (await new BigQuery({ credentials: JSON.parse(config.key), apiEndpoint: config.endpoint }).dataset('${DATASET}').table('proxied').exists())[0] } catch (error) { out = error.message }
        return Object.assign(event, { properties: { out } })
      }`;
    const config = { key: JSON.stringify(serviceAccountKey(PROJECT, secure.tokenUri, KEYS)), endpoint: secure.url };
    try {
      const trusting = { fetch: new GuardedFetch({ allowPrivate: ['127.0.0.1'], timeoutMs: 5000, maxResponseBytes: 1_000_000, maxRedirects: 0, extraCa: ca.caPem }) };
      expect(await runApp(code, trusting, config)).toBe(false);
      expect(tunnels.length).toBeGreaterThan(0);
      expect(new Set(tunnels)).toEqual(new Set([`CONNECT ${new URL(secure.url).host}`]));
      expect(secure.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['POST /token', `GET /projects/${PROJECT}/datasets/${DATASET}/tables/proxied`]);
      // Without the operator's CA, the server's certificate is not trusted.
      expect(await runApp(code, loopbackAllowed(), config)).toMatch(/self.signed|unable to verify|certificate/i);
      // The target is still checked through the proxy: loopback refused without the allow setting.
      expect(await runApp(code, publicOnly(), config)).toMatch(/BigQuery to 127\.0\.0\.1 \(127\.0\.0\.1\) is blocked/);
    } finally {
      delete process.env.HTTPS_PROXY;
      proxy.close();
      await secure.close();
      ca.remove();
    }
  });

  it('caps the clients an instance holds (clients of the same options are one), gives another instance nothing by handle, and leaves no socket open after dispose', async () => {
    const services = loopbackAllowed();
    const config = { key: JSON.stringify(serviceAccountKey(PROJECT, server.tokenUri, KEYS)), endpoint: server.url };
    const { loop, stolen, socketsBefore, socketsWhileOpen, socketsAfter } = await loopAndThief({ looping: `const { BigQuery } = require('@google-cloud/bigquery')
      export async function processEvent(event, { config }) {
        const credentials = JSON.parse(config.key)
        for (let i = 0; i < 20; i++) await new BigQuery({ credentials, apiEndpoint: config.endpoint }).dataset('${DATASET}').table('calls').exists()
        let opened = 0, error
        try {
          for (;;) { await new BigQuery({ credentials, apiEndpoint: config.endpoint, location: 'L' + opened }).dataset('${DATASET}').table('calls').exists(); opened++ }
        } catch (e) { error = e.message }
        return Object.assign(event, { properties: { out: { opened, error } } })
      }`, thief: `const { BigQuery } = require('@google-cloud/bigquery')
      export async function processEvent(event) {
        const bq = new BigQuery({ projectId: 'p', credentials: { client_email: 'a@b', private_key: 'k' } })
        bq._handle = Promise.resolve(1) // the first client of the looping instance has handle 1 there
        let stolen
        try { await bq.dataset('d').table('t').exists() } catch (e) { stolen = e.message }
        return Object.assign(event, { properties: { out: { stolen } } })
      }`, config, services, serverUrl: server.url });
    // The twenty clients of one set of options were one: nine more fit under the cap of ten.
    expect(loop).toMatchObject({ status: 'ok', event: { properties: { out: { opened: 9, error: expect.stringContaining('more than 10 open connections') } } } });
    expect(stolen).toMatchObject({ status: 'ok', event: { properties: { out: { stolen: expect.stringContaining('no such client in this app') } } } });
    expect(socketsWhileOpen).toBeGreaterThan(socketsBefore); // the clients keep their connections alive
    await expect.poll(socketsAfter, { timeout: 5000 }).toBe(socketsBefore);
  });
});
