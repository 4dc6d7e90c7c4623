import type { AppCapability, AppLogEntry, PluginEvent, ScheduledFunction } from '@sluice/core';
import { SandboxLimitError, overranTimeLimit, resolveLimits, type LimitKind, type SandboxLimits } from './limits';
import type { AppAttachmentFile, JobRequest, MetaContext } from './meta';
import { getQuickJS } from './quickjs';
import { AppError, Realm, type EntryPoint } from './realm';
import { encodeBatch, readOutcomes } from './event-patches';
import { maskSecrets } from './plugin-json';

export type EventOutcome = { status: 'ok'; event: PluginEvent } | { status: 'dropped' } | { status: 'error'; error: string };

/**
 * How a call into the app ended. `retry` is PostHog's RetryError: the app asks to be called again
 * later; any other error (including a limit hit) is final for that call.
 */
export type CallResult = { ok: true } | { ok: false; error: string; retry: boolean };

/** An event's onEvent outcome in a batch (see AppVm.onEvents): a call's result, or `held` (not run). */
export type OnEventOutcome = CallResult | 'held';

export interface AppVmOptions {
  instanceId: number;
  name: string;
  code: string;
  config: Record<string, string>;
  limits?: Partial<SandboxLimits>;
  onLog: (entry: AppLogEntry) => void;
  /** Told of each call a sandbox limit stopped (for the limit-hit metric). */
  onLimitHit?: (limit: LimitKind) => void;
  /**
   * The instance's `secret: true` config values: masked in the errors its calls answer (which go
   * on to dead letters, logs and the admin API), whatever a bridge or the app put in them.
   */
  secrets?: readonly string[];
  /** Where `meta.jobs.<name>(…).runNow()` puts its job; without it meta.jobs fails clearly. */
  enqueueJob?: (request: JobRequest) => Promise<void>;
  /** `meta.attachments`: the instance's uploaded files by config key (see attachmentFile). */
  attachments?: Record<string, AppAttachmentFile>;
  /** The host services behind meta.cache, meta.storage, posthog.capture, fetch and meta.geoip (see MetaContext). */
  services?: HostServices;
}

/** What the host lends an instance beyond its config and logs; each is optional (absent: a clear error on use). */
export type HostServices = Pick<MetaContext, 'cache' | 'storage' | 'capture' | 'fetch' | 'geoip'>;

export interface AppVm {
  readonly capabilities: AppCapability[];
  setup(): Promise<void>;
  processEventBatch(events: PluginEvent[]): Promise<EventOutcome[]>;
  onEvent(event: PluginEvent): Promise<CallResult>;
  /**
   * onEvent for each event in one crossing: a person's events one after another in order,
   * different persons concurrently. With `holdAfterRetry`, a person's events after one that threw
   * RetryError are not run (`held`).
   */
  onEvents(events: PluginEvent[], holdAfterRetry?: boolean): Promise<OnEventOutcome[]>;
  exportEvents(events: PluginEvent[]): Promise<CallResult>;
  /** Runs `jobs[name](payload, meta)`, under the (longer) job time limit. */
  runJob(name: string, payload: unknown): Promise<CallResult>;
  runScheduled(fn: ScheduledFunction): Promise<CallResult>;
  teardown(): Promise<void>;
  /** Writes to the instance's app logs (secrets masked), as the app's own console does. */
  log(level: AppLogEntry['level'], message: string): void;
  dispose(): void;
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
  /** See guardedNow: set when a call overran its time limit by far. */
  private suspendedUntil = 0;
  private suspension = '';

  constructor(
    private module: Awaited<ReturnType<typeof getQuickJS>>,
    private readonly options: AppVmOptions,
    private readonly limits: SandboxLimits,
  ) {
    this.realm = this.newRealm();
    this.capabilities = this.realm.capabilities();
  }

  private newRealm(): Realm {
    const { code, config, onLog, enqueueJob, name, services, attachments } = this.options;
    return new Realm(this.module, code, { config, onLog, appName: name, ...services, ...(enqueueJob ? { enqueueJob } : {}), ...(attachments && { attachments }) }, this.limits);
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

  log(level: AppLogEntry['level'], message: string): void {
    this.options.onLog({ timestamp: new Date().toISOString(), level, message });
  }

  /** An error text with the instance's secret config values masked. */
  private masked(text: string): string {
    return this.options.secrets?.length ? maskSecrets(text, this.options.secrets) : text;
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

  /**
   * Runs `work`; on a limit the realm is thrown away so the next call starts clean. A call that
   * overran its time limit by far suspends the instance for limits.overrunSuspendMs: meanwhile
   * calls fail at once with a RetryError-like AppError (destinations retry later; processEvent
   * errors follow the instance's setting), so a hostile app cannot block its worker call after call.
   */
  private async guardedNow<T>(work: (realm: Realm) => Promise<T>): Promise<T> {
    if (Date.now() < this.suspendedUntil) throw new AppError(this.suspension, true);
    const realm = await this.live();
    const started = Date.now();
    try {
      return await work(realm);
    } catch (error) {
      if (error instanceof SandboxLimitError) {
        this.log('error', error.message);
        this.options.onLimitHit?.(error.kind);
        realm.dispose();
        if (this.realm === realm) this.realm = undefined;
        this.setupDone = false;
        const elapsed = Date.now() - started;
        if (overranTimeLimit(error, elapsed) && this.limits.overrunSuspendMs > 0) {
          this.suspendedUntil = Date.now() + this.limits.overrunSuspendMs;
          this.suspension = `${this.options.name} is suspended until ${new Date(this.suspendedUntil).toISOString()}: a call took ${elapsed} ms against its ${error.timeLimitMs} ms time limit`;
          this.log('error', this.suspension);
        }
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
        const failure = error instanceof AppError ? new AppError(this.masked(error.message), error.retry) : error;
        this.log('error', `setupPlugin failed: ${(failure as Error).message}`);
        throw failure;
      }
    }
    this.setupDone = true;
  }

  /**
   * Runs processEvent (or a deprecated processEventBatch) over the batch in one crossing. When
   * the call hits a limit (one event looping forever, blowing the heap…), every event would fail
   * with it; instead the batch is split in halves, each re-run on a fresh realm, until the
   * culprits are single events: they get the limit's error, every other event its own outcome.
   *
   * The search is bounded: after 2·ceil(log2(n)) + 2 further limit hits (enough to isolate two
   * culprits), the slices not yet resolved fail with the limit's error without being run — a
   * batch of 100 in which every event times out costs at most 17 time limits, not 100. A call
   * that overran its time limit by far ends the search at once (the rest fail unrun).
   *
   * Re-running a slice re-runs its events' processEvent, side effects included (meta.cache
   * writes, jobs, logs): the same as PostHog's retry of a failed batch. A deprecated
   * processEventBatch is called with the smaller slices.
   */
  async processEventBatch(events: PluginEvent[]): Promise<EventOutcome[]> {
    if (events.length === 0) return [];
    const outcomes = new Array<EventOutcome>(events.length);
    const search = { limitHitsLeft: 2 * Math.ceil(Math.log2(events.length)) + 2, error: undefined as SandboxLimitError | undefined };
    await this.runSlice(events, 0, events.length, outcomes, search);
    return outcomes;
  }

  /** Fills outcomes[start, end): one call, or on a limit hit the two halves in turn (see processEventBatch). */
  private async runSlice(
    events: PluginEvent[],
    start: number,
    end: number,
    outcomes: EventOutcome[],
    search: { limitHitsLeft: number; error: SandboxLimitError | undefined },
  ): Promise<void> {
    const fail = (message: string) => {
      for (let i = start; i < end; i++) outcomes[i] = { status: 'error', error: message };
    };
    // Out of budget: what is left fails with the limit that spent it, unrun.
    if (search.error && search.limitHitsLeft <= 0) return fail(search.error.message);
    const slice = start === 0 && end === events.length ? events : events.slice(start, end);
    let started: number | undefined;
    try {
      await this.setup(); // its own time limit: a slow setupPlugin is not this call's overrun
      started = Date.now();
      const answered = await this.runBatch(slice);
      for (let i = start; i < end; i++) {
        const outcome = answered[i - start]!;
        outcomes[i] = outcome.status === 'error' ? { status: 'error', error: this.masked(outcome.error) } : outcome;
      }
    } catch (error) {
      if (error instanceof AppError) return fail(this.masked(error.message));
      if (!(error instanceof SandboxLimitError)) throw error;
      if (search.error) search.limitHitsLeft -= 1;
      search.error = error;
      // A call that overran its time limit by far (QuickJS checks its interrupt only between
      // bytecodes: an app catching stack overflows in a loop builds error after error unchecked)
      // would block the worker that long again for every slice: no search then.
      if (started !== undefined && overranTimeLimit(error, Date.now() - started)) search.limitHitsLeft = 0;
      if (end - start === 1 || search.limitHitsLeft <= 0) return fail(error.message);
      const middle = start + Math.ceil((end - start) / 2);
      await this.runSlice(events, start, middle, outcomes, search);
      await this.runSlice(events, middle, end, outcomes, search);
    }
  }

  /** QuickJS's own count of the bytes the instance's runtime holds ("memory used"); undefined while it has none. */
  memoryBytes(): number | undefined {
    // dumpMemoryUsage needs no context, where computeMemoryUsage would add one to the runtime.
    const used = this.realm && /memory used\s+\d+\s+(\d+)/.exec(this.realm.runtime.dumpMemoryUsage());
    return used ? Number(used[1]) : undefined;
  }

  /** One crossing: the events as JSON in, per event a patch, "unchanged", the whole event, a drop or an error out. */
  private async runBatch(events: PluginEvent[]): Promise<EventOutcome[]> {
    await this.setup();
    const { args, shapes } = encodeBatch(events);
    const json = await this.guarded((realm) => realm.call('processBatch', 'processEvent', args));
    return readOutcomes(events, shapes, json);
  }

  onEvent(event: PluginEvent): Promise<CallResult> {
    return this.invoke('onEvent', 'onEvent', () => [JSON.stringify(event)]);
  }

  async onEvents(events: PluginEvent[], holdAfterRetry = false): Promise<OnEventOutcome[]> {
    if (events.length <= 1 || !this.capabilities.includes('onEvent')) return this.onEventsOneByOne(events, holdAfterRetry);
    await this.setup();
    let answered: Array<0 | 1 | [string, 0 | 1]>;
    try {
      const json = await this.guarded((realm) => realm.call('onEventBatch', 'onEvent', [JSON.stringify(events), holdAfterRetry ? '1' : '0']));
      answered = JSON.parse(json) as typeof answered;
    } catch (error) {
      // A limit hit (logged by guardedNow) fails the crossing as a whole: the events go again one
      // call each, each with its own limit, so only the culprit fails. The events the crossing had
      // done are delivered twice, as any at-least-once retry would.
      if (error instanceof SandboxLimitError) return this.onEventsOneByOne(events, holdAfterRetry);
      if (!(error instanceof AppError)) throw error;
      // The instance is suspended (guardedNow): every event gets its RetryError-like answer.
      const message = this.masked(error.message);
      this.log('error', `onEvent failed: ${message}`);
      return events.map(() => ({ ok: false, error: message, retry: error.retry }));
    }
    return answered.map((outcome): OnEventOutcome => {
      if (outcome === 0) return { ok: true };
      if (outcome === 1) return 'held';
      const message = this.masked(outcome[0]);
      this.log('error', `onEvent failed: ${message}`);
      return { ok: false, error: message, retry: outcome[1] === 1 };
    });
  }

  /** onEvents as one call per event (a single event, or after a limit hit in a batched crossing). */
  private async onEventsOneByOne(events: PluginEvent[], holdAfterRetry: boolean): Promise<OnEventOutcome[]> {
    const holding = new Set<string>();
    const outcomes: OnEventOutcome[] = [];
    for (const event of events) {
      if (holding.has(event.distinct_id)) {
        outcomes.push('held');
        continue;
      }
      const result = await this.onEvent(event);
      if (holdAfterRetry && !result.ok && result.retry) holding.add(event.distinct_id);
      outcomes.push(result);
    }
    return outcomes;
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
        const message = this.masked(error.message);
        this.log('error', `${fn} failed: ${message}`);
        return { ok: false, error: message, retry: error.retry };
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

/** The bytes a warm instance's QuickJS runtime holds (for the benchmark); undefined for other AppVm implementations. */
export function instanceMemoryBytes(vm: AppVm): number | undefined {
  return vm instanceof QuickJsAppVm ? vm.memoryBytes() : undefined;
}

export async function createAppVm(options: AppVmOptions): Promise<AppVm> {
  return new QuickJsAppVm(await getQuickJS(), options, resolveLimits(options.limits));
}
