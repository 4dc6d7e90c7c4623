/**
 * The baseline of `pnpm bench intake`, run as a child process so it has its own event loop like
 * the intake: a bare fastify server whose /batch and /capture take the body as a buffer (as the
 * intake's content-type parser does), JSON.parse it, count its events and answer `{"status":1}`.
 * Listens on 127.0.0.1:$PORT and writes "listening" to stdout when ready.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 20 * 1024 * 1024, routerOptions: { ignoreTrailingSlash: true }, trustProxy: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

let events = 0; // counted as the intake counts them, so the parse is used
for (const path of ['/batch', '/capture']) {
  app.post(path, async (request) => {
    const body = JSON.parse((request.body as Buffer).toString('utf8')) as { batch?: unknown };
    events += Array.isArray(body.batch) ? body.batch.length : 1;
    return { status: 1 };
  });
}

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write('listening\n');
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
