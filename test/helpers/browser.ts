import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { REPO_ROOT } from './services';

/**
 * Debian's `chromium` package (scripts/services.sh, run by scripts/test-all.sh, installs it when
 * missing). playwright-core never downloads a browser of its own.
 */
export const CHROMIUM_PATH = process.env.SLUICE_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The machine has no outside network: every background fetch Chromium makes on its own (updates,
 * sync, QUIC probes) only ends in refused connections, so they are all turned off.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Headless Chromium. playwright's launch() gives the browser a fresh temporary --user-data-dir and
 * deletes it on close; each test then takes its own context (own cookies and localStorage).
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's chromium (scripts/services.sh does it with apt-get)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/** posthog-js's browser bundle as the CDN serves it (`window.posthog`, the array snippet's target). */
export const POSTHOG_JS_BUNDLE = join(REPO_ROOT, 'test/node_modules/posthog-js/dist/array.full.js');

/**
 * Serves `/posthog.js` (the bundle) and the given HTML pages on 127.0.0.1, on a port of its own:
 * the page's origin is not the intake's, as on a real site.
 */
export async function startPageServer(pages: Record<string, string>): Promise<PageServer> {
  const bundle = await readFile(POSTHOG_JS_BUNDLE);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path === '/posthog.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
    } else if (path === '/favicon.ico') {
      response.writeHead(204).end();
    } else if (pages[path] !== undefined) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pages[path]);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** One request that went through a {@link RecordingTap}, with the intake's answer. */
export interface TappedRequest {
  method: string;
  /** The full URL the client asked for (on the tap). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The intake's status; null when the intake could not be reached. */
  status: number | null;
  responseHeaders: IncomingHttpHeaders;
  responseText: string;
}

export interface RecordingTap {
  url: string;
  requests: TappedRequest[];
  /** Resolves once every request received so far has its answer. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

/**
 * A wire tap in front of the intake: forwards every request byte for byte (method, path, query,
 * headers with Origin, body; CORS preflights included) and the intake's answer back unchanged,
 * recording both. Chromium does not show sendBeacon bodies (posthog-js's $pageleave) to the
 * DevTools protocol, so the tap is how a test knows every event a browser really sent.
 */
export async function startRecordingTap(target: string): Promise<RecordingTap> {
  const requests: TappedRequest[] = [];
  const inFlight = new Set<Promise<void>>();
  const targetUrl = new URL(target);
  const server: Server = createServer((request, response) => {
    let answered!: () => void;
    const done = new Promise<void>((resolve) => (answered = resolve));
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const record: TappedRequest = {
        method: request.method ?? 'GET',
        url: `http://${request.headers.host}${request.url}`,
        headers: request.headers,
        body,
        status: null,
        responseHeaders: {},
        responseText: '',
      };
      requests.push(record);
      const headers = { ...request.headers, host: targetUrl.host };
      const upstream = httpRequest(new URL(request.url ?? '/', targetUrl), { method: request.method, headers }, (answer) => {
        const answerChunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => answerChunks.push(chunk));
        answer.on('end', () => {
          const answerBody = Buffer.concat(answerChunks);
          record.status = answer.statusCode ?? null;
          record.responseHeaders = answer.headers;
          record.responseText = answerBody.toString('utf8');
          const forwarded = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
          response.writeHead(answer.statusCode ?? 502, { ...forwarded, 'content-length': answerBody.length }).end(answerBody);
          answered();
        });
      });
      upstream.on('error', (error) => {
        record.responseText = `tap: ${error.message}`;
        response.writeHead(502).end();
        answered();
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    settled: async () => {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
