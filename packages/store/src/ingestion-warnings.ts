import { fromJson, toIso, toJson, toNumber, type Queryable, type Row } from './sql';

/** PostHog's ingestion warnings: something about a project's incoming data its users should know. */
export interface IngestionWarningInput {
  projectId: string;
  /** e.g. `ingestion_capacity_overflow` (PostHog's name for a hot person's overflow). */
  type: string;
  /** What one warning is about (a distinct_id): at most one warning per project, type and key per hour. */
  key: string;
  details: Record<string, unknown>;
}

export interface IngestionWarning {
  id: number;
  type: string;
  details: Record<string, unknown>;
  timestamp: string;
}

function toWarning(row: Row): IngestionWarning {
  return { id: toNumber(row.id), type: String(row.type), details: fromJson<Record<string, unknown>>(row.details), timestamp: toIso(row.created_at) };
}

/**
 * Records a warning unless the same project, type and key already has one in this hour (the
 * unique hour column decides, so intakes that notice the same person at once write one row).
 * Answers whether a row was written.
 */
export async function addIngestionWarning(db: Queryable, warning: IngestionWarningInput): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO ingestion_warnings (project_id, type, key, details, hour)
     VALUES ($1, $2, $3, $4::jsonb, floor(extract(epoch FROM now()) / 3600)::bigint)
     ON CONFLICT (project_id, type, key, hour) DO NOTHING RETURNING id`,
    [warning.projectId, warning.type, warning.key, toJson(warning.details)],
  );
  return rows.length > 0;
}

/** A project's warnings, newest first. */
export async function listIngestionWarnings(db: Queryable, projectId: string, limit: number): Promise<IngestionWarning[]> {
  const rows = await db.query(
    `SELECT id, type, details, created_at FROM ingestion_warnings WHERE project_id = $1 ORDER BY id DESC LIMIT $2`,
    [projectId, limit],
  );
  return rows.map(toWarning);
}
