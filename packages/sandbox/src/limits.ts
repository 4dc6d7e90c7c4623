import type { QuickJSRuntime } from 'quickjs-emscripten-core';

export interface SandboxLimits {
  /**
   * The app's own running time in one call (a batch, an onEvent, setupPlugin…): the VM running,
   * synchronous host functions included. Waiting on the host calls it awaits (fetch, cache,
   * storage, the SDK bridges) is not counted here but against `hostWaitTimeoutMs`.
   */
  callTimeoutMs: number;
  /** The same for one job or scheduled run (runEvery*): longer, as jobs do the slow work apps defer. */
  jobTimeoutMs: number;
  /**
   * How long one call may take in all while it awaits host calls (PostHog's 30 s per call): a
   * database or warehouse across the internet may take seconds, where the app's own code may not.
   */
  hostWaitTimeoutMs: number;
  /** Heap of one app instance's runtime. */
  memoryBytes: number;
  /** Interpreter stack of one app instance's runtime. */
  stackBytes: number;
  /**
   * How long an instance stays suspended after a call overran its time limit by far (QuickJS
   * could not stop it in time): its calls then fail at once instead of blocking the worker again.
   */
  overrunSuspendMs: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  callTimeoutMs: 1000,
  jobTimeoutMs: 30_000,
  hostWaitTimeoutMs: 30_000,
  memoryBytes: 64 * 1024 * 1024,
  // QuickJS's C stack lives on the host's (V8's) stack: a larger limit lets deep recursion
  // overflow the host first (a RangeError out of the wasm call), so stay well below ~1 MiB.
  stackBytes: 256 * 1024,
  overrunSuspendMs: 60_000,
};

export function resolveLimits(limits?: Partial<SandboxLimits>): SandboxLimits {
  return { ...DEFAULT_LIMITS, ...stripUndefined(limits ?? {}) };
}

function stripUndefined(limits: Partial<SandboxLimits>): Partial<SandboxLimits> {
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
}

/**
 * Enforces the limits on a runtime. The interrupt handler reads a deadline the caller moves
 * before every call (`deadline.at`), so arming a call costs one assignment, not a new closure.
 */
export function applyLimits(runtime: QuickJSRuntime, limits: SandboxLimits, deadline: { at: number }): void {
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(limits.stackBytes);
  runtime.setInterruptHandler(() => Date.now() > deadline.at);
}

export type LimitKind = 'time' | 'memory' | 'stack';

/** A call stopped by a sandbox limit: the VM's state can no longer be trusted and is recreated. */
export class SandboxLimitError extends Error {
  override name = 'SandboxLimitError';
  /** The time limit of the call that failed (whatever limit it hit). */
  readonly timeLimitMs: number;
  /** How long the app's own code ran in the call, as the realm measured it (waits on the host not counted). */
  ranMs: number | undefined;
  constructor(
    readonly kind: LimitKind,
    readonly call: string,
    limits: SandboxLimits,
  ) {
    super(`${call} exceeded the ${describeLimit(kind, limits)} limit`);
    this.timeLimitMs = limits.callTimeoutMs;
  }
}

/**
 * Whether a call that hit a limit after `elapsedMs` ran far past its time limit (see
 * overrunSuspendMs): by the app's own running time where the realm measured it, so a call that
 * waited long on the host is not taken for one QuickJS could not stop.
 */
export function overranTimeLimit(error: SandboxLimitError, elapsedMs: number): boolean {
  return (error.ranMs ?? elapsedMs) > 2 * error.timeLimitMs + 100;
}

function describeLimit(kind: LimitKind, limits: SandboxLimits): string {
  if (kind === 'time') return `${limits.callTimeoutMs} ms time`;
  if (kind === 'memory') return `${formatBytes(limits.memoryBytes)} memory`;
  return `${formatBytes(limits.stackBytes)} stack`;
}

function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Which limit (if any) an error thrown by QuickJS stands for, from its name and message. */
export function limitKindOf(error: { name?: unknown; message?: unknown }): LimitKind | undefined {
  // Under memory pressure QuickJS may hand back the error already as a string ("InternalError: out of memory").
  const message = (typeof error.message === 'string' ? error.message : '').replace(/^InternalError: /, '');
  if (message === 'interrupted') return 'time';
  if (message === 'out of memory') return 'memory';
  if (message === 'stack overflow' || message.startsWith('Maximum call stack size exceeded')) return 'stack';
  return undefined;
}
