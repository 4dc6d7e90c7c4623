/**
 * For app authors: the types an app's functions receive, matching PostHog's plugin API,
 * `RetryError`, and a test harness that runs an app in the real sandbox (harness.ts).
 */
export type { PluginEvent, PluginJson, PluginConfigField, AppConfig as PluginConfig } from '@sluice/core';
import type { AppConfig, PluginEvent } from '@sluice/core';

export interface PluginMeta<Config extends AppConfig = AppConfig, Global = Record<string, unknown>> {
  config: Config;
  global: Global;
  attachments: Record<string, { content_type: string; file_name: string; contents: unknown }>;
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

export { createEvent, createIdentify, createPageview, loadApp, recordingVm, runOnEvent, runProcessEvent, type TestApp } from './harness';
