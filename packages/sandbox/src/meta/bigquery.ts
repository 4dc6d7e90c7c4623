import type http from 'node:http';
import { createRequire } from 'node:module';
import { HandleTable, parsePayload, withinTimeLimit } from './bridge';
import { defaultFetch } from './fetch';
import type { MetaCapability } from './types';
import { BIGQUERY_JS } from '../vm-sources';

/** BigQuery clients one instance may hold at once. */
export const MAX_BIGQUERY_CLIENTS_PER_INSTANCE = 10;
/** One HTTP request's time limit (the token request and each API request). */
const REQUEST_TIMEOUT_MS = 30_000;
/** One bridged call's time limit: insert may send again the rows a partial failure left (partialRetries). */
const CALL_TIMEOUT_MS = 60_000;
/** The largest call an app may send (insertAll's own limit is 10 MB a request) and answer it may be given. */
export const MAX_BIGQUERY_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** Where this SDK version's auth library always sends a service account's signed JWT. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** What an app's `new BigQuery(options)` may set; anything else (keyFilename, authClient, interceptors) is ignored. */
interface AppClientOptions {
  projectId?: string;
  location?: string;
  apiEndpoint?: string;
  credentials?: { client_email?: unknown; private_key?: unknown; private_key_id?: unknown; token_uri?: unknown; project_id?: unknown };
}

/** The call the VM sends: which table (or dataset) of which client, the method and its arguments. */
type AppCall = [handle: number, datasetId: string, tableId: string | null, method: string, args: unknown[]];

/** The parts of the SDK the bridge uses (the packages ship their own types, but pnpm hides their dependencies from this one). */
interface GaxiosOptions {
  url: URL | string;
  method?: string;
  headers?: unknown;
  params?: Record<string, unknown>;
  data?: unknown;
  responseType?: 'text';
  validateStatus?: (status: number) => boolean;
  retryConfig?: Record<string, unknown>;
  redirect?: 'error';
  size?: number;
}
interface Gaxios {
  request(options: GaxiosOptions): Promise<{ status: number; statusText: string; headers: Headers; data: string }>;
  interceptors: { request: { add(interceptor: { resolved: (options: GaxiosOptions) => Promise<GaxiosOptions> }): void } };
}
type RequestCallback = (error: Error | null, body?: unknown, response?: unknown) => void;
type AuthenticatedRequest = (reqOpts: TeenyOptions, options: { onAuthenticated: (error: Error | null, authorized?: TeenyOptions) => void }) => unknown;
/** A request as @google-cloud/common builds it for teeny-request. */
interface TeenyOptions {
  uri: string;
  method?: string;
  headers?: unknown;
  qs?: Record<string, unknown>;
  json?: unknown;
  body?: unknown;
  shouldReturnStream?: boolean;
}
interface BigQueryClient {
  makeAuthenticatedRequest: (reqOpts: TeenyOptions, callback?: unknown) => unknown;
  dataset(id: string): { table(id: string): Record<string, (...args: unknown[]) => Promise<unknown[]>> } & Record<string, (...args: unknown[]) => Promise<unknown[]>>;
}
interface Sdk {
  BigQuery: new (options: Record<string, unknown>) => BigQueryClient;
  Table: abstract new (...args: never[]) => { id: string; metadata: unknown; dataset: { id: string } };
  JWT: new (options: Record<string, unknown>) => unknown;
  Gaxios: new (defaults: Record<string, unknown>) => Gaxios;
  handleResp: (error: Error | null, response: unknown, body: unknown, callback: RequestCallback) => void;
}

let sdk: Sdk | undefined;
/**
 * The SDK and, from the very copies it loads, its auth library and that library's HTTP client
 * (pnpm gives this package only the SDK). Loaded on an app's first client: most processes never
 * use it and it costs their start.
 */
function loadSdk(): Sdk {
  if (sdk) return sdk;
  const fromHere = createRequire(import.meta.url);
  const bigqueryPath = fromHere.resolve('@google-cloud/bigquery');
  const fromBigquery = createRequire(bigqueryPath);
  const commonPath = fromBigquery.resolve('@google-cloud/common');
  const fromCommon = createRequire(commonPath);
  const authPath = fromCommon.resolve('google-auth-library');
  const bigquery = fromHere(bigqueryPath) as { BigQuery: Sdk['BigQuery']; Table: Sdk['Table'] };
  const common = fromBigquery(commonPath) as { util: { handleResp: Sdk['handleResp'] } };
  sdk = {
    BigQuery: bigquery.BigQuery,
    Table: bigquery.Table,
    JWT: (fromCommon(authPath) as { JWT: Sdk['JWT'] }).JWT,
    Gaxios: (createRequire(authPath)('gaxios') as { Gaxios: Sdk['Gaxios'] }).Gaxios,
    handleResp: (...args) => common.util.handleResp(...args),
  };
  return sdk;
}

function readOptions(json: string): AppClientOptions & { credentials: { client_email: string; private_key: string } } {
  const options = parsePayload<AppClientOptions>('BigQuery', json);
  const credentials = options.credentials;
  // Application default credentials would read the host's files and environment or ask the
  // metadata server: an app brings its own service account, as PostHog's export does.
  if (!credentials || typeof credentials.client_email !== 'string' || typeof credentials.private_key !== 'string') {
    throw new TypeError('BigQuery: the sandbox needs service-account credentials ({ client_email, private_key }); application default credentials and keyFilename are not available to apps');
  }
  const projectId = options.projectId ?? credentials.project_id;
  if (typeof projectId !== 'string' || !projectId) throw new TypeError('BigQuery: a projectId (or the credentials\' project_id) is required');
  return { ...options, projectId, credentials: credentials as { client_email: string; private_key: string } };
}

/**
 * The client's one HTTP client: every request it sends (the token request and the API's) goes
 * through the instance's guarded agent (which checks each target's address as it connects), with
 * no redirects and no retries (the app retries with RetryError), within the time and size limits.
 * A service account's own `token_uri` is where its token is asked for (this version of the auth
 * library would always use Google's), so it is guarded like any other target.
 */
function guardedTransporter(Gaxios: Sdk['Gaxios'], agent: http.Agent, tokenUri: string | undefined): Gaxios {
  const transporter = new Gaxios({ agent, timeout: REQUEST_TIMEOUT_MS });
  transporter.interceptors.request.add({
    resolved: async (options) => {
      let url = new URL(String(options.url));
      if (tokenUri && url.href === GOOGLE_TOKEN_URL) url = new URL(tokenUri);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`BigQuery: only http and https endpoints are allowed, not ${url.protocol}`);
      return { ...options, url, redirect: 'error', size: MAX_BIGQUERY_PAYLOAD_BYTES, retryConfig: { ...options.retryConfig, retry: 0, noResponseRetries: 0 } };
    },
  });
  return transporter;
}

/**
 * The SDK's requests, authorized by @google-cloud/common as ever, sent by the guarded transporter
 * instead of teeny-request (which takes no agent: it uses a process-wide pool of its own), and
 * answered through common's own response handling, so errors are the SDK's (ApiError with code
 * and errors) and the response is what the SDK hands its callers.
 */
function sendThrough(sdkParts: Sdk, transporter: Gaxios, authenticated: AuthenticatedRequest) {
  return (reqOpts: TeenyOptions, callback?: unknown) => {
    if (typeof callback !== 'function' || reqOpts.shouldReturnStream) throw new Error('BigQuery: streaming requests are not bridged');
    const done = callback as RequestCallback;
    authenticated(reqOpts, {
      onAuthenticated: (error, authorized) => {
        if (error || !authorized) return done(error ?? new Error('BigQuery: the request was not authorized'));
        const params = authorized.qs && Object.fromEntries(Object.entries(authorized.qs).filter(([, value]) => value !== undefined));
        const body = authorized.json !== undefined ? authorized.json : authorized.body;
        transporter.request({
          url: authorized.uri, method: authorized.method ?? 'GET', headers: authorized.headers, responseType: 'text', validateStatus: () => true,
          ...(params && Object.keys(params).length > 0 && { params }),
          ...(body !== undefined && { data: body }),
        }).then(
          (response) => {
            const headers = Object.fromEntries(response.headers.entries());
            sdkParts.handleResp(null, { statusCode: response.status, statusMessage: response.statusText, headers, body: response.data }, response.data, done);
          },
          (failure: Error) => sdkParts.handleResp(failure, null, null, done),
        );
      },
    });
    return { abort() {} };
  };
}

function createClient(options: ReturnType<typeof readOptions>, agent: http.Agent): BigQueryClient {
  const parts = loadSdk();
  const { credentials } = options;
  const tokenUri = typeof credentials.token_uri === 'string' && credentials.token_uri ? credentials.token_uri : undefined;
  const transporter = guardedTransporter(parts.Gaxios, agent, tokenUri);
  const authClient = new parts.JWT({
    email: credentials.client_email,
    key: credentials.private_key,
    ...(typeof credentials.private_key_id === 'string' && { keyId: credentials.private_key_id }),
    scopes: ['https://www.googleapis.com/auth/bigquery'],
    transporter,
  });
  const client = new parts.BigQuery({
    projectId: options.projectId,
    authClient,
    ...(typeof options.location === 'string' && { location: options.location }),
    ...(typeof options.apiEndpoint === 'string' && options.apiEndpoint && { apiEndpoint: options.apiEndpoint }),
  });
  client.makeAuthenticatedRequest = sendThrough(parts, transporter, client.makeAuthenticatedRequest.bind(client) as AuthenticatedRequest);
  return client;
}

/** The bridged methods, by the object they are called on. */
const TABLE_METHODS = new Set(['get', 'exists', 'getMetadata', 'setMetadata', 'insert']);
const DATASET_METHODS = new Set(['createTable']);

/** The SDK's answer for the VM: Table objects as { $table: { datasetId, tableId, metadata } } (the shim makes its own). */
function toWire(value: unknown, Table: Sdk['Table']): unknown {
  if (value instanceof Table) return { $table: { datasetId: value.dataset.id, tableId: value.id, metadata: value.metadata } };
  if (Array.isArray(value)) return value.map((item) => toWire(item, Table));
  return value;
}

function checkSize(json: string, what: string): string {
  if (json.length > MAX_BIGQUERY_PAYLOAD_BYTES) throw new RangeError(`BigQuery: ${what} is larger than the sandbox's limit of ${MAX_BIGQUERY_PAYLOAD_BYTES} bytes`);
  return json;
}

/**
 * `require('@google-cloud/bigquery')`: `BigQuery` clients that live on the host (the SDK itself),
 * held by the app as numeric handles valid in its own VM alone; datasets and tables in the VM
 * only name ids. The service account's private key stays on the host side; every request goes
 * through the instance's guarded agent (fetch's address rules, CAs and proxies).
 */
export const bigqueryBridge: MetaCapability = {
  name: '@google-cloud/bigquery',
  handlers: (context, onDispose) => {
    const guard = context.fetch ?? defaultFetch();
    const clients = new HandleTable<{ client: BigQueryClient; agent: http.Agent }>('BigQuery', MAX_BIGQUERY_CLIENTS_PER_INSTANCE, ({ agent }) => agent.destroy(), onDispose);
    return {
      'bigquery.create': async (json) => {
        const options = readOptions(checkSize(json, 'the client options'));
        // The client's own agent: closing the handle (or the VM) closes exactly its sockets.
        const agent = guard.nodeAgent('BigQuery');
        try {
          return String(clients.add({ client: createClient(options, agent), agent }));
        } catch (error) {
          agent.destroy();
          throw error;
        }
      },
      'bigquery.call': async (json) => {
        const [handle, datasetId, tableId, method, args] = parsePayload<AppCall>('BigQuery', checkSize(json, 'a call'));
        const { client } = clients.get(handle);
        if (typeof datasetId !== 'string' || (tableId !== null && typeof tableId !== 'string') || !Array.isArray(args)) throw new TypeError('BigQuery: the sandbox sent a malformed request');
        const methods = tableId === null ? DATASET_METHODS : TABLE_METHODS;
        if (!methods.has(method)) throw new TypeError(`BigQuery: ${tableId === null ? 'dataset' : 'table'}.${method} is not bridged (bridged: ${[...methods].join(', ')})`);
        const dataset = client.dataset(datasetId);
        const target = tableId === null ? dataset : dataset.table(tableId);
        const answer = await withinTimeLimit(`BigQuery: ${method}`, CALL_TIMEOUT_MS, target[method]!.apply(target, args));
        return checkSize(JSON.stringify(toWire(answer, loadSdk().Table)), 'the answer');
      },
    };
  },
  lazy: { name: '@google-cloud/bigquery', modules: ['@google-cloud/bigquery'], source: BIGQUERY_JS },
};
