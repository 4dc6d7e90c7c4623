/** Every limit an app runs under, in one place. */
export interface SandboxLimits {
  /** CPU time one call may take (a batch of processEvent, one onEvent, setupPlugin). */
  callTimeoutMs: number;
  /** Heap of one app instance's runtime. */
  memoryBytes: number;
  /** Native stack of one runtime: deep recursion fails with a RangeError-like error, not a crash. */
  stackBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  callTimeoutMs: 1000,
  memoryBytes: 64 * 1024 * 1024,
  stackBytes: 1024 * 1024,
};

export function resolveLimits(limits: Partial<SandboxLimits> = {}): SandboxLimits {
  const defined = Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
  return { ...DEFAULT_LIMITS, ...defined };
}

/** A call stopped by a limit: the VM is no longer trustworthy and is rebuilt. */
export class LimitError extends Error {
  override name = 'LimitError';
}

/**
 * Recognises QuickJS's own errors for the limits (interrupt handler, memory limit, stack limit)
 * and says which limit was hit, in words an app author can act on.
 */
export function limitErrorFor(error: { name?: string; message?: string }, fn: string, limits: SandboxLimits): LimitError | undefined {
  const message = error.message ?? '';
  if (error.name === 'InternalError' && message === 'interrupted') {
    return new LimitError(`${fn} exceeded the ${limits.callTimeoutMs} ms time limit`);
  }
  if (message === 'out of memory' || /out of memory/.test(message)) {
    return new LimitError(`${fn} exceeded the ${Math.round(limits.memoryBytes / 1024 / 1024)} MiB memory limit`);
  }
  if (/stack overflow/i.test(message)) {
    return new LimitError(`${fn} exceeded the stack limit (too deep recursion)`);
  }
  return undefined;
}
