import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Queryable, Row, Sql } from './sql';

function queryable(db: PGlite | Transaction): Queryable {
  return {
    async query<T extends Row = Row>(text: string, params: readonly unknown[] = []) {
      const result = await db.query<T>(text, params as unknown[]);
      return result.rows;
    },
    async execute(text: string, params: readonly unknown[] = []) {
      const result = await db.query(text, params as unknown[]);
      return result.affectedRows ?? 0;
    },
  };
}

/** Opens PGlite at `dataDir` (created if missing), or in memory when it is undefined. */
export async function createPGliteSql(dataDir?: string): Promise<Sql> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const direct = queryable(db);
  return {
    kind: 'pglite',
    query: direct.query,
    execute: direct.execute,
    // PGlite serializes all access itself; a transaction holds its lock until it ends.
    transaction: (fn) => db.transaction((tx) => fn(queryable(tx))),
    close: () => db.close(),
  };
}
