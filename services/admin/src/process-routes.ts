import type { FastifyInstance } from 'fastify';
import { JOBS_QUEUE, SCHEDULES_QUEUE, allLanes, deliverQueue, queueDepths, stageQueue, storeQueue, type QueueDepth, type ProcessRecord, type ProcessRegistry, type QueueProducer, type Shard } from '@sluice/queues';
import type { Store } from '@sluice/store';

export interface ProcessRouteDeps {
  store: Store;
  producer: QueueProducer;
  processes: ProcessRegistry;
  orderShards: number;
}

/** One Prometheus http_sd_config target group per process: its metrics address and what it is. */
function targetGroup(process: ProcessRecord) {
  const url = new URL(process.metricsUrl);
  return {
    targets: [url.host],
    labels: {
      __scheme__: url.protocol.replace(':', ''),
      __metrics_path__: url.pathname,
      role: process.role,
      sluice_host: process.host,
      sluice_version: process.version,
    },
  };
}

/**
 * GET /api/metrics-targets: the running processes as Prometheus HTTP service discovery
 * (`http_sd_configs`). Public, as /metrics is: it lists only the addresses Prometheus scrapes.
 */
export async function metricsTargetRoutes(app: FastifyInstance, deps: ProcessRouteDeps): Promise<void> {
  app.get('/metrics-targets', { schema: { summary: 'Prometheus HTTP service discovery: every running Sluice process', security: [] } }, async () =>
    (await deps.processes.list()).map(targetGroup),
  );
}

/**
 * The queues worth watching: the store's, app jobs', schedules', and each installed app's stage and
 * deliver queues; a family's lanes (names.ts) are listed under its unordered lane's name.
 */
async function watchedQueues(store: Store, shards: number): Promise<Array<{ queue: string; lanes: string[]; app?: string }>> {
  const family = (queueOf: (shard: Shard) => string) => allLanes(queueOf, shards);
  const queues = new Map<string, { lanes: string[]; app?: string }>([
    [storeQueue(), { lanes: family(storeQueue) }],
    [JOBS_QUEUE, { lanes: [JOBS_QUEUE] }],
    [SCHEDULES_QUEUE, { lanes: [SCHEDULES_QUEUE] }],
  ]);
  for (const instance of await store.listAllInstances()) {
    const { appId, name: app } = instance;
    if (instance.capabilities.includes('processEvent')) queues.set(stageQueue(appId), { lanes: family((shard) => stageQueue(appId, shard)), app });
    if (instance.capabilities.includes('onEvent') || instance.capabilities.includes('exportEvents')) queues.set(deliverQueue(appId), { lanes: family((shard) => deliverQueue(appId, shard)), app });
  }
  return [...queues].map(([queue, { lanes, app }]) => ({ queue, lanes, ...(app !== undefined && { app }) }));
}

/** A queue family's depth: its lanes' depths summed. */
export function summed(queue: string, depths: QueueDepth[]): QueueDepth {
  const sum = (state: 'waiting' | 'active' | 'delayed' | 'failed') => depths.reduce((total, depth) => total + depth[state], 0);
  return { queue, waiting: sum('waiting'), active: sum('active'), delayed: sum('delayed'), failed: sum('failed') };
}

/** GET /api/status (admin token): the running processes and every queue's depth, as `sluice status` shows them. */
export async function statusRoutes(app: FastifyInstance, deps: ProcessRouteDeps): Promise<void> {
  app.get('/status', { schema: { summary: 'Running processes and queue depths (each queue family summed over its lanes)' } }, async () => {
    const [processes, queues] = await Promise.all([deps.processes.list(), watchedQueues(deps.store, deps.orderShards)]);
    const depths = await Promise.all(queues.map(async ({ queue, lanes }) => summed(queue, await queueDepths(deps.producer, lanes))));
    return { processes, queues: queues.map(({ lanes: _lanes, ...q }, i) => ({ ...q, ...depths[i]! })) };
  });
}
