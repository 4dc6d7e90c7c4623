import type { AppInstance, PluginEvent } from '@sluice/core';
import { AppSetupError, type AppVm, type CallResult } from '@sluice/sandbox';
import { instanceLabels, type RunnerContext } from './context';

/** One onEvent call, timed and counted by outcome. */
export async function callOnEvent(context: RunnerContext, vm: AppVm, instance: AppInstance, event: PluginEvent): Promise<CallResult> {
  const labels = { ...instanceLabels(instance), function: 'onEvent' };
  const timer = context.metrics.deliverySeconds.startTimer(labels);
  const result = await vm.onEvent(event);
  timer();
  context.metrics.deliveryCalls.inc({ ...labels, outcome: outcomeOf(result) });
  return result;
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
