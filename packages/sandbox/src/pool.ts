import type { AppInstance, AppLogEntry, AppRecord, Logger } from '@sluice/core';
import { createAppVm, type AppVm, type HostServices } from './app-vm';
import { maskSecrets, secretValues } from './plugin-json';
import { isRetryError } from './realm';
import type { LimitKind, SandboxLimits } from './limits';
import type { AppAttachmentFile, JobRequest } from './meta';

export interface LoadedInstance {
  instance: AppInstance;
  app: AppRecord;
  /** meta.attachments (see attachmentFile); none when absent. */
  attachments?: Record<string, AppAttachmentFile>;
}

export interface AppVmPoolOptions {
  load: (instanceId: number) => Promise<LoadedInstance | null>;
  limits?: Partial<SandboxLimits>;
  onLog: (instance: AppInstance, entry: AppLogEntry) => void;
  onLimitHit?: (instance: AppInstance, limit: LimitKind) => void;
  /** Puts an app's `meta.jobs` request on the jobs queue. */
  enqueueJob?: (instance: AppInstance, request: JobRequest) => Promise<void>;
  /** The host services an instance's meta.cache, meta.storage, posthog.capture, fetch and geoip use. */
  services?: (instance: AppInstance) => HostServices;
  /**
   * Waits before each retry of a setupPlugin that threw RetryError (PostHog: 5, 10, 20, 40, 80 s);
   * none by default.
   */
  setupRetryDelaysMs?: readonly number[];
  /** setupPlugin failed for good (another error, or RetryError past the last retry): PostHog disables the instance. */
  onSetupFailure?: (instance: AppInstance, message: string) => Promise<void>;
  logger: Logger;
}

/** setupPlugin threw: the app's fault, not the infrastructure's (callers treat the two differently). */
export class AppSetupError extends Error {
  override name = 'AppSetupError';
  constructor(
    readonly instance: AppInstance,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

interface PoolEntry {
  ready: Promise<{ vm: AppVm; instance: AppInstance; app: AppRecord } | null>;
  projectId?: string;
  active: number;
  retired: boolean;
  /** Set once `ready` has resolved, for the synchronous checks of reloadProject. */
  loaded?: { vm: AppVm; instance: AppInstance; app: AppRecord };
}

/** Whether a warm VM no longer matches its instance and must be set up afresh. */
function needsReload(was: AppInstance, app: AppRecord, now: AppInstance): boolean {
  return (
    !now.enabled ||
    now.appId !== app.id ||
    JSON.stringify(now.config) !== JSON.stringify(was.config) ||
    JSON.stringify(now.settings ?? {}) !== JSON.stringify(was.settings ?? {}) ||
    now.attachmentsVersion !== was.attachmentsVersion
  );
}

/**
 * The warm app instances of one process. An instance's VM is created and set up on first use and
 * kept; when its project's pipeline changes it is retired and torn down once no call uses it
 * any more (a VM must never be disposed under a running call).
 */
export class AppVmPool {
  private readonly entries = new Map<number, PoolEntry>();

  constructor(private readonly options: AppVmPoolOptions) {}

  /** Runs `fn` with the instance's VM; `null` when the instance no longer exists. */
  async use<T>(instanceId: number, fn: (vm: AppVm, instance: AppInstance) => Promise<T>): Promise<T | null> {
    const entry = this.entry(instanceId);
    entry.active += 1;
    try {
      const loaded = await entry.ready;
      if (!loaded) return null;
      return await fn(loaded.vm, loaded.instance);
    } finally {
      entry.active -= 1;
      if (entry.retired && entry.active === 0) await this.teardown(entry);
    }
  }

  /**
   * Brings a project's warm VMs in line with its instances as they are now: a VM whose instance
   * was removed, disabled, reconfigured or moved to another app version is retired (teardownPlugin
   * once its calls finish; the next call sets up a fresh one); a VM whose instance only moved in
   * the order is kept as it is, so reordering a chain does not restart its apps.
   */
  async reloadProject(projectId: string, current: AppInstance[]): Promise<void> {
    const byId = new Map(current.map((instance) => [instance.id, instance]));
    const retiring: number[] = [];
    for (const [instanceId, entry] of this.entries) {
      if (entry.projectId !== projectId && entry.projectId !== undefined) continue;
      const loaded = entry.loaded;
      const now = byId.get(instanceId);
      if (loaded && now && !needsReload(loaded.instance, loaded.app, now)) {
        loaded.instance.order = now.order;
        continue;
      }
      retiring.push(instanceId);
    }
    await Promise.all(retiring.map((instanceId) => this.retire(instanceId)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((instanceId) => this.retire(instanceId)));
  }

  private entry(instanceId: number): PoolEntry {
    let entry = this.entries.get(instanceId);
    if (!entry) {
      const created: PoolEntry = { ready: Promise.resolve(null), active: 0, retired: false };
      created.ready = this.create(instanceId, created);
      created.ready.then((loaded) => (created.loaded = loaded ?? undefined), () => {});
      // A failed setup must not stick: the next call tries again.
      created.ready.catch(() => this.entries.get(instanceId) === created && this.entries.delete(instanceId));
      this.entries.set(instanceId, created);
      entry = created;
    }
    return entry;
  }

  private async create(instanceId: number, entry: PoolEntry): Promise<{ vm: AppVm; instance: AppInstance; app: AppRecord } | null> {
    const loaded = await this.options.load(instanceId);
    if (!loaded) return null;
    const { instance, app, attachments } = loaded;
    const { enqueueJob } = this.options;
    const secrets = secretValues(app.pluginJson, instance.config);
    entry.projectId = instance.projectId;
    const vm = await createAppVm({
      instanceId: instance.id,
      name: app.name,
      code: app.code,
      config: instance.config,
      secrets,
      ...(attachments && { attachments }),
      // The instance's own limits (admin API settings) win over the process's.
      limits: { ...this.options.limits, ...instance.settings?.limits },
      ...(this.options.services ? { services: this.options.services(instance) } : {}),
      // secret: true config values never reach the logs, whatever the app prints.
      onLog: (log) => this.options.onLog(instance, secrets.length ? { ...log, message: maskSecrets(log.message, secrets) } : log),
      onLimitHit: (limit) => this.options.onLimitHit?.(instance, limit),
      ...(enqueueJob ? { enqueueJob: (request: JobRequest) => enqueueJob(instance, request) } : {}),
    });
    await this.setUp(vm, instance, app, entry);
    return { vm, instance, app };
  }

  /** setupPlugin with PostHog's retries; calls for the instance wait meanwhile. */
  private async setUp(vm: AppVm, instance: AppInstance, app: AppRecord, entry: PoolEntry): Promise<void> {
    const delays = this.options.setupRetryDelaysMs ?? [];
    for (let retries = 0; ; retries++) {
      try {
        await vm.setup();
        return;
      } catch (error) {
        const delay = isRetryError(error) ? delays[retries] : undefined;
        const message = (error as Error).message;
        if (delay !== undefined && !entry.retired) {
          this.options.onLog(instance, {
            timestamp: new Date().toISOString(),
            level: 'warn',
            message: `setupPlugin: ${message}; retried in ${delay} ms (retry ${retries + 1} of ${delays.length})`,
          });
          await new Promise((resolve) => setTimeout(resolve, delay));
          continue;
        }
        vm.dispose();
        const failure = new AppSetupError(instance, `setupPlugin of ${app.name} (${instance.id}) failed: ${message}`, { cause: error });
        if (!entry.retired) {
          await this.options.onSetupFailure?.(instance, failure.message).catch((cause: unknown) =>
            this.options.logger.error({ err: cause, instanceId: instance.id }, 'could not disable an instance whose setupPlugin failed'),
          );
        }
        throw failure;
      }
    }
  }

  private async retire(instanceId: number): Promise<void> {
    const entry = this.entries.get(instanceId);
    if (!entry) return;
    this.entries.delete(instanceId);
    entry.retired = true;
    if (entry.active === 0) await this.teardown(entry);
  }

  private async teardown(entry: PoolEntry): Promise<void> {
    const loaded = await entry.ready.catch(() => null);
    if (!loaded) return;
    try {
      await loaded.vm.teardown();
    } catch (error) {
      this.options.logger.warn({ instanceId: loaded.instance.id, err: error }, 'teardownPlugin failed');
    }
  }
}
