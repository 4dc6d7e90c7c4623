import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, appLogs, appSource, capture, install, sampleEvents, storedEvents } from './helpers/api';
import { startCluster, type Cluster } from './helpers/cluster';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';

const TOTAL = 10_000;
const PER_REQUEST = 100;

describe('hot reload: admin changes reach every service without a restart (sluice start)', () => {
  let sluice: RunningSluice;

  beforeAll(async () => {
    sluice = await startSluice();
  });
  afterAll(async () => sluice?.stop());

  it('reorders two stages while 10k events flow: each event sees one whole order, none is lost', async () => {
    const a = await install(sluice.url, 'test/fixtures/apps/chain-recorder', { label: 'A' });
    const b = await install(sluice.url, 'test/fixtures/apps/chain-recorder', { label: 'B' });
    const events = sampleEvents(TOTAL);
    const sentAt = new Map<string, number>();
    let reorderedAt = 0;
    for (let i = 0; i < TOTAL; i += PER_REQUEST) {
      if (i === TOTAL / 2) {
        const reordered = await admin(sluice.url, 'PUT', '/api/projects/default/apps/order', { order: [b.id, a.id] });
        expect(reordered.status).toBe(200);
        expect(reordered.body.results.map((instance: any) => instance.id)).toEqual([b.id, a.id]);
        reorderedAt = Date.now();
      }
      const slice = events.slice(i, i + PER_REQUEST);
      await capture(sluice.url, slice);
      for (const event of slice) sentAt.set(event.uuid, Date.now());
    }
    const stored = await waitFor('all 10k events stored', async () => {
      const rows = await storedEvents(sluice.url, TOTAL);
      return rows.length >= TOTAL && rows;
    }, 120_000, 500);
    expect(new Set(stored.map((event) => event.uuid))).toEqual(new Set(events.map((event) => event.uuid)));
    const orders = new Map<string, number>();
    for (const event of stored) {
      const trail = (event.properties.trail as string[]).join('');
      orders.set(trail, (orders.get(trail) ?? 0) + 1);
      // Sent 2 s after the reorder was acknowledged: the new order, everywhere.
      if (sentAt.get(event.uuid)! - reorderedAt > 2000 && reorderedAt > 0) expect(trail).toBe('BA');
    }
    expect([...orders.keys()].sort()).toEqual(['AB', 'BA']);
    expect(orders.get('AB')).toBeGreaterThanOrEqual(TOTAL / 2);
  });

  it('runs setupPlugin before the first call and teardownPlugin on reconfigure and disable', async () => {
    const app = await install(sluice.url, 'test/fixtures/apps/lifecycle', { label: 'one' });
    const path = `/api/projects/default/apps/${app.id}`;
    const messages = async () => (await appLogs(sluice.url, app.id)).map((line) => line.message.replace(/ [0-9a-f-]{36}$/, ''));
    const until = (what: string[]) => waitFor(what.join(' → '), async () => {
      const seen = await messages();
      return what.every((message, index) => seen[index] === message) && seen;
    }, 10_000);

    await capture(sluice.url, sampleEvents(1));
    await until(['setup one', 'event one']);
    expect((await admin(sluice.url, 'PATCH', path, { config: { label: 'two' } })).status).toBe(200);
    await until(['setup one', 'event one', 'teardown one']);
    await capture(sluice.url, sampleEvents(1));
    await until(['setup one', 'event one', 'teardown one', 'setup two', 'event two']);
    expect((await admin(sluice.url, 'PATCH', path, { enabled: false })).body).toMatchObject({ id: app.id, enabled: false });
    await until(['setup one', 'event one', 'teardown one', 'setup two', 'event two', 'teardown two']);
    // Disabled: it gets nothing more.
    await capture(sluice.url, sampleEvents(1));
    await new Promise((done) => setTimeout(done, 1000));
    expect(await messages()).toHaveLength(6);
  });

  it('disables an instance whose setupPlugin fails, with the error in its logs (PostHog\'s rule)', async () => {
    const broken = await install(sluice.url, 'test/fixtures/apps/broken-setup');
    await capture(sluice.url, sampleEvents(3));
    await waitFor('the instance to be disabled', async () => {
      const { body } = await admin(sluice.url, 'GET', '/api/projects/default/apps');
      return body.results.find((instance: any) => instance.id === broken.id)?.enabled === false;
    }, 15_000);
    const disabled = `setupPlugin of Broken Setup (${broken.id}) failed: missing API key; the instance is disabled`;
    const logs = await waitFor('the reason in its logs', async () => {
      const lines = await appLogs(sluice.url, broken.id);
      return lines.some((line) => line.message === disabled) && lines;
    });
    expect(logs.some((line) => line.message.startsWith('event '))).toBe(false);
    const metrics = await (await fetch(`${sluice.url}/metrics`)).text();
    // Each VM of the instance (one per lane in use) may fail its setup and count one disable.
    expect(metrics).toMatch(new RegExp(`sluice_app_disables_total\\{app="Broken Setup",instance="${broken.id}",reason="setup_failed"\\} [1-9]`));
  });

  it('keeps secret config write-only: masked in the API and in the app\'s logs; choices checked', async () => {
    const app = await install(sluice.url, 'test/fixtures/apps/secret-config', { apiKey: 'sk_live_abcdef' });
    const { body } = await admin(sluice.url, 'GET', `/api/projects/default/apps/${app.id}`);
    expect(body.config).toEqual({ apiKey: '••••••••', region: 'eu' });
    expect(JSON.stringify(body)).not.toContain('sk_live_abcdef');
    await capture(sluice.url, sampleEvents(1));
    const line = await waitFor('setupPlugin\'s log line', async () => (await appLogs(sluice.url, app.id)).find((l) => l.message.startsWith('connecting')));
    expect(line.message).toBe('connecting with •••••••• in eu');
    const badChoice = await admin(sluice.url, 'PATCH', `/api/projects/default/apps/${app.id}`, { config: { apiKey: 'x', region: 'mars' } });
    expect(badChoice).toMatchObject({ status: 400, body: { error: 'invalid_app', details: { field: 'region' } } });
  });

  it('upgrades an instance to new source, and deletes app versions (refused while in use unless forced)', async () => {
    const first = await install(sluice.url, 'examples/hello-world', { name: 'Ada' });
    const newer = appSource('examples/hello-world');
    newer['index.js'] = newer['index.js']!.replace('Hello ', 'Bonjour ');
    const upgraded = await admin(sluice.url, 'POST', `/api/projects/default/apps/${first.id}/upgrade`, { source: newer });
    expect(upgraded.status, JSON.stringify(upgraded.body)).toBe(200);
    expect(upgraded.body.appId).not.toBe(first.appId);
    const event: Record<string, any> = { ...sampleEvents(1)[0]!, distinct_id: 'upgraded' };
    await capture(sluice.url, [event]);
    // By distinct_id: the sample event keeps its old timestamp, behind the 10k newer ones of the reorder test.
    const stored = await waitFor('the event through the new version', async () =>
      (await admin(sluice.url, 'GET', '/api/projects/default/events?distinct_id=upgraded')).body.results.find((e: any) => e.uuid === event.uuid));
    expect(stored.properties.hello).toBe('Bonjour Ada');

    const { body: apps } = await admin(sluice.url, 'GET', '/api/apps');
    expect(apps.results.filter((a: any) => a.name === 'Hello World').map((a: any) => a.id)).toEqual(expect.arrayContaining([first.appId, upgraded.body.appId]));
    expect((await admin(sluice.url, 'DELETE', `/api/apps/${first.appId}`)).status).toBe(204); // nothing runs it any more
    const inUse = await admin(sluice.url, 'DELETE', `/api/apps/${upgraded.body.appId}`);
    expect(inUse).toMatchObject({ status: 409, body: { error: 'in_use' } });
    expect((await admin(sluice.url, 'DELETE', `/api/apps/${upgraded.body.appId}?force=1`)).status).toBe(204);
    expect((await admin(sluice.url, 'GET', `/api/projects/default/apps/${first.id}`)).status).toBe(404);
  });

  it('refuses an order that is not exactly the project\'s instances, naming the field', async () => {
    const { body } = await admin(sluice.url, 'GET', '/api/projects/default/apps');
    const ids = body.results.map((instance: any) => instance.id);
    const missing = await admin(sluice.url, 'PUT', '/api/projects/default/apps/order', { order: ids.slice(1) });
    expect(missing).toMatchObject({ status: 400, body: { error: 'invalid_request', details: { field: 'order' } } });
    expect(missing.body.message).toMatch(/missing ids/);
    const wrongType = await admin(sluice.url, 'PATCH', `/api/projects/default/apps/${ids[0]}`, { enabled: 'yes' });
    expect(wrongType).toMatchObject({ status: 400, body: { details: { field: 'enabled' } } });
  });
});

describe('a runner stopped with SIGTERM (separate processes, Postgres)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(async () => cluster?.stop());

  it('flushes exportEvents buffers, tears its apps down and exits 0', async () => {
    const runner = await cluster.start('runner');
    const lifecycle = await install(cluster.url, 'test/fixtures/apps/lifecycle');
    // A 10-minute buffer: only the shutdown can flush it.
    const exporter = await install(cluster.url, 'test/fixtures/apps/export-destination', { exportEventsBufferSeconds: '600' });
    const events = sampleEvents(5);
    await capture(cluster.url, events);
    await waitFor('the onEvent calls', async () => (await appLogs(cluster.url, lifecycle.id)).length >= 6);
    expect(await runner.stop('SIGTERM')).toBe(0);
    const db = await cluster.db();
    try {
      const { rows } = await db.query('SELECT instance_id, message FROM app_logs ORDER BY id');
      expect(rows.filter((row) => row.instance_id === lifecycle.id).map((row) => row.message).at(-1)).toBe('teardown one');
      const exported = rows.filter((row) => row.instance_id === exporter.id && row.message.startsWith('exported '));
      expect(exported.flatMap((row) => row.message.slice('exported '.length).split(',')).sort()).toEqual(events.map((event) => event.uuid).sort());
    } finally {
      await db.end();
    }
  });
});
