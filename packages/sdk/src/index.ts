/**
 * For app authors: the types an app's functions receive, matching PostHog's plugin API,
 * `RetryError`, and a test harness that runs an app in the real sandbox (harness.ts).
 */
export type { PluginEvent, PluginJson, PluginConfigField, AppConfig as PluginConfig } from '@sluice/core';
import type { AppConfig, PluginEvent } from '@sluice/core';

/** `meta.cache`: Redis in the pipeline, per instance; values JSON-encoded unless `jsonSerialize: false`. */
export interface CacheExtension {
  set(key: string, value: unknown, ttlSeconds?: number, options?: { jsonSerialize?: boolean }): Promise<void>;
  get(key: string, defaultValue: unknown, options?: { jsonSerialize?: boolean }): Promise<unknown>;
  incr(key: string): Promise<number>;
  expire(key: string, ttlSeconds: number): Promise<boolean>;
  lpush(key: string, elementOrArray: unknown[] | unknown): Promise<number>;
  lrange(key: string, startIndex: number, endIndex: number): Promise<string[]>;
  llen(key: string): Promise<number>;
  lrem(key: string, count: number, elementKey: string): Promise<number>;
  lpop(key: string, count?: number): Promise<string[]>;
}

/** `meta.storage`: persistent (Postgres) per instance; values JSON-encoded. */
export interface StorageExtension {
  get(key: string, defaultValue: unknown): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
}

export interface PluginMeta<Config extends AppConfig = AppConfig, Global = Record<string, unknown>> {
  config: Config;
  global: Global;
  attachments: Record<string, { content_type: string; file_name: string; contents: unknown }>;
  cache: CacheExtension;
  storage: StorageExtension;
  /** `meta.jobs.<name>(payload).runNow() | runIn(n, unit) | runAt(date)` (only inside the sandbox). */
  jobs?: Record<string, (payload?: unknown) => { runNow(): Promise<void>; runIn(n: number, unit: string): Promise<void>; runAt(date: Date | string | number): Promise<void> }>;
  /** Only where a MaxMind database is configured (SLUICE_GEOIP_DB). */
  geoip?: { locate(ip: string): Promise<Record<string, unknown> | null> };
  utils?: { cursor: { init(key: string, initialValue?: number): Promise<void>; increment(key: string, incrementBy?: number): Promise<number> } };
}

export interface Plugin<Config extends AppConfig = AppConfig> {
  setupPlugin?: (meta: PluginMeta<Config>) => void | Promise<void>;
  teardownPlugin?: (meta: PluginMeta<Config>) => void | Promise<void>;
  processEvent?: (event: PluginEvent, meta: PluginMeta<Config>) => PluginEvent | null | undefined | Promise<PluginEvent | null | undefined>;
  onEvent?: (event: PluginEvent, meta: PluginMeta<Config>) => void | Promise<void>;
}

/** Thrown by onEvent/exportEvents/setupPlugin to ask for a retry (PostHog's semantics). */
export class RetryError extends Error {
  override name = 'RetryError';
}

export {
  createEvent,
  createIdentify,
  createPageview,
  loadApp,
  recordingVm,
  runOnEvent,
  runProcessEvent,
  type RecordingOptions,
  type TestApp,
} from './harness';
export { createCache, createStorage, getMeta, resetMeta } from './scaffold-meta';
export { MemoryAppCache, MemoryAppStorage } from '@sluice/sandbox';
export { RecordingFetch, type RecordedFetch } from './recording-fetch';
