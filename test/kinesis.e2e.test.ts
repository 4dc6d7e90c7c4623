/**
 * aws-sdk v2's Kinesis through the host bridge, against kinesalite (Kinesis's API from npm, on
 * loopback): an export app (test/compat/kinesis-export) through the whole pipeline, read back with
 * the real v3 SDK; and an import-style app reading a stream (describeStream, getShardIterator,
 * getRecords, putRecord) with error names as the service gives them; and PostHog's Kinesis import
 * (test/compat/kinesis-import) on its schedule, capturing what was put into a stream.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateStreamCommand, DescribeStreamCommand, PutRecordsCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import kinesalite from 'kinesalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardedFetch, compileApp, createAppVm } from '@sluice/sandbox';
import { install, post, sampleEvents, storedEvents } from './helpers/api';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';

const CREDENTIALS = { accessKeyId: 'AKID', secretAccessKey: 'kinesalite-secret' };

describe('the Kinesis bridge against kinesalite', () => {
  let server: Server;
  let endpoint: string;
  let reader: KinesisClient;
  let sluice: RunningSluice;

  async function createStream(name: string): Promise<void> {
    await reader.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    await waitFor(`stream ${name} active`, async () => (await reader.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription?.StreamStatus === 'ACTIVE', 10_000, 50);
  }

  async function readAll(name: string): Promise<Array<Record<string, any>>> {
    const description = await reader.send(new DescribeStreamCommand({ StreamName: name }));
    const records: Array<Record<string, any>> = [];
    for (const shard of description.StreamDescription!.Shards!) {
      let iterator = (await reader.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      for (let page = 0; iterator && page < 50; page++) {
        const got = await reader.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        records.push(...(got.Records ?? []).map((record) => JSON.parse(Buffer.from(record.Data!).toString('utf8'))));
        if ((got.Records ?? []).length === 0) break;
        iterator = got.NextShardIterator;
      }
    }
    return records;
  }

  beforeAll(async () => {
    server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 10 });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // (the v3 Kinesis client defaults to HTTP/2, which kinesalite does not speak; the bridge uses HTTP/1.1 too)
    reader = new KinesisClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, requestHandler: new NodeHttpHandler() });
    // runEveryMinute every second, for the import app.
    sluice = await startSluice({ SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1', SLUICE_RUN_EVERY_MINUTE_MS: '1000' });
  }, 60_000);
  afterAll(async () => {
    await sluice?.stop();
    reader?.destroy();
    server?.close();
  });

  it('exports every event once as a record through the pipeline', async () => {
    await createStream('exported');
    await install(sluice.url, 'test/compat/kinesis-export', {
      awsAccessKey: CREDENTIALS.accessKeyId, awsSecretAccessKey: CREDENTIALS.secretAccessKey, awsRegion: 'us-east-1',
      kinesisStreamName: 'exported', kinesisEndpoint: endpoint, exportEventsBufferSeconds: '0.5',
    });
    const events = sampleEvents(120);
    for (let start = 0; start < events.length; start += 40) {
      const batch = events.slice(start, start + 40);
      expect((await post(sluice.url, '/batch', { api_key: batch[0]!.api_key, batch })).status).toBe(200);
    }
    const records = await waitFor('120 records in the stream', async () => {
      const found = await readAll('exported').catch(() => []);
      return found.length >= events.length && found;
    }, 30_000, 500);
    expect(records.map((record) => record.uuid).sort()).toEqual(events.map((event) => event.uuid).sort());
  });

  it('reads a stream as an import app does: shard iterators, records as Buffers, Dates, and error names kept', async () => {
    await createStream('imported');
    const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'kinesis-import' }), 'index.js': `const { Kinesis } = require('aws-sdk')
      export async function processEvent(event, { config }) {
        const kinesis = new Kinesis({ accessKeyId: 'AKID', secretAccessKey: config.secret, region: 'us-east-1', endpoint: config.endpoint })
        await new Promise((resolve, reject) => kinesis.putRecord({ StreamName: 'imported', Data: 'first', PartitionKey: 'a' }, (error, data) => error ? reject(error) : resolve(data)))
        await kinesis.putRecord({ StreamName: 'imported', Data: Buffer.from('second'), PartitionKey: 'a' }).promise()
        const { StreamDescription } = await kinesis.describeStream({ StreamName: 'imported' }).promise()
        const { ShardIterator } = await kinesis.getShardIterator({ StreamName: 'imported', ShardId: StreamDescription.Shards[0].ShardId, ShardIteratorType: 'TRIM_HORIZON' }).promise()
        const { Records } = await kinesis.getRecords({ ShardIterator, Limit: 10 }).promise()
        let bad
        try { await kinesis.getRecords({ ShardIterator: 'not-an-iterator' }).promise() } catch (error) { bad = { name: error.name, message: error.message } }
        let missing
        try { await kinesis.describeStream({ StreamName: 'nope' }).promise() } catch (error) { missing = error.name }
        event.properties.out = { data: Records.map((record) => record.Data.toString('utf8')), isBuffer: Buffer.isBuffer(Records[0].Data),
          isDate: Records[0].ApproximateArrivalTimestamp instanceof Date, bad, missing }
        return event
      }` });
    const vm = await createAppVm({ instanceId: 1, name: 'kinesis-import', code: app.code, config: { endpoint, secret: CREDENTIALS.secretAccessKey }, secrets: [CREDENTIALS.secretAccessKey],
      limits: { callTimeoutMs: 20_000 }, onLog: () => {}, services: { fetch: new GuardedFetch({ allowPrivate: ['127.0.0.1'], timeoutMs: 5000, maxResponseBytes: 1_000_000, maxRedirects: 0 }) } });
    try {
      const [outcome] = await vm.processEventBatch([{ uuid: 'u', event: 'e', distinct_id: 'd', properties: {}, timestamp: '2026-01-01T00:00:00Z', ip: null, site_url: '', team_id: 1, now: '', sent_at: null }]);
      expect(outcome).toMatchObject({ status: 'ok', event: { properties: { out: {
        data: ['first', 'second'], isBuffer: true, isDate: true, bad: { name: expect.stringMatching(/Exception$/) }, missing: 'ResourceNotFoundException',
      } } } });
      expect(JSON.stringify(outcome)).not.toContain(CREDENTIALS.secretAccessKey);
    } finally {
      vm.dispose();
    }
  });

  it('imports what was put into a stream, every record once, on its runEveryMinute schedule (posthog.capture)', async () => {
    await createStream('to-import');
    const put = async (from: number, count: number) => reader.send(new PutRecordsCommand({
      StreamName: 'to-import',
      Records: Array.from({ length: count }, (_, index) => ({
        PartitionKey: `p${from + index}`,
        Data: Buffer.from(JSON.stringify({ event: 'kinesis row', distinct_id: `k${(from + index) % 7}`, properties: { row: from + index } })),
      })),
    }));
    await put(0, 30);
    await install(sluice.url, 'test/compat/kinesis-import', {
      kinesisAccessKeyId: CREDENTIALS.accessKeyId, kinesisSecretAccessKey: CREDENTIALS.secretAccessKey, kinesisStreamName: 'to-import', kinesisEndpoint: endpoint,
    });
    const imported = async () => (await storedEvents(sluice.url)).filter((event) => event.event === 'kinesis row');
    await waitFor('the first 30 records imported', async () => (await imported()).length >= 30, 30_000, 250);
    // Later records arrive on a later run, from the iterator the app kept in storage.
    await put(30, 20);
    const rows = await waitFor('all 50 records imported', async () => {
      const found = await imported();
      return found.length >= 50 && found;
    }, 30_000, 250);
    expect(rows.map((event) => event.properties.row).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, index) => index));
    expect(rows.find((event) => event.properties.row === 8)).toMatchObject({ distinct_id: 'k1', properties: { $lib: 'posthog-plugin-server', $kinesis_sequence_number: expect.any(String) } });
  });
});
