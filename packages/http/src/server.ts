import type { Server } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '@sluice/core';
import { emptyJsonBodyIsNoBody } from './empty-json-body';
import { errorHandler } from './errors';

export interface HttpServerOptions {
  /** The largest body a route takes unless it sets its own limit. */
  bodyLimit: number;
  /** Whose X-Forwarded-For is believed: a hop count, a list of addresses, or all/none. */
  trustedProxies: boolean | number | string[];
  logger: Logger;
}

/** How long a shutdown waits for the requests already in handlers before cutting connections. */
const SHUTDOWN_GRACE_MS = 10_000;
/** How often a shutdown looks for connections that have answered their request. */
const DRAIN_POLL_MS = 20;

/** A hop count becomes proxy-addr's trust function (fastify's types take no bare number). */
function trustProxyOption(trusted: boolean | number | string[]) {
  return typeof trusted === 'number' ? (_address: string, hop: number) => hop < trusted : trusted;
}

/**
 * The fastify instance every Sluice HTTP API is a plugin of: one JSON error shape for every
 * route (`errors.ts`), a JSON 404 naming the route, no trailing-slash distinctions, and an empty
 * JSON body taken as no body (`empty-json-body.ts`). The caller registers its plugins and listens.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit,
    routerOptions: { ignoreTrailingSlash: true },
    // X-Forwarded-For is believed only from the configured proxies; otherwise the socket's address.
    trustProxy: trustProxyOption(options.trustedProxies),
    // A request that reaches a handler while the server drains is served (the queues stay open
    // until the server has closed): fastify's own 503 for it carries no Retry-After, and a client
    // told nothing would either give up or retry at once.
    return503OnClosing: false,
  });
  app.setErrorHandler(errorHandler(options.logger));
  emptyJsonBodyIsNoBody(app);
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
  return app;
}

/**
 * Closes each connection once it has answered the request it is on, for at most `timeoutMs`, then
 * the rest. Node holds a connection busy from a request's first byte until its answer is sent, so
 * no request being read or handled is cut, and nothing has to be counted per request for it (hooks
 * on every request cost ~8% of a one-event /capture request). A keep-alive client that sends again
 * meanwhile is served on that connection (return503OnClosing is off), which closes once it has answered.
 */
async function closeConnectionsAsAnswered(server: Server, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    server.closeIdleConnections();
    const open = await new Promise<number>((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
    if (open === 0 || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
  server.closeAllConnections();
}

/**
 * Stops taking requests and closes the server once every request already begun is answered.
 * Node's server.close() alone waits for every keep-alive connection to end, and a client that keeps
 * sending on one can hold it open for ever; whatever is left on the wire after the answers was never
 * acknowledged, so those connections are cut and the client retries.
 */
export async function closeHttpServer(app: FastifyInstance, timeoutMs = SHUTDOWN_GRACE_MS): Promise<void> {
  const closed = app.close();
  await closeConnectionsAsAnswered(app.server, timeoutMs);
  await closed;
}
