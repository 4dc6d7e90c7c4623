import type { AppCache, AppStorage } from './meta';

/**
 * meta.cache in process memory, with Redis's semantics for what apps use (TTLs, list ends,
 * negative indexes): for the SDK's test harness and `sluice dev`, where no Redis is needed.
 */
export class MemoryAppCache implements AppCache {
  private readonly values = new Map<string, { value: string | string[]; expiresAt?: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  private live(key: string): string | string[] | undefined {
    const entry = this.values.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.values.delete(key);
      return undefined;
    }
    return entry?.value;
  }

  private list(key: string): string[] {
    const value = this.live(key);
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
    return value;
  }

  private string(key: string): string | undefined {
    const value = this.live(key);
    if (Array.isArray(value)) throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
    return value;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    this.values.set(key, { value, ...(ttlSeconds ? { expiresAt: this.now() + ttlSeconds * 1000 } : {}) });
  }
  async get(key: string): Promise<string | null> {
    return this.string(key) ?? null;
  }
  async incr(key: string, by = 1): Promise<number> {
    const current = this.string(key);
    const number = current === undefined ? 0 : Number(current);
    if (!Number.isInteger(number)) throw new Error('ERR value is not an integer or out of range');
    const entry = this.values.get(key);
    this.values.set(key, { ...entry, value: String(number + by) });
    return number + by;
  }
  async setnx(key: string, value: string): Promise<boolean> {
    if (this.live(key) !== undefined) return false;
    this.values.set(key, { value });
    return true;
  }
  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    const value = this.live(key);
    if (value === undefined) return false;
    this.values.set(key, { value, expiresAt: this.now() + ttlSeconds * 1000 });
    return true;
  }
  async lpush(key: string, elements: string[]): Promise<number> {
    const list = this.list(key);
    const updated = [...elements].reverse().concat(list);
    this.values.set(key, { ...this.values.get(key), value: updated });
    return updated.length;
  }
  async lrange(key: string, start: number, end: number): Promise<string[]> {
    const list = this.list(key);
    const from = start < 0 ? Math.max(0, list.length + start) : start;
    const to = end < 0 ? list.length + end : Math.min(end, list.length - 1);
    return from > to ? [] : list.slice(from, to + 1);
  }
  async llen(key: string): Promise<number> {
    return this.list(key).length;
  }
  async lrem(key: string, count: number, element: string): Promise<number> {
    const list = this.list(key);
    const limit = count === 0 ? Infinity : Math.abs(count);
    const order = count < 0 ? [...list.keys()].reverse() : [...list.keys()];
    const removed = new Set<number>();
    for (const index of order) {
      if (removed.size >= limit) break;
      if (list[index] === element) removed.add(index);
    }
    const kept = list.filter((_, index) => !removed.has(index));
    if (kept.length) this.values.set(key, { ...this.values.get(key), value: kept });
    else this.values.delete(key);
    return removed.size;
  }
  async lpop(key: string, count: number): Promise<string[]> {
    const list = this.list(key);
    const popped = list.slice(0, count);
    const kept = list.slice(count);
    if (kept.length) this.values.set(key, { ...this.values.get(key), value: kept });
    else this.values.delete(key);
    return popped;
  }
}

/** meta.storage in process memory (harness, `sluice dev`). */
export class MemoryAppStorage implements AppStorage {
  readonly values = new Map<string, string>();

  async get(key: string): Promise<string | null> {
    return this.values.get(key) ?? null;
  }
  async set(key: string, value: string): Promise<void> {
    this.values.set(key, value);
  }
  async del(key: string): Promise<void> {
    this.values.delete(key);
  }
}
