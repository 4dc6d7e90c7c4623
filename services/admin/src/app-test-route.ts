import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { RecordingFetch, recordingVm } from '@sluice/app-sdk';
import { eventDiff, isStage, type PluginEvent } from '@sluice/core';
import { ApiError, notFound } from '@sluice/http';
import { attachmentFile, type GuardedFetch } from '@sluice/sandbox';
import type { Store } from '@sluice/store';
import { invalidField, readBodyObject } from './body';
import { instanceOrNotFound, projectOrNotFound } from './lookup';
import { consoleSchemas } from './console-schemas';

export interface AppTestDeps {
  store: Store;
  /** The pipeline's guarded fetch: a test run sends its requests through it only when asked. */
  appFetch?: GuardedFetch;
}

type InstanceParams = { projectId: string; instanceId: string };

/** The event to test with: the one given (what is missing filled in as the pipeline would), or the project's latest stored one. */
async function testEvent(store: Store, projectId: string, teamId: number, given: unknown): Promise<PluginEvent> {
  const now = new Date().toISOString();
  let base: Record<string, unknown>;
  if (given === undefined) {
    const [latest] = await store.listEvents(projectId, { limit: 1 });
    if (!latest) throw new ApiError(400, 'no_events', `project "${projectId}" has no stored event yet: send one, or give "event"`, { field: 'event' });
    const { project_id: _project, created_at: _created, ...stored } = latest;
    base = stored;
  } else {
    if (typeof given !== 'object' || given === null || Array.isArray(given)) throw invalidField('"event" must be an event object', 'event');
    base = given as Record<string, unknown>;
    if (typeof base.event !== 'string' || base.event === '') throw invalidField('"event.event" must be a non-empty string', 'event.event');
    if (base.properties !== undefined && (typeof base.properties !== 'object' || base.properties === null || Array.isArray(base.properties))) {
      throw invalidField('"event.properties" must be an object', 'event.properties');
    }
  }
  return { uuid: randomUUID(), distinct_id: 'test-user', ip: null, site_url: '', now, sent_at: null, timestamp: now, ...base, team_id: teamId, properties: { ...(base.properties as object) } } as PluginEvent;
}

/**
 * POST /api/projects/:projectId/apps/:instanceId/test `{event?, send?}`: runs the instance's app in
 * a sandbox of its own with the instance's config and attachments, on the given event or the
 * project's latest: processEvent's result and diff, then onEvent/exportEvents on it for a
 * destination; its logs, the jobs it would enqueue, the events it would capture and the fetches it
 * would make — recorded, not sent unless `send: true`. meta.cache and meta.storage are empty
 * in-memory stand-ins: a test run changes nothing the pipeline keeps.
 */
export async function appTestRoutes(app: FastifyInstance, deps: AppTestDeps): Promise<void> {
  app.post<{ Params: InstanceParams }>('/projects/:projectId/apps/:instanceId/test', { schema: consoleSchemas.testInstance }, async (request) => {
    const instance = await instanceOrNotFound(deps.store, request.params.projectId, request.params.instanceId);
    const [project, appRecord] = await Promise.all([projectOrNotFound(deps.store, instance.projectId), deps.store.getApp(instance.appId)]);
    if (!appRecord) throw notFound(`app ${instance.appId}`);
    const body = readBodyObject(request.body, '"event" and/or "send"');
    const input = await testEvent(deps.store, instance.projectId, project.teamId, body.event);
    const files = await deps.store.listAttachments(instance.id);
    const fetch = new RecordingFetch(body.send === true ? deps.appFetch : undefined);
    const compiled = { pluginJson: appRecord.pluginJson, code: appRecord.code, capabilities: appRecord.capabilities, versionHash: appRecord.versionHash, optionalModules: [] };
    const run = await recordingVm(compiled, instance.config, { fetch, attachments: Object.fromEntries(files.map((file) => [file.key, attachmentFile(file)])) });
    const answer: Record<string, unknown> = { input };
    try {
      await run.vm.setup();
      let output: PluginEvent | null = input;
      if (isStage(run.vm.capabilities)) {
        const [outcome] = await run.vm.processEventBatch([structuredClone(input)]);
        if (outcome?.status === 'error') answer.error = outcome.error;
        output = outcome?.status === 'ok' ? outcome.event : outcome?.status === 'dropped' ? null : input;
        answer.outcome = outcome?.status === 'dropped' ? 'dropped' : outcome?.status === 'error' ? 'error' : 'ok';
      } else {
        answer.outcome = 'ok';
      }
      answer.output = output;
      answer.diff = output ? eventDiff(input, output) : [];
      if (output && run.vm.capabilities.includes('onEvent')) answer.onEvent = await run.vm.onEvent(output);
      if (output && run.vm.capabilities.includes('exportEvents')) answer.exportEvents = await run.vm.exportEvents([output]);
    } finally {
      await run.vm.teardown().catch(() => run.vm.dispose());
      await fetch.close();
    }
    return { ...answer, logs: run.logs, jobs: run.jobs, captured: run.captured, fetches: fetch.requests };
  });
}
