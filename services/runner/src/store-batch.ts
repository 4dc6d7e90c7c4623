import type { Job } from 'bullmq';
import { stageLabel } from '@sluice/core';
import { deliverJobId, deliverQueue, pipelineEvents, type DeliverJob, type PipelineJob } from '@sluice/queues';
import type { RunnerContext } from './context';

/**
 * The `store` queue: inserts a batch idempotently, then queues one deliver job per destination
 * instance of the project. All events are delivered, also those already stored: a retry after a
 * crash between insert and enqueue must still deliver them (at-least-once).
 */
export function storeProcessor({ store, producer, pipelines, metrics }: RunnerContext) {
  return async function storeBatch(job: Job<PipelineJob>): Promise<void> {
    const { batchId, projectId, shard } = job.data;
    const destinations = await pipelines.destinations(projectId);
    // PostHog lists the apps that will get the event through onEvent/exportEvents as deferred.
    const deferred = destinations.map((destination) => stageLabel(destination.name, destination.id));
    const normalized = pipelineEvents(job.data);
    const events = deferred.length
      ? normalized.map((event) => ({ ...event, properties: { ...event.properties, $plugins_deferred: deferred } }))
      : normalized;
    const inserted = await store.insertEvents(projectId, events);
    metrics.eventsStored.inc({ project: projectId }, inserted);
    metrics.duplicatesSkipped.inc({ project: projectId }, events.length - inserted);
    for (const destination of destinations) {
      // Same lane onwards: each destination sees a person's events in the order they were stored.
      const deliver: DeliverJob = { batchId, projectId, instanceId: destination.id, events, shard };
      await producer.add(deliverQueue(destination.appId, shard), deliver, deliverJobId(batchId, destination.id));
    }
  };
}
