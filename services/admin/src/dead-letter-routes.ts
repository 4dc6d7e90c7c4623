import type { FastifyInstance } from 'fastify';
import { readBodyObject, readPositiveIntArray, invalidField } from './body';
import { projectOrNotFound } from './lookup';
import { readInstanceId, readLimit } from './params';
import type { AdminDeps } from './admin-routes';
import { schemas } from './schemas';
import { replayDeadLetters } from './dead-letters';

type ProjectParams = { projectId: string };
type ListQuery = { instance?: string; limit?: string; after?: string };

/** Dead letters: events a destination could not take after its last retry, listed and replayed. */
export async function deadLetterRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { store, producer } = deps;

  app.get<{ Params: ProjectParams; Querystring: ListQuery }>('/projects/:projectId/dead-letters', { schema: schemas.deadLetters }, async (request) => {
    const { id } = await projectOrNotFound(store, request.params.projectId);
    const { instance, after } = request.query;
    const instanceId = instance === undefined || instance === '' ? undefined : readInstanceId(instance);
    const afterId = after === undefined || after === '' ? undefined : Number(after);
    if (afterId !== undefined && !Number.isInteger(afterId)) {
      throw invalidField(`"after" must be a dead letter id, got "${after}"`, 'after');
    }
    const filter = instanceId === undefined ? {} : { instanceId };
    const limit = readLimit(request.query.limit, 100, 10_000);
    const results = await store.listDeadLetters(id, { ...filter, limit, ...(afterId !== undefined && { afterId }) });
    return { results, total: await store.countDeadLetters(id, filter) };
  });

  app.post<{ Params: ProjectParams }>('/projects/:projectId/dead-letters/replay', { schema: schemas.replayDeadLetters }, async (request) => {
    const { id } = await projectOrNotFound(store, request.params.projectId);
    const body = readBodyObject(request.body, '');
    const selection: { instanceId?: number; ids?: number[]; limit?: number } = {};
    if (body.instanceId !== undefined) {
      if (!Number.isInteger(body.instanceId) || (body.instanceId as number) < 1) throw invalidField('"instanceId" must be a positive integer', 'instanceId');
      selection.instanceId = body.instanceId as number;
    }
    if (body.ids !== undefined) selection.ids = readPositiveIntArray(body.ids, 'ids');
    if (body.limit !== undefined) {
      if (!Number.isInteger(body.limit) || (body.limit as number) < 1) throw invalidField('"limit" must be a positive integer', 'limit');
      selection.limit = body.limit as number;
    }
    return replayDeadLetters(store, producer, id, selection);
  });
}
