interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms. */
  at: number;
}

/** Buckets kept at most: beyond it the least recently used go (a refilled one loses nothing). */
const MAX_PEOPLE = 200_000;

/**
 * PostHog's hot-person rule, per intake process: a token bucket per person (project +
 * distinct_id) of `capacity` events, refilled at `refillPerSecond`; one token per event. Kept in
 * memory, as PostHog's ingestion consumers keep theirs, so it costs no Redis round trip; with
 * several intakes a person's allowance is per intake. The map is in least-recently-used order
 * (a person's key is moved to the end on each take), so eviction takes the idlest first.
 */
export class PersonBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly now: () => number = Date.now,
    private readonly maxPeople = MAX_PEOPLE,
  ) {}

  /** Takes `events` tokens for the person; answers how many of those events found none (the overflow). */
  take(projectId: string, distinctId: string, events: number): number {
    const key = `${projectId}\u0000${distinctId}`;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    this.buckets.delete(key);
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.refillPerSecond);
    bucket.at = now;
    const granted = Math.min(events, Math.floor(bucket.tokens));
    bucket.tokens -= granted;
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxPeople) this.buckets.delete(this.buckets.keys().next().value!);
    return events - granted;
  }

  get size(): number {
    return this.buckets.size;
  }
}
