import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SluiceMetrics } from '@sluice/metrics';

/** PostHog answers browsers from any origin, cookies allowed (@fastify/cors's options). */
export const CORS_OPTIONS = { origin: true, credentials: true, methods: ['GET', 'POST', 'OPTIONS'], maxAge: 86_400 };

/**
 * The headers @fastify/cors gives an actual (not preflight) request under CORS_OPTIONS, set by the
 * capture endpoints themselves: its hook, with the request counter's, cost ~8% of a one-event
 * /capture request, and an endpoint without hooks answers from a shorter path in fastify. The
 * preflights (OPTIONS) stay with @fastify/cors.
 */
export function addCorsHeaders(request: FastifyRequest, reply: FastifyReply): void {
  const origin = request.headers.origin;
  void reply.header('vary', 'Origin');
  if (origin) void reply.header('access-control-allow-origin', origin);
  void reply.header('access-control-allow-credentials', 'true');
}

/**
 * Counts answered capture-side requests by route and status (sluice_capture_requests_total). An
 * endpoint passes its registered path: fastify's `routeOptions` builds a new object on every read.
 */
export function requestCounter(metrics: SluiceMetrics): (request: FastifyRequest, statusCode: number, route?: string) => void {
  return (request, statusCode, route = request.routeOptions.url ?? request.url) => {
    metrics.captureRequests.inc({ route, status: String(statusCode) });
  };
}
