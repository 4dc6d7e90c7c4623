import type { FastifyInstance } from 'fastify';
import { DROPPED_KEPT, TRAIL_SECONDS, type EventTrails } from '@sluice/queues';
import type { Store } from '@sluice/store';
import { invalidField } from './body';
import { projectOrNotFound } from './lookup';
import { readLimit } from './params';
import { consoleSchemas } from './console-schemas';

/**
 * Beyond PostHog: an event's trail through the chain (what each app did to it: its diff, a drop,
 * an error) for the sampled events (SLUICE_TRAIL_SAMPLE), kept an hour; and the project's last
 * dropped events with the app and the reason.
 */
export async function trailRoutes(app: FastifyInstance, deps: { store: Store; trails?: EventTrails }): Promise<void> {
  const trails = () => {
    if (!deps.trails) throw invalidField('event trails are not kept by this process', 'trails');
    return deps.trails;
  };
  app.get<{ Params: { projectId: string; uuid: string } }>('/projects/:projectId/events/:uuid/trail', { schema: consoleSchemas.eventTrail }, async (request) => {
    const { id } = await projectOrNotFound(deps.store, request.params.projectId);
    const { uuid } = request.params;
    if (!/^[0-9a-f-]{36}$/i.test(uuid)) throw invalidField(`"uuid" must be an event's uuid, got "${uuid}"`, 'uuid');
    const steps = await trails().trail(id, uuid.toLowerCase());
    return { uuid, traced: trails().traced(uuid.toLowerCase()), keptSeconds: TRAIL_SECONDS, steps };
  });
  app.get<{ Params: { projectId: string }; Querystring: { limit?: string } }>('/projects/:projectId/dropped', { schema: consoleSchemas.droppedEvents }, async (request) => {
    const { id } = await projectOrNotFound(deps.store, request.params.projectId);
    return { results: await trails().dropped(id, readLimit(request.query.limit, 50, DROPPED_KEPT)) };
  });
}
