import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, post } from './helpers/api';
import { runCli, startSluice, waitFor, type RunningSluice } from './helpers/services';

/**
 * An app author's round trip, every step the `sluice` command a person would type (each a spawned
 * process): scaffold → edit → dev run → install into a running Sluice → events carry the change.
 */
describe('an app author\'s round trip: sluice new app → edit → sluice dev → sluice apps install → events', () => {
  let sluice: RunningSluice;
  let work: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'sluice-author-'));
    sluice = await startSluice();
  });
  afterAll(async () => {
    await sluice?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const sluiceCli = (...args: string[]) => runCli(sluice, args);

  it('ends with the stored events carrying what the author wrote', async () => {
    const dir = join(work, 'shouter');
    const created = sluiceCli('new', 'app', dir, '--ts');
    expect(created.status, created.stderr).toBe(0);

    // The author's edit: one more property, from the app's config.
    const index = join(dir, 'index.ts');
    const source = readFileSync(index, 'utf8');
    expect(source).toContain('  return event;\n}');
    writeFileSync(index, source.replace('  return event;\n}', '  event.properties.shout = `${config.greeting}!`.toUpperCase();\n  return event;\n}'));

    const events = join(work, 'sample.jsonl');
    writeFileSync(events, [{ event: 'signup', distinct_id: 'ada' }, { event: 'drop me', distinct_id: 'bob' }].map((e) => JSON.stringify(e)).join('\n'));
    const dev = sluiceCli('dev', dir, '--events', events, '--config', 'greeting=Hey');
    expect(dev.status, dev.stderr).toBe(0);
    expect(dev.stdout).toContain('+ properties.shout: "HEY!"');
    expect(dev.stdout).toContain('2 events: 1 changed, 0 unchanged, 1 dropped, 0 errors');

    const { body: project } = await admin(sluice.url, 'POST', '/api/projects', { name: 'Authors' });
    const installed = sluiceCli('apps', 'install', dir, '--project', project.id, '--config', 'greeting=Hey', '--json');
    expect(installed.status, installed.stderr).toBe(0);
    expect(JSON.parse(installed.stdout)).toMatchObject({ name: 'Shouter', enabled: true, capabilities: ['processEvent'] });

    const kept = crypto.randomUUID();
    const batch = [{ event: 'signup', distinct_id: 'ada', uuid: kept }, { event: 'drop me', distinct_id: 'bob', uuid: crypto.randomUUID() }];
    expect((await post(sluice.url, '/batch', { api_key: project.token, batch })).status).toBe(200);
    const stored = await waitFor('the event through the new app', async () =>
      (await admin(sluice.url, 'GET', `/api/projects/${project.id}/events`)).body.results.find((e: any) => e.uuid === kept));
    expect(stored.properties).toMatchObject({ greeting: 'Hey ada', shout: 'HEY!', $plugins_succeeded: [expect.stringMatching(/^Shouter \(\d+\)$/)] });
    // The dropped event never reached the store.
    expect((await admin(sluice.url, 'GET', `/api/projects/${project.id}/events`)).body.results.map((e: any) => e.distinct_id)).toEqual(['ada']);
  });
});
