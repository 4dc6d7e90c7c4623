/**
 * Queue names. Each is wrapped in a Redis Cluster hash tag (`{…}`), so all keys of one queue
 * live in one slot while different queues spread over the cluster's nodes (BullMQ's documented
 * way). One queue per app, not per project × app, so the number of queues stays small.
 */
export const STORE_QUEUE = '{store}';
/** App jobs (`meta.jobs.x(payload).runIn(…)`), run by the runner. */
export const JOBS_QUEUE = '{jobs}';
/** Ticks of runEveryMinute/Hour/Day, produced by BullMQ job schedulers. */
export const SCHEDULES_QUEUE = '{schedules}';

export function stageQueue(appId: number): string {
  return `{stage-${appId}}`;
}

export function deliverQueue(appId: number): string {
  return `{deliver-${appId}}`;
}

/** The queue a batch enters: its route's first stage, or the store when the project has none. */
export function entryQueue(route: readonly { appId: number }[]): string {
  return route[0] ? stageQueue(route[0].appId) : STORE_QUEUE;
}
