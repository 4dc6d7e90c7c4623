import type { AppInstance, AppLogEntry, Logger } from '@sluice/core';
import type { Store } from './index';

type PendingLog = AppLogEntry & { instanceId: number; projectId: string };

/**
 * Gathers app console output and writes it to the store in batches: one insert per flush
 * instead of one per console.log, which apps call per event.
 */
export class LogSink {
  private pending: PendingLog[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    flushEveryMs = 500,
    /** Past this many buffered lines the oldest are dropped: an app logging in a loop must not exhaust memory. */
    private readonly maxPending = 50_000,
  ) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs);
    this.timer.unref();
  }

  add(instance: AppInstance, entry: AppLogEntry): void {
    if (this.pending.length >= this.maxPending) this.pending.shift();
    this.pending.push({ ...entry, instanceId: instance.id, projectId: instance.projectId });
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.store.appendLogs(batch);
    } catch (error) {
      this.logger.warn({ err: error, lines: batch.length }, 'could not write app logs');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
