import type { AppInstance, AppSource } from '@sluice/core';
import { AppSourceError, applyConfigDefaults, compileApp } from '@sluice/sandbox';
import type { Store } from '@sluice/store';
import { invalidField as invalid, isRecord, readAppSourceField, readConfigValues } from './admin-body';
import { ApiError } from './errors';

export interface InstallRequest {
  source: AppSource;
  config: Record<string, string>;
  order: number | undefined;
  enabled: boolean | undefined;
}

/** Checks the install body's shape, naming the first field that is wrong. */
export function readInstallRequest(body: unknown): InstallRequest {
  if (!isRecord(body)) throw invalid('the body must be a JSON object with "source"', 'body');
  const { source, config = {}, order, enabled } = body;
  const files = readAppSourceField(source);
  const configValues = readConfigValues(config);
  if (order !== undefined && !Number.isInteger(order)) throw invalid('"order" must be an integer', 'order');
  if (enabled !== undefined && typeof enabled !== 'boolean') throw invalid('"enabled" must be true or false', 'enabled');
  return { source: files, config: configValues, order: order as number | undefined, enabled: enabled as boolean | undefined };
}

/** Compiles an app and stores it (once per version: the same files give the same record). */
export async function saveAppVersion(store: Store, source: AppSource) {
  const compiled = await compileApp(source);
  return store.saveApp({
    name: compiled.pluginJson.name,
    versionHash: compiled.versionHash,
    pluginJson: compiled.pluginJson,
    source,
    code: compiled.code,
    capabilities: compiled.capabilities,
  });
}

/** Compiles the app, stores it (once per version) and enables it for the project. */
export async function installApp(store: Store, projectId: string, request: InstallRequest): Promise<AppInstance> {
  try {
    const app = await saveAppVersion(store, request.source);
    const config = applyConfigDefaults(app.pluginJson, request.config);
    return await store.createInstance({ projectId, appId: app.id, config, order: request.order, enabled: request.enabled });
  } catch (error) {
    throw asInvalidApp(error);
  }
}

/**
 * Moves an instance to a new version of its app: the new plugin.json's defaults and required keys
 * apply to the config it keeps (or is given). Its VMs are reloaded like after any change
 * (teardownPlugin on the old code, setupPlugin on the new).
 */
export async function upgradeInstance(store: Store, instance: AppInstance, source: AppSource, config?: Record<string, string>): Promise<AppInstance | null> {
  try {
    const app = await saveAppVersion(store, source);
    const nextConfig = applyConfigDefaults(app.pluginJson, config ?? instance.config);
    return await store.updateInstance(instance.projectId, instance.id, { appId: app.id, config: nextConfig });
  } catch (error) {
    throw asInvalidApp(error);
  }
}

/** An AppSourceError (bad file, missing required config…) as the 400 that names file and field. */
export function asInvalidApp(error: unknown): unknown {
  if (!(error instanceof AppSourceError)) return error;
  return new ApiError(400, 'invalid_app', error.message, { file: error.file, ...(error.field && { field: error.field }) });
}
