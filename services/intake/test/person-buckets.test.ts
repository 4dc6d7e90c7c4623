import { describe, expect, it } from 'vitest';
import { PersonBuckets } from '../src/person-buckets';

describe('PersonBuckets', () => {
  it("overflows a person's events beyond the capacity and refills at the rate", () => {
    let now = 0;
    const buckets = new PersonBuckets(10, 2, () => now);
    expect(buckets.take('p1', 'hot', 8)).toBe(0);
    expect(buckets.take('p1', 'hot', 5)).toBe(3);
    expect(buckets.take('p1', 'hot', 1)).toBe(1);
    now += 1500; // 3 tokens back
    expect(buckets.take('p1', 'hot', 5)).toBe(2);
    now += 60_000; // full again, never above capacity
    expect(buckets.take('p1', 'hot', 12)).toBe(2);
  });

  it('keeps people and projects apart', () => {
    const buckets = new PersonBuckets(3, 1, () => 0);
    expect(buckets.take('p1', 'ada', 3)).toBe(0);
    expect(buckets.take('p1', 'bob', 3)).toBe(0);
    expect(buckets.take('p2', 'ada', 3)).toBe(0);
    expect(buckets.take('p1', 'ada', 1)).toBe(1);
  });

  it('past its size bound forgets refilled buckets first, then the oldest', () => {
    let now = 0;
    const buckets = new PersonBuckets(2, 1, () => now, 2);
    buckets.take('p', 'a', 2);
    now += 5000; // a has refilled
    buckets.take('p', 'b', 2);
    buckets.take('p', 'c', 2); // the sweep drops a (refilled), keeps b
    expect(buckets.size).toBe(2);
    expect(buckets.take('p', 'b', 1)).toBe(1); // still empty: kept
    buckets.take('p', 'd', 1); // nothing refilled: the oldest (b) goes
    expect(buckets.size).toBe(2);
    expect(buckets.take('p', 'c', 1)).toBe(1); // kept
    expect(buckets.take('p', 'b', 1)).toBe(0); // forgotten: full again
  });
});
