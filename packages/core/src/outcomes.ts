import type { PluginEvent } from './event';

/** What one stage did to one event (the sandbox's per-event result). */
export type StageOutcome = { status: 'ok'; event: PluginEvent } | { status: 'dropped' } | { status: 'error'; error: string };

function appendLabel(event: PluginEvent, key: string, label: string): PluginEvent {
  const previous = event.properties[key];
  const list = Array.isArray(previous) ? [...previous, label] : [label];
  return { ...event, properties: { ...event.properties, [key]: list } };
}

/**
 * Applies a stage's outcomes with PostHog's semantics: a returned event replaces the input, a
 * null drops it, and an error lets the input continue down the chain as it stood. The stored
 * event lists the stages in `$plugins_succeeded` / `$plugins_failed` as `"<app name> (<id>)"`.
 */
export function applyStageOutcomes(events: PluginEvent[], outcomes: StageOutcome[], label: string): PluginEvent[] {
  const survivors: PluginEvent[] = [];
  events.forEach((input, index) => {
    const outcome = outcomes[index] ?? { status: 'error', error: 'no result' };
    if (outcome.status === 'ok') survivors.push(appendLabel(outcome.event, '$plugins_succeeded', label));
    else if (outcome.status === 'error') survivors.push(appendLabel(input, '$plugins_failed', label));
  });
  return survivors;
}

export function stageLabel(appName: string, instanceId: number): string {
  return `${appName} (${instanceId})`;
}
