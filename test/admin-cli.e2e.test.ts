import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, post } from './helpers/api';
import { runCli, startSluice, waitFor, type RunningSluice } from './helpers/services';

describe('projects and app instances through the sluice CLI and the admin API (sluice start)', () => {
  let sluice: RunningSluice;
  beforeAll(async () => {
    sluice = await startSluice();
  });
  afterAll(async () => sluice?.stop());

  const cli = (...args: string[]) => runCli(sluice, args);

  it('creates a project, installs, reorders, disables, reconfigures and removes apps, rotates its token and deletes it', async () => {
    const created = cli('projects', 'create', 'Web Shop (EU)', '--json');
    expect(created.status, created.stderr).toBe(0);
    const project = JSON.parse(created.stdout);
    expect(project).toMatchObject({ id: 'web-shop-eu', name: 'Web Shop (EU)', token: expect.stringMatching(/^phc_/) });
    expect(cli('projects', 'list').stdout).toMatch(new RegExp(`web-shop-eu\\s+Web Shop \\(EU\\)\\s+phc_\\S+\\s+${project.teamId}\\s+no`));
    const duplicate = cli('projects', 'create', 'Web Shop (EU)');
    expect(duplicate.status).toBe(2);
    expect(duplicate.stderr).toMatch(/409.*already exists/);

    const first = JSON.parse(cli('apps', 'install', 'test/fixtures/apps/chain-recorder', '--project', 'web-shop-eu', '--config', 'label=A', '--json').stdout);
    const second = JSON.parse(cli('apps', 'install', 'test/fixtures/apps/chain-recorder', '--project', 'web-shop-eu', '--config', 'label=B', '--json').stdout);
    const ordered = cli('apps', 'order', String(second.id), String(first.id), '--project', 'web-shop-eu', '--json');
    expect(JSON.parse(ordered.stdout).map((i: any) => [i.id, i.order])).toEqual([[second.id, 1], [first.id, 2]]);
    expect(cli('apps', 'disable', String(first.id), '--project', 'web-shop-eu').stdout).toMatch(/disabled Chain Recorder \(instance \d+\): disabled/);
    const badConfig = cli('apps', 'config', String(second.id), '--project', 'web-shop-eu', '--config', 'other=1');
    expect(badConfig.status).toBe(2);
    expect(badConfig.stderr).toMatch(/config "label" is required/);
    expect(cli('apps', 'config', String(second.id), '--project', 'web-shop-eu', '--config', 'label=Z').status).toBe(0);

    // Events of the new project go through its own chain: only the enabled, reconfigured app.
    const uuid = crypto.randomUUID();
    expect((await post(sluice.url, '/capture', { api_key: project.token, event: 'bought', distinct_id: 'u', uuid })).status).toBe(200);
    const stored = await waitFor('the event in the new project', async () => {
      const { body } = await admin(sluice.url, 'GET', '/api/projects/web-shop-eu/events');
      return body.results.find((e: any) => e.uuid === uuid);
    });
    expect(stored.properties.trail).toEqual(['Z']);
    const logs = cli('apps', 'logs', String(second.id), '--project', 'web-shop-eu');
    expect(logs.status, logs.stderr).toBe(0);
    expect(cli('apps', 'remove', String(first.id), '--project', 'web-shop-eu').stdout).toMatch(/removed instance/);
    expect(JSON.parse(cli('apps', 'list', '--project', 'web-shop-eu', '--json').stdout).map((i: any) => i.id)).toEqual([second.id]);

    const rotated = await admin(sluice.url, 'POST', '/api/projects/web-shop-eu/rotate-token');
    expect(rotated.body.token).not.toBe(project.token);
    await waitFor('the old token to be refused', async () =>
      (await post(sluice.url, '/capture', { api_key: project.token, event: 'e', distinct_id: 'u' })).status === 401);
    expect((await post(sluice.url, '/capture', { api_key: rotated.body.token, event: 'e', distinct_id: 'u' })).status).toBe(200);

    expect((await admin(sluice.url, 'DELETE', '/api/projects/web-shop-eu')).status).toBe(204);
    expect((await admin(sluice.url, 'GET', '/api/projects/web-shop-eu')).status).toBe(404);
    expect((await admin(sluice.url, 'GET', '/api/projects/web-shop-eu/events')).status).toBe(404);
    const badId = await admin(sluice.url, 'POST', '/api/projects', { name: 'x', id: 'Not OK' });
    expect(badId).toMatchObject({ status: 400, body: { details: { field: 'id' } } });
  }, 120_000); // a dozen CLI processes

  it('takes an app name (case-insensitive, or as a slug) where it takes an instance id, and lists the ids of an ambiguous one', async () => {
    const p = ['--project', 'named'];
    expect(cli('projects', 'create', 'Named').status).toBe(0);
    const hello = JSON.parse(cli('apps', 'install', './examples/hello-world', ...p, '--config', 'name=Ada', '--json').stdout);
    const recorder = JSON.parse(cli('apps', 'install', 'test/fixtures/apps/chain-recorder', ...p, '--config', 'label=A', '--json').stdout);

    expect(cli('apps', 'disable', 'hello world', ...p).stdout).toMatch(`disabled Hello World (instance ${hello.id}): disabled`);
    expect(cli('apps', 'enable', 'HELLO-WORLD', ...p).stdout).toMatch(`enabled Hello World (instance ${hello.id}): enabled`);
    expect(cli('apps', 'config', 'Hello World', ...p, '--config', 'name=Bo').stdout).toMatch(`configured Hello World (instance ${hello.id})`);
    const ordered = cli('apps', 'order', 'chain recorder', String(hello.id), ...p, '--json');
    expect(ordered.status, ordered.stderr).toBe(0);
    expect(JSON.parse(ordered.stdout).map((i: any) => i.id)).toEqual([recorder.id, hello.id]);
    expect(cli('apps', 'logs', 'hello world', ...p).status).toBe(0);

    const unknown = cli('apps', 'disable', 'nope', ...p);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/no app named "nope" in project named \(apps: Chain Recorder, Hello World\)/);

    const again = JSON.parse(cli('apps', 'install', 'test/fixtures/apps/chain-recorder', ...p, '--config', 'label=B', '--json').stdout);
    const ambiguous = cli('apps', 'remove', 'Chain Recorder', ...p);
    expect(ambiguous.status).toBe(2);
    expect(ambiguous.stderr).toMatch(`"Chain Recorder" names 2 instances in project named: ${recorder.id} (order 1, enabled), ${again.id} (order 3, enabled); give one of these ids`);
    expect(JSON.parse(cli('apps', 'list', ...p, '--json').stdout)).toHaveLength(3);

    expect(cli('apps', 'remove', 'hello world', ...p).stdout).toMatch(`removed instance ${hello.id} from project named`);
    expect(JSON.parse(cli('apps', 'list', ...p, '--json').stdout).map((i: any) => i.id)).toEqual([recorder.id, again.id]);
  }, 120_000);
});
