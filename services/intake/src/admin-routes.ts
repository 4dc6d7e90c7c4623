import type { FastifyInstance } from 'fastify';
import type { AppInstance } from '@sluice/core';
import type { Store } from '@sluice/store';
import { requireAdminToken } from './admin-auth';
import { readInstanceId, readLimit } from './admin-params';
import { installApp, readInstallRequest } from './app-install';
import { notFound } from './errors';

export interface AdminDeps {
  store: Store;
  adminToken: string;
  /** Tells every process that a project's pipeline changed. */
  pipelineChanged: (projectId: string) => Promise<void>;
}

type ProjectParams = { projectId: string };
type InstanceParams = ProjectParams & { instanceId: string };
type LimitQuery = { limit?: string };

/** The instance as the admin API shows it. */
function instanceView(instance: AppInstance) {
  const { id, appId, name, capabilities, order, enabled } = instance;
  return { id, appId, name, capabilities, order, enabled };
}

/** The admin API under /api: projects, apps, app logs and stored events. */
export async function adminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { store } = deps;
  app.addHook('preHandler', requireAdminToken(deps.adminToken));

  async function project(projectId: string) {
    const found = await store.getProject(projectId);
    if (!found) throw notFound(`project "${projectId}"`);
    return found;
  }

  async function instanceOf(projectId: string, rawInstanceId: string) {
    const instance = await store.getInstance(readInstanceId(rawInstanceId));
    if (!instance || instance.projectId !== projectId) throw notFound(`app instance ${rawInstanceId} of project "${projectId}"`);
    return instance;
  }

  app.get('/projects', async () => {
    const projects = await store.listProjects();
    return { results: projects.map(({ id, name, token }) => ({ id, name, token })) };
  });

  app.get<{ Params: ProjectParams }>('/projects/:projectId/apps', async (request) => {
    const { id } = await project(request.params.projectId);
    return { results: (await store.listInstances(id)).map(instanceView) };
  });

  app.post<{ Params: ProjectParams }>('/projects/:projectId/apps', async (request, reply) => {
    const { id } = await project(request.params.projectId);
    const instance = await installApp(store, id, readInstallRequest(request.body));
    await deps.pipelineChanged(id);
    return reply.status(201).send(instanceView(instance));
  });

  app.delete<{ Params: InstanceParams }>('/projects/:projectId/apps/:instanceId', async (request, reply) => {
    const instance = await instanceOf(request.params.projectId, request.params.instanceId);
    await store.deleteInstance(instance.projectId, instance.id);
    await deps.pipelineChanged(instance.projectId);
    return reply.status(204).send();
  });

  app.get<{ Params: InstanceParams; Querystring: LimitQuery }>('/projects/:projectId/apps/:instanceId/logs', async (request) => {
    const instance = await instanceOf(request.params.projectId, request.params.instanceId);
    const limit = readLimit(request.query.limit, 100, 10_000);
    return { results: await store.listLogs(instance.id, { limit }) };
  });

  app.get<{ Params: ProjectParams; Querystring: LimitQuery }>('/projects/:projectId/events', async (request) => {
    const { id } = await project(request.params.projectId);
    const limit = readLimit(request.query.limit, 100, 10_000);
    return { results: await store.listEvents(id, { limit }) };
  });
}
