import type { AppInstance, AppSource, InstanceSettings } from '@sluice/core';
import { AppSourceError, applyConfigDefaults, compileApp, missingAttachments, optionalModulesWarning } from '@sluice/sandbox';
import type { Store } from '@sluice/store';
import { invalidField as invalid, isRecord, readAppSourceField, readConfigValues } from './body';
import { readAppArchive } from './app-archive';
import { ApiError } from '@sluice/http';
import { readInstanceSettings } from './instance-settings';

export interface InstallRequest {
  source: AppSource;
  config: Record<string, string>;
  order: number | undefined;
  enabled: boolean | undefined;
  settings?: InstanceSettings;
}

/** Checks the install body's shape, naming the first field that is wrong. */
export function readInstallRequest(body: unknown): InstallRequest {
  if (!isRecord(body)) throw invalid('the body must be a JSON object with "source"', 'body');
  const { source, config = {}, order, enabled, settings } = body;
  const files = readAppSourceField(source);
  const configValues = readConfigValues(config);
  if (order !== undefined && !Number.isInteger(order)) throw invalid('"order" must be an integer', 'order');
  if (enabled !== undefined && typeof enabled !== 'boolean') throw invalid('"enabled" must be true or false', 'enabled');
  return {
    source: files,
    config: configValues,
    order: order as number | undefined,
    enabled: enabled as boolean | undefined,
    ...(settings !== undefined ? { settings: readInstanceSettings(settings) } : {}),
  };
}

/**
 * An install from an uploaded archive: the files from the archive, config as `?config.<key>=<value>`,
 * `?order=` and `?enabled=` from the query (the schema has already typed them).
 */
export async function readArchiveInstall(body: Buffer, query: Record<string, unknown>): Promise<InstallRequest> {
  const config: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) if (name.startsWith('config.')) config[name.slice('config.'.length)] = String(value);
  const { order, enabled } = query as { order?: number; enabled?: boolean };
  return { source: await readAppArchive(body), config, order, enabled };
}

/**
 * Compiles an app and stores it (once per version: the same files give the same record). Also
 * answers the modules it requires inside a try that the sandbox lacks (see `warnOptionalModules`).
 */
export async function saveAppVersion(store: Store, source: AppSource) {
  const compiled = await compileApp(source);
  const app = await store.saveApp({
    name: compiled.pluginJson.name,
    versionHash: compiled.versionHash,
    pluginJson: compiled.pluginJson,
    source,
    code: compiled.code,
    capabilities: compiled.capabilities,
  });
  return { app, optionalModules: compiled.optionalModules };
}

/**
 * PostHog installed an app whose `try { require('x') } catch {}` names a module it lacked, and the
 * require threw when it ran; so does Sluice, and says so in the instance's logs at install.
 */
async function warnOptionalModules(store: Store, instance: AppInstance, optionalModules: string[]): Promise<void> {
  const message = optionalModulesWarning(optionalModules);
  if (message === undefined) return;
  await store.appendLogs([{ instanceId: instance.id, projectId: instance.projectId, timestamp: new Date().toISOString(), level: 'warn', message }]);
}

/** The 400 for enabling an instance whose required attachment fields have no file yet. */
export function attachmentsMissing(missing: string[]): ApiError {
  return new ApiError(
    400,
    'attachment_required',
    `attachment "${missing[0]}" is required: upload it (PUT …/attachments/${missing[0]} or "sluice apps attach"), then enable the instance`,
    { field: missing[0], missing },
  );
}

/**
 * Compiles the app, stores it (once per version) and enables it for the project. An app with
 * required attachment fields is installed disabled (it cannot run before its files are uploaded);
 * the answer's `missingAttachments` lists them. Installed with `enabled: false`, its required config
 * values may be missing too (they are checked when it is enabled).
 */
export async function installApp(store: Store, projectId: string, request: InstallRequest): Promise<AppInstance & { missingAttachments?: string[] }> {
  try {
    const { app, optionalModules } = await saveAppVersion(store, request.source);
    // Installed disabled, an instance may wait for its required values; enabling it checks them.
    const config = applyConfigDefaults(app.pluginJson, request.config, { requireValues: request.enabled !== false });
    const missing = missingAttachments(app.pluginJson, []);
    if (missing.length > 0 && request.enabled === true) throw attachmentsMissing(missing);
    const enabled = missing.length > 0 ? false : request.enabled;
    const instance = await store.createInstance({ projectId, appId: app.id, config, order: request.order, enabled, settings: request.settings });
    await warnOptionalModules(store, instance, optionalModules);
    return missing.length > 0 ? { ...instance, missingAttachments: missing } : instance;
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
    const { app, optionalModules } = await saveAppVersion(store, source);
    const nextConfig = applyConfigDefaults(app.pluginJson, config ?? instance.config);
    const upgraded = await store.updateInstance(instance.projectId, instance.id, { appId: app.id, config: nextConfig });
    if (upgraded) await warnOptionalModules(store, upgraded, optionalModules);
    return upgraded;
  } catch (error) {
    throw asInvalidApp(error);
  }
}

/** An AppSourceError (bad file, missing required config…) as the 400 that names file and field. */
export function asInvalidApp(error: unknown): unknown {
  if (!(error instanceof AppSourceError)) return error;
  return new ApiError(400, 'invalid_app', error.message, { file: error.file, ...(error.field && { field: error.field }) });
}
