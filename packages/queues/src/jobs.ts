import type { DeliveryFunction, PluginEvent, Route, ScheduledFunction } from '@sluice/core';
import { SerializedData } from './producer';

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

/**
 * A PipelineJob whose events come already serialized: each list is the JSON of some of its
 * events (`[{…},{…}]`, JSON.stringify of an array of one or more). The bytes are exactly
 * `JSON.stringify({ ...head, events })`, so consumers read the job as any other. They are
 * written into `spare` when it is large enough (the intake reuses its job buffers), otherwise
 * into a new buffer; `backing` is the whole buffer written into, for reuse once the job is added.
 */
export function serializedPipelineJob(head: Omit<PipelineJob, 'events'>, eventLists: readonly string[], spare?: Buffer): SerializedData & { backing: Buffer } {
  const { batchId, projectId, route, hop } = head;
  const opening = `${JSON.stringify({ batchId, projectId, route, hop }).slice(0, -1)},"events":`;
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  let bound = (opening.length + 1) * 3;
  for (const list of eventLists) bound += list.length * 3;
  const backing = spare && spare.length >= bound ? spare : Buffer.allocUnsafeSlow(Math.max(bound, MIN_JOB_BUFFER));
  let at = backing.write(opening, 0);
  eventLists.forEach((list, index) => {
    // Each list after the first goes over its predecessor's ']', and its own '[' becomes a comma.
    if (index > 0) at -= 1;
    const start = at;
    at += backing.write(list, at);
    if (index > 0) backing[start] = 0x2c;
  });
  backing[at++] = 0x7d; // }
  return Object.assign(new SerializedData(backing.subarray(0, at)), { backing });
}

/** Job buffers are at least this large, so a reused one fits most batches. */
const MIN_JOB_BUFFER = 1 << 20;

/** The job id of a batch at a hop: deterministic, so a re-forward after a crash is ignored by BullMQ. */
export function hopJobId(batchId: string, hop: number): string {
  return `${batchId}.h${hop}`;
}

export function deliverJobId(batchId: string, instanceId: number): string {
  return `${batchId}.d${instanceId}`;
}
