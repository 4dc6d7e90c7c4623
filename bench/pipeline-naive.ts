/**
 * The naive design `pnpm bench pipeline` compares Sluice with, a child process of its own: one
 * BullMQ job per event per stage. POST /batch adds one job per event to the first stage's queue
 * (one addBulk, answered once it is in Redis); a BullMQ Worker per processEvent stage runs that
 * app in the real Sluice sandbox on the one event and adds the result as one job to the next
 * queue; the store queue's worker inserts the event into Postgres (one INSERT per event, a table
 * of its own in DATABASE_URL, which the bench made for this run) and adds one job per event to
 * each onEvent destination's deliver queue, whose worker calls onEvent in the sandbox.
 *
 * Left out, in the naive design's favour: normalization, per-person order, exportEvents (one call
 * per event would be no design at all), retries beyond BullMQ's attempts, metrics.
 *
 * Its Redis keys are under NAIVE_PREFIX (the bench deletes them afterwards). GET /stats answers
 * `{"delivered"}`. Listens on 127.0.0.1:$PORT and writes "listening" when ready.
 */
import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { PluginEvent } from '@sluice/core';
import { applyConfigDefaults, compileApp, createAppVm, type AppVm } from '@sluice/sandbox';
import { RedisAppCache } from '../packages/queues/src/app-cache';
import { appSource } from '../test/helpers/api';
import { serveBatches } from './batch-server';
import { CHAIN } from './pipeline-chain';

const PREFIX = process.env.NAIVE_PREFIX!;
const REDIS_URL = process.env.REDIS_URL!;
/**
 * Jobs each queue's worker runs at once. One event a job, so it takes many in flight to keep
 * Redis round trips from serializing the work (Sluice runs 4 per queue, but of batches).
 */
const CONCURRENCY = Number(process.env.NAIVE_CONCURRENCY ?? 32);
const JOB: JobsOptions = { removeOnComplete: true, removeOnFail: 1000, attempts: 3 };

const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
// meta.cache as Sluice gives it: an auto-pipelined connection (createAppCacheRedis).
const cacheRedis = new Redis(REDIS_URL, { enableAutoPipelining: true });
const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 8 });
await db.query('CREATE TABLE naive_events (uuid text PRIMARY KEY, event text NOT NULL, distinct_id text NOT NULL, timestamp text, properties jsonb NOT NULL)');

async function loadVm(index: number): Promise<AppVm> {
  const app = CHAIN[index]!;
  const compiled = await compileApp(appSource(app.dir));
  const vm = await createAppVm({
    instanceId: index + 1, name: app.dir, code: compiled.code, config: applyConfigDefaults(compiled.pluginJson, app.config),
    onLog: () => {}, services: { cache: new RedisAppCache(cacheRedis, PREFIX, index + 1) },
  });
  await vm.setup();
  return vm;
}
const vms = await Promise.all(CHAIN.map((_, index) => loadVm(index)));
const stages = vms.filter((vm) => vm.capabilities.includes('processEvent'));
const destinations = vms.filter((vm) => vm.capabilities.includes('onEvent'));

const queues = new Map<string, Queue>();
const queue = (name: string) => {
  if (!queues.has(name)) queues.set(name, new Queue(name, { connection, prefix: PREFIX }));
  return queues.get(name)!;
};
const add = (name: string, event: PluginEvent) => queue(name).add('event', event, JOB);
const stageQueue = (index: number) => (index < stages.length ? `stage-${index}` : 'store');

const workers: Worker[] = [];
const work = (name: string, process: (event: PluginEvent) => Promise<void>) => {
  workers.push(new Worker(name, (job: Job<PluginEvent>) => process(job.data), { connection, prefix: PREFIX, concurrency: CONCURRENCY }));
};

stages.forEach((vm, index) => work(stageQueue(index), async (event) => {
  const [outcome] = await vm.processEventBatch([event]);
  if (outcome?.status === 'dropped') return;
  // An error goes on as the event stood (Sluice's default, PostHog's).
  await add(stageQueue(index + 1), outcome?.status === 'ok' ? outcome.event : event);
}));

work('store', async (event) => {
  await db.query('INSERT INTO naive_events (uuid, event, distinct_id, timestamp, properties) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (uuid) DO NOTHING',
    [event.uuid, event.event, event.distinct_id, event.timestamp ?? null, JSON.stringify(event.properties ?? {})]);
  await Promise.all(destinations.map((_, index) => add(`deliver-${index}`, event)));
});

let delivered = 0;
destinations.forEach((vm, index) => work(`deliver-${index}`, async (event) => {
  const result = await vm.onEvent(event);
  if (!result.ok) throw new Error(result.error);
  delivered++;
}));

serveBatches({
  onBatch: async (events) => {
    await queue(stageQueue(0)).addBulk(events.map((event) => ({ name: 'event', data: event, opts: JOB })));
  },
  stats: () => ({ delivered }),
  close: async () => {
    await Promise.all(workers.map((worker) => worker.close(true)));
    await Promise.all([...queues.values()].map((each) => each.close()));
    for (const vm of vms) vm.dispose();
    await db.end();
    connection.disconnect();
    cacheRedis.disconnect();
  },
});
