import type { PluginEvent } from './event';
import type { ProcessEventErrors } from './outcomes';
/** The files of an app, by name (`plugin.json`, `index.js` or `index.ts`, and any file they import). */
export type AppSource = Record<string, string>;

export type ConfigFieldType = 'string' | 'json' | 'attachment' | 'choice';

/**
 * PostHog's field conditions: `[[key, value], …]`, every pair must hold — the other field equals
 * `value`, or, with no value given, is set at all.
 */
export type ConfigCondition = Array<[string, string | null | undefined] | [string]>;

/** One entry of plugin.json's `config` array (an entry with only `markdown` is display text). */
export interface PluginConfigField {
  key?: string;
  name?: string;
  type?: ConfigFieldType;
  default?: string;
  hint?: string;
  markdown?: string;
  required?: boolean;
  secret?: boolean;
  choices?: string[];
  /** Required when these conditions hold (PostHog's `required_if`). */
  required_if?: ConfigCondition;
  /** Shown only when these conditions hold (PostHog's `visible_if`). */
  visible_if?: ConfigCondition;
}

export interface PluginJson {
  name: string;
  description?: string;
  url?: string;
  main?: string;
  config?: PluginConfigField[];
  [key: string]: unknown;
}

/** Exported functions that give an app its role in the pipeline. */
export const APP_CAPABILITIES = [
  'setupPlugin',
  'teardownPlugin',
  'processEvent',
  'processEventBatch',
  'onEvent',
  'exportEvents',
  'runEveryMinute',
  'runEveryHour',
  'runEveryDay',
  'jobs',
  'getSettings',
] as const;
export type AppCapability = (typeof APP_CAPABILITIES)[number];

export type AppConfig = Record<string, string>;

/** An installed app: one version of its source, compiled once at install. */
export interface AppRecord {
  id: number;
  name: string;
  /** sha256 of the source files: the app's version. */
  versionHash: string;
  pluginJson: PluginJson;
  source: AppSource;
  /** The compiled bundle (CommonJS, one file) that the sandbox evaluates. */
  code: string;
  capabilities: AppCapability[];
  createdAt: string;
}

/** An app enabled for a project (PostHog calls it a plugin config). */
export interface AppInstance {
  id: number;
  projectId: string;
  appId: number;
  name: string;
  capabilities: AppCapability[];
  order: number;
  enabled: boolean;
  config: AppConfig;
  /** How Sluice runs the instance (limits, error handling), apart from the app's own config. */
  settings: InstanceSettings;
  /** Counts changes to the instance's attachments (absent until the first upload): a change reloads its VMs. */
  attachmentsVersion?: number;
}

/**
 * Per-instance runtime settings, set through the admin API. Absent fields take the process's
 * defaults (SLUICE_APP_* environment variables).
 */
export interface InstanceSettings {
  /**
   * What happens to an event whose processEvent throws: PostHog's behaviour ("continue": it goes
   * on down the chain as it stood) or "drop".
   */
  processEventErrors?: ProcessEventErrors;
  /** Sandbox limits of this instance (see the sandbox's SandboxLimits). */
  limits?: { callTimeoutMs?: number; jobTimeoutMs?: number; hostWaitTimeoutMs?: number; memoryBytes?: number; stackBytes?: number };
}

export type AppLogLevel = 'debug' | 'log' | 'info' | 'warn' | 'error';

export interface AppLogEntry {
  timestamp: string;
  level: AppLogLevel;
  message: string;
}

/** An app instance as the admin API shows it (GET /api/projects/:id/apps). */
export interface InstanceView {
  id: number;
  appId: number;
  name: string;
  capabilities: string[];
  order: number;
  enabled: boolean;
}

/** Where services report an app's errors (grouped over time for the console). */
export interface AppErrorSink {
  recordError(instanceId: number, message: string, event?: PluginEvent): void;
}

/** Whether an app is a processEvent stage. */
export function isStage(capabilities: readonly AppCapability[]): boolean {
  return capabilities.includes('processEvent') || capabilities.includes('processEventBatch');
}

/** Whether an app receives stored events in the runner. */
export function isDestination(capabilities: readonly AppCapability[]): boolean {
  return capabilities.includes('onEvent') || capabilities.includes('exportEvents');
}

/** The functions through which a destination receives stored events. */
export type DeliveryFunction = 'onEvent' | 'exportEvents';

/** The scheduled functions an app may export; the runner's job schedulers call them. */
export const SCHEDULED_FUNCTIONS = ['runEveryMinute', 'runEveryHour', 'runEveryDay'] as const;
export type ScheduledFunction = (typeof SCHEDULED_FUNCTIONS)[number];
