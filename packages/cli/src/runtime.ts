import { resolve } from 'node:path';
import { PipelineCache, SETUP_RETRY_DELAYS_MS, createLogger, type AppInstance, type Logger, type SluiceConfig } from '@sluice/core';
import { SluiceMetrics } from '@sluice/metrics';
import { randomUUID } from 'node:crypto';
import {
  JOBS_QUEUE,
  EventTrails,
  PipelineBus,
  QueueProducer,
  clearAppCache,
  checkEvictionPolicy,
  createRedis,
  ensureRedis,
  type AppJob,
  type ManagedRedis,
  type RedisClient,
} from '@sluice/queues';
import { AppVmPool, attachmentFile, type GuardedFetch } from '@sluice/sandbox';
import { LogSink, openStore, type Store } from '@sluice/store';
import { AppActivityRecorder } from './app-activity';
import { createHostServices } from './host-services';

/** What every service of one process shares: connections, caches, the sandbox pool, metrics. */
export interface Runtime {
  config: SluiceConfig;
  logger: Logger;
  store: Store;
  redis: RedisClient;
  producer: QueueProducer;
  bus: PipelineBus;
  pipelines: PipelineCache;
  pool: AppVmPool;
  logSink: LogSink;
  metrics: SluiceMetrics;
  /** The guarded fetch apps get (the admin API's app test run sends through it when asked). */
  appFetch: GuardedFetch;
  /** Sampled events' trails through the chain and the dropped events (Redis, an hour / a day). */
  trails: EventTrails;
  /** Keeps each instance's counts per minute and its grouped errors in the store (the console's metrics over time). */
  appErrors: AppActivityRecorder;
  /** Called when the bus says a project's pipeline changed, before its warm VMs are reloaded (e.g. to flush buffers into them). */
  beforeReload: Array<(projectId: string) => Promise<void>>;
  /** Called (after the caches are dropped and the VMs reloaded) when a project's pipeline changed. */
  onPipelineChange: Array<(projectId: string) => Promise<void>>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Start a child redis-server when nothing answers at REDIS_URL (`sluice start` only). */
  startRedis: boolean;
}

export async function createRuntime(config: SluiceConfig, options: RuntimeOptions): Promise<Runtime> {
  const logger = createLogger(config.logLevel, config.logFormat);
  const managedRedis: ManagedRedis | undefined = options.startRedis
    ? await ensureRedis(config.redisUrl, config.dataDir, logger)
    : undefined;
  const redis = createRedis(config.redisUrl);
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  const policy = await checkEvictionPolicy(redis);
  if (policy) logger.warn({ policy }, `Redis maxmemory-policy is "${policy}": set it to noeviction, or Redis may drop queued events`);

  const store = await openStore(
    config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: resolve(config.dataDir, 'pglite') },
  );
  const metrics = new SluiceMetrics();
  const producer = new QueueProducer(redis, config.redisPrefix);
  metrics.onScrape(async (m) => {
    for (const [queue, { waiting, delayed, oldestAgeSeconds }] of await producer.waitingStats()) {
      m.queueWaiting.set({ queue }, waiting);
      m.queueDelayed.set({ queue }, delayed);
      m.queueOldestWaitingAge.set({ queue }, oldestAgeSeconds);
    }
  });
  const pipelines = new PipelineCache((projectId) => store.listInstances(projectId));
  const logSink = new LogSink(store, logger);
  // Its own connection, auto-pipelined: the cache calls of a batch's events go out together.
  // ioredis' default of 20 retries (not BullMQ's null): an app's cache call fails rather than waits forever.
  const cacheRedis = createRedis(config.redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 20 });
  cacheRedis.on('error', (error) => logger.warn({ err: error }, 'redis (app cache) connection error'));
  const services = await createHostServices({ config, store, cacheRedis, producer, pipelines, logger });
  const pool = new AppVmPool({
    load: async (instanceId) => {
      const instance = await store.getInstance(instanceId);
      const app = instance && (await store.getApp(instance.appId));
      if (!instance || !app) return null;
      // Most instances have none: the query is skipped until the first upload.
      const files = instance.attachmentsVersion ? await store.listAttachments(instance.id) : [];
      return { instance, app, attachments: Object.fromEntries(files.map((file) => [file.key, attachmentFile(file)])) };
    },
    limits: { callTimeoutMs: config.appCallTimeoutMs, jobTimeoutMs: config.appJobTimeoutMs, hostWaitTimeoutMs: config.appHostWaitTimeoutMs, memoryBytes: config.appMemoryBytes },
    services: services.forInstance,
    onLog: (instance, entry) => logSink.add(instance, entry),
    onLimitHit: (instance, limit) => metrics.sandboxLimitHits.inc({ app: instance.name, instance: String(instance.id), limit }),
    enqueueJob: async (instance, request) => {
      const job: AppJob = { projectId: instance.projectId, instanceId: instance.id, name: request.name, payload: request.payload };
      await producer.add(JOBS_QUEUE, job, randomUUID(), { delay: Math.max(0, request.runAt - Date.now()) });
      metrics.appJobsEnqueued.inc({ app: instance.name, instance: String(instance.id), job: request.name });
    },
    setupRetryDelaysMs: SETUP_RETRY_DELAYS_MS.map((ms) => Math.round(ms * config.retryDelayScale)),
    // PostHog's rule: an instance whose setupPlugin fails for good is disabled, the error in its logs.
    onSetupFailure: async (instance, message) => {
      logSink.add(instance, { timestamp: new Date().toISOString(), level: 'error', message: `${message}; the instance is disabled` });
      await store.updateInstance(instance.projectId, instance.id, { enabled: false });
      metrics.appDisables.inc({ app: instance.name, instance: String(instance.id), reason: 'setup_failed' });
      pipelines.invalidate(instance.projectId);
      await bus.publish(instance.projectId);
    },
    logger,
  });

  const beforeReload: Runtime['beforeReload'] = [];
  const onPipelineChange: Runtime['onPipelineChange'] = [async (projectId) => services.forgetProject(projectId)];
  // Which instances each project had at the last reload: a removed one's meta.cache keys go with it.
  const knownInstances = new Map<string, Set<number>>();
  for (const instance of await store.listAllInstances()) {
    knownInstances.set(instance.projectId, (knownInstances.get(instance.projectId) ?? new Set()).add(instance.id));
  }
  const clearRemovedCaches = async (projectId: string, current: AppInstance[]) => {
    const before = knownInstances.get(projectId) ?? new Set<number>();
    const now = new Set(current.map((instance) => instance.id));
    knownInstances.set(projectId, now);
    for (const id of before) {
      if (!now.has(id)) await clearAppCache(cacheRedis, config.redisPrefix, id).catch((error: unknown) => logger.warn({ err: error, instanceId: id }, 'could not clear a removed instance\'s cache'));
    }
  };
  const reload = async (projectId: string) => {
    pipelines.invalidate(projectId);
    await Promise.all(beforeReload.map((listener) => listener(projectId)));
    const current = await store.listInstances(projectId);
    await pool.reloadProject(projectId, current);
    await clearRemovedCaches(projectId, current);
    await Promise.all(onPipelineChange.map((listener) => listener(projectId)));
  };
  // One reload at a time, in the order the changes were published.
  let reloading: Promise<void> = Promise.resolve();
  const bus = new PipelineBus(redis, config.redisPrefix);
  await bus.subscribe(
    (projectId) => {
      reloading = reloading
        .then(() => reload(projectId))
        .catch((error: unknown) => logger.error({ err: error, projectId }, 'pipeline reload failed'));
    },
    // Pub/sub drops what is published while the subscriber reconnects: reload every project then.
    () => {
      reloading = reloading
        .then(async () => {
          for (const project of await store.listProjects()) await reload(project.id);
        })
        .catch((error: unknown) => logger.error({ err: error }, 'pipeline reload after reconnect failed'));
    },
  );

  const appErrors = new AppActivityRecorder(metrics, store, logger);
  appErrors.start();

  return {
    config, logger, store, redis, producer, bus, pipelines, pool, logSink, metrics, appFetch: services.fetch, appErrors, trails: new EventTrails(redis, config.redisPrefix, config.trailSample), beforeReload, onPipelineChange,
    close: async () => {
      await pool.close();
      await appErrors.close();
      await services.close();
      cacheRedis.disconnect();
      await logSink.close();
      await bus.close();
      await producer.close();
      redis.disconnect();
      await store.close();
      await managedRedis?.stop();
    },
  };
}
