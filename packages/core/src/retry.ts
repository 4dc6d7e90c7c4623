/**
 * PostHog's retry schedules for app functions that throw RetryError (DESIGN.md §4). The n-th
 * retry waits `schedule[n - 1]`; when the schedule is used up the call has failed for good.
 */
export const ON_EVENT_RETRY_DELAYS_MS = [5_000, 10_000, 20_000, 40_000, 80_000] as const;
export const EXPORT_EVENTS_RETRY_DELAYS_MS = [6_000, 12_000, 24_000] as const;
/** setupPlugin and app jobs retry like onEvent. */
export const SETUP_RETRY_DELAYS_MS = ON_EVENT_RETRY_DELAYS_MS;
export const JOB_RETRY_DELAYS_MS = ON_EVENT_RETRY_DELAYS_MS;

/**
 * The delay before retry number `retriesDone + 1`, or undefined when no retry is left.
 * `scale` shrinks the schedule (tests and demos run it at 1/100 speed); 1 in production.
 */
export function nextRetryDelay(schedule: readonly number[], retriesDone: number, scale = 1): number | undefined {
  const delay = schedule[retriesDone];
  return delay === undefined ? undefined : Math.round(delay * scale);
}
