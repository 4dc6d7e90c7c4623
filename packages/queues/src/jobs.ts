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

const EVENTS_OPEN = Buffer.from(',"events":[');
const COMMA = Buffer.from(',');
const EVENTS_CLOSE = Buffer.from(']}');

/**
 * A PipelineJob whose events come already serialized: each chunk is the UTF-8 JSON of one or
 * more events without the array's brackets (`{…},{…}`). The bytes are exactly
 * `JSON.stringify({ ...head, events })`, so consumers read the job as any other.
 */
export function serializedPipelineJob(head: Omit<PipelineJob, 'events'>, eventChunks: readonly Buffer[]): SerializedData {
  const { batchId, projectId, route, hop } = head;
  const opening = JSON.stringify({ batchId, projectId, route, hop });
  const parts: Buffer[] = [Buffer.from(opening.slice(0, -1)), EVENTS_OPEN];
  eventChunks.forEach((chunk, index) => {
    if (index > 0) parts.push(COMMA);
    parts.push(chunk);
  });
  parts.push(EVENTS_CLOSE);
  return new SerializedData(Buffer.concat(parts));
}

/** The job id of a batch at a hop: deterministic, so a re-forward after a crash is ignored by BullMQ. */
export function hopJobId(batchId: string, hop: number): string {
  return `${batchId}.h${hop}`;
}

export function deliverJobId(batchId: string, instanceId: number): string {
  return `${batchId}.d${instanceId}`;
}
