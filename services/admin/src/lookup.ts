import type { AppInstance, Project } from '@sluice/core';
import type { Store } from '@sluice/store';
import { readInstanceId } from './params';
import { notFound } from '@sluice/http';

export async function projectOrNotFound(store: Store, projectId: string): Promise<Project> {
  const found = await store.getProject(projectId);
  if (!found) throw notFound(`project "${projectId}"`);
  return found;
}

/** The instance, if it belongs to that project: ids of other projects' instances are "not found". */
export async function instanceOrNotFound(store: Store, projectId: string, rawInstanceId: string): Promise<AppInstance> {
  const instance = await store.getInstance(readInstanceId(rawInstanceId));
  if (!instance || instance.projectId !== projectId) throw notFound(`app instance ${rawInstanceId} of project "${projectId}"`);
  return instance;
}

/** The instance as the admin API shows it (config is left out: it may hold secrets). */
export function instanceView(instance: AppInstance) {
  const { id, appId, name, capabilities, order, enabled, settings } = instance;
  return { id, appId, name, capabilities, order, enabled, settings };
}
