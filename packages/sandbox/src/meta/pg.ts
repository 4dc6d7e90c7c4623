import { isIP } from 'node:net';
import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import type { GuardedFetch } from '../host-fetch';
import { HandleTable, guardedAddress } from './bridge';
import { defaultFetch } from './fetch';
import type { MetaCapability } from './types';
import { PG_JS } from '../vm-sources';

/** Connections one instance may hold open at once (a Pool's and its Clients' together). */
export const MAX_PG_CONNECTIONS_PER_INSTANCE = 10;
/** One query's time limit, on the server (statement_timeout) and on the wire. */
const QUERY_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** The largest result an app may be handed, as JSON text. */
const MAX_RESULT_BYTES = 10 * 1024 * 1024;

/** What the app's `new Client(options)` may set; anything else (streams, custom types, lookup) is ignored. */
interface AppClientOptions {
  connectionString?: string;
  host?: string;
  port?: number | string;
  user?: string;
  password?: string;
  database?: string;
  ssl?: boolean | { rejectUnauthorized?: boolean; ca?: string };
}

function readOptions(json: string): AppClientOptions {
  const raw = JSON.parse(json) as Record<string, unknown>;
  const parsed = typeof raw.connectionString === 'string' ? parseConnectionString(raw.connectionString) : {};
  const pick = (key: string) => raw[key] ?? (parsed as Record<string, unknown>)[key] ?? undefined;
  const ssl = pick('ssl');
  return {
    host: typeof pick('host') === 'string' ? (pick('host') as string) : 'localhost',
    port: Number(pick('port') ?? 5432),
    ...(typeof pick('user') === 'string' && { user: pick('user') as string }),
    ...(typeof pick('password') === 'string' && { password: pick('password') as string }),
    ...(typeof pick('database') === 'string' && { database: pick('database') as string }),
    ...(ssl !== undefined && ssl !== null && ssl !== false && { ssl: ssl === true || typeof ssl !== 'object' ? true : (ssl as AppClientOptions['ssl']) }),
  };
}

function tlsOptions(options: AppClientOptions, host: string, guard: GuardedFetch): pg.ClientConfig['ssl'] {
  if (!options.ssl) return false;
  const given = options.ssl === true ? {} : options.ssl;
  return {
    rejectUnauthorized: given.rejectUnauthorized !== false,
    // The socket goes to the checked address; the certificate is checked against the name asked for.
    ...(!isIP(host) && { servername: host }),
    ...(given.ca ? { ca: given.ca } : guard.trustedCa ? { ca: guard.trustedCa } : {}),
  };
}

/** Rows as plain JSON; the shim turns date and bytea columns back into Dates and Buffers by their type ids. */
function resultJson(result: pg.QueryResult): string {
  const json = JSON.stringify({
    command: result.command,
    rowCount: result.rowCount,
    rows: result.rows,
    fields: (result.fields ?? []).map((field) => ({ name: field.name, dataTypeID: field.dataTypeID })),
  });
  if (json.length > MAX_RESULT_BYTES) throw new RangeError(`pg: the result is larger than the sandbox's limit of ${MAX_RESULT_BYTES} bytes`);
  return json;
}

/**
 * `require('pg')`: `Client` and `Pool` whose connections live on the host. The app holds numeric
 * handles only, valid in its own VM alone (each VM has its own table); every connection is
 * closed when the VM is disposed (teardown, reload, shutdown). Egress, TLS trust and per-query
 * time limits are the host's; passwords never leave the host side.
 */
export const pgBridge: MetaCapability = {
  name: 'pg',
  handlers: (context, onDispose) => {
    const guard = context.fetch ?? defaultFetch();
    const clients = new HandleTable<pg.Client>('pg', MAX_PG_CONNECTIONS_PER_INSTANCE, (client) => client.end(), onDispose);
    return {
      'pg.connect': async (json) => {
        const options = readOptions(json);
        const host = options.host!;
        const address = await guardedAddress('pg: connection', host, guard);
        const client = new pg.Client({
          host: address,
          port: Number(options.port),
          ...(options.user !== undefined && { user: options.user }),
          ...(options.password !== undefined && { password: options.password }),
          ...(options.database !== undefined && { database: options.database }),
          ssl: tlsOptions(options, host, guard),
          // Which app holds a connection, for the database's operator (pg_stat_activity).
          application_name: `sluice app ${context.appName ?? ''}`.trim().slice(0, 63),
          connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
          statement_timeout: QUERY_TIMEOUT_MS,
          query_timeout: QUERY_TIMEOUT_MS,
        });
        const handle = clients.add(client);
        // A connection the server drops later fails the next query; it must not crash the process.
        client.on('error', () => clients.remove(handle));
        try {
          await client.connect();
        } catch (error) {
          clients.remove(handle);
          await client.end().catch(() => {});
          throw error;
        }
        return String(handle);
      },
      'pg.query': async (json) => {
        const [handle, text, values] = JSON.parse(json) as [unknown, unknown, unknown];
        if (typeof text !== 'string') throw new TypeError('pg: the query text must be a string');
        const client = clients.get(handle);
        return resultJson(await client.query({ text, ...(Array.isArray(values) && { values }) }));
      },
      'pg.end': async (json) => {
        const client = clients.remove(JSON.parse(json) as unknown);
        await client?.end();
        return undefined;
      },
    };
  },
  lazy: { name: 'pg', modules: ['pg'], source: PG_JS },
};
