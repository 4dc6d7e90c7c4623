import { isDestination, type AppLogEntry } from '@sluice/core';
import { JOBS_QUEUE, SCHEDULES_QUEUE, STORE_QUEUE, deliverQueue, workerSetFor } from '@sluice/queues';
import type { LogSink } from '@sluice/store';
import { appJobProcessor } from './app-jobs';
import { BackfillRunner } from './backfills';
import type { RunnerContext } from './context';
import { Delivery } from './delivery';
import { Schedules } from './schedules';
import { storeProcessor } from './store-batch';

export type RunnerOptions = Omit<RunnerContext, 'appLog'> & { logSink: LogSink };

export interface Runner {
  /** Serves deliver queues of apps installed since, and syncs the schedulers with the instances. */
  refresh(): Promise<void>;
  /** Sends what a project's instances have buffered for exportEvents (before they are reloaded). */
  flushProject(projectId: string): Promise<void>;
  /** Stops taking jobs, flushes the export buffers and waits for the running jobs to finish. */
  close(): Promise<void>;
}

/**
 * The runner: the `store` queue (idempotent insert, then deliver jobs), the `deliver-<app>` queues
 * (onEvent / exportEvents with retries and dead letters), the `jobs` queue (meta.jobs) and the
 * `schedules` queue (runEvery*, produced by BullMQ job schedulers); and the backfills (backfills.ts).
 */
export async function startRunner(options: RunnerOptions): Promise<Runner> {
  const { logSink, ...rest } = options;
  const context: RunnerContext = {
    ...rest,
    appLog: (instance, level: AppLogEntry['level'], message) => logSink.add(instance, { timestamp: new Date().toISOString(), level, message }),
  };
  const { config, store, logger } = context;
  const workers = workerSetFor(config, options.connection, logger, options.producer);
  const delivery = new Delivery(context);
  const schedules = new Schedules(context);
  const backfills = new BackfillRunner(context);

  async function refresh(): Promise<void> {
    for (const app of await store.listApps()) {
      if (isDestination(app.capabilities)) {
        workers.ensure(deliverQueue(app.id), delivery.process, { concurrency: config.deliverConcurrency });
      }
    }
    await schedules.sync();
  }

  workers.ensure(STORE_QUEUE, storeProcessor(context));
  workers.ensure(JOBS_QUEUE, appJobProcessor(context));
  workers.ensure(SCHEDULES_QUEUE, schedules.process);
  await refresh();
  backfills.start();
  return {
    refresh,
    flushProject: (projectId) => delivery.buffers.flushProject(projectId),
    close: async () => {
      // First: a backfill waiting on its slice stops waiting (the slice's jobs may never run once the workers are closed).
      await backfills.close();
      const closing = workers.close();
      await delivery.buffers.close();
      await closing;
    },
  };
}
