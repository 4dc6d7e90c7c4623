import type { Job } from 'bullmq';
import { isDestination, type AppLogEntry } from '@sluice/core';
import { JOBS_QUEUE, SCHEDULES_QUEUE, allLanes, deliverQueue, storeQueue, workerSetFor } from '@sluice/queues';
import type { LogSink } from '@sluice/store';
import { appJobProcessor } from './app-jobs';
import { BackfillRunner } from './backfills';
import type { RunnerContext } from './context';
import { Delivery } from './delivery';
import { OrderedDelivery } from './ordered-delivery';
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
  const orderedDelivery = new OrderedDelivery(context);
  /** The ordered deliver lanes this runner serves (their exportEvents buffers are flushed on close and reload). */
  const orderedDeliverLanes = new Set<string>();
  /** Serves a family's unordered lane with `unordered` and its ordered lanes with `ordered`; answers the ordered lanes. */
  function serveLanes<T>(queueOf: (shard: number | undefined) => string, unordered: (job: Job<T>) => Promise<void>, ordered: (job: Job<T>) => Promise<void>, concurrency?: number): string[] {
    const [unorderedLane, ...orderedLanes] = allLanes(queueOf, config.orderShards);
    workers.ensure(unorderedLane!, unordered, concurrency === undefined ? {} : { concurrency });
    for (const lane of orderedLanes) workers.ensure(lane, ordered, { ordered: true });
    return orderedLanes;
  }
  const schedules = new Schedules(context);
  const backfills = new BackfillRunner(context);

  async function refresh(): Promise<void> {
    for (const app of await store.listApps()) {
      if (isDestination(app.capabilities)) {
        const lanes = serveLanes((shard) => deliverQueue(app.id, shard), delivery.process, orderedDelivery.process, config.deliverConcurrency);
        for (const lane of lanes) orderedDeliverLanes.add(lane);
      }
    }
    await schedules.sync();
  }

  const storeBatch = storeProcessor(context);
  serveLanes(storeQueue, storeBatch, storeBatch);
  workers.ensure(JOBS_QUEUE, appJobProcessor(context));
  workers.ensure(SCHEDULES_QUEUE, schedules.process);
  await refresh();
  backfills.start();
  return {
    refresh,
    flushProject: async (projectId) => {
      await Promise.all([delivery.buffers.flushProject(projectId), orderedDelivery.flushBuffers([...orderedDeliverLanes], projectId)]);
    },
    close: async () => {
      // First: a backfill waiting on its slice stops waiting (the slice's jobs may never run once the workers are closed).
      await backfills.close();
      // The ordered lanes' buffers are in Redis (nothing is lost at exit), but exported now as PostHog does.
      await orderedDelivery.flushBuffers([...orderedDeliverLanes]);
      const closing = workers.close();
      await delivery.buffers.close();
      await closing;
    },
  };
}
