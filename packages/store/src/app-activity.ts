import type { PluginEvent } from '@sluice/core';
import { fromJson, toIso, toJson, toNumber, type Queryable, type Row } from './sql';

/** The outcomes counted per instance and minute. */
export const ACTIVITY_COUNTS = ['processed', 'dropped', 'errored', 'delivered', 'retried', 'dead_lettered'] as const;
export type ActivityCount = (typeof ACTIVITY_COUNTS)[number];
export type ActivityCounts = Record<ActivityCount, number>;

/** Counts to add to one instance's minute. */
export interface MinuteCounts {
  instanceId: number;
  /** The minute's start (ISO). */
  minute: string;
  counts: Partial<ActivityCounts>;
}

/** An instance's errors of one fingerprint seen since the last write. */
export interface ErrorGroupInput {
  instanceId: number;
  fingerprint: string;
  message: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  sampleEvent?: PluginEvent;
}

export interface ErrorGroup {
  fingerprint: string;
  message: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  sampleEvent: PluginEvent | null;
}

export interface HourCounts extends ActivityCounts {
  hour: string;
}

/** Adds the counts (rows of different processes for the same minute add up), in one statement. */
export async function addMinuteCounts(db: Queryable, rows: MinuteCounts[]): Promise<void> {
  if (rows.length === 0) return;
  const column = (name: ActivityCount) => rows.map((row) => row.counts[name] ?? 0);
  await db.execute(
    `INSERT INTO app_minutes (instance_id, minute, ${ACTIVITY_COUNTS.join(', ')})
     SELECT * FROM unnest($1::int[], $2::timestamptz[], ${ACTIVITY_COUNTS.map((_, i) => `$${i + 3}::bigint[]`).join(', ')}) AS given (instance_id, minute, ${ACTIVITY_COUNTS.join(', ')})
     WHERE EXISTS (SELECT 1 FROM app_instances WHERE id = given.instance_id)
     ON CONFLICT (instance_id, minute) DO UPDATE SET ${ACTIVITY_COUNTS.map((name) => `${name} = app_minutes.${name} + excluded.${name}`).join(', ')}`,
    [rows.map((row) => row.instanceId), rows.map((row) => row.minute), ...ACTIVITY_COUNTS.map(column)],
  );
}

/** An instance's counts per hour since `from` (ISO), oldest first; hours with nothing are absent. */
export async function listHourCounts(db: Queryable, instanceId: number, from: string): Promise<HourCounts[]> {
  const rows = await db.query(
    `SELECT date_trunc('hour', minute) AS hour, ${ACTIVITY_COUNTS.map((name) => `sum(${name}) AS ${name}`).join(', ')}
     FROM app_minutes WHERE instance_id = $1 AND minute >= $2::timestamptz GROUP BY 1 ORDER BY 1`,
    [instanceId, from],
  );
  return rows.map((row: Row) => ({ hour: toIso(row.hour), ...(Object.fromEntries(ACTIVITY_COUNTS.map((name) => [name, toNumber(row[name])])) as ActivityCounts) }));
}

/** Adds error groups: counts add up, the first sample and first-seen time stay. */
export async function addErrorGroups(db: Queryable, groups: ErrorGroupInput[]): Promise<void> {
  for (const group of groups) {
    await db.execute(
      `INSERT INTO app_errors (instance_id, fingerprint, message, count, first_seen, last_seen, sample_event)
       SELECT $1, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7::jsonb WHERE EXISTS (SELECT 1 FROM app_instances WHERE id = $1)
       ON CONFLICT (instance_id, fingerprint) DO UPDATE SET count = app_errors.count + excluded.count,
         last_seen = greatest(app_errors.last_seen, excluded.last_seen), message = excluded.message,
         sample_event = coalesce(app_errors.sample_event, excluded.sample_event)`,
      [group.instanceId, group.fingerprint, group.message, group.count, group.firstSeen, group.lastSeen, group.sampleEvent ? toJson(group.sampleEvent) : null],
    );
  }
}

/** An instance's error groups, most recently seen first. */
export async function listErrorGroups(db: Queryable, instanceId: number, limit: number): Promise<ErrorGroup[]> {
  const rows = await db.query(
    `SELECT fingerprint, message, count, first_seen, last_seen, sample_event FROM app_errors WHERE instance_id = $1 ORDER BY last_seen DESC LIMIT $2`,
    [instanceId, limit],
  );
  return rows.map((row) => ({
    fingerprint: String(row.fingerprint),
    message: String(row.message),
    count: toNumber(row.count),
    firstSeen: toIso(row.first_seen),
    lastSeen: toIso(row.last_seen),
    sampleEvent: row.sample_event === null ? null : fromJson<PluginEvent>(row.sample_event),
  }));
}

/** Deletes minutes and error groups not seen since `before` (ISO); answers the rows deleted. */
export async function pruneActivity(db: Queryable, before: string): Promise<number> {
  const minutes = await db.execute(`DELETE FROM app_minutes WHERE minute < $1::timestamptz`, [before]);
  return minutes + (await db.execute(`DELETE FROM app_errors WHERE last_seen < $1::timestamptz`, [before]));
}
