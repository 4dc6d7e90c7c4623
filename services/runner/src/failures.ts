import {
  EXPORT_EVENTS_RETRY_DELAYS_MS,
  ON_EVENT_RETRY_DELAYS_MS,
  nextRetryDelay,
  type AppInstance,
  type DeliveryFunction,
  type PluginEvent,
} from '@sluice/core';
import { deliverQueue, type DeliverJob } from '@sluice/queues';
import { formatDelay, instanceLabels, type RunnerContext } from './context';

export const RETRY_SCHEDULES: Record<DeliveryFunction, readonly number[]> = {
  onEvent: ON_EVENT_RETRY_DELAYS_MS,
  exportEvents: EXPORT_EVENTS_RETRY_DELAYS_MS,
};

export interface FailedDelivery {
  instance: AppInstance;
  function: DeliveryFunction;
  batchId: string;
  /** Attempts made so far, the one that just failed included. */
  attempts: number;
  /** Events whose call threw RetryError: retried while the schedule lasts. */
  retryable: PluginEvent[];
  retryError?: string;
  /** Events whose call failed for good (another error, a limit hit): dead-lettered at once. */
  final: Array<{ event: PluginEvent; error: string }>;
}

/**
 * What happens to events a destination could not take. Only they go on — an event already
 * delivered is never sent again because its neighbour failed. RetryError → a delayed deliver job
 * with just those events, on PostHog's schedule (onEvent 5 s … 80 s, exportEvents 6 s … 24 s);
 * when the schedule is used up, or for any other error, they land in the dead-letter table
 * (PostHog drops them; here they can be replayed). Resolves once that outcome is durable.
 */
export async function settleFailures(context: RunnerContext, failure: FailedDelivery): Promise<void> {
  const { config, producer, metrics, appLog } = context;
  const { instance, attempts, retryable } = failure;
  const fn = failure.function;
  const labels = { ...instanceLabels(instance), function: fn };
  const deadLetters = failure.final.map(({ event, error }) => ({ event, error }));
  if (retryable.length > 0) {
    const schedule = RETRY_SCHEDULES[fn];
    const delay = nextRetryDelay(schedule, attempts - 1, config.retryDelayScale);
    if (delay === undefined) {
      for (const event of retryable) deadLetters.push({ event, error: failure.retryError ?? 'RetryError' });
    } else {
      const retry: DeliverJob = {
        batchId: failure.batchId,
        projectId: instance.projectId,
        instanceId: instance.id,
        events: retryable,
        function: fn,
        attempts,
      };
      // A fixed id: if this job is re-run after a crash, the same retry is not queued twice.
      await producer.add(deliverQueue(instance.appId), retry, `${failure.batchId}.d${instance.id}.${fn}.a${attempts}`, { delay });
      metrics.deliveryEvents.inc({ ...labels, outcome: 'retried' }, retryable.length);
      appLog(
        instance,
        'warn',
        `${fn}: ${failure.retryError ?? 'RetryError'}; ${retryable.length} event(s) retried in ${formatDelay(delay)} (retry ${attempts} of ${schedule.length})`,
      );
    }
  }
  await deadLetter(context, instance, fn, attempts, deadLetters);
}

/** Writes events a destination could not take to the dead-letter table, counted and logged for the app's author. */
export async function deadLetter(
  context: RunnerContext,
  instance: AppInstance,
  fn: DeliveryFunction,
  attempts: number,
  deadLetters: ReadonlyArray<{ event: PluginEvent; error: string }>,
): Promise<void> {
  if (deadLetters.length === 0) return;
  const { store, metrics, appLog } = context;
  await store.addDeadLetters(
    deadLetters.map(({ event, error }) => ({
      projectId: instance.projectId,
      instanceId: instance.id,
      appId: instance.appId,
      function: fn,
      event,
      error,
      attempts,
    })),
  );
  metrics.deliveryEvents.inc({ ...instanceLabels(instance), function: fn, outcome: 'dead_lettered' }, deadLetters.length);
  for (const { event, error } of deadLetters) context.appErrors?.recordError(instance.id, `${fn}: ${error}`, event);
  appLog(
    instance,
    'error',
    `${fn}: ${deadLetters.length} event(s) dead-lettered after ${attempts} attempt(s): ${deadLetters[0]!.error}`,
  );
}
