import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedEvents } from './helpers/api';
import { PROJECT_TOKEN, startSluice, waitFor, type RunningSluice } from './helpers/services';

const BODIES = 10_000;
const CONCURRENCY = 16;

/** A small seeded PRNG (mulberry32): the same bodies every run, so a failure can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  kind: string;
  path: string;
  body: Buffer | string;
  headers?: Record<string, string>;
  query?: string;
  /** uuids of the events a valid body holds: all must be stored after a 200. */
  valid?: string[];
}

function makeCases(random: () => number): Case[] {
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const event = () => ({ event: pick(['$pageview', 'signup', 'clicked']), distinct_id: `fuzz-${Math.floor(random() * 50)}`, uuid: randomUUID(), properties: { n: random(), tag: 'x'.repeat(Math.floor(random() * 300)) } });
  const validBatch = () => {
    const batch = Array.from({ length: 1 + Math.floor(random() * 4) }, event);
    return { body: { api_key: PROJECT_TOKEN, batch }, uuids: batch.map((e) => e.uuid) };
  };
  const paths = ['/batch', '/capture', '/e/', '/i/v0/e/', '/track', '/engage'];
  const cases: Case[] = [];
  const generators: Array<() => Case> = [
    () => { const { body, uuids } = validBatch(); return { kind: 'valid', path: pick(['/batch', '/e/', '/i/v0/e/']), body: JSON.stringify(body), valid: uuids }; },
    () => { const { body, uuids } = validBatch(); return { kind: 'valid-gzip', path: '/batch', body: gzipSync(JSON.stringify(body)), headers: { 'content-encoding': 'gzip' }, valid: uuids }; },
    () => { const text = JSON.stringify(validBatch().body); return { kind: 'truncated', path: pick(paths), body: text.slice(0, Math.floor(random() * text.length)) }; },
    () => {
      const text = Buffer.from(JSON.stringify(validBatch().body));
      for (let i = 0; i < 1 + random() * 5; i++) text[Math.floor(random() * text.length)] = Math.floor(random() * 256);
      return { kind: 'mutated-bytes', path: pick(paths), body: text };
    },
    () => ({ kind: 'wrong-types', path: pick(paths), body: JSON.stringify(pick<unknown>([
      null, 42, 'text', [1, 2], { api_key: PROJECT_TOKEN, batch: 'no' }, { api_key: PROJECT_TOKEN, batch: [] }, { api_key: 7, event: 'x' },
      { api_key: PROJECT_TOKEN, event: 12, distinct_id: 'd' }, { api_key: PROJECT_TOKEN, event: 'x', distinct_id: {} }, { api_key: PROJECT_TOKEN, event: 'x', distinct_id: 'd', properties: 'p' },
      { api_key: PROJECT_TOKEN, batch: [null, 3] }, { api_key: 'phc_wrong', event: 'x', distinct_id: 'd' }, { event: 'no token', distinct_id: 'd' },
      { api_key: PROJECT_TOKEN, event: 'x', distinct_id: 'd', timestamp: 'not a date', sent_at: {}, offset: 'x' },
    ])) }),
    () => { const depth = 100 + Math.floor(random() * 5000); return { kind: 'deep', path: '/capture', body: `{"api_key":"${PROJECT_TOKEN}","event":"d","distinct_id":"d","properties":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}` }; },
    () => ({ kind: 'deep-array', path: '/batch', body: '['.repeat(50_000 + Math.floor(random() * 100_000)) }),
    () => {
      const prefix = Buffer.from(`{"api_key":"${PROJECT_TOKEN}","event":"utf8","distinct_id":"u","uuid":"${randomUUID()}","properties":{"s":"`);
      return { kind: 'invalid-utf8', path: '/capture', body: Buffer.concat([prefix, Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), Buffer.from('"}}')]) };
    },
    () => ({ kind: 'garbage-gzip', path: '/batch', body: Buffer.from(Array.from({ length: 50 }, () => Math.floor(random() * 256))), headers: { 'content-encoding': 'gzip' } }),
    () => ({ kind: 'garbage-lz64', path: '/e/', body: `data=${encodeURIComponent(Buffer.from(Array.from({ length: 40 }, () => Math.floor(random() * 256))).toString('base64'))}&compression=lz64` }),
    () => ({ kind: 'garbage-base64', path: '/e/', body: `data=${'*&^%$'.repeat(5)}`, query: 'compression=base64' }),
    () => ({ kind: 'gzip-truncated', path: '/batch', body: gzipSync(JSON.stringify(validBatch().body)).subarray(0, 20), headers: { 'content-encoding': 'gzip' } }),
    () => ({ kind: 'random-bytes', path: pick(paths), body: Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256))) }),
    () => ({ kind: 'unknown-encoding', path: '/batch', body: '{}', headers: { 'content-encoding': pick(['br', 'zstd', 'compress']) } }),
  ];
  for (let i = 0; i < BODIES; i++) cases.push(pick(generators)());
  // A few huge ones: a large but allowed string, and bodies past the 20 MiB limit.
  const big = validBatch();
  (big.body.batch[0]!.properties as Record<string, unknown>).huge = 'h'.repeat(3 * 1024 * 1024);
  cases.push({ kind: 'huge-valid', path: '/batch', body: JSON.stringify(big.body), valid: big.uuids });
  cases.push({ kind: 'over-limit', path: '/batch', body: Buffer.alloc(21 * 1024 * 1024, 32) });
  return cases;
}

describe('intake fuzz: 10,000 random and mutated bodies (sluice start)', () => {
  let sluice: RunningSluice;
  beforeAll(async () => {
    sluice = await startSluice();
  });
  afterAll(async () => sluice?.stop());

  it('answers every body with a 2xx or 4xx JSON, never crashes, and stores every valid event it acknowledged', async () => {
    const cases = makeCases(prng(20261125));
    const unexpected: string[] = [];
    const acknowledged: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const item = cases[next++]!;
        let response: Response;
        try {
          response = await fetch(`${sluice.url}${item.path}${item.query ? `?${item.query}` : ''}`, { method: 'POST', body: item.body, headers: item.headers });
        } catch (error) {
          // Past the body limit the server answers 413 at once and closes the connection; a client
          // still uploading may see the close (EPIPE) before the answer. That is a refusal too.
          if (item.kind !== 'over-limit') unexpected.push(`${item.kind} ${item.path} → ${(error as Error).cause ?? error}`);
          continue;
        }
        const text = await response.text();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const ok = response.status >= 200 && response.status < 300;
        const client = response.status >= 400 && response.status < 500;
        if ((!ok && !client) || typeof json !== 'object' || json === null || (client && !(json as { error?: string }).error)) {
          unexpected.push(`${item.kind} ${item.path} → ${response.status} ${text.slice(0, 200)}`);
        }
        if (item.valid) {
          if (response.status === 200) acknowledged.push(...item.valid);
          else unexpected.push(`valid ${item.kind} refused: ${response.status} ${text.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // One line per kind of failure, with a count, so a failure report stays readable.
    const kinds = new Map<string, number>();
    for (const line of unexpected) kinds.set(line.slice(0, 160), (kinds.get(line.slice(0, 160)) ?? 0) + 1);
    expect([...kinds].map(([line, count]) => `${count}× ${line}`)).toEqual([]);
    expect(sluice.proc.child.exitCode).toBeNull();
    expect((await fetch(`${sluice.url}/healthz`)).status).toBe(200);
    expect(acknowledged.length).toBeGreaterThan(1000);
    const stored = await waitFor('every acknowledged valid event stored', async () => {
      const rows = await storedEvents(sluice.url, 10_000);
      const uuids = new Set(rows.map((row) => row.uuid));
      return acknowledged.every((uuid) => uuids.has(uuid)) && uuids;
    }, 60_000, 1000);
    expect(acknowledged.filter((uuid) => !stored.has(uuid))).toEqual([]);
  });
});
