import { describe, expect, it } from 'vitest';
import type { Route } from '@sluice/core';
import { serializedPipelineJob } from '../src/jobs';

describe('serializedPipelineJob', () => {
  const head = { batchId: 'b1', projectId: 'p', route: [{ appId: 'a1', instanceId: 3 }] as unknown as Route, hop: 0 };
  const lists = [[{ a: 'é😀\ud800', n: 1.5 }, { b: null }], [{ c: [1, { d: '"\\' }] }], [{ e: '\u2028' }]];

  it('writes exactly the bytes JSON.stringify gives for the whole job', () => {
    const job = serializedPipelineJob(head, lists.map((list) => JSON.stringify(list)));
    expect(job.json.toString('utf8')).toBe(JSON.stringify({ ...head, events: lists.flat() }));
  });

  it('writes into a spare buffer when it is large enough, and into a new one when not', () => {
    const spare = Buffer.alloc(2 << 20, 0x41);
    const reused = serializedPipelineJob(head, lists.map((list) => JSON.stringify(list)), spare);
    expect(reused.backing).toBe(spare);
    expect(reused.json.toString('utf8')).toBe(JSON.stringify({ ...head, events: lists.flat() }));
    const small = Buffer.alloc(16);
    const fresh = serializedPipelineJob(head, [JSON.stringify(lists[0])], small);
    expect(fresh.backing).not.toBe(small);
    expect(JSON.parse(fresh.json.toString('utf8'))).toEqual({ ...head, events: lists[0] });
  });
});
