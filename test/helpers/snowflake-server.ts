/**
 * A local server speaking the part of Snowflake's REST protocol that snowflake-sdk sends (no
 * Snowflake server exists on npm or Debian): login-request, query-request with bindings,
 * abort-request, telemetry, heartbeat, token renewal and session delete; requests gzip'd as the
 * SDK sends them, answers in Snowflake's JSON envelope (`{ data, code, message, success }`) with
 * query results as `rowtype` + `rowset` in the JSON result format. Behind it a tiny table store:
 * CREATE TABLE [IF NOT EXISTS], INSERT … VALUES with `?` binds (one row or array binds) and
 * SELECT * FROM t; anything else fails as Snowflake's compiler does (002003 / 42S02, 001003 /
 * 42000). It records what arrived: logins, every statement with its binds, and session deletes.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface SnowflakeLogin {
  account: string;
  username: string;
  password: string;
  database: string | null;
  schema: string | null;
  warehouse: string | null;
  role: string | null;
}

export interface SnowflakeStatement {
  sqlText: string;
  /** The bindings as the SDK sent them, in position order: `{ type, value }` (value an array for array binds). */
  bindings: Array<{ type: string; value: unknown }>;
}

interface Column {
  name: string;
  /** Snowflake's rowtype type: fixed, real, text, boolean, date, timestamp_ntz, variant, binary. */
  type: string;
}

interface Table {
  columns: Column[];
  /** Rows as the JSON result format has them: every value text (or null). */
  rows: Array<Array<string | null>>;
}

/** Session parameters the real service answers with (the SDK formats dates and binaries by them). */
const PARAMETERS = [
  { name: 'TIMEZONE', value: 'UTC' },
  { name: 'DATE_OUTPUT_FORMAT', value: 'YYYY-MM-DD' },
  { name: 'TIME_OUTPUT_FORMAT', value: 'HH24:MI:SS' },
  { name: 'TIMESTAMP_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM' },
  { name: 'TIMESTAMP_NTZ_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3' },
  { name: 'TIMESTAMP_LTZ_OUTPUT_FORMAT', value: '' },
  { name: 'TIMESTAMP_TZ_OUTPUT_FORMAT', value: '' },
  { name: 'BINARY_OUTPUT_FORMAT', value: 'HEX' },
  { name: 'CLIENT_RESULT_CHUNK_SIZE', value: 160 },
];

/** Statement type ids the SDK reads (statement_type.js): insert counts its updated rows. */
const STATEMENT_TYPE = { select: 0x1000, insert: 0x3100, ddl: 0x6000 };

const TYPES: Array<[RegExp, string]> = [
  [/^(INT|INTEGER|BIGINT|SMALLINT|NUMBER|NUMERIC|DECIMAL)\b/, 'fixed'],
  [/^(FLOAT|DOUBLE|REAL)\b/, 'real'],
  [/^BOOLEAN\b/, 'boolean'],
  [/^DATE\b/, 'date'],
  [/^(TIMESTAMP|DATETIME|TIMESTAMP_NTZ)\b/, 'timestamp_ntz'],
  [/^(VARIANT|OBJECT|ARRAY)\b/, 'variant'],
  [/^(BINARY|VARBINARY)\b/, 'binary'],
  [/^(VARCHAR|STRING|TEXT|CHAR)\b/, 'text'],
];

class SqlError extends Error {
  constructor(readonly code: string, readonly sqlState: string, message: string) {
    super(message);
  }
}

/** A bound value (the SDK sends every one as text) as the JSON result format stores it in a column of `type`. */
function stored(value: unknown, type: string): string | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  switch (type) {
    case 'timestamp_ntz': {
      const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text.includes('T') || text.endsWith('Z') ? text : `${text}Z`);
      if (Number.isNaN(ms)) throw new SqlError('100035', '22007', `Timestamp '${text}' is not recognized`);
      return `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}000000`;
    }
    case 'date': {
      const ms = Date.parse(text.slice(0, 10));
      if (Number.isNaN(ms)) throw new SqlError('100040', '22007', `Date '${text}' is not recognized`);
      return String(ms / 86_400_000);
    }
    case 'fixed':
      if (!/^-?\d+(\.0+)?$/.test(text)) throw new SqlError('100038', '22018', `Numeric value '${text}' is not recognized`);
      return String(BigInt(text.replace(/\.0+$/, '')));
    case 'boolean':
      return /^(true|1)$/i.test(text) ? '1' : '0';
    case 'binary':
      return Buffer.from(text, 'utf8').toString('hex').toUpperCase();
    default:
      return text;
  }
}

function rowtype(column: Column) {
  const numeric = column.type === 'fixed';
  return {
    name: column.name, database: 'SLUICE', schema: 'PUBLIC', table: '', nullable: true, collation: null,
    type: column.type, scale: numeric ? 0 : column.type === 'timestamp_ntz' ? 9 : null, precision: numeric ? 38 : null,
    byteLength: column.type === 'text' || column.type === 'variant' ? 16_777_216 : null, length: column.type === 'text' ? 16_777_216 : null,
  };
}

export class SnowflakeServer {
  readonly logins: SnowflakeLogin[] = [];
  readonly statements: SnowflakeStatement[] = [];
  readonly sessionDeletes: string[] = [];
  /** Every path the SDK asked for, in order (without the query string). */
  readonly paths: string[] = [];
  readonly tables = new Map<string, Table>();
  private readonly server = http.createServer((request, response) => void this.handle(request, response));
  private readonly sessions = new Map<string, number>();
  private nextSession = 1;
  url = '';

  constructor(private readonly credentials: { username: string; password: string }) {}

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const text = (request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
    const body = text ? (JSON.parse(text) as Record<string, any>) : {};
    const url = new URL(request.url ?? '/', this.url);
    this.paths.push(url.pathname);
    const answer = (payload: object) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ code: null, message: null, success: true, ...payload }));
    };
    if (url.pathname === '/session/v1/login-request') return answer(this.login(body.data ?? {}, url.searchParams));
    const token = /^Snowflake Token="(.*)"$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token || !this.sessions.has(token)) {
      return answer({ success: false, code: '390112', message: 'Your session has expired. Please login again.', data: null });
    }
    switch (url.pathname) {
      case '/queries/v1/query-request':
        return answer(this.query(body));
      case '/session':
        if (url.searchParams.get('delete') === 'true') {
          this.sessionDeletes.push(token);
          this.sessions.delete(token);
        }
        return answer({ data: null });
      default:
        // telemetry/send, session/heartbeat, session/token-request, queries/v1/abort-request
        return answer({ data: null });
    }
  }

  private login(data: Record<string, unknown>, query: URLSearchParams): object {
    const login: SnowflakeLogin = {
      account: String(data.ACCOUNT_NAME ?? ''), username: String(data.LOGIN_NAME ?? ''), password: String(data.PASSWORD ?? ''),
      database: query.get('databaseName'), schema: query.get('schemaName'), warehouse: query.get('warehouse'), role: query.get('roleName'),
    };
    this.logins.push(login);
    if (login.username !== this.credentials.username || login.password !== this.credentials.password) {
      return { success: false, code: '390100', message: 'Incorrect username or password was specified.', data: { nextAction: 'RETRY_LOGIN', authnMethod: 'USERNAME_PASSWORD' } };
    }
    const sessionId = this.nextSession++;
    const token = `session-token-${sessionId}`;
    this.sessions.set(token, sessionId);
    return {
      data: {
        token, masterToken: `master-token-${sessionId}`, validityInSeconds: 3600, masterValidityInSeconds: 14400, sessionId,
        displayUserName: login.username, serverVersion: '9.0.0', firstLogin: false, healthCheckInterval: 45, parameters: PARAMETERS,
        sessionInfo: { databaseName: login.database, schemaName: login.schema, warehouseName: login.warehouse, roleName: login.role },
      },
    };
  }

  private query(body: Record<string, any>): object {
    const sqlText = String(body.sqlText ?? '');
    const bindings = Object.keys(body.bindings ?? {}).sort((a, b) => Number(a) - Number(b)).map((key) => body.bindings[key] as { type: string; value: unknown });
    this.statements.push({ sqlText, bindings });
    const queryId = `01b0-${this.statements.length}`;
    try {
      return { data: { parameters: PARAMETERS, queryId, version: 1, queryResultFormat: 'json', ...this.run(sqlText, bindings) } };
    } catch (error) {
      if (!(error instanceof SqlError)) throw error;
      return {
        success: false, code: error.code, message: error.message,
        data: { internalError: false, errorCode: error.code, age: 0, sqlState: error.sqlState, queryId, line: -1, pos: -1, type: 'COMPILATION' },
      };
    }
  }

  private table(name: string): Table {
    const table = this.tables.get(name.toUpperCase());
    if (!table) throw new SqlError('002003', '42S02', `SQL compilation error:\nTable '${name.toUpperCase()}' does not exist or not authorized.`);
    return table;
  }

  private run(sqlText: string, bindings: Array<{ type: string; value: unknown }>): object {
    const sql = sqlText.trim().replace(/;$/, '');
    let match: RegExpExecArray | null;
    if ((match = /^CREATE TABLE (IF NOT EXISTS )?([\w.]+)\s*\(([\s\S]*)\)$/i.exec(sql))) {
      const name = match[2]!.toUpperCase();
      if (this.tables.has(name) && !match[1]) throw new SqlError('002002', '42710', `SQL compilation error:\nObject '${name}' already exists.`);
      if (!this.tables.has(name)) {
        const columns = match[3]!.split(',').map((definition) => {
          const [columnName, type = ''] = definition.trim().split(/\s+/);
          const found = TYPES.find(([pattern]) => pattern.test(type.toUpperCase()));
          if (!columnName || !found) throw new SqlError('001003', '42000', `SQL compilation error:\nsyntax error unexpected '${definition.trim()}'.`);
          return { name: columnName.toUpperCase(), type: found[1] };
        });
        this.tables.set(name, { columns, rows: [] });
      }
      return this.result(STATEMENT_TYPE.ddl, [{ name: 'status', type: 'text' }], [[`Table ${name} successfully created.`]]);
    }
    if ((match = /^INSERT INTO ([\w.]+)\s*\(([^)]*)\)\s*VALUES\s*([\s\S]+)$/i.exec(sql))) {
      const table = this.table(match[1]!);
      const names = match[2]!.split(',').map((name) => name.trim().toUpperCase());
      const columns = names.map((name) => table.columns.find((column) => column.name === name) ?? (() => { throw new SqlError('000904', '42000', `SQL compilation error: error line 1 at position 0\ninvalid identifier '${name}'`); })());
      const tuples = match[3]!.match(/\(([^)]*)\)/g) ?? [];
      const placeholders = tuples.reduce((count, tuple) => count + (tuple.match(/\?/g)?.length ?? 0), 0);
      if (placeholders !== bindings.length) throw new SqlError('002049', '42601', `SQL compilation error: Bind variable count mismatch: ${placeholders} placeholders, ${bindings.length} bindings`);
      // Array binds: each binding's value is the column's values, one per row, for a single (?, …) tuple.
      const arrayRows = Array.isArray(bindings[0]?.value) ? (bindings[0]!.value as unknown[]).length : 0;
      const rows: unknown[][] = arrayRows
        ? Array.from({ length: arrayRows }, (_, row) => bindings.map((binding) => (binding.value as unknown[])[row]))
        : tuples.map((_, row) => bindings.slice(row * columns.length, (row + 1) * columns.length).map((binding) => binding.value));
      for (const values of rows) {
        const row: Array<string | null> = table.columns.map(() => null);
        values.forEach((value, index) => (row[table.columns.indexOf(columns[index]!)] = stored(value, columns[index]!.type)));
        table.rows.push(row);
      }
      return this.result(STATEMENT_TYPE.insert, [{ name: 'number of rows inserted', type: 'fixed' }], [[String(rows.length)]]);
    }
    if ((match = /^SELECT \* FROM ([\w.]+)$/i.exec(sql))) {
      const table = this.table(match[1]!);
      return this.result(STATEMENT_TYPE.select, table.columns, table.rows);
    }
    throw new SqlError('001003', '42000', `SQL compilation error:\nsyntax error line 1 at position 0 unexpected '${sql.split(/\s+/)[0]}'.`);
  }

  private result(statementTypeId: number, columns: Column[], rows: Array<Array<string | null>>): object {
    return { rowtype: columns.map(rowtype), rowset: rows, total: rows.length, returned: rows.length, statementTypeId };
  }
}
