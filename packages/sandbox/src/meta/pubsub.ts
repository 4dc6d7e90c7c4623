import type http from 'node:http';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { ClientConfig, PubSub, Topic } from '@google-cloud/pubsub';
import { getProxyForUrl } from 'proxy-from-env';
import type { GuardedFetch } from '../host-fetch';
import { HandleTable, guardedAddress, parsePayload } from './bridge';
import { defaultFetch } from './fetch';
import type { MetaCapability } from './types';
import { PUBSUB_JS } from '../vm-sources';

/** PubSub clients one instance may hold at once. */
export const MAX_PUBSUB_CLIENTS_PER_INSTANCE = 10;
/** Topics one client may publish to (each has a publisher queue on the host). */
export const MAX_PUBSUB_TOPICS_PER_CLIENT = 100;
/** One call's time limit (getMetadata, create, one publish batch). */
const CALL_TIMEOUT_MS = 30_000;
/** The largest message Pub/Sub itself takes (10 MB a request): larger ones are refused before they cross. */
export const MAX_PUBSUB_MESSAGE_BYTES = 10 * 1024 * 1024;
/** Responses of the bridged calls are small (a topic's metadata, message ids). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/**
 * Publishes the app awaits are sent at most this long after the first of them arrives, together
 * (the SDK's own default): a Promise.all over a batch's events crosses as one queue of host
 * calls, so they go out as one Publish and each resolves with its own message id.
 */
const PUBLISH_BATCH_MS = 10;
const PUBLISH_BATCH_MESSAGES = 100;

/** The production endpoint, as the SDK's PublisherClient names it. */
const SERVICE_HOST = 'pubsub.googleapis.com';
/** The SDK's scopes (its Publisher's and Subscriber's). */
const SCOPES = ['https://www.googleapis.com/auth/cloud-platform', 'https://www.googleapis.com/auth/pubsub'];

/** What the app's `new PubSub(options)` may set. */
interface AppClientOptions {
  projectId?: string;
  apiEndpoint?: string;
  credentials?: Record<string, unknown>;
}

/** A service-account key as the SDK takes it: only what signing needs crosses into the SDK. */
interface ServiceAccountKey {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
  project_id?: string;
}

interface Client {
  pubsub: PubSub;
  topics: Map<string, Topic>;
  /** The auth library's HTTP agent, destroyed with the client. */
  authAgent: http.Agent;
}

/** Closes a client's gRPC channels and its auth agent's sockets. */
async function closeClient({ pubsub, authAgent }: Client): Promise<void> {
  try {
    await pubsub.close();
  } finally {
    authAgent.destroy();
  }
}

/** Where a client connects: host and port as named, and whether it is the operator's emulator (plaintext gRPC). */
export interface PubSubTarget {
  host: string;
  port: number;
  emulator: boolean;
}

/**
 * The operator's PUBSUB_EMULATOR_HOST wins over the app's apiEndpoint (an operator setting: every
 * app's topics go to the emulator, in plaintext as the SDK speaks to it); else the app's
 * apiEndpoint (a regional endpoint), always over TLS: an app cannot turn encryption off.
 */
export function pubsubTarget(apiEndpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): PubSubTarget {
  const emulator = env.PUBSUB_EMULATOR_HOST?.trim();
  const given = emulator || apiEndpoint?.trim() || SERVICE_HOST;
  const bare = given.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
  const match = /^(\[[^\]]+\]|[^:/]+)(?::(\d+))?$/.exec(bare);
  if (!match) throw new TypeError(`@google-cloud/pubsub: ${emulator ? 'PUBSUB_EMULATOR_HOST' : 'apiEndpoint'} ${JSON.stringify(given.slice(0, 200))} is not host[:port]`);
  const defaultPort = /^http:\/\//i.test(given) ? 80 : 443;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: match[2] ? Number(match[2]) : defaultPort, emulator: Boolean(emulator) };
}

/**
 * The app's key as a service-account key, or a clear refusal. Other credential types (external
 * accounts, authorized users) name token URLs, commands or host files to read: never apps'.
 */
function serviceAccountKey(credentials: Record<string, unknown> | undefined): ServiceAccountKey | undefined {
  if (credentials === undefined || credentials === null) return undefined;
  const { type, client_email: email, private_key: key } = credentials;
  if ((type !== undefined && type !== 'service_account') || typeof email !== 'string' || typeof key !== 'string') {
    throw new TypeError('@google-cloud/pubsub: credentials must be a service account key (type "service_account", client_email, private_key)');
  }
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    type: 'service_account', client_email: email, private_key: key,
    ...(text(credentials.private_key_id) && { private_key_id: text(credentials.private_key_id) }),
    ...(text(credentials.project_id) && { project_id: text(credentials.project_id) }),
  };
}

/** A host as it goes before ":port" (an IPv6 address in brackets). */
const bracketed = (host: string) => (isIP(host) === 6 ? `[${host}]` : host);

type GoogleAuth = NonNullable<ClientConfig['auth']>;
type ChannelCredentials = NonNullable<ClientConfig['sslCreds']>;

/** What the bridge takes from google-gax: the very copies of gRPC and the auth library the SDK uses. */
interface SdkGax {
  GoogleAuth: new (options: Record<string, unknown>) => GoogleAuth;
  grpc: {
    credentials: {
      createSsl(rootCerts?: Buffer | null): ChannelCredentials;
      createFromGoogleCredential(credential: { getRequestHeaders(url: string): Promise<Record<string, string>> }): unknown;
      combineChannelCredentials(channel: ChannelCredentials, call: unknown): ChannelCredentials;
    };
  };
}

type Sdk = Pick<typeof import('@google-cloud/pubsub'), 'PubSub' | 'v1'> & { gax: SdkGax };
let sdk: Sdk | undefined;

/**
 * The SDK, loaded for an app's first client (most processes never make one; it costs 0.7-1.4 s of
 * blocking work once, which is the host's time, not the app's running time), and
 * google-gax found from the SDK's own folder (pnpm gives this package only the SDK).
 */
function loadSdk(): Sdk {
  if (sdk) return sdk;
  const fromHere = createRequire(import.meta.url);
  const pubsubPath = fromHere.resolve('@google-cloud/pubsub');
  const { PubSub, v1 } = fromHere(pubsubPath) as Sdk;
  sdk = { PubSub, v1, gax: createRequire(pubsubPath)('google-gax') as SdkGax };
  // A process's first client parses the service's protos (0.2-0.5 s): done now, on one that never connects.
  new v1.PublisherClient({ servicePath: 'localhost', port: 1, projectId: 'warm-up', clientOptions: { universeDomain: 'googleapis.com' } });
  return sdk;
}

/**
 * TLS to the service with the policy's trusted CAs (an operator's private CA besides the public
 * roots), and each call signed by the app's key, as google-gax would sign it: a service-account
 * key signs its own JWT (no token request) once the SDK has marked the auth for its service.
 */
function tlsCredentials(gax: SdkGax, auth: GoogleAuth, guard: GuardedFetch): ChannelCredentials {
  const { credentials } = gax.grpc;
  const channel = credentials.createSsl(guard.trustedCa ? Buffer.from(guard.trustedCa.join('\n')) : null);
  return credentials.combineChannelCredentials(channel, credentials.createFromGoogleCredential({
    getRequestHeaders: async (url) => Object.fromEntries((await (await auth.getClient()).getRequestHeaders(url)).entries()),
  }));
}

/**
 * The SDK's options for a client that connects to `address`, the checked address of the target:
 * gRPC dials its own sockets (no Node agent can be given to it), so the bridge resolves and
 * checks the name and hands gRPC the IP. TLS still checks the certificate against the name, and
 * :authority names it as the SDK would. The project id and the universe are given, so neither
 * the SDK nor its auth library looks in the host's environment, files or metadata server; the
 * auth library's own HTTP (token requests) goes through the guarded agent.
 */
/**
 * The forward proxy for the target as `fetch` and the other bridges choose it (HTTPS_PROXY,
 * HTTP_PROXY, NO_PROXY, in either case). gRPC itself reads only lower-case variables, so the
 * bridge sets up gRPC's CONNECT tunnel as grpc-js's own proxy mapping would: the channel dials
 * the proxy (the operator's, at any address) and asks it for the checked address.
 */
function viaProxy(target: PubSubTarget, address: string): { host: string; port: number; options: Record<string, unknown> } | undefined {
  const proxy = getProxyForUrl(`${target.emulator ? 'http' : 'https'}://${bracketed(target.host)}:${target.port}`);
  if (!proxy) return undefined;
  const url = new URL(proxy);
  const credentials = url.username ? Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64') : undefined;
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
    options: {
      'grpc.enable_http_proxy': 0,
      'grpc.http_connect_target': `dns:${bracketed(address)}:${target.port}`,
      ...(credentials && { 'grpc.http_connect_creds': credentials }),
    },
  };
}

function clientConfig(target: PubSubTarget, address: string, projectId: string, key: ServiceAccountKey | undefined, guard: GuardedFetch, authAgent: http.Agent): ClientConfig {
  const { gax } = loadSdk();
  const authOptions = {
    ...(key && { credentials: key }),
    clientOptions: { transporterOptions: { agent: authAgent }, universeDomain: 'googleapis.com' },
  };
  const auth = new gax.GoogleAuth({ ...authOptions, scopes: SCOPES });
  return {
    projectId,
    ...authOptions,
    auth,
    // Given, so the host's PUBSUB_EMULATOR_HOST / CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB are not read by the SDK itself.
    apiEndpoint: `${address}:${target.port}`,
    // The emulator: plaintext, unsigned, as the SDK speaks to one.
    emulatorMode: target.emulator,
    ...(!target.emulator && { sslCreds: tlsCredentials(gax, auth, guard) }),
    ...(!isIP(target.host) && { 'grpc.ssl_target_name_override': target.host }),
    'grpc.default_authority': `${bracketed(target.host)}:${target.port}`,
    'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
    // Through the operator's proxy when there is one (see viaProxy); never gRPC's own reading of the environment.
    ...(viaProxy(target, address)?.options ?? { 'grpc.enable_http_proxy': 0 }),
  } as ClientConfig;
}

async function createClient(options: AppClientOptions, guard: GuardedFetch): Promise<Client> {
  const target = pubsubTarget(typeof options.apiEndpoint === 'string' ? options.apiEndpoint : undefined);
  const key = serviceAccountKey(options.credentials);
  if (!key && !target.emulator) {
    throw new TypeError("@google-cloud/pubsub: credentials (a service account key) are required: the host's own Google credentials are not lent to apps");
  }
  const projectId = (typeof options.projectId === 'string' && options.projectId) || key?.project_id || (target.emulator && process.env.PUBSUB_PROJECT_ID);
  if (!projectId) throw new TypeError('@google-cloud/pubsub: projectId is required (or a key with project_id)');
  const address = await guardedAddress('Pub/Sub', target.host, guard);
  const authAgent = guard.nodeAgent('Pub/Sub auth');
  const pubsub = new (loadSdk().PubSub)(clientConfig(target, address, projectId, key, guard, authAgent));
  // The SDK splits apiEndpoint at ':', which an IPv6 address would break: the checked address
  // (or the proxy that tunnels to it) is set as such.
  const proxy = viaProxy(target, address);
  Object.assign(pubsub.options, proxy ? { servicePath: bracketed(proxy.host), port: proxy.port } : { servicePath: bracketed(address), port: target.port });
  return { pubsub, topics: new Map(), authAgent };
}

/** The client's Topic by name, made once: its publisher batches the publishes that arrive together. */
function topicOf(client: Client, name: unknown): Topic {
  if (typeof name !== 'string' || !name) throw new TypeError('@google-cloud/pubsub: a topic name must be a non-empty string');
  let topic = client.topics.get(name);
  if (topic) return topic;
  if (client.topics.size >= MAX_PUBSUB_TOPICS_PER_CLIENT) throw new RangeError(`@google-cloud/pubsub: more than ${MAX_PUBSUB_TOPICS_PER_CLIENT} topics on one client`);
  topic = client.pubsub.topic(name, {
    batching: { maxMilliseconds: PUBLISH_BATCH_MS, maxMessages: PUBLISH_BATCH_MESSAGES, maxBytes: MAX_PUBSUB_MESSAGE_BYTES },
    gaxOpts: { timeout: CALL_TIMEOUT_MS },
  });
  client.topics.set(name, topic);
  return topic;
}

/** A message from the VM: data as base64, string attributes, an optional ordering key. */
interface WireMessage {
  data?: string;
  attributes?: Record<string, string>;
  orderingKey?: string;
}

function toMessage(wire: WireMessage): { data?: Buffer; attributes?: Record<string, string>; orderingKey?: string } {
  const data = typeof wire.data === 'string' ? Buffer.from(wire.data, 'base64') : undefined;
  if (data && data.byteLength > MAX_PUBSUB_MESSAGE_BYTES) throw new RangeError(`@google-cloud/pubsub: a message is at most ${MAX_PUBSUB_MESSAGE_BYTES} bytes`);
  return {
    ...(data && { data }),
    ...(wire.attributes && typeof wire.attributes === 'object' && { attributes: wire.attributes }),
    ...(typeof wire.orderingKey === 'string' && wire.orderingKey && { orderingKey: wire.orderingKey }),
  };
}

/** The bridged Topic calls: each answers JSON of what the SDK's promise gives, less the Topic object itself. */
const TOPIC_CALLS: Record<string, (topic: Topic, argument: unknown) => Promise<unknown>> = {
  getMetadata: async (topic) => (await topic.getMetadata({ timeout: CALL_TIMEOUT_MS }))[0],
  create: async (topic) => (await topic.create({ timeout: CALL_TIMEOUT_MS }))[1],
  exists: async (topic) => (await topic.exists())[0],
  delete: async (topic) => (await topic.delete({ timeout: CALL_TIMEOUT_MS }))[0],
  publishMessage: (topic, message) => topic.publishMessage(toMessage((message ?? {}) as WireMessage)),
};

/**
 * `require('@google-cloud/pubsub')`: PubSub clients and their topics live on the host, over the
 * SDK's own gRPC transport, to the address the guard checked; the app holds a numeric handle,
 * its key never crosses back. Publishes resolve with the real message id.
 */
export const pubsubBridge: MetaCapability = {
  name: '@google-cloud/pubsub',
  handlers: (context, onDispose) => {
    const guard = context.fetch ?? defaultFetch();
    const clients = new HandleTable<Client>('@google-cloud/pubsub', MAX_PUBSUB_CLIENTS_PER_INSTANCE, closeClient, onDispose);
    return {
      'pubsub.create': async (json) => {
        const client = await createClient(parsePayload<AppClientOptions>('@google-cloud/pubsub', json), guard);
        try {
          return String(clients.add(client));
        } catch (error) {
          await closeClient(client); // over the cap: this one is not kept
          throw error;
        }
      },
      'pubsub.topic': async (json) => {
        const [handle, name, method, argument] = parsePayload<[unknown, unknown, string, unknown]>('@google-cloud/pubsub', json);
        const call = Object.hasOwn(TOPIC_CALLS, method) ? TOPIC_CALLS[method]! : undefined;
        if (!call) throw new TypeError(`@google-cloud/pubsub: Topic.${method} is not bridged (bridged: ${Object.keys(TOPIC_CALLS).join(', ')})`);
        const answer = await call(topicOf(clients.get(handle), name), argument);
        return answer === undefined ? undefined : JSON.stringify(answer);
      },
      'pubsub.close': async (json) => {
        const client = clients.remove(parsePayload<unknown>('@google-cloud/pubsub', json));
        if (client) await closeClient(client);
        return undefined;
      },
    };
  },
  lazy: { name: '@google-cloud/pubsub', modules: ['@google-cloud/pubsub'], source: PUBSUB_JS },
};
