import { randomUUID } from 'node:crypto';
import type { AppCapability, PluginEvent } from '@sluice/core';

/** A stored-shape event with a fresh uuid; `overrides` replace any field. */
export function event(overrides: Partial<PluginEvent> = {}): PluginEvent {
  return {
    uuid: randomUUID(),
    event: '$pageview',
    distinct_id: 'user_1',
    properties: { $current_url: 'https://example.com/' },
    timestamp: '2026-01-01T00:00:00.000Z',
    ip: '127.0.0.1',
    site_url: 'http://localhost',
    team_id: 1,
    now: '2026-01-01T00:00:00.000Z',
    sent_at: null,
    ...overrides,
  };
}

/** An app record to save, one per version hash. */
export function app(hash: string, capabilities: AppCapability[] = ['processEvent']) {
  return {
    name: `app-${hash}`,
    versionHash: hash,
    pluginJson: { name: `app-${hash}`, config: [{ key: 'k', type: 'string' as const }] },
    source: { 'plugin.json': '{}', 'index.js': 'export function processEvent(e) { return e }' },
    code: 'module.exports = {}',
    capabilities,
  };
}
