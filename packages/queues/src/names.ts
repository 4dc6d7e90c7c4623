/**
 * Queue names. Each is wrapped in a Redis Cluster hash tag (`{…}`), so all keys of one queue
 * live in one slot while different queues spread over the cluster's nodes (BullMQ's documented
 * way). One queue family per app, not per project × app, so the number of queues stays small.
 *
 * A family has S ordered lanes (`{stage-7.0}` … `{stage-7.<S-1>}`), each served one job at a
 * time (worker-set.ts and lane-owners.ts), and one unordered lane (`{stage-7}`): hot persons' overflow, replays,
 * backfills, and everything when ordering is off (S = 0). A person's events always take the same
 * ordered lane (personShard, in @sluice/core), so they pass each app one after another.
 */

/** A lane of a queue family: a shard number, or undefined for the unordered lane. */
export type Shard = number | undefined;

function lane(family: string, shard: Shard): string {
  return shard === undefined ? `{${family}}` : `{${family}.${shard}}`;
}

export const STORE_QUEUE = '{store}';
/** App jobs (`meta.jobs.x(payload).runIn(…)`), run by the runner. */
export const JOBS_QUEUE = '{jobs}';
/** Ticks of runEveryMinute/Hour/Day, produced by BullMQ job schedulers. */
export const SCHEDULES_QUEUE = '{schedules}';

export function storeQueue(shard?: Shard): string {
  return lane('store', shard);
}

export function stageQueue(appId: number, shard?: Shard): string {
  return lane(`stage-${appId}`, shard);
}

export function deliverQueue(appId: number, shard?: Shard): string {
  return lane(`deliver-${appId}`, shard);
}

/** The queue a batch enters: its route's first stage, or the store when the project has none. */
export function entryQueue(route: readonly { appId: number }[], shard?: Shard): string {
  return route[0] ? stageQueue(route[0].appId, shard) : storeQueue(shard);
}

/** Every lane of a family: the unordered one first, then the S ordered ones. */
export function allLanes(queueOf: (shard: Shard) => string, shards: number): string[] {
  return [queueOf(undefined), ...Array.from({ length: shards }, (_, shard) => queueOf(shard))];
}
