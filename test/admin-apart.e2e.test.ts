/**
 * The data path and the control plane in separate processes: `sluice intake` with
 * SLUICE_INTAKE_ADMIN=false serves capture only, `sluice admin` serves the admin API only, and an
 * event captured by the one is read back through the other once the runner has stored it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, install, post, sampleEvents } from './helpers/api';
import { launchChromium } from './helpers/browser';
import { startCluster, type Cluster } from './helpers/cluster';
import { screenshot } from './helpers/console';
import { ADMIN_TOKEN, PROJECT_TOKEN, freePort, spawnSluice, waitFor, waitReady } from './helpers/services';

describe('sluice admin alone beside a capture-only intake', () => {
  let cluster: Cluster;
  let adminUrl: string;

  beforeAll(async () => {
    cluster = await startCluster({ SLUICE_INTAKE_ADMIN: 'false' });
    const port = await freePort();
    adminUrl = `http://127.0.0.1:${port}`;
    const proc = spawnSluice('admin', { ...cluster.env, SLUICE_PORT: String(port) });
    cluster.processes.push(proc);
    await waitReady(adminUrl, proc);
    await Promise.all([cluster.start('worker'), cluster.start('runner')]);
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('the intake has no admin API and the admin process has no capture', async () => {
    expect(await admin(cluster.url, 'GET', '/api/projects')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect((await post(adminUrl, '/capture', sampleEvents(1)[0])).status).toBe(404);
    const { status, body } = await admin(adminUrl, 'GET', '/api/projects');
    expect(status).toBe(200);
    expect(body.results.map((project: { id: string }) => project.id)).toContain('default');
  });

  it('an event captured at the intake is read back through the admin API', async () => {
    const [event] = sampleEvents(1);
    // The admin process made the default project at its start; the intake sees it from then on.
    await waitFor('the intake to accept the project token', async () => (await post(cluster.url, '/capture', event)).status === 200);
    const stored = await waitFor('the event stored', async () => {
      const { body } = await admin(adminUrl, 'GET', '/api/projects/default/events?limit=100');
      return body.results.find((row: { uuid: string }) => row.uuid === event!.uuid);
    });
    expect(stored).toMatchObject({ event: event!.event, distinct_id: event!.distinct_id });
  });

  it('both register themselves for service discovery under their own roles', async () => {
    const groups = await waitFor('intake, admin, worker and runner registered', async () => {
      const listed = (await (await fetch(`${adminUrl}/api/metrics-targets`)).json()) as Array<{ labels: { role: string } }>;
      const roles = listed.map((group) => group.labels.role);
      return roles.length === 4 && roles;
    });
    expect(groups.sort()).toEqual(['admin', 'intake', 'runner', 'worker']);
  });

  it('the web console, served by sluice admin, shows the counters of the separate worker and runner', async () => {
    const stage = await install(adminUrl, 'test/fixtures/apps/console-tagger');
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${adminUrl}/`);
      await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Projects' }).waitFor();
      await page.goto(`${adminUrl}/console/#/projects/default/pipeline`);
      const row = page.locator(`li.app[data-instance-id="${stage.id}"]`);
      await row.waitFor();
      const batch = Array.from({ length: 25 }, (_, index) => ({ event: 'apart', distinct_id: `p${index}`, uuid: crypto.randomUUID() }));
      // The intake learns of the new stage from the pipeline bus: until then an event may skip it.
      await waitFor('the intake to route through the new stage', async () => {
        expect((await post(cluster.url, '/batch', { api_key: PROJECT_TOKEN, batch })).status).toBe(200);
        return Number(await row.locator('[data-figure="processed"]').textContent()) >= 25;
      }, 30_000, 1_000);
      await waitFor('the stage queue drained', async () => (await row.locator('[data-figure="queued"]').textContent()) === '0');
      const { body } = await admin(adminUrl, 'GET', '/api/projects/default/apps/stats');
      // Asked every registered process: intake, admin, worker and runner.
      expect(body).toMatchObject({ processes: 4, unreachable: [] });
      await screenshot(page, '10-pipeline-separate-processes');
    } finally {
      await browser.close();
    }
  });
});
