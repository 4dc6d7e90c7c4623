import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * Job defaults for every hop: a hop fails only when infrastructure does (the store, Redis), so
 * retry with backoff; completed jobs are removed at once to keep Redis small.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: { count: 10_000 },
};

/** Opens BullMQ queues lazily and keeps one per name, all on one shared connection. */
export class QueueProducer {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: Redis,
    readonly prefix: string,
  ) {}

  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Resolves once Redis has acknowledged the job: the moment an event counts as accepted. */
  async add(name: string, data: unknown, jobId: string, options: { delay?: number } = {}): Promise<void> {
    await this.queue(name).add(name, data, { jobId, ...(options.delay ? { delay: options.delay } : {}) });
  }

  /** Waiting jobs per queue this producer has opened, for the queue gauge. */
  async waitingCounts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    await Promise.all(
      [...this.queues].map(async ([name, queue]) => counts.set(name, await queue.getWaitingCount())),
    );
    return counts;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
