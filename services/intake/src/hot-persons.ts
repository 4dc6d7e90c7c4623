import type { Logger } from '@sluice/core';
import type { SluiceMetrics } from '@sluice/metrics';
import type { Store } from '@sluice/store';
import { PersonBuckets } from './person-buckets';

/** PostHog's ingestion-warning type for a person whose events overflow their bucket. */
export const OVERFLOW_WARNING = 'ingestion_capacity_overflow';
const WARN_EVERY_MS = 3600_000;
/** People whose last warning time is remembered here; the store's hourly unique index is the real bound. */
const MAX_REMEMBERED = 10_000;

/**
 * Notices hot persons among accepted events: each person's events go through their token bucket
 * (PersonBuckets); events beyond it take the unordered lane (capture-parts.ts), are counted in `sluice_ingestion_overflow_events_total` and
 * the person gets an ingestion warning, at most one per hour. The warning is written in the
 * background: it never delays or fails the request whose events are already accepted.
 */
export class HotPersons {
  private readonly buckets: PersonBuckets;
  private readonly warnedAt = new Map<string, number>();

  constructor(
    capacity: number,
    refillPerSecond: number,
    private readonly store: Pick<Store, 'addIngestionWarning'>,
    private readonly metrics: SluiceMetrics,
    private readonly logger: Logger,
  ) {
    this.buckets = new PersonBuckets(capacity, refillPerSecond);
  }

  /** Takes a request's events from their persons' buckets; answers each hot person's excess, or undefined when none. */
  take(projectId: string, people: ReadonlyArray<readonly [string, number]>): Map<string, number> | undefined {
    let excess: Map<string, number> | undefined;
    let overflowing = 0;
    for (const [distinctId, events] of people) {
      const overflow = this.buckets.take(projectId, distinctId, events);
      if (overflow === 0) continue;
      overflowing += overflow;
      (excess ??= new Map()).set(distinctId, overflow);
      this.warn(projectId, distinctId);
    }
    // One increment per request: a labelled inc per person showed in the intake's /batch figures.
    if (overflowing > 0) this.metrics.overflowEvents.inc({ project: projectId }, overflowing);
    return excess;
  }

  private warn(projectId: string, distinctId: string): void {
    const key = `${projectId}\u0000${distinctId}`;
    const now = Date.now();
    if (now - (this.warnedAt.get(key) ?? -Infinity) < WARN_EVERY_MS) return;
    this.warnedAt.delete(key);
    this.warnedAt.set(key, now);
    if (this.warnedAt.size > MAX_REMEMBERED) this.warnedAt.delete(this.warnedAt.keys().next().value!);
    this.store
      .addIngestionWarning({ projectId, type: OVERFLOW_WARNING, key: distinctId, details: { overflowDistinctId: distinctId } })
      .catch((error: unknown) => this.logger.warn({ err: error, projectId }, 'could not record an ingestion warning'));
  }
}
