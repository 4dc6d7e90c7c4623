import type { PluginEvent, Route } from '@sluice/core';

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

/** Stored events of one project for one destination instance. */
export interface DeliverJob {
  batchId: string;
  projectId: string;
  instanceId: number;
  events: PluginEvent[];
}

/** The job id of a batch at a hop: deterministic, so a re-forward after a crash is ignored by BullMQ. */
export function hopJobId(batchId: string, hop: number): string {
  return `${batchId}.h${hop}`;
}

export function deliverJobId(batchId: string, instanceId: number): string {
  return `${batchId}.d${instanceId}`;
}
