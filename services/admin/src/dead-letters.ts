import type { QueueProducer, DeliverJob } from '@sluice/queues';
import { deliverQueue } from '@sluice/queues';
import type { DeadLetter, Store } from '@sluice/store';

export interface ReplaySelection {
  instanceId?: number;
  ids?: number[];
  /** At most this many dead letters in this call; all of them when absent. */
  limit?: number;
}

/** Dead letters are replayed in slices this big: one deliver job per instance and function per slice. */
const REPLAY_SLICE = 1000;

/**
 * Sends dead-lettered events to their instance again, as a fresh delivery (the retry schedule
 * starts over), then removes them from the table. A crash between the two replays a slice twice:
 * delivery is at-least-once, never lost. Instances that no longer exist take their dead letters
 * with them (Store.deleteInstance), so every row has a queue to go to.
 */
export async function replayDeadLetters(
  store: Store,
  producer: QueueProducer,
  projectId: string,
  selection: ReplaySelection,
): Promise<{ replayed: number; remaining: number }> {
  const filter = { ...(selection.instanceId !== undefined && { instanceId: selection.instanceId }), ...(selection.ids && { ids: selection.ids }) };
  let replayed = 0;
  const budget = selection.limit ?? Number.POSITIVE_INFINITY;
  while (replayed < budget) {
    const slice = await store.listDeadLetters(projectId, { ...filter, limit: Math.min(REPLAY_SLICE, budget - replayed) });
    if (slice.length === 0) break;
    await enqueueSlice(store, producer, projectId, slice);
    await store.deleteDeadLetters(projectId, slice.map((letter) => letter.id));
    replayed += slice.length;
  }
  return { replayed, remaining: await store.countDeadLetters(projectId, filter) };
}

async function enqueueSlice(store: Store, producer: QueueProducer, projectId: string, slice: DeadLetter[]): Promise<void> {
  const groups = new Map<string, DeadLetter[]>();
  for (const letter of slice) {
    const key = `${letter.instanceId}.${letter.function}`;
    groups.set(key, [...(groups.get(key) ?? []), letter]);
  }
  for (const [key, letters] of groups) {
    const first = letters[0]!;
    // The instance may have moved to a new app version (another queue) since the failure.
    const instance = await store.getInstance(first.instanceId);
    if (!instance) continue;
    const batchId = `replay-${first.id}-${letters[letters.length - 1]!.id}`;
    const job: DeliverJob = {
      batchId,
      projectId,
      instanceId: instance.id,
      events: letters.map((letter) => letter.event),
      function: first.function,
      attempts: 0,
    };
    await producer.add(deliverQueue(instance.appId), job, `${batchId}.${key}`);
  }
}
