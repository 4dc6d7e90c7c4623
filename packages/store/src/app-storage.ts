import type { Queryable } from './sql';

/** meta.storage reads and writes: one instance's persistent key → JSON text map. */
export async function getAppStorage(db: Queryable, instanceId: number, key: string): Promise<string | null> {
  const rows = await db.query(`SELECT value FROM app_storage WHERE instance_id = $1::int AND key = $2::text`, [instanceId, key]);
  return rows[0] ? String(rows[0].value) : null;
}

export async function setAppStorage(db: Queryable, instanceId: number, key: string, value: string): Promise<void> {
  await db.execute(
    `INSERT INTO app_storage (instance_id, key, value) VALUES ($1::int, $2::text, $3::text)
     ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [instanceId, key, value],
  );
}

export async function deleteAppStorage(db: Queryable, instanceId: number, key: string): Promise<void> {
  await db.execute(`DELETE FROM app_storage WHERE instance_id = $1::int AND key = $2::text`, [instanceId, key]);
}
