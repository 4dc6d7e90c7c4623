import type { QuickJSContext } from 'quickjs-emscripten-core';
import type { AppLogEntry } from '@sluice/core';

/** A job an app asked for with `meta.jobs.<name>(payload).runAt(…)`. */
export interface JobRequest {
  name: string;
  payload: unknown;
  /** Epoch milliseconds; now or earlier means at once. */
  runAt: number;
}

export interface MetaContext {
  config: Record<string, string>;
  onLog: (entry: AppLogEntry) => void;
  /** Puts a job on the jobs queue; absent where there is none (then meta.jobs fails with a clear error). */
  enqueueJob?: (request: JobRequest) => Promise<void>;
}

/**
 * One capability of `meta` or of the app's globals: the host side (functions put on the VM's
 * global object) and the in-VM shim (JavaScript run once after the prelude, with `meta` in scope).
 */
export interface MetaCapability {
  name: string;
  install?(vm: QuickJSContext, context: MetaContext): void;
  shim(context: MetaContext): string;
}
