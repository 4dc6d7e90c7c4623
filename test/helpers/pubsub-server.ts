/**
 * A Pub/Sub Publisher service over real gRPC on loopback, for the @google-cloud/pubsub bridge's
 * tests: the service definition is the one the SDK itself ships (its protos/, loaded with
 * @grpc/proto-loader), served by @grpc/grpc-js, plaintext as the Pub/Sub emulator is (or TLS,
 * as the service is, with the test CA's certificate). It
 * implements GetTopic, CreateTopic, DeleteTopic and Publish with the status codes and messages
 * Google's Pub/Sub emulator answers (checked against it: "5 NOT_FOUND: Topic not found",
 * "6 ALREADY_EXISTS: Topic already exists", 3 INVALID_ARGUMENT for a bad name), and records every
 * call and published message as it arrived.
 */
import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface PublishedMessage {
  topic: string;
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string;
  messageId: string;
}

export interface RecordedCall {
  method: string;
  request: Record<string, any>;
  /** The :authority the client sent (the SDK's servicePath:port). */
  authority: string;
  /** The call's `authorization` metadata (a signed JWT from a service-account key), if any. */
  authorization: string | undefined;
}

export interface PubSubServerOptions {
  /** Serve TLS with this certificate instead of plaintext (the service rather than the emulator). */
  tls?: { cert: string; key: string };
  /** The address to listen on: 127.0.0.1 (default), or localhost for a name's every address. */
  bind?: string;
}

export interface PubSubServer {
  /** host:port, as PUBSUB_EMULATOR_HOST takes it. */
  host: string;
  topics: Map<string, Record<string, unknown>>;
  published: PublishedMessage[];
  calls: RecordedCall[];
  close(): Promise<void>;
}

/** The SDK's own protos (the pubsub package ships pubsub.proto; google-gax the google/api ones it imports). */
function publisherService(): grpc.ServiceDefinition {
  const pubsubDir = dirname(createRequire(import.meta.url).resolve('@google-cloud/pubsub/package.json'));
  // google-gax exports no package.json: its root is three folders above its main (build/src/index.js).
  const gaxDir = join(dirname(createRequire(join(pubsubDir, 'package.json')).resolve('google-gax')), '../..');
  const definition = protoLoader.loadSync('google/pubsub/v1/pubsub.proto', {
    includeDirs: [join(pubsubDir, 'build/protos'), join(gaxDir, 'build/protos')],
    keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  return (definition['google.pubsub.v1.Publisher'] as grpc.ServiceDefinition);
}

/** The emulator's rule for topic names: a letter, then 2-254 letters, digits or - _ . ~ + %. */
const TOPIC_NAME = /^projects\/[^/]+\/topics\/[a-zA-Z][\w.~+%-]{2,254}$/;

function statusError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

export async function startPubSubServer(options: PubSubServerOptions = {}): Promise<PubSubServer> {
  const topics = new Map<string, Record<string, unknown>>();
  const published: PublishedMessage[] = [];
  const calls: RecordedCall[] = [];
  let nextId = randomInt(1_000_000, 9_000_000);

  /** A unary handler that records its call, then answers what `answer` returns or throws. */
  const unary = (method: string, answer: (request: any) => unknown): grpc.handleUnaryCall<any, any> => (call, callback) => {
    calls.push({ method, request: call.request, authority: call.getHost(), authorization: call.metadata.get('authorization')[0]?.toString() });
    try {
      callback(null, answer(call.request));
    } catch (error) {
      callback(error as grpc.ServiceError);
    }
  };
  const existing = (name: string): Record<string, unknown> => {
    if (!TOPIC_NAME.test(name)) throw statusError(grpc.status.INVALID_ARGUMENT, `Invalid [topics] name: (name=${name})`);
    const topic = topics.get(name);
    if (!topic) throw statusError(grpc.status.NOT_FOUND, 'Topic not found');
    return topic;
  };

  const server = new grpc.Server();
  server.addService(publisherService(), {
    CreateTopic: unary('CreateTopic', (request) => {
      if (!TOPIC_NAME.test(request.name)) throw statusError(grpc.status.INVALID_ARGUMENT, `Invalid [topics] name: (name=${request.name})`);
      if (topics.has(request.name)) throw statusError(grpc.status.ALREADY_EXISTS, 'Topic already exists');
      const topic = { name: request.name, labels: request.labels ?? {} };
      topics.set(request.name, topic);
      return topic;
    }),
    GetTopic: unary('GetTopic', (request) => existing(request.topic)),
    DeleteTopic: unary('DeleteTopic', (request) => {
      existing(request.topic);
      topics.delete(request.topic);
      return {};
    }),
    Publish: unary('Publish', (request) => {
      existing(request.topic);
      const messages: any[] = request.messages ?? [];
      if (messages.length === 0) throw statusError(grpc.status.INVALID_ARGUMENT, 'The value for 0 is too small. You passed message_count in the request, but the minimum value is 1.');
      if (messages.some((message) => message.data.length === 0 && Object.keys(message.attributes ?? {}).length === 0)) {
        throw statusError(grpc.status.INVALID_ARGUMENT, 'Some messages are empty: a message needs data or attributes.');
      }
      const ids = messages.map((message) => {
        const messageId = String(nextId++);
        published.push({ topic: request.topic, data: Buffer.from(message.data), attributes: { ...message.attributes }, orderingKey: message.ordering_key, messageId });
        return messageId;
      });
      return { message_ids: ids };
    }),
  });
  const bind = options.bind ?? '127.0.0.1';
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key) }])
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${bind}:0`, credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
  return {
    host: `${bind}:${port}`,
    topics,
    published,
    calls,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
