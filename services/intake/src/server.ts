import type { Server } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger, PipelineCache, SluiceConfig } from '@sluice/core';
import { healthRoutes, type ReadinessCheck, type SluiceMetrics } from '@sluice/metrics';
import { ProcessRegistry, entryQueue, hopJobId, serializedPipelineJob, type QueueProducer } from '@sluice/queues';
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
/** How often a shutdown looks for connections that have answered their request. */
const DRAIN_POLL_MS = 20;

/**
 * Closes each connection once it has answered the request it is on, for at most `timeoutMs`, then
 * the rest. Node holds a connection busy from a request's first byte until its answer is sent, so
 * no request being read or handled is cut, and nothing has to be counted per request for it (hooks
 * on every request cost ~8% of a one-event /capture request). A keep-alive client that sends again
 * meanwhile gets fastify's 503 with `Connection: close`, which it retries.
 */
async function closeConnectionsAsAnswered(server: Server, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    server.closeIdleConnections();
    const open = await new Promise<number>((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
    if (open === 0 || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
  server.closeAllConnections();
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
  const handleError = errorHandler(logger);
  app.setErrorHandler(handleError);
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
    handleError,
  });
  await app.register(adminRoutes, {
    prefix: '/api',
    store,
    producer,
    adminToken: options.adminToken,
    pipelineChanged: options.pipelineChanged,
    processes: new ProcessRegistry(options.redis, config.redisPrefix),
  });

  return {
    app,
    close: async () => {
      const closed = app.close();
      // Node's server.close() waits for every keep-alive connection to end, and a client that
      // keeps sending on one can hold it open for ever. Once every request already begun has
      // been answered, whatever is left on the wire was never acknowledged, so the connections
      // are cut and the client retries.
      await closeConnectionsAsAnswered(app.server, SHUTDOWN_GRACE_MS);
      await closed;
      await Promise.all([committer.drain(), checker.close()]);
    },
    clearCaches: () => tokens.clear(),
  };
}
