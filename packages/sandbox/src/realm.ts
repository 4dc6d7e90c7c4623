import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';
import { APP_CAPABILITIES, type AppCapability } from '@sluice/core';
import { SandboxLimitError, applyLimits, limitKindOf, type SandboxLimits } from './limits';
import { CHANNEL_SHIM, HostChannel, META_CAPABILITIES, type HostHandler, type MetaContext } from './meta';
import { newStringFromParts } from './fast-strings';
import { PRELUDE } from './prelude';
import { abandonQuickJS } from './quickjs';

/** The prelude's functions the host calls. */
const ENTRY_POINTS = ['load', 'capabilities', 'call', 'processBatch', 'onEvent', 'onEventBatch', 'exportEvents', 'runJob'] as const;
export type EntryPoint = (typeof ENTRY_POINTS)[number];

/** Whether an app call failed with PostHog's RetryError (the app asks to be called again later). */
export function isRetryError(error: unknown): boolean {
  return error instanceof AppError && error.retry;
}

/** An error the app threw (as opposed to a limit the host enforced). */
export class AppError extends Error {
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
export class Realm {
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
  /** What the capabilities hold outside the VM (a bridge's connections), closed with it. */
  private readonly closers: Array<() => void> = [];
  /** Moved before every entry into the VM; the interrupt handler reads it. */
  private readonly deadline = { at: 0 };
  /** The current call's running time left: each entry into the VM spends from it (see guardHost). */
  private runningLeftMs = 0;
  /** The app's awaited host calls (cache, storage, fetch, jobs…): see meta/host-async.ts. */
  private readonly channel: HostChannel;
  private channelTake: QuickJSHandle | undefined;
  private channelDeliver: QuickJSHandle | undefined;

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
      const handlers = new Map<string, HostHandler>();
      for (const capability of META_CAPABILITIES) {
        for (const [name, handler] of Object.entries(capability.handlers?.(context, (close) => this.closers.push(close)) ?? {})) handlers.set(name, handler);
      }
      this.channel = new HostChannel(this.vm, handlers);
      this.evaluate(PRELUDE, 'sluice-prelude.js', 'loading the sandbox');
      this.evaluate(CHANNEL_SHIM, 'sluice-channel.js', 'loading the sandbox');
      const shims = META_CAPABILITIES.map((capability) => capability.shim?.(context) ?? '').join('\n');
      this.evaluate(`(function (meta) {\n${shims}\n})(globalThis.__sluice.meta = {});`, 'sluice-meta.js', 'setting up meta');
      const sluice = this.vm.getProp(this.vm.global, '__sluice');
      for (const name of ENTRY_POINTS) this.entryPoints.set(name, this.vm.getProp(sluice, name));
      sluice.dispose();
      const channel = this.vm.getProp(this.vm.global, '__sluice_channel');
      this.channelTake = this.vm.getProp(channel, 'take');
      this.channelDeliver = this.vm.getProp(channel, 'deliver');
      channel.dispose();
      this.evaluate('delete globalThis.__sluice; delete globalThis.__sluice_channel;', 'sluice-hide.js', 'setting up the sandbox');
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

  /**
   * Runs a QuickJS call (an entry into the VM), turning an overflow of the host's stack into a
   * stack-limit error. The time it takes is spent from the call's running time: the interrupt
   * deadline is what is left of it, so waits on the host between entries are not counted.
   */
  private guardHost<T>(fn: string, work: () => T): T {
    const started = Date.now();
    this.deadline.at = started + this.runningLeftMs;
    try {
      return work();
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      this.poisoned = true;
      throw new SandboxLimitError('stack', fn, this.limits);
    } finally {
      this.runningLeftMs -= Date.now() - started;
    }
  }

  /** Starts a call's running-time budget. */
  armDeadline(timeoutMs = this.limits.callTimeoutMs): void {
    this.runningLeftMs = timeoutMs;
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
  async call(name: EntryPoint, fn: string, args: (string | readonly string[])[] = [], timeoutMs = this.limits.callTimeoutMs): Promise<string> {
    try {
      return await this.callArmed(name, fn, args, timeoutMs);
    } catch (error) {
      if (error instanceof SandboxLimitError) error.ranMs ??= timeoutMs - this.runningLeftMs;
      throw error;
    }
  }

  private async callArmed(name: EntryPoint, fn: string, args: (string | readonly string[])[], timeoutMs: number): Promise<string> {
    this.armDeadline(timeoutMs);
    // Results of host calls an earlier call did not wait for (a cache.set not awaited) go in first.
    if (this.deliverSettled(fn)) this.runJobs(fn, timeoutMs);
    // An argument given as parts arrives as one string, written into the VM part by part (fast-strings.ts).
    const argHandles = args.map((arg) => (typeof arg === 'string' ? this.vm.newString(arg) : newStringFromParts(this.module, this.vm, arg)));
    const result = this.guardHost(fn, () => this.vm.callFunction(this.entryPoint(name), this.vm.undefined, ...argHandles));
    for (const handle of argHandles) handle.dispose();
    if (result.error) throw this.toError(result.error, fn, timeoutMs);
    const value = result.value;
    if (this.vm.typeof(value) === 'string') {
      const text = this.vm.getString(value);
      value.dispose();
      this.dispatchRequests(fn); // what a synchronous app started without awaiting still runs
      return text;
    }
    try {
      return await this.settle(value, fn, timeoutMs);
    } finally {
      value.dispose();
    }
  }

  /** Runs the VM's pending promise jobs; answers how many ran. */
  private runJobs(fn: string, timeoutMs: number): number {
    const jobs = this.guardHost(fn, () => this.runtime.executePendingJobs());
    if (jobs.error) throw this.toError(jobs.error, fn, timeoutMs);
    return jobs.value;
  }

  /** Starts the host calls the app queued (one crossing to take them all). */
  private dispatchRequests(fn: string): void {
    this.channel.dispatch(() => this.callChannel(this.channelTake!, fn));
  }

  /** Hands the settled host calls' results to the VM (one crossing); false when there were none. */
  private deliverSettled(fn: string): boolean {
    return this.channel.deliver((json) => void this.callChannel(this.channelDeliver!, fn, json));
  }

  private callChannel(handle: QuickJSHandle, fn: string, arg?: string): string {
    const argHandle = arg === undefined ? undefined : this.vm.newString(arg);
    const result = this.guardHost(fn, () => this.vm.callFunction(handle, this.vm.undefined, ...(argHandle ? [argHandle] : [])));
    argHandle?.dispose();
    if (result.error) throw this.toError(result.error, fn);
    const text = this.vm.typeof(result.value) === 'string' ? this.vm.getString(result.value) : '';
    result.value.dispose();
    return text;
  }

  /**
   * Pumps an async call until its promise settles: VM jobs run, the host calls they queue start
   * (together), their results go back in one crossing as they settle, and while the VM waits on
   * the host the call sleeps until a result arrives. The app's running time is limited by
   * `timeoutMs` (spent in guardHost); waiting on host calls in flight by `hostWaitTimeoutMs` for
   * the whole call. A wait with nothing in flight can only end by the time limit: it is charged
   * to the running time, as before there were host calls.
   */
  private async settle(promise: QuickJSHandle, fn: string, timeoutMs: number): Promise<string> {
    const waitLimitMs = Math.max(timeoutMs, this.limits.hostWaitTimeoutMs);
    const waitDeadline = Date.now() + waitLimitMs;
    for (;;) {
      const ran = this.runJobs(fn, timeoutMs);
      const state = this.vm.getPromiseState(promise);
      if (state.type === 'fulfilled') {
        const text = this.vm.typeof(state.value) === 'string' ? this.vm.getString(state.value) : '';
        state.value.dispose();
        this.dispatchRequests(fn);
        return text;
      }
      if (state.type === 'rejected') throw this.toError(state.error, fn, timeoutMs);
      this.dispatchRequests(fn);
      if (this.deliverSettled(fn) || ran > 0) continue;
      if (this.runningLeftMs <= 0) throw new SandboxLimitError('time', fn, { ...this.limits, callTimeoutMs: timeoutMs });
      if (!this.channel.hasInFlight()) {
        const waited = Date.now();
        await this.channel.waitForResult(this.runningLeftMs);
        this.runningLeftMs -= Date.now() - waited;
        continue;
      }
      const left = waitDeadline - Date.now();
      if (left <= 0) throw new SandboxLimitError('time', fn, { ...this.limits, callTimeoutMs: waitLimitMs });
      await this.channel.waitForResult(left);
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
    for (const close of this.closers.splice(0)) {
      try {
        close();
      } catch {
        // one capability failing to close must not keep the others (or the VM) open
      }
    }
    if (!this.poisoned) {
      this.channelTake?.dispose();
      this.channelDeliver?.dispose();
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
