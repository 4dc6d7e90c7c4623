import { CliError } from './admin-client';

/** A positive integer from the command line, or a CliError naming what was wrong. */
export function readPositiveInt(raw: string | undefined, what: string): number {
  const value = Number(raw);
  if (raw === undefined || !Number.isInteger(value) || value < 1) throw new CliError(`${what} "${raw ?? ''}": expected a positive integer`);
  return value;
}
