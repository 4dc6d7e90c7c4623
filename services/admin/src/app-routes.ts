import type { FastifyInstance } from 'fastify';
import type { AppRecord } from '@sluice/core';
import { StoreInputError } from '@sluice/store';
import { invalidField, readAppSourceField, readBodyObject, readConfigValues } from './body';
import { instanceOrNotFound, instanceView } from './lookup';
import type { AdminDeps } from './admin-routes';
import { schemas } from './schemas';
import { upgradeInstance } from './app-install';
import { ApiError, notFound } from '@sluice/http';

type AppParams = { appId: string };
type InstanceParams = { projectId: string; instanceId: string };

/** An installed app version as the admin API shows it: what it can do and what it needs. */
function appView(app: AppRecord) {
  const { id, name, versionHash, capabilities, pluginJson, createdAt } = app;
  return { id, name, versionHash, capabilities, description: pluginJson.description ?? null, config: pluginJson.config ?? [], files: Object.keys(app.source), createdAt };
}

function readAppId(raw: string): number {
  const id = Number(raw);
  if (!Number.isInteger(id) || id < 1) throw invalidField(`"appId" must be a positive integer, got "${raw}"`, 'appId');
  return id;
}

/** Installed app versions: list, get, delete (refused while in use unless forced), and upgrading an instance to new source. */
export async function appRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { store } = deps;

  app.get('/apps', { schema: schemas.listApps }, async () => ({ results: (await store.listApps()).map(appView) }));

  app.get<{ Params: AppParams; Querystring: { source?: string } }>('/apps/:appId', { schema: schemas.getApp }, async (request) => {
    const found = await store.getApp(readAppId(request.params.appId));
    if (!found) throw notFound(`app ${request.params.appId}`);
    const withSource = request.query.source === '1' || request.query.source === 'true';
    return { ...appView(found), ...(withSource && { source: found.source }) };
  });

  app.delete<{ Params: AppParams; Querystring: { force?: string } }>('/apps/:appId', { schema: schemas.deleteApp }, async (request, reply) => {
    const id = readAppId(request.params.appId);
    const force = request.query.force === '1' || request.query.force === 'true';
    try {
      const { deleted, projects } = await store.deleteApp(id, { force });
      if (!deleted) throw notFound(`app ${id}`);
      for (const projectId of projects) await deps.pipelineChanged(projectId);
      return reply.status(204).send();
    } catch (error) {
      if (error instanceof StoreInputError) throw new ApiError(409, 'in_use', `${error.message}; remove them first or delete with ?force=1`);
      throw error;
    }
  });

  app.post<{ Params: InstanceParams }>('/projects/:projectId/apps/:instanceId/upgrade', { schema: schemas.upgradeInstance }, async (request) => {
    const instance = await instanceOrNotFound(store, request.params.projectId, request.params.instanceId);
    const body = readBodyObject(request.body, '"source" (and optionally "config")');
    const config = body.config === undefined ? undefined : readConfigValues(body.config);
    const upgraded = await upgradeInstance(store, instance, readAppSourceField(body.source), config);
    if (!upgraded) throw notFound(`app instance ${instance.id} of project "${instance.projectId}"`);
    await deps.pipelineChanged(instance.projectId);
    return instanceView(upgraded);
  });
}
