import type { Job } from 'bullmq';
import { newId, type AppInstance, type DeliveryFunction, type PluginEvent } from '@sluice/core';
import type { DeliverJob } from '@sluice/queues';
import { AppSetupError, type AppVm } from '@sluice/sandbox';
import { instanceLabels, type RunnerContext } from './context';
import { ExportBuffers, exportSettings } from './export-buffer';
import { callExportEvents, callOnEvents } from './delivery-calls';
import { settleFailures } from './failures';

/** The delivery functions an app exports, in the order they are served. */
export function deliveryFunctions(capabilities: readonly string[]): DeliveryFunction[] {
  return (['onEvent', 'exportEvents'] as const).filter((fn) => capabilities.includes(fn));
}

/**
 * Serves the `deliver-<app>` queues: onEvent once per event, exportEvents per buffered batch, each
 * function with its own retries (failures.ts). A deliver job from the store goes to every function
 * the app exports; a retry or replay job to the one it names.
 */
export class Delivery {
  readonly buffers: ExportBuffers;

  constructor(private readonly context: RunnerContext) {
    // A flushed buffer mixes several deliver jobs: it gets a batch id of its own for its retries.
    this.buffers = new ExportBuffers((instance, events) => this.exportBatch(instance, events, `export-${newId()}`, 0));
  }

  readonly process = async (job: Job<DeliverJob>): Promise<void> => {
    const { pool, logger } = this.context;
    const data = job.data;
    try {
      const done = await pool.use(data.instanceId, async (vm, instance) => {
        const functions = data.function ? [data.function] : deliveryFunctions(vm.capabilities);
        await Promise.all(functions.map((fn) => (fn === 'onEvent' ? this.onEvent(vm, instance, data) : this.exportEvents(instance, data))));
      });
      if (done === null) logger.warn({ instanceId: data.instanceId, batchId: data.batchId }, 'destination instance no longer exists; batch skipped');
    } catch (error) {
      if (!(error instanceof AppSetupError)) throw error;
      // setupPlugin failed: the events wait and retry, as if every call had thrown RetryError.
      const functions = data.function ? [data.function] : deliveryFunctions(error.instance.capabilities);
      for (const fn of functions) {
        await settleFailures(this.context, {
          instance: error.instance,
          function: fn,
          batchId: data.batchId,
          attempts: (data.attempts ?? 0) + 1,
          retryable: data.events,
          retryError: error.message,
          final: [],
        });
      }
    }
  };

  private async onEvent(vm: AppVm, instance: AppInstance, data: DeliverJob): Promise<void> {
    const { metrics } = this.context;
    const labels = { ...instanceLabels(instance), function: 'onEvent' };
    const retryable: PluginEvent[] = [];
    const final: Array<{ event: PluginEvent; error: string }> = [];
    let retryError: string | undefined;
    const results = await callOnEvents(this.context, vm, instance, data.events);
    for (const [index, result] of results.entries()) {
      if (result === 'held' || result.ok) continue; // held: only with holdAfterRetry, not asked here
      const event = data.events[index]!;
      if (result.retry) {
        retryable.push(event);
        retryError = result.error;
      } else {
        final.push({ event, error: result.error });
      }
    }
    metrics.deliveryEvents.inc({ ...labels, outcome: 'delivered' }, data.events.length - retryable.length - final.length);
    if (retryable.length === 0 && final.length === 0) return;
    await settleFailures(this.context, {
      instance,
      function: 'onEvent',
      batchId: data.batchId,
      attempts: (data.attempts ?? 0) + 1,
      retryable,
      ...(retryError ? { retryError } : {}),
      final,
    });
  }

  private async exportEvents(instance: AppInstance, data: DeliverJob): Promise<void> {
    const settings = exportSettings(instance.config);
    const events = settings.ignore.size ? data.events.filter((event) => !settings.ignore.has(event.event)) : data.events;
    const ignored = data.events.length - events.length;
    if (ignored) this.context.metrics.deliveryEvents.inc({ ...instanceLabels(instance), function: 'exportEvents', outcome: 'ignored' }, ignored);
    if (events.length === 0) return;
    // A retry or replay is already a batch: it goes straight to the app.
    if (data.function === 'exportEvents') return this.exportBatch(instance, events, data.batchId, data.attempts ?? 0);
    return this.buffers.add(instance, events, settings);
  }

  /** One exportEvents call with a whole batch; failures retry or dead-letter the batch as a whole. */
  private async exportBatch(instance: AppInstance, events: PluginEvent[], batchId: string, attemptsBefore: number): Promise<void> {
    const result = await callExportEvents(this.context, instance, events);
    if (result === null) return; // the instance was removed meanwhile
    if (result.ok) {
      this.context.metrics.deliveryEvents.inc({ ...instanceLabels(instance), function: 'exportEvents', outcome: 'delivered' }, events.length);
      return;
    }
    await settleFailures(this.context, {
      instance,
      function: 'exportEvents',
      batchId,
      attempts: attemptsBefore + 1,
      retryable: result.retry ? events : [],
      retryError: result.error,
      final: result.retry ? [] : events.map((event) => ({ event, error: result.error })),
    });
  }
}
