import { listenOn, startProbeServer } from '@sluice/metrics';
import { startRunner } from '@sluice/runner';
import { startStageWorker } from '@sluice/stage-worker';
import type { SluiceConfig } from '@sluice/core';
import { createHttpFront } from '../http-front';
import { announceProcess } from '../process-announcement';
import { createRuntime, type Runtime } from '../runtime';
import { UsageError } from '../usage-error';

/** `intake` is capture and the admin API on one port; `admin` is the admin API alone. */
export type Role = 'intake' | 'admin' | 'worker' | 'runner';

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
    let port: number;
    const capture = roles.includes('intake');
    const admin = roles.includes('admin') || (capture && config.intakeServesAdmin);
    if (capture || admin) {
      const front = await createHttpFront(runtime, { capture, admin, checks });
      // The HTTP front closes first: no new events while the workers finish what they hold.
      closers.unshift(() => front.close());
      // Clients are configured with this port: never swap it for another.
      ({ port } = await listenOn(front.app, { host: config.host, port: config.port, variable: 'SLUICE_PORT', whenTaken: 'fail' }));
    } else {
      // 9100, the default, is also node_exporter's port, and a second worker on the host wants it too.
      const probe = await startProbeServer({
        host: config.host,
        port: config.metricsPort,
        variable: 'SLUICE_METRICS_PORT',
        whenTaken: config.metricsPortSet ? 'fail' : 'free-port',
        metrics: runtime.metrics,
        checks,
      });
      closers.push(() => probe.app.close());
      port = probe.port;
      if (probe.tookFreePort) logger.warn({ port }, `port ${config.metricsPort} is taken: serving /metrics on ${config.host}:${port} (SLUICE_METRICS_PORT chooses one)`);
    }
    // Unregistered first at shutdown: service discovery stops listing it before it stops answering.
    closers.unshift(await announceProcess(runtime, roles, port));
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
