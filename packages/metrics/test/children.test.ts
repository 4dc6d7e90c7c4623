import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { counterChildren } from '../src/children';

describe('counterChildren', () => {
  it('keeps one child per label values, and counts land on the counter as inc(labels) would', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'test_requests_total', help: 'test', labelNames: ['route', 'status'], registers: [registry] });
    const child = counterChildren(counter);
    expect(child({ route: '/e', status: '200' })).toBe(child({ route: '/e', status: '200' }));
    expect(child({ route: '/e', status: '200' })).not.toBe(child({ route: '/e', status: '400' }));
    child({ route: '/e', status: '200' }).inc();
    child({ route: '/e', status: '200' }).inc(2);
    child({ route: '/e', status: '400' }).inc();
    counter.inc({ route: '/e', status: '200' });
    const text = await registry.metrics();
    expect(text).toContain('test_requests_total{route="/e",status="200"} 4');
    expect(text).toContain('test_requests_total{route="/e",status="400"} 1');
  });
});
