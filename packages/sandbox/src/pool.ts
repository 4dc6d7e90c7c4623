import type { AppInstance, AppLogEntry, AppRecord, Logger } from '@sluice/core';
import { createAppVm, type AppVm } from './app-vm';
import type { SandboxLimits } from './limits';

export interface LoadedInstance {
  instance: AppInstance;
  app: AppRecord;
}

export interface AppVmPoolOptions {
  load: (instanceId: number) => Promise<LoadedInstance | null>;
  limits?: Partial<SandboxLimits>;
  onLog: (instance: AppInstance, entry: AppLogEntry) => void;
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
  ready: Promise<{ vm: AppVm; instance: AppInstance } | null>;
  projectId?: string;
  active: number;
  retired: boolean;
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

  /** Retires every VM of a project, so the next call loads its current config and code. */
  async retireProject(projectId: string): Promise<void> {
    const retiring = [...this.entries].filter(([, entry]) => entry.projectId === projectId || entry.projectId === undefined);
    await Promise.all(retiring.map(([instanceId]) => this.retire(instanceId)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((instanceId) => this.retire(instanceId)));
  }

  private entry(instanceId: number): PoolEntry {
    let entry = this.entries.get(instanceId);
    if (!entry) {
      const created: PoolEntry = { ready: Promise.resolve(null), active: 0, retired: false };
      created.ready = this.create(instanceId, created);
      // A failed setup must not stick: the next call tries again.
      created.ready.catch(() => this.entries.get(instanceId) === created && this.entries.delete(instanceId));
      this.entries.set(instanceId, created);
      entry = created;
    }
    return entry;
  }

  private async create(instanceId: number, entry: PoolEntry): Promise<{ vm: AppVm; instance: AppInstance } | null> {
    const loaded = await this.options.load(instanceId);
    if (!loaded) return null;
    const { instance, app } = loaded;
    entry.projectId = instance.projectId;
    const vm = await createAppVm({
      instanceId: instance.id,
      name: app.name,
      code: app.code,
      config: instance.config,
      limits: this.options.limits,
      onLog: (log) => this.options.onLog(instance, log),
    });
    try {
      await vm.setup();
    } catch (error) {
      vm.dispose();
      throw new AppSetupError(instance, `setupPlugin of ${app.name} (${instance.id}) failed: ${(error as Error).message}`, { cause: error });
    }
    return { vm, instance };
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
