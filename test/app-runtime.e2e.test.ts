import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, appLogs, capture, sampleEvents } from './helpers/api';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';

/** Installs an app given as its index.js into the default project. */
async function installCode(url: string, name: string, code: string, extra: Record<string, unknown> = {}): Promise<any> {
  const source = { 'plugin.json': JSON.stringify({ name }), 'index.js': code };
  const { status, body } = await admin(url, 'POST', '/api/projects/default/apps', { source, ...extra });
  if (status !== 201) throw new Error(`install ${name}: ${status} ${JSON.stringify(body)}`);
  return body;
}

/** The stored events of one distinct_id (the test's own events, whatever else the project holds). */
async function eventsOf(url: string, distinctId: string): Promise<any[]> {
  const { body } = await admin(url, 'GET', `/api/projects/default/events?distinct_id=${encodeURIComponent(distinctId)}&limit=1000`);
  return body.results;
}

function eventsFor(distinctId: string, properties: Array<Record<string, unknown>>) {
  return sampleEvents(properties.length).map((event, index) => ({
    ...event, distinct_id: distinctId, properties: { ...event.properties, distinct_id: distinctId, ...properties[index] },
  }));
}

describe('the app runtime in the pipeline (sluice start)', () => {
  let sluice: RunningSluice;

  beforeAll(async () => {
    sluice = await startSluice();
  });
  afterAll(async () => sluice?.stop());

  it('keeps meta.cache and meta.storage per instance across events, and posthog.capture never loops back into its app', async () => {
    const app = await installCode(sluice.url, 'counter', `
      export async function processEvent(event, { cache, storage }) {
        if (event.event === 'derived') { event.properties.saw_derived = true; return event }
        event.properties.count = await cache.incr('count:' + event.distinct_id);
        const before = await storage.get('last:' + event.distinct_id, 'none');
        await storage.set('last:' + event.distinct_id, { uuid: event.uuid });
        event.properties.previous = before === 'none' ? 'none' : 'stored';
        // Captures on every event it sees: without the loop guard its own captures would come back.
        await posthog.capture('derived', { distinct_id: event.distinct_id, from: event.uuid });
        return event;
      }`);
    const user = `runtime-${crypto.randomUUID()}`;
    for (const batch of [eventsFor(user, [{}]), eventsFor(user, [{}, {}])]) await capture(sluice.url, batch);
    const stored = await waitFor('3 events and 3 captures stored', async () => {
      const rows = await eventsOf(sluice.url, user);
      return rows.length >= 6 && rows;
    }, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // anything looping would show up by now
    const final = await eventsOf(sluice.url, user);
    expect(final).toHaveLength(6);
    const originals = stored.filter((event) => event.event !== 'derived');
    expect(originals.map((event) => event.properties.count).sort()).toEqual([1, 2, 3]);
    expect(originals.filter((event) => event.properties.previous === 'none')).toHaveLength(1);
    const derived = stored.filter((event) => event.event === 'derived');
    expect(new Set(derived.map((event) => event.properties.from))).toEqual(new Set(originals.map((event) => event.uuid)));
    // The capturing app skipped its own captures; they are marked with it and came from its name.
    for (const event of derived) {
      expect(event.properties.saw_derived).toBeUndefined();
      expect(event.properties.$sluice_captured_by).toBe(app.id);
      expect(event.properties.$lib).toBe('posthog-plugin-server');
    }
    await admin(sluice.url, 'DELETE', `/api/projects/default/apps/${app.id}`);
  });

  it('lets an instance drop events whose processEvent throws, instead of PostHog\'s pass-through, and logs one line per batch', async () => {
    const code = `export function processEvent(event) { if (event.properties.boom) throw new TypeError('boom ' + event.properties.n); event.properties.ok = true; return event }`;
    const app = await installCode(sluice.url, 'thrower', code, { settings: { processEventErrors: 'drop' } });
    expect(app.settings).toEqual({ processEventErrors: 'drop' });
    const dropUser = `drop-${crypto.randomUUID()}`;
    await capture(sluice.url, eventsFor(dropUser, [{ boom: true, n: 1 }, { n: 2 }, { boom: true, n: 3 }]));
    const kept = await waitFor('the good event', async () => {
      const rows = await eventsOf(sluice.url, dropUser);
      return rows.length >= 1 && rows;
    }, 20_000);
    await waitFor('the failure logged', async () => (await appLogs(sluice.url, app.id)).some((line) => line.message.includes('processEvent failed for 2 of 3 events (dropped); first error: TypeError: boom 1')), 10_000);
    expect(kept.map((event) => event.properties.n)).toEqual([2]);

    const bad = await admin(sluice.url, 'PATCH', `/api/projects/default/apps/${app.id}`, { settings: { processEventErrors: 'explode' } });
    expect(bad.status).toBe(400);
    expect(bad.body.details.field).toBe('settings.processEventErrors');
    const patched = await admin(sluice.url, 'PATCH', `/api/projects/default/apps/${app.id}`, { settings: { processEventErrors: 'continue' } });
    expect(patched.body.settings).toEqual({ processEventErrors: 'continue' });
    const keepUser = `keep-${crypto.randomUUID()}`;
    await waitFor('the new setting applied', async () => {
      await capture(sluice.url, eventsFor(keepUser, [{ boom: true, n: 4 }]));
      return (await eventsOf(sluice.url, keepUser)).length > 0;
    }, 20_000, 500);
    const [passed] = await eventsOf(sluice.url, keepUser);
    expect(passed.properties.$plugins_failed).toEqual([`thrower (${app.id})`]);
    expect(passed.properties.ok).toBeUndefined();
    await admin(sluice.url, 'DELETE', `/api/projects/default/apps/${app.id}`);
  });

  it('applies per-instance limits: a 50 ms call budget stops a slow app that the default 1 s budget lets through', async () => {
    const code = `export function processEvent(event) { const until = Date.now() + 200; while (Date.now() < until) {} event.properties.slow = true; return event }`;
    const strict = await installCode(sluice.url, 'slow-strict', code, { settings: { limits: { callTimeoutMs: 50 } } });
    const user = `limits-${crypto.randomUUID()}`;
    await capture(sluice.url, eventsFor(user, [{}]));
    const [stored] = await waitFor('the event', async () => {
      const rows = await eventsOf(sluice.url, user);
      return rows.length > 0 && rows;
    }, 20_000);
    expect(stored.properties.$plugins_failed).toEqual([`slow-strict (${strict.id})`]);
    // App logs are written in batches, after the event may already be stored.
    await waitFor('the limit in the app logs', async () => (await appLogs(sluice.url, strict.id)).some((line) => line.message.includes('exceeded the 50 ms time limit')), 10_000);
    const metrics = await (await fetch(`${sluice.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`sluice_sandbox_limit_hits_total\\{app="slow-strict",instance="${strict.id}",limit="time"\\} [1-9]`));
    await admin(sluice.url, 'DELETE', `/api/projects/default/apps/${strict.id}`);
  });
});
