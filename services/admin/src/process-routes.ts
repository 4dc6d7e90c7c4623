import type { FastifyInstance } from 'fastify';
import { JOBS_QUEUE, SCHEDULES_QUEUE, STORE_QUEUE, deliverQueue, queueDepths, stageQueue, type ProcessRecord, type ProcessRegistry, type QueueProducer } from '@sluice/queues';
import type { Store } from '@sluice/store';

export interface ProcessRouteDeps {
  store: Store;
  producer: QueueProducer;
  processes: ProcessRegistry;
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

/** The queues worth watching: the store's, app jobs', schedules', and each installed app's stage and deliver queues. */
async function watchedQueues(store: Store): Promise<Array<{ queue: string; app?: string }>> {
  const queues = new Map<string, string | undefined>([[STORE_QUEUE, undefined], [JOBS_QUEUE, undefined], [SCHEDULES_QUEUE, undefined]]);
  for (const instance of await store.listAllInstances()) {
    if (instance.capabilities.includes('processEvent')) queues.set(stageQueue(instance.appId), instance.name);
    if (instance.capabilities.includes('onEvent') || instance.capabilities.includes('exportEvents')) queues.set(deliverQueue(instance.appId), instance.name);
  }
  return [...queues].map(([queue, app]) => ({ queue, ...(app !== undefined && { app }) }));
}

/** GET /api/status (admin token): the running processes and every queue's depth, as `sluice status` shows them. */
export async function statusRoutes(app: FastifyInstance, deps: ProcessRouteDeps): Promise<void> {
  app.get('/status', { schema: { summary: 'Running processes and queue depths' } }, async () => {
    const [processes, queues] = await Promise.all([deps.processes.list(), watchedQueues(deps.store)]);
    const depths = await queueDepths(deps.producer, queues.map((q) => q.queue));
    return { processes, queues: queues.map((q, i) => ({ ...q, ...depths[i]! })) };
  });
}
