import type { DeliveryFunction, PluginEvent } from '@sluice/core';
import { INSERT_CHUNK } from './events';
import { fromJson, toIso, toJson, toNumber, type Queryable, type Row } from './sql';

export interface DeadLetterInput {
  projectId: string;
  instanceId: number;
  appId: number;
  function: DeliveryFunction;
  /** The whole event as it was delivered, so it can be delivered again. */
  event: PluginEvent;
  error: string;
  attempts: number;
}

export interface DeadLetter extends DeadLetterInput {
  id: number;
  /** ISO-8601. */
  failedAt: string;
}

export interface DeadLetterFilter {
  instanceId?: number;
  ids?: number[];
}

const DEAD_LETTER_COLUMNS = `id, project_id, instance_id, app_id, "function", event, error, attempts, failed_at`;

function toDeadLetter(row: Row): DeadLetter {
  return {
    id: toNumber(row.id),
    projectId: String(row.project_id),
    instanceId: toNumber(row.instance_id),
    appId: toNumber(row.app_id),
    function: String(row.function) as DeliveryFunction,
    event: fromJson<PluginEvent>(row.event),
    error: String(row.error),
    attempts: toNumber(row.attempts),
    failedAt: toIso(row.failed_at),
  };
}

/**
 * Like appendLogs: the batch travels as one jsonb parameter, WITH ORDINALITY keeps its order in
 * the identity ids (listDeadLetters is oldest first by id), and rows whose instance no longer
 * exists in that project (deleted while its deliveries were being retried) are dropped rather
 * than failing the batch. FOR KEY SHARE makes a concurrent deleteInstance wait for this insert
 * (or this insert wait for it), so its DELETE of the instance's dead letters cannot miss rows
 * written in between. toJson turns NULs in the event or error into U+FFFD, as for events.
 *
 * Caller runs this in a transaction when there is more than one chunk, so a batch is
 * dead-lettered whole or not at all.
 */
const INSERT_DEAD_LETTERS = `
  INSERT INTO dead_letters (project_id, instance_id, app_id, "function", event, error, attempts)
  SELECT r.project_id, r.instance_id, r.app_id, r."function", r.event, r.error, r.attempts
  FROM ROWS FROM (jsonb_to_recordset($1::jsonb)
    AS (project_id text, instance_id int, app_id int, "function" text, event jsonb, error text, attempts int))
    WITH ORDINALITY AS r(project_id, instance_id, app_id, "function", event, error, attempts, n)
  JOIN app_instances i ON i.id = r.instance_id AND i.project_id = r.project_id
  ORDER BY r.n
  FOR KEY SHARE OF i`;

export async function addDeadLetters(db: Queryable, entries: DeadLetterInput[]): Promise<void> {
  // Chunked like insertEvents: each entry carries a whole event, so this bounds the parameter.
  for (let start = 0; start < entries.length; start += INSERT_CHUNK) {
    const chunk = entries.slice(start, start + INSERT_CHUNK).map((e) => ({
      project_id: e.projectId,
      instance_id: e.instanceId,
      app_id: e.appId,
      function: e.function,
      event: e.event,
      error: e.error,
      attempts: e.attempts,
    }));
    await db.execute(INSERT_DEAD_LETTERS, [toJson(chunk)]);
  }
}

// Absent filters are passed as NULL; both drivers plan unnamed statements with the actual
// parameter values, so the `IS NULL OR` arms fold away and the (project_id, id) index is used.
const FILTER = `project_id = $1::text
  AND ($2::int IS NULL OR instance_id = $2::int)
  AND ($3::bigint[] IS NULL OR id = ANY ($3::bigint[]))`;

function filterParams(projectId: string, filter: DeadLetterFilter): unknown[] {
  return [projectId, filter.instanceId ?? null, filter.ids ?? null];
}

export async function listDeadLetters(
  db: Queryable,
  projectId: string,
  options: DeadLetterFilter & { limit: number; afterId?: number },
): Promise<DeadLetter[]> {
  const rows = await db.query(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters
     WHERE ${FILTER} AND ($4::bigint IS NULL OR id > $4::bigint)
     ORDER BY id LIMIT $5::int`,
    [...filterParams(projectId, options), options.afterId ?? null, options.limit],
  );
  return rows.map(toDeadLetter);
}

export async function countDeadLetters(db: Queryable, projectId: string, filter: DeadLetterFilter): Promise<number> {
  const rows = await db.query(`SELECT count(*) AS n FROM dead_letters WHERE ${FILTER}`, filterParams(projectId, filter));
  return toNumber(rows[0]!.n);
}

export async function deleteDeadLetters(db: Queryable, projectId: string, ids: number[]): Promise<number> {
  if (ids.length === 0) return 0;
  return db.execute(`DELETE FROM dead_letters WHERE project_id = $1::text AND id = ANY ($2::bigint[])`, [projectId, ids]);
}

/** Part of deleteInstance's transaction. project_id narrows the scan to the (project_id, id) index. */
export async function deleteInstanceDeadLetters(db: Queryable, projectId: string, instanceId: number): Promise<void> {
  await db.execute(`DELETE FROM dead_letters WHERE project_id = $1::text AND instance_id = $2::int`, [projectId, instanceId]);
}
