import type { AppSource } from '@sluice/core';
import { createAppVm } from './app-vm';
import { bundleApp, parsePluginJson, versionHash, type CompiledApp } from './compile';
import { AppSourceError } from './errors';

/**
 * Install-time work on an app: check plugin.json, bundle the code, and load it once in a
 * throwaway VM to learn what it exports (its capabilities) and that it loads at all.
 */
export async function compileApp(source: AppSource): Promise<CompiledApp> {
  const pluginJson = parsePluginJson(source['plugin.json']);
  const { code, optionalModules } = await bundleApp(source, pluginJson);
  let capabilities;
  try {
    const vm = await createAppVm({ instanceId: 0, name: pluginJson.name, code, config: {}, onLog: () => {} });
    capabilities = vm.capabilities;
    vm.dispose();
  } catch (error) {
    throw new AppSourceError(`${pluginJson.main ?? 'index.js'}: the app fails while loading: ${(error as Error).message}`, pluginJson.main ?? 'index.js');
  }
  if (capabilities.length === 0) {
    throw new AppSourceError(`${pluginJson.main ?? 'index.js'}: exports none of processEvent, onEvent, exportEvents, jobs, runEvery*`, pluginJson.main ?? 'index.js');
  }
  return { pluginJson, code, capabilities, versionHash: versionHash(source), optionalModules };
}
