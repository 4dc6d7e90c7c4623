import type { FastifyInstance } from 'fastify';
import { newProjectToken, type Project } from '@sluice/core';
import { invalidField, readBodyObject } from './body';
import { projectOrNotFound } from './lookup';
import type { AdminDeps } from './admin-routes';
import { schemas } from './schemas';
import { ApiError, notFound } from '@sluice/http';

type ProjectParams = { projectId: string };

/** The project as the admin API shows it (the token too: it is public, clients send it). */
export function projectView({ id, teamId, name, token, anonymizeIps }: Project) {
  return { id, teamId, name, token, anonymizeIps };
}

/** Project ids go into URLs and Redis keys: lowercase letters, digits, "-" and "_". */
const PROJECT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** An id made from a name: "Web Shop (EU)" → "web-shop-eu". */
function idFromName(name: string): string {
  return name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
}

function readName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalidField('"name" must be a non-empty string', 'name');
  return value.trim();
}

/**
 * Projects: create (answers the new token), list, get, rename and options, rotate the token,
 * delete with all its data. A change is published like a pipeline change, so every intake drops
 * its cached token lookups and every worker its VMs of a deleted project.
 */
export async function projectRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { store } = deps;

  app.get('/projects', { schema: schemas.listProjects }, async () => ({ results: (await store.listProjects()).map(projectView) }));

  app.post('/projects', { schema: schemas.createProject }, async (request, reply) => {
    const body = readBodyObject(request.body, '"name" (and optionally "id")');
    const name = readName(body.name);
    const id = body.id === undefined ? idFromName(name) : body.id;
    if (typeof id !== 'string' || !PROJECT_ID.test(id)) {
      throw invalidField(`"id" must be 1 to 64 lowercase letters, digits, "-" or "_", starting with a letter or digit${body.id === undefined ? ` (made from the name: "${String(id)}"; give one)` : ''}`, 'id');
    }
    if (await store.getProject(id)) throw new ApiError(409, 'conflict', `project "${id}" already exists`, { field: 'id' });
    const created = await store.createProject({ id, name, token: newProjectToken() });
    return reply.status(201).send(projectView(created));
  });

  app.get<{ Params: ProjectParams }>('/projects/:projectId', { schema: schemas.getProject }, async (request) => projectView(await projectOrNotFound(store, request.params.projectId)));

  app.patch<{ Params: ProjectParams }>('/projects/:projectId', { schema: schemas.updateProject }, async (request) => {
    const { id } = await projectOrNotFound(store, request.params.projectId);
    const body = readBodyObject(request.body, '"name" and/or "anonymizeIps"');
    if (body.anonymizeIps !== undefined && typeof body.anonymizeIps !== 'boolean') throw invalidField('"anonymizeIps" must be true or false', 'anonymizeIps');
    const updated = await store.updateProject(id, {
      ...(body.name !== undefined && { name: readName(body.name) }),
      ...(body.anonymizeIps !== undefined && { anonymizeIps: body.anonymizeIps as boolean }),
    });
    if (!updated) throw notFound(`project "${id}"`);
    await deps.pipelineChanged(id);
    return projectView(updated);
  });

  app.post<{ Params: ProjectParams }>('/projects/:projectId/rotate-token', { schema: schemas.rotateToken }, async (request) => {
    const { id } = await projectOrNotFound(store, request.params.projectId);
    const rotated = await store.setProjectToken(id, newProjectToken());
    if (!rotated) throw notFound(`project "${id}"`);
    await deps.pipelineChanged(id);
    return projectView(rotated);
  });

  app.delete<{ Params: ProjectParams }>('/projects/:projectId', { schema: schemas.deleteProject }, async (request, reply) => {
    const { id } = await projectOrNotFound(store, request.params.projectId);
    await store.deleteProject(id);
    await deps.pipelineChanged(id);
    return reply.status(204).send();
  });
}
