import type { AppCache } from '@sluice/core';
import { deleteMatching, type RedisClient } from './connection';

/** Where one instance's cache keys live: `<prefix>:cache:<instanceId>:<key>`. */
export function appCacheKeyPrefix(redisPrefix: string, instanceId: number): string {
  return `${redisPrefix}:cache:${instanceId}:`;
}

/**
 * One instance's meta.cache in Redis. The connection should have ioredis's auto-pipelining on
 * (createAppCacheRedis): the cache calls of the events a VM runs concurrently are issued in the
 * same tick and go out as one pipeline, one round trip for the whole batch.
 */
export class RedisAppCache implements AppCache {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisClient,
    redisPrefix: string,
    instanceId: number,
  ) {
    this.prefix = appCacheKeyPrefix(redisPrefix, instanceId);
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    if (ttlSeconds) await this.redis.set(this.prefix + key, value, 'EX', ttlSeconds);
    else await this.redis.set(this.prefix + key, value);
  }
  get(key: string): Promise<string | null> {
    return this.redis.get(this.prefix + key);
  }
  incr(key: string, by = 1): Promise<number> {
    return this.redis.incrby(this.prefix + key, by);
  }
  async setnx(key: string, value: string): Promise<boolean> {
    return (await this.redis.setnx(this.prefix + key, value)) === 1;
  }
  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.expire(this.prefix + key, ttlSeconds)) === 1;
  }
  lpush(key: string, elements: string[]): Promise<number> {
    if (elements.length === 0) return this.llen(key); // LPUSH with no element is a Redis error
    return this.redis.lpush(this.prefix + key, ...elements);
  }
  lrange(key: string, start: number, end: number): Promise<string[]> {
    return this.redis.lrange(this.prefix + key, start, end);
  }
  llen(key: string): Promise<number> {
    return this.redis.llen(this.prefix + key);
  }
  lrem(key: string, count: number, element: string): Promise<number> {
    return this.redis.lrem(this.prefix + key, count, element);
  }
  async lpop(key: string, count: number): Promise<string[]> {
    return (await this.redis.lpop(this.prefix + key, count)) ?? [];
  }
}

/**
 * Deletes every key of an instance's cache (the instance was removed); SCAN, never KEYS, on every
 * master of a cluster. The keys carry no hash tag (an instance's cache spreads over the cluster),
 * so they are unlinked one by one there.
 */
export async function clearAppCache(redis: RedisClient, redisPrefix: string, instanceId: number): Promise<number> {
  return deleteMatching(redis, `${appCacheKeyPrefix(redisPrefix, instanceId).replace(/[*?[\]\\]/g, '\\$&')}*`);
}
