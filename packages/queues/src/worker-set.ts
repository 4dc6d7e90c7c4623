import { Queue, Worker, type Job } from 'bullmq';
import type { RedisClient } from './connection';
import type { Logger, SluiceConfig } from '@sluice/core';
import { QUEUE_STREAMS, type QueueProducer } from './producer';

export interface WorkerSetOptions {
  connection: RedisClient;
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
  private readonly connections = new Map<string, RedisClient>();
  private closing = false;
  private readonly closed: Promise<void>;
  private markClosed!: () => void;

  constructor(private readonly options: WorkerSetOptions) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  has(queueName: string): boolean {
    return this.workers.has(queueName);
  }

  get queueNames(): string[] {
    return [...this.workers.keys()];
  }

  /**
   * Serves a queue. An `ordered` lane runs one job at a time across every process (BullMQ's
   * global concurrency of 1), and a job that fails is retried in place, so no later job of the
   * lane overtakes it (BullMQ's own retry would put it behind them).
   */
  ensure<T>(queueName: string, processor: (job: Job<T>) => Promise<void>, options: { concurrency?: number; ordered?: boolean } = {}): void {
    if (this.workers.has(queueName)) return;
    const { connection, prefix, lockDurationMs, stalledIntervalMs, logger } = this.options;
    const concurrency = options.ordered ? 1 : (options.concurrency ?? this.options.concurrency);
    // Workers block on Redis: each needs its own connection, duplicated from the shared one
    // (and closed here: BullMQ leaves a connection it was given open).
    const ownConnection = connection.duplicate();
    this.connections.set(queueName, ownConnection);
    const worker = new Worker<T>(queueName, options.ordered ? this.retriedInPlace(queueName, processor) : processor, {
      autorun: !options.ordered,
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
    if (options.ordered) void this.runOrdered(queueName, worker);
    this.options.onServe?.(queueName);
    logger.info({ queue: queueName }, 'serving queue');
  }

  /** Sets the lane's global concurrency before the worker takes its first job. */
  private async runOrdered(queueName: string, worker: Worker): Promise<void> {
    const { connection, prefix, logger } = this.options;
    const queue = new Queue(queueName, { connection, prefix, streams: QUEUE_STREAMS });
    try {
      await queue.setGlobalConcurrency(1);
    } catch (error) {
      logger.error({ queue: queueName, err: error }, 'ordered lane could not start: its global concurrency was not set');
      return;
    } finally {
      await queue.close();
    }
    if (!this.closing) worker.run().catch((error: unknown) => logger.error({ queue: queueName, err: error }, 'worker error'));
  }

  /**
   * An ordered lane's processor: a failure (the store or Redis down) holds the lane and tries
   * again after a growing pause, up to IN_PLACE_ATTEMPTS times; then, or when the process shuts
   * down, the job fails to BullMQ, whose retry may let later jobs pass (said in docs/durability.md).
   */
  private retriedInPlace<T>(queueName: string, processor: (job: Job<T>) => Promise<void>): (job: Job<T>) => Promise<void> {
    return async (job) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await processor(job);
        } catch (error) {
          if (this.closing || attempt >= IN_PLACE_ATTEMPTS) throw error;
          const pauseMs = Math.min(MAX_IN_PLACE_PAUSE_MS, 250 * 2 ** attempt);
          this.options.logger.warn({ queue: queueName, jobId: job.id, attempt, err: error }, `ordered job failed; retrying in place in ${pauseMs} ms`);
          await Promise.race([new Promise((resolve) => setTimeout(resolve, pauseMs).unref()), this.closed]);
        }
      }
    };
  }

  /** Stops serving one queue: takes no more of its jobs, waits for the running one, closes its connection. */
  async release(queueName: string): Promise<void> {
    const worker = this.workers.get(queueName);
    if (!worker) return;
    this.workers.delete(queueName);
    const connection = this.connections.get(queueName);
    this.connections.delete(queueName);
    await worker.close();
    connection?.disconnect();
    this.options.logger.info({ queue: queueName }, 'released queue');
  }

  /** Stops taking jobs and waits for the running ones to finish. */
  async close(): Promise<void> {
    this.closing = true;
    this.markClosed();
    await Promise.all([...this.workers.values()].map((worker) => worker.close()));
    this.workers.clear();
    for (const connection of this.connections.values()) connection.disconnect();
    this.connections.clear();
  }
}

/** Tries of an ordered lane's job in place, about 3 minutes in all, before it fails to BullMQ. */
const IN_PLACE_ATTEMPTS = 10;
const MAX_IN_PLACE_PAUSE_MS = 30_000;

/** A WorkerSet with the process's configured concurrency, lock and stall settings. */
export function workerSetFor(config: SluiceConfig, connection: RedisClient, logger: Logger, producer: QueueProducer): WorkerSet {
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
