import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export class CliError extends Error {
  override name = 'CliError';
}

/** The admin token: SLUICE_ADMIN_TOKEN, else the one `sluice start` generated into the data dir. */
export function adminToken(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SLUICE_ADMIN_TOKEN) return env.SLUICE_ADMIN_TOKEN;
  const file = join(env.SLUICE_DATA_DIR || './.sluice', 'admin-token');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new CliError(`no admin token: set SLUICE_ADMIN_TOKEN (or run from the folder where "sluice start" wrote ${file})`);
  }
}

/** Calls the admin API at SLUICE_URL; a non-2xx answer becomes a CliError with the server's message. */
export async function adminRequest<T>(method: string, path: string, body?: unknown, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const base = env.SLUICE_URL || `http://${env.SLUICE_HOST || '127.0.0.1'}:${env.SLUICE_PORT || '8000'}`;
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken(env)}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new CliError(`cannot reach Sluice at ${base} (${(error as Error).cause ?? (error as Error).message}): is it running? Set SLUICE_URL to point elsewhere`);
  }
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as T & { message?: string; details?: unknown }) : ({} as T);
  if (!response.ok) {
    const { message, details } = parsed as { message?: string; details?: unknown };
    throw new CliError(`${method} ${path} failed (${response.status}): ${message ?? text}${details ? ` ${JSON.stringify(details)}` : ''}`);
  }
  return parsed;
}
