import type { FastifyInstance } from 'fastify';
import { attachmentKeys } from '@sluice/sandbox';
import { invalidField } from './body';
import { instanceOrNotFound } from './lookup';
import type { AdminDeps } from './admin-routes';
import { schemas } from './schemas';
import { ApiError, notFound } from '@sluice/http';

type AttachmentParams = { projectId: string; instanceId: string; key: string };

/** The largest attachment: it lives in the store and, as a literal, in every VM of the instance. */
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;

/** `attachment; filename="a.csv"` or `filename*=UTF-8''a%20b.csv` → the file name. */
function fileNameFromDisposition(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1]!.trim());
    } catch {
      // fall back to the plain form
    }
  }
  const plain = /filename\s*=\s*("((?:[^"\\]|\\.)*)"|[^;\s]+)/.exec(header);
  return plain ? (plain[2] ?? plain[1]!).replace(/\\(.)/g, '$1') : undefined;
}

/**
 * Attachments: the files of an instance's plugin.json config fields of type "attachment"
 * (PostHog's plugin attachments), uploaded as a raw body of any type. Each change bumps the
 * instance's attachments version and is published, so every process reloads the instance with
 * the new `meta.attachments`.
 */
export async function attachmentRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { store } = deps;
  // Whatever the file is (JSON and text included), the body is its bytes, never parsed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_ATTACHMENT_BYTES }, (_request, body, done) => done(null, body));

  async function attachmentField(params: AttachmentParams) {
    const instance = await instanceOrNotFound(store, params.projectId, String(params.instanceId));
    const app = await store.getApp(instance.appId);
    if (!app) throw notFound(`app ${instance.appId}`);
    const keys = attachmentKeys(app.pluginJson);
    if (!keys.includes(params.key)) {
      throw new ApiError(
        400,
        'invalid_parameter',
        `"${params.key}" is not an attachment field of ${app.name}: ${keys.length ? `its attachment fields are ${keys.join(', ')}` : 'its plugin.json has no config field of type "attachment"'}`,
        { field: 'key' },
      );
    }
    return instance;
  }

  app.put<{ Params: AttachmentParams; Querystring: { fileName?: string } }>(
    '/projects/:projectId/apps/:instanceId/attachments/:key',
    { schema: schemas.putAttachment },
    async (request) => {
      const instance = await attachmentField(request.params);
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0) throw invalidField('the body must be the file\'s contents (it is empty)', 'body');
      const fileName = request.query.fileName ?? fileNameFromDisposition(request.headers['content-disposition']) ?? request.params.key;
      const contentType = request.headers['content-type']?.trim() || 'application/octet-stream';
      const { key } = request.params;
      if (!(await store.setAttachment(instance.projectId, instance.id, { key, contentType, fileName, contents: body }))) {
        throw notFound(`app instance ${instance.id} of project "${instance.projectId}"`);
      }
      await deps.pipelineChanged(instance.projectId);
      return { key, contentType, fileName, size: body.length };
    },
  );

  app.delete<{ Params: AttachmentParams }>('/projects/:projectId/apps/:instanceId/attachments/:key', { schema: schemas.deleteAttachment }, async (request, reply) => {
    const instance = await attachmentField(request.params);
    if (!(await store.deleteAttachment(instance.projectId, instance.id, request.params.key))) {
      throw notFound(`attachment "${request.params.key}" of app instance ${instance.id}`);
    }
    await deps.pipelineChanged(instance.projectId);
    return reply.status(204).send();
  });
}
