import type { QueueProducer } from '@sluice/queues';

/**
 * Refuses new events while the queue they would enter holds too many waiting jobs, so a stalled
 * pipeline makes clients back off (503 + Retry-After, which PostHog's SDKs honour by retrying)
 * instead of growing Redis without bound. Waiting counts are read at most every `refreshMs` per
 * queue: one Redis call per few hundred requests, not per request.
 */
export class Backpressure {
  private readonly counts = new Map<string, { waiting: number; readAt: number; reading?: Promise<number> }>();

  constructor(
    private readonly producer: QueueProducer,
    /** 0 disables it. */
    private readonly maxWaitingJobs: number,
    private readonly refreshMs = 250,
  ) {}

  /** Whether the queue is over the threshold (as of at most `refreshMs` ago). */
  async isOver(queueName: string): Promise<boolean> {
    if (this.maxWaitingJobs <= 0) return false;
    return (await this.waiting(queueName)) > this.maxWaitingJobs;
  }

  private async waiting(queueName: string): Promise<number> {
    const now = Date.now();
    const entry = this.counts.get(queueName) ?? { waiting: 0, readAt: 0 };
    this.counts.set(queueName, entry);
    if (now - entry.readAt < this.refreshMs) return entry.waiting;
    entry.reading ??= this.producer
      .queue(queueName)
      .getWaitingCount()
      .then((waiting) => {
        entry.waiting = waiting;
        entry.readAt = Date.now();
        return waiting;
      })
      .finally(() => (entry.reading = undefined));
    // The first read waits; later ones answer from the last count while a fresh one is read.
    return entry.readAt === 0 ? entry.reading : entry.waiting;
  }
}
