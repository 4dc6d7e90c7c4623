import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger, PipelineCache, SluiceConfig } from '@sluice/core';
import { healthRoutes, type ReadinessCheck, type SluiceMetrics } from '@sluice/metrics';
import { entryQueue, hopJobId, type PipelineJob, type QueueProducer } from '@sluice/queues';
import type { Redis } from 'ioredis';
import type { Store } from '@sluice/store';
import { newId } from '@sluice/core';
import { adminRoutes } from './admin-routes';
import { Backpressure } from './backpressure';
import { RateLimiter } from './rate-limit';
import { captureRoutes } from './capture-routes';
import { errorHandler } from './errors';
import { GroupCommitter } from './group-commit';
import { TokenCache } from './token-cache';

export interface IntakeOptions {
  config: SluiceConfig;
  store: Store;
  producer: QueueProducer;
  /** For the per-project rate limit (a token bucket shared by every intake). */
  redis: Redis;
  pipelines: PipelineCache;
  metrics: SluiceMetrics;
  logger: Logger;
  adminToken: string;
  pipelineChanged: (projectId: string) => Promise<void>;
  checks: Record<string, ReadinessCheck>;
}

export interface Intake {
  app: FastifyInstance;
  /** Stops taking requests, writes what group commit holds, and closes the server. */
  close(): Promise<void>;
  /** Forgets cached projects (e.g. after a project's options changed). */
  clearCaches(): void;
}

/** A hop count becomes proxy-addr's trust function (fastify's types take no bare number). */
function trustProxyOption(trusted: boolean | number | string[]) {
  return typeof trusted === 'number' ? (_address: string, hop: number) => hop < trusted : trusted;
}

/** The HTTP front: capture endpoints, admin API, probes and metrics. The caller listens. */
export async function createIntake(options: IntakeOptions): Promise<Intake> {
  const { config, producer, pipelines, store, metrics, logger } = options;
  const committer = new GroupCommitter({
    windowMs: config.batchWindowMs,
    maxEvents: config.batchMaxEvents,
    // The route is fixed here, at intake: later config changes never reorder events in flight.
    write: async (projectId, events) => {
      const route = await pipelines.route(projectId);
      const job: PipelineJob = { batchId: newId(), projectId, route, hop: 0, events };
      await producer.add(entryQueue(route), job, hopJobId(job.batchId, 0));
    },
  });
  const tokens = new TokenCache((token) => store.getProjectByToken(token));

  const app = Fastify({
    logger: false,
    bodyLimit: config.maxBodyBytes,
    routerOptions: { ignoreTrailingSlash: true },
    // X-Forwarded-For is believed only from the configured proxies; otherwise the socket's address.
    trustProxy: trustProxyOption(config.trustedProxies),
  });
  app.setErrorHandler(errorHandler(logger));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
  await app.register(healthRoutes, { metrics, checks: options.checks });
  await app.register(captureRoutes, {
    committer,
    projectByToken: (token) => tokens.get(token),
    pipelines,
    metrics,
    rateLimiter: new RateLimiter(options.redis, config.redisPrefix, config.rateLimitEventsPerSecond, config.rateLimitBurst),
    backpressure: new Backpressure(producer, config.backpressureWaitingJobs),
    maxBodyBytes: config.maxBodyBytes,
    maxDecodedBytes: config.maxDecodedBytes,
    maxEventsPerRequest: config.maxEventsPerRequest,
  });
  await app.register(adminRoutes, { prefix: '/api', store, producer, adminToken: options.adminToken, pipelineChanged: options.pipelineChanged });

  return {
    app,
    close: async () => {
      await app.close();
      await committer.drain();
    },
    clearCaches: () => tokens.clear(),
  };
}
