import pg from 'pg';
import { assertIdentifier, type Queryable, type Row, type Sql } from './sql';

type Client = Pick<pg.PoolClient, 'query'>;

function queryable(client: Client): Queryable {
  return {
    async query<T extends Row = Row>(text: string, params: readonly unknown[] = []) {
      const result = await client.query(text, params as unknown[]);
      return result.rows as T[];
    },
    async execute(text: string, params: readonly unknown[] = []) {
      const result = await client.query(text, params as unknown[]);
      return result.rowCount ?? 0;
    },
  };
}

export interface PostgresSqlOptions {
  databaseUrl: string;
  /** Every pooled connection gets `search_path=<schema>`, so the store's unqualified table names land there. */
  schema?: string;
  max?: number;
}

export function createPostgresSql(options: PostgresSqlOptions): Sql {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.max ?? 10,
    ...(options.schema ? { options: `-c search_path=${assertIdentifier(options.schema)}` } : {}),
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, that kills the
  // process. The pool drops the client, and the next query reports any lasting outage.
  pool.on('error', () => {});
  const direct = queryable(pool);
  return {
    kind: 'postgres',
    query: direct.query,
    execute: direct.execute,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(queryable(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
