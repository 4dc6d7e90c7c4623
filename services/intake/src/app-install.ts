import type { AppInstance, AppSource } from '@sluice/core';
import { AppSourceError, applyConfigDefaults, compileApp } from '@sluice/sandbox';
import type { Store } from '@sluice/store';
import { invalidField as invalid, isRecord, readConfigValues } from './admin-body';
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
  if (!isRecord(source) || Object.keys(source).length === 0) {
    throw invalid('"source" must be an object of file name → file content', 'source');
  }
  for (const [file, content] of Object.entries(source)) {
    if (typeof content !== 'string') throw invalid(`"source.${file}" must be a string`, `source.${file}`);
  }
  const configValues = readConfigValues(config);
  if (order !== undefined && !Number.isInteger(order)) throw invalid('"order" must be an integer', 'order');
  if (enabled !== undefined && typeof enabled !== 'boolean') throw invalid('"enabled" must be true or false', 'enabled');
  return { source: source as AppSource, config: configValues, order: order as number | undefined, enabled: enabled as boolean | undefined };
}

/** Compiles the app, stores it (once per version) and enables it for the project. */
export async function installApp(store: Store, projectId: string, request: InstallRequest): Promise<AppInstance> {
  try {
    const compiled = await compileApp(request.source);
    const config = applyConfigDefaults(compiled.pluginJson, request.config);
    const app = await store.saveApp({
      name: compiled.pluginJson.name,
      versionHash: compiled.versionHash,
      pluginJson: compiled.pluginJson,
      source: request.source,
      code: compiled.code,
      capabilities: compiled.capabilities,
    });
    return await store.createInstance({ projectId, appId: app.id, config, order: request.order, enabled: request.enabled });
  } catch (error) {
    throw asInvalidApp(error);
  }
}

/** An AppSourceError (bad file, missing required config…) as the 400 that names file and field. */
export function asInvalidApp(error: unknown): unknown {
  if (!(error instanceof AppSourceError)) return error;
  return new ApiError(400, 'invalid_app', error.message, { file: error.file, ...(error.field && { field: error.field }) });
}
