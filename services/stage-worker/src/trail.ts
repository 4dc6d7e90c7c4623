import { eventDiff, type SKIPPED, type PluginEvent, type ProcessEventErrors, type StageOutcome } from '@sluice/core';
import type { DroppedEvent, EventTrails, TrailStep } from '@sluice/queues';

/**
 * What one stage did to a batch, for the console's live events: a step for each traced event
 * (its diff, a drop, an error) and every event the stage dropped, with why.
 */
export function stageTrail(
  trails: EventTrails,
  stage: { instanceId: number; app: string; onError: ProcessEventErrors },
  events: readonly PluginEvent[],
  outcomes: ReadonlyArray<StageOutcome | typeof SKIPPED>,
): { steps: Array<{ uuid: string; step: TrailStep }>; dropped: DroppedEvent[] } {
  const at = new Date().toISOString();
  const steps: Array<{ uuid: string; step: TrailStep }> = [];
  const dropped: DroppedEvent[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    const input = events[index];
    if (!input || outcome.status === 'skipped') continue;
    const errorDrops = outcome.status === 'error' && stage.onError === 'drop';
    if (outcome.status === 'dropped' || errorDrops) {
      const reason = outcome.status === 'error' ? `processEvent failed (dropped by its error policy): ${outcome.error}` : 'processEvent returned null';
      dropped.push({ uuid: input.uuid, event: input.event, distinct_id: input.distinct_id, instanceId: stage.instanceId, app: stage.app, reason, at });
    }
    if (!trails.traced(input.uuid)) continue;
    const step: TrailStep = { instanceId: stage.instanceId, app: stage.app, outcome: 'unchanged', at };
    if (outcome.status === 'dropped') step.outcome = 'dropped';
    else if (outcome.status === 'error') Object.assign(step, { outcome: 'error', error: outcome.error });
    else {
      const diff = eventDiff(input, outcome.event);
      if (diff.length > 0) Object.assign(step, { outcome: 'changed', diff });
    }
    steps.push({ uuid: input.uuid, step });
  }
  return { steps, dropped };
}
