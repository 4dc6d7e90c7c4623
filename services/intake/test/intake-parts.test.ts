import { describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { decodeCaptureBody } from '../src/decode-body';
import { GroupCommitter } from '../src/group-commit';

describe('decodeCaptureBody', () => {
  it('reads JSON whatever the content type, and form bodies with data= (plain or base64)', () => {
    expect(decodeCaptureBody(Buffer.from(' {"event":"a"} '))).toEqual({ event: 'a' });
    expect(decodeCaptureBody(`data=${encodeURIComponent('[{"event":"b"}]')}`)).toEqual([{ event: 'b' }]);
    expect(decodeCaptureBody(`data=${encodeURIComponent(Buffer.from('{"event":"c"}').toString('base64'))}`)).toEqual({ event: 'c' });
  });

  it('says what is wrong', () => {
    expect(() => decodeCaptureBody(undefined)).toThrow('the request body is empty');
    expect(() => decodeCaptureBody('{"event":')).toThrow(/the body is not valid JSON/);
    expect(() => decodeCaptureBody('hello')).toThrow(/neither JSON nor a form/);
  });
});

const event = (n: number) => ({ uuid: String(n) }) as PluginEvent;

describe('GroupCommitter', () => {
  it('writes the events of concurrent requests of a project as one batch, in arrival order', async () => {
    const writes: Array<[string, string[]]> = [];
    const committer = new GroupCommitter({
      windowMs: 20,
      maxEvents: 100,
      write: async (projectId, events) => void writes.push([projectId, events.map((e) => e.uuid)]),
    });
    await Promise.all([committer.submit('a', [event(1), event(2)]), committer.submit('b', [event(3)]), committer.submit('a', [event(4)])]);
    expect(writes).toEqual([['a', ['1', '2', '4']], ['b', ['3']]]);
  });

  it('flushes at maxEvents without waiting for the window, and fails every waiter of a failed write', async () => {
    let calls = 0;
    const committer = new GroupCommitter({
      windowMs: 60_000,
      maxEvents: 2,
      write: async () => {
        calls += 1;
        throw new Error('redis down');
      },
    });
    const results = await Promise.allSettled([committer.submit('a', [event(1)]), committer.submit('a', [event(2)])]);
    expect(calls).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('drain writes what is gathered at once', async () => {
    const written: string[] = [];
    const committer = new GroupCommitter({ windowMs: 60_000, maxEvents: 100, write: async (_p, events) => void written.push(...events.map((e) => e.uuid)) });
    const pending = committer.submit('a', [event(9)]);
    await committer.drain();
    await pending;
    expect(written).toEqual(['9']);
  });
});
