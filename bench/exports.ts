/**
 * `npm run bench exports`: the PostgreSQL export app (test/compat/postgres-export, through the pg
 * bridge in QuickJS) against the same export written directly with node-postgres in Node: events
 * per second for batches of 500 sample events into the machine's PostgreSQL, alternated in one run
 * (only the ratio decides). Then the S3 export (test/compat/s3-export, aws-sdk v2's S3 through the
 * bridge) into s3rver on loopback against the same gzip'd JSON-lines PutObject with the v3 SDK in Node.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import pg from 'pg';
import type { PluginEvent } from '@sluice/core';
import { GuardedFetch, applyConfigDefaults, compileApp, createAppVm } from '@sluice/sandbox';
import { appSource } from '../test/helpers/api';
import { readSampleEvents } from '../test/fixtures/sample-events';
import { int } from './format';

const DATABASE_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BATCH = 500;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const BATCHES_PER_ROUND = Number(process.env.BENCH_EXPORT_BATCHES ?? 10);

function batchOf(sample: PluginEvent[]): PluginEvent[] {
  return Array.from({ length: BATCH }, (_, index) => ({ ...sample[index % sample.length]!, uuid: randomUUID(), team_id: 1, site_url: '', ip: null }));
}

/** The app's INSERT, written in Node: one multi-row statement per batch over a fresh connection, as the app does. */
async function exportDirectly(events: PluginEvent[], table: string): Promise<void> {
  const values: unknown[] = [];
  const rows = events.map((event, index) => {
    const { $set, $set_once, $elements, ...properties } = event.properties ?? {};
    values.push(event.uuid, event.event, JSON.stringify(properties), JSON.stringify($elements ?? []), JSON.stringify($set ?? {}),
      JSON.stringify($set_once ?? {}), event.timestamp, event.distinct_id, event.team_id, event.ip, event.site_url);
    return `(${Array.from({ length: 11 }, (_, i) => `$${index * 11 + i + 1}`).join(', ')})`;
  });
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`INSERT INTO public.${table} (uuid, event, properties, elements, set, set_once, timestamp, distinct_id, team_id, ip, site_url) VALUES ${rows.join(', ')}`, values);
  } finally {
    await client.end();
  }
}

/** Events/s of `bridged` and `direct` (each exports one batch), alternated in rounds; medians printed with their ratio. */
async function compare(title: string, labels: [bridged: string, direct: string], bridged: () => Promise<unknown>, direct: () => Promise<unknown>): Promise<void> {
  const rates = { bridged: [] as number[], direct: [] as number[] };
  const time = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    for (let i = 0; i < BATCHES_PER_ROUND; i++) await work();
    return (BATCH * BATCHES_PER_ROUND) / ((performance.now() - started) / 1000);
  };
  await bridged(); // warm both paths
  await direct();
  for (let round = 0; round < ROUNDS; round++) {
    rates.bridged.push(await time(bridged));
    rates.direct.push(await time(direct));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const fast = median(rates.bridged), base = median(rates.direct);
  process.stdout.write(`\nexports: ${title}, batches of ${BATCH} sample events, ${ROUNDS} alternating rounds of ${BATCHES_PER_ROUND} batches\n`);
  process.stdout.write(`${'variant'.padEnd(50)}${'events/s'.padStart(10)}${'vs direct'.padStart(11)}\n`);
  process.stdout.write(`${labels[0].padEnd(50)}${int(fast).padStart(10)}${`${(fast / base).toFixed(2)}×`.padStart(11)}\n`);
  process.stdout.write(`${labels[1].padEnd(50)}${int(base).padStart(10)}${'1.00×'.padStart(11)}\n`);
}

/** Fails the bench when the app's call did not succeed (a silent failure would look fast). */
function succeeded(result: { ok: boolean }): void {
  if (!result.ok) throw new Error(`the app failed: ${JSON.stringify(result)}`);
}

const loopbackFetch = () => new GuardedFetch({ allowPrivate: ['127.0.0.1'], timeoutMs: 30_000, maxResponseBytes: 1_000_000, maxRedirects: 0 });

export async function benchExports(): Promise<void> {
  await benchPostgresExport();
  await benchS3Export();
}

async function benchS3Export(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'sluice-bench-s3-'));
  const bucket = 'bench';
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const sample = readSampleEvents() as PluginEvent[];
  const app = await compileApp(appSource('test/compat/s3-export'));
  const vm = await createAppVm({
    instanceId: 1, name: 's3-export', code: app.code, limits: { callTimeoutMs: 30_000 }, onLog: () => {},
    config: applyConfigDefaults(app.pluginJson, { awsAccessKey: 'S3RVER', awsSecretAccessKey: 'S3RVER', s3BucketName: bucket, s3BucketEndpoint: endpoint }),
    services: { fetch: loopbackFetch() },
  });
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  try {
    await vm.setup();
    await compare("S3 export (gzip'd JSON lines into s3rver)", ['app in the sandbox, aws-sdk S3 through the bridge', 'the same PutObject with @aws-sdk/client-s3 in Node'],
      async () => succeeded(await vm.exportEvents(batchOf(sample))),
      () => client.send(new PutObjectCommand({ Bucket: bucket, Key: `direct/${randomUUID()}.jsonl.gz`, ContentType: 'application/jsonl',
        Body: gzipSync(Buffer.from(batchOf(sample).map((event) => JSON.stringify(event)).join('\n'))) })));
  } finally {
    vm.dispose();
    client.destroy();
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function benchPostgresExport(): Promise<void> {
  const table = `sluice_bench_export_${randomUUID().slice(0, 8)}`;
  const sample = readSampleEvents() as PluginEvent[];
  const app = await compileApp(appSource('test/compat/postgres-export'));
  const vm = await createAppVm({
    instanceId: 1, name: 'postgres-export', code: app.code, limits: { callTimeoutMs: 30_000 }, onLog: () => {},
    config: applyConfigDefaults(app.pluginJson, { databaseUrl: DATABASE_URL, tableName: table, disableSsl: 'Yes' }),
    services: { fetch: loopbackFetch() },
  });
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    await vm.setup();
    await compare('PostgreSQL export', ['app in the sandbox, pg through the bridge', 'the same INSERT with node-postgres in Node'],
      async () => succeeded(await vm.exportEvents(batchOf(sample))), () => exportDirectly(batchOf(sample), table));
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM public.${table}`);
    process.stdout.write(`(${rows[0].n} rows written)\n`);
  } finally {
    vm.dispose();
    await admin.query(`DROP TABLE IF EXISTS public.${table}`);
    await admin.end();
  }
}
