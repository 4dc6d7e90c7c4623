/**
 * JSON schemas of the admin API: fastify validates requests against them (a wrong field is a 400
 * naming it, see errors.ts) and @fastify/swagger turns them into the OpenAPI document served at
 * /api/docs/json. The handlers keep their own checks of what a schema cannot say (a project id
 * made from a name, an order naming every instance, a date that parses…).
 */
import type { FastifySchema, FastifySchemaCompiler } from 'fastify';
// ajv is what fastify validates with; the admin scope uses its own two instances (below).
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * Bodies are JSON and checked as they are (no coercion: `"enabled": "yes"` or `"order": "2"` is
 * a 400, as it was before schemas); path and query parameters are strings on the wire, so they
 * are coerced to the declared integer or array.
 */
const bodyAjv = new Ajv({ coerceTypes: false, useDefaults: true, allErrors: false, strict: false });
const paramAjv = new Ajv({ coerceTypes: 'array', useDefaults: true, allErrors: false, strict: false });

/** The admin scope's validator compiler; raw uploads (archives, attachments) are read by their handlers. */
export const adminValidatorCompiler: FastifySchemaCompiler<FastifySchema> = ({ schema, httpPart, contentType }) => {
  if (httpPart === 'body' && contentType !== undefined && !contentType.includes('json')) return () => true;
  const validate: ValidateFunction = (httpPart === 'body' ? bodyAjv : paramAjv).compile(schema as object);
  if (httpPart !== 'body') return validate;
  // No body at all is left to the handler (most treat it as `{}`; a required field is then named there).
  const check = (data: unknown) => {
    if (data === null) return true;
    const ok = validate(data);
    check.errors = validate.errors;
    return ok;
  };
  check.errors = null as ValidateFunction['errors'];
  return check;
};

const TAGS = { projects: ['projects'], apps: ['apps'], instances: ['instances'], reads: ['events and logs'], deadLetters: ['dead letters'], backfills: ['backfills'] };
export { TAGS };

// ---- fragments ----

export const errorBody = {
  type: 'object',
  description: 'every error: a code, a message, and details naming the field or file when one is at fault',
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true, properties: { field: { type: 'string' }, file: { type: 'string' } } },
  },
  required: ['error', 'message'],
} as const;

/** The 4xx answers a route can give, all `{error, message, details}`. */
export function errors(...codes: number[]) {
  return Object.fromEntries(codes.map((code) => [code, errorBody]));
}

export const projectId = { type: 'string', minLength: 1, description: 'the project\'s id (e.g. "default")' } as const;
const instanceId = { type: 'integer', minimum: 1, description: 'an app instance of the project' } as const;
const appId = { type: 'integer', minimum: 1, description: 'an installed app version' } as const;

export const projectParams = { type: 'object', properties: { projectId }, required: ['projectId'] } as const;
export const instanceParams = { type: 'object', properties: { projectId, instanceId }, required: ['projectId', 'instanceId'] } as const;
export const appParams = { type: 'object', properties: { appId }, required: ['appId'] } as const;
export const attachmentParams = {
  type: 'object',
  properties: { projectId, instanceId, key: { type: 'string', minLength: 1, description: 'a plugin.json config field of type "attachment"' } },
  required: ['projectId', 'instanceId', 'key'],
} as const;

export const limit = { type: 'integer', minimum: 1, maximum: 10_000, description: 'at most this many (default 100)' } as const;
export const time = { type: 'string', description: 'an ISO date or time' } as const;

/** Config values as plugin.json config is typed: strings (numbers and booleans are written as strings). */
export const configValues = {
  type: 'object',
  description: 'config key → value, checked against plugin.json (types, required, choices); `secret: true` values are write-only',
  additionalProperties: { type: ['string', 'number', 'boolean'] },
} as const;

/** An app's files: `{"plugin.json": "…", "index.ts": "…"}`. */
export const appSource = {
  type: 'object',
  description: 'file name → file content: plugin.json and the code files',
  minProperties: 1,
  additionalProperties: { type: 'string' },
} as const;

/** How Sluice runs an instance; checked in detail by instance-settings.ts. */
const instanceSettings = { type: 'object', additionalProperties: true, description: 'how Sluice runs the instance (limits, what a processEvent error does)' } as const;

export const backfillParams = {
  type: 'object',
  properties: { projectId, instanceId, backfillId: { type: 'integer', minimum: 1, description: 'a backfill of the instance' } },
  required: ['projectId', 'instanceId', 'backfillId'],
} as const;

const backfillView = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'integer' },
    from: { type: 'string' },
    to: { type: 'string' },
    events: { type: 'array', nullable: true, items: { type: 'string' } },
    rate: { type: 'integer' },
    done: { type: 'integer' },
    total: { type: 'integer' },
    eventsPerSecond: { type: 'number' },
    state: { type: 'string', enum: ['running', 'done', 'cancelled', 'failed'] },
    error: { type: 'string', nullable: true },
  },
} as const;

const positiveIds = { type: 'array', items: { type: 'integer', minimum: 1 } } as const;

export const projectView = {
  type: 'object',
  additionalProperties: true,
  properties: { id: { type: 'string' }, teamId: { type: 'integer', description: 'the project\'s number: apps see it as event.team_id' }, name: { type: 'string' }, token: { type: 'string' }, anonymizeIps: { type: 'boolean' } },
} as const;

export const instanceView = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'integer' },
    appId: { type: 'integer' },
    name: { type: 'string' },
    capabilities: { type: 'array', items: { type: 'string' } },
    order: { type: 'integer' },
    enabled: { type: 'boolean' },
  },
} as const;

const results = (item: object) => ({ type: 'object', additionalProperties: true, properties: { results: { type: 'array', items: item } } });
export const anyObject = { type: 'object', additionalProperties: true } as const;
const binary = { type: 'string', format: 'binary' } as const;

// ---- routes ----

export const schemas = {
  listProjects: { tags: TAGS.projects, summary: 'list projects', response: { 200: results(projectView) } },
  createProject: {
    tags: TAGS.projects,
    summary: 'create a project (answers its token)',
    body: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', minLength: 1 },
        id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', description: 'made from the name when not given' },
      },
    },
    response: { 201: projectView, ...errors(400, 409) },
  },
  getProject: { tags: TAGS.projects, summary: 'one project', params: projectParams, response: { 200: projectView, ...errors(404) } },
  updateProject: {
    tags: TAGS.projects,
    summary: 'rename a project or set its options',
    params: projectParams,
    body: {
      type: 'object',
      properties: { name: { type: 'string', minLength: 1 }, anonymizeIps: { type: 'boolean', description: 'PostHog\'s "discard client IP data"' } },
    },
    response: { 200: projectView, ...errors(400, 404) },
  },
  rotateToken: { tags: TAGS.projects, summary: 'give a project a new token (the old one is refused at once)', params: projectParams, response: { 200: projectView, ...errors(404) } },
  deleteProject: { tags: TAGS.projects, summary: 'delete a project with its events, app instances, logs and dead letters', params: projectParams, response: { 204: { type: 'null' }, ...errors(404) } },

  listInstances: { tags: TAGS.instances, summary: 'the project\'s chain of app instances, first to last', params: projectParams, response: { 200: results(instanceView), ...errors(404) } },
  installApp: {
    tags: TAGS.instances,
    summary: 'install an app (from its files, or an uploaded .zip/.tgz/.tar archive) and enable it for the project',
    description:
      'JSON: `{"source": {file: content}, "config"?, "order"?, "enabled"?}`. Archive: the raw bytes with Content-Type application/zip, ' +
      'application/gzip (a .tgz), application/x-tar or application/octet-stream; config as `?config.<key>=<value>`, and `?order=`, `?enabled=` ' +
      'in the query. Files under one top-level folder are taken from it; absolute paths, "..", links, more than 500 source files or a file over 5 MiB are refused.',
    params: projectParams,
    querystring: {
      type: 'object',
      properties: { order: { type: 'integer' }, enabled: { type: 'boolean' } },
      patternProperties: { '^config\\.': { type: 'string' } },
    },
    body: {
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: ['source'],
            properties: { source: appSource, config: configValues, order: { type: 'integer' }, enabled: { type: 'boolean' }, settings: instanceSettings },
          },
        },
        'application/zip': { schema: binary },
        'application/gzip': { schema: binary },
        'application/x-tar': { schema: binary },
        'application/octet-stream': { schema: binary },
      },
    },
    response: { 201: instanceView, ...errors(400, 404) },
  },
  getInstance: {
    tags: TAGS.instances,
    summary: 'one instance with its config (secret values masked), version hash, plugin.json and attachments',
    params: instanceParams,
    response: { 200: instanceView, ...errors(400, 404) },
  },
  updateInstance: {
    tags: TAGS.instances,
    summary: 'enable/disable an instance, replace its config and/or its settings',
    params: instanceParams,
    body: {
      type: 'object',
      properties: {
        enabled: { type: 'boolean', description: 'refused (400 attachment_required) while a required attachment is missing' },
        config: configValues,
        settings: instanceSettings,
      },
    },
    response: { 200: instanceView, ...errors(400, 404) },
  },
  orderInstances: {
    tags: TAGS.instances,
    summary: 'set the whole chain\'s order, first to last',
    params: projectParams,
    body: { type: 'object', required: ['order'], properties: { order: { ...positiveIds, description: 'every instance id of the project, first to last' } } },
    response: { 200: results(instanceView), ...errors(400, 404) },
  },
  removeInstance: { tags: TAGS.instances, summary: 'remove an instance', params: instanceParams, response: { 204: { type: 'null' }, ...errors(400, 404) } },
  upgradeInstance: {
    tags: TAGS.instances,
    summary: 'move an instance to new source (teardownPlugin on the old version, setupPlugin on the new)',
    params: instanceParams,
    body: { type: 'object', required: ['source'], properties: { source: appSource, config: configValues } },
    response: { 200: instanceView, ...errors(400, 404) },
  },
  putAttachment: {
    tags: TAGS.instances,
    summary: 'upload the file of an attachment config field (meta.attachments[key]); the instance reloads',
    description:
      'The raw file as the body, with its Content-Type; the file name from `?fileName=` or a Content-Disposition header (default: the key). At most 10 MiB.',
    params: attachmentParams,
    querystring: { type: 'object', properties: { fileName: { type: 'string', minLength: 1 } } },
    body: { content: { '*/*': { schema: binary } } },
    response: {
      200: { type: 'object', properties: { key: { type: 'string' }, fileName: { type: 'string' }, contentType: { type: 'string' }, size: { type: 'integer' } } },
      ...errors(400, 404, 413),
    },
  },
  deleteAttachment: {
    tags: TAGS.instances,
    summary: 'remove an attachment; the instance reloads',
    params: attachmentParams,
    response: { 204: { type: 'null' }, ...errors(400, 404) },
  },

  listApps: { tags: TAGS.apps, summary: 'installed app versions', response: { 200: results(anyObject) } },
  getApp: {
    tags: TAGS.apps,
    summary: 'one app version: capabilities, config schema, version hash, files',
    params: appParams,
    querystring: { type: 'object', properties: { source: { type: 'string', enum: ['1', 'true', '0', 'false'], description: '1: with `source`, file name → content' } } },
    response: { 200: anyObject, ...errors(400, 404) },
  },
  deleteApp: {
    tags: TAGS.apps,
    summary: 'delete an app version (409 while instances run it, unless forced)',
    params: appParams,
    querystring: { type: 'object', properties: { force: { type: 'string', enum: ['1', 'true', '0', 'false'], description: '1: remove its instances too' } } },
    response: { 204: { type: 'null' }, ...errors(400, 404, 409) },
  },

  logs: {
    tags: TAGS.reads,
    summary: 'an instance\'s console output, newest first; `follow=1` streams new lines as server-sent events',
    params: instanceParams,
    querystring: {
      type: 'object',
      properties: {
        limit,
        level: { type: 'string', enum: ['debug', 'log', 'info', 'warn', 'error'], description: 'that level and above' },
        from: time,
        to: time,
        follow: { type: 'string', enum: ['1', 'true', '0', 'false'] },
      },
    },
    response: { ...errors(400, 404) },
  },
  events: {
    tags: TAGS.reads,
    summary: 'stored events, newest first, filtered and paged (pass `next` as `cursor`)',
    params: projectParams,
    querystring: {
      type: 'object',
      properties: { limit, event: { type: 'string' }, distinct_id: { type: 'string' }, from: time, to: time, cursor: { type: 'string' } },
    },
    response: { 200: { type: 'object', additionalProperties: true, properties: { results: { type: 'array', items: anyObject }, next: { type: ['string', 'null'] } } }, ...errors(400, 404) },
  },

  warnings: {
    tags: TAGS.reads,
    summary: "the project's ingestion warnings, newest first (e.g. `ingestion_capacity_overflow`: a person's events beyond their token bucket, at most one per person per hour)",
    params: projectParams,
    querystring: { type: 'object', properties: { limit } },
    response: {
      200: {
        type: 'object',
        properties: {
          results: {
            type: 'array',
            items: { type: 'object', properties: { id: { type: 'integer' }, type: { type: 'string' }, details: anyObject, timestamp: { type: 'string' } } },
          },
        },
      },
      ...errors(400, 404),
    },
  },

  deadLetters: {
    tags: TAGS.deadLetters,
    summary: 'events a destination gave up on, oldest first',
    params: projectParams,
    querystring: { type: 'object', properties: { instance: instanceId, limit, after: { type: 'integer', description: 'a dead letter id: the page after it' } } },
    response: { 200: { type: 'object', additionalProperties: true, properties: { results: { type: 'array', items: anyObject }, total: { type: 'integer' } } }, ...errors(400, 404) },
  },
  replayDeadLetters: {
    tags: TAGS.deadLetters,
    summary: 'send dead letters again as fresh deliveries: all, one instance\'s, or by id',
    params: projectParams,
    body: { type: 'object', properties: { instanceId, ids: positiveIds, limit: { type: 'integer', minimum: 1 } } },
    response: { 200: { type: 'object', additionalProperties: true, properties: { replayed: { type: 'integer' }, remaining: { type: 'integer' } } }, ...errors(400, 404) },
  },
  startBackfill: {
    tags: TAGS.backfills,
    summary: 'send the stored events of a time range to one destination instance (beyond PostHog)',
    description:
      'Events with from <= timestamp < to (optionally only the named events), oldest first, through the instance\'s onEvent/exportEvents with its retries and dead letters, at most `rate` events/s. One running backfill per instance (409); resumable after a crash.',
    params: instanceParams,
    body: {
      type: 'object',
      required: ['from', 'to'],
      properties: {
        from: time,
        to: time,
        events: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: 'only these event names' },
        rate: { type: 'integer', minimum: 1, maximum: 1_000_000, description: 'events per second at most (default SLUICE_BACKFILL_RATE)' },
      },
    },
    response: { 201: backfillView, ...errors(400, 404, 409) },
  },
  listBackfills: { tags: TAGS.backfills, summary: 'an instance\'s backfills, newest first', params: instanceParams, response: { 200: results(backfillView), ...errors(400, 404) } },
  cancelBackfill: { tags: TAGS.backfills, summary: 'cancel a running backfill', params: backfillParams, response: { 200: backfillView, ...errors(400, 404, 409) } },
} satisfies Record<string, FastifySchema & { tags: string[]; summary: string }>;
