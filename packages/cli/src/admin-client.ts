import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
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

function baseUrl(env: NodeJS.ProcessEnv): string {
  return env.SLUICE_URL || `http://${env.SLUICE_HOST || '127.0.0.1'}:${env.SLUICE_PORT || '8000'}`;
}

/** A request body sent as it is (an archive, an attachment) instead of as JSON. */
export class RawBody {
  constructor(
    readonly bytes: Uint8Array,
    readonly contentType: string,
  ) {}
}

interface AdminResponse {
  status: number;
  ok: boolean;
  statusText: string;
  body: IncomingMessage;
}

/**
 * One request over node:http(s). Not fetch: Node's fetch compiles undici's WebAssembly HTTP parser
 * on first use and holds the process's exit until that compile ends, ~0.25 s of every CLI call.
 */
async function send(method: string, path: string, body: unknown, env: NodeJS.ProcessEnv): Promise<AdminResponse> {
  const base = baseUrl(env);
  const raw = body instanceof RawBody ? body : undefined;
  const payload = raw ? raw.bytes : body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { authorization: `Bearer ${adminToken(env)}` };
  if (payload) Object.assign(headers, { 'content-type': raw ? raw.contentType : 'application/json', 'content-length': String(payload.byteLength) });
  try {
    const url = new URL(`${base}${path}`);
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers }, resolve);
      request.once('error', reject);
      request.end(payload);
    });
    const status = response.statusCode ?? 0;
    return { status, ok: status >= 200 && status < 300, statusText: response.statusMessage ?? '', body: response };
  } catch (error) {
    throw new CliError(`cannot reach Sluice at ${base} (${(error as Error).message}): is it running? Set SLUICE_URL to point elsewhere`);
  }
}

async function readText(response: AdminResponse): Promise<string> {
  let text = '';
  response.body.setEncoding('utf8');
  for await (const chunk of response.body) text += chunk as string;
  return text;
}

/**
 * Follows a server-sent-events route of the admin API, calling `onData` with each event's parsed
 * `data`, until the server ends the stream.
 */
export async function adminStream(path: string, onData: (data: unknown) => void, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const response = await send('GET', path, undefined, env);
  if (!response.ok) {
    const text = await readText(response);
    const { message } = (JSON.parse(text || '{}') as { message?: string });
    throw new CliError(`GET ${path} failed (${response.status}): ${message ?? response.statusText}`);
  }
  let buffered = '';
  response.body.setEncoding('utf8');
  for await (const chunk of response.body) {
    buffered += chunk as string;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const message = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      for (const line of message.split('\n')) if (line.startsWith('data: ')) onData(JSON.parse(line.slice(6)));
    }
  }
}

/** Calls the admin API at SLUICE_URL; a non-2xx answer becomes a CliError with the server's message. */
export async function adminRequest<T>(method: string, path: string, body?: unknown, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const response = await send(method, path, body, env);
  const text = await readText(response);
  const parsed = text ? (JSON.parse(text) as T & { message?: string; details?: unknown }) : ({} as T);
  if (!response.ok) {
    const { message, details } = parsed as { message?: string; details?: unknown };
    throw new CliError(`${method} ${path} failed (${response.status}): ${message ?? text}${details ? ` ${JSON.stringify(details)}` : ''}`);
  }
  return parsed;
}
