/**
 * `npm run bench exports`: the PostgreSQL export app (test/compat/postgres-export, through the pg
 * bridge in QuickJS) against the same export written directly with node-postgres in Node: events
 * per second for batches of 500 sample events into the machine's PostgreSQL, alternated in one run
 * (only the ratio decides). The S3 export has no bridge yet, so it is not measured.
 */
import { randomUUID } from 'node:crypto';
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

export async function benchExports(): Promise<void> {
  const table = `sluice_bench_export_${randomUUID().slice(0, 8)}`;
  const sample = readSampleEvents() as PluginEvent[];
  const app = await compileApp(appSource('test/compat/postgres-export'));
  const vm = await createAppVm({
    instanceId: 1, name: 'postgres-export', code: app.code, limits: { callTimeoutMs: 30_000 }, onLog: () => {},
    config: applyConfigDefaults(app.pluginJson, { databaseUrl: DATABASE_URL, tableName: table, disableSsl: 'Yes' }),
    services: { fetch: new GuardedFetch({ allowPrivate: ['127.0.0.1'], timeoutMs: 30_000, maxResponseBytes: 1_000_000, maxRedirects: 0 }) },
  });
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    await vm.setup();
    const rates = { bridged: [] as number[], direct: [] as number[] };
    const time = async (work: () => Promise<unknown>) => {
      const started = performance.now();
      await work();
      return (BATCH * BATCHES_PER_ROUND) / ((performance.now() - started) / 1000);
    };
    await vm.exportEvents(batchOf(sample)); // warm both paths
    await exportDirectly(batchOf(sample), table);
    for (let round = 0; round < ROUNDS; round++) {
      rates.bridged.push(await time(async () => {
        for (let i = 0; i < BATCHES_PER_ROUND; i++) {
          const result = await vm.exportEvents(batchOf(sample));
          if (!result.ok) throw new Error(`the app failed: ${JSON.stringify(result)}`);
        }
      }));
      rates.direct.push(await time(async () => {
        for (let i = 0; i < BATCHES_PER_ROUND; i++) await exportDirectly(batchOf(sample), table);
      }));
    }
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM public.${table}`);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const bridged = median(rates.bridged), direct = median(rates.direct);
    process.stdout.write(`\nexports: PostgreSQL export, batches of ${BATCH} sample events, ${ROUNDS} alternating rounds of ${BATCHES_PER_ROUND} batches (${rows[0].n} rows written)\n`);
    process.stdout.write(`${'variant'.padEnd(46)}${'events/s'.padStart(10)}${'vs direct'.padStart(11)}\n`);
    process.stdout.write(`${'app in the sandbox, pg through the bridge'.padEnd(46)}${int(bridged).padStart(10)}${`${(bridged / direct).toFixed(2)}×`.padStart(11)}\n`);
    process.stdout.write(`${'the same INSERT with node-postgres in Node'.padEnd(46)}${int(direct).padStart(10)}${'1.00×'.padStart(11)}\n`);
  } finally {
    vm.dispose();
    await admin.query(`DROP TABLE IF EXISTS public.${table}`);
    await admin.end();
  }
}
