import type { Job } from 'bullmq';
import { JOB_RETRY_DELAYS_MS, nextRetryDelay } from '@sluice/core';
import { JOBS_QUEUE, type AppJob } from '@sluice/queues';
import { AppSetupError, type CallResult } from '@sluice/sandbox';
import { formatDelay, type RunnerContext } from './context';

/**
 * The `jobs` queue: runs `jobs[name](payload, meta)` of the instance that enqueued it (BullMQ's
 * delayed jobs give runIn/runAt). RetryError retries on PostHog's onEvent schedule; any other
 * error is logged to the app's logs and the job is done, as in PostHog.
 */
export function appJobProcessor(context: RunnerContext) {
  const { pool, producer, metrics, config, logger, appLog } = context;
  return async function runAppJob(job: Job<AppJob>): Promise<void> {
    const data = job.data;
    let instanceName = '';
    let result: CallResult | null;
    try {
      result = await pool.use(data.instanceId, async (vm, instance) => {
        instanceName = instance.name;
        return vm.runJob(data.name, data.payload);
      });
    } catch (error) {
      if (!(error instanceof AppSetupError)) throw error;
      instanceName = error.instance.name;
      result = { ok: false, error: error.message, retry: true };
    }
    if (result === null) {
      logger.warn({ instanceId: data.instanceId, job: data.name }, 'app job skipped: its instance no longer exists');
      return;
    }
    const labels = { app: instanceName, instance: String(data.instanceId), job: data.name };
    metrics.appJobs.inc({ ...labels, outcome: result.ok ? 'ok' : result.retry ? 'retry' : 'error' });
    if (result.ok || !result.retry) return;
    const attempts = (data.attempts ?? 0) + 1;
    const delay = nextRetryDelay(JOB_RETRY_DELAYS_MS, attempts - 1, config.retryDelayScale);
    const instance = await context.store.getInstance(data.instanceId);
    if (delay === undefined) {
      if (instance) appLog(instance, 'error', `jobs.${data.name}: gave up after ${attempts} attempts: ${result.error}`);
      return;
    }
    await producer.add(JOBS_QUEUE, { ...data, attempts }, `${job.id}.a${attempts}`, { delay });
    if (instance) appLog(instance, 'warn', `jobs.${data.name}: ${result.error}; retried in ${formatDelay(delay)} (retry ${attempts} of ${JOB_RETRY_DELAYS_MS.length})`);
  };
}
