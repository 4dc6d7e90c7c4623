import { randomUUID } from 'node:crypto';
import type { AppLogEntry, AppSource, PluginEvent } from '@sluice/core';
import {
  MemoryAppCache,
  MemoryAppStorage,
  applyConfigDefaults,
  compileApp,
  createAppVm,
  readAppFolder,
  type AppVm,
  type AppAttachmentFile,
  type CallResult,
  type CapturedEvent,
  type CompiledApp,
  type HostServices,
  type JobRequest,
} from '@sluice/sandbox';

/** An event as the pipeline hands it to apps; `overrides` replace any field (properties merge). */
export function createEvent(overrides: Partial<PluginEvent> = {}): PluginEvent {
  const now = new Date().toISOString();
  return {
    uuid: randomUUID(),
    event: 'test event',
    distinct_id: 'test-user',
    ip: '127.0.0.1',
    site_url: '',
    team_id: 1,
    now,
    sent_at: now,
    timestamp: now,
    ...overrides,
    properties: { ...overrides.properties },
  };
}

export function createPageview(overrides: Partial<PluginEvent> = {}): PluginEvent {
  return createEvent({ event: '$pageview', ...overrides, properties: { $current_url: 'https://example.com/', ...overrides.properties } });
}

export function createIdentify(overrides: Partial<PluginEvent> = {}): PluginEvent {
  return createEvent({ event: '$identify', ...overrides });
}

export interface TestApp {
  vm: AppVm;
  /** Everything the app logged, in order. */
  logs: AppLogEntry[];
  /** Jobs it enqueued with meta.jobs. */
  jobs: JobRequest[];
  /** Events it sent with posthog.capture. */
  captured: CapturedEvent[];
  /** Its meta.cache and meta.storage, in memory (inspect or preload them in a test). */
  cache: MemoryAppCache;
  storage: MemoryAppStorage;
  dispose(): Promise<void>;
}

export interface RecordingOptions {
  /** Shares a cache between runs (e.g. two loads of the same app); a fresh one by default. */
  cache?: MemoryAppCache;
  storage?: MemoryAppStorage;
  /** The guarded fetch to use; by default public addresses only, as in the pipeline. */
  fetch?: HostServices['fetch'];
  /** meta.attachments: `{key: {content_type, file_name, contents}}` (contents a string for text files). */
  attachments?: Record<string, AppAttachmentFile>;
}

/**
 * An app's VM outside the pipeline, recording what it logs and the jobs it enqueues instead of
 * sending them anywhere (for tests and `sluice dev`). setupPlugin has not run yet.
 */
export async function recordingVm(compiled: CompiledApp, config: Record<string, string>, options: RecordingOptions = {}): Promise<TestApp> {
  const logs: AppLogEntry[] = [];
  const jobs: JobRequest[] = [];
  const captured: CapturedEvent[] = [];
  const cache = options.cache ?? new MemoryAppCache();
  const storage = options.storage ?? new MemoryAppStorage();
  const vm = await createAppVm({
    instanceId: 0,
    name: compiled.pluginJson.name,
    code: compiled.code,
    config,
    onLog: (entry) => logs.push(entry),
    enqueueJob: async (request) => void jobs.push(request),
    ...(options.attachments && { attachments: options.attachments }),
    services: { cache, storage, capture: async (event) => void captured.push(event), ...(options.fetch ? { fetch: options.fetch } : {}) },
  });
  return { vm, logs, jobs, captured, cache, storage, dispose: () => vm.teardown() };
}

/**
 * Loads an app (a folder or its files) into the same QuickJS sandbox the pipeline uses, compiled
 * and configured exactly as an install would (plugin.json defaults, required keys checked), with
 * setupPlugin run. Call dispose() at the end (teardownPlugin).
 */
export async function loadApp(app: string | AppSource, options: { config?: Record<string, string> } & RecordingOptions = {}): Promise<TestApp> {
  const compiled = await compileApp(typeof app === 'string' ? await readAppFolder(app) : app);
  const loaded = await recordingVm(compiled, applyConfigDefaults(compiled.pluginJson, options.config ?? {}), options);
  await loaded.vm.setup();
  return loaded;
}

/** Runs processEvent on one event: the event it returns, or null when it drops it; an error throws. */
export async function runProcessEvent(app: TestApp, event: PluginEvent): Promise<PluginEvent | null> {
  const [outcome] = await app.vm.processEventBatch([event]);
  if (!outcome) throw new Error('processEvent gave no outcome');
  if (outcome.status === 'error') throw new Error(outcome.error);
  return outcome.status === 'dropped' ? null : outcome.event;
}

/** Runs onEvent: `{ok: true}`, or the error and whether it asked for a retry (RetryError). */
export function runOnEvent(app: TestApp, event: PluginEvent): Promise<CallResult> {
  return app.vm.onEvent(event);
}
