import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '@sluice/http';

/**
 * packages/console/dist, found through the package (not a path relative to this file: the CLI runs
 * this code bundled into packages/cli/dist).
 */
export function consoleDistDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@sluice/console/package.json')), 'dist');
}

/** esbuild names every asset after its content's hash: a browser may keep it for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The web console at /console/ (and `/` sends a browser there): the single-page app built by
 * packages/console/build.mjs. Its index.html is revalidated on every load so a new build is seen at
 * once; every other file is content-hashed and cached for a year. Everything it does goes through
 * the admin API (/api), logged in by the session cookie of POST /api/session.
 */
export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  const root = consoleDistDir();
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/', 302));
  if (!existsSync(join(root, 'index.html'))) {
    // Not built (a checkout that skipped `npm run setup`): say how, rather than a bare 404.
    app.get('/console/*', { schema: { hide: true } }, async () => {
      throw new ApiError(503, 'console_not_built', `the console is not built (${root} has no index.html): run "npm run setup"`);
    });
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/console/',
    cacheControl: false,
    etag: true,
    setHeaders: (response, path) => {
      response.header('cache-control', path.endsWith('index.html') ? 'no-cache' : IMMUTABLE);
      // The console loads only its own files and talks only to its own origin.
      response.header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
      response.header('x-content-type-options', 'nosniff');
    },
  });
  // The server ignores trailing slashes, so /console/ is /console, which the plugin's /console/* does not match.
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.sendFile('index.html'));
}
