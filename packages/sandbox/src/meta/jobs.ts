import type { MetaCapability } from './types';
import { JOBS_JS, vmCall } from '../vm-sources';

/** A job payload is stored in Redis with the job: keep it to what a job needs, not a data dump. */
export const MAX_JOB_PAYLOAD_BYTES = 1024 * 1024;

/**
 * `meta.jobs.<name>(payload).runNow() | runIn(n, unit) | runAt(date)`: enqueues a job that the
 * runner executes later by calling the app's `jobs.<name>(payload, meta)`. The returned promise
 * resolves once the job is in Redis. Units match PostHog's (milliseconds … years, singular or
 * plural); months, quarters and years are calendar months, like luxon's `plus` that PostHog uses.
 */
export const jobsMeta: MetaCapability = {
  name: 'jobs',
  handlers: (context) => ({
    'jobs.enqueue': async (json) => {
      if (!context.enqueueJob) throw new Error('meta.jobs is not available here: jobs run only inside Sluice services');
      const [name, payload, runAt] = JSON.parse(json) as [unknown, unknown, unknown];
      if (typeof name !== 'string' || typeof payload !== 'string' || typeof runAt !== 'number') throw new TypeError('meta.jobs: malformed request');
      if (payload.length > MAX_JOB_PAYLOAD_BYTES) {
        throw new Error(`the payload of job "${name}" is ${payload.length} bytes; at most ${MAX_JOB_PAYLOAD_BYTES} are allowed`);
      }
      await context.enqueueJob({ name, payload: JSON.parse(payload) as unknown, runAt });
      return undefined;
    },
  }),
  shim: () => vmCall(JOBS_JS, 'meta'),
};
