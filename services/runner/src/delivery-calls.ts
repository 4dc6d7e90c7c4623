import type { AppInstance, PluginEvent } from '@sluice/core';
import { AppSetupError, type AppVm, type CallResult, type OnEventOutcome } from '@sluice/sandbox';
import { instanceLabels, type RunnerContext } from './context';

/**
 * onEvent for a job's events in one sandbox crossing (AppVm.onEvents), timed as one call and
 * counted per event by outcome (a held event was not called).
 */
export async function callOnEvents(context: RunnerContext, vm: AppVm, instance: AppInstance, events: PluginEvent[], holdAfterRetry = false): Promise<OnEventOutcome[]> {
  const labels = { ...instanceLabels(instance), function: 'onEvent' };
  const timer = context.metrics.deliverySeconds.startTimer(labels);
  const results = await vm.onEvents(events, holdAfterRetry);
  timer();
  const counts = { ok: 0, retry: 0, error: 0 };
  for (const result of results) if (result !== 'held') counts[outcomeOf(result)] += 1;
  for (const [outcome, count] of Object.entries(counts)) if (count) context.metrics.deliveryCalls.inc({ ...labels, outcome }, count);
  return results;
}

/** One onEvent call, timed and counted by outcome. */
export async function callOnEvent(context: RunnerContext, vm: AppVm, instance: AppInstance, event: PluginEvent): Promise<CallResult> {
  const [result] = await callOnEvents(context, vm, instance, [event]);
  return result as CallResult; // a lone event is never held
}

/**
 * One exportEvents call with a whole batch, timed and counted by outcome. A setupPlugin failure
 * answers as RetryError would (the batch waits and retries); null: the instance was removed.
 */
export async function callExportEvents(context: RunnerContext, instance: AppInstance, events: PluginEvent[]): Promise<CallResult | null> {
  const { pool, metrics } = context;
  const labels = { ...instanceLabels(instance), function: 'exportEvents' };
  let result: CallResult | null;
  try {
    result = await pool.use(instance.id, async (vm) => {
      const timer = metrics.deliverySeconds.startTimer(labels);
      const outcome = await vm.exportEvents(events);
      timer();
      return outcome;
    });
  } catch (error) {
    if (!(error instanceof AppSetupError)) throw error;
    result = { ok: false, error: error.message, retry: true };
  }
  if (result) metrics.deliveryCalls.inc({ ...labels, outcome: outcomeOf(result) });
  return result;
}

function outcomeOf(result: CallResult): 'ok' | 'retry' | 'error' {
  return result.ok ? 'ok' : result.retry ? 'retry' : 'error';
}
