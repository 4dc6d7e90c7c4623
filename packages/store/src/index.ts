import type { ErrorGroup, ErrorGroupInput, HourCounts, MinuteCounts } from './app-activity';
import type {
  AppConfig,
  AppInstance,
  AppLogEntry,
  AppRecord,
  InstanceSettings,
  PluginEvent,
  Project,
  StoredEvent,
} from '@sluice/core';
import type { AppAttachment, AppAttachmentInfo } from './attachments';
import type { Backfill, BackfillCheckpoint, BackfillInput } from './backfills';
import type { IngestionWarning, IngestionWarningInput } from './ingestion-warnings';
import type { DeadLetter, DeadLetterInput } from './dead-letters';
import type { EventFilter, LogFilter, StoredLogEntry } from './events';
import { createPGliteSql } from './pglite';
import { createPostgresSql } from './postgres';
import { SqlStore } from './sql-store';

export interface Store {
  readonly kind: 'postgres' | 'pglite';
  /** Idempotent; on Postgres serialized across processes by an advisory lock. */
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  /** Sets the value only if the key has none; returns what is stored (for values generated once, like tokens). */
  claimSetting(key: string, value: string): Promise<string>;
  listProjects(): Promise<Project[]>;
  getProject(id: string): Promise<Project | null>;
  getProjectByToken(token: string): Promise<Project | null>;
  createProject(input: { id: string; name: string; token: string }): Promise<Project>;
  /** Null when there is no such project. */
  updateProject(id: string, changes: { name?: string; anonymizeIps?: boolean }): Promise<Project | null>;
  /** A new token for the project (the old one stops working); null when there is no such project. */
  setProjectToken(id: string, token: string): Promise<Project | null>;
  /** The project and all its data (events, app instances, logs, dead letters), in one transaction. */
  deleteProject(id: string): Promise<boolean>;
  /** When an app with the same versionHash is already stored, returns that one. */
  saveApp(input: Omit<AppRecord, 'id' | 'createdAt'>): Promise<AppRecord>;
  getApp(id: number): Promise<AppRecord | null>;
  listApps(): Promise<AppRecord[]>;
  /** order defaults to max(order)+1 within the project (1 for the first); enabled defaults to true. */
  createInstance(input: {
    projectId: string;
    appId: number;
    config: AppConfig;
    order?: number;
    enabled?: boolean;
    settings?: InstanceSettings;
  }): Promise<AppInstance>;
  getInstance(id: number): Promise<AppInstance | null>;
  /** Ordered by order, then id. */
  listInstances(projectId: string): Promise<AppInstance[]>;
  listAllInstances(): Promise<AppInstance[]>;
  /**
   * Changes only the fields given; returns the instance as getInstance would, or null when no
   * such instance in that project.
   */
  updateInstance(
    projectId: string,
    id: number,
    changes: { enabled?: boolean; config?: AppConfig; appId?: number; settings?: InstanceSettings },
  ): Promise<AppInstance | null>;
  /** meta.storage: the JSON text stored under the instance's key, or null. */
  getAppStorage(instanceId: number, key: string): Promise<string | null>;
  setAppStorage(instanceId: number, key: string, value: string): Promise<void>;
  deleteAppStorage(instanceId: number, key: string): Promise<void>;
  /**
   * In one transaction sets each instance's order to its position (1-based) in `instanceIds`,
   * then returns listInstances(projectId). Throws StoreInputError, changing nothing, unless the
   * list holds each of the project's instance ids exactly once.
   */
  setInstanceOrder(projectId: string, instanceIds: number[]): Promise<AppInstance[]>;
  /**
   * Deletes an app version. While instances use it a StoreInputError says which, unless `force`
   * removes them too (with their logs and dead letters); answers the projects that lost instances.
   */
  deleteApp(id: number, options?: { force?: boolean }): Promise<{ deleted: boolean; projects: string[] }>;
  /**
   * Stores or replaces an instance's attachment (a config field of type "attachment") and bumps its
   * attachmentsVersion; false when no such instance in that project.
   */
  setAttachment(projectId: string, instanceId: number, file: { key: string; contentType: string; fileName: string; contents: Uint8Array }): Promise<boolean>;
  /** False when the instance had no attachment under that key. */
  deleteAttachment(projectId: string, instanceId: number, key: string): Promise<boolean>;
  /** With their contents (what meta.attachments is made of). */
  listAttachments(instanceId: number): Promise<AppAttachment[]>;
  /** Without their contents (what the admin API lists). */
  listAttachmentInfo(instanceId: number): Promise<AppAttachmentInfo[]>;
  /** Also deletes the instance's logs and dead letters. False when no such instance in that project. */
  deleteInstance(projectId: string, id: number): Promise<boolean>;
  /** Idempotent by uuid; returns the number of rows actually inserted. */
  insertEvents(projectId: string, events: PluginEvent[]): Promise<number>;
  /** Newest first (timestamp desc, uuid desc). */
  /** Newest first (timestamp desc, uuid desc), filtered and paged (EventFilter). */
  listEvents(projectId: string, filter: EventFilter): Promise<StoredEvent[]>;
  countEvents(projectId: string): Promise<number>;
  /** Adds counts to instances' minutes (the console's metrics over time); rows of removed instances are skipped. */
  addMinuteCounts(rows: MinuteCounts[]): Promise<void>;
  /** An instance's counts per hour since `from`, oldest first. */
  listHourCounts(instanceId: number, from: string): Promise<HourCounts[]>;
  /** Adds error groups (by instance and fingerprint): counts add, the first sample stays. */
  addErrorGroups(groups: ErrorGroupInput[]): Promise<void>;
  /** Most recently seen first. */
  listErrorGroups(instanceId: number, limit: number): Promise<ErrorGroup[]>;
  /** Deletes minutes and error groups older than `before`. */
  pruneActivity(before: string): Promise<number>;
  appendLogs(entries: Array<AppLogEntry & { instanceId: number; projectId: string }>): Promise<void>;
  /** Newest first. */
  listLogs(instanceId: number, filter: LogFilter): Promise<StoredLogEntry[]>;
  /**
   * All entries in one transaction, keeping their order in the ids. Entries whose instance no
   * longer exists in their project (deleted while the delivery was retried) are dropped, as
   * appendLogs drops such lines.
   */
  addDeadLetters(entries: DeadLetterInput[]): Promise<void>;
  /** Oldest first (id asc); with afterId, only ids above it (for paging). `ids: []` matches none. */
  listDeadLetters(
    projectId: string,
    options: { instanceId?: number; ids?: number[]; limit: number; afterId?: number },
  ): Promise<DeadLetter[]>;
  countDeadLetters(projectId: string, options: { instanceId?: number; ids?: number[] }): Promise<number>;
  /** Deletes those of `ids` that belong to the project; returns how many were deleted. */
  deleteDeadLetters(projectId: string, ids: number[]): Promise<number>;
  /** Starts a backfill (state running, total counted); null when the instance already has a running one. */
  createBackfill(input: BackfillInput): Promise<Backfill | null>;
  getBackfill(id: number): Promise<Backfill | null>;
  /** An instance's backfills, newest first. */
  listBackfills(instanceId: number): Promise<Backfill[]>;
  /** Every running backfill, of every project (what runners take on). */
  listRunningBackfills(): Promise<Backfill[]>;
  /** Cancels it if running; the backfill as it now is, or null when that instance has no such backfill. */
  cancelBackfill(instanceId: number, id: number): Promise<Backfill | null>;
  /** The next events of a backfill after its checkpoint, oldest first (timestamp, uuid). */
  backfillSlice(backfill: Backfill, limit: number): Promise<StoredEvent[]>;
  /** Moves the checkpoint past a delivered slice; false when the backfill is no longer running. */
  advanceBackfill(id: number, step: { checkpoint: BackfillCheckpoint; delivered: number; eventsPerSecond: number }): Promise<boolean>;
  /** Ends a running backfill (done: total becomes done); false when it was not running. */
  finishBackfill(id: number, state: 'done' | 'failed', error?: string): Promise<boolean>;
  /** Records an ingestion warning unless that project, type and key has one this hour; whether it was written. */
  addIngestionWarning(warning: IngestionWarningInput): Promise<boolean>;
  /** A project's ingestion warnings, newest first. */
  listIngestionWarnings(projectId: string, limit: number): Promise<IngestionWarning[]>;
}

export interface StoreOptions {
  /** Postgres connection string; when absent, the embedded PGlite is used. */
  databaseUrl?: string;
  /** PGlite data directory (created if missing); in memory when undefined. */
  dataDir?: string;
  /** Postgres only: the schema holding the tables, created if missing. */
  schema?: string;
}

/** Opens the store and brings its schema up to date before returning. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const sql = options.databaseUrl
    ? createPostgresSql({ databaseUrl: options.databaseUrl, ...(options.schema ? { schema: options.schema } : {}) })
    : await createPGliteSql(options.dataDir);
  const store = new SqlStore(sql, options.databaseUrl ? options.schema : undefined);
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}

export type { AppAttachment, AppAttachmentInfo } from './attachments';
export type { DeadLetter, DeadLetterInput } from './dead-letters';
export type { Backfill, BackfillCheckpoint, BackfillInput, BackfillState } from './backfills';
export type { IngestionWarning, IngestionWarningInput } from './ingestion-warnings';
export { StoreInputError } from './errors';
export { MIGRATIONS } from './migrations';
export { ACTIVITY_COUNTS, type ActivityCount, type ActivityCounts, type ErrorGroup, type ErrorGroupInput, type HourCounts, type MinuteCounts } from './app-activity';
export type { EventFilter, LogFilter, StoredLogEntry } from './events';
export { createTestStore, pgliteTemplateDir } from './testing';
export * from './log-sink';
