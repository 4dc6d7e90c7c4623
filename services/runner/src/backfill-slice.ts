import type { AppInstance, PluginEvent, StoredEvent } from '@sluice/core';
import { deliverQueue, type DeliverJob, type QueueProducer } from '@sluice/queues';
import type { Backfill } from '@sluice/store';
import { deliveryFunctions } from './delivery';

/** How often the state of a slice's deliver jobs is looked at. */
const POLL_MS = 50;

/** A stored event as a destination gets it: what the store does not keep is filled as PostHog's historical exports do. */
export function backfillEvent(event: StoredEvent, teamId: number): PluginEvent {
  const { uuid, event: name, distinct_id, properties, timestamp, ip, created_at } = event;
  return { uuid, event: name, distinct_id, properties, timestamp, ip, site_url: '', team_id: teamId, now: created_at, sent_at: null };
}

export class BackfillStopped extends Error {
  override name = 'BackfillStopped';
}

/**
 * Hands one slice to the instance through its own deliver queue — the path of live events, with
 * their retries and dead letters — one job per delivery function (so exportEvents gets the slice
 * as one batch rather than waiting on its buffer), and resolves once those jobs are done: a retry
 * or dead letter counts as done, as for live events. The job ids come from the slice, so a slice
 * re-sent after a crash while its jobs still exist is not queued twice. `stopped` is checked while
 * waiting: the slice is then left to finish on its own and the checkpoint stays before it.
 */
export async function deliverSlice(
  producer: QueueProducer,
  instance: AppInstance,
  backfill: Backfill,
  events: PluginEvent[],
  stopped: () => boolean,
): Promise<void> {
  const batchId = `backfill-${backfill.id}-${events[0]!.uuid}-${events[events.length - 1]!.uuid}`;
  const queueName = deliverQueue(instance.appId);
  const jobIds: string[] = [];
  for (const fn of deliveryFunctions(instance.capabilities)) {
    const job: DeliverJob = { batchId, projectId: instance.projectId, instanceId: instance.id, events, function: fn, attempts: 0 };
    const jobId = `${batchId}.d${instance.id}.${fn}`;
    await producer.add(queueName, job, jobId);
    jobIds.push(jobId);
  }
  const queue = producer.queue(queueName);
  for (const jobId of jobIds) {
    for (;;) {
      const state = await queue.getJobState(jobId);
      // Completed jobs are removed at once (DEFAULT_JOB_OPTIONS): unknown means done.
      if (state === 'completed' || state === 'unknown') break;
      if (state === 'failed') throw new Error(`deliver job ${jobId} failed after all its attempts`);
      if (stopped()) throw new BackfillStopped();
      await new Promise((done) => setTimeout(done, POLL_MS));
    }
  }
}
