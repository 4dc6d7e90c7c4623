import cors from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CaptureError, ingestedRequestText, newUuidSeed, type IngestedRequestText, type PipelineCache, type Project } from '@sluice/core';
import type { SluiceMetrics } from '@sluice/metrics';
import { entryQueue } from '@sluice/queues';
import type { Backpressure } from './backpressure';
import type { CaptureChecker } from './capture-checker';
import { laneKey, withOverflow } from './capture-parts';
import { CORS_OPTIONS, addCorsHeaders, requestCounter } from './capture-replies';
import { flagsRoutes } from './flags-routes';
import type { GroupCommitter } from './group-commit';
import type { HotPersons } from './hot-persons';
import type { RateLimiter } from './rate-limit';

export const CAPTURE_PATHS = ['/capture', '/batch', '/e', '/i/v0/e', '/track', '/engage'];

/** One lane's share of an accepted request, as group commit takes it. */
interface AcceptedPart {
  /** Group commit's key: the project and the lane (laneKey). */
  lane: string;
  events: number;
  text: IngestedRequestText;
}

export interface CaptureDeps {
  /** Takes each accepted request's parts (one per lane) as the JSON text of an IngestedRequest, keyed by laneKey. */
  committer: GroupCommitter<IngestedRequestText>;
  /** Projects by token, cached (TokenCache). */
  projects: { peek(token: string): Project | null | undefined; get(token: string): Promise<Project | null> };
  pipelines: PipelineCache;
  metrics: SluiceMetrics;
  rateLimiter: RateLimiter;
  /** Per-person token buckets: a hot person's excess (counted and warned of) takes the unordered lane. */
  hotPersons: HotPersons;
  backpressure: Backpressure;
  /** Decodes and checks bodies, large ones on threads of their own. */
  checker: CaptureChecker;
  maxBodyBytes: number;
  maxDecodedBytes: number;
  maxEventsPerRequest: number;
  /** SLUICE_ORDER_SHARDS: the ordered lanes a request is split over. */
  orderShards: number;
  /** Whether the Redis connection is up: while it is not, capture answers 503 at once. */
  redisUp: () => boolean;
  /** The intake's error handler (errors.ts): every refusal's JSON body. */
  handleError: (error: Error, request: FastifyRequest, reply: FastifyReply) => FastifyReply;
}

/** PostHog's answer to an accepted request. */
const ACCEPTED = { status: 1 };

type CaptureQuery = { token?: string; api_key?: string; data?: string; compression?: string };

/**
 * PostHog's capture endpoints, for every client as it is: POST and GET, JSON, forms, gzip, base64
 * and lz64 bodies, CORS for browsers. An event is acknowledged with `{"status":1}` only once the
 * job holding it is written to Redis; a request with any invalid event is refused whole, so a
 * client never has to guess which of its events were taken. Refusals that a client should retry
 * (rate limit 429, backpressure 503) carry Retry-After.
 */
export async function captureRoutes(app: FastifyInstance, deps: CaptureDeps): Promise<void> {
  const count = requestCounter(deps.metrics);
  // Capture bodies are decoded by hand whatever their Content-Type (see decodeCaptureBody).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.maxBodyBytes }, (_request, body, done) => done(null, body));

  // What browsers ask besides capture (CORS preflights, posthog-js's /decide and /flags): a few
  // requests per page view, so @fastify/cors and a counting hook serve them as hooks.
  await app.register(async (browserExtras) => {
    await browserExtras.register(cors, CORS_OPTIONS);
    browserExtras.addHook('onResponse', (request, reply, next) => {
      count(request, reply.statusCode);
      next();
    });
    await browserExtras.register(flagsRoutes);
  });

  // The capture endpoints take every event, so they run no hooks: each answer sets its CORS
  // headers and is counted where it is made, the handler or this error handler.
  await app.register(async (endpoints) => {
    endpoints.setErrorHandler((error: Error, request, reply) => {
      addCorsHeaders(request, reply);
      const answered = deps.handleError(error, request, reply);
      count(request, reply.statusCode);
      return answered;
    });
    for (const path of CAPTURE_PATHS) {
      endpoints.post<{ Querystring: CaptureQuery }>(path, (request, reply) => capture(request, reply, path));
      // Beacons and image pixels send everything in the query string (`?data=`).
      endpoints.get<{ Querystring: CaptureQuery }>(path, (request, reply) => capture(request, reply, path));
    }
  });

  /**
   * Everything before the queue write: the body's checks (checkCapture, on a thread for large
   * bodies), the project, its limits. Events are checked, so a request is refused or accepted
   * whole, but normalized later, by the first hop's consumer (IngestedRequest): the job holds the
   * body's own text, and no parsed body outlives its check.
   */
  async function accept(request: FastifyRequest<{ Querystring: CaptureQuery }>, engage: boolean): Promise<{ projectId: string; events: number; parts: AcceptedPart[] }> {
    const { query } = request;
    const input = {
      body: request.body as Buffer | undefined,
      contentEncoding: request.headers['content-encoding'],
      compression: query.compression,
      queryData: query.data,
      queryToken: query.token || query.api_key,
      engage,
      maxDecodedBytes: deps.maxDecodedBytes,
      maxEventsPerRequest: deps.maxEventsPerRequest,
      shards: deps.orderShards,
    };
    // Each step answers from what it has at hand when it can (the `…Now`/peek forms) and waits
    // only when it cannot: a promise per step was a tenth of a one-event request's cost.
    const checked = deps.checker.checkNow(input) ?? (await deps.checker.check(input));
    const known = deps.projects.peek(checked.token);
    const project = known === undefined ? await deps.projects.get(checked.token) : known;
    if (!project) throw new CaptureError('invalid_token', 'the project token is not valid', 401);
    const { events } = checked;
    const route = deps.pipelines.peekRoute(project.id) ?? (await deps.pipelines.route(project.id));
    // One lane stands for all: personShard spreads persons evenly over them.
    const queue = entryQueue(route, checked.parts[0]!.shard);
    if (!deps.redisUp()) throw redisUnavailable('Redis is unreachable');
    const over = deps.backpressure.isOverNow(queue) ?? (await deps.backpressure.isOver(queue).catch((error: Error) => {
      throw redisUnavailable(`the queue's length could not be read (${error.message})`);
    }));
    if (over) {
      deps.metrics.intakeRefused.inc({ project: project.id, reason: 'backpressure' }, events);
      throw new CaptureError('overloaded', 'the pipeline is behind; retry shortly', 503, 1);
    }
    const waitMs = deps.rateLimiter.enabled ? await deps.rateLimiter.take(project.id, events) : 0;
    if (waitMs > 0) {
      deps.metrics.intakeRefused.inc({ project: project.id, reason: 'rate_limit' }, events);
      throw new CaptureError('rate_limited', `project "${project.id}" is over its rate limit`, 429, Math.ceil(waitMs / 1000));
    }
    // A hot person's excess gives up its order: it takes the unordered lane (PostHog's overflow).
    const excess = deps.hotPersons.take(project.id, checked.people);
    const parts = excess ? withOverflow(checked.parts, checked.people, excess) : checked.parts;
    const context = {
      ip: project.anonymizeIps ? null : (request.ip ?? null),
      anonymizeIp: project.anonymizeIps,
      teamId: project.teamId,
      now: Date.now(),
    };
    return {
      projectId: project.id,
      events,
      // Each part is a request of its own, with its own uuid seed (uuids are fixed per job, not per client request).
      parts: parts.map((part) => ({ lane: laneKey(project.id, part.shard), events: part.events, text: ingestedRequestText({ ...context, uuidSeed: newUuidSeed() }, part.json) })),
    };
  }

  /** `route`: the endpoint's path as registered (what fastify's routeOptions.url says, without building an object). */
  async function capture(request: FastifyRequest<{ Querystring: CaptureQuery }>, reply: FastifyReply, route: string) {
    const accepted = await accept(request, route === '/engage');
    const [only, ...more] = accepted.parts;
    if (more.length === 0) await deps.committer.submit(only!.lane, only!.text, only!.events);
    else await Promise.all(accepted.parts.map((part) => deps.committer.submit(part.lane, part.text, part.events)));
    deps.metrics.eventsReceived.inc({ project: accepted.projectId }, accepted.events);
    addCorsHeaders(request, reply);
    count(request, 200, route);
    return ACCEPTED;
  }
}

/** Redis is down or failing over: the client retries after Retry-After, nothing of it was accepted. */
export function redisUnavailable(reason: string): CaptureError {
  return new CaptureError('unavailable', `${reason}; retry shortly`, 503, 2);
}
