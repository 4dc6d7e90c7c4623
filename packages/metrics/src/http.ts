import type { FastifyInstance } from 'fastify';
import type { SluiceMetrics } from './index';
import { listenOn, type ListenOptions } from './listen';

export type ReadinessCheck = () => Promise<void>;

/**
 * /healthz (the process is up), /readyz (every dependency answers) and /metrics. Shared by every
 * service, so a stage worker or runner started alone answers the same probes.
 */
export async function healthRoutes(app: FastifyInstance, deps: { metrics: SluiceMetrics; checks: Record<string, ReadinessCheck> }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const results: Record<string, string> = {};
    await Promise.all(
      Object.entries(deps.checks).map(async ([name, check]) => {
        try {
          await check();
          results[name] = 'ok';
        } catch (error) {
          results[name] = (error as Error).message || 'failed';
        }
      }),
    );
    const ready = Object.values(results).every((result) => result === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: results });
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await deps.metrics.render();
    return reply.type(contentType).send(body);
  });
}

/**
 * A small HTTP server with only the probes and /metrics, for a stage worker or runner started
 * on its own (the intake mounts the same routes on its own server). Listens as listenOn says.
 */
export async function startProbeServer(
  options: ListenOptions & { metrics: SluiceMetrics; checks: Record<string, ReadinessCheck> },
): Promise<{ app: FastifyInstance; port: number; tookFreePort: boolean }> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  await app.register(healthRoutes, { metrics: options.metrics, checks: options.checks });
  return { app, ...(await listenOn(app, options)) };
}
