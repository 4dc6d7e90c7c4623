import { CreateBucketCommand, GetObjectCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { defaultFetch } from './fetch';
import { HandleTable, guardedAddress, parsePayload } from './bridge';
import type { MetaCapability } from './types';
import { AWS_SDK_JS } from '../vm-sources';

/** S3 clients one instance may hold at once. */
export const MAX_AWS_CLIENTS_PER_INSTANCE = 10;
/** One request's time limit (connect and response). */
const REQUEST_TIMEOUT_MS = 30_000;
/** The largest object body an app may put or get through the bridge. */
export const MAX_AWS_BODY_BYTES = 64 * 1024 * 1024;

/** aws-sdk v2's S3 options, as apps give them. */
interface AppS3Options {
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  region?: string;
  endpoint?: string;
  s3ForcePathStyle?: boolean;
  signatureVersion?: string;
}

/** A body from the VM: text as it is, bytes as base64 (`{ base64 }`). */
type WireBody = string | { base64: string } | undefined;

function bodyOf(body: WireBody): string | Buffer | undefined {
  const bytes = typeof body === 'object' && body !== null ? Buffer.from(body.base64, 'base64') : body;
  if (bytes !== undefined && Buffer.byteLength(bytes) > MAX_AWS_BODY_BYTES) throw new RangeError(`S3: a body is at most ${MAX_AWS_BODY_BYTES} bytes`);
  return bytes;
}

/** Commands the VM may send, by aws-sdk v2's method name; upload is PutObject (one request). */
const S3_COMMANDS = {
  putObject: PutObjectCommand,
  upload: PutObjectCommand,
  getObject: GetObjectCommand,
  listObjects: ListObjectsCommand,
  listObjectsV2: ListObjectsV2Command,
  createBucket: CreateBucketCommand,
} as const;

/**
 * `require('aws-sdk')`'s S3 (v2's API, served by the maintained v3 client on the host): the app
 * holds a handle; its requests go through the instance's guarded agent (fetch's address rules,
 * CAs and proxy settings), its credentials stay on the host side.
 */
export const awsSdkBridge: MetaCapability = {
  name: 'aws-sdk',
  handlers: (context, onDispose) => {
    const guard = context.fetch ?? defaultFetch();
    const clients = new HandleTable<S3Client>('S3', MAX_AWS_CLIENTS_PER_INSTANCE, (client) => client.destroy(), onDispose);
    return {
      's3.create': async (json) => {
        const options = parsePayload<AppS3Options>('S3', json);
        if (options.endpoint) await guardedAddress('S3', new URL(options.endpoint).hostname, guard);
        const agent = guard.nodeAgent('S3');
        const client = new S3Client({
          region: options.region || 'us-east-1',
          ...(options.endpoint && { endpoint: options.endpoint }),
          forcePathStyle: options.s3ForcePathStyle === true,
          ...(options.accessKeyId && options.secretAccessKey && {
            credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, ...(options.sessionToken && { sessionToken: options.sessionToken }) },
          }),
          requestHandler: new NodeHttpHandler({ httpAgent: agent, httpsAgent: agent, connectionTimeout: REQUEST_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }),
          maxAttempts: 1,
        });
        return String(clients.add(client));
      },
      's3.call': async (json) => {
        const [handle, method, params] = parsePayload<[unknown, string, Record<string, unknown> & { Body?: WireBody }]>('S3', json);
        // (one signature for all: each command's input is checked by the service, not by us)
        const Command = (Object.hasOwn(S3_COMMANDS, method) ? S3_COMMANDS[method as keyof typeof S3_COMMANDS] : undefined) as unknown as (new (input: unknown) => Parameters<S3Client['send']>[0]) | undefined;
        if (!Command) throw new TypeError(`S3: ${method} is not bridged (bridged: ${Object.keys(S3_COMMANDS).join(', ')})`);
        const client = clients.get(handle);
        const input = { ...params, ...(params.Body !== undefined && { Body: bodyOf(params.Body) }) };
        const output = (await client.send(new Command(input))) as unknown as Record<string, unknown> & { Body?: { transformToByteArray(): Promise<Uint8Array> } };
        const { $metadata: _metadata, Body, ...rest } = output;
        const answer: Record<string, unknown> = { ...rest };
        if (Body) {
          const bytes = await Body.transformToByteArray();
          if (bytes.byteLength > MAX_AWS_BODY_BYTES) throw new RangeError(`S3: an object body is at most ${MAX_AWS_BODY_BYTES} bytes`);
          answer.Body = { base64: Buffer.from(bytes).toString('base64') };
        }
        // v2's upload answers Location, Key and Bucket besides the ETag.
        if (method === 'upload') Object.assign(answer, { Bucket: params.Bucket, Key: params.Key, key: params.Key });
        return JSON.stringify(answer);
      },
      's3.destroy': async (json) => {
        clients.remove(parsePayload<unknown>('S3', json))?.destroy();
        return undefined;
      },
    };
  },
  shim: () => AWS_SDK_JS,
};
