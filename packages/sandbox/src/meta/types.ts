import type { QuickJSContext } from 'quickjs-emscripten-core';
import type { AppLogEntry } from '@sluice/core';

export interface MetaContext {
  config: Record<string, string>;
  onLog: (entry: AppLogEntry) => void;
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
