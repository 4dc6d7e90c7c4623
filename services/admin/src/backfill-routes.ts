import type { FastifyInstance } from 'fastify';
import { isDestination } from '@sluice/core';
import { ApiError, notFound } from '@sluice/http';
import type { Backfill, BackfillInput } from '@sluice/store';
import type { AdminDeps } from './admin-routes';
import { invalidField, readBodyObject, readTime } from './body';
import { instanceOrNotFound } from './lookup';
import { schemas } from './schemas';

type InstanceParams = { projectId: string; instanceId: string };
type BackfillParams = InstanceParams & { backfillId: string };

/** A backfill as the admin API shows it (its checkpoint is the runner's business). */
export function backfillView(backfill: Backfill) {
  const { id, from, to, events, rate, done, total, eventsPerSecond, state, error, createdAt, updatedAt } = backfill;
  return { id, from, to, events, rate, done, total, eventsPerSecond: Math.round(eventsPerSecond), state, error, createdAt, updatedAt };
}

/** `{from, to, events?, rate?}`; what a schema cannot say (a time that parses, from before to) is checked here. */
function readBackfillRequest(raw: unknown, defaultRate: number): Pick<BackfillInput, 'from' | 'to' | 'events' | 'rate'> {
  const body = readBodyObject(raw, '"from" and "to" (ISO times), optionally "events" and "rate"');
  const time = (field: 'from' | 'to') => {
    const value = typeof body[field] === 'string' ? readTime(body[field] as string, field) : undefined;
    if (value === undefined) throw invalidField(`"${field}" is required: an ISO date or time`, field);
    return value;
  };
  const from = time('from');
  const to = time('to');
  if (from >= to) throw invalidField('"to" must be after "from" (the range is from <= timestamp < to)', 'to');
  const { events, rate } = body;
  if (events !== undefined && (!Array.isArray(events) || events.length === 0 || events.some((name) => typeof name !== 'string' || name === ''))) {
    throw invalidField('"events" must be a non-empty array of event names', 'events');
  }
  if (rate !== undefined && (!Number.isInteger(rate) || (rate as number) < 1)) throw invalidField('"rate" must be a positive integer (events per second)', 'rate');
  return { from, to, events: (events as string[] | undefined) ?? null, rate: (rate as number | undefined) ?? defaultRate };
}

/**
 * Backfills (beyond PostHog): a destination instance gets the project's stored events of a time
 * range. These routes only record what is wanted; the runners drive it (services/runner/src/backfills.ts).
 */
export async function backfillRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { store } = deps;

  app.post<{ Params: InstanceParams }>('/projects/:projectId/apps/:instanceId/backfill', { schema: schemas.startBackfill }, async (request, reply) => {
    const instance = await instanceOrNotFound(store, request.params.projectId, request.params.instanceId);
    const input = readBackfillRequest(request.body, deps.backfillRate);
    if (!isDestination(instance.capabilities)) {
      throw new ApiError(400, 'not_a_destination', `instance ${instance.id} (${instance.name}) has no onEvent or exportEvents to backfill`, { field: 'instanceId' });
    }
    const created = await store.createBackfill({ projectId: instance.projectId, instanceId: instance.id, ...input });
    if (!created) {
      const running = (await store.listBackfills(instance.id)).find((backfill) => backfill.state === 'running');
      throw new ApiError(409, 'backfill_running', `instance ${instance.id} already has a running backfill${running ? ` (${running.id})` : ''}; cancel it or wait for it`);
    }
    return reply.status(201).send(backfillView(created));
  });

  app.get<{ Params: InstanceParams }>('/projects/:projectId/apps/:instanceId/backfills', { schema: schemas.listBackfills }, async (request) => {
    const instance = await instanceOrNotFound(store, request.params.projectId, request.params.instanceId);
    return { results: (await store.listBackfills(instance.id)).map(backfillView) };
  });

  app.delete<{ Params: BackfillParams }>('/projects/:projectId/apps/:instanceId/backfills/:backfillId', { schema: schemas.cancelBackfill }, async (request) => {
    const instance = await instanceOrNotFound(store, request.params.projectId, request.params.instanceId);
    const backfill = await store.cancelBackfill(instance.id, Number(request.params.backfillId));
    if (!backfill) throw notFound(`backfill ${request.params.backfillId} of app instance ${instance.id}`);
    if (backfill.state !== 'cancelled') throw new ApiError(409, 'backfill_finished', `backfill ${backfill.id} is already ${backfill.state}`);
    return backfillView(backfill);
  });
}
