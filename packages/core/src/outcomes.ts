import type { PluginEvent } from './event';

/** What one stage did to one event (the sandbox's per-event result). */
export type StageOutcome = { status: 'ok'; event: PluginEvent } | { status: 'dropped' } | { status: 'error'; error: string };

/** An event a stage did not run on (see CAPTURED_BY): it goes on unchanged and unlabelled. */
export const SKIPPED: { status: 'skipped' } = { status: 'skipped' };

/**
 * Set by posthog.capture on the events an app captures, to the capturing instance's id: that
 * instance's processEvent never sees its own captures, so an app capturing on every event cannot
 * feed itself in a loop.
 */
export const CAPTURED_BY = '$sluice_captured_by';

/** What a processEvent error does to its event: PostHog lets it go on as it stood ("continue"). */
export type ProcessEventErrors = 'continue' | 'drop';

function appendLabel(event: PluginEvent, key: string, label: string): PluginEvent {
  const previous = event.properties[key];
  const list = Array.isArray(previous) ? [...previous, label] : [label];
  return { ...event, properties: { ...event.properties, [key]: list } };
}

/**
 * Applies a stage's outcomes with PostHog's semantics: a returned event replaces the input, a
 * null drops it, and an error lets the input continue down the chain as it stood (or, where the
 * instance says so, drops it). The stored
 * event lists the stages in `$plugins_succeeded` / `$plugins_failed` as `"<app name> (<id>)"`.
 */
export function applyStageOutcomes(
  events: PluginEvent[],
  outcomes: Array<StageOutcome | typeof SKIPPED>,
  label: string,
  onError: ProcessEventErrors = 'continue',
): PluginEvent[] {
  const survivors: PluginEvent[] = [];
  events.forEach((input, index) => {
    const outcome = outcomes[index] ?? { status: 'error', error: 'no result' };
    if (outcome.status === 'ok') survivors.push(appendLabel(outcome.event, '$plugins_succeeded', label));
    else if (outcome.status === 'skipped') survivors.push(input);
    else if (outcome.status === 'error' && onError === 'continue') survivors.push(appendLabel(input, '$plugins_failed', label));
  });
  return survivors;
}

export function stageLabel(appName: string, instanceId: number): string {
  return `${appName} (${instanceId})`;
}
