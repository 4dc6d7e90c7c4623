import type { AppConfig, AppInstance, PluginEvent } from '@sluice/core';

/** PostHog's defaults for exportEvents buffering, read from the instance's config like PostHog does. */
export const DEFAULT_EXPORT_BUFFER_BYTES = 1024 * 1024;
export const DEFAULT_EXPORT_BUFFER_SECONDS = 10;
const MAX_EXPORT_BUFFER_BYTES = 100 * 1024 * 1024;
const MAX_EXPORT_BUFFER_SECONDS = 600;

export interface ExportSettings {
  bufferBytes: number;
  bufferMs: number;
  /** Event names never exported (`exportEventsToIgnore`, comma-separated). */
  ignore: Set<string>;
}

function readBounded(raw: string | undefined, fallback: number, max: number): number {
  const value = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? Math.min(value, max) : fallback;
}

export function exportSettings(config: AppConfig): ExportSettings {
  return {
    bufferBytes: readBounded(config.exportEventsBufferBytes, DEFAULT_EXPORT_BUFFER_BYTES, MAX_EXPORT_BUFFER_BYTES),
    bufferMs: readBounded(config.exportEventsBufferSeconds, DEFAULT_EXPORT_BUFFER_SECONDS, MAX_EXPORT_BUFFER_SECONDS) * 1000,
    ignore: new Set((config.exportEventsToIgnore ?? '').split(',').map((name) => name.trim()).filter(Boolean)),
  };
}

interface PendingExport {
  instance: AppInstance;
  events: PluginEvent[];
  bytes: number;
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Gathers an instance's stored events into exportEvents batches of up to `bufferBytes` or
 * `bufferMs` of age. Durability comes from the deliver jobs themselves: a job's promise settles
 * only once the batch holding its events has been handed on (exported, queued for retry or
 * dead-lettered), so the job stays active — and is redone by another runner if this one dies —
 * while its events sit in memory here.
 */
export class ExportBuffers {
  private readonly pending = new Map<number, PendingExport>();
  private closing = false;

  constructor(private readonly flushBatch: (instance: AppInstance, events: PluginEvent[]) => Promise<void>) {}

  add(instance: AppInstance, events: PluginEvent[], settings: ExportSettings): Promise<void> {
    let buffer = this.pending.get(instance.id);
    if (!buffer) {
      buffer = { instance, events: [], bytes: 0, waiters: [], timer: undefined };
      this.pending.set(instance.id, buffer);
    }
    buffer.instance = instance;
    for (const event of events) buffer.events.push(event);
    // Sized once per job, not per event: the buffer only needs to know when it is full.
    buffer.bytes += Buffer.byteLength(JSON.stringify(events));
    const done = new Promise<void>((resolve, reject) => buffer.waiters.push({ resolve, reject }));
    if (this.closing || buffer.bytes >= settings.bufferBytes || settings.bufferMs === 0) {
      void this.flush(instance.id);
    } else {
      buffer.timer ??= setTimeout(() => void this.flush(instance.id), settings.bufferMs);
    }
    return done;
  }

  /** Sends what an instance has buffered now. */
  async flush(instanceId: number): Promise<void> {
    const buffer = this.pending.get(instanceId);
    if (!buffer) return;
    this.pending.delete(instanceId);
    clearTimeout(buffer.timer);
    try {
      await this.flushBatch(buffer.instance, buffer.events);
      for (const waiter of buffer.waiters) waiter.resolve();
    } catch (error) {
      // The jobs fail and BullMQ runs them again: their events come back into a later batch.
      for (const waiter of buffer.waiters) waiter.reject(error);
    }
  }

  /** Flushes a project's buffers (before its instances are reconfigured or torn down). */
  async flushProject(projectId: string): Promise<void> {
    const ids = [...this.pending.values()].filter((buffer) => buffer.instance.projectId === projectId).map((buffer) => buffer.instance.id);
    await Promise.all(ids.map((id) => this.flush(id)));
  }

  /** Flushes everything and, from now on, every add at once (shutdown). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.pending.keys()].map((id) => this.flush(id)));
  }
}
