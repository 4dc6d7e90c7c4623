import type { FastifyInstance } from 'fastify';
import type { Logger, PipelineCache, SluiceConfig } from '@sluice/core';
import { errorHandler } from '@sluice/http';
import type { SluiceMetrics } from '@sluice/metrics';
import { entryQueue, hopJobId, serializedPipelineJob, type QueueProducer, type RedisClient } from '@sluice/queues';
import type { Store } from '@sluice/store';
import { newId, type IngestedRequestText } from '@sluice/core';
import { Backpressure } from './backpressure';
import { RateLimiter } from './rate-limit';
import { CaptureChecker } from './capture-checker';
import { captureRoutes, redisUnavailable, type CaptureDeps } from './capture-routes';
import { fromLaneKey } from './capture-parts';
import { GroupCommitter } from './group-commit';
import { HotPersons } from './hot-persons';
import { TokenCache } from './token-cache';

export interface CaptureOptions {
  config: SluiceConfig;
  store: Store;
  producer: QueueProducer;
  /** For the per-project rate limit (a token bucket shared by every intake). */
  redis: RedisClient;
  pipelines: PipelineCache;
  metrics: SluiceMetrics;
  logger: Logger;
}

export interface Capture {
  /** The capture endpoints, a fastify plugin to register on the server (see @sluice/http). */
  routes: (app: FastifyInstance) => Promise<void>;
  /** Writes what group commit holds and stops the check threads: once the server has closed. */
  drain(): Promise<void>;
  /** Forgets cached projects (e.g. after a project's options changed). */
  clearCaches(): void;
}

/** Job buffers kept for reuse: a few more than a project's write slots. */
const MAX_SPARE_JOB_BUFFERS = 8;

/**
 * The data path's front: PostHog's capture endpoints, each request checked, grouped with its
 * project's other requests of the moment and written to the project's first queue.
 */
export function createCapture(options: CaptureOptions): Capture {
  const { config, producer, pipelines, store, metrics, logger } = options;
  const spareJobBuffers: Buffer[] = [];
  const committer = new GroupCommitter<IngestedRequestText>({
    windowMs: config.batchWindowMs,
    maxEvents: config.batchMaxEvents,
    // The route is fixed here, at intake: later config changes never reorder events in flight.
    // Each request arrives as text (capture-routes); the job is written from it into a reused
    // buffer (one allocated per job made the GC run far more often).
    // Batches gather per project and lane (laneKey), so a job holds one lane's persons only.
    write: async (lane, requests) => {
      const { projectId, shard } = fromLaneKey(lane);
      const route = await pipelines.route(projectId);
      const batchId = newId();
      const job = serializedPipelineJob({ batchId, projectId, route, hop: 0, shard }, requests, spareJobBuffers.pop());
      const written = producer.add(entryQueue(route, shard), job, hopJobId(batchId, 0));
      await withinWriteTimeout(written, config.intakeWriteTimeoutMs);
      // Reused only once Redis has the job: until then ioredis may read it again (a resend). A
      // write that timed out may still be resent, so its buffer is never reused.
      if (spareJobBuffers.length < MAX_SPARE_JOB_BUFFERS) spareJobBuffers.push(job.backing);
    },
  });
  const tokens = new TokenCache((token) => store.getProjectByToken(token));
  const checker = new CaptureChecker(config.intakeCheckThreads, logger, (where) => metrics.intakeBodyChecks.inc({ where }));

  const deps: CaptureDeps = {
    committer,
    projects: tokens,
    pipelines,
    metrics,
    rateLimiter: new RateLimiter(options.redis, config.redisPrefix, config.rateLimitEventsPerSecond, config.rateLimitBurst),
    hotPersons: new HotPersons(config.personBucketCapacity, config.personBucketRefillPerSecond, store, metrics, logger),
    backpressure: new Backpressure(producer, config.backpressureWaitingJobs),
    checker,
    maxBodyBytes: config.maxBodyBytes,
    maxDecodedBytes: config.maxDecodedBytes,
    maxEventsPerRequest: config.maxEventsPerRequest,
    orderShards: config.orderShards,
    handleError: errorHandler(logger),
    // ioredis queues commands while it reconnects: without this a request would hang until Redis returned.
    redisUp: () => options.redis.status === 'ready',
  };
  return {
    routes: (app) => captureRoutes(app, deps),
    drain: async () => {
      await Promise.all([committer.drain(), checker.close()]);
    },
    clearCaches: () => tokens.clear(),
  };
}

/**
 * A write Redis refused (a cluster's CLUSTERDOWN or TRYAGAIN during a failover, a closed
 * connection): the client is told to retry (503), as when the write times out, never a 500.
 */
function asUnavailable(error: unknown): never {
  throw redisUnavailable(`Redis did not take the write (${(error as Error).message})`);
}

/**
 * A batch's Redis write, or a 503 once it has taken `timeoutMs` (Redis down, a failover). The
 * write itself goes on: ioredis resends it once connected, and if Redis then takes it the events
 * are stored although the client was told to retry; its retry is stored once (uuid duplicates are
 * skipped) when the events carry uuids, as PostHog's clients' events do.
 */
async function withinWriteTimeout(write: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(redisUnavailable(`the Redis write took over ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([write.catch(asUnavailable), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
