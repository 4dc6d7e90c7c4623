import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, install, post, sampleEvents, storedEvents } from './helpers/api';
import { ADMIN_TOKEN, runCli, startSluice, waitFor, type RunningSluice } from './helpers/services';

const BODY_LIMIT = 64 * 1024;

describe('bad input gets a clear 4xx and loses nothing already accepted', () => {
  let sluice: RunningSluice;
  const accepted = sampleEvents(20);

  beforeAll(async () => {
    sluice = await startSluice({ SLUICE_MAX_BODY_BYTES: String(BODY_LIMIT) });
    await install(sluice.url, 'examples/hello-world');
    const first = await post(sluice.url, '/batch', { api_key: accepted[0]!.api_key, batch: accepted });
    expect(first).toEqual({ status: 200, body: { status: 1 } });
  });

  afterAll(async () => {
    await sluice?.stop();
  });

  it('malformed JSON → 400 invalid_json', async () => {
    const answer = await post(sluice.url, '/capture', '{"api_key": "phc_x", "event": ');
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'invalid_json' });
    expect(answer.body.message).toMatch(/not valid JSON/);
  });

  it('missing event name → 400 naming it, and the whole batch is refused', async () => {
    const [good, bad] = sampleEvents(2);
    delete bad!.event;
    const answer = await post(sluice.url, '/batch', { api_key: good!.api_key, batch: [good, bad] });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'missing_event_name', message: 'event 1 has no "event" name' });
    await new Promise((done) => setTimeout(done, 500));
    expect((await storedEvents(sluice.url)).some((event) => event.uuid === good!.uuid)).toBe(false);
  });

  it('wrong or missing token → 401', async () => {
    const [event] = sampleEvents(1);
    const wrong = await post(sluice.url, '/capture', { ...event, api_key: 'phc_wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_token');
    const { api_key: _, ...noToken } = event!;
    const missing = await post(sluice.url, '/capture', noToken);
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe('missing_token');
  });

  it('a body over the size limit → 413 payload_too_large', async () => {
    const big = sampleEvents(200);
    const body = JSON.stringify({ api_key: big[0]!.api_key, batch: big });
    expect(body.length).toBeGreaterThan(BODY_LIMIT);
    const answer = await post(sluice.url, '/batch', body);
    expect(answer.status).toBe(413);
    expect(answer.body.error).toBe('payload_too_large');
  });

  it('the admin API refuses a missing or wrong admin token and bad app source, naming the problem', async () => {
    const none = await fetch(`${sluice.url}/api/projects`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: 'unauthorized' });
    const wrong = await fetch(`${sluice.url}/api/projects`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const badJson = await admin(sluice.url, 'POST', '/api/projects/default/apps', { source: { 'plugin.json': '{"name":', 'index.js': '' } });
    expect(badJson.status).toBe(400);
    expect(badJson.body).toMatchObject({ error: 'invalid_app', details: { file: 'plugin.json' } });
    const badImport = await admin(sluice.url, 'POST', '/api/projects/default/apps', {
      source: { 'plugin.json': '{"name":"x"}', 'index.js': 'import _ from "lodash"; export function processEvent(e) { return e }' },
    });
    expect(badImport.status).toBe(400);
    expect(badImport.body.message).toContain('lodash');
    const missingProject = await admin(sluice.url, 'GET', '/api/projects/nope/apps');
    expect(missingProject.status).toBe(404);
  });

  it('the CLI exits non-zero with one line naming the folder, file and field', () => {
    const cli = (...args: string[]) => runCli(sluice, ['apps', 'install', ...args]);
    const missing = cli('./no-such-app');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('sluice: ./no-such-app: not a folder (an app folder holds plugin.json and index.js or index.ts)\n');
    const bad = cli('./test/fixtures/apps/bad-plugin-json');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/plugin\.json: "config\[0\]\.type" must be one of string, json, attachment, choice.*"field":"config\[0\]\.type"/);
    const badConfig = cli('./examples/hello-world', '--config', 'novalue');
    expect(badConfig.status).toBe(2);
    expect(badConfig.stderr).toContain('--config "novalue": expected key=value');
  });

  it('everything accepted before the bad requests is stored, greeted', async () => {
    const stored = await waitFor('accepted events stored', async () => {
      const rows = await storedEvents(sluice.url);
      return rows.length >= accepted.length && rows;
    });
    expect(new Set(stored.map((event) => event.uuid))).toEqual(new Set(accepted.map((event) => event.uuid)));
    expect(stored.every((event) => event.properties.hello === 'Hello world')).toBe(true);
  });
});
