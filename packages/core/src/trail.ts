/** An event's trail through a project's chain (the console's live events; no imports: the console bundles it). */

/** What one app did to one event. */
export interface TrailStep {
  instanceId: number;
  app: string;
  outcome: 'changed' | 'unchanged' | 'dropped' | 'error';
  /** eventDiff's lines for a changed event. */
  diff?: string[];
  error?: string;
  at: string;
}

/** A dropped event: which app dropped it and why. */
export interface DroppedEvent {
  uuid: string;
  event: string;
  distinct_id: string;
  instanceId: number;
  app: string;
  /** `processEvent returned null`, or the error of an app whose errors drop events. */
  reason: string;
  at: string;
}
