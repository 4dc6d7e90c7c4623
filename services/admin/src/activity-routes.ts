import type { FastifyInstance } from 'fastify';
import { ACTIVITY_COUNTS, type HourCounts, type Store } from '@sluice/store';
import { instanceOrNotFound } from './lookup';
import { readLimit } from './params';
import { consoleSchemas } from './console-schemas';

type InstanceParams = { projectId: string; instanceId: string };

const RANGES = { '24h': 24, '7d': 7 * 24 } as const;
const HOUR_MS = 60 * 60 * 1000;

/** Every hour of the range, oldest first, with zeros where nothing was counted (a chart's x axis). */
function everyHour(hours: number, counted: HourCounts[]): HourCounts[] {
  const byHour = new Map(counted.map((row) => [Date.parse(row.hour), row]));
  const last = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const zero = Object.fromEntries(ACTIVITY_COUNTS.map((name) => [name, 0])) as Omit<HourCounts, 'hour'>;
  return Array.from({ length: hours }, (_, index) => {
    const at = last - (hours - 1 - index) * HOUR_MS;
    return byHour.get(at) ?? { hour: new Date(at).toISOString(), ...zero };
  });
}

/**
 * An instance's activity over time, as every worker and runner process wrote it (the CLI's
 * AppActivityRecorder): counts per hour over 24 hours or 7 days, and its errors grouped by message.
 */
export async function activityRoutes(app: FastifyInstance, deps: { store: Store }): Promise<void> {
  app.get<{ Params: InstanceParams; Querystring: { range?: keyof typeof RANGES } }>('/projects/:projectId/apps/:instanceId/metrics', { schema: consoleSchemas.instanceMetrics }, async (request) => {
    const instance = await instanceOrNotFound(deps.store, request.params.projectId, request.params.instanceId);
    const range = request.query.range ?? '24h';
    const hours = RANGES[range];
    const from = new Date(Math.floor(Date.now() / HOUR_MS) * HOUR_MS - (hours - 1) * HOUR_MS).toISOString();
    return { range, bucket: 'hour', results: everyHour(hours, await deps.store.listHourCounts(instance.id, from)) };
  });

  app.get<{ Params: InstanceParams; Querystring: { limit?: string } }>('/projects/:projectId/apps/:instanceId/errors', { schema: consoleSchemas.instanceErrors }, async (request) => {
    const instance = await instanceOrNotFound(deps.store, request.params.projectId, request.params.instanceId);
    return { results: await deps.store.listErrorGroups(instance.id, readLimit(request.query.limit, 50, 1_000)) };
  });
}
