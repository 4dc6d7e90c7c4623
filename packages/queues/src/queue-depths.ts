import type { QueueProducer } from './producer';

/** Jobs of one queue by state: what `sluice status` and GET /api/status show. */
export interface QueueDepth {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/** The depth of each named queue, read from Redis (every process's jobs, not only this one's). */
export async function queueDepths(producer: QueueProducer, names: string[]): Promise<QueueDepth[]> {
  return Promise.all(
    names.map(async (queue) => {
      const counts = await producer.queue(queue).getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
      return { queue, waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0 };
    }),
  );
}
