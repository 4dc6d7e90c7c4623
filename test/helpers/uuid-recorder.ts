import { createServer, type Server } from 'node:http';

/** A loopback HTTP server counting the uuids apps POST to it (a JSON array per request): what a destination received. */
export interface UuidRecorder {
  url: string;
  /** uuid → how many times it arrived. */
  received: Map<string, number>;
  close(): Promise<void>;
}

export async function startUuidRecorder(): Promise<UuidRecorder> {
  const received = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      for (const uuid of JSON.parse(body) as string[]) received.set(uuid, (received.get(uuid) ?? 0) + 1);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    received,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
