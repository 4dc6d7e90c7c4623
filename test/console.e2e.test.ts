import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, appLogs, capture, install, storedEvents } from './helpers/api';
import { launchChromium } from './helpers/browser';
import { axeViolations, describeViolations, screenshot } from './helpers/console';
import { ADMIN_TOKEN, REPO_ROOT, startSluice, waitFor, type RunningSluice } from './helpers/services';

const APP_DIR = join(REPO_ROOT, 'test/fixtures/apps/console-app');

/** The console-app fixture as a user zips it: a folder holding plugin.json and index.ts. */
function appZip(): Buffer {
  const file = (name: string) => readFileSync(join(APP_DIR, name));
  return Buffer.from(zipSync({ 'console-app/plugin.json': file('plugin.json'), 'console-app/index.ts': file('index.ts') }));
}

function events(count: number, properties: Record<string, unknown> = {}) {
  return Array.from({ length: count }, (_, index) => ({ event: 'console test', distinct_id: `person-${index % 5}`, uuid: randomUUID(), properties }));
}

describe('the web console in Chromium (sluice start)', () => {
  let sluice: RunningSluice;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let tagger: { id: number };
  let flaky: { id: number };
  let consoleApp: { id: number };
  /** What the browser reported: script errors and CSP refusals would show here. */
  const browserErrors: string[] = [];

  /** axe-core finds no WCAG A/AA violation on the page as it is. */
  async function expectAccessible(name: string): Promise<void> {
    const violations = await axeViolations(page);
    expect(violations, `${name}:\n${describeViolations(violations)}`).toEqual([]);
  }

  beforeAll(async () => {
    [sluice, browser] = await Promise.all([startSluice({ SLUICE_RETRY_DELAY_SCALE: '0.01', SLUICE_TRAIL_SAMPLE: '1' }), launchChromium()]);
    tagger = await install(sluice.url, 'test/fixtures/apps/console-tagger');
    flaky = await install(sluice.url, 'test/fixtures/apps/flaky-destination', { mode: 'fail' });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (error) => browserErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/the server responded with a status of 4\d\d/.test(message.text())) browserErrors.push(`console: ${message.text()}`);
    });
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await sluice?.stop();
  });

  it('serves the built console at / → /console/ with caching headers', async () => {
    const root = await fetch(`${sluice.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    const index = await fetch(`${sluice.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await index.text();
    const script = /src="(\/console\/assets\/console-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${sluice.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
  });

  it('refuses a wrong admin token with a message, then logs in with the right one', async () => {
    await page.goto(`${sluice.url}/`);
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('wrong admin token');
    await screenshot(page, '01-login-refused');
    await expectAccessible('login');
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    const cookie = (await context.cookies()).find((entry) => entry.name === 'sluice_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // The token itself is kept nowhere the page's scripts can read.
    expect(await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie')).not.toContain(ADMIN_TOKEN);
  });

  it('lists projects with their token, and switches anonymize-IP', async () => {
    const row = page.getByRole('row', { name: /default/ });
    await expect.poll(() => row.textContent()).toContain('phc_');
    await screenshot(page, '02-projects');
    await expectAccessible('projects');
    await page.getByRole('switch', { name: /Anonymize IPs of/ }).first().click();
    await expect.poll(async () => (await admin(sluice.url, 'GET', '/api/projects/default')).body.anonymizeIps).toBe(true);
    // The page shows the saved state (it reloads the list) before the switch is turned back.
    await expect.poll(() => page.getByRole('switch', { name: /Anonymize IPs of/ }).first().getAttribute('aria-checked')).toBe('true');
    await page.getByRole('switch', { name: /Anonymize IPs of/ }).first().click();
    await expect.poll(async () => (await admin(sluice.url, 'GET', '/api/projects/default')).body.anonymizeIps).toBe(false);
  });

  it('shows an install error at the file and line the API names', async () => {
    await page.goto(`${sluice.url}/console/#/projects/default/install`);
    await page.getByLabel('pasted files').check();
    await page.getByLabel('Source file').selectOption('index.ts');
    await page.getByLabel('Source', { exact: true }).fill('export function processEvent(event) {\n  return event +\n}\n');
    await page.getByRole('button', { name: 'Install' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toMatch(/Refused \(400 invalid_app\)/);
    expect(await alert.textContent()).toMatch(/index\.ts/);
    expect(await alert.textContent()).toMatch(/:3:|line 3/);
    await screenshot(page, '03-install-error');
    await expectAccessible('install error');
  });

  it('installs an app from a zip and fills its config form', async () => {
    await page.goto(`${sluice.url}/console/#/projects/default/install`);
    await page.getByLabel('a .zip or .tgz').check();
    await page.getByLabel('App archive (.zip, .tgz, .tar.gz)').setInputFiles({ name: 'console-app.zip', mimeType: 'application/zip', buffer: appZip() });
    await screenshot(page, '03-install');
    await expectAccessible('install');
    await page.getByRole('button', { name: 'Install' }).click();
    await page.getByRole('heading', { name: /Console Test #\d+/ }).waitFor();
    consoleApp = { id: Number(/#\/projects\/default\/apps\/(\d+)/.exec(page.url())![1]) };
    expect((await admin(sluice.url, 'GET', `/api/projects/default/apps/${consoleApp.id}`)).body).toMatchObject({ name: 'Console Test', enabled: false });

    // Rendered markdown, and a required field refused empty.
    await expect.poll(() => page.locator('.markdown strong').first().textContent()).toBe('label');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('.field.invalid .problem').textContent()).toBe('Label is required.');
    expect(await page.evaluate('document.activeElement.id')).toBe('config-label');
    await page.getByLabel(/^Label/).fill('from the console');

    // visible_if: "Why strict" shows only in strict mode, where required_if makes it required.
    expect(await page.getByLabel(/^Why strict/).count()).toBe(0);
    await page.getByLabel('Mode').selectOption('strict');
    await page.getByLabel(/^Why strict/).waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('.field.invalid .problem').textContent()).toBe('Why strict is required.');
    await page.getByLabel(/^Why strict/).fill('testing');

    // A json field is checked as typed; a secret is a password box.
    await page.getByLabel('Mapping').fill('{"a": ');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('.field.invalid .problem').textContent()).toMatch(/^Not valid JSON/);
    await page.getByLabel('Mapping').fill('{"plan": "pro"}');
    expect(await page.getByLabel(/^API key/).getAttribute('type')).toBe('password');
    await page.getByLabel(/^API key/).fill('sk_console_secret');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved.' }).count()).toBe(1);

    // An attachment is uploaded when chosen.
    await page.getByLabel('Lookup file').setInputFiles({ name: 'lookup.csv', mimeType: 'text/csv', buffer: Buffer.from('a,b\n1,2\n') });
    await expect.poll(() => page.locator('.attachment-current').textContent()).toContain('lookup.csv (8 bytes)');

    // Saved as typed; the secret comes back masked and is shown only as set.
    const saved = (await admin(sluice.url, 'GET', `/api/projects/default/apps/${consoleApp.id}`)).body;
    expect(saved.config).toMatchObject({ label: 'from the console', mode: 'strict', strictReason: 'testing', mapping: '{"plan": "pro"}', apiKey: '••••••••' });
    expect(saved.attachments).toMatchObject([{ key: 'lookup', fileName: 'lookup.csv', size: 8 }]);
    await page.reload();
    await expect.poll(() => page.getByLabel(/^API key/).inputValue()).toBe('(set)');
    await screenshot(page, '04-instance-config');
    await expectAccessible('instance config');

    // Saving again without touching the secret keeps it; then the instance is enabled.
    await page.getByLabel(/^Label/).fill('from the console, again');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved.' }).count()).toBe(1);
    await page.getByRole('switch', { name: 'Console Test enabled' }).click();
    await expect.poll(async () => (await admin(sluice.url, 'GET', `/api/projects/default/apps/${consoleApp.id}`)).body.enabled).toBe(true);
  });

  it('reorders two stages by dragging, and shows the rates move as events flow', async () => {
    await page.goto(`${sluice.url}/console/#/projects/default/pipeline`);
    const names = () => page.locator('ol.apps li.app .app-name a').allTextContents();
    await expect.poll(names).toEqual(['Tagger', 'Console Test']);
    // Drag Console Test by its handle above Tagger (SortableJS follows the pointer).
    const handle = page.locator('ol.apps li.app').nth(1).locator('.drag-handle');
    const target = page.locator('ol.apps li.app').nth(0);
    const from = (await handle.boundingBox())!;
    const to = (await target.boundingBox())!;
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    for (let step = 1; step <= 10; step++) await page.mouse.move(from.x + from.width / 2, from.y + ((to.y + 4 - from.y) * step) / 10);
    await page.mouse.up();
    await expect.poll(names).toEqual(['Console Test', 'Tagger']);
    const order = (await admin(sluice.url, 'GET', '/api/projects/default/apps')).body.results.sort((a: any, b: any) => a.order - b.order).map((instance: any) => instance.id);
    expect(order.indexOf(consoleApp.id)).toBeLessThan(order.indexOf(tagger.id));
    // The same by keyboard: Tagger up (Enter), then back down (Space).
    await page.getByRole('button', { name: 'Move Tagger up' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(names).toEqual(['Tagger', 'Console Test']);
    await page.getByRole('button', { name: 'Move Tagger down' }).focus();
    await page.keyboard.press('Space');
    await expect.poll(names).toEqual(['Console Test', 'Tagger']);

    // Events flow: the counters and the rate of the first stage move.
    const sent = events(40);
    await capture(sluice.url, sent);
    const row = page.locator(`li.app[data-instance-id="${consoleApp.id}"]`);
    await expect.poll(() => row.locator('[data-figure="processed"]').textContent(), { timeout: 20_000 }).toBe('40');
    await expect.poll(() => row.locator('[data-figure="events/s"]').textContent(), { timeout: 10_000 }).toMatch(/^\d+(\.\d)?$/);
    const stored = await waitFor('the 40 events stored', async () => {
      const found = (await storedEvents(sluice.url)).filter((event) => sent.some((s) => s.uuid === event.uuid));
      return found.length === 40 && found;
    });
    // The chain ran in the new order, with the config the form saved (the secret kept).
    expect(stored[0].properties).toMatchObject({ chain: ['console', 'tagger'], console_label: 'from the console, again', console_mode: 'strict', console_has_key: true, console_mapping: { plan: 'pro' }, console_lookup_bytes: 8 });
    await screenshot(page, '05-pipeline');
    await expectAccessible('pipeline');
  });

  it('tails an instance\'s logs live, filters and searches them', async () => {
    await page.goto(`${sluice.url}/console/#/projects/default/apps/${consoleApp.id}/logs`);
    await expect.poll(() => page.locator('table.logs tbody tr').count()).toBeGreaterThan(0);
    await page.getByRole('switch', { name: 'Live tail' }).click();
    const marker = `live-${randomUUID().slice(0, 8)}`;
    await capture(sluice.url, [{ event: marker, distinct_id: 'tail', uuid: randomUUID(), properties: {} }]);
    await expect.poll(() => page.locator('table.logs tbody tr').first().textContent(), { timeout: 15_000 }).toContain(`tagged ${marker}`);
    await page.getByLabel('Search').fill(marker);
    await expect.poll(() => page.locator('table.logs tbody tr').count()).toBe(1);
    await screenshot(page, '06-instance-logs');
    await expectAccessible('logs');
    await page.getByLabel('Level').selectOption('error');
    await expect.poll(() => page.locator('table.logs tbody tr').count()).toBe(0);
  });

  it('tests the app against the latest stored event and an edited one: the diff, logs and the fetch it would make', async () => {
    await page.goto(`${sluice.url}/console/#/projects/default/apps/${consoleApp.id}/test`);
    const editor = page.getByLabel('Event (JSON)');
    await expect.poll(() => editor.inputValue()).toContain('"console_label"');
    await page.getByRole('button', { name: 'Run test' }).click();
    // The latest event went through the chain already; run again, the app appends to its chain.
    await expect.poll(() => page.locator('ul.diff li').allTextContents()).toEqual(['~ properties.chain: ["console","tagger"] → ["console","tagger","console"]']);

    await editor.fill(JSON.stringify({ event: 'edited', distinct_id: 'tester', properties: { notify: true } }));
    await page.getByRole('button', { name: 'Run test' }).click();
    await expect.poll(() => page.locator('ul.diff li').first().textContent()).toBe('+ properties.chain: ["console"]');
    const diff = await page.locator('ul.diff li').allTextContents();
    expect(diff).toContain('+ properties.console_label: "from the console, again"');
    await expect.poll(() => page.locator('table.fetches tbody tr').allTextContents()).toEqual(['POSThttps://hooks.example.com/console{"event":"edited"}not sent']);
    expect(await page.locator('pre.test-logs').textContent()).toBe('log: tagged edited');
    expect(await page.locator('.test-result').textContent()).toContain('onEvent: ok');
    await screenshot(page, '07-instance-test');
    await expectAccessible('test run');
    // Nothing of the run was stored.
    expect((await storedEvents(sluice.url)).some((event) => event.event === 'edited')).toBe(false);
  });

  it('shows the app source highlighted, read only', async () => {
    await page.goto(`${sluice.url}/console/#/projects/default/apps/${consoleApp.id}/source`);
    await expect.poll(() => page.locator('figure.source figcaption').allTextContents()).toEqual(['plugin.json', 'index.ts']);
    expect(await page.locator('figure.source .hljs-keyword').count()).toBeGreaterThan(0);
    await screenshot(page, '08-instance-source');
    await expectAccessible('source');
  });

  it('lists dead letters, inspects one, and replays one and then the rest', async () => {
    const failing = events(3, { fail: 'error' });
    await capture(sluice.url, failing);
    await waitFor('3 dead letters', async () => (await admin(sluice.url, 'GET', `/api/projects/default/dead-letters?instance=${flaky.id}`)).body.total === 3);
    // The destination is mended, then its dead letters are sent again from the console.
    expect((await admin(sluice.url, 'PATCH', `/api/projects/default/apps/${flaky.id}`, { config: { mode: 'heal' } })).status).toBe(200);
    await page.goto(`${sluice.url}/console/#/projects/default/dead-letters`);
    await expect.poll(() => page.locator('p.count').textContent()).toBe('3 dead letters');
    await page.getByRole('button', { name: /^Inspect dead letter/ }).first().click();
    await expect.poll(() => page.locator('tr.detail pre').textContent()).toContain('"fail": "error"');
    await screenshot(page, '09-dead-letters');
    await expectAccessible('dead letters');
    await page.getByRole('button', { name: /^Replay dead letter/ }).first().click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Replayed 1.');
    await expect.poll(() => page.locator('p.count').textContent()).toBe('2 dead letters');
    await page.getByRole('button', { name: /^Replay all/ }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Replayed 2.');
    await expect.poll(() => page.locator('p.count').textContent()).toBe('0 dead letters');
    const delivered = await waitFor('the replayed events delivered', async () => {
      const lines = (await appLogs(sluice.url, flaky.id)).filter((line) => failing.some((event) => line.message === `delivered ${event.uuid}`));
      return lines.length === 3 && lines;
    });
    expect(delivered).toHaveLength(3);
  });

  it('backfills a destination from its page and shows the progress', async () => {
    await page.goto(`${sluice.url}/console/#/projects/default/apps/${flaky.id}`);
    const stored = (await storedEvents(sluice.url)).length;
    await page.getByRole('button', { name: 'Start backfill' }).click();
    const row = page.locator('table.backfills tbody tr').first();
    await expect.poll(() => row.locator('[data-state]').textContent(), { timeout: 30_000 }).toBe('done');
    expect(await row.locator('[data-progress]').textContent()).toBe(`${stored} / ${stored}`);
    await screenshot(page, '09-instance-backfill');
    await expectAccessible('backfill');
  });

  it("charts an instance's counts per hour and groups its errors (written by the processes every 10 s)", async () => {
    await page.goto(`${sluice.url}/console/#/projects/default/apps/${flaky.id}/metrics`);
    const total = (key: string) => page.locator(`[data-total="${key}"]`).textContent();
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return [await total('dead_lettered'), await page.locator('table.errors [data-error-count]').allTextContents()];
      }, { timeout: 30_000, interval: 1_000 })
      .toEqual(['3', ['3']]);
    // Three messages naming three uuids are one group.
    expect(await page.locator('table.errors td.message').textContent()).toMatch(/^onEvent: TypeError: cannot handle [0-9a-f-]{36}$/);
    expect(Number(await total('delivered'))).toBeGreaterThanOrEqual(40);
    await page.getByRole('button', { name: 'Sample event' }).click();
    await expect.poll(() => page.locator('tr.detail pre').textContent()).toContain('"fail": "error"');
    expect(await page.locator('figure.chart canvas').count()).toBeGreaterThan(0);
    await screenshot(page, '10-instance-metrics');
    await expectAccessible('metrics');
    const { body } = await admin(sluice.url, 'GET', `/api/projects/default/apps/${consoleApp.id}/metrics?range=7d`);
    expect(body.results).toHaveLength(168);
    expect(body.results.reduce((sum: number, row: any) => sum + row.processed, 0)).toBeGreaterThanOrEqual(41);
  });

  it("shows the live events with each one's trail through the chain, and the dropped events with the app and why", async () => {
    const dropper = await install(sluice.url, 'examples/drop-events', { eventsToDrop: 'noise' });
    const kept = { event: 'traced one', distinct_id: 'trail-person', uuid: randomUUID(), properties: {} };
    const noise = { event: 'noise', distinct_id: 'trail-person', uuid: randomUUID(), properties: {} };
    // The new stage is routed to once the intake has heard of it: send until an event is dropped.
    await waitFor('an event dropped by Drop Events', async () => {
      await capture(sluice.url, [{ ...noise, uuid: randomUUID() }]);
      return (await admin(sluice.url, 'GET', '/api/projects/default/dropped')).body.results.length > 0;
    }, 30_000, 500);
    await capture(sluice.url, [kept, noise]);
    await waitFor('the kept event stored', async () => (await storedEvents(sluice.url)).some((event) => event.uuid === kept.uuid));
    await page.goto(`${sluice.url}/console/#/projects/default/events`);
    const row = page.locator(`tr[data-uuid="${kept.uuid}"]`);
    await row.getByRole('button', { name: /^Trail/ }).click();
    const steps = page.locator('ol.steps > li');
    await expect.poll(() => steps.count()).toBe(3);
    expect(await steps.nth(0).textContent()).toMatch(/^Console Test #\d+: changed/);
    expect(await steps.nth(0).locator('ul.diff li').allTextContents()).toContain('+ properties.console_label: "from the console, again"');
    expect(await steps.nth(1).textContent()).toMatch(/^Tagger #\d+: changed/);
    expect(await steps.nth(1).locator('ul.diff li').allTextContents()).toEqual(['~ properties.chain: ["console"] → ["console","tagger"]']);
    expect(await steps.nth(2).textContent()).toMatch(/^Drop Events #\d+: unchanged/);
    await expect.poll(() => page.locator('table.dropped tbody tr').first().textContent()).toContain('Drop Events');
    expect(await page.locator('table.dropped tbody tr').first().textContent()).toContain('processEvent returned null');
    const dropped = (await admin(sluice.url, 'GET', '/api/projects/default/dropped')).body.results;
    expect(dropped.some((entry: any) => entry.uuid === noise.uuid && entry.instanceId === dropper.id)).toBe(true);
    // The dropped event's own trail ends at the app that dropped it.
    const trail = (await admin(sluice.url, 'GET', `/api/projects/default/events/${noise.uuid}/trail`)).body;
    expect(trail.steps.map((step: any) => step.outcome)).toEqual(['changed', 'changed', 'dropped']);
    await screenshot(page, '11-live-events');
    await expectAccessible('live events');
    await page.getByRole('switch', { name: 'Live' }).click();
  });

  it('logs out, and the session cookie no longer opens the API', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Admin token').waitFor();
    const answer = await page.evaluate(async () => (await fetch('/api/projects')).status);
    expect(answer).toBe(401);
    expect(browserErrors).toEqual([]);
  });
});
