import type { Job } from 'bullmq';
import { SCHEDULED_FUNCTIONS, type AppInstance, type ScheduledFunction } from '@sluice/core';
import { SCHEDULES_QUEUE, type ScheduleJob } from '@sluice/queues';
import { AppSetupError, type CallResult } from '@sluice/sandbox';
import { instanceLabels, type RunnerContext } from './context';
import { RedisLease } from './redis-lease';

function schedulerId(instanceId: number, fn: ScheduledFunction): string {
  return `i${instanceId}.${fn}`;
}

/**
 * runEveryMinute/Hour/Day through BullMQ job schedulers: the scheduler lives in Redis and puts one
 * job per tick on the `schedules` queue, so however many runners serve it, each tick runs once.
 * Every runner syncs the schedulers with the enabled instances (an upsert is atomic and keyed by
 * instance and function, so runners doing it together agree). PostHog's debounce: while a run of
 * an instance's function is in progress, later ticks are skipped, not queued.
 */
export class Schedules {
  constructor(private readonly context: RunnerContext) {}

  /** Makes the schedulers in Redis match the enabled instances that export runEvery*. */
  async sync(): Promise<void> {
    const { store, producer, config } = this.context;
    const queue = producer.queue(SCHEDULES_QUEUE);
    const wanted = new Map<string, { every: number; data: ScheduleJob }>();
    for (const instance of await store.listAllInstances()) {
      if (!instance.enabled) continue;
      for (const fn of SCHEDULED_FUNCTIONS) {
        if (!instance.capabilities.includes(fn)) continue;
        wanted.set(schedulerId(instance.id, fn), {
          every: config.scheduleEveryMs[fn],
          data: { projectId: instance.projectId, instanceId: instance.id, function: fn },
        });
      }
    }
    const existing = await queue.getJobSchedulers(0, -1);
    const current = new Map(existing.map((scheduler) => [scheduler.key, scheduler]));
    for (const scheduler of existing) {
      if (!wanted.has(scheduler.key)) await queue.removeJobScheduler(scheduler.key);
    }
    for (const [id, { every, data }] of wanted) {
      // Upserting an unchanged scheduler would only move its next tick: leave it.
      if (current.get(id)?.every === every) continue;
      // Ticks fall on whole periods (each minute, hour, UTC midnight) like PostHog's cron, not at install time + n periods.
      const startDate = Math.ceil(Date.now() / every) * every;
      await queue.upsertJobScheduler(id, { every, startDate }, { name: data.function, data, opts: { attempts: 1, removeOnComplete: true, removeOnFail: 1000 } });
    }
  }

  readonly process = async (job: Job<ScheduleJob>): Promise<void> => {
    const { connection, config, metrics, pool, logger } = this.context;
    const { instanceId, function: fn } = job.data;
    const every = config.scheduleEveryMs[fn];
    const scheduledAt = (job.opts as { prevMillis?: number }).prevMillis ?? job.timestamp + (job.opts.delay ?? 0);
    const count = (instance: AppInstance | undefined, outcome: string) =>
      metrics.scheduleRuns.inc({ ...(instance ? instanceLabels(instance) : { app: '', instance: String(instanceId) }), function: fn, outcome });
    // A tick that waited longer than a whole period (runners down, or busy) is stale: the next one is due.
    if (Date.now() - scheduledAt > every) {
      count(undefined, 'skipped');
      return;
    }
    const lock = new RedisLease(connection, `${config.redisPrefix}:schedule-running:${schedulerId(instanceId, fn)}`, config.appJobTimeoutMs + 10_000);
    if (!(await lock.acquire())) {
      count(undefined, 'skipped');
      return;
    }
    try {
      let instance: AppInstance | undefined;
      let result: CallResult | null;
      try {
        result = await pool.use(instanceId, async (vm, loaded) => {
          instance = loaded;
          return vm.runScheduled(fn);
        });
      } catch (error) {
        if (!(error instanceof AppSetupError)) throw error;
        instance = error.instance;
        result = { ok: false, error: error.message, retry: false };
      }
      if (result === null) {
        logger.warn({ instanceId, fn }, 'scheduled run skipped: its instance no longer exists');
        return;
      }
      count(instance, result.ok ? 'ok' : 'error');
    } finally {
      await lock.release();
    }
  };
}
