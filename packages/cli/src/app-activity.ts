import type { AppErrorSink, Logger, PluginEvent } from '@sluice/core';
import type { SluiceMetrics } from '@sluice/metrics';
import type { ActivityCount, ErrorGroupInput, MinuteCounts, Store } from '@sluice/store';

/** How often a process adds what it counted to the store. */
const FLUSH_EVERY_MS = 10_000;
/** Minutes and error groups are kept this long (the console shows 7 days). */
const KEEP_MS = 8 * 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** Distinct error groups held between two flushes: a flood of unique messages cannot grow memory. */
const MAX_PENDING_GROUPS = 1_000;

/** The Prometheus outcomes kept over time, by the column they add to. */
const OUTCOMES: Record<'stageEvents' | 'deliveryEvents', Partial<Record<string, ActivityCount>>> = {
  stageEvents: { processed: 'processed', dropped: 'dropped', errored: 'errored' },
  deliveryEvents: { delivered: 'delivered', retried: 'retried', dead_lettered: 'dead_lettered' },
};

/**
 * An error's group: the message with what varies from one event to the next (uuids, hex ids,
 * numbers, quoted strings) masked, so "cannot handle 6f1c…" and "cannot handle 93ab…" are one.
 */
export function errorFingerprint(message: string): string {
  return message
    .slice(0, 500)
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/\b[0-9a-f]{12,}\b/gi, '<hex>')
    .replace(/"[^"]*"|'[^']*'/g, '<str>')
    .replace(/\d+(\.\d+)?/g, '<n>');
}

/**
 * Keeps each instance's activity over time in the store, for the console: every few seconds the
 * process's own stage and delivery counters (the Prometheus ones, so nothing on the event path
 * changes) are diffed against the last reading and added to the current minute; errors the
 * services report are grouped by fingerprint. Every worker and runner process adds its own share.
 */
export class AppActivityRecorder implements AppErrorSink {
  /** The counters' values at the last successful write, by metric|instance|outcome. */
  private readonly written = new Map<string, number>();
  private errors = new Map<string, ErrorGroupInput>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastPrune = 0;

  constructor(
    private readonly metrics: SluiceMetrics,
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  recordError(instanceId: number, message: string, event?: PluginEvent): void {
    const fingerprint = errorFingerprint(message);
    const key = `${instanceId}|${fingerprint}`;
    const now = new Date().toISOString();
    const group = this.errors.get(key);
    if (group) {
      group.count += 1;
      group.lastSeen = now;
      group.message = message.slice(0, 2_000);
    } else if (this.errors.size < MAX_PENDING_GROUPS) {
      this.errors.set(key, { instanceId, fingerprint, message: message.slice(0, 2_000), count: 1, firstSeen: now, lastSeen: now, ...(event && { sampleEvent: event }) });
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Writes what changed since the last write; on a store failure it is kept for the next one. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
    const byInstance = new Map<number, MinuteCounts>();
    const readings: Array<[string, number]> = [];
    for (const metric of ['stageEvents', 'deliveryEvents'] as const) {
      for (const { labels, value } of (await this.metrics[metric].get()).values) {
        const column = OUTCOMES[metric][String(labels.outcome)];
        const instanceId = Number(labels.instance);
        if (!column || !Number.isInteger(instanceId)) continue;
        const key = `${metric}|${labels.instance}|${(labels as Record<string, unknown>).function ?? ''}|${labels.outcome}`;
        const delta = value - (this.written.get(key) ?? 0);
        readings.push([key, value]);
        if (delta <= 0) continue;
        const row = byInstance.get(instanceId) ?? { instanceId, minute, counts: {} };
        row.counts[column] = (row.counts[column] ?? 0) + delta;
        byInstance.set(instanceId, row);
      }
    }
    const errors = [...this.errors.values()];
    this.errors = new Map();
    try {
      await this.store.addMinuteCounts([...byInstance.values()]);
      for (const [key, value] of readings) this.written.set(key, value);
      await this.store.addErrorGroups(errors);
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        await this.store.pruneActivity(new Date(Date.now() - KEEP_MS).toISOString());
      }
    } catch (error) {
      for (const group of errors) if (!this.errors.has(`${group.instanceId}|${group.fingerprint}`)) this.errors.set(`${group.instanceId}|${group.fingerprint}`, group);
      this.logger.warn({ err: error }, 'could not write app activity (counts per minute, error groups); will try again');
    }
  }
}
