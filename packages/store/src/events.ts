import type { AppLogEntry, AppLogLevel, PluginEvent, StoredEvent } from '@sluice/core';
import { fromJson, toIso, toJson, toNumber, type Queryable, type Row } from './sql';

/** Rows per INSERT: bounds the size of the one jsonb parameter (events are ~1 kB each). */
export const INSERT_CHUNK = 1000;

/**
 * One statement per chunk: the whole chunk travels as one jsonb parameter and is unpacked by
 * jsonb_to_recordset, which is far faster than a VALUES list or per-row inserts and has no
 * parameter-count limit. The uuid primary key with ON CONFLICT DO NOTHING makes a retried
 * batch (a worker crashed after writing but before completing its job) a no-op.
 */
const INSERT_EVENTS = `
  INSERT INTO events (uuid, project_id, event, distinct_id, properties, timestamp, ip)
  SELECT r.uuid, $2::text, r.event, r.distinct_id, COALESCE(r.properties, '{}'::jsonb), r.timestamp, r.ip
  FROM jsonb_to_recordset($1::jsonb)
    AS r(uuid uuid, event text, distinct_id text, properties jsonb, timestamp timestamptz, ip text)
  ON CONFLICT (uuid) DO NOTHING`;

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

function toEvent(row: Row): StoredEvent {
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

export async function listEvents(db: Queryable, projectId: string, options: { limit: number }): Promise<StoredEvent[]> {
  const rows = await db.query(
    `SELECT uuid, project_id, event, distinct_id, properties, timestamp, created_at, ip
     FROM events WHERE project_id = $1::text
     ORDER BY timestamp DESC, uuid DESC LIMIT $2::int`,
    [projectId, options.limit],
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

export async function listLogs(db: Queryable, instanceId: number, options: { limit: number }): Promise<AppLogEntry[]> {
  const rows = await db.query(
    `SELECT timestamp, level, message FROM app_logs WHERE instance_id = $1::int ORDER BY id DESC LIMIT $2::int`,
    [instanceId, options.limit],
  );
  return rows.map((row) => ({
    timestamp: toIso(row.timestamp),
    level: String(row.level) as AppLogLevel,
    message: String(row.message),
  }));
}
