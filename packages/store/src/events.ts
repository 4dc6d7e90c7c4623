import type { AppLogEntry, AppLogLevel, PluginEvent, StoredEvent } from '@sluice/core';
import { fromJson, toIso, toJson, toNumber, type Queryable, type Row } from './sql';

/** Rows per INSERT: bounds the size of the one jsonb parameter (events are ~1 kB each). */
export const INSERT_CHUNK = 1000;

/**
 * One statement per chunk: the whole chunk travels as one jsonb parameter and is unpacked by
 * jsonb_to_recordset, which is far faster than a VALUES list or per-row inserts and has no
 * parameter-count limit. The (project_id, uuid) primary key with ON CONFLICT DO NOTHING makes a
 * retried batch (a worker crashed after writing but before completing its job) a no-op, while the
 * same uuid in another project is another event.
 */
const INSERT_EVENTS = `
  INSERT INTO events (uuid, project_id, event, distinct_id, properties, timestamp, ip)
  SELECT r.uuid, $2::text, r.event, r.distinct_id, COALESCE(r.properties, '{}'::jsonb), r.timestamp, r.ip
  FROM jsonb_to_recordset($1::jsonb)
    AS r(uuid uuid, event text, distinct_id text, properties jsonb, timestamp timestamptz, ip text)
  ON CONFLICT (project_id, uuid) DO NOTHING`;

export async function insertEvents(db: Queryable, projectId: string, events: PluginEvent[]): Promise<number> {
  let inserted = 0;
  for (let start = 0; start < events.length; start += INSERT_CHUNK) {
    // Only the stored columns are serialized; PluginEvent's other keys (site_url, now, …) are
    // intake metadata that StoredEvent does not carry.
    const chunk = events.slice(start, start + INSERT_CHUNK).map((e) => ({
      uuid: e.uuid,
      event: e.event,
      distinct_id: e.distinct_id,
      properties: e.properties,
      timestamp: e.timestamp,
      ip: e.ip ?? null,
    }));
    inserted += await db.execute(INSERT_EVENTS, [toJson(chunk), projectId]);
  }
  return inserted;
}

export function toEvent(row: Row): StoredEvent {
  return {
    uuid: String(row.uuid),
    project_id: String(row.project_id),
    event: String(row.event),
    distinct_id: String(row.distinct_id),
    properties: fromJson<Record<string, unknown>>(row.properties),
    timestamp: toIso(row.timestamp),
    created_at: toIso(row.created_at),
    ip: row.ip == null ? null : String(row.ip),
  };
}

export interface EventFilter {
  limit: number;
  event?: string;
  distinctId?: string;
  /** ISO times: timestamp >= from, timestamp < to. */
  from?: string;
  to?: string;
  /** The last row of the previous page: rows after it in newest-first order. */
  before?: { timestamp: string; uuid: string };
}

/** One statement whatever the filters (a null parameter switches its condition off); newest first. */
export async function listEvents(db: Queryable, projectId: string, filter: EventFilter): Promise<StoredEvent[]> {
  const rows = await db.query(
    `SELECT uuid, project_id, event, distinct_id, properties, timestamp, created_at, ip
     FROM events WHERE project_id = $1::text
       AND ($3::text IS NULL OR event = $3::text)
       AND ($4::text IS NULL OR distinct_id = $4::text)
       AND ($5::timestamptz IS NULL OR timestamp >= $5::timestamptz)
       AND ($6::timestamptz IS NULL OR timestamp < $6::timestamptz)
       AND ($7::timestamptz IS NULL OR (timestamp, uuid) < ($7::timestamptz, $8::uuid))
     ORDER BY timestamp DESC, uuid DESC LIMIT $2::int`,
    [projectId, filter.limit, filter.event ?? null, filter.distinctId ?? null, filter.from ?? null, filter.to ?? null,
      filter.before?.timestamp ?? null, filter.before?.uuid ?? null],
  );
  return rows.map(toEvent);
}

export async function countEvents(db: Queryable, projectId: string): Promise<number> {
  const rows = await db.query(`SELECT count(*) AS n FROM events WHERE project_id = $1::text`, [projectId]);
  return toNumber(rows[0]!.n);
}

/**
 * One statement per call, like insertEvents. Lines of instances that no longer exist (deleted
 * while their logs sat in a LogSink buffer) are dropped by the join rather than failing the batch.
 */
export async function appendLogs(
  db: Queryable,
  entries: Array<AppLogEntry & { instanceId: number; projectId: string }>,
): Promise<void> {
  if (entries.length === 0) return;
  const payload = entries.map((e) => ({
    instance_id: e.instanceId,
    project_id: e.projectId,
    timestamp: e.timestamp,
    level: e.level,
    message: e.message,
  }));
  // WITH ORDINALITY keeps the batch's order in the identity ids, which listLogs sorts by.
  await db.execute(
    `INSERT INTO app_logs (instance_id, project_id, timestamp, level, message)
     SELECT r.instance_id, r.project_id, r.timestamp, r.level, r.message
     FROM ROWS FROM (jsonb_to_recordset($1::jsonb)
       AS (instance_id int, project_id text, timestamp timestamptz, level text, message text))
       WITH ORDINALITY AS r(instance_id, project_id, timestamp, level, message, n)
     JOIN app_instances i ON i.id = r.instance_id
     ORDER BY r.n`,
    [toJson(payload)],
  );
}

/** A log line as stored: with its id, so a follower can ask for what came after it. */
export type StoredLogEntry = AppLogEntry & { id: number };

export interface LogFilter {
  limit: number;
  /** Only these levels. */
  levels?: AppLogLevel[];
  from?: string;
  to?: string;
  /** Only lines written after this one (by id): what a follower has not seen yet, oldest first. */
  afterId?: number;
}

/** Newest first, or oldest first after `afterId` (following). */
export async function listLogs(db: Queryable, instanceId: number, filter: LogFilter): Promise<StoredLogEntry[]> {
  const following = filter.afterId !== undefined;
  const rows = await db.query(
    `SELECT id, timestamp, level, message FROM app_logs WHERE instance_id = $1::int
       AND ($3::text[] IS NULL OR level = ANY ($3::text[]))
       AND ($4::timestamptz IS NULL OR timestamp >= $4::timestamptz)
       AND ($5::timestamptz IS NULL OR timestamp < $5::timestamptz)
       AND ($6::bigint IS NULL OR id > $6::bigint)
     ORDER BY id ${following ? 'ASC' : 'DESC'} LIMIT $2::int`,
    [instanceId, filter.limit, filter.levels ?? null, filter.from ?? null, filter.to ?? null, filter.afterId ?? null],
  );
  return rows.map((row) => ({
    id: toNumber(row.id),
    timestamp: toIso(row.timestamp),
    level: String(row.level) as AppLogLevel,
    message: String(row.message),
  }));
}
