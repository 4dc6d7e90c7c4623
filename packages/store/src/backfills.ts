import type { StoredEvent } from '@sluice/core';
import { toEvent } from './events';
import { toIso, toNumber, type Queryable, type Row } from './sql';

export type BackfillState = 'running' | 'done' | 'cancelled' | 'failed';

/** Where a backfill has got to: the last event of the last slice handed on. */
export interface BackfillCheckpoint {
  timestamp: string;
  uuid: string;
}

export interface BackfillInput {
  projectId: string;
  instanceId: number;
  /** ISO times: events with from <= timestamp < to. */
  from: string;
  to: string;
  /** Only these event names; all when null. */
  events: string[] | null;
  /** Events per second at most. */
  rate: number;
}

export interface Backfill extends BackfillInput {
  id: number;
  state: BackfillState;
  done: number;
  total: number;
  eventsPerSecond: number;
  checkpoint: BackfillCheckpoint | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

const COLUMNS = `id, project_id, instance_id, from_ts, to_ts, event_names, rate, state, done, total, events_per_second,
  checkpoint_ts, checkpoint_uuid, error, created_at, updated_at`;

function toBackfill(row: Row): Backfill {
  return {
    id: toNumber(row.id),
    projectId: String(row.project_id),
    instanceId: toNumber(row.instance_id),
    from: toIso(row.from_ts),
    to: toIso(row.to_ts),
    events: row.event_names == null ? null : (row.event_names as string[]),
    rate: toNumber(row.rate),
    state: String(row.state) as BackfillState,
    done: toNumber(row.done),
    total: toNumber(row.total),
    eventsPerSecond: toNumber(row.events_per_second),
    checkpoint: row.checkpoint_ts == null ? null : { timestamp: toIso(row.checkpoint_ts), uuid: String(row.checkpoint_uuid) },
    error: row.error == null ? null : String(row.error),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

// The events of a backfill: its project, its range, its event names ($1 … $4 in each query using it).
const IN_RANGE = `project_id = $1::text AND timestamp >= $2::timestamptz AND timestamp < $3::timestamptz
  AND ($4::text[] IS NULL OR event = ANY ($4::text[]))`;

function rangeParams(backfill: Pick<BackfillInput, 'projectId' | 'from' | 'to' | 'events'>): unknown[] {
  return [backfill.projectId, backfill.from, backfill.to, backfill.events];
}

/**
 * Starts a backfill with its total counted in the same statement; null when the instance
 * already has a running one (the partial unique index backfills_one_running decides).
 */
export async function createBackfill(db: Queryable, input: BackfillInput): Promise<Backfill | null> {
  const rows = await db.query(
    `INSERT INTO backfills (project_id, instance_id, from_ts, to_ts, event_names, rate, state, total)
     SELECT $1::text, $5::int, $2::timestamptz, $3::timestamptz, $4::text[], $6::int, 'running',
       (SELECT count(*) FROM events WHERE ${IN_RANGE})
     ON CONFLICT (instance_id) WHERE state = 'running' DO NOTHING
     RETURNING ${COLUMNS}`,
    [...rangeParams(input), input.instanceId, input.rate],
  );
  return rows[0] ? toBackfill(rows[0]) : null;
}

export async function getBackfill(db: Queryable, id: number): Promise<Backfill | null> {
  const rows = await db.query(`SELECT ${COLUMNS} FROM backfills WHERE id = $1::bigint`, [id]);
  return rows[0] ? toBackfill(rows[0]) : null;
}

/** Newest first. */
export async function listBackfills(db: Queryable, instanceId: number): Promise<Backfill[]> {
  const rows = await db.query(`SELECT ${COLUMNS} FROM backfills WHERE instance_id = $1::int ORDER BY id DESC`, [instanceId]);
  return rows.map(toBackfill);
}

export async function listRunningBackfills(db: Queryable): Promise<Backfill[]> {
  const rows = await db.query(`SELECT ${COLUMNS} FROM backfills WHERE state = 'running' ORDER BY id`);
  return rows.map(toBackfill);
}

/** Sets a running backfill to cancelled; answers the backfill as it now is (null: no such backfill of that instance). */
export async function cancelBackfill(db: Queryable, instanceId: number, id: number): Promise<Backfill | null> {
  await db.execute(
    `UPDATE backfills SET state = 'cancelled', updated_at = now() WHERE id = $1::bigint AND instance_id = $2::int AND state = 'running'`,
    [id, instanceId],
  );
  const found = await getBackfill(db, id);
  return found && found.instanceId === instanceId ? found : null;
}

/** The next `limit` events after the checkpoint, in stored order (timestamp, then uuid: one index scan). */
export async function backfillSlice(db: Queryable, backfill: Backfill, limit: number): Promise<StoredEvent[]> {
  const rows = await db.query(
    `SELECT uuid, project_id, event, distinct_id, properties, timestamp, created_at, ip
     FROM events WHERE ${IN_RANGE}
       AND ($5::timestamptz IS NULL OR (timestamp, uuid) > ($5::timestamptz, $6::uuid))
     ORDER BY timestamp, uuid LIMIT $7::int`,
    [...rangeParams(backfill), backfill.checkpoint?.timestamp ?? null, backfill.checkpoint?.uuid ?? null, limit],
  );
  return rows.map(toEvent);
}

/**
 * Moves the checkpoint past a delivered slice and adds it to `done`, in one statement so the two
 * never disagree; false when the backfill is no longer running (cancelled meanwhile).
 */
export async function advanceBackfill(
  db: Queryable,
  id: number,
  step: { checkpoint: BackfillCheckpoint; delivered: number; eventsPerSecond: number },
): Promise<boolean> {
  const updated = await db.execute(
    `UPDATE backfills SET checkpoint_ts = $2::timestamptz, checkpoint_uuid = $3::uuid, done = done + $4::bigint,
       events_per_second = $5::double precision, updated_at = now()
     WHERE id = $1::bigint AND state = 'running'`,
    [id, step.checkpoint.timestamp, step.checkpoint.uuid, step.delivered, step.eventsPerSecond],
  );
  return updated > 0;
}

/**
 * Ends a running backfill. When done, `total` becomes what was delivered: events stored into the
 * range after the start (late arrivals) were delivered too, so done == total at the end.
 */
export async function finishBackfill(db: Queryable, id: number, state: 'done' | 'failed', error?: string): Promise<boolean> {
  const updated = await db.execute(
    `UPDATE backfills SET state = $2::text, error = $3::text, updated_at = now(),
       total = CASE WHEN $2::text = 'done' THEN done ELSE total END,
       events_per_second = CASE WHEN $2::text = 'done' THEN events_per_second ELSE 0 END
     WHERE id = $1::bigint AND state = 'running'`,
    [id, state, error ?? null],
  );
  return updated > 0;
}
