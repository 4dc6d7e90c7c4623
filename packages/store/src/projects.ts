import type { Project } from '@sluice/core';
import type { Queryable, Row } from './sql';

function toProject(row: Row): Project {
  return { id: String(row.id), name: String(row.name), token: String(row.token) };
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
  return (await db.query(`SELECT id, name, token FROM projects ORDER BY created_at, id`)).map(toProject);
}

export async function getProject(db: Queryable, id: string): Promise<Project | null> {
  const rows = await db.query(`SELECT id, name, token FROM projects WHERE id = $1::text`, [id]);
  return rows[0] ? toProject(rows[0]) : null;
}

export async function getProjectByToken(db: Queryable, token: string): Promise<Project | null> {
  const rows = await db.query(`SELECT id, name, token FROM projects WHERE token = $1::text`, [token]);
  return rows[0] ? toProject(rows[0]) : null;
}

export async function createProject(
  db: Queryable,
  input: { id: string; name: string; token: string },
): Promise<Project> {
  const rows = await db.query(
    `INSERT INTO projects (id, name, token) VALUES ($1::text, $2::text, $3::text) RETURNING id, name, token`,
    [input.id, input.name, input.token],
  );
  return toProject(rows[0]!);
}
