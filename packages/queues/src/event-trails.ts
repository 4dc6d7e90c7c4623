import type { DroppedEvent, TrailStep } from '@sluice/core';
import type { RedisClient } from './connection';

export type { DroppedEvent, TrailStep };

/** A traced event's steps are kept this long. */
export const TRAIL_SECONDS = 60 * 60;
/** The dropped events a project keeps, newest first, for at most a day. */
export const DROPPED_KEPT = 200;
const DROPPED_SECONDS = 24 * 60 * 60;

/**
 * Each event's trail through a project's chain, kept in Redis for an hour for the console's live
 * events, with the project's last dropped events. Only a sample of events is traced (computing a
 * diff per app per event costs); the choice is made from the uuid, so every stage worker traces the
 * same events. Dropped events are always kept. A project's keys share one hash tag (one cluster slot).
 */
export class EventTrails {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** SLUICE_TRAIL_SAMPLE: the share of events traced, 0–1. */
    private readonly sample: number,
  ) {}

  /** Whether this event's trail is kept: its uuid's last 8 hex digits under the sample's share. */
  traced(uuid: string): boolean {
    if (this.sample <= 0) return false;
    if (this.sample >= 1) return true;
    // A uuid's last group is 12 hex digits: its last 8 need no copy of the whole string.
    const tail = Number.parseInt(uuid.slice(-8), 16);
    return Number.isFinite(tail) && tail / 0x1_0000_0000 < this.sample;
  }

  private key(projectId: string, what: string): string {
    return `${this.prefix}:{trail:${projectId}}:${what}`;
  }

  /** Appends steps to their events' trails and keeps the dropped ones, in one round trip. */
  async record(projectId: string, steps: Array<{ uuid: string; step: TrailStep }>, dropped: DroppedEvent[]): Promise<void> {
    if (steps.length === 0 && dropped.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { uuid, step } of steps) {
      const key = this.key(projectId, `event:${uuid}`);
      pipeline.rpush(key, JSON.stringify(step)).expire(key, TRAIL_SECONDS);
    }
    if (dropped.length > 0) {
      const key = this.key(projectId, 'dropped');
      pipeline.lpush(key, ...dropped.map((entry) => JSON.stringify(entry))).ltrim(key, 0, DROPPED_KEPT - 1).expire(key, DROPPED_SECONDS);
    }
    await pipeline.exec();
  }

  /** An event's steps, first app first; empty when it was not traced or its trail expired. */
  async trail(projectId: string, uuid: string): Promise<TrailStep[]> {
    return (await this.redis.lrange(this.key(projectId, `event:${uuid}`), 0, -1)).map((text) => JSON.parse(text) as TrailStep);
  }

  /** The project's last dropped events, newest first. */
  async dropped(projectId: string, limit = DROPPED_KEPT): Promise<DroppedEvent[]> {
    return (await this.redis.lrange(this.key(projectId, 'dropped'), 0, limit - 1)).map((text) => JSON.parse(text) as DroppedEvent);
  }
}
