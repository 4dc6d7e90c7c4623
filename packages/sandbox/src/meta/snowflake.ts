import type http from 'node:http';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import type snowflakeSdk from 'snowflake-sdk';
import { FetchBlockedError, type GuardedFetch } from '../host-fetch';
import { HandleTable, parsePayload, withinTimeLimit } from './bridge';
import { defaultFetch } from './fetch';
import type { MetaCapability } from './types';
import { SNOWFLAKE_JS } from '../vm-sources';

type Snowflake = typeof snowflakeSdk;
type Connection = snowflakeSdk.Connection;
type Statement = snowflakeSdk.RowStatement;

/** Connections one instance may hold open at once. */
export const MAX_SNOWFLAKE_CONNECTIONS_PER_INSTANCE = 10;
/** One request's (login, query) time limit; a query still running then is cancelled. */
const CALL_TIMEOUT_MS = 60_000;
/** The largest result an app may be handed, as JSON text. */
const MAX_RESULT_BYTES = 10 * 1024 * 1024;
/**
 * Operator setting: where every app's Snowflake connections go instead of
 * `https://<account>.snowflakecomputing.com` (a private link, a gateway, a local test server).
 * Apps cannot choose it: an app's options name the account only.
 */
export const SNOWFLAKE_URL_SETTING = 'SLUICE_SNOWFLAKE_URL';

/** `snowflake.createConnection(options)` as apps give it; anything else (authenticators, key files, proxies) is ignored. */
interface AppConnectionOptions {
  account?: string;
  username?: string;
  password?: string;
  database?: string;
  schema?: string;
  warehouse?: string;
  role?: string;
  application?: string;
}

const silentLogger = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };
let loaded: Promise<Snowflake> | undefined;

/**
 * The SDK, loaded on an app's first connection (it costs every process its AWS/Azure/GCP clients
 * otherwise). Its OCSP cache module makes ~/.cache/snowflake when it loads unless
 * SF_OCSP_RESPONSE_CACHE_DIR names a directory: the bridge never uses OCSP (its agent is the
 * guard's), so for the load that names the temp directory, which exists. Its logger is silenced
 * (no snowflake.log, no console lines).
 */
function loadSdk(): Promise<Snowflake> {
  loaded ??= (async () => {
    const previous = process.env.SF_OCSP_RESPONSE_CACHE_DIR;
    process.env.SF_OCSP_RESPONSE_CACHE_DIR = previous ?? tmpdir();
    try {
      const snowflake = (await import('snowflake-sdk')).default;
      snowflake.configure({ logLevel: 'OFF', additionalLogToConsole: false, customLogger: silentLogger });
      return snowflake;
    } finally {
      if (previous === undefined) delete process.env.SF_OCSP_RESPONSE_CACHE_DIR;
    }
  })();
  return loaded;
}

/** The operator's SLUICE_SNOWFLAKE_URL, checked; undefined: the SDK's own address for the account. */
function accessUrlOverride(): string | undefined {
  const raw = process.env[SNOWFLAKE_URL_SETTING]?.trim();
  if (!raw) return undefined;
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new TypeError(`${SNOWFLAKE_URL_SETTING}: "${raw}" is not an http(s) URL`);
  return url.origin;
}

/**
 * snowflake-sdk's `agentClass` option: called for each request with the URL's protocol, it answers
 * the agent to send through (when that agent's `protocol` is the URL's). Every request the SDK's
 * HTTP client makes (login, queries, telemetry, result chunks, session delete) goes through the
 * instance's guarded agent, one view per protocol. The guard's lookup sees host names; an IP
 * literal never goes through DNS, so the view checks those itself before the agent connects.
 */
function guardedAgentClass(guard: GuardedFetch, agent: http.Agent): (options: { protocol: string }) => http.Agent {
  const views = new Map<string, http.Agent>();
  const addRequest = (request: http.ClientRequest, options: { host?: string; hostname?: string }, view: http.Agent) => {
    const host = String(options.hostname ?? options.host ?? '').replace(/^\[|\]$/g, '');
    const blocked = isIP(host) ? guard.blockedAmong('Snowflake', host, [{ address: host }]) : undefined;
    // As http.Agent answers a socket it could not make: the request fails with the error.
    if (blocked) return void (request as unknown as { onSocket: (socket: null, error: Error) => void }).onSocket(null, blocked);
    (agent as unknown as { addRequest: (...args: unknown[]) => void }).addRequest.call(view, request, options);
  };
  return ({ protocol }) => {
    let view = views.get(protocol);
    if (!view) {
      view = new Proxy(agent, {
        get: (target, key, receiver) => (key === 'protocol' ? protocol : key === 'addRequest' ? (request: http.ClientRequest, options: object) => addRequest(request, options, receiver) : Reflect.get(target, key, receiver)),
      });
      views.set(protocol, view);
    }
    return view;
  };
}

/** The SDK wraps a refused connection as "Network error. Could not reach Snowflake."; the app gets the guard's reason. */
function withGuardReason(error: unknown): unknown {
  for (let cause = error, depth = 0; cause && typeof cause === 'object' && depth < 5; cause = (cause as { cause?: unknown }).cause, depth++) {
    const { name, message } = cause as { name?: unknown; message?: unknown };
    if (name === 'FetchBlockedError' && typeof message === 'string') return new FetchBlockedError(message);
  }
  return error;
}

/** A promise of the SDK's callback API, within the call's time limit (`onLate` runs when it is passed). */
function withinLimit<T>(what: string, start: (done: (error: unknown, value?: T) => void) => void, onLate?: () => void): Promise<T> {
  const work = new Promise<T>((resolve, reject) => start((error, value) => (error ? reject(withGuardReason(error)) : resolve(value as T))));
  return withinTimeLimit(`snowflake-sdk: ${what}`, CALL_TIMEOUT_MS, work, onLate);
}

/** As the SDK decides (statement.js): text starting with PUT or GET is a file transfer, which reads or writes the host's files. */
function isFileTransfer(sqlText: string): boolean {
  const verb = sqlText.trim().slice(0, 3).toUpperCase();
  return verb === 'PUT' || verb === 'GET';
}

/**
 * The statement and its rows as JSON. Dates cross as epoch milliseconds and Buffers as base64
 * (the replacer sees the value before its toJSON); the shim turns them back by column type.
 */
function resultJson(statement: Statement, rows: unknown[] | undefined): string {
  const columns = (statement.getColumns() ?? []).map((column) => ({ name: column.getName(), type: column.getType(), scale: column.getScale(), precision: column.getPrecision(), nullable: column.isNullable() }));
  const json = JSON.stringify(
    {
      sqlText: statement.getSqlText(), numRows: statement.getNumRows(), numUpdatedRows: statement.getNumUpdatedRows(),
      queryId: statement.getQueryId(), columns, rows: rows ?? [],
    },
    function (this: Record<string, unknown>, key: string, value: unknown) {
      const original = this[key];
      if (original instanceof Date) return original.getTime();
      if (Buffer.isBuffer(original)) return original.toString('base64');
      return value;
    },
  );
  if (json.length > MAX_RESULT_BYTES) throw new RangeError(`snowflake-sdk: the result is larger than the sandbox's limit of ${MAX_RESULT_BYTES} bytes`);
  return json;
}

function readOptions(json: string): AppConnectionOptions {
  const raw = parsePayload<Record<string, unknown>>('snowflake-sdk', json) ?? {};
  const options: AppConnectionOptions = {};
  for (const key of ['account', 'username', 'password', 'database', 'schema', 'warehouse', 'role', 'application'] as const) {
    if (typeof raw[key] === 'string') options[key] = raw[key];
  }
  return options;
}

/**
 * `require('snowflake-sdk')`: connections that live on the host, one real snowflake-sdk
 * Connection per handle, valid in the app's own VM only and destroyed when the VM goes. Their
 * HTTP goes through the instance's guarded agent (fetch's address rules, CAs and proxies), to
 * the account's Snowflake or the operator's SLUICE_SNOWFLAKE_URL; passwords stay on the host.
 * PUT/GET (file transfers) and stage binds are not available: they read and write host files.
 */
export const snowflakeBridge: MetaCapability = {
  name: 'snowflake-sdk',
  handlers: (context, onDispose) => {
    const guard = context.fetch ?? defaultFetch();
    // One agent for the instance's connections, destroyed when the VM goes, once their session deletes are sent.
    const agent = guard.nodeAgent('Snowflake');
    const agentClass = guardedAgentClass(guard, agent);
    const destroy = (connection: Connection) => new Promise<void>((resolve) => connection.destroy(() => resolve()));
    const connections = new HandleTable<Connection>('snowflake-sdk', MAX_SNOWFLAKE_CONNECTIONS_PER_INSTANCE, destroy, onDispose, () => agent.destroy());
    return {
      'snowflake.connect': async (json) => {
        const options = readOptions(json);
        const accessUrl = accessUrlOverride();
        const snowflake = await loadSdk();
        const connection = snowflake.createConnection({
          // (without an account and SLUICE_SNOWFLAKE_URL the SDK refuses the options, naming the missing one)
          ...options,
          ...(accessUrl && { accessUrl }),
          agentClass,
          // One login attempt within the call's limit (apps retry with RetryError).
          sfRetryMaxLoginRetries: 0,
          timeout: CALL_TIMEOUT_MS,
          // Above the threshold the SDK writes the binds to temporary files and uploads them to a stage.
          arrayBindingThreshold: Number.MAX_SAFE_INTEGER,
          clientSessionKeepAlive: false,
        } as snowflakeSdk.ConnectionOptions);
        const handle = connections.add(connection);
        try {
          await withinLimit<unknown>('connect', (done) => connection.connect((error) => done(error)));
        } catch (error) {
          connections.remove(handle);
          await destroy(connection).catch(() => {});
          throw error;
        }
        return String(handle);
      },
      'snowflake.execute': async (json) => {
        const [handle, sqlText, binds] = parsePayload<[unknown, unknown, unknown]>('snowflake-sdk', json);
        if (typeof sqlText !== 'string') throw new TypeError('snowflake-sdk: sqlText must be a string');
        if (isFileTransfer(sqlText)) throw new Error("snowflake-sdk: PUT and GET (file transfers) are not available to apps: they read and write the host's files");
        const connection = connections.get(handle);
        let statement: Statement | undefined;
        const rows = await withinLimit<unknown[] | undefined>('the query', (done) => {
          statement = connection.execute({
            sqlText,
            ...(Array.isArray(binds) && { binds: binds as snowflakeSdk.Binds }),
            complete: (error, _statement, result) => done(error, result),
          });
        }, () => statement?.cancel());
        return resultJson(statement!, rows);
      },
      'snowflake.isValid': async (json) => String(await connections.get(parsePayload<unknown>('snowflake-sdk', json)).isValidAsync()),
      'snowflake.destroy': async (json) => {
        const connection = connections.remove(parsePayload<unknown>('snowflake-sdk', json));
        if (connection) await destroy(connection);
        return undefined;
      },
    };
  },
  lazy: { name: 'snowflake-sdk', modules: ['snowflake-sdk'], source: SNOWFLAKE_JS },
};
