import type { InstanceView } from '@sluice/core';
import { CliError } from './admin-client';

export type { InstanceView };

const isId = (ref: string) => /^\d+$/.test(ref);

/**
 * The instance ids that `refs` name: each an instance id, or the name of an app installed once in
 * the project (case-insensitive; failing that, as a slug: `hello-world` for "Hello World"). An id is taken as it is (the API answers for one that does not
 * exist); the project's instances are fetched only when a name needs them.
 */
export async function resolveInstanceRefs(refs: string[], project: string, listInstances: () => Promise<InstanceView[]>): Promise<number[]> {
  const instances = refs.every(isId) ? [] : await listInstances();
  return refs.map((ref) => (isId(ref) ? Number(ref) : instanceNamed(ref, project, instances)));
}

/** "Hello World", "hello-world" and "hello_world" are one slug: what users type for a name with spaces. */
const slug = (name: string) => name.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-|-$/g, '');

function instanceNamed(ref: string, project: string, instances: InstanceView[]): number {
  const wanted = ref.trim().toLowerCase();
  const exact = instances.filter((instance) => instance.name.toLowerCase() === wanted);
  const matches = exact.length ? exact : instances.filter((instance) => slug(instance.name) === slug(ref));
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0) {
    const names = [...new Set(instances.map((instance) => instance.name))].join(', ') || 'none installed';
    throw new CliError(`no app named "${ref}" in project ${project} (apps: ${names}); give an instance id or an app name, as \`sluice apps list\` shows`);
  }
  const ids = matches.map((instance) => `${instance.id} (order ${instance.order}, ${instance.enabled ? 'enabled' : 'disabled'})`).join(', ');
  throw new CliError(`"${ref}" names ${matches.length} instances in project ${project}: ${ids}; give one of these ids`);
}
