import { defaultFetch } from './fetch';
import { HandleTable, guardedAddress, parsePayload } from './bridge';
import type { MetaCapability } from './types';
import { AWS_SDK_JS } from '../vm-sources';

/** aws-sdk clients (S3, Kinesis) one instance may hold at once. */
export const MAX_AWS_CLIENTS_PER_INSTANCE = 10;
/** One request's time limit (connect and response). */
const REQUEST_TIMEOUT_MS = 30_000;
/** The largest object body an app may put or get through the bridge. */
export const MAX_AWS_BODY_BYTES = 64 * 1024 * 1024;

/** aws-sdk v2's client options, as apps give them. */
interface AppClientOptions {
  service: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  region?: string;
  endpoint?: string;
  s3ForcePathStyle?: boolean;
}

interface AwsClient {
  send(command: unknown): Promise<unknown>;
  destroy(): void;
}
type CommandClass = new (input: unknown) => unknown;

type Service = { Client: new (config: Record<string, unknown>) => AwsClient; commands: Record<string, CommandClass> };

/**
 * The bridged services: their v3 client and, by aws-sdk v2's method name, the command it sends
 * (v2's upload is one PutObject). Loaded on an app's first client: the SDKs cost every process
 * ~250 ms and their memory at start otherwise, and most never use them.
 */
const SERVICES: Record<string, () => Promise<Service>> = {
  S3: async () => {
    const m = await import('@aws-sdk/client-s3');
    return {
      Client: m.S3Client as never,
      commands: { putObject: m.PutObjectCommand, upload: m.PutObjectCommand, getObject: m.GetObjectCommand, listObjects: m.ListObjectsCommand, listObjectsV2: m.ListObjectsV2Command, createBucket: m.CreateBucketCommand } as never,
    };
  },
  Kinesis: async () => {
    const m = await import('@aws-sdk/client-kinesis');
    return {
      Client: m.KinesisClient as never,
      commands: { describeStream: m.DescribeStreamCommand, getShardIterator: m.GetShardIteratorCommand, getRecords: m.GetRecordsCommand, putRecord: m.PutRecordCommand, putRecords: m.PutRecordsCommand } as never,
    };
  },
};

/** Bytes from the VM arrive as `{ $base64 }` (Body, Data); the SDK gets Buffers, within the body cap. */
function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (!value || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (typeof record.$base64 === 'string' && Object.keys(record).length === 1) {
    const bytes = Buffer.from(record.$base64, 'base64');
    if (bytes.byteLength > MAX_AWS_BODY_BYTES) throw new RangeError(`aws-sdk: a body is at most ${MAX_AWS_BODY_BYTES} bytes`);
    return bytes;
  }
  return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, fromWire(item)]));
}

/** The SDK's output for the VM: bytes and streamed bodies as `{ $base64 }`, Dates as ISO text (the shim revives both). */
async function toWire(value: unknown): Promise<unknown> {
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value).toString('base64') };
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return Promise.all(value.map(toWire));
  if (!value || typeof value !== 'object') return value;
  const stream = value as { transformToByteArray?: () => Promise<Uint8Array> };
  if (typeof stream.transformToByteArray === 'function') {
    const bytes = await stream.transformToByteArray();
    if (bytes.byteLength > MAX_AWS_BODY_BYTES) throw new RangeError(`aws-sdk: an object body is at most ${MAX_AWS_BODY_BYTES} bytes`);
    return { $base64: Buffer.from(bytes).toString('base64') };
  }
  const entries = await Promise.all(Object.entries(value).filter(([key]) => key !== '$metadata').map(async ([key, item]) => [key, await toWire(item)] as const));
  return Object.fromEntries(entries);
}

/**
 * `require('aws-sdk')`'s S3 and Kinesis (v2's API, served by the maintained v3 clients on the host): the app
 * holds a handle; its requests go through the instance's guarded agent (fetch's address rules,
 * CAs and proxy settings), its credentials stay on the host side.
 */
export const awsSdkBridge: MetaCapability = {
  name: 'aws-sdk',
  handlers: (context, onDispose) => {
    const guard = context.fetch ?? defaultFetch();
    const clients = new HandleTable<{ service: Service; client: AwsClient }>('aws-sdk', MAX_AWS_CLIENTS_PER_INSTANCE, ({ client }) => client.destroy(), onDispose);
    return {
      'aws.create': async (json) => {
        const options = parsePayload<AppClientOptions>('aws-sdk', json);
        const load = Object.hasOwn(SERVICES, options.service) ? SERVICES[options.service]! : undefined;
        if (!load) throw new TypeError(`aws-sdk: ${options.service} is not bridged (bridged: ${Object.keys(SERVICES).join(', ')})`);
        if (options.endpoint) await guardedAddress(options.service, new URL(options.endpoint).hostname, guard);
        const [service, { NodeHttpHandler }] = await Promise.all([load(), import('@smithy/node-http-handler')]);
        // The client's own agent: client.destroy() (the handle closed, or the VM disposed) closes its sockets.
        const agent = guard.nodeAgent(options.service);
        const client = new service.Client({
          region: options.region || 'us-east-1',
          ...(options.endpoint && { endpoint: options.endpoint }),
          ...(options.service === 'S3' && { forcePathStyle: options.s3ForcePathStyle === true }),
          ...(options.accessKeyId && options.secretAccessKey && {
            credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, ...(options.sessionToken && { sessionToken: options.sessionToken }) },
          }),
          requestHandler: new NodeHttpHandler({ httpAgent: agent, httpsAgent: agent, connectionTimeout: REQUEST_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }),
          // v2 apps retry themselves (RetryError); one attempt keeps a call within its time limit.
          maxAttempts: 1,
        });
        return String(clients.add({ service, client }));
      },
      'aws.call': async (json) => {
        const [handle, method, params] = parsePayload<[unknown, string, Record<string, unknown>]>('aws-sdk', json);
        const { service, client } = clients.get(handle);
        const commands = service.commands;
        const Command = Object.hasOwn(commands, method) ? commands[method]! : undefined;
        if (!Command) throw new TypeError(`aws-sdk: ${method} is not bridged (bridged: ${Object.keys(commands).join(', ')})`);
        const answer = (await toWire(await client.send(new Command(fromWire(params))))) as Record<string, unknown>;
        // v2's upload answers Bucket and Key besides the ETag.
        if (method === 'upload') Object.assign(answer, { Bucket: params.Bucket, Key: params.Key, key: params.Key });
        return JSON.stringify(answer);
      },
      'aws.destroy': async (json) => {
        clients.remove(parsePayload<unknown>('aws-sdk', json))?.client.destroy();
        return undefined;
      },
    };
  },
  lazy: { name: 'aws-sdk', modules: ['aws-sdk', 'aws-sdk/clients/s3', 'aws-sdk/clients/kinesis'], source: AWS_SDK_JS },
};
