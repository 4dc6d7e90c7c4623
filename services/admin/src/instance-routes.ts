import type { FastifyInstance } from 'fastify';
import type { InstanceSettings } from '@sluice/core';
import { applyConfigDefaults, keepMaskedSecrets, maskedConfig, missingAttachments } from '@sluice/sandbox';
import { StoreInputError } from '@sluice/store';
import { invalidField, readBodyObject, readConfigValues, readPositiveIntArray } from './body';
import { instanceOrNotFound, instanceView, projectOrNotFound } from './lookup';
import type { AdminDeps } from './admin-routes';
import { schemas } from './schemas';
import { asInvalidApp, attachmentsMissing } from './app-install';
import { readInstanceSettings } from './instance-settings';
import { notFound } from '@sluice/http';

type ProjectParams = { projectId: string };
type InstanceParams = ProjectParams & { instanceId: string };

/**
 * Changing a project's instances: enable/disable and reconfigure one, reorder the chain. Each
 * change is published, so every process reloads the project within moments (teardownPlugin on the
 * old VM, setupPlugin on the new one); events already in flight keep the route they were given.
 */
export async function instanceRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { store } = deps;

  // One instance with its config; secret values are write-only, so they come back masked.
  app.get<{ Params: InstanceParams }>('/projects/:projectId/apps/:instanceId', { schema: schemas.getInstance }, async (request) => {
    const instance = await instanceOrNotFound(store, request.params.projectId, request.params.instanceId);
    const app = await store.getApp(instance.appId);
    if (!app) throw notFound(`app ${instance.appId}`);
    const attachments = await store.listAttachmentInfo(instance.id);
    return { ...instanceView(instance), config: maskedConfig(app.pluginJson, instance.config), versionHash: app.versionHash, pluginJson: app.pluginJson, attachments };
  });

  app.patch<{ Params: InstanceParams }>('/projects/:projectId/apps/:instanceId', { schema: schemas.updateInstance }, async (request) => {
    const instance = await instanceOrNotFound(store, request.params.projectId, request.params.instanceId);
    const body = readBodyObject(request.body, '"enabled", "config" and/or "settings"');
    const changes: { enabled?: boolean; config?: Record<string, string>; settings?: InstanceSettings } = {};
    if (body.settings !== undefined) changes.settings = readInstanceSettings(body.settings);
    if (body.enabled !== undefined) {
      if (typeof body.enabled !== 'boolean') throw invalidField('"enabled" must be true or false', 'enabled');
      changes.enabled = body.enabled;
    }
    if (changes.enabled) {
      // PostHog's rule: an instance whose required attachments are missing cannot be enabled.
      const app = await store.getApp(instance.appId);
      const uploaded = (await store.listAttachmentInfo(instance.id)).map((file) => file.key);
      const missing = app ? missingAttachments(app.pluginJson, uploaded) : [];
      if (missing.length > 0) throw attachmentsMissing(missing);
      // Nor one whose required values are missing (installed disabled, not configured yet).
      if (app && body.config === undefined) {
        try {
          applyConfigDefaults(app.pluginJson, instance.config);
        } catch (error) {
          throw asInvalidApp(error);
        }
      }
    }
    if (body.config !== undefined) {
      const app = await store.getApp(instance.appId);
      if (!app) throw notFound(`app ${instance.appId}`);
      try {
        // The whole config is replaced, as in PostHog: defaults fill what is not given.
        changes.config = applyConfigDefaults(app.pluginJson, keepMaskedSecrets(app.pluginJson, readConfigValues(body.config), instance.config));
      } catch (error) {
        throw asInvalidApp(error);
      }
    }
    const updated = await store.updateInstance(instance.projectId, instance.id, changes);
    if (!updated) throw notFound(`app instance ${instance.id} of project "${instance.projectId}"`);
    await deps.pipelineChanged(instance.projectId);
    return instanceView(updated);
  });

  app.put<{ Params: ProjectParams }>('/projects/:projectId/apps/order', { schema: schemas.orderInstances }, async (request) => {
    const { id } = await projectOrNotFound(store, request.params.projectId);
    const body = readBodyObject(request.body, '"order": [instance ids, first to last]');
    const order = readPositiveIntArray(body.order, 'order');
    try {
      const instances = await store.setInstanceOrder(id, order);
      await deps.pipelineChanged(id);
      return { results: instances.map(instanceView) };
    } catch (error) {
      if (error instanceof StoreInputError) throw invalidField(error.message, 'order');
      throw error;
    }
  });
}
