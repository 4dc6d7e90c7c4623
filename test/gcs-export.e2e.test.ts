/**
 * PostHog's GCS export as the catalogue writes it (test/compat/gcs-export: @google-cloud/storage's
 * Storage with a service account's key, a PassThrough piped into file.createWriteStream) through
 * the whole pipeline into a local server speaking GCS's JSON API (test/helpers/gcs-server.ts),
 * reached as STORAGE_EMULATOR_HOST; plus the bridge's other calls, its errors and its egress guard
 * in one app's VM.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, post, sampleEvents, installWithKeyFile } from './helpers/api';
import { GcsServer } from './helpers/gcs-server';
import { egress, runOnce, loopAndThief } from './helpers/bridge-apps';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';
import type { HostServices } from '@sluice/sandbox';

const BUCKET = 'sluice-events';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const KEY_JSON = {
  type: 'service_account', project_id: 'sluice-test', private_key_id: 'k1', private_key: privateKey,
  client_email: 'exporter@sluice-test.iam.gserviceaccount.com', client_id: '1', token_uri: 'https://oauth2.googleapis.com/token',
};
const guard = egress;
const runApp = (name: string, code: string, config: Record<string, string>, services: HostServices) => runOnce(name, code, services, config) as Promise<any>;

/** RFC 4180 rows: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (char === '"') quoted = false; else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') { row.push(field); field = ''; } else if (char === '\n') { row.push(field); rows.push(row); row = []; field = ''; } else field += char;
  }
  row.push(field);
  rows.push(row);
  return rows;
}

describe('the GCS export app through the pipeline, into a GCS JSON-API server as STORAGE_EMULATOR_HOST', () => {
  let server: GcsServer;
  let sluice: RunningSluice;

  beforeAll(async () => {
    server = new GcsServer(['csv-events', 'jsonl-events']);
    await server.start();
    sluice = await startSluice({ STORAGE_EMULATOR_HOST: server.url, SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1' });
  }, 60_000);
  afterAll(async () => {
    await sluice?.stop();
    await server?.stop();
  });

  /** Installs the compat app into `bucketName`, uploads its key file, and enables it (PostHog's attachment flow). */
  async function installExport(bucketName: string, fileFormat: string): Promise<void> {
    await installWithKeyFile(sluice.url, 'test/compat/gcs-export', { bucketName, fileFormat, exportEventsToIgnore: '', exportEventsBufferSeconds: '0.5' }, KEY_JSON);
  }


  it('stores every exported event once, as CSV and as JSON lines, with the numeric team_id, one multipart upload per batch', async () => {
    await installExport('csv-events', 'csv');
    await installExport('jsonl-events', 'jsonl');
    const events = sampleEvents(150);
    for (let start = 0; start < events.length; start += 50) {
      const batch = events.slice(start, start + 50);
      expect((await post(sluice.url, '/batch', { api_key: batch[0]!.api_key, batch })).status).toBe(200);
    }
    const rowsOf = (bucket: string): Array<Record<string, any>> => server.stored(bucket).flatMap((object) => {
      if (bucket === 'jsonl-events') return object.data.toString('utf8').split('\n').map((line) => JSON.parse(line) as Record<string, any>);
      const [header, ...rows] = parseCsv(object.data.toString('utf8'));
      return rows.map((row) => Object.fromEntries(header!.map((column, index) => [column, row[index]])));
    });
    const { body: project } = await admin(sluice.url, 'GET', '/api/projects/default');
    for (const bucket of ['csv-events', 'jsonl-events']) {
      const rows = await waitFor(`${events.length} events in ${bucket}`, async () => {
        const found = rowsOf(bucket);
        return found.length >= events.length && found;
      }, 30_000, 200);
      expect(rows.map((row) => row.uuid).sort()).toEqual(events.map((event) => event.uuid).sort());
      expect(new Set(rows.map((row) => String(row.team_id)))).toEqual(new Set([String(project.teamId)]));
      const first = events.find((event) => event.uuid === rows[0]!.uuid)!;
      expect(rows[0]).toMatchObject({ event: first.event, distinct_id: first.distinct_id });
      expect(JSON.parse(rows[0]!.properties)).toEqual(expect.objectContaining(Object.fromEntries(Object.entries(first.properties ?? {}).filter(([key]) => !key.startsWith('$')))));
      for (const object of server.stored(bucket)) expect(object.name).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2}/\\d{8}-[\\d.Z]+-[0-9a-f-]{36}\\.${bucket.split('-')[0]}$`));
    }
    // What the SDK sent for createWriteStream({ resumable: false }): one multipart POST per object,
    // to the emulator's paths (no /storage/v1 prefix), without credentials (none go to an emulator).
    const uploads = server.requests.filter((request) => request.method === 'POST');
    expect(uploads.length).toBe(server.stored().length);
    expect(uploads.every((request) => /^\/upload\/storage\/v1\/b\/(csv|jsonl)-events\/o$/.test(request.path) && request.query.uploadType === 'multipart')).toBe(true);
    expect(uploads.every((request) => request.headers.authorization === undefined && String(request.headers['content-type']).startsWith('multipart/related'))).toBe(true);
  });
});

describe("the GCS export app and require('@google-cloud/storage') against a GCS JSON-API server", () => {
  let server: GcsServer;

  beforeAll(async () => {
    server = new GcsServer([BUCKET, 'calls']);
    await server.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers save (multipart and resumable), download, exists, getFiles, getMetadata and delete as the SDK does, callbacks and promises', async () => {
    const outcome = await runApp('gcs-calls', `const { Storage } = require('@google-cloud/storage')
      export async function processEvent(event, { config }) {
        const storage = new Storage({ projectId: 'sluice-test', credentials: JSON.parse(config.key), apiEndpoint: config.endpoint })
        const bucket = storage.bucket('calls')
        const text = bucket.file('dir/a.txt')
        await text.save('hello', { resumable: false, contentType: 'text/plain' })
        const saved = text.metadata
        await new Promise((resolve, reject) => bucket.file('dir/b.bin').save(Buffer.from([0, 1, 255]), (error) => (error ? reject(error) : resolve())))
        const [contents] = await text.download()
        const bytes = await new Promise((resolve, reject) => bucket.file('dir/b.bin').download((error, data) => (error ? reject(error) : resolve(data))))
        const [exists] = await text.exists()
        const [absent] = await bucket.file('nope').exists()
        const [files] = await bucket.getFiles({ prefix: 'dir/' })
        const [metadata] = await bucket.file('dir/b.bin').getMetadata()
        await bucket.file('dir/b.bin').delete()
        const [afterDelete] = await bucket.file('dir/b.bin').exists()
        event.properties.out = {
          saved: { name: saved.name, size: saved.size, contentType: saved.contentType },
          contents: contents.toString('utf8'), isBuffer: Buffer.isBuffer(contents), bytes: [...bytes], exists, absent,
          files: files.map((file) => [file.name, file.metadata.size]), binaryType: metadata.contentType, afterDelete,
        }
        return event
      }`, { endpoint: server.url, key: JSON.stringify(KEY_JSON) }, guard(['127.0.0.1']));
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { out: {
      saved: { name: 'dir/a.txt', size: '5', contentType: 'text/plain' }, contents: 'hello', isBuffer: true, bytes: [0, 1, 255],
      exists: true, absent: false, files: [['dir/a.txt', '5'], ['dir/b.bin', '3']], binaryType: 'application/octet-stream', afterDelete: false,
    } } } });
    // What the SDK sent: a multipart upload for resumable: false, a resumable session for save()'s default.
    const uploads = server.requests.filter((request) => request.path.endsWith('/upload/storage/v1/b/calls/o'));
    expect(uploads.map((request) => [request.method, request.query.uploadType])).toEqual([['POST', 'multipart'], ['POST', 'resumable'], ['PUT', 'resumable']]);
    // No token was asked for: with a custom endpoint the SDK sends no credentials.
    expect(uploads.every((request) => request.headers.authorization === undefined)).toBe(true);
  });

  it("gives the SDK's errors (code, message, errors) and refuses 169.254.169.254, and 127.0.0.1 without the allow setting", async () => {
    const outcome = await runApp('gcs-errors', `const { Storage } = require('@google-cloud/storage')
      const attempt = (promise) => promise.then(() => 'no error', (error) => ({ code: error.code, message: error.message, reason: error.errors && error.errors[0] && error.errors[0].reason }))
      export async function processEvent(event, { config }) {
        const storage = new Storage({ apiEndpoint: config.endpoint })
        const missingBucket = await attempt(storage.bucket('no-such-bucket').file('x.csv').save('x', { resumable: false }))
        const missingObject = await attempt(storage.bucket('calls').file('nothing-here').download())
        const { PassThrough } = require('stream')
        const streamed = await new Promise((resolve) => {
          const body = new PassThrough()
          body.push('a,b\\n')
          body.push(null)
          body.pipe(storage.bucket('no-such-bucket').file('x.csv').createWriteStream({ resumable: false, validation: false }))
            .on('error', (error) => resolve({ code: error.code, message: error.message }))
            .on('finish', () => resolve('finished'))
        })
        const metadata = new Storage({ apiEndpoint: 'http://169.254.169.254' })
        const blocked = await attempt(metadata.bucket('b').file('k').save('x'))
        event.properties.out = { missingBucket, missingObject, streamed, blocked }
        return event
      }`, { endpoint: server.url }, guard(['127.0.0.1']));
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { out: {
      missingBucket: { code: 404, message: 'The specified bucket does not exist.', reason: 'notFound' },
      missingObject: { code: 404, message: expect.stringContaining('No such object: calls/nothing-here') },
      streamed: { code: 404, message: 'The specified bucket does not exist.' },
      blocked: { message: expect.stringContaining('169.254.169.254) is blocked') },
    } } } });

    // Without the allow setting a loopback endpoint is refused, whatever the call (at the client's
    // creation; the next test shows each path's connections checked too).
    const refused = await runApp('gcs-refused', `const { Storage } = require('@google-cloud/storage')
      const attempt = (promise) => promise.then(() => 'no error', (error) => error.message)
      export async function processEvent(event, { config }) {
        const file = new Storage({ apiEndpoint: config.endpoint }).bucket('calls').file('dir/a.txt')
        event.properties.out = {
          multipart: await attempt(file.save('x', { resumable: false })), resumable: await attempt(file.save('x')),
          exists: await attempt(file.exists()), download: await attempt(file.download()),
        }
        return event
      }`, { endpoint: server.url }, guard(false));
    const message = expect.stringMatching(/127\.0\.0\.1\) is blocked: loopback addresses are not reachable from apps/);
    expect(refused).toMatchObject({ status: 'ok', event: { properties: { out: { multipart: message, resumable: message, exists: message, download: message } } } });
  });

  it("checks every connection, not only the endpoint's: requests the server sends elsewhere are refused on every path", async () => {
    const moved = new GcsServer(['calls']);
    await moved.start();
    try {
      const app = `const { Storage } = require('@google-cloud/storage')
        const attempt = (promise) => promise.then(() => 'no error', (error) => error.message)
        export async function processEvent(event, { config }) {
          const file = new Storage({ apiEndpoint: config.endpoint }).bucket('calls').file('a')
          event.properties.out = {
            multipart: await attempt(file.save('x', { resumable: false })), resumable: await attempt(file.save('x')),
            exists: await attempt(file.exists()), download: await attempt(file.download()), list: await attempt(file.bucket.getFiles()),
          }
          return event
        }`;
      // A resumable session's URI is the server's Location header: here a link-local one (gaxios).
      moved.sessionHost = 'http://169.254.169.254';
      const session = await runApp('gcs-moved', app, { endpoint: moved.url }, guard(['127.0.0.1']));
      const blocked = expect.stringContaining('169.254.169.254) is blocked');
      expect(session.event.properties.out.resumable).toEqual(blocked);
      // Every request redirected there (the SDK's fetch follows 303s): each path's next connection is refused.
      moved.redirectHost = 'http://169.254.169.254';
      const redirected = await runApp('gcs-moved', app, { endpoint: moved.url }, guard(['127.0.0.1']));
      expect(redirected.event.properties.out).toEqual({ multipart: blocked, resumable: blocked, exists: blocked, download: blocked, list: blocked });
      expect(moved.stored().map((object) => object.name)).toEqual(['a']); // only the multipart upload before the redirects
    } finally {
      await moved.stop();
    }
  });

  it("asks the service account's token at its token_uri and sends it with every request (useAuthWithCustomEndpoint), through the guard", async () => {
    const authenticated = new GcsServer(['calls'], { publicKey });
    await authenticated.start();
    try {
      const app = `const { Storage } = require('@google-cloud/storage')
        const attempt = (promise) => promise.then(() => 'no error', (error) => error.message)
        export async function processEvent(event, { config }) {
          const key = JSON.parse(config.key)
          const storage = new Storage({ credentials: key, apiEndpoint: config.endpoint, useAuthWithCustomEndpoint: true })
          const file = storage.bucket('calls').file('signed.txt')
          // (not a resumable upload: the SDK sends its session no token at a custom endpoint, useAuthWithCustomEndpoint or not)
          event.properties.out = { multipart: await attempt(file.save('a', { resumable: false })), exists: await attempt(file.exists()), download: (await file.download())[0].toString() }
          const metadata = new Storage({ credentials: { ...key, token_uri: 'http://169.254.169.254/computeMetadata/v1/token' }, apiEndpoint: config.endpoint, useAuthWithCustomEndpoint: true })
          event.properties.blocked = await attempt(metadata.bucket('calls').file('x').save('x', { resumable: false }))
          const anonymous = new Storage({ apiEndpoint: config.endpoint })
          event.properties.anonymous = await attempt(anonymous.bucket('calls').file('x').exists())
          return event
        }`;
      const key = { ...KEY_JSON, token_uri: `${authenticated.url}/token` };
      const outcome = await runApp('gcs-auth', app, { endpoint: authenticated.url, key: JSON.stringify(key) }, guard(['127.0.0.1']));
      expect(outcome).toMatchObject({ status: 'ok', event: { properties: {
        out: { multipart: 'no error', exists: 'no error', download: 'a' },
        blocked: expect.stringContaining('169.254.169.254) is blocked'), anonymous: 'Invalid Credentials',
      } } });
      // One token (the JWT client caches it), for the key's account and the storage scope.
      expect([...authenticated.tokens.values()]).toEqual([expect.objectContaining({ iss: KEY_JSON.client_email, scope: 'https://www.googleapis.com/auth/devstorage.full_control' })]);
      const api = authenticated.requests.filter((request) => request.path !== '/token' && request.headers.authorization !== undefined);
      expect(api.map((request) => `${request.method} ${request.query.uploadType ?? request.query.alt ?? ''}`)).toEqual(['POST multipart', 'GET ', 'GET media']);
      expect(api.every((request) => authenticated.tokens.has(String(request.headers.authorization).replace('Bearer ', '')))).toBe(true);
    } finally {
      await authenticated.stop();
    }
  });

  it('caps the clients an instance holds, gives another instance nothing by handle, and leaves no socket open after dispose', async () => {
    const services = guard(['127.0.0.1']);
    const { loop, stolen, socketsBefore, socketsWhileOpen, socketsAfter } = await loopAndThief({ looping: `const { Storage } = require('@google-cloud/storage')
      export async function processEvent(event, { config }) {
        // Storages with the same options share a client: one per batch costs nothing.
        for (let i = 0; i < 20; i++) await new Storage({ apiEndpoint: config.endpoint }).bucket('calls').exists()
        let opened = 1
        try {
          for (;;) { await new Storage({ projectId: 'p' + opened, apiEndpoint: config.endpoint }).bucket('calls').exists(); opened++ }
        } catch (error) { event.properties.error = error.message }
        event.properties.opened = opened
        return event
      }`, thief: `const { Storage } = require('@google-cloud/storage')
      export async function processEvent(event) {
        const storage = new Storage({ apiEndpoint: 'http://203.0.113.1' })
        storage._handle = Promise.resolve(1) // the first client of the looping instance has handle 1 there
        try { await storage.bucket('calls').getFiles(); event.properties.stolen = true } catch (error) { event.properties.error = error.message }
        return event
      }`, config: { endpoint: server.url }, services, serverUrl: server.url });
    expect(loop).toMatchObject({ status: 'ok', event: { properties: { opened: 10, error: expect.stringContaining('more than 10 open connections') } } });
    expect(stolen).toMatchObject({ status: 'ok', event: { properties: { error: expect.stringContaining('no such client in this app') } } });
    expect(socketsWhileOpen).toBeGreaterThan(socketsBefore); // the clients keep their connections alive
    await expect.poll(socketsAfter, { timeout: 5000 }).toBe(socketsBefore);
  });
});
