import { Job, Queue, type JobJson, type JobsOptions } from 'bullmq';
import type { RedisClient } from './connection';

/**
 * A job's data already serialized: the UTF-8 bytes of its JSON, exactly what BullMQ's
 * `JSON.stringify(data)` would have stored. The intake builds them from each request's events
 * (serialized once, in the request) so a big batch is neither stringified again nor measured and
 * re-encoded by ioredis: a Buffer argument goes to the socket as it is.
 */
export class SerializedData {
  constructor(readonly json: Buffer) {}
}

/** BullMQ's Job, storing a SerializedData's bytes as the job's data instead of stringifying them. */
class SerializedDataJob extends Job {
  override asJSON(): JobJson {
    const data: unknown = this.data;
    if (!(data instanceof SerializedData)) return super.asJSON();
    this.data = undefined;
    try {
      // ioredis sends a Buffer argument unchanged; the stored hash field is the same JSON text.
      return { ...super.asJSON(), data: data.json as unknown as string };
    } finally {
      this.data = data;
    }
  }
}

/** A Queue whose add() also takes SerializedData. */
class SluiceQueue extends Queue {
  protected override get Job(): typeof Job {
    // (a subclass whose constructor is not generic, as BullMQ's own `typeof Job` is)
    return SerializedDataJob as unknown as typeof Job;
  }
}

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

/**
 * BullMQ appends every job's state changes to a per-queue events stream, trimmed at 10,000 entries
 * by default; nothing in Sluice reads it (no QueueEvents), and across an app's lanes those streams
 * held ~40 MB of Redis in the soak. A short tail is kept for operators' tools.
 */
export const QUEUE_STREAMS = { events: { maxLen: 500 } };

/** Opens BullMQ queues lazily and keeps one per name, all on one shared connection. */
export class QueueProducer {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: RedisClient,
    readonly prefix: string,
  ) {}

  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new SluiceQueue(name, { connection: this.connection, prefix: this.prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS, streams: QUEUE_STREAMS });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * Resolves once Redis has acknowledged the job: the moment an event counts as accepted.
   * `data` is serialized as JSON, unless it is SerializedData (stored as it is).
   */
  async add(name: string, data: unknown, jobId: string, options: { delay?: number } = {}): Promise<void> {
    await this.queue(name).add(name, data, { jobId, ...(options.delay ? { delay: options.delay } : {}) });
  }

  /**
   * Per queue this producer has opened: its waiting jobs, its delayed ones (a failed job waits out
   * its backoff there, so an outage's backlog shows in `delayed` while `waiting` may stay at 0),
   * and the age of the oldest waiting (0 when none waits), for the queue gauges. The oldest job's id comes from the wait list's tail and only its
   * timestamp field is read: a job holds a whole batch of events.
   */
  async waitingStats(now = Date.now()): Promise<Map<string, { waiting: number; delayed: number; oldestAgeSeconds: number }>> {
    const stats = new Map<string, { waiting: number; delayed: number; oldestAgeSeconds: number }>();
    await Promise.all(
      [...this.queues].map(async ([name, queue]) => {
        const [{ wait = 0, delayed = 0 }, [oldestId]] = await Promise.all([queue.getJobCounts('wait', 'delayed'), queue.getRanges(['wait'], 0, 0, true)]);
        const addedAt = oldestId ? Number(await this.connection.hget(queue.toKey(oldestId), 'timestamp')) : NaN;
        stats.set(name, { waiting: wait, delayed, oldestAgeSeconds: Number.isFinite(addedAt) ? Math.max(0, (now - addedAt) / 1000) : 0 });
      }),
    );
    return stats;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
