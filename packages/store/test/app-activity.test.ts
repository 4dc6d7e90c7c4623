import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, type Store } from '../src/index';
import { app, event } from './fixtures';

describe.each(['postgres', 'pglite'] as const)('app activity (counts per minute, error groups) on %s', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let instanceId: number;

  beforeEach(async () => {
    ({ store, cleanup } = await createTestStore(kind));
    await store.createProject({ id: 'p1', name: 'Project 1', token: 'phc_one' });
    const saved = await store.saveApp(app('activity'));
    instanceId = (await store.createInstance({ projectId: 'p1', appId: saved.id, config: {} })).id;
  });
  afterEach(async () => cleanup());

  it('adds up the counts of several processes per minute and sums them per hour; skips removed instances', async () => {
    await store.addMinuteCounts([
      { instanceId, minute: '2026-12-04T10:05:00.000Z', counts: { processed: 10, dropped: 1 } },
      { instanceId: 999_999, minute: '2026-12-04T10:05:00.000Z', counts: { processed: 5 } },
    ]);
    await store.addMinuteCounts([{ instanceId, minute: '2026-12-04T10:05:00.000Z', counts: { processed: 4, errored: 2 } }]);
    await store.addMinuteCounts([{ instanceId, minute: '2026-12-04T10:59:00.000Z', counts: { delivered: 3 } }, { instanceId, minute: '2026-12-04T11:00:00.000Z', counts: { dead_lettered: 1 } }]);
    const hours = await store.listHourCounts(instanceId, '2026-12-04T00:00:00.000Z');
    expect(hours).toEqual([
      { hour: '2026-12-04T10:00:00.000Z', processed: 14, dropped: 1, errored: 2, delivered: 3, retried: 0, dead_lettered: 0 },
      { hour: '2026-12-04T11:00:00.000Z', processed: 0, dropped: 0, errored: 0, delivered: 0, retried: 0, dead_lettered: 1 },
    ]);
    expect(await store.listHourCounts(instanceId, '2026-12-04T11:00:00.000Z')).toHaveLength(1);
    expect(await store.pruneActivity('2026-12-04T11:00:00.000Z')).toBe(2);
    expect(await store.listHourCounts(instanceId, '2026-01-01T00:00:00.000Z')).toHaveLength(1);
  });

  it('groups errors by fingerprint: counts add, the first sample and first-seen stay, last-seen moves', async () => {
    const first = event({ distinct_id: 'a' });
    await store.addErrorGroups([{ instanceId, fingerprint: 'boom <n>', message: 'boom 1', count: 2, firstSeen: '2026-12-04T10:00:00.000Z', lastSeen: '2026-12-04T10:01:00.000Z', sampleEvent: first }]);
    await store.addErrorGroups([{ instanceId, fingerprint: 'boom <n>', message: 'boom 7', count: 3, firstSeen: '2026-12-04T10:05:00.000Z', lastSeen: '2026-12-04T10:06:00.000Z', sampleEvent: event({ distinct_id: 'b' }) }]);
    await store.addErrorGroups([{ instanceId, fingerprint: 'other', message: 'other', count: 1, firstSeen: '2026-12-04T09:00:00.000Z', lastSeen: '2026-12-04T09:00:00.000Z' }]);
    const groups = await store.listErrorGroups(instanceId, 10);
    expect(groups.map((group) => [group.fingerprint, group.message, group.count, group.firstSeen, group.lastSeen, group.sampleEvent?.distinct_id ?? null])).toEqual([
      ['boom <n>', 'boom 7', 5, '2026-12-04T10:00:00.000Z', '2026-12-04T10:06:00.000Z', 'a'],
      ['other', 'other', 1, '2026-12-04T09:00:00.000Z', '2026-12-04T09:00:00.000Z', null],
    ]);
    // Removing the instance removes its activity.
    await store.deleteInstance('p1', instanceId);
    expect(await store.listErrorGroups(instanceId, 10)).toEqual([]);
  });
});
