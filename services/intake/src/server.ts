import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger, PipelineCache, SluiceConfig } from '@sluice/core';
import { healthRoutes, type ReadinessCheck, type SluiceMetrics } from '@sluice/metrics';
import { entryQueue, hopJobId, serializedPipelineJob, type QueueProducer } from '@sluice/queues';
import type { Redis } from 'ioredis';
import type { Store } from '@sluice/store';
import { newId, type IngestedRequestText } from '@sluice/core';
import { adminRoutes } from './admin-routes';
import { Backpressure } from './backpressure';
import { RateLimiter } from './rate-limit';
import { CaptureChecker } from './capture-checker';
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

/** Job buffers kept for reuse: a few more than a project's write slots. */
const MAX_SPARE_JOB_BUFFERS = 8;

/** How long a shutdown waits for the requests already in handlers before cutting connections. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Counts the requests between arrival and answer, so a shutdown can wait for them. */
function trackRequests(app: FastifyInstance) {
  let open = 0;
  let onIdle: (() => void) | undefined;
  const done = () => {
    open -= 1;
    if (open === 0) onIdle?.();
  };
  // Callback hooks, not async ones: run on every request, they should not cost a promise each.
  app.addHook('onRequest', (_request, _reply, next) => {
    open += 1;
    next();
  });
  app.addHook('onResponse', (_request, _reply, next) => {
    done();
    next();
  });
  // (fastify refuses an async onRequestAbort hook without the request argument; the callback form is fine)
  app.addHook('onRequestAbort', (_request, next) => {
    done();
    next();
  });
  return {
    settled: (timeoutMs: number) =>
      new Promise<void>((resolve) => {
        if (open === 0) return resolve();
        const timer = setTimeout(resolve, timeoutMs);
        onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
  };
}

/** A hop count becomes proxy-addr's trust function (fastify's types take no bare number). */
function trustProxyOption(trusted: boolean | number | string[]) {
  return typeof trusted === 'number' ? (_address: string, hop: number) => hop < trusted : trusted;
}

/** The HTTP front: capture endpoints, admin API, probes and metrics. The caller listens. */
export async function createIntake(options: IntakeOptions): Promise<Intake> {
  const { config, producer, pipelines, store, metrics, logger } = options;
  const spareJobBuffers: Buffer[] = [];
  const committer = new GroupCommitter<IngestedRequestText>({
    windowMs: config.batchWindowMs,
    maxEvents: config.batchMaxEvents,
    // The route is fixed here, at intake: later config changes never reorder events in flight.
    // Each request arrives as text (capture-routes); the job is written from it into a reused
    // buffer (one allocated per job made the GC run far more often).
    write: async (projectId, requests) => {
      const route = await pipelines.route(projectId);
      const batchId = newId();
      const job = serializedPipelineJob({ batchId, projectId, route, hop: 0 }, requests, spareJobBuffers.pop());
      await producer.add(entryQueue(route), job, hopJobId(batchId, 0));
      // Reused only once Redis has the job: until then ioredis may read it again (a resend).
      if (spareJobBuffers.length < MAX_SPARE_JOB_BUFFERS) spareJobBuffers.push(job.backing);
    },
  });
  const tokens = new TokenCache((token) => store.getProjectByToken(token));
  const checker = new CaptureChecker(config.intakeCheckThreads, logger, (where) => metrics.intakeBodyChecks.inc({ where }));

  const app = Fastify({
    logger: false,
    bodyLimit: config.maxBodyBytes,
    routerOptions: { ignoreTrailingSlash: true },
    // X-Forwarded-For is believed only from the configured proxies; otherwise the socket's address.
    trustProxy: trustProxyOption(config.trustedProxies),
  });
  app.setErrorHandler(errorHandler(logger));
  const requests = trackRequests(app);
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
  await app.register(healthRoutes, { metrics, checks: options.checks });
  await app.register(captureRoutes, {
    committer,
    projects: tokens,
    pipelines,
    metrics,
    rateLimiter: new RateLimiter(options.redis, config.redisPrefix, config.rateLimitEventsPerSecond, config.rateLimitBurst),
    backpressure: new Backpressure(producer, config.backpressureWaitingJobs),
    checker,
    maxBodyBytes: config.maxBodyBytes,
    maxDecodedBytes: config.maxDecodedBytes,
    maxEventsPerRequest: config.maxEventsPerRequest,
  });
  await app.register(adminRoutes, { prefix: '/api', store, producer, adminToken: options.adminToken, pipelineChanged: options.pipelineChanged });

  return {
    app,
    close: async () => {
      const closed = app.close();
      // Node's server.close() waits for every keep-alive connection to end, and a client that
      // keeps sending on one can hold it open for ever (its requests are not even parsed any
      // more). Once every request already in a handler has been answered, whatever is left on
      // the wire was never acknowledged, so the connections are cut and the client retries.
      await requests.settled(SHUTDOWN_GRACE_MS);
      app.server.closeAllConnections();
      await closed;
      await Promise.all([committer.drain(), checker.close()]);
    },
    clearCaches: () => tokens.clear(),
  };
}
