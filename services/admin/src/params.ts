import { ApiError } from '@sluice/http';

/** Reads `?limit=` as an integer within bounds, or says which parameter is wrong. */
export function readLimit(raw: unknown, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ApiError(400, 'invalid_parameter', `"limit" must be an integer from 1 to ${max}`, { field: 'limit' });
  }
  return value;
}

export function readInstanceId(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new ApiError(400, 'invalid_parameter', `"instanceId" must be a positive integer, got "${raw}"`, { field: 'instanceId' });
  }
  return value;
}
