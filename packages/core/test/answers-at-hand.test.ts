import { describe, expect, it } from 'vitest';
import { PipelineCache, ingestedRequestText, type AppInstance } from '../src/index';

const instance = (id: number, appId: number, capabilities: string[], enabled = true) => ({ id, appId, capabilities, enabled }) as unknown as AppInstance;

describe('PipelineCache.peekRoute', () => {
  it('has the route only once it is loaded, the same one route() gives, and forgets it on invalidate', async () => {
    let loads = 0;
    const cache = new PipelineCache(async () => {
      loads += 1;
      return [instance(1, 10, ['processEvent']), instance(2, 20, ['onEvent']), instance(3, 30, ['processEvent'], false), instance(4, 40, ['processEventBatch'])];
    });
    expect(cache.peekRoute('p')).toBeUndefined();
    const route = await cache.route('p');
    expect(route).toEqual([{ instanceId: 1, appId: 10 }, { instanceId: 4, appId: 40 }]);
    expect(cache.peekRoute('p')).toBe(route);
    expect(await cache.route('p')).toBe(route);
    cache.invalidate('p');
    expect(cache.peekRoute('p')).toBeUndefined();
    expect(await cache.route('p')).toEqual(route);
    expect(loads).toBe(2);
  });
});

describe('ingestedRequestText', () => {
  it('writes the head exactly as JSON.stringify would', () => {
    for (const ip of [null, '1.2.3.4', '::ffff:10.0.0.1', 'a"b\\c']) {
      for (const anonymizeIp of [false, true]) {
        const request = { ip, anonymizeIp, teamId: 12, now: 1767225600123, uuidSeed: [4095, 1073741823, 4294967295] as [number, number, number] };
        const { head, body } = ingestedRequestText(request, '{"event":"e"}');
        expect(`${head}${body as string}}`).toBe(JSON.stringify({ ...request, body: { event: 'e' } }));
      }
    }
  });
});
