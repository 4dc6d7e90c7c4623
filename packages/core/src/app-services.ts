/**
 * `meta.cache` as the host sees it: one instance's namespace of a Redis-like store. Values are
 * the strings the app's shim already encoded (JSON unless the app asked for raw strings); `get`
 * answers null for a missing key. Implementations: Redis (packages/queues, services) and an
 * in-memory one (the SDK's test harness, `sluice dev`).
 */
export interface AppCache {
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  get(key: string): Promise<string | null>;
  incr(key: string, by?: number): Promise<number>;
  /** Sets the key only when it has no value; true when it was set. */
  setnx(key: string, value: string): Promise<boolean>;
  /** True when the key exists (and now expires). */
  expire(key: string, ttlSeconds: number): Promise<boolean>;
  /** Pushes onto the head of the list; answers its new length. */
  lpush(key: string, elements: string[]): Promise<number>;
  lrange(key: string, start: number, end: number): Promise<string[]>;
  llen(key: string): Promise<number>;
  lrem(key: string, count: number, element: string): Promise<number>;
  lpop(key: string, count: number): Promise<string[]>;
}

/** `meta.storage` as the host sees it: one instance's persistent key → JSON text map. */
export interface AppStorage {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  del(key: string): Promise<void>;
}
