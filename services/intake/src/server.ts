import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger, PipelineCache, SluiceConfig } from '@sluice/core';
import { healthRoutes, type ReadinessCheck, type SluiceMetrics } from '@sluice/metrics';
import { STORE_QUEUE, hopJobId, stageQueue, type PipelineJob, type QueueProducer } from '@sluice/queues';
import type { Store } from '@sluice/store';
import { newId } from '@sluice/core';
import { adminRoutes } from './admin-routes';
import { captureRoutes } from './capture-routes';
import { errorHandler } from './errors';
import { GroupCommitter } from './group-commit';
import { TokenCache } from './token-cache';

export interface IntakeOptions {
  config: SluiceConfig;
  store: Store;
  producer: QueueProducer;
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
      const queue = route[0] ? stageQueue(route[0].appId) : STORE_QUEUE;
      await producer.add(queue, job, hopJobId(job.batchId, 0));
    },
  });
  const tokens = new TokenCache((token) => store.getProjectByToken(token));

  const app = Fastify({ logger: false, bodyLimit: config.maxBodyBytes, routerOptions: { ignoreTrailingSlash: true }, trustProxy: false });
  app.setErrorHandler(errorHandler(logger));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
  await app.register(healthRoutes, { metrics, checks: options.checks });
  await app.register(captureRoutes, { committer, projectByToken: (token) => tokens.get(token), metrics, maxBodyBytes: config.maxBodyBytes });
  await app.register(adminRoutes, { prefix: '/api', store, producer, adminToken: options.adminToken, pipelineChanged: options.pipelineChanged });

  return {
    app,
    close: async () => {
      await app.close();
      await committer.drain();
    },
  };
}
