import type { QuickJSContext } from 'quickjs-emscripten-core';
import type { AppCache, AppLogEntry, AppStorage } from '@sluice/core';

export type { AppCache, AppStorage };
import type { GuardedFetch } from '../host-fetch';
import type { GeoIpDatabase } from './geoip';
import type { HostHandler } from './host-async';
import type { LazyGroup } from './lazy';

/** A job an app asked for with `meta.jobs.<name>(payload).runAt(…)`. */
export interface JobRequest {
  name: string;
  payload: unknown;
  /** Epoch milliseconds; now or earlier means at once. */
  runAt: number;
}

/** What `posthog.capture(event, properties)` hands the host: one event for the app's project. */
export interface CapturedEvent {
  event: string;
  distinct_id: string;
  properties: Record<string, unknown>;
  timestamp?: string;
}

export interface MetaContext {
  config: Record<string, string>;
  /** The app's name: posthog.capture's default distinct_id, as in PostHog. */
  appName?: string;
  onLog: (entry: AppLogEntry) => void;
  /** Puts a job on the jobs queue; absent where there is none (then meta.jobs fails with a clear error). */
  enqueueJob?: (request: JobRequest) => Promise<void>;
  /** Absent where there is none: meta.cache then fails with a clear error on use. */
  cache?: AppCache;
  /** Absent where there is none: meta.storage then fails with a clear error on use. */
  storage?: AppStorage;
  /** `posthog.capture`: absent where events cannot be captured (then it fails clearly). */
  capture?: (event: CapturedEvent) => Promise<void>;
  /** The instance's guarded fetch (SSRF guard, timeout, size cap); a shared public-only one when absent. */
  fetch?: GuardedFetch;
  /** The process's MaxMind database: absent unless configured (then meta.geoip fails clearly). */
  geoip?: GeoIpDatabase;
  /** `meta.attachments`: the files uploaded for the instance's attachment config fields, by key. */
  attachments?: Record<string, AppAttachmentFile>;
}

/**
 * One uploaded file as `meta.attachments[key]` shows it (PostHog's shape). PostHog's `contents`
 * is a Buffer; here it is a string for text files and a Uint8Array for anything else.
 */
export interface AppAttachmentFile {
  content_type: string;
  file_name: string;
  contents: string | Uint8Array;
}

/**
 * One capability of `meta` or of the app's globals: the host side (functions put on the VM's
 * global object) and the in-VM shim (JavaScript run once after the prelude, with `meta` in scope;
 * the shims' code is in vm/*.js).
 */
export interface MetaCapability {
  name: string;
  install?(vm: QuickJSContext, context: MetaContext): void;
  /**
   * Host work the app awaits, by request name (`onDispose` registers what the VM's disposal must
   * close: a bridge's connections). The shim calls `globalThis.__sluice_channel.request(name,
   * payload)` (see host-async.ts).
   */
  handlers?(context: MetaContext, onDispose: (close: () => void) => void): Record<string, HostHandler>;
  /** The in-VM shim run at every VM's set-up (absent: none). */
  shim?(context: MetaContext): string;
  /**
   * Or the VM side as a lazy group, evaluated only when the app first requires one of its modules
   * (the SDK bridges: most apps use none, and their shims would cost every VM's set-up). Its
   * `shared` holds the host channel's `request` and `both`.
   */
  lazy?: LazyGroup;
}
