import { describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { deflateSync, gzipSync } from 'node:zlib';
import LZString from 'lz-string';
import { decodeCaptureBody, decodeCaptureBodyNow, type RawCapture } from '../src/decode-body';
import { engageBody } from '../src/engage';
import { GroupCommitter } from '../src/group-commit';

const MAX = 1024 * 1024;
const decodeText = (body: Buffer | string | undefined, extra: Partial<RawCapture> = {}) => decodeCaptureBody({ body, maxDecodedBytes: MAX, ...extra });
const decode = async (body: Buffer | string | undefined, extra: Partial<RawCapture> = {}) => (await decodeText(body, extra)).value;
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('decodeCaptureBody', () => {
  it('reads JSON whatever the content type, and form bodies with data= (plain or base64)', async () => {
    expect(await decode(Buffer.from(' {"event":"a"} '))).toEqual({ event: 'a' });
    expect(await decode(`data=${encodeURIComponent('[{"event":"b"}]')}`)).toEqual([{ event: 'b' }]);
    expect(await decode(`data=${encodeURIComponent(b64('{"event":"c"}'))}`)).toEqual({ event: 'c' });
  });

  it('reads every encoding PostHog clients send', async () => {
    const json = '{"event":"z","properties":{"é":"ü"}}';
    const expected = { event: 'z', properties: { é: 'ü' } };
    expect(await decode(gzipSync(json), { contentEncoding: 'gzip' })).toEqual(expected);
    expect(await decode(gzipSync(json), { compression: 'gzip-js' })).toEqual(expected);
    expect(await decode(gzipSync(json))).toEqual(expected); // gzip's magic bytes, no header
    expect(await decode(deflateSync(json), { contentEncoding: 'deflate' })).toEqual(expected);
    expect(await decode(b64(json), { compression: 'base64' })).toEqual(expected);
    expect(await decode(`data=${encodeURIComponent(LZString.compressToBase64(json))}&compression=lz64`)).toEqual(expected);
    expect(await decode(`data=${encodeURIComponent(LZString.compressToBase64(json))}`, { compression: 'lz64' })).toEqual(expected);
    expect(await decode(undefined, { queryData: b64(json) })).toEqual(expected);
    expect(await decode(undefined, { queryData: json })).toEqual(expected);
    expect(await decode(`data=${b64(json).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`)).toEqual(expected);
    // The JSON text itself comes along too: the intake queues it as it is.
    expect((await decodeText(gzipSync(json), { contentEncoding: 'gzip' })).text).toBe(json);
    expect((await decodeText(`data=${encodeURIComponent(LZString.compressToBase64(json))}&compression=lz64`)).text).toBe(json);
    expect((await decodeText(undefined, { queryData: b64(json) })).text).toBe(json);
    // A JSON body's own bytes come too (copied into the job as they are), unless they are not valid UTF-8.
    expect((await decodeText(Buffer.from(json))).bytes?.toString('utf8')).toBe(json);
    const invalid = await decodeText(Buffer.concat([Buffer.from('{"event":"'), Buffer.from([0xff]), Buffer.from('"}')]));
    expect(invalid.bytes).toBeUndefined();
    expect(invalid.value).toEqual({ event: '\ufffd' });
  });

  it('refuses a gzip bomb with 413 after inflating no more than the limit', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 32)); // 64 MiB of spaces in ~64 KiB
    await expect(decode(bomb, { contentEncoding: 'gzip' })).rejects.toMatchObject({ code: 'payload_too_large', statusCode: 413 });
    await expect(decode(`data=${'A'.repeat(2 * MAX)}`)).rejects.toMatchObject({ statusCode: 413 });
  });

  it('says what is wrong', async () => {
    await expect(decode(undefined)).rejects.toThrow('the request body is empty');
    await expect(decode('{"event":')).rejects.toThrow(/the body is not valid JSON/);
    await expect(decode('hello')).rejects.toThrow(/neither JSON nor a form/);
    await expect(decode(Buffer.from([0x1f, 0x8b, 1, 2, 3]))).rejects.toMatchObject({ code: 'invalid_compression' });
    await expect(decode('data=%%%', { compression: 'lz64' })).rejects.toMatchObject({ code: 'invalid_compression' });
    await expect(decode('{}', { contentEncoding: 'br' })).rejects.toMatchObject({ code: 'unsupported_encoding', statusCode: 415 });
    await expect(decode('data=not*base64')).rejects.toThrow(/neither JSON nor base64/);
  });

  it('answers without a promise (decodeCaptureBodyNow) the same, unless the body must be inflated', async () => {
    const raw = (body: Buffer | string, extra: Partial<RawCapture> = {}): RawCapture => ({ body, maxDecodedBytes: MAX, ...extra });
    for (const plain of [raw(Buffer.from('{"event":"a"}')), raw(`data=${encodeURIComponent(b64('[{"event":"b"}]'))}`), raw('', { queryData: '{"event":"c"}' })]) {
      expect(decodeCaptureBodyNow(plain)).toEqual(await decodeCaptureBody(plain));
    }
    expect(decodeCaptureBodyNow(raw(gzipSync('{"event":"a"}')))).toBeUndefined();
    expect(decodeCaptureBodyNow(raw('{}', { contentEncoding: 'deflate' }))).toBeUndefined();
    expect(() => decodeCaptureBodyNow(raw(''))).toThrow('the request body is empty');
    expect(() => decodeCaptureBodyNow(raw('{}', { contentEncoding: 'br' }))).toThrow(/Content-Encoding "br"/);
  });
});

describe('engageBody', () => {
  it('turns Mixpanel-style person updates into $identify events and leaves events alone', () => {
    expect(engageBody({ $token: 't', $distinct_id: 'u1', $set: { plan: 'pro' } })).toEqual({
      event: '$identify', distinct_id: 'u1', api_key: 't', properties: { $set: { plan: 'pro' } },
    });
    expect(engageBody([{ event: 'x', distinct_id: 'u' }])).toEqual([{ event: 'x', distinct_id: 'u' }]);
  });
});

const event = (n: number) => ({ uuid: String(n) }) as PluginEvent;
/** What a request submits: here its events as they are (the intake submits them serialized). */
const submit = (committer: GroupCommitter<PluginEvent[]>, projectId: string, events: PluginEvent[]) => committer.submit(projectId, events, events.length);
const uuids = (parts: PluginEvent[][]) => parts.flat().map((e) => e.uuid);

describe('GroupCommitter', () => {
  it('writes the events of concurrent requests of a project as one batch, in arrival order', async () => {
    const writes: Array<[string, string[], number]> = [];
    const committer = new GroupCommitter<PluginEvent[]>({
      windowMs: 20,
      maxEvents: 100,
      write: async (projectId, parts, events) => void writes.push([projectId, uuids(parts), events]),
    });
    await Promise.all([submit(committer, 'a', [event(1), event(2)]), submit(committer, 'b', [event(3)]), submit(committer, 'a', [event(4)])]);
    expect(writes).toEqual([['a', ['1', '2', '4'], 3], ['b', ['3'], 1]]);
  });

  it('flushes at maxEvents without waiting for the window, and fails every waiter of a failed write', async () => {
    let calls = 0;
    const committer = new GroupCommitter<PluginEvent[]>({
      windowMs: 60_000,
      maxEvents: 2,
      write: async () => {
        calls += 1;
        throw new Error('redis down');
      },
    });
    const results = await Promise.allSettled([submit(committer, 'a', [event(1)]), submit(committer, 'a', [event(2)])]);
    expect(calls).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('drain writes what is gathered at once', async () => {
    const written: string[] = [];
    const committer = new GroupCommitter<PluginEvent[]>({ windowMs: 60_000, maxEvents: 100, write: async (_p, parts) => void written.push(...uuids(parts)) });
    const pending = submit(committer, 'a', [event(9)]);
    await committer.drain();
    await pending;
    expect(written).toEqual(['9']);
  });
});
