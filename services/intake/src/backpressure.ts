import type { QueueProducer } from '@sluice/queues';

interface WaitingCount {
  waiting: number;
  readAt: number;
  reading?: Promise<number>;
}

/**
 * Refuses new events while the queue they would enter holds too many waiting jobs, so a stalled
 * pipeline makes clients back off (503 + Retry-After, which PostHog's SDKs honour by retrying)
 * instead of growing Redis without bound. Waiting counts are read at most every `refreshMs` per
 * queue: one Redis call per few hundred requests, not per request.
 */
export class Backpressure {
  private readonly counts = new Map<string, WaitingCount>();

  constructor(
    private readonly producer: QueueProducer,
    /** 0 disables it. */
    private readonly maxWaitingJobs: number,
    private readonly refreshMs = 250,
  ) {}

  /** Whether the queue is over the threshold (as of at most `refreshMs` ago). */
  async isOver(queueName: string): Promise<boolean> {
    const now = this.isOverNow(queueName);
    if (now !== undefined) return now;
    return (await this.counts.get(queueName)!.reading!) > this.maxWaitingJobs;
  }

  /**
   * isOver without a promise (it is asked on every request): the last count, refreshed in the
   * background once it is older than `refreshMs`; undefined before a first count has been read.
   */
  isOverNow(queueName: string): boolean | undefined {
    if (this.maxWaitingJobs <= 0) return false;
    let entry = this.counts.get(queueName);
    if (!entry) {
      entry = { waiting: 0, readAt: 0 };
      this.counts.set(queueName, entry);
    }
    if (Date.now() - entry.readAt >= this.refreshMs) this.refresh(queueName, entry);
    return entry.readAt === 0 ? undefined : entry.waiting > this.maxWaitingJobs;
  }

  private refresh(queueName: string, entry: WaitingCount): void {
    if (entry.reading) return;
    entry.reading = this.producer
      .queue(queueName)
      .getWaitingCount()
      .then((waiting) => {
        entry.waiting = waiting;
        entry.readAt = Date.now();
        return waiting;
      })
      .finally(() => (entry.reading = undefined));
    // A failed background read keeps the last count (a first read's failure reaches isOver's caller).
    entry.reading.catch(() => {});
  }
}
