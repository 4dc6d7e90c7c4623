import type { FastifyInstance } from 'fastify';

/**
 * Makes an empty body sent as `Content-Type: application/json` mean "no body", as it does to most
 * servers: many HTTP clients put that header on every request, DELETE and GET included, and
 * fastify's own parser refuses the empty body with a 400 before the route runs. A route that
 * needs a body still says so, through its schema or its handler, naming the field it misses.
 * Every non-empty body goes to fastify's parser unchanged (prototype-poisoning checks included).
 */
export function emptyJsonBodyIsNoBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    parseJson(request, text, done);
  });
}
