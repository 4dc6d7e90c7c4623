import { isStage as isStageApp, type InstanceView as Instance, type PluginConfigField as ConfigField } from '@sluice/core/app';

/**
 * The admin API as the console calls it: same origin, logged in by the session cookie, JSON in and
 * out. An error answer becomes an ApiFailure carrying the API's message and the field or file it
 * names, which the pages show where that field is.
 */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { field?: string; file?: string; line?: number; [key: string]: unknown } = {},
  ) {
    super(message);
  }
}

/** Called when an answer says the session is gone, so the app shows the login again. */
let onLoggedOut: () => void = () => {};
export function whenLoggedOut(handler: () => void): void {
  onLoggedOut = handler;
}

type Body = object | Blob | ArrayBuffer | undefined;

export async function api<T = unknown>(method: string, path: string, body?: Body, contentType?: string): Promise<T> {
  const headers: Record<string, string> = {};
  let payload: BodyInit | undefined;
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    payload = body;
    headers['content-type'] = contentType ?? 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`/api${path}`, { method, headers, body: payload, credentials: 'same-origin' });
  const text = await response.text();
  const parsed: unknown = text === '' ? undefined : safeJson(text);
  if (!response.ok) {
    const error = (parsed ?? {}) as { error?: string; message?: string; details?: ApiFailure['details'] };
    if (response.status === 401 && path !== '/session') onLoggedOut();
    throw new ApiFailure(response.status, error.error ?? 'http_error', error.message ?? `${method} ${path} answered ${response.status}`, error.details ?? {});
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

/** A project id or instance id as a path segment. */
export const segment = (value: string | number) => encodeURIComponent(String(value));

// ---- the shapes the console reads (see the OpenAPI document at /api/docs/json) ----

export type { Project } from '@sluice/core/project';
export type { PluginConfigField as ConfigField, InstanceView as Instance } from '@sluice/core/app';

export interface InstanceDetail extends Instance {
  config: Record<string, string>;
  versionHash: string;
  pluginJson: { name: string; description?: string; config?: ConfigField[] };
  attachments: Array<{ key: string; fileName: string; contentType: string; size: number }>;
}

export interface LogLine {
  id: number;
  timestamp: string;
  level: 'debug' | 'log' | 'info' | 'warn' | 'error';
  message: string;
}

export interface InstanceStats {
  instanceId: number;
  stage: Record<string, number>;
  delivery: Record<string, number>;
  queue: { waiting: number; active: number; delayed: number; failed: number };
}

export interface AppStats {
  at: string;
  processes: number;
  unreachable: string[];
  results: InstanceStats[];
}

export interface DeadLetter {
  id: number;
  instanceId: number;
  appId: number;
  function: string;
  event: { uuid?: string; event: string; distinct_id: string; timestamp?: string; properties?: Record<string, unknown> };
  error: string;
  attempts: number;
  failedAt: string;
}

/** Whether an instance is a processEvent stage (the rest are destinations or run only jobs). */
export const isStage = (instance: Instance) => isStageApp(instance.capabilities as Parameters<typeof isStageApp>[0]);
export const isDestination = (instance: Instance) => instance.capabilities.includes('onEvent') || instance.capabilities.includes('exportEvents');
