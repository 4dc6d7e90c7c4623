interface PendingBatch<Part> {
  parts: Part[];
  /** Events in `parts`. */
  events: number;
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
  /** Set once the batch's gathering time is over: it goes out as soon as a write slot is free. */
  due: boolean;
  timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
}

export interface GroupCommitOptions<Part> {
  /** How long a batch gathers concurrent requests before it may be written (0: the current turn of the event loop). */
  windowMs: number;
  /** Write at once when this many events are gathered. */
  maxEvents: number;
  /** Writes of one project in flight at once; while all are busy, new requests gather into the next batch. */
  maxInFlight?: number;
  /** Writes one batch: the parts of its requests, in arrival order. */
  write: (projectId: string, parts: Part[], events: number) => Promise<void>;
}

/**
 * Group commit: the events of concurrent requests for one project become one queue job, and
 * every request waits until that job's Redis write has returned. The batch size adapts to load:
 * when a write slot is free a batch goes out after `windowMs` (by default, at the end of the
 * current turn of the event loop), so a lone request waits for one Redis round trip only; under
 * load, requests gather while the project's writes are in flight, so jobs grow instead of
 * multiplying. A batch keeps its events in arrival order (per-distinct_id ordering can build on it).
 * What a request submits (`Part`) is opaque here: the intake hands over its events already
 * serialized, with their count.
 */
export class GroupCommitter<Part> {
  private readonly pending = new Map<string, PendingBatch<Part>>();
  private readonly writing = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxInFlight: number;

  constructor(private readonly options: GroupCommitOptions<Part>) {
    this.maxInFlight = options.maxInFlight ?? 4;
  }

  /** Resolves once the batch holding `part` (`events` events) is written. */
  submit(projectId: string, part: Part, events: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let batch = this.pending.get(projectId);
      if (!batch) {
        const created: PendingBatch<Part> = { parts: [], events: 0, waiters: [], due: false, timer: undefined };
        const markDue = () => {
          created.due = true;
          this.flushIfFree(projectId);
        };
        created.timer = this.options.windowMs > 0 ? setTimeout(markDue, this.options.windowMs) : setImmediate(markDue);
        this.pending.set(projectId, created);
        batch = created;
      }
      batch.parts.push(part);
      batch.events += events;
      batch.waiters.push({ resolve, reject });
      // A full batch goes out whatever is in flight: batches stay bounded.
      if (batch.events >= this.options.maxEvents) this.flush(projectId);
    });
  }

  private flushIfFree(projectId: string): void {
    const batch = this.pending.get(projectId);
    if (batch?.due && (this.writing.get(projectId) ?? 0) < this.maxInFlight) this.flush(projectId);
  }

  private flush(projectId: string): void {
    const batch = this.pending.get(projectId);
    if (!batch) return;
    this.pending.delete(projectId);
    clearTimeout(batch.timer as NodeJS.Timeout);
    clearImmediate(batch.timer as NodeJS.Immediate);
    this.writing.set(projectId, (this.writing.get(projectId) ?? 0) + 1);
    const write = this.options.write(projectId, batch.parts, batch.events).then(
      () => batch.waiters.forEach((waiter) => waiter.resolve()),
      (error: unknown) => batch.waiters.forEach((waiter) => waiter.reject(error)),
    );
    this.inFlight.add(write);
    void write.finally(() => {
      this.inFlight.delete(write);
      const left = (this.writing.get(projectId) ?? 1) - 1;
      if (left > 0) this.writing.set(projectId, left);
      else this.writing.delete(projectId);
      // What gathered while this write was busy can go now.
      this.flushIfFree(projectId);
    });
  }

  /** Writes everything gathered so far and waits for it: for a graceful shutdown. */
  async drain(): Promise<void> {
    while (this.pending.size > 0 || this.inFlight.size > 0) {
      for (const projectId of [...this.pending.keys()]) this.flush(projectId);
      await Promise.all(this.inFlight);
    }
  }
}
