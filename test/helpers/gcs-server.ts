/**
 * A local server for the part of Google Cloud Storage's JSON API that @google-cloud/storage
 * sends for the bridged calls (no GCS emulator is on npm or Debian): uploads (multipart, media
 * and resumable), object metadata and media reads, listings, deletes and bucket metadata, with
 * the object resources, hashes (crc32c, md5) and error bodies GCS gives. Reached as
 * STORAGE_EMULATOR_HOST (paths without /storage/v1, as the SDK sends them then) or as an
 * apiEndpoint (with it). Given a service account's public key it is also its token endpoint
 * (OAuth's JWT-bearer grant, the assertion's RS256 signature checked) and then answers the API
 * only with a token it issued, as GCS does. Every request is recorded for the tests to assert on.
 */
import { createHash, createVerify, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredObject {
  bucket: string;
  name: string;
  data: Buffer;
  /** The object resource GCS answers for it. */
  resource: Record<string, unknown>;
}
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C (Castagnoli) as GCS gives it: the big-endian checksum in base64. */
export function crc32c(data: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

function apiError(response: ServerResponse, code: number, message: string, reason: string): void {
  response.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' });
  response.end(JSON.stringify({ error: { code, message, errors: [{ message, domain: 'global', reason }] } }));
}

function json(response: ServerResponse, body: unknown, status = 200): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  response.end(JSON.stringify(body));
}

/** The two parts of a multipart/related upload: the JSON metadata and the media. */
function multipartParts(body: Buffer, contentType: string): [Record<string, unknown>, Buffer] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error('no boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const next = body.indexOf(delimiter, at + delimiter.length);
    if (next === -1) break;
    parts.push(body.subarray(at + delimiter.length + 2, next - 2)); // after the CRLF, before the CRLF
    at = next;
  }
  const content = (part: Buffer) => part.subarray(part.indexOf('\r\n\r\n') + 4);
  if (parts.length !== 2) throw new Error(`${parts.length} parts`);
  return [JSON.parse(content(parts[0]!).toString('utf8')) as Record<string, unknown>, content(parts[1]!)];
}

export class GcsServer {
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, StoredObject>();
  private readonly sessions = new Map<string, { bucket: string; metadata: Record<string, unknown> }>();
  private readonly buckets: Set<string>;
  private server: Server | undefined;
  private generation = 1_700_000_000_000_000;
  url = '';
  /** Where resumable sessions are sent (their Location), when not this server: a test of redirected egress. */
  sessionHost: string | undefined;
  /** Where every request is redirected (303, which fetch follows even from a streamed upload), when set: a test of redirected egress. */
  redirectHost: string | undefined;

  /** Tokens issued at /token, and the JWT claims each was issued for. */
  readonly tokens = new Map<string, Record<string, unknown>>();

  constructor(buckets: string[], private readonly serviceAccount?: { publicKey: string }) {
    this.buckets = new Set(buckets);
  }

  /** OAuth's JWT-bearer grant as Google's token endpoint answers it. */
  private token(body: Buffer, response: ServerResponse): void {
    const form = new URLSearchParams(body.toString('utf8'));
    const [header, claims, signature] = String(form.get('assertion')).split('.');
    const signed = createVerify('RSA-SHA256').update(`${header}.${claims}`).verify(this.serviceAccount!.publicKey, Buffer.from(String(signature), 'base64url'));
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !signed) {
      return json(response, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }, 400);
    }
    const token = `ya29.${randomBytes(12).toString('hex')}`;
    this.tokens.set(token, JSON.parse(Buffer.from(String(claims), 'base64url').toString('utf8')) as Record<string, unknown>);
    json(response, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        try {
          this.handle(request, Buffer.concat(chunks), response);
        } catch (error) {
          apiError(response, 400, `bad request: ${(error as Error).message}`, 'invalid');
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Stored objects, in the order they were written. */
  stored(bucket?: string): StoredObject[] {
    return [...this.objects.values()].filter((object) => bucket === undefined || object.bucket === bucket);
  }

  private store(bucket: string, metadata: Record<string, unknown>, data: Buffer): Record<string, unknown> {
    const name = String(metadata.name);
    const generation = String(this.generation++);
    const now = new Date().toISOString();
    const resource = {
      kind: 'storage#object', id: `${bucket}/${name}/${generation}`, selfLink: `${this.url}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
      mediaLink: `${this.url}/download/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}?generation=${generation}&alt=media`,
      name, bucket, generation, metageneration: '1', contentType: metadata.contentType ?? 'application/octet-stream', storageClass: 'STANDARD',
      size: String(data.byteLength), md5Hash: createHash('md5').update(data).digest('base64'), crc32c: crc32c(data), etag: `C${generation}`,
      timeCreated: now, updated: now, timeStorageClassUpdated: now,
      ...(metadata.contentEncoding !== undefined && { contentEncoding: metadata.contentEncoding }),
      ...(metadata.metadata !== undefined && { metadata: metadata.metadata }),
    };
    this.objects.set(`${bucket}/${name}`, { bucket, name, data, resource });
    return resource;
  }

  private handle(request: IncomingMessage, body: Buffer, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method: request.method ?? '', path: url.pathname, query, headers: request.headers, bodyBytes: body.byteLength });
    if (this.redirectHost) {
      response.writeHead(303, { location: `${this.redirectHost}${url.pathname}${url.search}`, 'content-length': '0' });
      response.end();
      return;
    }
    if (this.serviceAccount && url.pathname === '/token' && request.method === 'POST') return this.token(body, response);
    // A resumable session's URI is its own credential, as in GCS: its requests need no token.
    const authorized = query.upload_id !== undefined || this.tokens.has(String(request.headers.authorization).replace(/^Bearer /, ''));
    if (this.serviceAccount && !authorized) {
      return apiError(response, 401, 'Invalid Credentials', 'authError');
    }
    const path = url.pathname.replace(/^\/storage\/v1(?=\/)/, '');
    let match: RegExpExecArray | null;

    if ((match = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path))) {
      const bucket = decodeURIComponent(match[1]!);
      if (!this.buckets.has(bucket)) return apiError(response, 404, 'The specified bucket does not exist.', 'notFound');
      if (request.method === 'POST' && query.uploadType === 'multipart') {
        const [metadata, data] = multipartParts(body, String(request.headers['content-type']));
        return json(response, this.store(bucket, { ...metadata, name: query.name ?? metadata.name }, data));
      }
      if (request.method === 'POST' && query.uploadType === 'media') {
        return json(response, this.store(bucket, { name: query.name, contentType: request.headers['content-type'] }, body));
      }
      if (request.method === 'POST' && query.uploadType === 'resumable') {
        const metadata = body.byteLength ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
        const id = randomUUID();
        this.sessions.set(id, { bucket, metadata: { ...metadata, name: query.name ?? metadata.name } });
        response.writeHead(200, { location: `${this.sessionHost ?? this.url}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&upload_id=${id}`, 'content-length': '0' });
        response.end();
        return;
      }
      if (request.method === 'PUT' && query.upload_id) {
        const session = this.sessions.get(query.upload_id);
        if (!session) return apiError(response, 404, 'No such upload session.', 'notFound');
        // One request carries the whole object (the bridge uploads in one piece): "bytes 0-9/10", or "bytes */0" when empty.
        const range = String(request.headers['content-range'] ?? '');
        if (/^bytes \*\/\*$/.test(range)) {
          response.writeHead(308, { 'content-length': '0' });
          response.end();
          return;
        }
        this.sessions.delete(query.upload_id);
        return json(response, this.store(session.bucket, session.metadata, body));
      }
      return apiError(response, 400, `unsupported upload ${request.method} ${query.uploadType}`, 'invalid');
    }

    if ((match = /^\/b\/([^/]+)\/o\/(.+)$/.exec(path))) {
      const bucket = decodeURIComponent(match[1]!);
      const name = decodeURIComponent(match[2]!);
      if (!this.buckets.has(bucket)) return apiError(response, 404, 'The specified bucket does not exist.', 'notFound');
      const object = this.objects.get(`${bucket}/${name}`);
      if (!object) return apiError(response, 404, `No such object: ${bucket}/${name}`, 'notFound');
      if (request.method === 'DELETE') {
        this.objects.delete(`${bucket}/${name}`);
        response.writeHead(204);
        response.end();
        return;
      }
      if (query.alt === 'media') {
        response.writeHead(200, {
          'content-type': String(object.resource.contentType), 'content-length': String(object.data.byteLength),
          'x-goog-hash': `crc32c=${object.resource.crc32c},md5=${object.resource.md5Hash}`, 'x-goog-generation': String(object.resource.generation),
          'x-goog-stored-content-length': String(object.data.byteLength),
        });
        response.end(object.data);
        return;
      }
      return json(response, object.resource);
    }

    if ((match = /^\/b\/([^/]+)\/o$/.exec(path)) && request.method === 'GET') {
      const bucket = decodeURIComponent(match[1]!);
      if (!this.buckets.has(bucket)) return apiError(response, 404, 'The specified bucket does not exist.', 'notFound');
      const names = this.stored(bucket).map((object) => object.name).filter((name) => name.startsWith(query.prefix ?? '')).sort();
      const start = query.pageToken ? names.indexOf(query.pageToken) : 0;
      const size = query.maxResults ? Number(query.maxResults) : 1000;
      const page = names.slice(start, start + size);
      const next = names[start + size];
      return json(response, { kind: 'storage#objects', items: page.map((name) => this.objects.get(`${bucket}/${name}`)!.resource), ...(next !== undefined && { nextPageToken: next }) });
    }

    if ((match = /^\/b\/([^/]+)$/.exec(path)) && request.method === 'GET') {
      const bucket = decodeURIComponent(match[1]!);
      if (!this.buckets.has(bucket)) return apiError(response, 404, 'The specified bucket does not exist.', 'notFound');
      return json(response, { kind: 'storage#bucket', id: bucket, name: bucket, location: 'US', storageClass: 'STANDARD', metageneration: '1' });
    }

    apiError(response, 404, `Not Found: ${request.method} ${url.pathname}`, 'notFound');
  }
}
