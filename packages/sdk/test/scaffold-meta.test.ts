import { describe, expect, it } from 'vitest';
import { createCache, createEvent, createStorage, getMeta, loadApp, resetMeta, runProcessEvent } from '../src';

describe('PostHog scaffold helpers', () => {
  it('createCache and createStorage answer as meta.cache / meta.storage do in the pipeline', async () => {
    const cache = createCache();
    await cache.set('obj', { a: 1 });
    await cache.set('raw', 'text', undefined, { jsonSerialize: false });
    expect(await cache.get('obj', null)).toEqual({ a: 1 });
    expect(await cache.get('raw', null, { jsonSerialize: false })).toBe('text');
    expect(await cache.get('missing', 'default')).toBe('default');
    expect(await cache.lpush('l', ['a', 'b'])).toBe(2);
    expect(await cache.lrange('l', 0, -1)).toEqual(['b', 'a']);
    const storage = createStorage();
    await storage.set('k', [1, 'two']);
    expect(await storage.get('k', null)).toEqual([1, 'two']);
    await storage.del('k');
    expect(await storage.get('k', 'gone')).toBe('gone');
  });

  it('getMeta gives the meta resetMeta made last, with overrides', async () => {
    const meta = resetMeta({ config: { greeting: 'hi' } });
    expect(getMeta()).toBe(meta);
    await getMeta().cache.set('seen', true);
    expect(await meta.cache.get('seen', false)).toBe(true);
    expect(resetMeta().config).toEqual({});
  });

  it('gives a loaded app in-memory meta.cache and meta.storage that the test can inspect', async () => {
    const app = await loadApp({
      'plugin.json': JSON.stringify({ name: 'counter' }),
      'index.js': `export async function processEvent(event, { cache, storage }) {
        event.properties.n = await cache.incr('n');
        await storage.set('last', event.event);
        await posthog.capture('counted', { n: event.properties.n });
        return event;
      }`,
    });
    expect((await runProcessEvent(app, createEvent({ event: 'one' })))?.properties.n).toBe(1);
    expect((await runProcessEvent(app, createEvent({ event: 'two' })))?.properties.n).toBe(2);
    expect(await app.cache.get('n')).toBe('2');
    expect(app.storage.values.get('last')).toBe('"two"');
    expect(app.captured.map((event) => event.properties.n)).toEqual([1, 2]);
    await app.dispose();
  });
});
