import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SluiceMetrics } from '../src/index';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('metric names', () => {
  it('lists every metric a process serves in the README', async () => {
    const names = (await new SluiceMetrics().registry.getMetricsAsJSON()).map((metric) => metric.name);
    expect(names.length).toBeGreaterThan(40);
    expect(names.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });

  it('follows Prometheus conventions: one sluice_ prefix, counters end in _total', async () => {
    const metrics = await new SluiceMetrics().registry.getMetricsAsJSON();
    expect(metrics.filter((metric) => !metric.name.startsWith('sluice_') || metric.name.startsWith('sluice_process_process_')).map((m) => m.name)).toEqual([]);
    expect(metrics.filter((metric) => String(metric.type) === 'counter' && !metric.name.endsWith('_total')).map((m) => m.name)).toEqual([]);
  });
});
