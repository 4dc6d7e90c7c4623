/**
 * A BigQuery REST server on loopback for the BigQuery bridge's tests: the part of the v2 API the
 * catalogue's export sends (tables.get, tables.insert, tables.patch, tabledata.insertAll) and
 * the OAuth token endpoint a service account asks for its access token (a JWT signed with its
 * private key, RS256, verified here with the public key). It answers as the real service does,
 * including its error bodies ({ error: { code, message, errors: [{ reason, message }] } }), INT64
 * shown as INTEGER in schemas, schema patches that may only add fields, and insertAll's per-row
 * insertErrors ("invalid" for a bad row, "stopped" for the rest unless skipInvalidRows). Each
 * request is recorded as it arrived.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** The path without the optional /bigquery/v2 prefix (BIGQUERY_EMULATOR_HOST has none). */
  path: string;
  rawPath: string;
  authorization: string | undefined;
  body: any;
}

interface Field { name: string; type: string; mode?: string; fields?: Field[] }
interface StoredTable { resource: Record<string, any>; rows: Array<{ insertId?: string; json: Record<string, unknown> }> }

export interface BigQueryServer {
  /** Base URL: the SDK's apiEndpoint, or BIGQUERY_EMULATOR_HOST (the server takes both path forms). */
  url: string;
  /** A service account's token_uri for this server. */
  tokenUri: string;
  requests: RecordedRequest[];
  /** Access tokens issued, for the JWTs the server accepted. */
  tokensIssued: number;
  /** Rows stored in a table, by "project:dataset.table". */
  rows(projectId: string, datasetId: string, tableId: string): Array<Record<string, unknown>>;
  table(projectId: string, datasetId: string, tableId: string): Record<string, any> | undefined;
  createTable(projectId: string, datasetId: string, tableId: string, fields: Field[]): void;
  close(): Promise<void>;
}

/** A service-account key file as Google Cloud's console hands it out, its token_uri this server's. */
export function serviceAccountKey(projectId: string, tokenUri: string, keys = generateKeyPairSync('rsa', { modulusLength: 2048 })): Record<string, string> {
  return {
    type: 'service_account', project_id: projectId, private_key_id: randomBytes(8).toString('hex'),
    private_key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: `exporter@${projectId}.iam.gserviceaccount.com`, client_id: '1234567890',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth', token_uri: tokenUri, universe_domain: 'googleapis.com',
  };
}

/** The API's names for the Standard SQL types, as tables.get shows them. */
const LEGACY_TYPES: Record<string, string> = { INT64: 'INTEGER', FLOAT64: 'FLOAT', BOOL: 'BOOLEAN', STRUCT: 'RECORD' };

class HttpError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string, readonly statusName: string) {
    super(message);
  }
}
const notFound = (what: string) => new HttpError(404, 'notFound', `Not found: ${what}`, 'NOT_FOUND');
const invalid = (message: string) => new HttpError(400, 'invalid', message, 'INVALID_ARGUMENT');

/** Why a value does not fit a column, in the service's words, or undefined when it does. */
function valueError(field: Field, value: unknown): string | undefined {
  if (value === null || value === undefined) return field.mode === 'REQUIRED' ? `Missing required field: ${field.name}.` : undefined;
  switch (field.type) {
    case 'INTEGER':
      return (typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && /^-?\d+$/.test(value)) ? undefined : `Cannot convert value to integer (bad value): ${String(value)}`;
    case 'FLOAT':
      return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) ? undefined : `Cannot convert value to floating point (bad value): ${String(value)}`;
    case 'BOOLEAN':
      return typeof value === 'boolean' || value === 'true' || value === 'false' ? undefined : `Cannot convert value to boolean (bad value): ${String(value)}`;
    case 'TIMESTAMP':
      return (typeof value === 'string' && !Number.isNaN(Date.parse(value))) || typeof value === 'number' ? undefined : `Couldn't convert value to timestamp: Could not parse '${String(value)}' as a timestamp.`;
    case 'STRING':
      // The service takes numbers and booleans for a STRING column, as their text.
      return typeof value !== 'object' ? undefined : `Cannot convert value to string: ${JSON.stringify(value)}`;
    default:
      return undefined;
  }
}

export async function startBigQueryServer(options: {
  publicKey: KeyObject | string;
  clientEmail: string;
  datasets: Array<[projectId: string, datasetId: string]>;
  /** Serves HTTPS with this certificate (test/helpers/test-ca.ts) instead of plain HTTP. */
  tls?: { cert: string; key: string };
}): Promise<BigQueryServer> {
  const publicKey = typeof options.publicKey === 'string' ? createPublicKey(options.publicKey) : options.publicKey;
  const datasets = new Set(options.datasets.map(([project, dataset]) => `${project}:${dataset}`));
  const tables = new Map<string, StoredTable>();
  const tokens = new Set<string>();
  const requests: RecordedRequest[] = [];
  let tokensIssued = 0;
  let clock = Date.now();

  const tableResource = (projectId: string, datasetId: string, tableId: string, fields: Field[]) => {
    const now = String(clock++);
    return {
      kind: 'bigquery#table', etag: randomBytes(12).toString('base64'), id: `${projectId}:${datasetId}.${tableId}`,
      selfLink: `${server.url}/bigquery/v2/projects/${projectId}/datasets/${datasetId}/tables/${tableId}`,
      tableReference: { projectId, datasetId, tableId }, schema: { fields: normalized(fields) },
      numBytes: '0', numLongTermBytes: '0', numRows: '0', creationTime: now, lastModifiedTime: now, type: 'TABLE', location: 'US',
    };
  };
  const normalized = (fields: Field[]): Field[] => fields.map((field) => ({
    name: field.name, type: LEGACY_TYPES[field.type.toUpperCase()] ?? field.type.toUpperCase(), mode: field.mode ?? 'NULLABLE',
    ...(field.fields && { fields: normalized(field.fields) }),
  }));

  /** The OAuth token endpoint: a JWT bearer grant signed by the service account. */
  const issueToken = (form: URLSearchParams) => {
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') throw Object.assign(invalid('unsupported_grant_type'), { oauth: 'unsupported_grant_type' });
    const [header, payload, signature] = (form.get('assertion') ?? '').split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8') || '{}');
    const signed = header && signature && verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'));
    if (!signed || claims.iss !== options.clientEmail || !String(claims.scope).includes('https://www.googleapis.com/auth/bigquery') || claims.exp * 1000 < Date.now()) {
      throw Object.assign(new HttpError(400, 'invalid_grant', 'Invalid JWT Signature.', 'INVALID_ARGUMENT'), { oauth: 'invalid_grant' });
    }
    const token = `ya29.${randomBytes(16).toString('hex')}`;
    tokens.add(token);
    tokensIssued++;
    return { access_token: token, expires_in: 3599, token_type: 'Bearer' };
  };

  const route = (method: string, path: string, body: any): unknown => {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const [projects, projectId, datasetsWord, datasetId, tablesWord, tableId, action] = parts;
    if (projects !== 'projects' || datasetsWord !== 'datasets' || !projectId || !datasetId) throw notFound(`URL ${path}`);
    if (!datasets.has(`${projectId}:${datasetId}`)) throw notFound(`Dataset ${projectId}:${datasetId}`);
    if (tablesWord !== 'tables') throw notFound(`URL ${path}`);
    if (!tableId && method === 'POST') { // tables.insert
      const reference = body?.tableReference ?? {};
      const key = `${projectId}:${datasetId}.${reference.tableId}`;
      if (!reference.tableId) throw invalid('Table reference is missing a table id.');
      if (tables.has(key)) throw new HttpError(409, 'duplicate', `Already Exists: Table ${key}`, 'ALREADY_EXISTS');
      const resource = tableResource(projectId, datasetId, reference.tableId, body.schema?.fields ?? []);
      tables.set(key, { resource, rows: [] });
      return resource;
    }
    const key = `${projectId}:${datasetId}.${tableId}`;
    const stored = tables.get(key);
    if (!stored) throw notFound(`Table ${key}`);
    if (!action && method === 'GET') return stored.resource; // tables.get
    if (!action && method === 'PATCH') { // tables.patch
      if (body?.schema?.fields) {
        const next = normalized(body.schema.fields);
        const missing = stored.resource.schema.fields.find((field: Field) => !next.some((given) => given.name === field.name));
        if (missing) throw invalid(`Provided Schema does not match Table ${key}. Field ${missing.name} is missing in new schema`);
        stored.resource.schema = { fields: next };
      }
      if (typeof body?.description === 'string') stored.resource.description = body.description;
      stored.resource.lastModifiedTime = String(clock++);
      stored.resource.etag = randomBytes(12).toString('base64');
      return stored.resource;
    }
    if (action === 'insertAll' && method === 'POST') return insertAll(stored, body ?? {});
    throw notFound(`URL ${path}`);
  };

  /** tabledata.insertAll: each row checked against the schema; nothing stored when a row fails, unless skipInvalidRows. */
  const insertAll = (stored: StoredTable, body: { rows?: Array<{ insertId?: string; json?: Record<string, unknown> }>; skipInvalidRows?: boolean; ignoreUnknownValues?: boolean }) => {
    const rows = body.rows ?? [];
    if (rows.length === 0) throw invalid('No rows present in the request.');
    const fields: Field[] = stored.resource.schema.fields;
    const failures = rows.map((row, index) => {
      const json = row.json ?? {};
      for (const name of Object.keys(json)) {
        const field = fields.find((candidate) => candidate.name === name);
        if (!field) {
          if (body.ignoreUnknownValues) continue;
          return { index, errors: [{ reason: 'invalid', location: name, debugInfo: '', message: 'no such field: ' + name + '.' }] };
        }
        const problem = valueError(field, json[name]);
        if (problem) return { index, errors: [{ reason: 'invalid', location: name, debugInfo: '', message: problem }] };
      }
      const required = fields.find((field) => field.mode === 'REQUIRED' && (json[field.name] === undefined || json[field.name] === null));
      return required ? { index, errors: [{ reason: 'invalid', location: required.name, debugInfo: '', message: `Missing required field: ${required.name}.` }] } : undefined;
    });
    const invalidRows = failures.filter((failure) => failure !== undefined);
    const accepted = rows.filter((_, index) => !failures[index] && (body.skipInvalidRows || invalidRows.length === 0));
    for (const row of accepted) {
      // Best-effort de-duplication by insertId, as the service does.
      if (row.insertId && stored.rows.some((kept) => kept.insertId === row.insertId)) continue;
      const known = Object.fromEntries(Object.entries(row.json ?? {}).filter(([name]) => fields.some((field) => field.name === name)));
      stored.rows.push({ ...(row.insertId && { insertId: row.insertId }), json: known });
    }
    stored.resource.numRows = String(stored.rows.length);
    if (invalidRows.length === 0) return { kind: 'bigquery#tableDataInsertAllResponse' };
    const stopped = body.skipInvalidRows ? [] : rows.map((_, index) => index).filter((index) => !failures[index])
      .map((index) => ({ index, errors: [{ reason: 'stopped', location: '', debugInfo: '', message: '' }] }));
    return { kind: 'bigquery#tableDataInsertAllResponse', insertErrors: [...invalidRows, ...stopped].sort((a, b) => a.index - b.index) };
  };

  const respond = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    response.end(JSON.stringify(body));
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(request.url ?? '/', 'http://local');
    const path = url.pathname.replace(/^\/bigquery\/v2(?=\/)/, '');
    const form = (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const body = text === '' ? undefined : form ? Object.fromEntries(new URLSearchParams(text)) : JSON.parse(text);
    requests.push({ method: request.method ?? 'GET', path, rawPath: url.pathname, authorization: request.headers.authorization, body });
    try {
      if (path === '/token' && request.method === 'POST') return respond(response, 200, issueToken(new URLSearchParams(text)));
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      if (!token || !tokens.has(token)) {
        throw new HttpError(401, 'authError', 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.', 'UNAUTHENTICATED');
      }
      respond(response, 200, route(request.method ?? 'GET', path, body));
    } catch (error) {
      if (!(error instanceof HttpError)) return respond(response, 500, { error: { code: 500, message: String(error), errors: [{ reason: 'backendError', message: String(error) }], status: 'INTERNAL' } });
      const oauth = (error as HttpError & { oauth?: string }).oauth;
      if (oauth) return respond(response, error.status, { error: oauth, error_description: error.message });
      respond(response, error.status, { error: { code: error.status, message: error.message, errors: [{ message: error.message, domain: 'global', reason: error.reason }], status: error.statusName } });
    }
  };

  const listener = (request: IncomingMessage, response: ServerResponse) => void handle(request, response);
  const http = options.tls ? createTlsServer(options.tls, listener) : createServer(listener);
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const server: BigQueryServer = {
    url,
    tokenUri: `${url}/token`,
    requests,
    get tokensIssued() { return tokensIssued; },
    rows: (projectId, datasetId, tableId) => (tables.get(`${projectId}:${datasetId}.${tableId}`)?.rows ?? []).map((row) => row.json),
    table: (projectId, datasetId, tableId) => tables.get(`${projectId}:${datasetId}.${tableId}`)?.resource,
    createTable: (projectId, datasetId, tableId, fields) => {
      tables.set(`${projectId}:${datasetId}.${tableId}`, { resource: tableResource(projectId, datasetId, tableId, fields), rows: [] });
    },
    close: () => new Promise<void>((done) => {
      http.closeAllConnections();
      http.close(() => done());
    }),
  };
  return server;
}
