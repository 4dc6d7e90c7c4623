import type { AppConfig, AppLogEntry, AppRecord, InstanceSettings, PluginEvent } from '@sluice/core';
import * as activity from './app-activity';
import type { ErrorGroupInput, MinuteCounts } from './app-activity';
import * as appStorage from './app-storage';
import * as apps from './apps';
import * as attachments from './attachments';
import * as backfills from './backfills';
import * as warnings from './ingestion-warnings';
import type { IngestionWarningInput } from './ingestion-warnings';
import type { Backfill, BackfillCheckpoint, BackfillInput } from './backfills';
import * as deadLetters from './dead-letters';
import { StoreInputError } from './errors';
import type { DeadLetterFilter, DeadLetterInput } from './dead-letters';
import * as events from './events';
import type { Store } from './index';
import { migrate } from './migrations';
import * as projects from './projects';
import type { Sql } from './sql';

/** The Store, written once over the `Sql` seam; only the driver differs between backends. */
export class SqlStore implements Store {
  readonly kind: 'postgres' | 'pglite';

  constructor(
    private readonly sql: Sql,
    private readonly schema?: string,
  ) {
    this.kind = sql.kind;
  }

  migrate(): Promise<void> {
    return migrate(this.sql, this.schema);
  }

  async ping(): Promise<void> {
    await this.sql.query('SELECT 1');
  }

  close(): Promise<void> {
    return this.sql.close();
  }

  getSetting(key: string) {
    return projects.getSetting(this.sql, key);
  }
  setSetting(key: string, value: string) {
    return projects.setSetting(this.sql, key, value);
  }
  claimSetting(key: string, value: string) {
    return projects.claimSetting(this.sql, key, value);
  }

  listProjects() {
    return projects.listProjects(this.sql);
  }
  getProject(id: string) {
    return projects.getProject(this.sql, id);
  }
  getProjectByToken(token: string) {
    return projects.getProjectByToken(this.sql, token);
  }
  createProject(input: { id: string; name: string; token: string }) {
    return projects.createProject(this.sql, input);
  }

  updateProject(id: string, changes: { name?: string; anonymizeIps?: boolean }) {
    return projects.updateProject(this.sql, id, changes);
  }

  setProjectToken(id: string, token: string) {
    return projects.setProjectToken(this.sql, id, token);
  }

  deleteProject(id: string) {
    return this.sql.transaction((tx) => projects.deleteProject(tx, id));
  }

  saveApp(input: Omit<AppRecord, 'id' | 'createdAt'>) {
    return apps.saveApp(this.sql, input);
  }
  getApp(id: number) {
    return apps.getApp(this.sql, id);
  }
  listApps() {
    return apps.listApps(this.sql);
  }

  createInstance(input: { projectId: string; appId: number; config: AppConfig; order?: number; enabled?: boolean; settings?: InstanceSettings }) {
    return apps.createInstance(this.sql, input);
  }
  getInstance(id: number) {
    return apps.getInstance(this.sql, id);
  }
  listInstances(projectId: string) {
    return apps.listInstances(this.sql, projectId);
  }
  listAllInstances() {
    return apps.listAllInstances(this.sql);
  }
  updateInstance(projectId: string, id: number, changes: { enabled?: boolean; config?: AppConfig; appId?: number; settings?: InstanceSettings }) {
    return apps.updateInstance(this.sql, projectId, id, changes);
  }
  getAppStorage(instanceId: number, key: string) {
    return appStorage.getAppStorage(this.sql, instanceId, key);
  }
  setAppStorage(instanceId: number, key: string, value: string) {
    return appStorage.setAppStorage(this.sql, instanceId, key, value);
  }
  deleteAppStorage(instanceId: number, key: string) {
    return appStorage.deleteAppStorage(this.sql, instanceId, key);
  }
  setInstanceOrder(projectId: string, instanceIds: number[]) {
    return this.sql.transaction((tx) => apps.setInstanceOrder(tx, projectId, instanceIds));
  }
  deleteApp(id: number, options: { force?: boolean } = {}) {
    return this.sql.transaction(async (tx) => {
      const instances = await apps.instancesOfApp(tx, id);
      if (instances.length > 0 && !options.force) {
        throw new StoreInputError(`app ${id} is used by ${instances.length} instance(s): ${instances.map((i) => `${i.projectId}/${i.id}`).join(', ')}`);
      }
      for (const instance of instances) {
        await apps.deleteInstance(tx, instance.projectId, instance.id);
        await deadLetters.deleteInstanceDeadLetters(tx, instance.projectId, instance.id);
      }
      return { deleted: await apps.deleteApp(tx, id), projects: [...new Set(instances.map((i) => i.projectId))] };
    });
  }

  setAttachment(projectId: string, instanceId: number, file: { key: string; contentType: string; fileName: string; contents: Uint8Array }) {
    return this.sql.transaction((tx) => attachments.setAttachment(tx, projectId, instanceId, file));
  }
  deleteAttachment(projectId: string, instanceId: number, key: string) {
    return this.sql.transaction((tx) => attachments.deleteAttachment(tx, projectId, instanceId, key));
  }
  listAttachments(instanceId: number) {
    return attachments.listAttachments(this.sql, instanceId);
  }
  listAttachmentInfo(instanceId: number) {
    return attachments.listAttachmentInfo(this.sql, instanceId);
  }

  deleteInstance(projectId: string, id: number) {
    // The instance, its logs and its dead letters go together.
    return this.sql.transaction(async (tx) => {
      if (!(await apps.deleteInstance(tx, projectId, id))) return false;
      await deadLetters.deleteInstanceDeadLetters(tx, projectId, id);
      return true;
    });
  }

  insertEvents(projectId: string, batch: PluginEvent[]) {
    return events.insertEvents(this.sql, projectId, batch);
  }
  listEvents(projectId: string, options: events.EventFilter) {
    return events.listEvents(this.sql, projectId, options);
  }
  countEvents(projectId: string) {
    return events.countEvents(this.sql, projectId);
  }

  appendLogs(entries: Array<AppLogEntry & { instanceId: number; projectId: string }>) {
    return events.appendLogs(this.sql, entries);
  }
  listLogs(instanceId: number, options: events.LogFilter) {
    return events.listLogs(this.sql, instanceId, options);
  }

  async addDeadLetters(entries: DeadLetterInput[]) {
    if (entries.length === 0) return;
    // More than one chunk means more than one INSERT: a transaction keeps the batch whole.
    if (entries.length <= events.INSERT_CHUNK) return deadLetters.addDeadLetters(this.sql, entries);
    return this.sql.transaction((tx) => deadLetters.addDeadLetters(tx, entries));
  }
  listDeadLetters(projectId: string, options: DeadLetterFilter & { limit: number; afterId?: number }) {
    return deadLetters.listDeadLetters(this.sql, projectId, options);
  }
  countDeadLetters(projectId: string, options: DeadLetterFilter) {
    return deadLetters.countDeadLetters(this.sql, projectId, options);
  }
  deleteDeadLetters(projectId: string, ids: number[]) {
    return deadLetters.deleteDeadLetters(this.sql, projectId, ids);
  }

  createBackfill(input: BackfillInput) {
    return backfills.createBackfill(this.sql, input);
  }
  getBackfill(id: number) {
    return backfills.getBackfill(this.sql, id);
  }
  listBackfills(instanceId: number) {
    return backfills.listBackfills(this.sql, instanceId);
  }
  listRunningBackfills() {
    return backfills.listRunningBackfills(this.sql);
  }
  cancelBackfill(instanceId: number, id: number) {
    return backfills.cancelBackfill(this.sql, instanceId, id);
  }
  backfillSlice(backfill: Backfill, limit: number) {
    return backfills.backfillSlice(this.sql, backfill, limit);
  }
  advanceBackfill(id: number, step: { checkpoint: BackfillCheckpoint; delivered: number; eventsPerSecond: number }) {
    return backfills.advanceBackfill(this.sql, id, step);
  }
  finishBackfill(id: number, state: 'done' | 'failed', error?: string) {
    return backfills.finishBackfill(this.sql, id, state, error);
  }

  addMinuteCounts(rows: MinuteCounts[]) {
    return activity.addMinuteCounts(this.sql, rows);
  }
  listHourCounts(instanceId: number, from: string) {
    return activity.listHourCounts(this.sql, instanceId, from);
  }
  addErrorGroups(groups: ErrorGroupInput[]) {
    return activity.addErrorGroups(this.sql, groups);
  }
  listErrorGroups(instanceId: number, limit: number) {
    return activity.listErrorGroups(this.sql, instanceId, limit);
  }
  pruneActivity(before: string) {
    return activity.pruneActivity(this.sql, before);
  }
  addIngestionWarning(warning: IngestionWarningInput) {
    return warnings.addIngestionWarning(this.sql, warning);
  }
  listIngestionWarnings(projectId: string, limit: number) {
    return warnings.listIngestionWarnings(this.sql, projectId, limit);
  }
}
