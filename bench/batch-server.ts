/**
 * The HTTP side both stand-ins of `pnpm bench pipeline` share (the ceiling and the naive design):
 * a node:http server whose POST /batch parses the body and hands its events to `onBatch` before
 * answering `{"status":1}`, and whose GET /stats answers `stats()`. Listens on 127.0.0.1:$PORT,
 * writes "listening" when ready, and on SIGTERM closes its connections, awaits `close` and exits.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { PluginEvent } from '@sluice/core';

export interface BatchServerOptions {
  onBatch(events: PluginEvent[]): Promise<void>;
  stats(): unknown;
  close?(): Promise<void>;
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function serveBatches(options: BatchServerOptions): void {
  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method === 'GET' && request.url === '/stats') return answer(response, 200, options.stats());
    if (request.method !== 'POST' || request.url !== '/batch') return answer(response, 404, { error: 'not_found' });
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { batch: PluginEvent[] };
    await options.onBatch(body.batch);
    answer(response, 200, { status: 1 });
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => answer(response, 500, { error: error.message }));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write('listening\n'));
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    void (options.close?.() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}
