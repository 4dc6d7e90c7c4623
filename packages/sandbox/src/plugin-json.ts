import { SECRET_MASK, isFieldRequired, isFieldVisible, jsonValueProblem, type PluginJson } from '@sluice/core';
import { AppSourceError } from './errors';

const FIELD_TYPES = ['string', 'json', 'attachment', 'choice'];
const FILE = 'plugin.json';

function fail(message: string, field?: string): never {
  throw new AppSourceError(`${FILE}: ${message}`, FILE, field);
}

/** Parses and checks plugin.json, naming the first field that is wrong. */
export function parsePluginJson(text: string | undefined): PluginJson {
  if (text === undefined) fail('missing (every app needs one)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    fail(`not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('must be a JSON object');
  const json = parsed as Record<string, unknown>;
  if (typeof json.name !== 'string' || json.name.trim() === '') fail('"name" is required (a non-empty string)', 'name');
  if (json.main !== undefined && typeof json.main !== 'string') fail('"main" must be a file name', 'main');
  if (json.config !== undefined) {
    if (!Array.isArray(json.config)) fail('"config" must be an array of fields', 'config');
    json.config.forEach((field: unknown, index: number) => {
      const where = `config[${index}]`;
      if (typeof field !== 'object' || field === null) fail(`"${where}" must be an object`, where);
      const entry = field as Record<string, unknown>;
      if (entry.markdown !== undefined && entry.key === undefined) return; // display text only
      if (typeof entry.key !== 'string' || entry.key === '') fail(`"${where}.key" is required`, `${where}.key`);
      if (entry.type !== undefined && !FIELD_TYPES.includes(entry.type as string)) {
        fail(`"${where}.type" must be one of ${FIELD_TYPES.join(', ')}, got ${JSON.stringify(entry.type)}`, `${where}.type`);
      }
      if (entry.type === 'choice' && !Array.isArray(entry.choices)) fail(`"${where}.choices" is required for a choice field`, `${where}.choices`);
      for (const rule of ['required_if', 'visible_if'] as const) {
        const conditions = entry[rule];
        const pairs = Array.isArray(conditions) && conditions.every((pair) => Array.isArray(pair) && typeof pair[0] === 'string' && (pair[1] === undefined || pair[1] === null || typeof pair[1] === 'string'));
        if (conditions !== undefined && !pairs) fail(`"${where}.${rule}" must be a list of [key, value] pairs`, `${where}.${rule}`);
      }
    });
  }
  return json as PluginJson;
}

/**
 * The config an instance runs with: plugin.json defaults filled in; a missing required key (by
 * `required`, or `required_if` holding for a shown field) or a json field that does not parse is
 * an error. `requireValues: false` lets required values be missing (an instance installed
 * disabled, to be configured before it is enabled).
 */
export function applyConfigDefaults(pluginJson: PluginJson, config: Record<string, string>, options: { requireValues?: boolean } = {}): Record<string, string> {
  const { requireValues = true } = options;
  const result: Record<string, string> = { ...config };
  // An attachment's value is the uploaded file, not a config string (see missingAttachments).
  const fields = (pluginJson.config ?? []).filter((field) => field.key && field.type !== 'attachment');
  // Defaults first: a condition may name a field that only has its default.
  for (const field of fields) {
    if ((result[field.key!] === undefined || result[field.key!] === '') && field.default !== undefined) result[field.key!] = String(field.default);
  }
  for (const field of fields) {
    const key = field.key!;
    const missing = result[key] === undefined || result[key] === '';
    if (requireValues && missing && isFieldRequired(field, result) && (field.required || isFieldVisible(field, result))) {
      const why = field.required ? '' : ` (required_if ${JSON.stringify(field.required_if)} holds)`;
      throw new AppSourceError(`${FILE}: config "${key}" is required but was not given${why}`, FILE, key);
    }
    const problem = field.type === 'json' && !missing ? jsonValueProblem(result[key]!) : undefined;
    if (problem) throw new AppSourceError(`config "${key}" must be JSON: ${problem}`, FILE, key);
    if (field.type === 'choice' && result[key] !== undefined && field.choices && !field.choices.includes(result[key]!)) {
      throw new AppSourceError(`config "${key}" must be one of ${field.choices.join(', ')}`, FILE, key);
    }
  }
  return result;
}

/** The keys of the config fields of type "attachment": files uploaded for the instance (meta.attachments). */
export function attachmentKeys(pluginJson: PluginJson): string[] {
  return (pluginJson.config ?? []).filter((field) => field.type === 'attachment' && field.key).map((field) => field.key!);
}

/** The required attachment fields that have no file yet: PostHog will not enable such an instance. */
export function missingAttachments(pluginJson: PluginJson, uploaded: readonly string[]): string[] {
  return (pluginJson.config ?? [])
    .filter((field) => field.type === 'attachment' && field.required && field.key && !uploaded.includes(field.key))
    .map((field) => field.key!);
}

export { SECRET_MASK };

/**
 * A config sent back with a secret still masked (the admin API showed it so) keeps that secret's
 * stored value, as PostHog's form does: a client saves a form without knowing its secrets.
 */
export function keepMaskedSecrets(pluginJson: PluginJson, given: Record<string, string>, stored: Record<string, string>): Record<string, string> {
  const result = { ...given };
  for (const field of pluginJson.config ?? []) {
    if (field.secret && field.key && result[field.key] === SECRET_MASK) {
      if (stored[field.key] === undefined) delete result[field.key];
      else result[field.key] = stored[field.key]!;
    }
  }
  return result;
}

/**
 * The values of the config fields plugin.json marks `secret: true`: write-only, so never shown —
 * they are masked wherever they would appear (app logs, the admin API). Very short values are
 * left alone: masking every "1" in a log would hide more than it protects.
 */
export function secretValues(pluginJson: PluginJson, config: Record<string, string>): string[] {
  return (pluginJson.config ?? [])
    .filter((field) => field.secret && field.key !== undefined)
    .map((field) => config[field.key!] ?? '')
    .filter((value) => value.length >= 4);
}

/** The config as the admin API shows it: secret values masked (an unset one stays absent). */
export function maskedConfig(pluginJson: PluginJson, config: Record<string, string>): Record<string, string> {
  const secret = new Set((pluginJson.config ?? []).filter((field) => field.secret).map((field) => field.key));
  return Object.fromEntries(Object.entries(config).map(([key, value]) => [key, secret.has(key) && value !== '' ? SECRET_MASK : value]));
}

/** A log message with every secret value masked. */
export function maskSecrets(message: string, secrets: readonly string[]): string {
  let masked = message;
  for (const secret of secrets) if (masked.includes(secret)) masked = masked.split(secret).join(SECRET_MASK);
  return masked;
}
