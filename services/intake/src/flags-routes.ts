import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/**
 * `/decide` and `/flags`: posthog-js asks for feature flags and remote config at start. Sluice has
 * no flags, so it answers a valid "nothing enabled" in both the old (/decide v3) and the new
 * (/flags v2) shape, and remote config turned off, so the client neither errors nor retries.
 */
function noFlags() {
  return {
    featureFlags: {},
    featureFlagPayloads: {},
    flags: {},
    errorsWhileComputingFlags: false,
    quotaLimited: [],
    requestId: randomUUID(),
    config: { enable_collect_everything: true },
    toolbarParams: {},
    isAuthenticated: false,
    editorParams: {},
    supportedCompression: ['gzip', 'gzip-js'],
    sessionRecording: false,
    surveys: false,
    heatmaps: false,
    siteApps: [],
    capturePerformance: false,
    autocapture_opt_out: false,
    autocaptureExceptions: false,
    elementsChainAsString: true,
  };
}

export async function flagsRoutes(app: FastifyInstance): Promise<void> {
  for (const path of ['/decide', '/flags']) {
    app.get(path, async () => noFlags());
    app.post(path, async () => noFlags());
  }
  // posthog-js's remote config (newer versions load it before /flags).
  app.get<{ Params: { token: string } }>('/array/:token/config', async () => noFlags());
  app.get<{ Params: { token: string } }>('/array/:token/config.js', async (_request, reply) =>
    reply.type('application/javascript').send('/* Sluice: no remote config */'),
  );
}
