import { adminRoutes, bootstrap, consoleRoutes } from '@sluice/admin';
import { closeHttpServer, createHttpServer } from '@sluice/http';
import { createCapture } from '@sluice/intake';
import { healthRoutes, type ReadinessCheck } from '@sluice/metrics';
import { ProcessRegistry } from '@sluice/queues';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from './runtime';

export interface HttpFrontOptions {
  /** The capture endpoints (the data path). */
  capture: boolean;
  /** The admin API under /api (the control plane). */
  admin: boolean;
  checks: Record<string, ReadinessCheck>;
}

export interface HttpFront {
  app: FastifyInstance;
  /** Stops taking requests, answers those begun, then writes what capture's group commit holds. */
  close(): Promise<void>;
}

/**
 * One HTTP server for this process: capture, the admin API, or both on one port (`sluice start`,
 * `sluice intake`), with the probes and /metrics beside them. The caller listens.
 */
export async function createHttpFront(runtime: Runtime, options: HttpFrontOptions): Promise<HttpFront> {
  const { config, logger, store } = runtime;
  const app = createHttpServer({ bodyLimit: config.maxBodyBytes, trustedProxies: config.trustedProxies, logger });
  await app.register(healthRoutes, { metrics: runtime.metrics, checks: options.checks });
  const capture = options.capture ? createCapture(runtime) : undefined;
  if (capture) {
    await app.register(capture.routes);
    runtime.onPipelineChange.push(async () => capture.clearCaches());
  }
  if (options.admin) {
    const { adminToken } = await bootstrap(store, config, logger);
    await app.register(adminRoutes, {
      prefix: '/api',
      store,
      producer: runtime.producer,
      adminToken,
      pipelineChanged: async (projectId) => {
        runtime.pipelines.invalidate(projectId);
        await runtime.bus.publish(projectId);
      },
      processes: new ProcessRegistry(runtime.redis, config.redisPrefix),
      backfillRate: config.backfillRate,
      orderShards: config.orderShards,
      appFetch: runtime.appFetch,
      trails: runtime.trails,
    });
    await app.register(consoleRoutes);
  }
  return {
    app,
    close: async () => {
      await closeHttpServer(app);
      await capture?.drain();
    },
  };
}
