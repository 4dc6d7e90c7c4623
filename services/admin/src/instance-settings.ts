import type { InstanceSettings } from '@sluice/core';
import { invalidField } from './body';

/** Bounds of the per-instance limits an admin may set (the same bounds as the SLUICE_APP_* variables). */
const LIMIT_BOUNDS: Record<keyof NonNullable<InstanceSettings['limits']>, [number, number]> = {
  callTimeoutMs: [10, 600_000],
  jobTimeoutMs: [10, 3_600_000],
  hostWaitTimeoutMs: [10, 3_600_000],
  memoryBytes: [4 * 1024 * 1024, 4096 * 1024 * 1024],
  stackBytes: [64 * 1024, 1024 * 1024],
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An instance's runtime settings from an admin request: `processEventErrors` ("continue" or
 * "drop") and `limits` (callTimeoutMs, jobTimeoutMs, hostWaitTimeoutMs, memoryBytes, stackBytes). The given object
 * replaces the instance's settings; absent fields take the process defaults.
 */
export function readInstanceSettings(value: unknown): InstanceSettings {
  if (!isRecord(value)) throw invalidField('"settings" must be an object with "processEventErrors" and/or "limits"', 'settings');
  const settings: InstanceSettings = {};
  for (const key of Object.keys(value)) {
    if (key !== 'processEventErrors' && key !== 'limits') throw invalidField(`settings.${key} is not a setting: use processEventErrors or limits`, `settings.${key}`);
  }
  if (value.processEventErrors !== undefined) {
    if (value.processEventErrors !== 'continue' && value.processEventErrors !== 'drop') {
      throw invalidField('settings.processEventErrors must be "continue" or "drop"', 'settings.processEventErrors');
    }
    settings.processEventErrors = value.processEventErrors;
  }
  if (value.limits !== undefined) {
    if (!isRecord(value.limits)) throw invalidField('settings.limits must be an object', 'settings.limits');
    const limits: NonNullable<InstanceSettings['limits']> = {};
    for (const [name, given] of Object.entries(value.limits)) {
      const bounds = LIMIT_BOUNDS[name as keyof typeof LIMIT_BOUNDS];
      const field = `settings.limits.${name}`;
      if (!bounds) throw invalidField(`${field} is not a limit: use ${Object.keys(LIMIT_BOUNDS).join(', ')}`, field);
      if (typeof given !== 'number' || !Number.isInteger(given) || given < bounds[0] || given > bounds[1]) {
        throw invalidField(`${field} must be an integer from ${bounds[0]} to ${bounds[1]}`, field);
      }
      limits[name as keyof typeof LIMIT_BOUNDS] = given;
    }
    settings.limits = limits;
  }
  return settings;
}
