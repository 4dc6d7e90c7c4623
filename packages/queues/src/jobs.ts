import { ingestedEvents, type DeliveryFunction, type IngestedRequest, type IngestedRequestText, type PluginEvent, type Route, type ScheduledFunction } from '@sluice/core';
import { SerializedData } from './producer';

/**
 * A batch of one project's events on its way through the stage chain and into the store.
 * `route[hop]` is the stage the job is waiting for; `hop === route.length` means the store.
 * The intake's jobs (hop 0) hold the accepted requests as received; every later hop, normalized
 * events. A consumer reads either through pipelineEvents.
 */
export type PipelineJob = PipelineJobHead & ({ events: PluginEvent[] } | { requests: IngestedRequest[] });

export interface PipelineJobHead {
  /** Unique per intake batch; with the hop it makes a forwarded job's id, so a retried hop does not enqueue twice. */
  batchId: string;
  projectId: string;
  route: Route;
  hop: number;
  /** The ordered lane (names.ts) the batch's persons belong to; absent: the unordered lane. */
  shard?: number;
}

/** A job's events, normalized: the intake's requests are normalized here, by the first hop's consumer. */
export function pipelineEvents(job: PipelineJob): PluginEvent[] {
  if ('events' in job) return job.events;
  return job.requests.flatMap((request) => ingestedEvents(request));
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
  /** The ordered lane the events came through (their persons' shard); absent: the unordered lane. */
  shard?: number;
  /** In an ordered lane: the retry of a parked group (its events are kept in Redis, ordered-delivery.ts). */
  group?: string;
  /** In an ordered lane: export the instance's exportEvents buffer. */
  flush?: boolean;
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
 * The intake's PipelineJob, written from the JSON text of its requests (ingestedRequestText)
 * without serializing anything again: the bytes are exactly those of `{...head, requests}`. They
 * are written into `spare` when it is large enough (the intake reuses its job buffers), otherwise
 * into a new buffer; `backing` is the whole buffer written into, for reuse once the job is added.
 */
export function serializedPipelineJob(head: PipelineJobHead, requests: readonly IngestedRequestText[], spare?: Buffer): SerializedData & { backing: Buffer } {
  const { batchId, projectId, route, hop, shard } = head;
  const opening = `${JSON.stringify({ batchId, projectId, route, hop, shard }).slice(0, -1)},"requests":[`;
  // UTF-8 takes at most 3 bytes per UTF-16 unit; 2 more per request for its '}' and comma.
  let bound = (opening.length + 2) * 3;
  for (const request of requests) bound += request.head.length * 3 + (typeof request.body === 'string' ? request.body.length * 3 : request.body.length) + 2;
  const backing = spare && spare.length >= bound ? spare : Buffer.allocUnsafeSlow(Math.max(bound, MIN_JOB_BUFFER));
  let at = backing.write(opening, 0);
  requests.forEach((request, index) => {
    if (index > 0) backing[at++] = 0x2c; // ,
    at += backing.write(request.head, at);
    at += typeof request.body === 'string' ? backing.write(request.body, at) : request.body.copy(backing, at);
    backing[at++] = 0x7d; // }
  });
  backing[at++] = 0x5d; // ]
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
