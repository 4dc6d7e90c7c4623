import { afterAll, describe, expect, it } from 'vitest';
import { QueueProducer, createRedis } from '@sluice/queues';
import { REDIS_URL, deleteRedisPrefix, testPrefix } from '../../../test/helpers/services';
import { Backpressure } from '../src/backpressure';
import { TokenCache } from '../src/token-cache';

// The intake answers a request from what it has at hand (peek, isOverNow) and waits only on a miss:
// these check that the answers at hand are the same as the awaited ones, and when they are missing.

const prefix = testPrefix();
// Queue names carry a hash tag, as Sluice's do (names.ts), so the test also runs on a Redis Cluster.
const redis = createRedis(REDIS_URL);
afterAll(async () => {
  await deleteRedisPrefix(prefix);
  redis.disconnect();
});

describe('Backpressure.isOverNow', () => {
  it('has no answer before the first count, then answers from the last count and refreshes it in the background', async () => {
    const producer = new QueueProducer(redis, prefix);
    const backpressure = new Backpressure(producer, 2, 50);
    expect(backpressure.isOverNow('{q}')).toBeUndefined();
    expect(await backpressure.isOver('{q}')).toBe(false);
    expect(backpressure.isOverNow('{q}')).toBe(false);
    for (let i = 0; i < 3; i++) await producer.add('{q}', { i }, `job-${i}`);
    // Still the last count until it is older than refreshMs.
    expect(backpressure.isOverNow('{q}')).toBe(false);
    await new Promise((done) => setTimeout(done, 60));
    expect(backpressure.isOverNow('{q}')).toBe(false); // starts a refresh, answers from the old count
    await new Promise((done) => setTimeout(done, 50));
    expect(backpressure.isOverNow('{q}')).toBe(true);
    expect(await backpressure.isOver('{q}')).toBe(true);
    await producer.queue('{q}').obliterate({ force: true });
  });

  it('is never over when turned off', () => {
    const backpressure = new Backpressure(new QueueProducer(redis, prefix), 0);
    expect(backpressure.isOverNow('{q}')).toBe(false);
  });
});

describe('TokenCache.peek', () => {
  it('has no answer until a lookup, then the project or null (an unknown token), until the entry expires', async () => {
    const lookups: string[] = [];
    const project = { id: 'p1' } as never;
    const tokens = new TokenCache(async (token) => {
      lookups.push(token);
      return token === 'good' ? project : null;
    }, 30);
    expect(tokens.peek('good')).toBeUndefined();
    expect(await tokens.get('good')).toBe(project);
    expect(await tokens.get('bad')).toBeNull();
    expect(tokens.peek('good')).toBe(project);
    expect(tokens.peek('bad')).toBeNull();
    expect(lookups).toEqual(['good', 'bad']);
    await new Promise((done) => setTimeout(done, 40));
    expect(tokens.peek('good')).toBeUndefined();
  });
});
