import { createIntake, bootstrap } from '@sluice/intake';
import { startProbeServer } from '@sluice/metrics';
import { startRunner } from '@sluice/runner';
import { startStageWorker } from '@sluice/stage-worker';
import type { SluiceConfig } from '@sluice/core';
import type { FastifyInstance } from 'fastify';
import { createRuntime, type Runtime } from '../runtime';
import { UsageError } from '../usage-error';

export type Role = 'intake' | 'worker' | 'runner';


/**
 * Runs the given services in this process until SIGINT/SIGTERM, then shuts down in order: stop
 * taking requests, write what intake holds, let running jobs finish, tear down apps, close.
 */
export async function serve(config: SluiceConfig, roles: Role[], options: { startRedis: boolean }): Promise<void> {
  const standalone = roles.length === 1;
  if (standalone && !config.databaseUrl) {
    throw new UsageError(
      `sluice ${roles[0]} needs DATABASE_URL: services in separate processes share one Postgres (the embedded store belongs to one process; run "sluice start" for all services in one)`,
    );
  }
  const runtime = await createRuntime(config, options);
  const { logger } = runtime;
  const closers: Array<() => Promise<void>> = [];
  const checks = {
    redis: async () => void (await runtime.redis.ping()),
    store: () => runtime.store.ping(),
    // Every project's pipeline loads (cached after the first time), so routes can be resolved.
    apps: async () => {
      for (const project of await runtime.store.listProjects()) await runtime.pipelines.instances(project.id);
    },
  };
  try {
    if (roles.includes('worker')) {
      const worker = await startStageWorker({ ...runtime, connection: runtime.redis });
      runtime.onPipelineChange.push(() => worker.refresh());
      closers.push(() => worker.close());
    }
    if (roles.includes('runner')) {
      const runner = await startRunner({ ...runtime, connection: runtime.redis });
      runtime.beforeReload.push((projectId) => runner.flushProject(projectId));
      runtime.onPipelineChange.push(() => runner.refresh());
      closers.push(() => runner.close());
    }
    let server: FastifyInstance;
    if (roles.includes('intake')) {
      const { adminToken } = await bootstrap(runtime.store, config, logger);
      const intake = await createIntake({
        ...runtime,
        adminToken,
        checks,
        pipelineChanged: async (projectId) => {
          runtime.pipelines.invalidate(projectId);
          await runtime.bus.publish(projectId);
        },
      });
      // The intake closes first: no new events while the workers finish what they hold.
      closers.unshift(() => intake.close());
      runtime.onPipelineChange.push(async () => intake.clearCaches());
      server = intake.app;
      await server.listen({ host: config.host, port: config.port });
    } else {
      server = await startProbeServer({ host: config.host, port: config.metricsPort, metrics: runtime.metrics, checks });
      closers.push(() => server.close());
    }
    const address = server.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ roles, host: config.host, port, store: runtime.store.kind }, `sluice ${roles.join(' + ')} listening on http://${config.host}:${port}`);
  } catch (error) {
    await shutdown(runtime, closers);
    throw error;
  }
  await waitForSignal();
  logger.info('shutting down');
  await shutdown(runtime, closers);
}

async function shutdown(runtime: Runtime, closers: Array<() => Promise<void>>): Promise<void> {
  for (const close of closers) {
    try {
      await close();
    } catch (error) {
      runtime.logger.error({ err: error }, 'error while closing');
    }
  }
  await runtime.close();
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
