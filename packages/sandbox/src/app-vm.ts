import type { AppCapability, AppLogEntry, PluginEvent, ScheduledFunction } from '@sluice/core';
import { SandboxLimitError, resolveLimits, type SandboxLimits } from './limits';
import type { JobRequest } from './meta';
import { getQuickJS } from './quickjs';
import { AppError, Realm, type EntryPoint } from './realm';

export type EventOutcome = { status: 'ok'; event: PluginEvent } | { status: 'dropped' } | { status: 'error'; error: string };

/**
 * How a call into the app ended. `retry` is PostHog's RetryError: the app asks to be called again
 * later; any other error (including a limit hit) is final for that call.
 */
export type CallResult = { ok: true } | { ok: false; error: string; retry: boolean };

export interface AppVmOptions {
  instanceId: number;
  name: string;
  code: string;
  config: Record<string, string>;
  limits?: Partial<SandboxLimits>;
  onLog: (entry: AppLogEntry) => void;
  /** Where `meta.jobs.<name>(…).runNow()` puts its job; without it meta.jobs fails clearly. */
  enqueueJob?: (request: JobRequest) => Promise<void>;
}

export interface AppVm {
  readonly capabilities: AppCapability[];
  setup(): Promise<void>;
  processEventBatch(events: PluginEvent[]): Promise<EventOutcome[]>;
  onEvent(event: PluginEvent): Promise<CallResult>;
  exportEvents(events: PluginEvent[]): Promise<CallResult>;
  /** Runs `jobs[name](payload, meta)`, under the (longer) job time limit. */
  runJob(name: string, payload: unknown): Promise<CallResult>;
  runScheduled(fn: ScheduledFunction): Promise<CallResult>;
  teardown(): Promise<void>;
  dispose(): void;
}

function sameOutcomeForAll(events: PluginEvent[], error: string): EventOutcome[] {
  return events.map(() => ({ status: 'error', error }));
}

/**
 * An app instance in its own QuickJS runtime. A call that hits a limit fails as a whole, is
 * logged to the app's logs, and the realm is rebuilt from the same code (setupPlugin runs
 * again before the next call), so one bad batch never poisons the next.
 */
class QuickJsAppVm implements AppVm {
  private realm: Realm | undefined;
  private setupDone = false;
  private setupRun: Promise<void> | undefined;
  /** Calls into one VM run one at a time (a batch's events still run concurrently inside it). */
  private queue: Promise<unknown> = Promise.resolve();
  readonly capabilities: AppCapability[];

  constructor(
    private module: Awaited<ReturnType<typeof getQuickJS>>,
    private readonly options: AppVmOptions,
    private readonly limits: SandboxLimits,
  ) {
    this.realm = this.newRealm();
    this.capabilities = this.realm.capabilities();
  }

  private newRealm(): Realm {
    const { code, config, onLog, enqueueJob } = this.options;
    return new Realm(this.module, code, { config, onLog, ...(enqueueJob ? { enqueueJob } : {}) }, this.limits);
  }

  private async live(): Promise<Realm> {
    if (!this.realm) {
      const module = await getQuickJS(); // a fresh module if the last one was abandoned
      if (!this.realm) {
        this.module = module;
        this.realm = this.newRealm();
      }
    }
    return this.realm;
  }

  private log(level: AppLogEntry['level'], message: string): void {
    this.options.onLog({ timestamp: new Date().toISOString(), level, message });
  }

  /**
   * Runs `work` after the calls already queued on this VM: a limit hit rebuilds the realm, which
   * must never happen under another call still pumping its promises in it.
   */
  private guarded<T>(work: (realm: Realm) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.guardedNow(work));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs `work`; on a limit the realm is thrown away so the next call starts clean. */
  private async guardedNow<T>(work: (realm: Realm) => Promise<T>): Promise<T> {
    const realm = await this.live();
    try {
      return await work(realm);
    } catch (error) {
      if (error instanceof SandboxLimitError) {
        this.log('error', error.message);
        realm.dispose();
        if (this.realm === realm) this.realm = undefined;
        this.setupDone = false;
      }
      throw error;
    }
  }

  setup(): Promise<void> {
    if (this.setupDone) return Promise.resolve();
    // Concurrent first calls share one setupPlugin run.
    this.setupRun ??= this.runSetup().finally(() => (this.setupRun = undefined));
    return this.setupRun;
  }

  private async runSetup(): Promise<void> {
    if (this.capabilities.includes('setupPlugin')) {
      try {
        await this.guarded((realm) => realm.call('call', 'setupPlugin', ['setupPlugin']));
      } catch (error) {
        this.log('error', `setupPlugin failed: ${(error as Error).message}`);
        throw error;
      }
    }
    this.setupDone = true;
  }

  async processEventBatch(events: PluginEvent[]): Promise<EventOutcome[]> {
    if (events.length === 0) return [];
    await this.setup();
    try {
      const json = await this.guarded((realm) => realm.call('processBatch', 'processEvent', [JSON.stringify(events)]));
      const outcomes = JSON.parse(json) as EventOutcome[];
      // The prelude always answers one outcome per event; an app that tampered with the builtins
      // it relies on must not hand the caller a batch of the wrong shape.
      if (!Array.isArray(outcomes) || outcomes.length !== events.length) {
        return sameOutcomeForAll(events, 'processEvent: the sandbox returned malformed outcomes');
      }
      return outcomes;
    } catch (error) {
      if (error instanceof SandboxLimitError || error instanceof AppError) return sameOutcomeForAll(events, error.message);
      throw error;
    }
  }

  onEvent(event: PluginEvent): Promise<CallResult> {
    return this.invoke('onEvent', 'onEvent', () => [JSON.stringify(event)]);
  }

  exportEvents(events: PluginEvent[]): Promise<CallResult> {
    return this.invoke('exportEvents', 'exportEvents', () => [JSON.stringify(events)]);
  }

  runJob(name: string, payload: unknown): Promise<CallResult> {
    return this.invoke('runJob', `jobs.${name}`, () => [name, JSON.stringify(payload ?? {})], this.limits.jobTimeoutMs);
  }

  runScheduled(fn: ScheduledFunction): Promise<CallResult> {
    return this.invoke('call', fn, () => [fn], this.limits.jobTimeoutMs);
  }

  /**
   * Calls an app function after setupPlugin and turns what the app did wrong into a CallResult
   * (logged to its logs); failures of the host itself still throw. An app without the function
   * answers ok (runJob reports an unknown job name as an app error).
   */
  private async invoke(entry: EntryPoint, fn: string, args: () => string[], timeoutMs?: number): Promise<CallResult> {
    if (entry !== 'runJob' && !this.capabilities.includes(fn as AppCapability)) return { ok: true };
    await this.setup();
    try {
      await this.guarded((realm) => realm.call(entry, fn, args(), timeoutMs));
      return { ok: true };
    } catch (error) {
      if (error instanceof AppError) {
        this.log('error', `${fn} failed: ${error.message}`);
        return { ok: false, error: error.message, retry: error.retry };
      }
      // Already in the app's logs (guardedNow).
      if (error instanceof SandboxLimitError) return { ok: false, error: error.message, retry: false };
      throw error;
    }
  }

  async teardown(): Promise<void> {
    try {
      if (this.setupDone && this.capabilities.includes('teardownPlugin')) {
        await this.guarded((realm) => realm.call('call', 'teardownPlugin', ['teardownPlugin']));
      }
    } finally {
      this.dispose();
    }
  }

  dispose(): void {
    this.realm?.dispose();
    this.realm = undefined;
  }
}

export async function createAppVm(options: AppVmOptions): Promise<AppVm> {
  return new QuickJsAppVm(await getQuickJS(), options, resolveLimits(options.limits));
}
