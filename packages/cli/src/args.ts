import { CliError } from './admin-client';

/** A positive integer from the command line, or a CliError naming what was wrong. */
export function readPositiveInt(raw: string | undefined, what: string): number {
  const value = Number(raw);
  if (raw === undefined || !Number.isInteger(value) || value < 1) throw new CliError(`${what} "${raw ?? ''}": expected a positive integer`);
  return value;
}

/** `--config key=value` pairs as an app config. */
export function parseConfig(pairs: string[]): Record<string, string> {
  const config: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--config "${pair}": expected key=value`);
    config[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return config;
}
