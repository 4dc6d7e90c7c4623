import type { Job } from 'bullmq';
import { isDestination, stageLabel, type Logger, type PipelineCache, type SluiceConfig } from '@sluice/core';
import type { SluiceMetrics } from '@sluice/metrics';
import {
  STORE_QUEUE,
  workerSetFor,
  deliverJobId,
  deliverQueue,
  type DeliverJob,
  type PipelineJob,
  type QueueProducer,
} from '@sluice/queues';
import type { AppVmPool } from '@sluice/sandbox';
import type { Store } from '@sluice/store';
import type { Redis } from 'ioredis';

export interface RunnerOptions {
  config: SluiceConfig;
  store: Store;
  connection: Redis;
  producer: QueueProducer;
  pipelines: PipelineCache;
  pool: AppVmPool;
  metrics: SluiceMetrics;
  logger: Logger;
}

export interface Runner {
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Serves the `store` queue (idempotent insert, then one deliver job per destination instance) and
 * the `deliver-<app>` queues (onEvent per event). Retries with PostHog's RetryError semantics,
 * dead letters, exportEvents, jobs and schedules deepen this in the runner's own issue.
 */
export async function startRunner(options: RunnerOptions): Promise<Runner> {
  const { config, store, producer, pipelines, pool, metrics, logger } = options;
  const workers = workerSetFor(config, options.connection, logger, producer);

  async function storeBatch(job: Job<PipelineJob>): Promise<void> {
    const { batchId, projectId } = job.data;
    const destinations = await pipelines.destinations(projectId);
    // PostHog lists the apps that will get the event through onEvent/exportEvents as deferred.
    const deferred = destinations.map((destination) => stageLabel(destination.name, destination.id));
    const events = deferred.length
      ? job.data.events.map((event) => ({ ...event, properties: { ...event.properties, $plugins_deferred: deferred } }))
      : job.data.events;
    const inserted = await store.insertEvents(projectId, events);
    metrics.eventsStored.inc({ project: projectId }, inserted);
    metrics.duplicatesSkipped.inc({ project: projectId }, events.length - inserted);
    // All events are delivered, also those already stored: a retry after a crash between insert
    // and enqueue must still deliver them (at-least-once).
    for (const destination of destinations) {
      const deliver: DeliverJob = { batchId, projectId, instanceId: destination.id, events };
      await producer.add(deliverQueue(destination.appId), deliver, deliverJobId(batchId, destination.id));
    }
  }

  async function deliverBatch(job: Job<DeliverJob>): Promise<void> {
    const { instanceId, events } = job.data;
    const delivered = await pool.use(instanceId, async (vm, instance) => {
      if (!vm.capabilities.includes('onEvent')) return;
      const labels = { app: instance.name, instance: String(instance.id) };
      for (const event of events) {
        const result = await vm.onEvent(event);
        metrics.onEventCalls.inc({ ...labels, outcome: result.ok ? 'ok' : 'error' });
      }
    });
    if (delivered === null) logger.warn({ instanceId }, 'destination instance no longer exists; batch skipped');
  }

  async function refresh(): Promise<void> {
    for (const app of await store.listApps()) {
      if (isDestination(app.capabilities)) workers.ensure(deliverQueue(app.id), deliverBatch);
    }
  }

  workers.ensure(STORE_QUEUE, storeBatch);
  await refresh();
  return { refresh, close: () => workers.close() };
}
