import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection as BullMQ needs it: `maxRetriesPerRequest: null` so blocking worker
 * commands wait through a Redis restart instead of failing.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, ...options });
}

/** BullMQ needs `noeviction`: with any other policy Redis may silently drop queued events. */
export async function checkEvictionPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    return policy && policy !== 'noeviction' ? policy : undefined;
  } catch {
    return undefined; // managed Redis often forbids CONFIG: nothing to check then
  }
}
