import { afterAll, describe, expect, it } from 'vitest';
import { RedisAppCache, clearAppCache, createRedis } from '@sluice/queues';
import { MemoryAppCache } from '@sluice/sandbox';
import { REDIS_URL, deleteRedisPrefix, testPrefix } from './helpers/services';

const prefix = testPrefix();
const redis = createRedis(REDIS_URL, { enableAutoPipelining: true });
afterAll(async () => {
  await deleteRedisPrefix(prefix);
  redis.disconnect();
});

type Cache = MemoryAppCache | RedisAppCache;

/** The same operations on any cache, answering everything they returned. */
async function script(cache: Cache): Promise<unknown[]> {
  const results: unknown[] = [];
  const record = async (work: Promise<unknown>) => results.push(await work.catch((error: Error) => `error: ${error.message.split(' ')[0]}`));
  await record(cache.set('s', '"v"'));
  await record(cache.get('s'));
  await record(cache.get('missing'));
  await record(cache.incr('n'));
  await record(cache.incr('n', 41));
  await record(cache.setnx('n', '0'));
  await record(cache.setnx('fresh', '5'));
  await record(cache.expire('n', 100));
  await record(cache.expire('absent', 100));
  await record(cache.lpush('l', ['a', 'b', 'c']));
  await record(cache.lpush('l', ['a']));
  await record(cache.lrange('l', 0, -1));
  await record(cache.lrange('l', 1, 2));
  await record(cache.lrange('l', -2, -1));
  await record(cache.lrange('l', 5, 10));
  await record(cache.llen('l'));
  await record(cache.lrem('l', -1, 'a'));
  await record(cache.lrange('l', 0, -1));
  await record(cache.lrem('l', 0, 'zzz'));
  await record(cache.lpop('l', 2));
  await record(cache.lpop('l', 5));
  await record(cache.lpop('l', 1));
  await record(cache.llen('l'));
  await record(cache.incr('s'));
  await record(cache.lpush('s', ['x']));
  return results;
}

describe('meta.cache implementations', () => {
  it('the in-memory cache (harness, sluice dev) answers exactly as the Redis one does', async () => {
    const viaRedis = await script(new RedisAppCache(redis, prefix, 1));
    const inMemory = await script(new MemoryAppCache());
    expect(inMemory).toEqual(viaRedis);
    expect(viaRedis.slice(0, 5)).toEqual([undefined, '"v"', null, 1, 42]);
  });

  it('namespaces keys per instance, expires with a TTL, and clears an instance\'s keys', async () => {
    const one = new RedisAppCache(redis, prefix, 7);
    const two = new RedisAppCache(redis, prefix, 8);
    await one.set('k', '1');
    await two.set('k', '2', 1);
    expect([await one.get('k'), await two.get('k')]).toEqual(['1', '2']);
    expect(await redis.ttl(`${prefix}:cache:8:k`)).toBe(1);
    await one.set('other', 'x');
    expect(await clearAppCache(redis, prefix, 7)).toBe(2);
    expect([await one.get('k'), await two.get('k')]).toEqual([null, '2']);
  });
});
