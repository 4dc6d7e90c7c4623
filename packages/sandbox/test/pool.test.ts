import { describe, expect, it } from 'vitest';
import { createLogger, type AppInstance, type AppLogEntry, type AppRecord } from '@sluice/core';
import { AppSetupError, AppVmPool, compileApp } from '../src';

async function poolOf(code: string, options: { delays?: number[]; pluginJson?: object; config?: Record<string, string> } = {}) {
  const compiled = await compileApp({ 'plugin.json': JSON.stringify(options.pluginJson ?? { name: 'pooled' }), 'index.js': code });
  const app: AppRecord = {
    id: 7, name: 'pooled', versionHash: compiled.versionHash, pluginJson: compiled.pluginJson, source: {}, code: compiled.code,
    capabilities: compiled.capabilities, createdAt: new Date().toISOString(),
  };
  const instance: AppInstance = { id: 1, projectId: 'p', appId: 7, name: 'pooled', capabilities: compiled.capabilities, order: 1, enabled: true, config: options.config ?? { label: 'one' }, settings: {} };
  const logs: string[] = [];
  const failures: string[] = [];
  const pool = new AppVmPool({
    load: async () => ({ instance: { ...instance }, app }),
    onLog: (_, entry: AppLogEntry) => logs.push(entry.message),
    setupRetryDelaysMs: options.delays ?? [],
    onSetupFailure: async (_, message) => void failures.push(message),
    logger: createLogger('silent'),
  });
  return { pool, instance, logs, failures };
}

describe('AppVmPool', () => {
  it('retries a setupPlugin that throws RetryError on the schedule, then serves calls', async () => {
    const { pool, logs, failures } = await poolOf(`import { RetryError } from '@posthog/plugin-scaffold'
      export function setupPlugin({ global }) { global.tries = (global.tries || 0) + 1; if (global.tries < 3) throw new RetryError('db starting'); console.log('ready after ' + global.tries) }
      export function onEvent() {}`, { delays: [10, 20, 40] });
    const result = await pool.use(1, (vm) => vm.onEvent({ event: 'e', distinct_id: 'd', uuid: 'u', properties: {} } as never));
    expect(result).toEqual({ ok: true });
    expect(logs.filter((line) => line.startsWith('setupPlugin: RetryError: db starting; retried in'))).toHaveLength(2);
    expect(logs).toContain('ready after 3');
    expect(failures).toEqual([]);
    await pool.close();
  });

  it('reports a setupPlugin that keeps failing (PostHog then disables the instance), and tries again on the next call', async () => {
    const { pool, failures } = await poolOf(`import { RetryError } from '@posthog/plugin-scaffold'
      export function setupPlugin() { throw new RetryError('never') }
      export function onEvent() {}`, { delays: [5, 5] });
    await expect(pool.use(1, async () => 'ran')).rejects.toBeInstanceOf(AppSetupError);
    expect(failures).toEqual(['setupPlugin of pooled (1) failed: RetryError: never']);
    const plain = await poolOf("export function setupPlugin() { throw new Error('no api key') }\nexport function onEvent() {}", { delays: [5] });
    await expect(plain.pool.use(1, async () => 'ran')).rejects.toThrow('no api key');
    await expect(plain.pool.use(1, async () => 'ran')).rejects.toThrow('no api key');
    expect(plain.failures).toHaveLength(2); // no retries for other errors, but every new try is reported
  });

  it('keeps a warm VM when its instance only moved in the order, and tears it down when reconfigured', async () => {
    const { pool, instance, logs } = await poolOf(`export function setupPlugin({ config }) { console.log('setup ' + config.label) }
      export function teardownPlugin({ config }) { console.log('teardown ' + config.label) }
      export function onEvent() {}`);
    await pool.use(1, async () => undefined);
    await pool.reloadProject('p', [{ ...instance, order: 5 }]);
    await pool.use(1, async () => undefined);
    expect(logs).toEqual(['setup one']);
    await pool.reloadProject('p', [{ ...instance, config: { label: 'two' } }]);
    expect(logs).toEqual(['setup one', 'teardown one']);
    await pool.reloadProject('p', []);
    await pool.close();
  });

  it('masks secret config values in whatever the app logs', async () => {
    const { pool, logs } = await poolOf("export function setupPlugin({ config }) { console.log('using key ' + config.apiKey + ' for ' + config.region) }\nexport function onEvent() {}", {
      pluginJson: { name: 'secretive', config: [{ key: 'apiKey', type: 'string', secret: true }, { key: 'region', type: 'string' }] },
      config: { apiKey: 'sk_live_12345', region: 'eu' },
    });
    await pool.use(1, async () => undefined);
    expect(logs).toEqual(['using key •••••••• for eu']);
    await pool.close();
  });
});
