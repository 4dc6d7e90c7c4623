import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readSampleEvents } from '../fixtures/sample-events';
import { ADMIN_TOKEN, PROJECT_TOKEN, REPO_ROOT } from './services';

export async function admin<T = any>(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

export async function post(url: string, path: string, body: unknown | string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** An app folder as the admin API's source map. */
export function appSource(dir: string): Record<string, string> {
  const root = join(REPO_ROOT, dir);
  const files: Record<string, string> = {};
  const walk = (current: string) => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(js|ts|json)$/.test(name)) files[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(root);
  return files;
}

export async function install(url: string, dir: string, config: Record<string, string> = {}): Promise<any> {
  const { status, body } = await admin(url, 'POST', '/api/projects/default/apps', { source: appSource(dir), config });
  if (status !== 201) throw new Error(`install ${dir} failed: ${status} ${JSON.stringify(body)}`);
  return body;
}

/** The sample events as clients send them, with the test project's token and fresh uuids. */
export function sampleEvents(count: number): Array<Record<string, any>> {
  const sample = readSampleEvents();
  return Array.from({ length: count }, (_, index) => {
    const event = sample[index % sample.length]!;
    return { ...event, uuid: crypto.randomUUID(), api_key: PROJECT_TOKEN };
  });
}

export async function storedEvents(url: string, limit = 10_000): Promise<any[]> {
  const { status, body } = await admin(url, 'GET', `/api/projects/default/events?limit=${limit}`);
  if (status !== 200) throw new Error(`events: ${status} ${JSON.stringify(body)}`);
  return body.results;
}

export interface LogLine {
  timestamp: string;
  level: string;
  message: string;
}

/** An instance's app logs, oldest first. */
export async function appLogs(url: string, instanceId: number, limit = 10_000): Promise<LogLine[]> {
  const { status, body } = await admin(url, 'GET', `/api/projects/default/apps/${instanceId}/logs?limit=${limit}`);
  if (status !== 200) throw new Error(`logs: ${status} ${JSON.stringify(body)}`);
  return (body.results as LogLine[]).reverse();
}

/** Sends events to /batch with the test token; throws unless the intake accepted them. */
export async function capture(url: string, events: Array<Record<string, unknown>>): Promise<void> {
  const { status, body } = await post(url, '/batch', { api_key: PROJECT_TOKEN, batch: events });
  if (status !== 200) throw new Error(`capture: ${status} ${JSON.stringify(body)}`);
}

/**
 * Installs the app in `dir` with `config`, uploads `key` as its `googleCloudKeyJson` attachment
 * (PostHog's Google apps take their service-account key file so) and enables it: the instance.
 */
export async function installWithKeyFile(url: string, dir: string, config: Record<string, string>, key: unknown): Promise<any> {
  const installed = await install(url, dir, config);
  const path = `/api/projects/default/apps/${installed.id}`;
  const upload = await fetch(`${url}${path}/attachments/googleCloudKeyJson`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'content-disposition': 'attachment; filename="key.json"' },
    body: JSON.stringify(key),
  });
  if (upload.status >= 300) throw new Error(`attaching the key to ${dir} failed: ${upload.status} ${await upload.text()}`);
  const enabled = await admin(url, 'PATCH', path, { enabled: true });
  if (enabled.status !== 200) throw new Error(`enabling ${dir} failed: ${enabled.status} ${JSON.stringify(enabled.body)}`);
  return enabled.body;
}

/** One sample's value in a Prometheus text exposition (0 when absent). */
export function metricValue(text: string, sample: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

/** The sum of every sample of one metric in a Prometheus text exposition; with `labels`, of the samples having all of them. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((pair) => line.slice(0, line.lastIndexOf(' ')).includes(pair))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
