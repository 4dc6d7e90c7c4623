import { toIso, toNumber, type Queryable, type Row } from './sql';

/** A file uploaded for a plugin.json config field of type "attachment" (PostHog's plugin attachment). */
export interface AppAttachment {
  key: string;
  contentType: string;
  fileName: string;
  contents: Uint8Array;
  updatedAt: string;
}

/** What listing shows without the contents. */
export type AppAttachmentInfo = Omit<AppAttachment, 'contents'> & { size: number };

function toAttachment(row: Row): AppAttachment {
  // pg answers a Buffer, PGlite a Uint8Array: both are Uint8Arrays.
  const contents = row.contents as Uint8Array;
  return { key: String(row.key), contentType: String(row.content_type), fileName: String(row.file_name), contents, updatedAt: toIso(row.updated_at) };
}

/**
 * Stores (or replaces) one attachment of an instance and bumps the instance's attachments_version,
 * so processes holding its VM reload it. False when there is no such instance in that project.
 * Caller runs this in a transaction.
 */
export async function setAttachment(
  db: Queryable,
  projectId: string,
  instanceId: number,
  file: { key: string; contentType: string; fileName: string; contents: Uint8Array },
): Promise<boolean> {
  const bumped = await db.execute(
    `UPDATE app_instances SET attachments_version = attachments_version + 1 WHERE project_id = $1::text AND id = $2::int`,
    [projectId, instanceId],
  );
  if (bumped === 0) return false;
  await db.execute(
    `INSERT INTO app_attachments (instance_id, key, content_type, file_name, contents)
     VALUES ($1::int, $2::text, $3::text, $4::text, $5::bytea)
     ON CONFLICT (instance_id, key) DO UPDATE
     SET content_type = EXCLUDED.content_type, file_name = EXCLUDED.file_name, contents = EXCLUDED.contents, updated_at = now()`,
    [instanceId, file.key, file.contentType, file.fileName, file.contents],
  );
  return true;
}

/** Removes one attachment; false when the instance (in that project) had none under that key. Caller runs this in a transaction. */
export async function deleteAttachment(db: Queryable, projectId: string, instanceId: number, key: string): Promise<boolean> {
  const deleted = await db.execute(
    `DELETE FROM app_attachments t USING app_instances i
     WHERE t.instance_id = i.id AND i.project_id = $1::text AND i.id = $2::int AND t.key = $3::text`,
    [projectId, instanceId, key],
  );
  if (deleted === 0) return false;
  await db.execute(`UPDATE app_instances SET attachments_version = attachments_version + 1 WHERE id = $1::int`, [instanceId]);
  return true;
}

/** An instance's attachments with their contents, by key. */
export async function listAttachments(db: Queryable, instanceId: number): Promise<AppAttachment[]> {
  const rows = await db.query(
    `SELECT key, content_type, file_name, contents, updated_at FROM app_attachments WHERE instance_id = $1::int ORDER BY key`,
    [instanceId],
  );
  return rows.map(toAttachment);
}

/** An instance's attachments without their contents (for the admin API). */
export async function listAttachmentInfo(db: Queryable, instanceId: number): Promise<AppAttachmentInfo[]> {
  const rows = await db.query(
    `SELECT key, content_type, file_name, octet_length(contents) AS size, updated_at FROM app_attachments WHERE instance_id = $1::int ORDER BY key`,
    [instanceId],
  );
  return rows.map((row) => ({ key: String(row.key), contentType: String(row.content_type), fileName: String(row.file_name), size: toNumber(row.size), updatedAt: toIso(row.updated_at) }));
}
