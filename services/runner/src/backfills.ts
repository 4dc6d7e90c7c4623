import { isDestination } from '@sluice/core';
import type { Backfill } from '@sluice/store';
import { BackfillStopped, backfillEvent, deliverSlice } from './backfill-slice';
import { instanceLabels, type RunnerContext } from './context';
import { RedisLease } from './redis-lease';

/** How often a runner looks for running backfills that nobody drives (new ones, or a dead runner's). */
const POLL_MS = 1000;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Drives backfills (stored events of a range replayed into one destination instance). Any runner
 * may take a running backfill on; a lease in Redis makes it one runner at a time, and a runner that
 * dies loses it after SLUICE_BACKFILL_LEASE_MS. Each backfill goes slice by slice, one slice in
 * flight, so each person's events reach the destination in stored order; after each slice the
 * checkpoint in the store moves on, so a crash resends at most the slice that was in flight.
 */
export class BackfillRunner {
  private readonly active = new Map<number, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closing = false;

  constructor(private readonly context: RunnerContext) {}

  start(): void {
    const poll = () => {
      this.polling = this.takeOn()
        .catch((error) => this.context.logger.warn({ err: error }, 'looking for backfills failed'))
        .finally(() => {
          if (!this.closing) this.timer = setTimeout(poll, POLL_MS);
        });
    };
    poll();
  }

  /** Stops between slices (or while waiting on one: its checkpoint stays before it) and releases the leases. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    await this.polling;
    await Promise.all(this.active.values());
  }

  private async takeOn(): Promise<void> {
    const { store, connection, config } = this.context;
    for (const backfill of await store.listRunningBackfills()) {
      if (this.closing || this.active.has(backfill.id)) continue;
      const lease = new RedisLease(connection, `${config.redisPrefix}:backfill-lease:${backfill.id}`, config.backfillLeaseMs);
      if (!(await lease.acquire())) continue;
      const run = this.drive(backfill.id, lease).finally(() => this.active.delete(backfill.id));
      this.active.set(backfill.id, run);
    }
  }

  private async drive(id: number, lease: RedisLease): Promise<void> {
    const { logger, config } = this.context;
    let lost = false;
    // Renewed on a timer, not per slice: a slice may wait a long time behind live traffic.
    const renewal = setInterval(() => {
      lease.renew().then((held) => { if (!held) lost = true; }, () => { lost = true; });
    }, Math.max(200, Math.floor(config.backfillLeaseMs / 3)));
    const stopped = () => this.closing || lost;
    try {
      await this.runSlices(id, stopped);
    } catch (error) {
      if (!(error instanceof BackfillStopped)) logger.warn({ err: error, backfill: id }, 'backfill interrupted; it goes on from its checkpoint');
    } finally {
      clearInterval(renewal);
      await lease.release().catch(() => {});
    }
  }

  private async runSlices(id: number, stopped: () => boolean): Promise<void> {
    const { store, producer, config, logger, metrics } = this.context;
    while (!stopped()) {
      // Read afresh each slice: the checkpoint, and whether it was cancelled meanwhile.
      const backfill = await store.getBackfill(id);
      if (!backfill || backfill.state !== 'running') return;
      const instance = await store.getInstance(backfill.instanceId);
      const project = await store.getProject(backfill.projectId);
      if (!instance || !project || !isDestination(instance.capabilities)) {
        await store.finishBackfill(id, 'failed', 'the instance no longer exists or is no longer a destination');
        return;
      }
      // A disabled destination gets no live events; its backfill waits for it too.
      if (!instance.enabled) {
        await sleep(POLL_MS);
        continue;
      }
      const slice = await store.backfillSlice(backfill, Math.min(config.backfillSliceEvents, backfill.rate));
      const last = slice[slice.length - 1];
      if (!last) {
        await store.finishBackfill(id, 'done');
        logger.info({ backfill: id, instanceId: instance.id, events: backfill.done }, 'backfill done');
        return;
      }
      const started = Date.now();
      try {
        await deliverSlice(producer, instance, backfill, slice.map((event) => backfillEvent(event, project.teamId)), stopped);
      } catch (error) {
        if (error instanceof BackfillStopped) throw error;
        // A deliver job that used up BullMQ's attempts (the store or Redis kept failing): going on would skip its slice.
        await store.finishBackfill(id, 'failed', (error as Error).message);
        logger.warn({ err: error, backfill: id, instanceId: instance.id }, 'backfill failed');
        return;
      }
      metrics.backfillEvents.inc(instanceLabels(instance), slice.length);
      // The rate: a slice of n events takes at least n / rate seconds, the rest of it spent waiting.
      const minimumMs = (slice.length / backfill.rate) * 1000;
      const elapsedMs = Date.now() - started;
      const eventsPerSecond = slice.length / (Math.max(elapsedMs, minimumMs, 1) / 1000);
      const checkpoint = { timestamp: last.timestamp, uuid: last.uuid };
      if (!(await store.advanceBackfill(id, { checkpoint, delivered: slice.length, eventsPerSecond }))) return;
      if (elapsedMs < minimumMs) await sleep(minimumMs - elapsedMs);
    }
  }
}
