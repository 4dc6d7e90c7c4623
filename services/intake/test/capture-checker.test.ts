import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createLogger } from '@sluice/core';
import { CaptureChecker, THREAD_MIN_BODY_BYTES } from '../src/capture-checker';
import type { CaptureInput, CheckedCapture } from '../src/check-capture';

const logger = createLogger('silent');

function input(body: string | Buffer, extra: Partial<CaptureInput> = {}): CaptureInput {
  return {
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
    contentEncoding: undefined, compression: undefined, queryData: undefined, queryToken: undefined,
    engage: false, maxDecodedBytes: 50 * 1024 * 1024, maxEventsPerRequest: 10_000, shards: 0, ...extra,
  };
}

/** Events in a body large enough to go to a thread (~330 B each). */
const LARGE = 600;

/** A /batch body of `count` events. */
function batch(count: number, extra: Record<string, unknown> = {}): string {
  const events = Array.from({ length: count }, (_, i) => ({ event: '$pageview', distinct_id: `user-${i}`, properties: { $current_url: `https://example.com/${'x'.repeat(200)}/${i}`, n: i, é: 'ü😀' } }));
  return JSON.stringify({ api_key: 'tok', batch: events, ...extra });
}

/** A check's result with its parts' bodies as text, to compare a thread's answer with the event loop's. */
function texts(checked: CheckedCapture): unknown {
  return { ...checked, parts: checked.parts.map((part) => ({ ...part, json: String(part.json) })) };
}

async function online(checker: CaptureChecker, threads: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (checker.threadsOnline < threads) {
    if (Date.now() > deadline) throw new Error('the check threads did not come up');
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe('CaptureChecker', () => {
  const checks = { thread: 0, event_loop: 0 };
  const threaded = new CaptureChecker(2, logger, (where) => (checks[where] += 1));
  const inline = new CaptureChecker(0, logger);
  afterAll(() => Promise.all([threaded.close(), inline.close()]));

  it('answers a large body on a thread exactly as on the event loop, and hands back its bytes', async () => {
    await online(threaded, 2);
    const body = batch(LARGE);
    expect(Buffer.byteLength(body)).toBeGreaterThan(THREAD_MIN_BODY_BYTES);
    const sent = checks.thread;
    const [onThread, onLoop] = await Promise.all([threaded.check(input(body)), inline.check(input(body))]);
    expect(checks.thread).toBe(sent + 1);
    // A small body stays on the event loop even with threads at hand.
    const inlineBefore = checks.event_loop;
    expect((await threaded.check(input(batch(5)))).events).toBe(5);
    expect(checks).toMatchObject({ thread: sent + 1, event_loop: inlineBefore + 1 });
    expect(onThread.token).toBe('tok');
    expect(onThread.events).toBe(LARGE);
    expect(onThread.parts).toHaveLength(1);
    expect(Buffer.from(onThread.parts[0]!.json).toString('utf8')).toBe(body);
    expect(texts(onThread)).toEqual(texts(onLoop));
  });

  it('splits a body by its persons\' lanes, the same on a thread as on the event loop', async () => {
    await online(threaded, 2);
    const body = batch(LARGE, { sent_at: '2026-01-01T00:00:00Z' });
    const [onThread, onLoop] = await Promise.all([threaded.check(input(body, { shards: 8 })), inline.check(input(body, { shards: 8 }))]);
    expect(texts(onThread)).toEqual(texts(onLoop));
    expect(onThread.parts.map((part) => part.shard).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const bodies = onThread.parts.map((part) => JSON.parse(String(part.json)) as { sent_at: string; batch: Array<{ properties: { n: number } }> });
    // Every part keeps the envelope; together they hold every event once, each lane in the request's order.
    expect(bodies.every((part) => part.sent_at === '2026-01-01T00:00:00Z')).toBe(true);
    expect(bodies.flatMap((part) => part.batch.map((event) => event.properties.n)).sort((a, b) => a - b)).toEqual(Array.from({ length: LARGE }, (_, i) => i));
    for (const part of bodies) expect(part.batch.map((event) => event.properties.n)).toEqual([...part.batch.map((event) => event.properties.n)].sort((a, b) => a - b));
    expect(onThread.parts.reduce((sum, part) => sum + part.events, 0)).toBe(LARGE);
    // One person's request stays whole: its text is the client's own.
    const lone = JSON.stringify({ api_key: 'tok', batch: [{ event: 'a', distinct_id: 'p' }, { event: 'b', distinct_id: 'p' }] });
    const single = await inline.check(input(lone, { shards: 8 }));
    expect(texts(single)).toMatchObject({ parts: [{ shard: expect.any(Number), json: lone, events: 2 }] });
  });

  it('inflates on the thread, and gives back refusals as the CaptureErrors they are', async () => {
    await online(threaded, 2);
    // Random text barely compresses, so the gzip body too is large enough for a thread.
    const body = batch(200, { noise: randomBytes(THREAD_MIN_BODY_BYTES).toString('base64') });
    const gzipped = gzipSync(body);
    expect(gzipped.length).toBeGreaterThan(THREAD_MIN_BODY_BYTES);
    // (check() takes the body's memory over: each call gets its own copy.)
    expect((await threaded.check(input(Buffer.from(gzipped), { contentEncoding: 'gzip' }))).events).toBe(200);
    await expect(threaded.check(input(Buffer.from(gzipped.subarray(0, -100)), { contentEncoding: 'gzip' }))).rejects.toMatchObject({ code: 'invalid_compression', statusCode: 400 });
    await expect(threaded.check(input(batch(LARGE).slice(0, -3)))).rejects.toMatchObject({ code: 'invalid_json', statusCode: 400 });
    await expect(threaded.check(input(batch(LARGE), { maxEventsPerRequest: 10 }))).rejects.toMatchObject({ code: 'too_many_events', statusCode: 413 });
    const nameless = JSON.parse(batch(LARGE)) as { batch: Array<Record<string, unknown>> };
    nameless.batch[57]!.event = '';
    await expect(threaded.check(input(JSON.stringify(nameless)))).rejects.toThrow('event 57 has no "event" name');
  });

  it('checks many bodies at once across its threads, each answer going to its own request', async () => {
    await online(threaded, 2);
    const bodies = Array.from({ length: 12 }, (_, i) => batch(LARGE + i));
    const results = await Promise.all(bodies.map((body) => threaded.check(input(body))));
    expect(results.map((result) => result.events)).toEqual(bodies.map((_, i) => LARGE + i));
  });

  it('replaces a thread that dies, failing only the checks it held', async () => {
    await online(threaded, 2);
    const threads = (threaded as unknown as { threads: Array<{ worker: { terminate(): Promise<number> } }> }).threads;
    const dying = threads[0]!;
    await dying.worker.terminate();
    // Meanwhile the other thread, or the event loop, still answers.
    expect((await threaded.check(input(batch(LARGE)))).events).toBe(LARGE);
    await online(threaded, 2);
    expect(threads[0]).not.toBe(dying);
    const sent = checks.thread;
    const results = await Promise.all(Array.from({ length: 6 }, () => threaded.check(input(batch(LARGE)))));
    expect(checks.thread).toBe(sent + 6);
    expect(results.every((result) => result.events === LARGE)).toBe(true);
  });
});
