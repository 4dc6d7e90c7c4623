import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, type Store } from '../src/index';

describe.each(['postgres', 'pglite'] as const)('ingestion warnings on %s', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, cleanup } = await createTestStore(kind));
    await store.createProject({ id: 'p1', name: 'Project 1', token: 'phc_one' });
    await store.createProject({ id: 'p2', name: 'Project 2', token: 'phc_two' });
  });
  afterEach(async () => cleanup());

  const overflow = (projectId: string, key: string) => ({ projectId, type: 'ingestion_capacity_overflow', key, details: { overflowDistinctId: key } });

  it('keeps one warning per project, type and key an hour, newest first, per project', async () => {
    expect(await store.addIngestionWarning(overflow('p1', 'hot'))).toBe(true);
    expect(await store.addIngestionWarning(overflow('p1', 'hot'))).toBe(false);
    expect(await store.addIngestionWarning(overflow('p1', 'other'))).toBe(true);
    expect(await store.addIngestionWarning({ ...overflow('p1', 'hot'), type: 'something_else' })).toBe(true);
    expect(await store.addIngestionWarning(overflow('p2', 'hot'))).toBe(true);

    const listed = await store.listIngestionWarnings('p1', 10);
    expect(listed.map((warning) => [warning.type, warning.details])).toEqual([
      ['something_else', { overflowDistinctId: 'hot' }],
      ['ingestion_capacity_overflow', { overflowDistinctId: 'other' }],
      ['ingestion_capacity_overflow', { overflowDistinctId: 'hot' }],
    ]);
    expect(Date.parse(listed[0]!.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(await store.listIngestionWarnings('p1', 1)).toHaveLength(1);
    expect(await store.listIngestionWarnings('p2', 10)).toHaveLength(1);
  });
});
