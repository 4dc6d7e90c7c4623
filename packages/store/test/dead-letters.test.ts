import { randomUUID } from 'node:crypto';
import { app, event } from './fixtures';
import type { AppInstance, DeliveryFunction } from '@sluice/core';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestStore,
  MIGRATIONS,
  openStore,
  StoreInputError,
  type DeadLetterInput,
  type Store,
} from '../src/index';

describe.each(['postgres', 'pglite'] as const)('dead letters and instance updates on %s', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let first: AppInstance;
  let second: AppInstance;
  let elsewhere: AppInstance;

  function letter(instance: AppInstance, overrides: Partial<DeadLetterInput> = {}): DeadLetterInput {
    return {
      projectId: instance.projectId,
      instanceId: instance.id,
      appId: instance.appId,
      function: 'onEvent',
      event: event(),
      error: 'Error: boom',
      attempts: 4,
      ...overrides,
    };
  }

  beforeEach(async () => {
    ({ store, cleanup } = await createTestStore(kind));
    await store.createProject({ id: 'p1', name: 'Project 1', token: 'phc_one' });
    await store.createProject({ id: 'p2', name: 'Project 2', token: 'phc_two' });
    const a = await store.saveApp(app('a', ['onEvent']));
    first = await store.createInstance({ projectId: 'p1', appId: a.id, config: { k: 'one' } });
    second = await store.createInstance({ projectId: 'p1', appId: a.id, config: { k: 'two' } });
    elsewhere = await store.createInstance({ projectId: 'p2', appId: a.id, config: {} });
  });
  afterEach(async () => {
    await cleanup();
  });

  it('adds a batch and lists it oldest first with every field', async () => {
    const entries = [
      letter(first, { error: 'first', function: 'exportEvents', attempts: 1 }),
      letter(second, { error: 'second' }),
      letter(first, { error: 'third', event: event({ properties: { unicode: 'héllo 日本語 🎉' }, ip: null, extra: { a: 1 } }) }),
    ];
    const before = Date.now();
    await store.addDeadLetters(entries);
    await store.addDeadLetters([]);

    const listed = await store.listDeadLetters('p1', { limit: 10 });
    expect(listed.map((d) => d.error)).toEqual(['first', 'second', 'third']);
    listed.forEach((stored, i) => {
      const { id, failedAt, ...input } = stored;
      expect(input).toEqual(entries[i]);
      expect(id).toBeTypeOf('number');
      expect(Date.parse(failedAt)).toBeGreaterThanOrEqual(before - 60_000);
      expect(new Date(failedAt).toISOString()).toBe(failedAt);
    });
    expect(listed[0]!.id).toBeLessThan(listed[1]!.id);
    expect(listed[1]!.id).toBeLessThan(listed[2]!.id);
    expect(await store.countDeadLetters('p1', {})).toBe(3);
    expect(await store.listDeadLetters('p2', { limit: 10 })).toEqual([]);
    expect(await store.countDeadLetters('p2', {})).toBe(0);
  });

  it('filters by instance and ids and pages with afterId', async () => {
    await store.addDeadLetters([
      ...Array.from({ length: 5 }, (_, i) => letter(first, { error: `first ${i}` })),
      ...Array.from({ length: 3 }, (_, i) => letter(second, { error: `second ${i}` })),
      letter(elsewhere, { error: 'elsewhere' }),
    ]);
    const all = await store.listDeadLetters('p1', { limit: 100 });
    expect(all).toHaveLength(8);

    const page1 = await store.listDeadLetters('p1', { instanceId: first.id, limit: 2 });
    expect(page1.map((d) => d.error)).toEqual(['first 0', 'first 1']);
    const page2 = await store.listDeadLetters('p1', { instanceId: first.id, limit: 2, afterId: page1[1]!.id });
    expect(page2.map((d) => d.error)).toEqual(['first 2', 'first 3']);
    const page3 = await store.listDeadLetters('p1', { instanceId: first.id, limit: 2, afterId: page2[1]!.id });
    expect(page3.map((d) => d.error)).toEqual(['first 4']);
    expect(await store.listDeadLetters('p1', { instanceId: first.id, limit: 2, afterId: page3[0]!.id })).toEqual([]);
    expect(await store.countDeadLetters('p1', { instanceId: first.id })).toBe(5);
    expect(await store.countDeadLetters('p1', { instanceId: second.id })).toBe(3);

    const picked = [all[1]!.id, all[6]!.id];
    expect((await store.listDeadLetters('p1', { ids: picked, limit: 10 })).map((d) => d.id)).toEqual(picked);
    expect(await store.countDeadLetters('p1', { ids: picked })).toBe(2);
    // ids and instanceId combine: all[1] is first's, all[6] is second's.
    expect((await store.listDeadLetters('p1', { ids: picked, instanceId: second.id, limit: 10 })).map((d) => d.id)).toEqual([
      all[6]!.id,
    ]);
    expect(await store.listDeadLetters('p1', { ids: [], limit: 10 })).toEqual([]);
    expect(await store.countDeadLetters('p1', { ids: [] })).toBe(0);

    // Another project's ids and instances are invisible from p1.
    const [other] = await store.listDeadLetters('p2', { limit: 10 });
    expect(other?.error).toBe('elsewhere');
    expect(await store.listDeadLetters('p1', { ids: [other!.id], limit: 10 })).toEqual([]);
    expect(await store.countDeadLetters('p1', { instanceId: elsewhere.id })).toBe(0);
  });

  it('deletes dead letters by id within the project only', async () => {
    await store.addDeadLetters([letter(first), letter(first), letter(second), letter(elsewhere)]);
    const [a, b, c] = await store.listDeadLetters('p1', { limit: 10 });
    const [other] = await store.listDeadLetters('p2', { limit: 10 });

    expect(await store.deleteDeadLetters('p1', [a!.id, c!.id, other!.id, 999_999])).toBe(2);
    expect((await store.listDeadLetters('p1', { limit: 10 })).map((d) => d.id)).toEqual([b!.id]);
    expect(await store.countDeadLetters('p2', {})).toBe(1);
    expect(await store.deleteDeadLetters('p1', [a!.id])).toBe(0);
    expect(await store.deleteDeadLetters('p1', [])).toBe(0);
    expect(await store.deleteDeadLetters('p2', [other!.id])).toBe(1);
    expect(await store.countDeadLetters('p2', {})).toBe(0);
  });

  it('adds batches larger than one INSERT chunk, in order', async () => {
    const entries = Array.from({ length: 2500 }, (_, i) => letter(i % 2 ? first : second, { error: `e${i}` }));
    await store.addDeadLetters(entries);
    expect(await store.countDeadLetters('p1', {})).toBe(2500);
    expect(await store.countDeadLetters('p1', { instanceId: first.id })).toBe(1250);
    const listed = await store.listDeadLetters('p1', { limit: 5000 });
    expect(listed.map((d) => d.error)).toEqual(entries.map((e) => e.error));
    expect(listed.map((d) => d.event.uuid)).toEqual(entries.map((e) => e.event.uuid));
  });

  it('adds a multi-chunk batch whole or not at all', async () => {
    const entries = Array.from({ length: 1500 }, () => letter(first));
    // The last entry, in the second chunk, breaks the table's check; the first chunk must roll back too.
    entries[1499] = letter(first, { function: 'processEvent' as DeliveryFunction });
    await expect(store.addDeadLetters(entries)).rejects.toThrow();
    expect(await store.countDeadLetters('p1', {})).toBe(0);
  });

  it('drops entries of instances that no longer exist in their project', async () => {
    await store.deleteInstance('p1', second.id);
    await store.addDeadLetters([
      letter(first, { error: 'kept' }),
      letter(second, { error: 'deleted instance' }),
      letter(elsewhere, { projectId: 'p1', error: 'wrong project' }),
      letter(first, { instanceId: 999_999, error: 'unknown instance' }),
    ]);
    expect((await store.listDeadLetters('p1', { limit: 10 })).map((d) => d.error)).toEqual(['kept']);
    expect(await store.countDeadLetters('p2', {})).toBe(0);
  });

  it('deletes an instance with its dead letters only', async () => {
    await store.addDeadLetters([letter(first), letter(second), letter(second), letter(elsewhere)]);
    expect(await store.deleteInstance('p2', second.id)).toBe(false);
    expect(await store.countDeadLetters('p1', { instanceId: second.id })).toBe(2);

    expect(await store.deleteInstance('p1', second.id)).toBe(true);
    expect(await store.countDeadLetters('p1', { instanceId: second.id })).toBe(0);
    expect(await store.countDeadLetters('p1', {})).toBe(1);
    expect(await store.countDeadLetters('p2', {})).toBe(1);
  });

  it('stores NUL characters in the event and error as U+FFFD', async () => {
    const bad = event({ distinct_id: 'a\u0000b', properties: { text: 'x\u0000y' } });
    await store.addDeadLetters([letter(first, { event: bad, error: 'bad\u0000byte' })]);
    const [stored] = await store.listDeadLetters('p1', { limit: 1 });
    expect(stored).toMatchObject({
      error: 'bad\ufffdbyte',
      event: { uuid: bad.uuid, distinct_id: 'a\ufffdb', properties: { text: 'x\ufffdy' } },
    });
  });

  it('moves an instance to another app version, and deletes a version only when unused or forced', async () => {
    const newer = await store.saveApp(app('a2', ['onEvent', 'processEvent']));
    const moved = await store.updateInstance('p1', first.id, { appId: newer.id });
    expect(moved).toMatchObject({ id: first.id, appId: newer.id, name: 'app-a2', capabilities: ['onEvent', 'processEvent'] });
    await expect(store.deleteApp(first.appId)).rejects.toThrow(/used by 2 instance\(s\): p1\/\d+, p2\/\d+/);
    expect(await store.deleteApp(newer.id, { force: true })).toEqual({ deleted: true, projects: ['p1'] });
    expect(await store.getInstance(first.id)).toBeNull();
    expect(await store.getApp(newer.id)).toBeNull();
    expect(await store.getInstance(second.id)).toEqual(second);
  });

  it('updates an instance\'s enabled flag and config', async () => {
    const disabled = await store.updateInstance('p1', first.id, { enabled: false });
    expect(disabled).toEqual({ ...first, enabled: false });
    expect(await store.getInstance(first.id)).toEqual(disabled);

    const reconfigured = await store.updateInstance('p1', first.id, { config: { k: 'new', other: 'x' } });
    expect(reconfigured).toEqual({ ...first, enabled: false, config: { k: 'new', other: 'x' } });
    expect(await store.getInstance(first.id)).toEqual(reconfigured);

    const both = await store.updateInstance('p1', first.id, { enabled: true, config: {} });
    expect(both).toEqual({ ...first, config: {} });
    expect(await store.updateInstance('p1', first.id, {})).toEqual(both);
    expect(await store.getInstance(second.id)).toEqual(second);
  });

  it('updates nothing outside the project', async () => {
    expect(await store.updateInstance('p2', first.id, { enabled: false })).toBeNull();
    expect(await store.updateInstance('p1', 999_999, { enabled: false })).toBeNull();
    expect(await store.getInstance(first.id)).toEqual(first);
  });

  it('sets the instance order from a list of ids', async () => {
    const third = await store.createInstance({ projectId: 'p1', appId: first.appId, config: {} });
    const reordered = await store.setInstanceOrder('p1', [third.id, first.id, second.id]);
    expect(reordered.map((i) => [i.id, i.order])).toEqual([
      [third.id, 1],
      [first.id, 2],
      [second.id, 3],
    ]);
    expect(await store.listInstances('p1')).toEqual(reordered);
    expect(await store.getInstance(third.id)).toEqual({ ...third, order: 1 });
    expect(await store.getInstance(elsewhere.id)).toEqual(elsewhere);
    // A new instance still comes after the last.
    expect((await store.createInstance({ projectId: 'p1', appId: first.appId, config: {} })).order).toBe(4);
  });

  it('rejects an order list that is not exactly the project\'s instances, changing nothing', async () => {
    const cases: Array<[number[], RegExp]> = [
      [[first.id], new RegExp(`missing ids ${second.id}`)],
      [[first.id, second.id, 999_999], /unknown ids 999999/],
      [[first.id, second.id, elsewhere.id], new RegExp(`unknown ids ${elsewhere.id}`)],
      [[second.id, first.id, second.id], new RegExp(`duplicate ids ${second.id}`)],
      [[], new RegExp(`missing ids ${first.id}, ${second.id}`)],
    ];
    for (const [ids, message] of cases) {
      const error = await store.setInstanceOrder('p1', ids).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error, JSON.stringify(ids)).toBeInstanceOf(StoreInputError);
      expect((error as Error).name).toBe('StoreInputError');
      expect((error as Error).message).toMatch(message);
    }
    expect(await store.listInstances('p1')).toEqual([first, second]);
    expect(await store.listInstances('p2')).toEqual([elsewhere]);
  });

  it('orders an empty project with an empty list', async () => {
    await store.createProject({ id: 'p3', name: 'Empty', token: 'phc_three' });
    expect(await store.setInstanceOrder('p3', [])).toEqual([]);
    await expect(store.setInstanceOrder('p3', [first.id])).rejects.toThrow(StoreInputError);
  });
});

describe('dead_letters migration on postgres', () => {
  it('upgrades a database migrated before it', async () => {
    const databaseUrl = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const schema = `sluice_test_v1_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      // Recreate a version-1 database: the tables and bookkeeping as migration 1 left them.
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`SET search_path = ${schema}`);
      for (const statement of MIGRATIONS[0]!.statements) await client.query(statement);
      await client.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      await client.query(`INSERT INTO schema_migrations (version, name) VALUES (1, 'initial')`);

      const store = await openStore({ databaseUrl, schema });
      try {
        const versions = await client.query(`SELECT version FROM schema_migrations ORDER BY version`);
        expect(versions.rows.map((row) => row.version)).toEqual(MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
        expect(await store.countDeadLetters('p1', {})).toBe(0);
      } finally {
        await store.close();
      }
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});
