import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppLogLevel } from '@sluice/core';
import type { LogFilter, StoredLogEntry, Store } from '@sluice/store';
import { invalidField, readTime } from './body';
import { instanceOrNotFound, projectOrNotFound } from './lookup';
import { readLimit } from './params';
import type { AdminDeps } from './admin-routes';
import { schemas } from './schemas';

type ProjectParams = { projectId: string };
type InstanceParams = ProjectParams & { instanceId: string };
type EventsQuery = { limit?: string; event?: string; distinct_id?: string; from?: string; to?: string; cursor?: string };
type LogsQuery = { limit?: string; level?: string; from?: string; to?: string; follow?: string };

const LEVELS: AppLogLevel[] = ['debug', 'log', 'info', 'warn', 'error'];
/** A follower polls the store this often: the log sink writes lines in batches every 500 ms. */
const FOLLOW_POLL_MS = 500;

/** `?level=warn` is that level and above, in the order debug < log < info < warn < error. */
function readLevels(raw: string | undefined): AppLogLevel[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const index = LEVELS.indexOf(raw as AppLogLevel);
  if (index < 0) throw invalidField(`"level" must be one of ${LEVELS.join(', ')}`, 'level');
  return LEVELS.slice(index);
}

/** The cursor of a page: where the next one starts, opaque to clients. */
const encodeCursor = (timestamp: string, uuid: string) => Buffer.from(`${timestamp}|${uuid}`).toString('base64url');

function decodeCursor(raw: string | undefined): { timestamp: string; uuid: string } | undefined {
  if (raw === undefined || raw === '') return undefined;
  const [timestamp, uuid] = Buffer.from(raw, 'base64url').toString('utf8').split('|');
  if (!timestamp || !uuid || Number.isNaN(Date.parse(timestamp)) || !/^[0-9a-f-]{36}$/.test(uuid)) {
    throw invalidField('"cursor" is not one this API gave out', 'cursor');
  }
  return { timestamp, uuid };
}

/**
 * Streams an instance's new log lines as server-sent events (`data: {json}`), oldest first, until
 * the client goes away. Starts with the last `limit` lines so a follower sees context.
 */
async function followLogs(store: Store, reply: FastifyReply, instanceId: number, filter: LogFilter): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (lines: StoredLogEntry[]) => {
    for (const line of lines) raw.write(`id: ${line.id}\ndata: ${JSON.stringify(line)}\n\n`);
  };
  const backlog = (await store.listLogs(instanceId, filter)).reverse();
  send(backlog);
  let lastId = backlog.at(-1)?.id ?? 0;
  let open = true;
  raw.on('close', () => (open = false));
  while (open) {
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
    if (!open) break;
    const lines = await store.listLogs(instanceId, { ...filter, limit: 1000, afterId: lastId });
    send(lines);
    lastId = lines.at(-1)?.id ?? lastId;
    // A comment line now and then keeps proxies from closing an idle stream.
    if (lines.length === 0) raw.write(': idle\n\n');
  }
}

/** Reading what the pipeline stored: events with filters and pages, app logs with filters or followed live, ingestion warnings. */
export async function readRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { store } = deps;

  app.get<{ Params: InstanceParams; Querystring: LogsQuery }>('/projects/:projectId/apps/:instanceId/logs', { schema: schemas.logs }, async (request, reply) => {
    const instance = await instanceOrNotFound(store, request.params.projectId, request.params.instanceId);
    const { query } = request;
    const levels = readLevels(query.level);
    const from = readTime(query.from, 'from');
    const to = readTime(query.to, 'to');
    const filter: LogFilter = { limit: readLimit(query.limit, 100, 10_000), ...(levels && { levels }), ...(from && { from }), ...(to && { to }) };
    if (query.follow === '1' || query.follow === 'true') return followLogs(store, reply, instance.id, filter);
    return { results: await store.listLogs(instance.id, filter) };
  });

  app.get<{ Params: ProjectParams; Querystring: EventsQuery }>('/projects/:projectId/events', { schema: schemas.events }, async (request) => {
    const { id } = await projectOrNotFound(store, request.params.projectId);
    const { query } = request;
    const limit = readLimit(query.limit, 100, 10_000);
    const from = readTime(query.from, 'from');
    const to = readTime(query.to, 'to');
    const before = decodeCursor(query.cursor);
    const results = await store.listEvents(id, {
      limit,
      ...(query.event && { event: query.event }),
      ...(query.distinct_id && { distinctId: query.distinct_id }),
      ...(from && { from }),
      ...(to && { to }),
      ...(before && { before }),
    });
    const last = results.at(-1);
    return { results, next: results.length === limit && last ? encodeCursor(last.timestamp, last.uuid) : null };
  });

  app.get<{ Params: ProjectParams; Querystring: { limit?: string } }>('/projects/:projectId/warnings', { schema: schemas.warnings }, async (request) => {
    const { id } = await projectOrNotFound(store, request.params.projectId);
    return { results: await store.listIngestionWarnings(id, readLimit(request.query.limit, 100, 10_000)) };
  });
}
