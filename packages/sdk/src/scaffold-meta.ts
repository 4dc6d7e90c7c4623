import { MemoryAppCache, MemoryAppStorage } from '@sluice/sandbox';
import type { CacheExtension, PluginMeta, StorageExtension } from './index';

/**
 * PostHog's cache API (JSON values unless `jsonSerialize: false`) over an in-memory store: for
 * tests that call an app's functions directly in Node, as PostHog's plugin-scaffold offers.
 */
export function createCache(store = new MemoryAppCache()): CacheExtension {
  const raw = (options?: { jsonSerialize?: boolean }) => options?.jsonSerialize === false;
  return {
    set: (key, value, ttlSeconds, options) => store.set(key, raw(options) ? String(value) : JSON.stringify(value), ttlSeconds),
    get: async (key, defaultValue, options) => {
      const value = await store.get(key);
      return value === null ? defaultValue : raw(options) ? value : (JSON.parse(value) as unknown);
    },
    incr: (key) => store.incr(key),
    expire: (key, ttlSeconds) => store.expire(key, ttlSeconds),
    lpush: (key, elementOrArray) => store.lpush(key, (Array.isArray(elementOrArray) ? elementOrArray : [elementOrArray]).map(String)),
    lrange: (key, start, end) => store.lrange(key, start, end),
    llen: (key) => store.llen(key),
    lrem: (key, count, element) => store.lrem(key, count, element),
    lpop: (key, count = 1) => store.lpop(key, count),
  };
}

/** PostHog's storage API (JSON values) in memory. */
export function createStorage(store = new MemoryAppStorage()): StorageExtension {
  return {
    get: async (key, defaultValue) => {
      const value = await store.get(key);
      return value === null ? defaultValue : (JSON.parse(value) as unknown);
    },
    set: (key, value) => store.set(key, JSON.stringify(value)),
    del: (key) => store.del(key),
  };
}

let meta: PluginMeta | undefined;

/** A fresh meta (config, global, attachments, in-memory cache and storage) with `overrides` applied. */
export function resetMeta(overrides: Partial<PluginMeta> = {}): PluginMeta {
  meta = { config: {}, global: {}, attachments: {}, cache: createCache(), storage: createStorage(), ...overrides };
  return meta;
}

/** The meta resetMeta made last (a fresh one if none): PostHog's scaffold helper. */
export function getMeta(): PluginMeta {
  return meta ?? resetMeta();
}
