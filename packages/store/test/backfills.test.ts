import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppInstance } from '@sluice/core';
import { createTestStore, type Store } from '../src/index';
import { app, event } from './fixtures';

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();

describe.each(['postgres', 'pglite'] as const)('backfills on %s', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let instance: AppInstance;

  beforeEach(async () => {
    ({ store, cleanup } = await createTestStore(kind));
    await store.createProject({ id: 'p1', name: 'Project 1', token: 'phc_one' });
    await store.createProject({ id: 'p2', name: 'Project 2', token: 'phc_two' });
    instance = await store.createInstance({ projectId: 'p1', appId: (await store.saveApp(app('a', ['exportEvents']))).id, config: {} });
    // Seconds 0 … 9, two events at second 5; a click at 3; another project's events in the range.
    await store.insertEvents('p1', [...Array.from({ length: 10 }, (_, s) => event({ timestamp: at(s) })), event({ timestamp: at(5) }), event({ timestamp: at(3), event: 'click' })]);
    await store.insertEvents('p2', [event({ timestamp: at(4) })]);
  });
  afterEach(async () => cleanup());

  const input = (overrides = {}) => ({ projectId: 'p1', instanceId: instance.id, from: at(2), to: at(8), events: null, rate: 100, ...overrides });

  it('counts its range, allows one running per instance, and walks the range in slices from its checkpoint', async () => {
    const backfill = (await store.createBackfill(input()))!;
    expect(backfill).toMatchObject({ state: 'running', done: 0, total: 8, checkpoint: null, from: at(2), to: at(8) });
    expect(await store.createBackfill(input())).toBeNull();

    const seen: string[] = [];
    let current = backfill;
    for (;;) {
      const slice = await store.backfillSlice(current, 3);
      if (slice.length === 0) break;
      seen.push(...slice.map((e) => e.timestamp));
      const last = slice[slice.length - 1]!;
      expect(await store.advanceBackfill(current.id, { checkpoint: { timestamp: last.timestamp, uuid: last.uuid }, delivered: slice.length, eventsPerSecond: 42 })).toBe(true);
      current = (await store.getBackfill(current.id))!;
    }
    // [from, to): second 8 is out; both events of second 5 are in; oldest first.
    expect(seen).toEqual([at(2), at(3), at(3), at(4), at(5), at(5), at(6), at(7)]);
    expect(await store.finishBackfill(current.id, 'done')).toBe(true);
    expect(await store.getBackfill(current.id)).toMatchObject({ state: 'done', done: 8, total: 8, eventsPerSecond: 42 });
    // Finished: another may start.
    expect(await store.createBackfill(input({ events: ['click'] }))).toMatchObject({ total: 1, events: ['click'] });
  });

  it('cancels: the checkpoint no longer moves, and it goes with its instance', async () => {
    const backfill = (await store.createBackfill(input()))!;
    expect(await store.cancelBackfill(instance.id, backfill.id)).toMatchObject({ state: 'cancelled' });
    expect(await store.cancelBackfill(instance.id + 1, backfill.id)).toBeNull();
    expect(await store.advanceBackfill(backfill.id, { checkpoint: { timestamp: at(2), uuid: randomUUID() }, delivered: 1, eventsPerSecond: 1 })).toBe(false);
    expect(await store.finishBackfill(backfill.id, 'done')).toBe(false);
    expect(await store.listRunningBackfills()).toEqual([]);
    expect((await store.listBackfills(instance.id)).map((b) => b.id)).toEqual([backfill.id]);
    await store.deleteInstance('p1', instance.id);
    expect(await store.getBackfill(backfill.id)).toBeNull();
  });
});
