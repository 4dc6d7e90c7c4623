import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';
import { APP_CAPABILITIES, type AppCapability, type AppLogEntry, type PluginEvent, type ScheduledFunction } from '@sluice/core';
import { SandboxLimitError, applyLimits, limitKindOf, resolveLimits, type SandboxLimits } from './limits';
import { META_CAPABILITIES, disposePendingHostCalls, type JobRequest, type MetaContext } from './meta';
import { PRELUDE } from './prelude';
import { abandonQuickJS, getQuickJS } from './quickjs';

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

/** The prelude's functions the host calls. */
const ENTRY_POINTS = ['load', 'capabilities', 'call', 'processBatch', 'onEvent', 'exportEvents', 'runJob'] as const;
type EntryPoint = (typeof ENTRY_POINTS)[number];

/** Whether an app call failed with PostHog's RetryError (the app asks to be called again later). */
export function isRetryError(error: unknown): boolean {
  return error instanceof AppError && error.retry;
}

/** An error the app threw (as opposed to a limit the host enforced). */
class AppError extends Error {
  override name = 'AppError';
  constructor(
    message: string,
    /** The app threw PostHog's RetryError: call again later. */
    readonly retry = false,
  ) {
    super(message);
  }
}

/** One QuickJS runtime + context holding one app instance, its `meta` and the prelude's entry points. */
class Realm {
  readonly runtime: QuickJSRuntime;
  readonly vm: QuickJSContext;
  /** The prelude's functions, taken once; the app never sees them (see PRELUDE). */
  private readonly entryPoints = new Map<EntryPoint, QuickJSHandle>();
  /**
   * Set when the host's own stack overflowed inside a QuickJS call: the runtime's internals may be
   * half-updated, and disposing it could abort the shared wasm module, so it is abandoned instead
   * (and the module retired, see abandonQuickJS).
   */
  private poisoned = false;
  private disposed = false;
  /** Moved before every call; the interrupt handler reads it. */
  private readonly deadline = { at: 0 };

  constructor(
    private readonly module: QuickJSWASMModule,
    code: string,
    context: MetaContext,
    readonly limits: SandboxLimits,
  ) {
    this.runtime = module.newRuntime();
    applyLimits(this.runtime, limits, this.deadline);
    this.vm = this.runtime.newContext();
    try {
      for (const capability of META_CAPABILITIES) capability.install?.(this.vm, context);
      this.evaluate(PRELUDE, 'sluice-prelude.js', 'loading the sandbox');
      const shims = META_CAPABILITIES.map((capability) => capability.shim(context)).join('\n');
      this.evaluate(`(function (meta) {\n${shims}\n})(globalThis.__sluice.meta = {});`, 'sluice-meta.js', 'setting up meta');
      const sluice = this.vm.getProp(this.vm.global, '__sluice');
      for (const name of ENTRY_POINTS) this.entryPoints.set(name, this.vm.getProp(sluice, name));
      sluice.dispose();
      this.evaluate('delete globalThis.__sluice;', 'sluice-hide.js', 'setting up the sandbox');
      this.loadApp(code);
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  /** Runs the app's module body (CommonJS-wrapped), under the same limits as any call. */
  private loadApp(code: string): void {
    const what = 'loading the app';
    this.armDeadline();
    const body = this.guardHost(what, () => this.vm.evalCode(`(function (module, exports, require) {\n${code}\n})`, 'app.js'));
    if (body.error) throw this.toError(body.error, what);
    const loaded = this.guardHost(what, () => this.vm.callFunction(this.entryPoint('load'), this.vm.undefined, body.value));
    body.value.dispose();
    if (loaded.error) throw this.toError(loaded.error, what);
    loaded.value.dispose();
  }

  private evaluate(source: string, filename: string, what: string): void {
    this.armDeadline();
    const result = this.guardHost(what, () => this.vm.evalCode(source, filename));
    if (result.error) throw this.toError(result.error, what);
    result.value.dispose();
  }

  /** Runs a QuickJS call, turning an overflow of the host's stack into a stack-limit error. */
  private guardHost<T>(fn: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      this.poisoned = true;
      throw new SandboxLimitError('stack', fn, this.limits);
    }
  }

  armDeadline(timeoutMs = this.limits.callTimeoutMs): void {
    this.deadline.at = Date.now() + timeoutMs;
  }

  private entryPoint(name: EntryPoint): QuickJSHandle {
    return this.entryPoints.get(name)!;
  }

  /** Turns a thrown QuickJS value into a SandboxLimitError or an AppError, disposing the handle. */
  toError(handle: QuickJSHandle, fn: string, timeoutMs = this.limits.callTimeoutMs): Error {
    const dumped = this.vm.dump(handle) as { name?: string; message?: string } | string | null;
    handle.dispose();
    // A bare null is what QuickJS throws when it cannot even allocate its "out of memory" error.
    if (dumped === null) return new SandboxLimitError('memory', fn, this.limits);
    const error = typeof dumped === 'object' ? dumped : { message: String(dumped) };
    const limit = limitKindOf(error);
    if (limit) return new SandboxLimitError(limit, fn, { ...this.limits, callTimeoutMs: timeoutMs });
    const message = error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : (error.message ?? 'unknown error');
    return new AppError(message, error.name === 'RetryError');
  }

  /**
   * Calls a prelude entry point with string arguments: one boundary crossing. A string result
   * comes back at once; a promise (async app code) is pumped until it settles or the deadline passes.
   */
  async call(name: EntryPoint, fn: string, args: string[] = [], timeoutMs = this.limits.callTimeoutMs): Promise<string> {
    this.armDeadline(timeoutMs);
    const argHandles = args.map((arg) => this.vm.newString(arg));
    const result = this.guardHost(fn, () => this.vm.callFunction(this.entryPoint(name), this.vm.undefined, ...argHandles));
    for (const handle of argHandles) handle.dispose();
    if (result.error) throw this.toError(result.error, fn, timeoutMs);
    const value = result.value;
    if (this.vm.typeof(value) === 'string') {
      const text = this.vm.getString(value);
      value.dispose();
      return text;
    }
    try {
      return await this.settle(value, fn, timeoutMs);
    } finally {
      value.dispose();
    }
  }

  private async settle(promise: QuickJSHandle, fn: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Host calls settled since the last turn (jobs, later cache/fetch) queue their callbacks:
      // the interrupt deadline covers the whole call, so re-arm it to the call's own deadline.
      this.deadline.at = deadline;
      const jobs = this.guardHost(fn, () => this.runtime.executePendingJobs());
      if (jobs.error) throw this.toError(jobs.error, fn, timeoutMs);
      const state = this.vm.getPromiseState(promise);
      if (state.type === 'fulfilled') {
        const text = this.vm.typeof(state.value) === 'string' ? this.vm.getString(state.value) : '';
        state.value.dispose();
        return text;
      }
      if (state.type === 'rejected') throw this.toError(state.error, fn, timeoutMs);
      if (Date.now() > deadline) throw new SandboxLimitError('time', fn, { ...this.limits, callTimeoutMs: timeoutMs });
      // Waiting on the host (later: cache, fetch): let the event loop settle those promises.
      if (jobs.value === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  capabilities(): AppCapability[] {
    return JSON.parse(this.callSync('capabilities', JSON.stringify(APP_CAPABILITIES))) as AppCapability[];
  }

  private callSync(name: EntryPoint, arg: string): string {
    this.armDeadline();
    const argHandle = this.vm.newString(arg);
    const result = this.guardHost(name, () => this.vm.callFunction(this.entryPoint(name), this.vm.undefined, argHandle));
    argHandle.dispose();
    if (result.error) throw this.toError(result.error, name);
    const text = this.vm.getString(result.value);
    result.value.dispose();
    return text;
  }

  /** Frees the runtime, or abandons it (and retires its wasm module) when that cannot be done safely. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.poisoned) {
      disposePendingHostCalls(this.vm);
      for (const handle of this.entryPoints.values()) handle.dispose();
      this.entryPoints.clear();
      this.vm.dispose();
      try {
        this.runtime.dispose();
      } catch (error) {
        // QuickJS itself leaks references when it runs out of memory inside a promise job (an
        // async processEvent), and its runtime teardown then aborts on a leak assertion. The
        // module survives the abort (checked), but like a host-stack trap the abort skips the
        // C stack restore, so the module is retired the same way.
        if (!isWasmAbort(error)) throw error;
        this.poisoned = true;
      }
    }
    if (this.poisoned) abandonQuickJS(this.module); // its memory is lost; the process goes on
  }
}

/** emscripten's abort(): a WebAssembly.RuntimeError whose message starts with "Aborted(". */
function isWasmAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'RuntimeError' && error.message.startsWith('Aborted(');
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
