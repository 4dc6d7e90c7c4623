import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the chaos destinations delivered: per destination, how many times each uuid arrived. */
export interface Recorder {
  url: string;
  onEvent: Map<string, number>;
  exported: Map<string, number>;
  close(): Promise<void>;
}

function count(into: Map<string, number>, uuids: readonly string[]): void {
  for (const uuid of uuids) into.set(uuid, (into.get(uuid) ?? 0) + 1);
}

/** A real HTTP server the chaos apps POST to (their fetch goes through Sluice's guarded egress). */
export async function startRecorder(): Promise<Recorder> {
  const onEvent = new Map<string, number>();
  const exported = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { uuid?: string; uuids?: string[] };
        if (request.url === '/onevent' && body.uuid) count(onEvent, [body.uuid]);
        else if (request.url === '/export' && body.uuids) count(exported, body.uuids);
        else throw new Error(`unexpected ${request.url}`);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (error) {
        response.writeHead(400).end(String(error));
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    onEvent,
    exported,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
