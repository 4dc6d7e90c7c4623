import type { FastifyInstance } from 'fastify';
import type { QueueProducer } from '@sluice/queues';
import type { Store } from '@sluice/store';
import { requireAdminToken } from './admin-auth';
import { instanceOrNotFound, instanceView, projectOrNotFound } from './admin-lookup';
import { installApp, readInstallRequest } from './app-install';
import { deadLetterRoutes } from './dead-letter-routes';
import { instanceRoutes } from './instance-routes';
import { appRoutes } from './app-routes';
import { projectRoutes } from './project-routes';
import { readRoutes } from './read-routes';

export interface AdminDeps {
  store: Store;
  adminToken: string;
  /** Replayed dead letters go back onto the deliver queues. */
  producer: QueueProducer;
  /** Tells every process that a project's pipeline changed. */
  pipelineChanged: (projectId: string) => Promise<void>;
}

type ProjectParams = { projectId: string };

type InstanceParams = ProjectParams & { instanceId: string };

/** The admin API under /api: projects, apps and their instances, app logs, stored events, dead letters. */
export async function adminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { store } = deps;
  app.addHook('preHandler', requireAdminToken(deps.adminToken));

  const project = (projectId: string) => projectOrNotFound(store, projectId);
  const instanceOf = (projectId: string, rawInstanceId: string) => instanceOrNotFound(store, projectId, rawInstanceId);
  // The options fastify passed in carry this plugin's `/api` prefix: the children must not add it again.
  const childDeps: AdminDeps = { store: deps.store, adminToken: deps.adminToken, producer: deps.producer, pipelineChanged: deps.pipelineChanged };
  await app.register(instanceRoutes, childDeps);
  await app.register(deadLetterRoutes, childDeps);
  await app.register(projectRoutes, childDeps);
  await app.register(readRoutes, childDeps);
  await app.register(appRoutes, childDeps);

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

}
