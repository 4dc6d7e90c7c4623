/**
 * PostHog's S3 export as the catalogue writes it (test/compat/s3-export: aws-sdk v2's S3, upload
 * with a callback, gzip'd JSON lines) through the whole pipeline into s3rver, an S3-protocol
 * server from npm on loopback, read back with the real AWS SDK.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, install, post, sampleEvents } from './helpers/api';
import { loopAndThief } from './helpers/bridge-apps';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';
import { GuardedFetch, compileApp, createAppVm } from '@sluice/sandbox';

const BUCKET = 'sluice-events';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

describe('the S3 export app into an S3-protocol server', () => {
  let directory: string;
  let server: S3rver;
  let endpoint: string;
  let reader: S3Client;
  let sluice: RunningSluice;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'sluice-s3rver-'));
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: BUCKET, configs: [] }] });
    const { port } = await server.run();
    endpoint = `http://127.0.0.1:${port}`;
    reader = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS });
    sluice = await startSluice({ SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1' });
  }, 60_000);
  afterAll(async () => {
    await sluice?.stop();
    reader?.destroy();
    await server?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  async function storedEvents(): Promise<Array<Record<string, any>>> {
    const listed = await reader.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const events: Array<Record<string, any>> = [];
    for (const object of listed.Contents ?? []) {
      const body = await (await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: object.Key! }))).Body!.transformToByteArray();
      expect(object.Key).toMatch(/\.jsonl\.gz$/);
      events.push(...gunzipSync(body).toString('utf8').split('\n').map((line) => JSON.parse(line)));
    }
    return events;
  }

  it("uploads every exported event once, gzip'd JSON lines, with the project's numeric team_id", async () => {
    await install(sluice.url, 'test/compat/s3-export', {
      awsAccessKey: CREDENTIALS.accessKeyId, awsSecretAccessKey: CREDENTIALS.secretAccessKey, awsRegion: 'us-east-1',
      s3BucketName: BUCKET, s3BucketEndpoint: endpoint, exportEventsBufferSeconds: '0.5',
    });
    const events = sampleEvents(150);
    for (let start = 0; start < events.length; start += 50) {
      const batch = events.slice(start, start + 50);
      expect((await post(sluice.url, '/batch', { api_key: batch[0]!.api_key, batch })).status).toBe(200);
    }
    const stored = await waitFor('150 events in the bucket', async () => {
      const found = await storedEvents().catch(() => []);
      return found.length >= events.length && found;
    }, 30_000, 500);
    expect(stored.map((event) => event.uuid).sort()).toEqual(events.map((event) => event.uuid).sort());
    const { body: project } = await admin(sluice.url, 'GET', '/api/projects/default');
    expect(new Set(stored.map((event) => event.team_id))).toEqual(new Set([project.teamId]));
  });

  it("answers v2's other calls as v2 does: promise(), Buffers, Dates, error names, s3.config; refuses 169.254.169.254 without the allow setting", async () => {
    const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 's3-calls' }), 'index.js': `const AWS = require('aws-sdk')
      export async function processEvent(event, { config }) {
        const s3 = new AWS.S3({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'eu-west-1', endpoint: config.endpoint, s3ForcePathStyle: true })
        await s3.createBucket({ Bucket: 'calls' }).promise()
        await s3.putObject({ Bucket: 'calls', Key: 'a.txt', Body: 'hello' }).promise()
        const got = await s3.getObject({ Bucket: 'calls', Key: 'a.txt' }).promise()
        const listed = await new Promise((resolve, reject) => s3.listObjectsV2({ Bucket: 'calls' }, (error, data) => error ? reject(error) : resolve(data)))
        let missing
        try { await s3.getObject({ Bucket: 'calls', Key: 'nope' }).promise() } catch (error) { missing = error.name }
        let blocked
        try { await new AWS.S3({ endpoint: 'http://169.254.169.254' }).putObject({ Bucket: 'b', Key: 'k', Body: 'x' }).promise() } catch (error) { blocked = error.message }
        AWS.config.update({ region: 'ap-south-1' })
        const viaObjects = new AWS.S3({ endpoint: new AWS.Endpoint(config.endpoint), credentials: new AWS.Credentials('S3RVER', 'S3RVER'), s3ForcePathStyle: true })
        const uploaded = await new Promise((resolve, reject) => viaObjects.upload({ Bucket: 'calls', Key: 'b.txt', Body: Buffer.from('bytes') }).on('httpUploadProgress', () => {}).send((error, data) => error ? reject(error) : resolve(data)))
        event.properties.objects = { region: viaObjects.config.region, key: uploaded.Key, body: (await viaObjects.getObject({ Bucket: 'calls', Key: 'b.txt' }).promise()).Body.toString() }
        event.properties.out = { region: s3.config.region, isBuffer: Buffer.isBuffer(got.Body), body: got.Body.toString('utf8'),
          keys: listed.Contents.map((object) => object.Key), isDate: listed.Contents[0].LastModified instanceof Date, missing, blocked }
        return event
      }` });
    const vm = await createAppVm({ instanceId: 1, name: 's3-calls', code: app.code, config: { endpoint }, limits: { callTimeoutMs: 20_000 }, onLog: () => {},
      services: { fetch: new GuardedFetch({ allowPrivate: ['127.0.0.1'], timeoutMs: 5000, maxResponseBytes: 1_000_000, maxRedirects: 0 }) } });
    try {
      const [outcome] = await vm.processEventBatch([sampleEvents(1)[0] as any]);
      expect(outcome).toMatchObject({ status: 'ok', event: { properties: { out: {
        region: 'eu-west-1', isBuffer: true, body: 'hello', keys: ['a.txt'], isDate: true, missing: 'NoSuchKey', blocked: expect.stringContaining('169.254.169.254) is blocked'),
      }, objects: { region: 'ap-south-1', key: 'b.txt', body: 'bytes' } } } });
    } finally {
      vm.dispose();
    }
  });

  it('caps the clients an instance holds, gives another instance nothing by handle, and leaves no socket open after dispose', async () => {
    const services = { fetch: new GuardedFetch({ allowPrivate: ['127.0.0.1'], timeoutMs: 5000, maxResponseBytes: 1_000_000, maxRedirects: 0 }) };
    const { loop, stolen, socketsBefore, socketsWhileOpen, socketsAfter } = await loopAndThief({ looping: `const { S3 } = require('aws-sdk')
      export async function processEvent(event, { config }) {
        let opened = 0
        try {
          for (;;) {
            const s3 = new S3({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', endpoint: config.endpoint, s3ForcePathStyle: true })
            await s3.putObject({ Bucket: '${BUCKET}', Key: 'loop-' + opened, Body: 'x' }).promise()
            opened++
          }
        } catch (error) { event.properties.error = error.message }
        event.properties.opened = opened
        return event
      }`, thief: `const { S3 } = require('aws-sdk')
      export async function processEvent(event) {
        const s3 = new S3({ endpoint: 'http://203.0.113.1' })
        s3._handle = Promise.resolve(1) // the first client of the looping instance has handle 1 there
        try { await s3.listObjectsV2({ Bucket: '${BUCKET}' }).promise(); event.properties.stolen = true } catch (error) { event.properties.error = error.message }
        return event
      }`, config: { endpoint }, services, serverUrl: endpoint });
    expect(loop).toMatchObject({ status: 'ok', event: { properties: { opened: 10, error: expect.stringContaining('more than 10 open connections') } } });
    expect(stolen).toMatchObject({ status: 'ok', event: { properties: { error: expect.stringContaining('no such client in this app') } } });
    expect(socketsWhileOpen).toBeGreaterThan(socketsBefore); // the ten clients keep their connections alive
    await expect.poll(socketsAfter, { timeout: 5000 }).toBe(socketsBefore);
  });
});
