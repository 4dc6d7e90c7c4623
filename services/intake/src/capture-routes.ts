import type { FastifyInstance } from 'fastify';
import { CaptureError, normalizeEvent, parseCaptureBody, type Project } from '@sluice/core';
import type { SluiceMetrics } from '@sluice/metrics';
import { decodeCaptureBody } from './decode-body';
import type { GroupCommitter } from './group-commit';

export const CAPTURE_PATHS = ['/capture', '/batch', '/e', '/i/v0/e', '/track'];

export interface CaptureDeps {
  committer: GroupCommitter;
  projectByToken: (token: string) => Promise<Project | null>;
  metrics: SluiceMetrics;
  maxBodyBytes: number;
}

/**
 * PostHog's capture endpoints. An event is acknowledged with `{"status":1}` only once the job
 * holding it is written to Redis; a request with any invalid event is refused whole, so a client
 * never has to guess which of its events were taken.
 */
export async function captureRoutes(app: FastifyInstance, deps: CaptureDeps): Promise<void> {
  // Capture bodies are decoded by hand whatever their Content-Type (see decodeCaptureBody).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.maxBodyBytes }, (_request, body, done) =>
    done(null, body),
  );
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.captureRequests.inc({ route: request.routeOptions.url ?? request.url, status: String(reply.statusCode) });
  });

  for (const path of CAPTURE_PATHS) {
    app.post<{ Querystring: { token?: string } }>(path, async (request) => {
      const capture = parseCaptureBody(decodeCaptureBody(request.body as Buffer | undefined), request.query.token);
      const project = await deps.projectByToken(capture.token);
      if (!project) throw new CaptureError('invalid_token', 'the project token is not valid', 401);
      const now = new Date();
      const events = capture.events.map((raw, index) =>
        normalizeEvent(raw, { projectId: project.id, ip: request.ip ?? null, now, sentAt: capture.sentAt, index }),
      );
      await deps.committer.submit(project.id, events);
      deps.metrics.eventsReceived.inc({ project: project.id }, events.length);
      return { status: 1 };
    });
  }
}
