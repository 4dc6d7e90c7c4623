import type { AppCache } from './types';
import type { MetaCapability } from './types';
import { CACHE_JS, vmCall } from '../vm-sources';

/** Caps a hostile app's writes: one value, one key, one lpush. */
export const MAX_CACHE_VALUE_BYTES = 1024 * 1024;
export const MAX_CACHE_KEY_LENGTH = 1024;
export const MAX_LPUSH_ELEMENTS = 1000;

type CacheOp = (cache: AppCache, args: unknown[]) => Promise<unknown>;

function key(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError('meta.cache: the key must be a non-empty string');
  if (value.length > MAX_CACHE_KEY_LENGTH) throw new TypeError(`meta.cache: a key is at most ${MAX_CACHE_KEY_LENGTH} characters`);
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`meta.cache: ${what} must be a string`);
  if (value.length > MAX_CACHE_VALUE_BYTES) throw new RangeError(`meta.cache: ${what} is larger than ${MAX_CACHE_VALUE_BYTES} bytes`);
  return value;
}

function integer(value: unknown, what: string, fallback?: number): number {
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`meta.cache: ${what} must be an integer, got ${String(value)}`);
  return value;
}

function ttl(value: unknown): number | undefined {
  if (value === undefined || value === null || value === 0) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`meta.cache: ttlSeconds must be a number of seconds >= 0, got ${String(value)}`);
  return Math.max(1, Math.round(value));
}

/** The host side of every meta.cache method: arguments checked here, as they come from the app. */
const OPS: Record<string, CacheOp> = {
  set: (cache, [k, value, seconds]) => cache.set(key(k), text(value, 'the value'), ttl(seconds)),
  get: (cache, [k]) => cache.get(key(k)),
  incr: (cache, [k, by]) => cache.incr(key(k), integer(by, 'incr: the increment', 1)),
  setnx: (cache, [k, value]) => cache.setnx(key(k), text(value, 'the value')),
  expire: (cache, [k, seconds]) => {
    const after = ttl(seconds);
    if (after === undefined) throw new TypeError('meta.cache: expire needs ttlSeconds > 0');
    return cache.expire(key(k), after);
  },
  lpush: (cache, [k, elements]) => {
    if (!Array.isArray(elements)) throw new TypeError('meta.cache: lpush takes a string or an array of strings');
    if (elements.length > MAX_LPUSH_ELEMENTS) throw new RangeError(`meta.cache: lpush takes at most ${MAX_LPUSH_ELEMENTS} elements per call`);
    return cache.lpush(key(k), elements.map((element) => text(element, 'an lpush element')));
  },
  lrange: (cache, [k, start, end]) => cache.lrange(key(k), integer(start, 'lrange: start'), integer(end, 'lrange: end')),
  llen: (cache, [k]) => cache.llen(key(k)),
  lrem: (cache, [k, count, element]) => cache.lrem(key(k), integer(count, 'lrem: count'), text(element, 'the lrem element')),
  lpop: (cache, [k, count]) => cache.lpop(key(k), integer(count, 'lpop: count', 1)),
};

/**
 * `meta.cache`, PostHog's Redis-backed cache, namespaced per instance by the host's AppCache.
 * Every method is an async host call; calls of concurrent events go out together (the Redis
 * implementation pipelines them), so an app awaiting the cache per event does not pay one round
 * trip per event. set/get values are JSON-encoded unless `{ jsonSerialize: false }` is passed.
 */
export const cacheMeta: MetaCapability = {
  name: 'cache',
  handlers: (context) => ({
    cache: async (json) => {
      if (!context.cache) throw new Error('meta.cache is not available here');
      const [op, args] = JSON.parse(json) as [unknown, unknown];
      const run = typeof op === 'string' && Object.hasOwn(OPS, op) ? OPS[op] : undefined;
      if (!run || !Array.isArray(args)) throw new TypeError(`meta.cache has no method ${String(op)}`);
      const result = await run(context.cache, args);
      // get's value is already the text the shim decodes: no second JSON layer around it.
      if (op === 'get') return (result as string | null) ?? undefined;
      return result === undefined ? undefined : JSON.stringify(result);
    },
  }),
  shim: () => vmCall(CACHE_JS, 'meta'),
};
