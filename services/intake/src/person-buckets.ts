interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms. */
  at: number;
}

/** Buckets kept at most: beyond it the full (refilled) ones go, then the oldest. */
const MAX_PEOPLE = 200_000;

/**
 * PostHog's hot-person rule, per intake process: a token bucket per person (project +
 * distinct_id) of `capacity` events, refilled at `refillPerSecond`; one token per event. Kept in
 * memory, as PostHog's ingestion consumers keep theirs, so it costs no Redis round trip; with
 * several intakes a person's allowance is per intake. Buckets are updated in place (no per-event
 * allocation: this runs for every accepted event); past `maxPeople`, a sweep drops every bucket
 * that has refilled (forgetting it loses nothing) and, if that is not enough, the oldest.
 */
export class PersonBuckets {
  private readonly projects = new Map<string, Map<string, Bucket>>();
  private people = 0;

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly now: () => number = Date.now,
    private readonly maxPeople = MAX_PEOPLE,
  ) {}

  /** Takes `events` tokens for the person; answers how many of those events found none (the overflow). */
  take(projectId: string, distinctId: string, events: number): number {
    let buckets = this.projects.get(projectId);
    if (!buckets) this.projects.set(projectId, (buckets = new Map()));
    const now = this.now();
    let bucket = buckets.get(distinctId);
    if (!bucket) {
      if (this.people >= this.maxPeople) this.sweep(now);
      buckets.set(distinctId, (bucket = { tokens: this.capacity, at: now }));
      this.people += 1;
    }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.refillPerSecond);
    bucket.at = now;
    const granted = Math.min(events, Math.floor(bucket.tokens));
    bucket.tokens -= granted;
    return events - granted;
  }

  get size(): number {
    return this.people;
  }

  private sweep(now: number): void {
    for (const buckets of this.projects.values()) {
      for (const [person, bucket] of buckets) {
        if (bucket.tokens + ((now - bucket.at) / 1000) * this.refillPerSecond >= this.capacity) {
          buckets.delete(person);
          this.people -= 1;
        }
      }
    }
    // Too few had refilled: the oldest go, down to 90% of the bound, so that under many active
    // people a sweep runs once per tenth of the bound rather than for every new person.
    const keep = Math.floor(this.maxPeople * 0.9);
    for (const buckets of this.projects.values()) {
      for (const person of buckets.keys()) {
        if (this.people <= keep) return;
        buckets.delete(person);
        this.people -= 1;
      }
    }
  }
}
