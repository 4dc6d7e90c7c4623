import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { EventTrails, ProcessRegistry, QueueProducer } from '@sluice/queues';
import type { GuardedFetch } from '@sluice/sandbox';
import type { Store } from '@sluice/store';
import { requireAdminToken, sessionRoutes } from './auth';
import { appStatsRoutes } from './app-stats';
import { appTestRoutes } from './app-test-route';
import { activityRoutes } from './activity-routes';
import { trailRoutes } from './trail-routes';
import { instanceOrNotFound, instanceView, projectOrNotFound } from './lookup';
import { adminValidatorCompiler, schemas } from './schemas';
import { ARCHIVE_CONTENT_TYPES } from './app-archive';
import { installApp, readArchiveInstall, readInstallRequest } from './app-install';
import { attachmentRoutes } from './attachment-routes';
import { backfillRoutes } from './backfill-routes';
import { deadLetterRoutes } from './dead-letter-routes';
import { instanceRoutes } from './instance-routes';
import { appRoutes } from './app-routes';
import { metricsTargetRoutes, statusRoutes } from './process-routes';
import { projectRoutes } from './project-routes';
import { readRoutes } from './read-routes';

export interface AdminDeps {
  store: Store;
  adminToken: string;
  /** Replayed dead letters go back onto the deliver queues. */
  producer: QueueProducer;
  /** Tells every process that a project's pipeline changed. */
  pipelineChanged: (projectId: string) => Promise<void>;
  /** The running processes (service discovery, status). */
  processes: ProcessRegistry;
  /** Events/s of a backfill whose request names no rate (SLUICE_BACKFILL_RATE). */
  backfillRate: number;
  /** SLUICE_ORDER_SHARDS: the ordered lanes each queue family has, summed in GET /api/status. */
  orderShards: number;
  /** The guarded fetch apps get: an app test run sends through it when asked. */
  appFetch?: GuardedFetch;
  /** Where the stage workers keep sampled events' trails and dropped events (the console's live events). */
  trails?: EventTrails;
}

type ProjectParams = { projectId: string };

type InstanceParams = ProjectParams & { instanceId: string };

/** The largest uploaded app archive. */
const MAX_ARCHIVE_BYTES = 20 * 1024 * 1024;

/**
 * The admin API under /api: projects, apps and their instances, attachments, app logs, stored
 * events, dead letters; every route with JSON schemas (see schemas.ts), described by the
 * OpenAPI document at GET /api/docs/json. That document is public (it holds no data); every
 * other route needs the admin token.
 */
export async function adminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  app.setValidatorCompiler(adminValidatorCompiler);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Sluice admin API', version: '0.1.0', description: 'Errors are `{"error": code, "message", "details": {"field"|"file"}}`.' },
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'SLUICE_ADMIN_TOKEN' } } },
      security: [{ adminToken: [] }],
    },
  });
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
  // The options fastify passed in carry this plugin's `/api` prefix: the children must not add it again.
  const childDeps: AdminDeps = { store: deps.store, adminToken: deps.adminToken, producer: deps.producer, pipelineChanged: deps.pipelineChanged, processes: deps.processes, backfillRate: deps.backfillRate, orderShards: deps.orderShards, ...(deps.appFetch && { appFetch: deps.appFetch }), ...(deps.trails && { trails: deps.trails }) };
  // The console's login is a session cookie (auth.ts); API clients send the token as a Bearer header.
  await app.register(cookie);
  await app.register(metricsTargetRoutes, childDeps);
  await app.register(sessionRoutes, childDeps);
  await app.register(securedRoutes, childDeps);
}

async function securedRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { store } = deps;
  // onRequest: an unauthenticated request is refused before its body is even read or validated.
  app.addHook('onRequest', requireAdminToken(deps.adminToken));
  // An app archive arrives as its raw bytes (see readAppArchive; told apart by its first bytes).
  app.addContentTypeParser(ARCHIVE_CONTENT_TYPES, { parseAs: 'buffer', bodyLimit: MAX_ARCHIVE_BYTES }, (_request, body, done) => done(null, body));

  const project = (projectId: string) => projectOrNotFound(store, projectId);
  const instanceOf = (projectId: string, rawInstanceId: string) => instanceOrNotFound(store, projectId, String(rawInstanceId));
  await app.register(instanceRoutes, deps);
  await app.register(deadLetterRoutes, deps);
  await app.register(projectRoutes, deps);
  await app.register(readRoutes, deps);
  await app.register(appRoutes, deps);
  await app.register(attachmentRoutes, deps);
  await app.register(backfillRoutes, deps);
  await app.register(statusRoutes, deps);
  await app.register(appStatsRoutes, deps);
  await app.register(appTestRoutes, deps);
  await app.register(activityRoutes, deps);
  await app.register(trailRoutes, deps);

  app.get<{ Params: ProjectParams }>('/projects/:projectId/apps', { schema: schemas.listInstances }, async (request) => {
    const { id } = await project(request.params.projectId);
    return { results: (await store.listInstances(id)).map(instanceView) };
  });

  // JSON `{source, config, order, enabled}`, or an archive's bytes with config in the query.
  app.post<{ Params: ProjectParams; Querystring: Record<string, unknown> }>('/projects/:projectId/apps', { schema: schemas.installApp }, async (request, reply) => {
    const { id } = await project(request.params.projectId);
    const install = Buffer.isBuffer(request.body) ? await readArchiveInstall(request.body, request.query) : readInstallRequest(request.body);
    const instance = await installApp(store, id, install);
    await deps.pipelineChanged(id);
    const { missingAttachments } = instance;
    return reply.status(201).send({ ...instanceView(instance), ...(missingAttachments && { missingAttachments }) });
  });

  app.delete<{ Params: InstanceParams }>('/projects/:projectId/apps/:instanceId', { schema: schemas.removeInstance }, async (request, reply) => {
    const instance = await instanceOf(request.params.projectId, request.params.instanceId);
    await store.deleteInstance(instance.projectId, instance.id);
    await deps.pipelineChanged(instance.projectId);
    return reply.status(204).send();
  });
}
