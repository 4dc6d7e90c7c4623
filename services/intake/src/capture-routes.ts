import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CaptureError, eventNormalizer, parseCaptureBody, type PipelineCache, type Project } from '@sluice/core';
import type { SluiceMetrics } from '@sluice/metrics';
import { entryQueue } from '@sluice/queues';
import type { Backpressure } from './backpressure';
import { decodeCaptureBody } from './decode-body';
import { engageBody } from './engage';
import { flagsRoutes } from './flags-routes';
import type { GroupCommitter } from './group-commit';
import type { RateLimiter } from './rate-limit';

export const CAPTURE_PATHS = ['/capture', '/batch', '/e', '/i/v0/e', '/track', '/engage'];

export interface CaptureDeps {
  /** Takes each request's events as the JSON of their list (`[{…},{…}]`). */
  committer: GroupCommitter<string>;
  projectByToken: (token: string) => Promise<Project | null>;
  pipelines: PipelineCache;
  metrics: SluiceMetrics;
  rateLimiter: RateLimiter;
  backpressure: Backpressure;
  maxBodyBytes: number;
  maxDecodedBytes: number;
  maxEventsPerRequest: number;
}

type CaptureQuery = { token?: string; api_key?: string; data?: string; compression?: string };

/**
 * PostHog's capture endpoints, for every client as it is: POST and GET, JSON, forms, gzip, base64
 * and lz64 bodies, CORS for browsers. An event is acknowledged with `{"status":1}` only once the
 * job holding it is written to Redis; a request with any invalid event is refused whole, so a
 * client never has to guess which of its events were taken. Refusals that a client should retry
 * (rate limit 429, backpressure 503) carry Retry-After.
 */
export async function captureRoutes(app: FastifyInstance, deps: CaptureDeps): Promise<void> {
  // PostHog answers browsers from any origin, cookies allowed.
  await app.register(cors, { origin: true, credentials: true, methods: ['GET', 'POST', 'OPTIONS'], maxAge: 86_400 });
  // Capture bodies are decoded by hand whatever their Content-Type (see decodeCaptureBody).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.maxBodyBytes }, (_request, body, done) => done(null, body));
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.captureRequests.inc({ route: request.routeOptions.url ?? request.url, status: String(reply.statusCode) });
  });
  await app.register(flagsRoutes);

  /**
   * Everything before the queue write: decoding, checks, normalization, serialization. A function
   * of its own so that the parsed body and the events are garbage as soon as their bytes exist:
   * a request then waits for its batch's Redis write holding only those bytes. (Held across that
   * wait, every in-flight request's objects survived young-generation collections, were promoted,
   * and made the old generation collect several times a second.)
   */
  async function accept(request: FastifyRequest<{ Querystring: CaptureQuery }>, engage: boolean): Promise<{ projectId: string; events: number; json: string }> {
    const { query } = request;
    let body = await decodeCaptureBody({
      body: request.body as Buffer | undefined,
      contentEncoding: request.headers['content-encoding'],
      compression: query.compression,
      queryData: query.data,
      maxDecodedBytes: deps.maxDecodedBytes,
    });
    if (engage) body = engageBody(body);
    const parsed = parseCaptureBody(body, query.token || query.api_key);
    if (parsed.events.length > deps.maxEventsPerRequest) {
      throw new CaptureError('too_many_events', `the request holds ${parsed.events.length} events; at most ${deps.maxEventsPerRequest} are accepted per request`, 413);
    }
    const project = await deps.projectByToken(parsed.token);
    if (!project) throw new CaptureError('invalid_token', 'the project token is not valid', 401);
    const ip = project.anonymizeIps ? null : (request.ip ?? null);
    const normalize = eventNormalizer({ projectId: project.id, ip, anonymizeIp: project.anonymizeIps, now: new Date(), sentAt: parsed.sentAt });
    const events = parsed.events.map(normalize);
    const queue = entryQueue(await deps.pipelines.route(project.id));
    if (await deps.backpressure.isOver(queue)) {
      deps.metrics.intakeRefused.inc({ project: project.id, reason: 'backpressure' }, events.length);
      throw new CaptureError('overloaded', 'the pipeline is behind; retry shortly', 503, 1);
    }
    const waitMs = await deps.rateLimiter.take(project.id, events.length);
    if (waitMs > 0) {
      deps.metrics.intakeRefused.inc({ project: project.id, reason: 'rate_limit' }, events.length);
      throw new CaptureError('rate_limited', `project "${project.id}" is over its rate limit`, 429, Math.ceil(waitMs / 1000));
    }
    // Serialized once, here: the batch's job is put together from this text, not stringified
    // again (serializedPipelineJob).
    return { projectId: project.id, events: events.length, json: JSON.stringify(events) };
  }

  async function capture(request: FastifyRequest<{ Querystring: CaptureQuery }>, engage: boolean) {
    const accepted = await accept(request, engage);
    await deps.committer.submit(accepted.projectId, accepted.json, accepted.events);
    deps.metrics.eventsReceived.inc({ project: accepted.projectId }, accepted.events);
    return { status: 1 };
  }

  for (const path of CAPTURE_PATHS) {
    const engage = path === '/engage';
    app.post<{ Querystring: CaptureQuery }>(path, (request) => capture(request, engage));
    // Beacons and image pixels send everything in the query string (`?data=`).
    app.get<{ Querystring: CaptureQuery }>(path, (request) => capture(request, engage));
  }
}
