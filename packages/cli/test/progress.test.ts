import { describe, expect, it } from 'vitest';
import { formatDuration, progressLine } from '../src/progress';

describe('backfill progress lines', () => {
  it('shows the bar, the count, the rate and an ETA from the rate', () => {
    expect(progressLine({ done: 5000, total: 20_000, eventsPerSecond: 1000 }, { bar: true })).toBe(
      `[${'#'.repeat(8)}${'.'.repeat(22)}]  25%  5000/20000 events  1000 ev/s  ETA 15 s`,
    );
    expect(progressLine({ done: 0, total: 10, eventsPerSecond: 0 }, { bar: false })).toBe('  0%  0/10 events  0 ev/s  ETA ?');
    expect(progressLine({ done: 0, total: 0, eventsPerSecond: 0 }, { bar: false })).toBe('100%  0/0 events  0 ev/s  ETA 0 s');
  });

  it('reads durations at a glance', () => {
    expect([formatDuration(12.4), formatDuration(184), formatDuration(3720)]).toEqual(['12 s', '3 min 4 s', '1 h 2 min']);
  });
});
