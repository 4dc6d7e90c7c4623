import { randomUUID } from 'node:crypto';
import { app, event } from './fixtures';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, openStore, type Store } from '../src/index';
import { MIGRATIONS, migrate } from '../src/migrations';
import { createPGliteSql } from '../src/pglite';
import { createPostgresSql } from '../src/postgres';
import { SqlStore } from '../src/sql-store';

describe.each(['postgres', 'pglite'] as const)('store on %s', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, cleanup } = await createTestStore(kind));
    await store.createProject({ id: 'p1', name: 'Project 1', token: 'phc_one' });
  });
  afterEach(async () => {
    await cleanup();
  });

  it('migrates idempotently and answers ping', async () => {
    expect(store.kind).toBe(kind);
    await store.migrate();
    await store.migrate();
    await store.ping();
    expect(await store.getProject('p1')).toEqual({ id: 'p1', teamId: 1, name: 'Project 1', token: 'phc_one', anonymizeIps: false });
  });

  it('stores settings', async () => {
    expect(await store.getSetting('missing')).toBeNull();
    await store.setSetting('a', '1');
    await store.setSetting('a', '2');
    expect(await store.getSetting('a')).toBe('2');
    const claims = await Promise.all([store.claimSetting('once', 'x'), store.claimSetting('once', 'y')]);
    expect(claims[0]).toBe(claims[1]);
    expect(await store.claimSetting('once', 'z')).toBe(claims[0]);
  });

  it('creates and finds projects by id and token', async () => {
    const created = await store.createProject({ id: 'p2', name: 'Project 2', token: 'phc_two' });
    expect(created).toEqual({ id: 'p2', teamId: 2, name: 'Project 2', token: 'phc_two', anonymizeIps: false });
    expect(await store.getProject('p2')).toEqual(created);
    expect(await store.getProjectByToken('phc_two')).toEqual(created);
    expect(await store.getProjectByToken('phc_nope')).toBeNull();
    expect(await store.getProject('nope')).toBeNull();
    expect((await store.listProjects()).map((p) => p.id).sort()).toEqual(['p1', 'p2']);
    await expect(store.createProject({ id: 'p3', name: 'dup token', token: 'phc_two' })).rejects.toThrow();
  });

  it('rotates a project\'s token and deletes a project with its data', async () => {
    const rotated = await store.setProjectToken('p1', 'phc_new');
    expect(rotated).toMatchObject({ id: 'p1', token: 'phc_new' });
    expect(await store.getProjectByToken('phc_one')).toBeNull();
    expect(await store.setProjectToken('nope', 'x')).toBeNull();
    await store.createProject({ id: 'gone', name: 'Gone', token: 'phc_gone' });
    const appRecord = await store.saveApp(app('del'));
    const instance = await store.createInstance({ projectId: 'gone', appId: appRecord.id, config: {} });
    await store.insertEvents('p1', [{ uuid: '0190a5b1-1111-7000-8000-000000000002', event: 'kept', distinct_id: 'd', properties: {}, timestamp: new Date().toISOString(), team_id: 1, ip: null, site_url: '', now: new Date().toISOString(), sent_at: null } as never]);
    await store.insertEvents('gone', [{ uuid: '0190a5b1-1111-7000-8000-000000000001', event: 'e', distinct_id: 'd', properties: {}, timestamp: new Date().toISOString(), team_id: 2, ip: null, site_url: '', now: new Date().toISOString(), sent_at: null } as never]);
    await store.appendLogs([{ instanceId: instance.id, projectId: 'gone', timestamp: new Date().toISOString(), level: 'log', message: 'x' }]);
    expect(await store.deleteProject('gone')).toBe(true);
    expect(await store.getProject('gone')).toBeNull();
    expect(await store.countEvents('gone')).toBe(0);
    expect(await store.listInstances('gone')).toEqual([]);
    expect(await store.listLogs(instance.id, { limit: 10 })).toEqual([]);
    expect(await store.deleteProject('gone')).toBe(false);
    expect(await store.countEvents('p1')).toBe(1); // other projects keep theirs
  });

  it('updates a project\'s name and IP option', async () => {
    expect(await store.updateProject('p1', { anonymizeIps: true })).toEqual({ id: 'p1', teamId: 1, name: 'Project 1', token: 'phc_one', anonymizeIps: true });
    expect(await store.updateProject('p1', { name: 'Renamed' })).toMatchObject({ name: 'Renamed', anonymizeIps: true });
    expect(await store.getProjectByToken('phc_one')).toMatchObject({ name: 'Renamed', anonymizeIps: true });
    expect(await store.updateProject('nope', { name: 'x' })).toBeNull();
  });

  it('saves an app once per version hash', async () => {
    const first = await store.saveApp(app('h1'));
    expect(first.id).toBeTypeOf('number');
    expect(first.pluginJson.name).toBe('app-h1');
    expect(first.source['index.js']).toContain('processEvent');
    expect(first.capabilities).toEqual(['processEvent']);
    expect(Number.isNaN(Date.parse(first.createdAt))).toBe(false);

    const again = await store.saveApp({ ...app('h1'), name: 'renamed' });
    expect(again).toEqual(first);
    const other = await store.saveApp(app('h2', ['onEvent']));
    expect(other.id).not.toBe(first.id);
    expect(await store.getApp(first.id)).toEqual(first);
    expect(await store.getApp(99999)).toBeNull();
    expect((await store.listApps()).map((a) => a.versionHash)).toEqual(['h1', 'h2']);
  });

  it('orders instances by order then id, defaulting to after the last', async () => {
    const a = await store.saveApp(app('a'));
    const b = await store.saveApp(app('b', ['onEvent']));
    const first = await store.createInstance({ projectId: 'p1', appId: a.id, config: { k: 'v' } });
    expect(first).toMatchObject({
      projectId: 'p1',
      appId: a.id,
      name: 'app-a',
      capabilities: ['processEvent'],
      order: 1,
      enabled: true,
      config: { k: 'v' },
    });
    const second = await store.createInstance({ projectId: 'p1', appId: b.id, config: {}, enabled: false });
    expect(second.order).toBe(2);
    expect(second.enabled).toBe(false);
    const early = await store.createInstance({ projectId: 'p1', appId: b.id, config: {}, order: 1 });
    expect(early.order).toBe(1);

    await store.createProject({ id: 'p2', name: 'Project 2', token: 'phc_two' });
    const elsewhere = await store.createInstance({ projectId: 'p2', appId: a.id, config: {} });
    expect(elsewhere.order).toBe(1);

    expect((await store.listInstances('p1')).map((i) => i.id)).toEqual([first.id, early.id, second.id]);
    expect((await store.listInstances('p2')).map((i) => i.id)).toEqual([elsewhere.id]);
    expect(await store.listAllInstances()).toHaveLength(4);
    expect(await store.getInstance(second.id)).toEqual(second);
    expect(await store.getInstance(99999)).toBeNull();
  });

  it('deletes an instance only within its project', async () => {
    const a = await store.saveApp(app('a'));
    const instance = await store.createInstance({ projectId: 'p1', appId: a.id, config: {} });
    expect(await store.deleteInstance('other', instance.id)).toBe(false);
    expect(await store.deleteInstance('p1', instance.id)).toBe(true);
    expect(await store.deleteInstance('p1', instance.id)).toBe(false);
    expect(await store.getInstance(instance.id)).toBeNull();
    expect(await store.listInstances('p1')).toEqual([]);
  });

  it('inserts events idempotently by uuid', async () => {
    const first = Array.from({ length: 500 }, (_, i) => event({ distinct_id: `u${i}` }));
    expect(await store.insertEvents('p1', first)).toBe(500);
    const more = Array.from({ length: 100 }, () => event());
    expect(await store.insertEvents('p1', [...first, ...more])).toBe(100);
    expect(await store.countEvents('p1')).toBe(600);
    expect(await store.countEvents('other')).toBe(0);
    expect(await store.insertEvents('p1', [])).toBe(0);
  });

  it('keys events by (project, uuid): the same uuid in two projects is two events, a redelivery in one is one', async () => {
    await store.createProject({ id: 'p2', name: 'Project 2', token: 'phc_two' });
    const events = Array.from({ length: 3 }, () => event());
    expect(await store.insertEvents('p1', events)).toBe(3);
    expect(await store.insertEvents('p2', events)).toBe(3);
    expect(await store.insertEvents('p2', events)).toBe(0);
    expect(await store.countEvents('p1')).toBe(3);
    expect(await store.countEvents('p2')).toBe(3);
    expect((await store.listEvents('p2', { limit: 10 })).map((e) => e.project_id)).toEqual(['p2', 'p2', 'p2']);
  });

  it('inserts batches larger than one chunk', async () => {
    const events = Array.from({ length: 2500 }, () => event());
    expect(await store.insertEvents('p1', events)).toBe(2500);
    expect(await store.insertEvents('p1', events)).toBe(0);
    expect(await store.countEvents('p1')).toBe(2500);
  });

  it('lists events newest first with a limit', async () => {
    const events = [3, 1, 4, 2, 5].map((n) => event({ timestamp: `2026-01-01T00:00:0${n}.000Z`, event: `e${n}` }));
    await store.insertEvents('p1', events);
    const listed = await store.listEvents('p1', { limit: 3 });
    expect(listed.map((e) => e.event)).toEqual(['e5', 'e4', 'e3']);
    expect(listed[0]).toMatchObject({
      project_id: 'p1',
      distinct_id: 'user_1',
      timestamp: '2026-01-01T00:00:05.000Z',
      ip: '127.0.0.1',
    });
    expect(Number.isNaN(Date.parse(listed[0]!.created_at))).toBe(false);

    // Equal timestamps fall back to uuid descending.
    const same = [event({ timestamp: '2026-02-01T00:00:00.000Z' }), event({ timestamp: '2026-02-01T00:00:00.000Z' })];
    await store.insertEvents('p1', same);
    const top = await store.listEvents('p1', { limit: 2 });
    expect(top.map((e) => e.uuid)).toEqual(same.map((e) => e.uuid).sort().reverse());
  });

  it('round-trips nested and unicode properties and null ip', async () => {
    const properties = {
      nested: { list: [1, 'two', { three: 3 }], empty: {}, none: null, flag: false },
      unicode: 'héllo wörld — 日本語 🎉',
      'key with "quotes" and \\ backslash': 'new\nline\ttab',
      big: 1.5e300,
    };
    const e = event({ properties, ip: null, distinct_id: 'ü-user' });
    await store.insertEvents('p1', [e]);
    const [stored] = await store.listEvents('p1', { limit: 1 });
    expect(stored).toMatchObject({ uuid: e.uuid, distinct_id: 'ü-user', ip: null, properties });
  });

  it('stores strings Postgres cannot hold (NUL, unpaired surrogates) as U+FFFD instead of failing the batch', async () => {
    const good = event({ properties: { ok: 1 } });
    const bad = event({
      event: 'nul\u0000name',
      distinct_id: 'lone\ud800',
      properties: { text: 'a\u0000b', ['key\u0000']: 'x\udc00y', pair: '🎉', literal: '\\u0000' },
    });
    expect(await store.insertEvents('p1', [good, bad])).toBe(2);
    const [stored] = (await store.listEvents('p1', { limit: 10 })).filter((e) => e.uuid === bad.uuid);
    expect(stored).toMatchObject({
      event: 'nul\ufffdname',
      distinct_id: 'lone\ufffd',
      properties: { text: 'a\ufffdb', ['key\ufffd']: 'x\ufffdy', pair: '🎉', literal: '\\u0000' },
    });
    const a = await store.saveApp(app('a'));
    const instance = await store.createInstance({ projectId: 'p1', appId: a.id, config: {} });
    await store.appendLogs([{ instanceId: instance.id, projectId: 'p1', timestamp: new Date().toISOString(), level: 'log', message: 'bin\u0000ary' }]);
    expect((await store.listLogs(instance.id, { limit: 1 }))[0]?.message).toBe('bin\ufffdary');
  });

  it('filters events by name, distinct_id and time, and pages newest first', async () => {
    const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
    const rows = [
      event({ event: 'a', distinct_id: 'u1', timestamp: at(1) }),
      event({ event: 'b', distinct_id: 'u1', timestamp: at(2) }),
      event({ event: 'a', distinct_id: 'u2', timestamp: at(3) }),
      event({ event: 'a', distinct_id: 'u1', timestamp: at(4) }),
    ];
    await store.insertEvents('p1', rows);
    const names = (list: { event: string; timestamp: string }[]) => list.map((e) => `${e.event}@${e.timestamp.slice(17, 19)}`);
    expect(names(await store.listEvents('p1', { limit: 10, event: 'a' }))).toEqual(['a@04', 'a@03', 'a@01']);
    expect(names(await store.listEvents('p1', { limit: 10, distinctId: 'u1' }))).toEqual(['a@04', 'b@02', 'a@01']);
    expect(names(await store.listEvents('p1', { limit: 10, from: at(2), to: at(4) }))).toEqual(['a@03', 'b@02']);
    const page1 = await store.listEvents('p1', { limit: 2 });
    const last = page1[1]!;
    const page2 = await store.listEvents('p1', { limit: 2, before: { timestamp: last.timestamp, uuid: last.uuid } });
    expect([...names(page1), ...names(page2)]).toEqual(['a@04', 'a@03', 'b@02', 'a@01']);
  });

  it('appends logs, lists them newest first, and removes them with the instance', async () => {
    const a = await store.saveApp(app('a'));
    const instance = await store.createInstance({ projectId: 'p1', appId: a.id, config: {} });
    const other = await store.createInstance({ projectId: 'p1', appId: a.id, config: {} });
    const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
    await store.appendLogs([
      { instanceId: instance.id, projectId: 'p1', timestamp: at(1), level: 'info', message: 'one' },
      { instanceId: instance.id, projectId: 'p1', timestamp: at(2), level: 'warn', message: 'two' },
      { instanceId: other.id, projectId: 'p1', timestamp: at(2), level: 'log', message: 'other' },
    ]);
    await store.appendLogs([{ instanceId: instance.id, projectId: 'p1', timestamp: at(3), level: 'error', message: 'three ✓' }]);
    await store.appendLogs([]);

    const all = await store.listLogs(instance.id, { limit: 10 });
    expect(all).toEqual([
      { id: expect.any(Number), timestamp: at(3), level: 'error', message: 'three ✓' },
      { id: expect.any(Number), timestamp: at(2), level: 'warn', message: 'two' },
      { id: expect.any(Number), timestamp: at(1), level: 'info', message: 'one' },
    ]);
    expect((await store.listLogs(instance.id, { limit: 2 })).map((l) => l.message)).toEqual(['three ✓', 'two']);
    expect((await store.listLogs(instance.id, { limit: 10, levels: ['warn', 'error'] })).map((l) => l.message)).toEqual(['three ✓', 'two']);
    expect((await store.listLogs(instance.id, { limit: 10, from: at(2), to: at(3) })).map((l) => l.message)).toEqual(['two']);
    // Following: what came after a line, oldest first.
    expect((await store.listLogs(instance.id, { limit: 10, afterId: all[2]!.id })).map((l) => l.message)).toEqual(['two', 'three ✓']);

    await store.deleteInstance('p1', instance.id);
    expect(await store.listLogs(instance.id, { limit: 10 })).toEqual([]);
    expect(await store.listLogs(other.id, { limit: 10 })).toHaveLength(1);
    // Lines for an instance deleted while they were buffered are dropped, not an error.
    await store.appendLogs([{ instanceId: instance.id, projectId: 'p1', timestamp: at(4), level: 'info', message: 'late' }]);
    expect(await store.listLogs(instance.id, { limit: 10 })).toEqual([]);
  });
});

describe.each(['postgres', 'pglite'] as const)('upgrading a %s store keyed by uuid alone', (kind) => {
  it('keeps its events and keys new ones by (project, uuid)', async () => {
    const databaseUrl = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const schema = `sluice_test_upgrade_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const sql = kind === 'postgres' ? createPostgresSql({ databaseUrl, schema }) : await createPGliteSql();
    const store = new SqlStore(sql, kind === 'postgres' ? schema : undefined);
    try {
      await migrate(sql, kind === 'postgres' ? schema : undefined, MIGRATIONS.filter((migration) => migration.version < 6));
      await sql.execute(`INSERT INTO projects (id, name, token) VALUES ('a', 'A', 'phc_a'), ('b', 'B', 'phc_b')`);
      const old = [event(), event()];
      // Written as the old schema had them (today's insert names a key the old schema lacks).
      const insertOld = `INSERT INTO events (uuid, project_id, event, distinct_id, properties, timestamp) VALUES ($1::uuid, 'a', 'e', 'd', '{}', now()), ($2::uuid, 'a', 'e', 'd', '{}', now())`;
      expect(await sql.execute(insertOld, [old[0]!.uuid, old[1]!.uuid])).toBe(2);
      await store.migrate();
      expect(await store.countEvents('a')).toBe(2);
      expect(await store.insertEvents('b', old)).toBe(2);
      expect(await store.insertEvents('a', old)).toBe(0);
      expect(await store.countEvents('b')).toBe(2);
      // Projects made before team_id existed are numbered by the migration; new ones follow on.
      const numbered = (await store.listProjects()).map((project) => project.teamId);
      expect(new Set(numbered).size).toBe(2);
      const next = await store.createProject({ id: 'c', name: 'C', token: 'phc_c' });
      expect(numbered).not.toContain(next.teamId);
    } finally {
      if (kind === 'postgres') await sql.execute(`DROP SCHEMA ${schema} CASCADE`);
      await store.close();
    }
  });
});

describe('postgres migrations', () => {
  it('are safe when two processes migrate the same schema at once', async () => {
    const databaseUrl = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const schema = `sluice_test_race_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const stores = await Promise.all([1, 2, 3].map(() => openStore({ databaseUrl, schema })));
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      await stores[0]!.createProject({ id: 'p', name: 'P', token: 't' });
      expect(await stores[1]!.getProject('p')).not.toBeNull();
    } finally {
      const [first, ...rest] = stores;
      await Promise.all(rest.map((s) => s.close()));
      // Reuse the test helper's cleanup path: drop the schema through a fresh connection.
      await first!.close();
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
      await client.end();
    }
  });
});

describe('pglite on disk', () => {
  it('keeps data across reopen', async () => {
    const { mkdtemp, rm, cp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { pgliteTemplateDir } = await import('../src/index');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-store-reopen-'));
    try {
      const dataDir = join(dir, 'pglite');
      await cp(await pgliteTemplateDir(), dataDir, { recursive: true });
      const first = await openStore({ dataDir });
      await first.createProject({ id: 'p', name: 'P', token: 't' });
      await first.close();
      const second = await openStore({ dataDir });
      expect(await second.getProjectByToken('t')).toEqual({ id: 'p', teamId: 1, name: 'P', token: 't', anonymizeIps: false });
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
