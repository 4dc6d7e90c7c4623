import type * as http from 'node:http';
import { createRequire } from 'node:module';
import { defaultFetch } from './fetch';
import { HandleTable, guardedAddress, honourRequestAgentInTeenyRequest, parsePayload, withinTimeLimit } from './bridge';
import type { MetaCapability } from './types';
import { GOOGLE_STORAGE_JS } from '../vm-sources';

/** @google-cloud/storage clients one instance may hold at once. */
export const MAX_GCS_CLIENTS_PER_INSTANCE = 10;
/** One call's time limit (every request it makes, the token's included). */
const REQUEST_TIMEOUT_MS = 30_000;
/** The largest object an app may upload or download through the bridge. */
export const MAX_GCS_OBJECT_BYTES = 64 * 1024 * 1024;
/** The most objects one getFiles answers (its pages are fetched on the host). */
const MAX_LISTED_FILES = 10_000;
const SCOPES = ['https://www.googleapis.com/auth/devstorage.full_control'];
/** Where google-auth-library asks for a service account's token, whatever its key's token_uri says. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

type Options = Record<string, unknown>;

/** `new Storage(options)` as apps give it: a service account's key JSON as `credentials`. */
interface AppStorageOptions {
  projectId?: string;
  apiEndpoint?: string;
  /** The SDK's option: send the token to the app's apiEndpoint too (it sends none to a custom endpoint otherwise). */
  useAuthWithCustomEndpoint?: boolean;
  credentials?: { client_email?: string; private_key?: string; private_key_id?: string; project_id?: string; token_uri?: string };
}
/** One bridged call: the client, the bucket and object it names, the data and options it passes. */
interface Call {
  handle: unknown;
  bucket: string;
  file?: string;
  /** Uploads: text as it is, bytes as base64. */
  data?: { text: string } | { base64: string };
  options?: Options;
}

// The SDK's surface the bridge uses (its own types are not imported: the compat corpus declares
// the module as apps see it, and one program cannot have both).
interface File {
  readonly name: string;
  metadata: unknown;
  save(data: Buffer, options: Options): Promise<void>;
  createReadStream(options: Options): AsyncIterable<Buffer> & { destroy(): void };
  exists(): Promise<[boolean]>;
  getMetadata(): Promise<unknown[]>;
  delete(): Promise<unknown>;
}
interface Bucket {
  file(name: string): File;
  exists(): Promise<[boolean]>;
  getMetadata(): Promise<unknown[]>;
  getFiles(query: Options): Promise<[File[], ...unknown[]]>;
}
interface Storage {
  bucket(name: string): Bucket;
}

interface Gaxios {
  interceptors: { request: { add(interceptor: { resolved: (options: Options) => Promise<Options> }): void } };
}
interface Sdk {
  Storage: new (options: Options) => Storage;
  JWT: new (options: Options) => unknown;
  Gaxios: new (defaults: Options) => Gaxios;
}
let sdk: Sdk | undefined;

/**
 * The SDK, loaded on an app's first client (it costs every process ~150 ms and its memory
 * otherwise) through its CommonJS build, so that the google-auth-library, gaxios and
 * teeny-request the bridge configures are the very copies the SDK uses.
 */
function loadSdk(): Sdk {
  if (sdk) return sdk;
  const storagePath = createRequire(import.meta.url).resolve('@google-cloud/storage');
  const fromSdk = createRequire(storagePath);
  honourRequestAgentInTeenyRequest(fromSdk);
  sdk = {
    Storage: (fromSdk(storagePath) as { Storage: Sdk['Storage'] }).Storage,
    JWT: (fromSdk('google-auth-library') as { JWT: Sdk['JWT'] }).JWT,
    Gaxios: (fromSdk('gaxios') as { Gaxios: Sdk['Gaxios'] }).Gaxios,
  };
  return sdk;
}

/** What the SDK's own sanitizeEndpoint does: a bare host:port means https. */
function endpointUrl(endpoint: string): URL {
  return new URL(/^\w+:\/\//.test(endpoint) ? endpoint : `https://${endpoint}`);
}

/**
 * A client whose every request goes through the guard's agent: the JSON API's (teeny-request,
 * given the agent by a request interceptor: see honourRequestAgentInTeenyRequest), resumable
 * uploads' (gaxios, which takes the interceptors' options), and the OAuth token's (the JWT's own
 * gaxios). Only a service account's key is taken: no application-default credentials, no key
 * files, no external-account configurations that would read the host's files or metadata server.
 */
export function createClient(options: AppStorageOptions, agent: http.Agent): Storage {
  const { Storage: StorageClient, JWT, Gaxios } = loadSdk();
  const key = options.credentials ?? {};
  const transporter = new Gaxios({ agent, timeout: REQUEST_TIMEOUT_MS });
  // The key's own token_uri is where its token is asked for (this auth library would always ask
  // Google's), as the BigQuery bridge does: it goes through the guard like any other target.
  const tokenUri = typeof key.token_uri === 'string' && key.token_uri ? key.token_uri : undefined;
  // (gaxios hands its interceptors, and expects back, the URL as a URL object)
  if (tokenUri) transporter.interceptors.request.add({ resolved: async (request) => (String(request.url) === GOOGLE_TOKEN_URL ? { ...request, url: new URL(tokenUri) } : request) });
  const authClient = new JWT({ email: key.client_email, key: key.private_key, keyId: key.private_key_id, scopes: SCOPES, transporter });
  const throughGuard = <T extends object>(request: T): T => Object.assign(request, { agent, timeout: REQUEST_TIMEOUT_MS });
  return new StorageClient({
    projectId: options.projectId || key.project_id || undefined,
    authClient,
    ...(options.apiEndpoint && { apiEndpoint: options.apiEndpoint }),
    ...(options.useAuthWithCustomEndpoint === true && { useAuthWithCustomEndpoint: true }),
    timeout: REQUEST_TIMEOUT_MS,
    // Apps retry themselves (RetryError); one attempt keeps a call within its time limit.
    retryOptions: { autoRetry: false },
    interceptors_: [{ request: throughGuard }],
  });
}

function bytesOf(data: Call['data']): Buffer {
  const bytes = !data ? Buffer.alloc(0) : 'text' in data ? Buffer.from(String(data.text), 'utf8') : Buffer.from(String(data.base64), 'base64');
  if (bytes.byteLength > MAX_GCS_OBJECT_BYTES) throw new RangeError(`GCS: an object is at most ${MAX_GCS_OBJECT_BYTES} bytes`);
  return bytes;
}

/** An upload's options that make sense here (no file system, no progress events). */
function uploadOptions(given: Options = {}): Options {
  const { resumable, validation, contentType, metadata, gzip, predefinedAcl, private: isPrivate, public: isPublic } = given;
  return Object.fromEntries(Object.entries({ resumable, validation, contentType, metadata, gzip, predefinedAcl, private: isPrivate, public: isPublic })
    .filter(([, value]) => value !== undefined));
}

/** The object's bytes, read as a stream so that an object past the cap stops there. */
async function downloadCapped(file: File, options: Options = {}): Promise<Buffer> {
  const { start, end, decompress, validation } = options;
  const stream = file.createReadStream(Object.fromEntries(Object.entries({ start, end, decompress, validation }).filter(([, value]) => value !== undefined)));
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > MAX_GCS_OBJECT_BYTES) {
      stream.destroy();
      throw new RangeError(`GCS: an object is at most ${MAX_GCS_OBJECT_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A file listing's query, its page size capped (getFiles fetches every page it needs on the host). */
function listQuery(given: Options = {}): Options {
  const { prefix, delimiter, pageToken, autoPaginate, versions, startOffset, endOffset, matchGlob, includeTrailingDelimiter, maxResults } = given;
  const query = { prefix, delimiter, pageToken, autoPaginate, versions, startOffset, endOffset, matchGlob, includeTrailingDelimiter,
    maxResults: typeof maxResults === 'number' ? Math.min(maxResults, MAX_LISTED_FILES) : MAX_LISTED_FILES };
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
}

/** The bridged calls, by the name the shim sends: each answers a JSON-safe value (the VM revives bytes). */
const CALLS: Record<string, (bucket: Bucket, call: Call) => Promise<unknown>> = {
  save: async (bucket, call) => {
    const file = bucket.file(String(call.file));
    await file.save(bytesOf(call.data), uploadOptions(call.options));
    return file.metadata;
  },
  download: async (bucket, call) => ({ base64: (await downloadCapped(bucket.file(String(call.file)), call.options)).toString('base64') }),
  exists: async (bucket, call) => (call.file === undefined ? bucket.exists() : bucket.file(call.file).exists()),
  getMetadata: async (bucket, call) => (call.file === undefined ? bucket.getMetadata() : bucket.file(call.file).getMetadata()),
  delete: async (bucket, call) => {
    await bucket.file(String(call.file)).delete();
    return null;
  },
  getFiles: async (bucket, call) => {
    // [files] when the SDK fetched every page; [files, nextQuery, apiResponse] with autoPaginate: false.
    const [files, ...rest] = await bucket.getFiles(listQuery(call.options));
    return [files.map((file) => ({ name: file.name, metadata: file.metadata })), ...rest.map((value) => value ?? null)];
  },
};

/**
 * `require('@google-cloud/storage')`'s Storage, Bucket and File (save, createWriteStream,
 * download, exists, getMetadata, delete, getFiles), served by the maintained SDK on the host: the
 * app holds a handle; requests go through the instance's guarded agent (fetch's address rules,
 * CAs and proxy settings); the service account's key stays on the host side. The endpoint is
 * the app's `apiEndpoint`, else the host's STORAGE_EMULATOR_HOST (the SDK's own variable), else
 * Google's.
 */
export const googleStorageBridge: MetaCapability = {
  name: 'google-storage',
  handlers: (context, onDispose) => {
    const guard = context.fetch ?? defaultFetch();
    // A client holds nothing open but its agent's keep-alive connections.
    const clients = new HandleTable<{ storage: Storage; agent: http.Agent }>('GCS', MAX_GCS_CLIENTS_PER_INSTANCE, ({ agent }) => agent.destroy(), onDispose);
    return {
      'gcs.create': async (json) => {
        const options = parsePayload<AppStorageOptions>('GCS', json);
        const endpoint = options.apiEndpoint ? String(options.apiEndpoint) : process.env.STORAGE_EMULATOR_HOST;
        if (endpoint) {
          const url = endpointUrl(endpoint);
          if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`GCS: only http and https endpoints are allowed, not ${url.protocol}`);
          // Refused here with the guard's message; the agent checks every connection again.
          await guardedAddress('GCS', url.hostname, guard);
        }
        const agent = guard.nodeAgent('GCS');
        return String(clients.add({ storage: createClient(options, agent), agent }));
      },
      'gcs.call': async (json) => {
        const [method, call] = parsePayload<[string, Call]>('GCS', json);
        const run = Object.hasOwn(CALLS, method) ? CALLS[method]! : undefined;
        if (!run) throw new TypeError(`GCS: ${method} is not bridged (bridged: ${Object.keys(CALLS).join(', ')})`);
        const bucket = clients.get(call.handle).storage.bucket(String(call.bucket));
        return JSON.stringify(await withinTimeLimit(`GCS: ${method}`, REQUEST_TIMEOUT_MS, run(bucket, call)) ?? null);
      },
    };
  },
  lazy: { name: '@google-cloud/storage', requires: ['stream'], modules: ['@google-cloud/storage'], source: GOOGLE_STORAGE_JS },
};
