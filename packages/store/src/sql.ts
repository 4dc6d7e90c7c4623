/**
 * The one seam between the store's queries and a database driver. Every query in the store is
 * written once against this interface; `postgres.ts` (pg.Pool) and `pglite.ts` (embedded PGlite)
 * implement it, so the two backends cannot drift apart.
 */
export type Row = Record<string, unknown>;

export interface Queryable {
  /** Runs one statement (extended protocol: exactly one statement, `$n` parameters) and returns its rows. */
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs one statement and returns how many rows it inserted/updated/deleted. */
  execute(text: string, params?: readonly unknown[]): Promise<number>;
}

export interface Sql extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` on one connection inside BEGIN … COMMIT; ROLLBACK when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// Drivers disagree on a few types: pg returns int8/count as strings, PGlite as numbers (or
// bigint when unsafe); both return timestamptz as Date. These normalize what the store reads.

export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
  throw new TypeError(`expected a number from the database, got ${typeof value}`);
}

export function toIso(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return new Date(value).toISOString();
  throw new TypeError(`expected a timestamp from the database, got ${typeof value}`);
}

/** jsonb arrives parsed from both drivers; a string here would mean a custom type parser. */
export function fromJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/**
 * jsonb parameters are always sent as JSON text: pg would turn a JS array into a Postgres array
 * literal, and PGlite passes strings to jsonb parameters untouched, so text is the one form both
 * read the same way.
 */
export function toJson(value: unknown): string {
  const json = JSON.stringify(value);
  // Clean payloads (nearly all) pay one fast substring scan (JSON.stringify writes `\u` only for
  // control characters and unpaired surrogates) and no second serialization.
  if (!json.includes('\\u') || !UNSTORABLE_ESCAPE.test(json)) return json;
  return JSON.stringify(sanitize(JSON.parse(json)));
}

/**
 * Postgres text/jsonb cannot hold U+0000, and jsonb rejects unpaired surrogates; JSON.stringify
 * writes both as `\u0000` / `\udXXX` escapes. One such string from a client would fail a whole
 * batch, and its retries would dead-letter every good event in it. PostHog replaces them with
 * U+FFFD; so does the store. (A false positive, e.g. a literal `\\u0000`, only costs the slow path.)
 */
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/;
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function sanitize(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/\u0000/g, '\ufffd').replace(UNPAIRED_SURROGATE, '\ufffd');
  if (Array.isArray(value)) return value.map(sanitize);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [sanitize(key) as string, sanitize(item)]));
  }
  return value;
}

/** Schema names go into SQL and connection options unquoted, so only plain identifiers are allowed. */
export function assertIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid schema name: ${JSON.stringify(name)}`);
  return name;
}
