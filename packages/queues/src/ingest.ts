import { newId, type PluginEvent, type Route } from '@sluice/core';
import { hopJobId, type PipelineJob } from './jobs';
import { entryQueue } from './names';
import type { QueueProducer } from './producer';

/**
 * Puts accepted events of one project on the first queue of their route, as one batch job, in
 * `shard`'s lane (names.ts: all of `events` must be of that lane's persons; undefined: unordered).
 * The route is fixed here: later config changes never reorder events already in flight.
 */
export async function enqueueIngested(producer: QueueProducer, projectId: string, route: Route, events: PluginEvent[], shard?: number): Promise<void> {
  const job: PipelineJob = { batchId: newId(), projectId, route, hop: 0, shard, events };
  await producer.add(entryQueue(route, shard), job, hopJobId(job.batchId, 0));
}
