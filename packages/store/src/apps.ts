import type { AppCapability, AppConfig, AppInstance, AppRecord, AppSource, InstanceSettings, PluginJson } from '@sluice/core';
import { StoreInputError } from './errors';
import { fromJson, toIso, toJson, toNumber, type Queryable, type Row } from './sql';

const APP_COLUMNS = `id, name, version_hash, plugin_json, source, code, capabilities, created_at`;

function toApp(row: Row): AppRecord {
  return {
    id: toNumber(row.id),
    name: String(row.name),
    versionHash: String(row.version_hash),
    pluginJson: fromJson<PluginJson>(row.plugin_json),
    source: fromJson<AppSource>(row.source),
    code: String(row.code),
    capabilities: fromJson<AppCapability[]>(row.capabilities),
    createdAt: toIso(row.created_at),
  };
}

export async function saveApp(db: Queryable, input: Omit<AppRecord, 'id' | 'createdAt'>): Promise<AppRecord> {
  // The version hash identifies the source, so installing the same source twice (or from two
  // processes at once) yields the one existing row instead of an error or a duplicate.
  const inserted = await db.query(
    `INSERT INTO apps (name, version_hash, plugin_json, source, code, capabilities)
     VALUES ($1::text, $2::text, $3::jsonb, $4::jsonb, $5::text, $6::jsonb)
     ON CONFLICT (version_hash) DO NOTHING
     RETURNING ${APP_COLUMNS}`,
    [input.name, input.versionHash, toJson(input.pluginJson), toJson(input.source), input.code, toJson(input.capabilities)],
  );
  if (inserted[0]) return toApp(inserted[0]);
  const existing = await db.query(`SELECT ${APP_COLUMNS} FROM apps WHERE version_hash = $1::text`, [input.versionHash]);
  return toApp(existing[0]!);
}

export async function getApp(db: Queryable, id: number): Promise<AppRecord | null> {
  const rows = await db.query(`SELECT ${APP_COLUMNS} FROM apps WHERE id = $1::int`, [id]);
  return rows[0] ? toApp(rows[0]) : null;
}

export async function listApps(db: Queryable): Promise<AppRecord[]> {
  return (await db.query(`SELECT ${APP_COLUMNS} FROM apps ORDER BY id`)).map(toApp);
}

// An instance's name and capabilities are its app's, joined in rather than copied, so they can
// never disagree with the code the instance runs.
const INSTANCE_COLUMNS = `i.id, i.project_id, i.app_id, a.name, a.capabilities, i."order", i.enabled, i.config, i.settings, i.attachments_version`;
const INSTANCE_SELECT = `SELECT ${INSTANCE_COLUMNS} FROM app_instances i JOIN apps a ON a.id = i.app_id`;

function toInstance(row: Row): AppInstance {
  return {
    id: toNumber(row.id),
    projectId: String(row.project_id),
    appId: toNumber(row.app_id),
    name: String(row.name),
    capabilities: fromJson<AppCapability[]>(row.capabilities),
    order: toNumber(row.order),
    enabled: Boolean(row.enabled),
    config: fromJson<AppConfig>(row.config),
    settings: fromJson<InstanceSettings>(row.settings ?? {}),
    // Only once attachments were uploaded: most instances never have any.
    ...(toNumber(row.attachments_version ?? 0) > 0 && { attachmentsVersion: toNumber(row.attachments_version) }),
  };
}

export async function createInstance(
  db: Queryable,
  input: { projectId: string; appId: number; config: AppConfig; order?: number; enabled?: boolean; settings?: InstanceSettings },
): Promise<AppInstance> {
  // Default order: after the project's last instance, computed in the same statement.
  const rows = await db.query(
    `WITH ins AS (
       INSERT INTO app_instances (project_id, app_id, config, "order", enabled, settings)
       VALUES ($1::text, $2::int, $3::jsonb,
               COALESCE($4::int, (SELECT COALESCE(max("order"), 0) + 1 FROM app_instances WHERE project_id = $1::text)),
               $5::boolean, $6::jsonb)
       RETURNING *
     )
     SELECT ${INSTANCE_COLUMNS} FROM ins i JOIN apps a ON a.id = i.app_id`,
    [input.projectId, input.appId, toJson(input.config), input.order ?? null, input.enabled ?? true, toJson(input.settings ?? {})],
  );
  return toInstance(rows[0]!);
}

export async function getInstance(db: Queryable, id: number): Promise<AppInstance | null> {
  const rows = await db.query(`${INSTANCE_SELECT} WHERE i.id = $1::int`, [id]);
  return rows[0] ? toInstance(rows[0]) : null;
}

export async function listInstances(db: Queryable, projectId: string): Promise<AppInstance[]> {
  const rows = await db.query(`${INSTANCE_SELECT} WHERE i.project_id = $1::text ORDER BY i."order", i.id`, [projectId]);
  return rows.map(toInstance);
}

export async function listAllInstances(db: Queryable): Promise<AppInstance[]> {
  return (await db.query(`${INSTANCE_SELECT} ORDER BY i.project_id, i."order", i.id`)).map(toInstance);
}

/** Changes only the fields given; null when no such instance in that project. */
export async function updateInstance(
  db: Queryable,
  projectId: string,
  id: number,
  changes: { enabled?: boolean; config?: AppConfig; appId?: number; settings?: InstanceSettings },
): Promise<AppInstance | null> {
  const rows = await db.query(
    `WITH upd AS (
       UPDATE app_instances
       SET enabled = COALESCE($3::boolean, enabled), config = COALESCE($4::jsonb, config), app_id = COALESCE($5::int, app_id),
           settings = COALESCE($6::jsonb, settings)
       WHERE project_id = $1::text AND id = $2::int
       RETURNING *
     )
     SELECT ${INSTANCE_COLUMNS} FROM upd i JOIN apps a ON a.id = i.app_id`,
    [
      projectId,
      id,
      changes.enabled ?? null,
      changes.config === undefined ? null : toJson(changes.config),
      changes.appId ?? null,
      changes.settings === undefined ? null : toJson(changes.settings),
    ],
  );
  return rows[0] ? toInstance(rows[0]) : null;
}

/**
 * Caller runs this in a transaction. The list must name each of the project's instances exactly
 * once: a partial list would leave the others' orders colliding with the new ones. The rows are
 * locked first, so an instance deleted concurrently cannot slip between the check and the update
 * (one created concurrently gets max + 1 and simply comes last).
 */
export async function setInstanceOrder(db: Queryable, projectId: string, instanceIds: number[]): Promise<AppInstance[]> {
  const rows = await db.query(`SELECT id FROM app_instances WHERE project_id = $1::text ORDER BY id FOR NO KEY UPDATE`, [projectId]);
  const existing = new Set(rows.map((row) => toNumber(row.id)));
  const seen = new Set<number>();
  const duplicate = new Set<number>();
  for (const id of instanceIds) (seen.has(id) ? duplicate : seen).add(id);
  const unknown = [...seen].filter((id) => !existing.has(id));
  const missing = [...existing].filter((id) => !seen.has(id));
  const problems = [
    duplicate.size > 0 ? `duplicate ids ${[...duplicate].join(', ')}` : '',
    unknown.length > 0 ? `unknown ids ${unknown.join(', ')}` : '',
    missing.length > 0 ? `missing ids ${missing.join(', ')}` : '',
  ].filter(Boolean);
  if (problems.length > 0) {
    throw new StoreInputError(
      `the order must list each instance of project ${JSON.stringify(projectId)} exactly once: ${problems.join('; ')}`,
    );
  }
  await db.execute(
    `UPDATE app_instances SET "order" = r.n
     FROM unnest($2::int[]) WITH ORDINALITY AS r(id, n)
     WHERE app_instances.project_id = $1::text AND app_instances.id = r.id`,
    [projectId, instanceIds],
  );
  return listInstances(db, projectId);
}

/** Caller runs this in a transaction: the instance and its logs go together. */
export async function deleteInstance(db: Queryable, projectId: string, id: number): Promise<boolean> {
  const deleted = await db.execute(`DELETE FROM app_instances WHERE project_id = $1::text AND id = $2::int`, [projectId, id]);
  if (deleted === 0) return false;
  await db.execute(`DELETE FROM app_logs WHERE instance_id = $1::int`, [id]);
  return true;
}

/** The instances (id and project) that run an app version. */
export async function instancesOfApp(db: Queryable, appId: number): Promise<Array<{ id: number; projectId: string }>> {
  const rows = await db.query(`SELECT id, project_id FROM app_instances WHERE app_id = $1::int ORDER BY id`, [appId]);
  return rows.map((row) => ({ id: toNumber(row.id), projectId: String(row.project_id) }));
}

/** Caller runs this in a transaction, after the app's instances are gone. */
export async function deleteApp(db: Queryable, id: number): Promise<boolean> {
  return (await db.execute(`DELETE FROM apps WHERE id = $1::int`, [id])) > 0;
}
