import type { AppSource } from '@sluice/core';
import { ApiError } from '@sluice/http';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A 400 naming the field of the request body that is wrong. */
export function invalidField(message: string, field: string): ApiError {
  return new ApiError(400, 'invalid_request', message, { field });
}

/** The body as an object, or a 400 saying what it should have been. */
export function readBodyObject(body: unknown, expected: string): Record<string, unknown> {
  if (body === undefined || body === null || body === '') return {};
  if (!isRecord(body)) throw invalidField(`the body must be a JSON object${expected ? ` with ${expected}` : ''}`, 'body');
  return body;
}

export function readPositiveIntArray(value: unknown, field: string): number[] {
  if (!Array.isArray(value) || value.some((item) => !Number.isInteger(item) || (item as number) < 1)) {
    throw invalidField(`"${field}" must be an array of positive integers`, field);
  }
  return value as number[];
}

/** Config values as plugin.json config is typed: strings (numbers and booleans are written as strings). */
export function readConfigValues(config: unknown, field = 'config'): Record<string, string> {
  if (!isRecord(config)) throw invalidField(`"${field}" must be an object`, field);
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw invalidField(`"${field}.${key}" must be a string, number or boolean`, `${field}.${key}`);
    }
    values[key] = String(value);
  }
  return values;
}

/** An app's files as the API takes them: `{"plugin.json": "…", "index.ts": "…"}`. */
export function readAppSourceField(value: unknown, field = 'source'): AppSource {
  if (!isRecord(value) || Object.keys(value).length === 0) throw invalidField(`"${field}" must be an object of file name → file content`, field);
  for (const [file, content] of Object.entries(value)) {
    if (typeof content !== 'string') throw invalidField(`"${field}.${file}" must be a string`, `${field}.${file}`);
  }
  return value as AppSource;
}

/** An ISO date or time as the store takes it (normalized to UTC); undefined when absent or empty. */
export function readTime(raw: string | undefined, field: string): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const time = new Date(raw);
  if (Number.isNaN(time.getTime())) throw invalidField(`"${field}" must be an ISO date or time, got "${raw}"`, field);
  return time.toISOString();
}
