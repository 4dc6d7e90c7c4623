import type { DeliveryFunction, PluginEvent, Route, ScheduledFunction } from '@sluice/core';

/**
 * A batch of one project's events on its way through the stage chain and into the store.
 * `route[hop]` is the stage the job is waiting for; `hop === route.length` means the store.
 */
export interface PipelineJob {
  /** Unique per intake batch; with the hop it makes a forwarded job's id, so a retried hop does not enqueue twice. */
  batchId: string;
  projectId: string;
  route: Route;
  hop: number;
  events: PluginEvent[];
}

/**
 * Stored events of one project for one destination instance. A job from the store goes to every
 * function the app exports; a retry (or a replay) names the one function it is for and how many
 * attempts its events have had.
 */
export interface DeliverJob {
  batchId: string;
  projectId: string;
  instanceId: number;
  events: PluginEvent[];
  function?: DeliveryFunction;
  /** Attempts already made for these events (0 or absent on the first delivery). */
  attempts?: number;
}

/** An app job: `jobs[name](payload, meta)` of one instance. */
export interface AppJob {
  projectId: string;
  instanceId: number;
  name: string;
  payload: unknown;
  /** Attempts already made (RetryError retries follow PostHog's onEvent schedule). */
  attempts?: number;
}

/** One tick of an instance's runEvery* schedule. */
export interface ScheduleJob {
  projectId: string;
  instanceId: number;
  function: ScheduledFunction;
}

/** The job id of a batch at a hop: deterministic, so a re-forward after a crash is ignored by BullMQ. */
export function hopJobId(batchId: string, hop: number): string {
  return `${batchId}.h${hop}`;
}

export function deliverJobId(batchId: string, instanceId: number): string {
  return `${batchId}.d${instanceId}`;
}
