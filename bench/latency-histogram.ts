/**
 * The latency destination's counts (bench/apps/latency-destination), read back: one counter per
 * phase, second of arrival and latency bucket (ms since the send, two significant digits), as
 * `bench-lat:<phase>:<second>:<bucket>` in the instance's meta.cache (Redis), or in the ceiling's
 * own memory.
 */
import type { Redis } from 'ioredis';

/** Second of arrival (since the epoch) → latency bucket (ms) → events. */
export type LatencyHistogram = Map<number, Map<number, number>>;

const KEY = 'bench-lat:';

/** The histogram of one phase from counter keys (anything before `bench-lat:` is ignored: a cache prefix). */
export function histogramOf(entries: Iterable<readonly [key: string, count: number]>, phase: string): LatencyHistogram {
  const marker = `${KEY}${phase}:`;
  const histogram: LatencyHistogram = new Map();
  for (const [key, count] of entries) {
    const at = key.indexOf(marker);
    if (at < 0) continue;
    const [second, bucket] = key.slice(at + marker.length).split(':').map(Number) as [number, number];
    const buckets = histogram.get(second) ?? new Map<number, number>();
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + count);
    histogram.set(second, buckets);
  }
  return histogram;
}

/** Reads one phase's counters under a Redis prefix (SCAN, then GET in one pipeline). */
export async function redisHistogram(redis: Redis, prefix: string, phase: string): Promise<LatencyHistogram> {
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: `${prefix}:cache:*:${KEY}${phase}:*`, count: 1000 }) as AsyncIterable<string[]>) keys.push(...batch);
  const values = keys.length ? await redis.mget(...keys) : [];
  return histogramOf(keys.map((key, index) => [key, Number(values[index] ?? 0)] as const), phase);
}

/** All buckets of the seconds `from` ≤ s < `to` (all seconds by default), merged. */
export function mergedBuckets(histogram: LatencyHistogram, from = -Infinity, to = Infinity): Map<number, number> {
  const merged = new Map<number, number>();
  for (const [second, buckets] of histogram) {
    if (second < from || second >= to) continue;
    for (const [bucket, count] of buckets) merged.set(bucket, (merged.get(bucket) ?? 0) + count);
  }
  return merged;
}

export function countOf(buckets: Map<number, number>): number {
  let total = 0;
  for (const count of buckets.values()) total += count;
  return total;
}

/** The bucket (ms, rounded down to two significant digits) holding the p-th quantile (0…1); NaN when empty. */
export function quantile(buckets: Map<number, number>, p: number): number {
  const total = countOf(buckets);
  if (total === 0) return NaN;
  let seen = 0;
  for (const bucket of [...buckets.keys()].sort((a, b) => a - b)) {
    seen += buckets.get(bucket)!;
    if (seen >= p * total) return bucket;
  }
  return NaN; // not reached
}

/** Per second of arrival, from the first to the last: events and p99 (for the chart). */
export function timeline(histogram: LatencyHistogram): Array<{ second: number; events: number; p99: number }> {
  const seconds = [...histogram.keys()].sort((a, b) => a - b);
  if (!seconds.length) return [];
  const series: Array<{ second: number; events: number; p99: number }> = [];
  for (let second = seconds[0]!; second <= seconds.at(-1)!; second++) {
    const buckets = histogram.get(second) ?? new Map<number, number>();
    series.push({ second, events: countOf(buckets), p99: quantile(buckets, 0.99) });
  }
  return series;
}
