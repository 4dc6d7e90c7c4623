import { describe, expect, it } from 'vitest';
import { ingestedRequestText, type IngestedRequest, type Route } from '@sluice/core';
import { pipelineEvents, serializedPipelineJob, type PipelineJob } from '../src/jobs';

describe('serializedPipelineJob', () => {
  const head = { batchId: 'b1', projectId: 'p', route: [{ appId: 'a1', instanceId: 3 }] as unknown as Route, hop: 0 };
  const context = { ip: '1.2.3.4', anonymizeIp: false, teamId: 5, now: Date.UTC(2026, 0, 2), uuidSeed: [1, 2, 3] as IngestedRequest['uuidSeed'] };
  // Bodies as clients send them, whitespace and escapes included: they are written as they are.
  const bodies = [
    '{"api_key":"t","batch":[{"event":"é😀\\ud800","distinct_id":1,"properties":{"n":1.5}},{"event":"b","distinct_id":"u"}]}',
    ' [ {"event":"c","distinct_id":"v","properties":{"c":[1,{"d":"\\"\\\\"}]}} ]\n',
    '{"event":"\u2028","distinct_id":"w","token":"t"}',
  ];
  const expected = (texts: string[]) => ({ ...head, requests: texts.map((body) => ({ ...context, body: JSON.parse(body) })) });

  it('writes the JSON of the whole job, each body nested as its own text', () => {
    const job = serializedPipelineJob(head, bodies.map((body) => ingestedRequestText(context, body)));
    const text = job.json.toString('utf8');
    for (const body of bodies) expect(text).toContain(body);
    expect(JSON.parse(text)).toEqual(expected(bodies));
    // A body given as its UTF-8 bytes is copied as it is.
    const fromBytes = serializedPipelineJob(head, bodies.map((body) => ingestedRequestText(context, Buffer.from(body))));
    expect(fromBytes.json.toString('utf8')).toBe(text);
  });

  it('writes into a spare buffer when it is large enough, and into a new one when not', () => {
    const spare = Buffer.alloc(2 << 20, 0x41);
    const reused = serializedPipelineJob(head, bodies.map((body) => ingestedRequestText(context, body)), spare);
    expect(reused.backing).toBe(spare);
    expect(JSON.parse(reused.json.toString('utf8'))).toEqual(expected(bodies));
    const small = Buffer.alloc(16);
    const fresh = serializedPipelineJob(head, [ingestedRequestText(context, bodies[0]!)], small);
    expect(fresh.backing).not.toBe(small);
    expect(JSON.parse(fresh.json.toString('utf8'))).toEqual(expected([bodies[0]!]));
  });
});

describe('pipelineEvents', () => {
  const head = { batchId: 'b1', projectId: 'p1', route: [] as unknown as Route, hop: 0 };
  const parsedJob = (): PipelineJob =>
    JSON.parse(serializedPipelineJob(head, [
      ingestedRequestText({ ip: '10.0.0.1', anonymizeIp: false, teamId: 3, now: Date.UTC(2026, 0, 2), uuidSeed: [7, 8, 0xffffffff] },
        JSON.stringify({ api_key: 't', sent_at: '2026-01-02T00:00:10.000Z', batch: [
          { event: 'a', distinct_id: 'u1', timestamp: '2026-01-02T00:00:05.000Z' },
          { event: 'b', distinct_id: 'u2', uuid: '0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B' },
        ] })),
      ingestedRequestText({ ip: '10.0.0.2', anonymizeIp: true, teamId: 3, now: Date.UTC(2026, 0, 3), uuidSeed: [1, 1, 1] },
        JSON.stringify({ event: 'c', distinct_id: 7, token: 't', properties: { $ip: '9.9.9.9' } })),
    ]).json.toString('utf8')) as PipelineJob;

  it("normalizes the intake's requests: clock skew, ip, the project's ip option, kept and seeded uuids", () => {
    const [a, b, c] = pipelineEvents(parsedJob());
    // timestamp 5 s before sent_at → 5 s before the intake's time.
    expect(a).toMatchObject({ event: 'a', distinct_id: 'u1', timestamp: '2026-01-01T23:59:55.000Z', ip: '10.0.0.1', team_id: 3, now: '2026-01-02T00:00:00.000Z' });
    expect(a!.properties.$ip).toBe('10.0.0.1');
    expect(a!.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(b!.uuid).toBe('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b');
    expect(c).toMatchObject({ event: 'c', distinct_id: '7', ip: null, team_id: 3 });
    expect(c!.properties.$ip).toBeUndefined();
    expect('api_key' in a! && a!.api_key !== undefined).toBe(false);
  });

  it('gives an event without a uuid the same one every time the job is read (a retried job stores no duplicate)', () => {
    const first = pipelineEvents(parsedJob()).map((event) => event.uuid);
    const second = pipelineEvents(parsedJob()).map((event) => event.uuid);
    expect(second).toEqual(first);
    expect(new Set(first).size).toBe(3);
  });

  it('passes the normalized events of later hops through', () => {
    const events = pipelineEvents(parsedJob());
    expect(pipelineEvents({ ...head, hop: 1, events })).toBe(events);
  });
});
