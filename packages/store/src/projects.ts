import type { Project } from '@sluice/core';
import type { Queryable, Row } from './sql';

const PROJECT_COLUMNS = 'id, team_id, name, token, anonymize_ips';

function toProject(row: Row): Project {
  return { id: String(row.id), teamId: Number(row.team_id), name: String(row.name), token: String(row.token), anonymizeIps: row.anonymize_ips === true };
}

export async function getSetting(db: Queryable, key: string): Promise<string | null> {
  const rows = await db.query(`SELECT value FROM settings WHERE key = $1::text`, [key]);
  return rows[0] ? String(rows[0].value) : null;
}

export async function setSetting(db: Queryable, key: string, value: string): Promise<void> {
  await db.execute(
    `INSERT INTO settings (key, value) VALUES ($1::text, $2::text)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [key, value],
  );
}

/** Sets `key` only if no value exists; returns the value that is stored (one writer wins a race). */
export async function claimSetting(db: Queryable, key: string, value: string): Promise<string> {
  await db.execute(`INSERT INTO settings (key, value) VALUES ($1::text, $2::text) ON CONFLICT (key) DO NOTHING`, [key, value]);
  return (await getSetting(db, key)) ?? value;
}

export async function listProjects(db: Queryable): Promise<Project[]> {
  return (await db.query(`SELECT ${PROJECT_COLUMNS} FROM projects ORDER BY created_at, id`)).map(toProject);
}

export async function getProject(db: Queryable, id: string): Promise<Project | null> {
  const rows = await db.query(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE id = $1::text`, [id]);
  return rows[0] ? toProject(rows[0]) : null;
}

export async function getProjectByToken(db: Queryable, token: string): Promise<Project | null> {
  const rows = await db.query(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE token = $1::text`, [token]);
  return rows[0] ? toProject(rows[0]) : null;
}

export async function createProject(
  db: Queryable,
  input: { id: string; name: string; token: string },
): Promise<Project> {
  const rows = await db.query(
    `INSERT INTO projects (id, name, token) VALUES ($1::text, $2::text, $3::text) RETURNING ${PROJECT_COLUMNS}`,
    [input.id, input.name, input.token],
  );
  return toProject(rows[0]!);
}

/** Changes a project's name and options; null when there is no such project. */
export async function updateProject(
  db: Queryable,
  id: string,
  changes: { name?: string; anonymizeIps?: boolean },
): Promise<Project | null> {
  const rows = await db.query(
    `UPDATE projects SET name = COALESCE($2::text, name), anonymize_ips = COALESCE($3::boolean, anonymize_ips)
     WHERE id = $1::text RETURNING ${PROJECT_COLUMNS}`,
    [id, changes.name ?? null, changes.anonymizeIps ?? null],
  );
  return rows[0] ? toProject(rows[0]) : null;
}

/** Gives a project a new token (the old one stops working); null when there is no such project. */
export async function setProjectToken(db: Queryable, id: string, token: string): Promise<Project | null> {
  const rows = await db.query(`UPDATE projects SET token = $2::text WHERE id = $1::text RETURNING ${PROJECT_COLUMNS}`, [id, token]);
  return rows[0] ? toProject(rows[0]) : null;
}

/** Every table that holds a project's data, children first. */
const PROJECT_DATA = ['events', 'app_logs', 'dead_letters', 'app_instances'];

/** Deletes a project with all its data (events, app instances, logs, dead letters); false when there was none. Caller runs this in a transaction. */
export async function deleteProject(db: Queryable, id: string): Promise<boolean> {
  for (const table of PROJECT_DATA) await db.execute(`DELETE FROM ${table} WHERE project_id = $1::text`, [id]);
  return (await db.execute(`DELETE FROM projects WHERE id = $1::text`, [id])) > 0;
}
