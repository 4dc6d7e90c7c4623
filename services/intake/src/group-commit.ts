import type { PluginEvent } from '@sluice/core';

interface PendingBatch {
  events: PluginEvent[];
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
  timer: NodeJS.Timeout | undefined;
}

export interface GroupCommitOptions {
  /** How long to gather concurrent requests of a project before writing one job. */
  windowMs: number;
  /** Write at once when this many events are gathered. */
  maxEvents: number;
  write: (projectId: string, events: PluginEvent[]) => Promise<void>;
}

/**
 * Group commit: the events of concurrent requests for one project become one queue job, and
 * every request waits until that job's Redis write has returned. Fewer, larger jobs make Redis
 * and the stage workers cheaper per event; the answer still comes only after the data is durable.
 * A batch keeps its events in arrival order (per-distinct_id ordering can build on it).
 */
export class GroupCommitter {
  private readonly pending = new Map<string, PendingBatch>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: GroupCommitOptions) {}

  submit(projectId: string, events: PluginEvent[]): Promise<void> {
    return new Promise((resolve, reject) => {
      let batch = this.pending.get(projectId);
      if (!batch) {
        batch = { events: [], waiters: [], timer: undefined };
        this.pending.set(projectId, batch);
        batch.timer = setTimeout(() => this.flush(projectId), this.options.windowMs);
      }
      for (const event of events) batch.events.push(event);
      batch.waiters.push({ resolve, reject });
      if (batch.events.length >= this.options.maxEvents) this.flush(projectId);
    });
  }

  private flush(projectId: string): void {
    const batch = this.pending.get(projectId);
    if (!batch) return;
    this.pending.delete(projectId);
    clearTimeout(batch.timer);
    const write = this.options.write(projectId, batch.events).then(
      () => batch.waiters.forEach((waiter) => waiter.resolve()),
      (error: unknown) => batch.waiters.forEach((waiter) => waiter.reject(error)),
    );
    this.inFlight.add(write);
    void write.finally(() => this.inFlight.delete(write));
  }

  /** Writes everything gathered so far and waits for it: for a graceful shutdown. */
  async drain(): Promise<void> {
    for (const projectId of [...this.pending.keys()]) this.flush(projectId);
    await Promise.all(this.inFlight);
  }
}
