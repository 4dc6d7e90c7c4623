import type { AppStorage, MetaCapability } from './types';
import { STORAGE_JS, vmCall } from '../vm-sources';

export const MAX_STORAGE_VALUE_BYTES = 1024 * 1024;
export const MAX_STORAGE_KEY_LENGTH = 1024;

function key(value: string): string {
  if (value.length === 0) throw new TypeError('meta.storage: the key must be a non-empty string');
  if (value.length > MAX_STORAGE_KEY_LENGTH) throw new TypeError(`meta.storage: a key is at most ${MAX_STORAGE_KEY_LENGTH} characters`);
  return value;
}

const OPS: Record<string, (storage: AppStorage, k: string, value: string) => Promise<string | null | void>> = {
  get: (storage, k) => storage.get(key(k)),
  set: (storage, k, value) => {
    if (value.length > MAX_STORAGE_VALUE_BYTES) throw new RangeError(`meta.storage: a value is at most ${MAX_STORAGE_VALUE_BYTES} bytes of JSON`);
    return storage.set(key(k), value);
  },
  del: (storage, k) => storage.del(key(k)),
};

/**
 * `meta.storage`, PostHog's persistent per-instance key/value store (Postgres here): get(key,
 * default), set(key, value), del(key). Values are stored as JSON, as PostHog does.
 */
export const storageMeta: MetaCapability = {
  name: 'storage',
  handlers: (context) => ({
    storage: async (json) => {
      if (!context.storage) throw new Error('meta.storage is not available here');
      const [op, k, value] = JSON.parse(json) as [unknown, unknown, unknown];
      const run = typeof op === 'string' && Object.hasOwn(OPS, op) ? OPS[op] : undefined;
      if (!run) throw new TypeError(`meta.storage has no method ${String(op)}`);
      if (typeof k !== 'string') throw new TypeError('meta.storage: the key must be a string');
      const result = await run(context.storage, k, typeof value === 'string' ? value : '');
      // Absent and present-but-null differ: the shim gets "" for absent, the JSON text otherwise.
      return op === 'get' ? (result ?? '') : undefined;
    },
  }),
  shim: () => vmCall(STORAGE_JS, 'meta'),
};
