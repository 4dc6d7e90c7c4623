import { CAPTURED_BY, normalizeEvent, personLane, type AppInstance, type Logger, type PipelineCache, type SluiceConfig } from '@sluice/core';
import { RedisAppCache, enqueueIngested, type QueueProducer, type RedisClient } from '@sluice/queues';
import { GeoIpDatabase, GuardedFetch, type CapturedEvent, type HostServices } from '@sluice/sandbox';
import type { Store } from '@sluice/store';

export interface HostServicesOptions {
  config: SluiceConfig;
  store: Store;
  /** A connection with auto-pipelining: the cache calls of a batch's events share round trips. */
  cacheRedis: RedisClient;
  producer: QueueProducer;
  pipelines: PipelineCache;
  logger: Logger;
}

/** Counts one instance's captures in the current minute: the loop guard of posthog.capture. */
class CaptureBudget {
  private minute = 0;
  private readonly used = new Map<number, number>();

  constructor(private readonly perMinute: number) {}

  take(instanceId: number): boolean {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.used.clear();
    }
    const used = this.used.get(instanceId) ?? 0;
    if (used >= this.perMinute) return false;
    this.used.set(instanceId, used + 1);
    return true;
  }
}

/**
 * What the host lends each app instance: its Redis cache namespace, its Postgres storage,
 * posthog.capture into its own project, the guarded fetch and (when configured) the GeoIP database.
 */
export async function createHostServices(options: HostServicesOptions): Promise<{
  forInstance: (instance: AppInstance) => HostServices;
  /** The guarded fetch apps get (SLUICE_FETCH_* policy), shared by every instance. */
  fetch: GuardedFetch;
  /** Drops what is cached of a project (its number: a project deleted and made again gets a new one). */
  forgetProject: (projectId: string) => void;
  close: () => Promise<void>;
}> {
  const { config, store, cacheRedis, producer, pipelines, logger } = options;
  const fetch = new GuardedFetch({
    allowPrivate: config.fetchAllowPrivate,
    ...(config.fetchCa && { extraCa: config.fetchCa }),
    timeoutMs: config.fetchTimeoutMs,
    maxResponseBytes: config.fetchMaxResponseBytes,
    maxRedirects: 5,
  });
  const geoip = config.geoipDatabase ? await openGeoIp(config.geoipDatabase) : GeoIpDatabase.openDefault();
  const budget = new CaptureBudget(config.appCapturesPerMinute);

  // A project's number never changes while it exists: looked up once, forgotten when the project changes.
  const teamIds = new Map<string, number>();
  async function teamIdOf(projectId: string): Promise<number> {
    let teamId = teamIds.get(projectId);
    if (teamId === undefined) {
      const project = await store.getProject(projectId);
      if (!project) throw new Error(`posthog.capture: project "${projectId}" no longer exists`);
      teamIds.set(projectId, (teamId = project.teamId));
    }
    return teamId;
  }

  async function capture(instance: AppInstance, captured: CapturedEvent): Promise<void> {
    if (!budget.take(instance.id)) {
      throw new Error(`posthog.capture: more than ${config.appCapturesPerMinute} events in a minute from this app (SLUICE_APP_CAPTURES_PER_MINUTE); is it capturing in a loop?`);
    }
    const event = normalizeEvent(
      { event: captured.event, distinct_id: captured.distinct_id, timestamp: captured.timestamp, properties: { ...captured.properties, [CAPTURED_BY]: instance.id } },
      { teamId: await teamIdOf(instance.projectId), ip: null, now: new Date(), sentAt: undefined, index: 0 },
    );
    // In its person's lane, as if the intake had taken it.
    await enqueueIngested(producer, instance.projectId, await pipelines.route(instance.projectId), [event], personLane(event.distinct_id, config.orderShards));
    logger.debug({ instanceId: instance.id, event: event.event }, 'app captured an event');
  }

  return {
    fetch,
    forInstance: (instance) => ({
      cache: new RedisAppCache(cacheRedis, config.redisPrefix, instance.id),
      storage: {
        get: (key) => store.getAppStorage(instance.id, key),
        set: (key, value) => store.setAppStorage(instance.id, key, value),
        del: (key) => store.deleteAppStorage(instance.id, key),
      },
      capture: (captured) => capture(instance, captured),
      fetch,
      geoip,
    }),
    forgetProject: (projectId) => void teamIds.delete(projectId),
    close: () => fetch.close(),
  };
}

async function openGeoIp(path: string): Promise<GeoIpDatabase> {
  try {
    return await GeoIpDatabase.open(path);
  } catch (error) {
    throw new Error(`SLUICE_GEOIP_DB: cannot open the MaxMind database ${path}: ${(error as Error).message}`, { cause: error });
  }
}
