/**
 * JSON schemas of the admin routes the web console reads (beyond the CRUD of schemas.ts): live
 * counters, metrics over time, grouped errors, test runs, event trails and dropped events.
 */
import type { FastifySchema } from 'fastify';
import { TAGS, anyObject, errors, instanceParams, limit, projectId, projectParams, time } from './schemas';

const counts = { type: 'object', additionalProperties: { type: 'number' } } as const;

export const consoleSchemas = {
  appStats: {
    tags: TAGS.instances,
    summary: "each instance's event counters summed over every running process (totals since each started), with its queue depth",
    params: projectParams,
    response: {
      200: {
        type: 'object',
        properties: {
          at: time,
          processes: { type: 'integer', description: 'processes asked' },
          unreachable: { type: 'array', items: { type: 'string' }, description: 'processes whose /metrics did not answer (their counts are missing)' },
          results: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                instanceId: { type: 'integer' },
                stage: { ...counts, description: 'processEvent outcomes: processed, dropped, errored' },
                delivery: { ...counts, description: 'onEvent/exportEvents outcomes: delivered, retried, dead_lettered…' },
                queue: { type: 'object', properties: { waiting: { type: 'integer' }, active: { type: 'integer' }, delayed: { type: 'integer' }, failed: { type: 'integer' } } },
              },
            },
          },
        },
      },
      ...errors(404),
    },
  },
  instanceMetrics: {
    tags: TAGS.instances,
    summary: "an instance's counts per hour (processed, dropped, errored, delivered, retried, dead_lettered) over 24 hours or 7 days, summed over every process",
    params: instanceParams,
    querystring: { type: 'object', properties: { range: { type: 'string', enum: ['24h', '7d'], description: 'default 24h' } } },
    response: { 200: anyObject, ...errors(400, 404) },
  },
  instanceErrors: {
    tags: TAGS.instances,
    summary: "an instance's errors grouped by message (ids and numbers masked): count, first and last seen, a sample event",
    params: instanceParams,
    querystring: { type: 'object', properties: { limit } },
    response: { 200: anyObject, ...errors(400, 404) },
  },
  testInstance: {
    tags: TAGS.instances,
    summary: "run the instance's app on one event in a sandbox of its own: its result and diff, logs, jobs, captures and fetches (recorded, not sent unless asked)",
    description:
      'Without `event`, the project\'s latest stored event. A stage runs processEvent; a destination then runs onEvent/exportEvents on the result. meta.cache and meta.storage are empty in-memory stand-ins. An unsent fetch answers 200 `{}`.',
    params: instanceParams,
    body: { type: 'object', properties: { event: anyObject, send: { type: 'boolean', description: "true: send the app's fetches (through the pipeline's SSRF guard)" } } },
    response: { 200: anyObject, ...errors(400, 404) },
  },
  eventTrail: {
    tags: TAGS.reads,
    summary: 'beyond PostHog: what each app of the chain did to an event (diff, drop, error), for sampled events (SLUICE_TRAIL_SAMPLE), kept an hour',
    params: { type: 'object', properties: { projectId, uuid: { type: 'string', minLength: 1 } }, required: ['projectId', 'uuid'] },
    response: { 200: anyObject, ...errors(400, 404) },
  },
  droppedEvents: {
    tags: TAGS.reads,
    summary: "beyond PostHog: the project's last dropped events (at most 200, for a day), newest first, with the app and the reason",
    params: projectParams,
    querystring: { type: 'object', properties: { limit } },
    response: { 200: anyObject, ...errors(400, 404) },
  },
} satisfies Record<string, FastifySchema & { tags: string[]; summary: string }>;
