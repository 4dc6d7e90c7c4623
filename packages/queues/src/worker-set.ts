import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger, SluiceConfig } from '@sluice/core';
import type { QueueProducer } from './producer';

export interface WorkerSetOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** A job whose worker died is taken over after about this long. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  logger: Logger;
  /** Told of every queue served, e.g. so the waiting-jobs gauge covers it. */
  onServe?: (queueName: string) => void;
}

/**
 * The BullMQ workers of one process, one per queue, opened as queues appear (an app installed
 * while the process runs gets its workers without a restart).
 */
export class WorkerSet {
  private readonly workers = new Map<string, Worker>();
  private readonly connections: Redis[] = [];

  constructor(private readonly options: WorkerSetOptions) {}

  has(queueName: string): boolean {
    return this.workers.has(queueName);
  }

  get queueNames(): string[] {
    return [...this.workers.keys()];
  }

  ensure<T>(queueName: string, processor: (job: Job<T>) => Promise<void>, options: { concurrency?: number } = {}): void {
    if (this.workers.has(queueName)) return;
    const { connection, prefix, lockDurationMs, stalledIntervalMs, logger } = this.options;
    const concurrency = options.concurrency ?? this.options.concurrency;
    // Workers block on Redis: each needs its own connection, duplicated from the shared one
    // (and closed here: BullMQ leaves a connection it was given open).
    const ownConnection = connection.duplicate();
    this.connections.push(ownConnection);
    const worker = new Worker<T>(queueName, processor, {
      connection: ownConnection,
      prefix,
      concurrency,
      lockDuration: lockDurationMs,
      stalledInterval: stalledIntervalMs,
      // A job that stalls because its worker was killed is retried, not failed: every hop is idempotent.
      maxStalledCount: 10,
    });
    worker.on('failed', (job, error) =>
      logger.warn({ queue: queueName, jobId: job?.id, attempts: job?.attemptsMade, err: error }, 'job failed'),
    );
    worker.on('error', (error) => logger.error({ queue: queueName, err: error }, 'worker error'));
    this.workers.set(queueName, worker);
    this.options.onServe?.(queueName);
    logger.info({ queue: queueName }, 'serving queue');
  }

  /** Stops taking jobs and waits for the running ones to finish. */
  async close(): Promise<void> {
    await Promise.all([...this.workers.values()].map((worker) => worker.close()));
    this.workers.clear();
    for (const connection of this.connections.splice(0)) connection.disconnect();
  }
}

/** A WorkerSet with the process's configured concurrency, lock and stall settings. */
export function workerSetFor(config: SluiceConfig, connection: Redis, logger: Logger, producer: QueueProducer): WorkerSet {
  return new WorkerSet({
    // Opening the queue in the producer puts it in the waiting-jobs gauge.
    onServe: (queueName) => void producer.queue(queueName),
    connection,
    prefix: config.redisPrefix,
    concurrency: config.workerConcurrency,
    lockDurationMs: config.jobLockMs,
    stalledIntervalMs: config.stalledIntervalMs,
    logger,
  });
}
