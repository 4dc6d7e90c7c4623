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
    observeStoreLag(metrics, projectId, normalized);
    for (const destination of destinations) {
      // Same lane onwards: each destination sees a person's events in the order they were stored.
      const deliver: DeliverJob = { batchId, projectId, instanceId: destination.id, events, shard };
      await producer.add(deliverQueue(destination.appId, shard), deliver, deliverJobId(batchId, destination.id));
    }
  };
}

/** Each event's time from intake to store; events of one request share `now`, parsed once. */
function observeStoreLag(metrics: RunnerContext['metrics'], projectId: string, events: readonly { now: string }[]): void {
  const storedAt = Date.now();
  const lag = metrics.eventStoreLag.labels({ project: projectId });
  let lastNow = '';
  let lastSeconds = 0;
  for (const event of events) {
    if (event.now !== lastNow) {
      lastNow = event.now;
      lastSeconds = Math.max(0, (storedAt - Date.parse(event.now)) / 1000);
    }
    lag.observe(lastSeconds);
  }
}
