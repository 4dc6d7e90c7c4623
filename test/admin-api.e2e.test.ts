import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../packages/cli/src/admin-client';
import { appsCommand } from '../packages/cli/src/commands/apps';
import { devCommand } from '../packages/cli/src/commands/dev';
import { admin, appLogs, post } from './helpers/api';
import { ADMIN_TOKEN, PROJECT_TOKEN, REPO_ROOT, startSluice, waitFor, type RunningSluice } from './helpers/services';

/** Every admin route, as the OpenAPI document must list it. */
const ADMIN_ROUTES: Array<[string, string]> = [
  ['get', '/api/projects'],
  ['post', '/api/projects'],
  ['get', '/api/projects/{projectId}'],
  ['patch', '/api/projects/{projectId}'],
  ['delete', '/api/projects/{projectId}'],
  ['post', '/api/projects/{projectId}/rotate-token'],
  ['get', '/api/projects/{projectId}/apps'],
  ['post', '/api/projects/{projectId}/apps'],
  ['put', '/api/projects/{projectId}/apps/order'],
  ['get', '/api/projects/{projectId}/apps/{instanceId}'],
  ['patch', '/api/projects/{projectId}/apps/{instanceId}'],
  ['delete', '/api/projects/{projectId}/apps/{instanceId}'],
  ['post', '/api/projects/{projectId}/apps/{instanceId}/upgrade'],
  ['put', '/api/projects/{projectId}/apps/{instanceId}/attachments/{key}'],
  ['delete', '/api/projects/{projectId}/apps/{instanceId}/attachments/{key}'],
  ['get', '/api/projects/{projectId}/apps/{instanceId}/logs'],
  ['get', '/api/projects/{projectId}/apps/stats'],
  ['post', '/api/projects/{projectId}/apps/{instanceId}/test'],
  ['get', '/api/projects/{projectId}/apps/{instanceId}/metrics'],
  ['get', '/api/projects/{projectId}/apps/{instanceId}/errors'],
  ['get', '/api/projects/{projectId}/events/{uuid}/trail'],
  ['get', '/api/projects/{projectId}/dropped'],
  ['post', '/api/session'],
  ['get', '/api/session'],
  ['delete', '/api/session'],
  ['get', '/api/projects/{projectId}/events'],
  ['get', '/api/projects/{projectId}/dead-letters'],
  ['post', '/api/projects/{projectId}/dead-letters/replay'],
  ['get', '/api/apps'],
  ['get', '/api/apps/{appId}'],
  ['delete', '/api/apps/{appId}'],
];

/** Sends raw bytes to the admin API. */
async function upload(url: string, method: string, path: string, body: Uint8Array, contentType: string) {
  const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType }, body });
  return { status: response.status, body: (await response.json()) as any };
}

/** The stored event with that uuid, once the chain has run. */
async function storedEvent(url: string, distinctId: string, uuid: string): Promise<any> {
  return waitFor(`event ${uuid}`, async () =>
    (await admin(url, 'GET', `/api/projects/default/events?distinct_id=${distinctId}`)).body.results.find((e: any) => e.uuid === uuid));
}

describe('the admin API: OpenAPI, schemas, app archives and attachments (sluice start)', () => {
  let sluice: RunningSluice;
  let work: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'sluice-admin-api-'));
    sluice = await startSluice();
    // What the in-process CLI talks to (this file's worker is its own process).
    process.env.SLUICE_URL = sluice.url;
    process.env.SLUICE_ADMIN_TOKEN = ADMIN_TOKEN;
  });
  afterAll(async () => {
    await sluice?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * `sluice apps …` run in this process (quicker than a process per call, and its errors are ours; spawning is
   * covered by cli.e2e, admin-cli.e2e and author-roundtrip.e2e): status 0 with its output, or 2
   * with the one line the CLI would print.
   */
  const cli = async (command: string, ...args: string[]) => {
    expect(command).toBe('apps');
    const out = new PassThrough();
    let stdout = '';
    out.on('data', (chunk) => (stdout += chunk));
    try {
      await appsCommand(args, out);
      return { status: 0, stdout, stderr: '' };
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      return { status: 2, stdout, stderr: `sluice: ${error.message}\n` };
    }
  };

  it('serves an OpenAPI document of every admin route without a token; a schema-invalid request is a 400 naming the field', async () => {
    const response = await fetch(`${sluice.url}/api/docs/json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as any;
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [method, path] of ADMIN_ROUTES) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    expect(Object.keys(doc.paths).filter((path) => !path.startsWith('/api/'))).toEqual([]); // capture routes are not admin
    expect(doc.paths['/api/projects/{projectId}/apps'].post.requestBody.content).toHaveProperty('application/zip');
    expect(doc.paths['/api/projects'].post.requestBody.content['application/json'].schema.required).toEqual(['name']);

    const cases: Array<[string, string, unknown, string, RegExp]> = [
      ['POST', '/api/projects/default/apps', { source: 'index.js' }, 'source', /"source" must be object/],
      ['POST', '/api/projects/default/apps', { config: {} }, 'source', /"source" is required/],
      ['POST', '/api/projects/default/apps', { source: { 'index.js': '' }, config: { region: {} } }, 'config.region', /"config.region" must be string,number,boolean/],
      ['PUT', '/api/projects/default/apps/order', { order: [1, 'x'] }, 'order', /"order\[1\]" must be integer/],
      ['PATCH', '/api/projects/default', { anonymizeIps: 'yes' }, 'anonymizeIps', /"anonymizeIps" must be boolean/],
      ['POST', '/api/projects', { name: 7 }, 'name', /"name" must be string/],
    ];
    for (const [method, path, body, field, message] of cases) {
      const answer = await admin(sluice.url, method, path, body);
      expect(answer, `${method} ${path} ${JSON.stringify(body)}`).toMatchObject({ status: 400, body: { error: 'invalid_request', details: { field } } });
      expect(answer.body.message).toMatch(message);
    }
    expect(await admin(sluice.url, 'GET', '/api/projects/default/events?limit=0')).toMatchObject({ status: 400, body: { error: 'invalid_parameter', details: { field: 'limit' } } });
    expect(await admin(sluice.url, 'GET', '/api/projects/default/apps/abc')).toMatchObject({ status: 400, body: { details: { field: 'instanceId' } } });
    const level = await admin(sluice.url, 'GET', '/api/projects/default/apps/1/logs?level=loud');
    expect(level).toMatchObject({ status: 400, body: { details: { field: 'level' } } });
    expect(level.body.message).toBe('"level" must be one of debug, log, info, warn, error');
    // The token is still needed everywhere else, schema or not.
    expect((await fetch(`${sluice.url}/api/projects`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
  });

  it("installs an app whose optional require (inside try) names a missing module, warning in the app's logs; refuses it at top level", async () => {
    const source = {
      'plugin.json': JSON.stringify({ name: 'optional-require' }),
      'index.js': "let Redis = null\ntry { Redis = require('ioredis') } catch {}\nexport function processEvent(e) { e.properties.hasRedis = Redis !== null; return e }",
    };
    const installed = await admin(sluice.url, 'POST', '/api/projects/default/apps', { source });
    expect(installed.status, JSON.stringify(installed.body)).toBe(201);
    const logs = await appLogs(sluice.url, installed.body.id);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringContaining('installed without "ioredis": not available in the sandbox') }));
    const refused = await admin(sluice.url, 'POST', '/api/projects/default/apps', { source: { ...source, 'index.js': "import Redis from 'ioredis'\nexport function processEvent(e) { return e }" } });
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_app', details: { file: 'index.js' } } });
    expect(refused.body.message).toMatch(/^index\.js:1:\d+: import of "ioredis" is not available in the sandbox$/);
    expect((await admin(sluice.url, 'DELETE', `/api/projects/default/apps/${installed.body.id}`)).status).toBeLessThan(300);
  });

  it('installs an app from a .zip and a .tgz of its folder (CLI and API) and refuses traversal', async () => {
    // As people make them: the files under one top-level folder (tests and README left out on install).
    cpSync(join(REPO_ROOT, 'examples/greeting'), join(work, 'greeting'), { recursive: true });
    cpSync(join(REPO_ROOT, 'examples/hello-world'), join(work, 'hello'), { recursive: true });
    execFileSync('zip', ['-qr', 'hello.zip', 'hello/'], { cwd: work });
    execFileSync('tar', ['czf', 'greeting.tgz', 'greeting'], { cwd: work });

    const zipped = await cli('apps', 'install', join(work, 'hello.zip'), '--project', 'default', '--config', 'name=Zip', '--json');
    expect(zipped.status, zipped.stderr).toBe(0);
    expect(JSON.parse(zipped.stdout)).toMatchObject({ name: 'Hello World', enabled: true });
    const tgz = await cli('apps', 'install', join(work, 'greeting.tgz'), '--project', 'default', '--config', 'greeting=Salut');
    expect(tgz.status, tgz.stderr).toBe(0);
    expect(tgz.stdout).toMatch(/installed Greeting as instance \d+ of project default/);
    const { body: apps } = await admin(sluice.url, 'GET', '/api/apps');
    expect(apps.results.find((app: any) => app.name === 'Greeting').files.sort()).toEqual(['index.ts', 'plugin.json']);

    const uuid = crypto.randomUUID();
    expect((await post(sluice.url, '/capture', { api_key: PROJECT_TOKEN, event: 'e', distinct_id: 'archived', uuid })).status).toBe(200);
    const stored = await storedEvent(sluice.url, 'archived', uuid);
    expect(stored.properties.hello).toBe('Hello Zip');
    expect(JSON.stringify(stored.properties)).toContain('Salut');

    // Straight to the API: a .tgz body, config in the query.
    const raw = await upload(sluice.url, 'POST', '/api/projects/default/apps?config.name=Raw&enabled=false', new Uint8Array(execFileSync('tar', ['czf', '-', 'hello'], { cwd: work })), 'application/gzip');
    expect(raw).toMatchObject({ status: 201, body: { name: 'Hello World', enabled: false } });
    const { body: rawInstance } = await admin(sluice.url, 'GET', `/api/projects/default/apps/${raw.body.id}`);
    expect(rawInstance.config.name).toBe('Raw');

    const evil = zipSync({ 'plugin.json': new TextEncoder().encode('{"name":"Evil"}'), '../../outside.js': new TextEncoder().encode('x') });
    const refused = await upload(sluice.url, 'POST', '/api/projects/default/apps', evil, 'application/zip');
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_archive', details: { file: '../../outside.js' } } });
    expect(refused.body.message).toMatch(/".." \(a path outside the app folder\) is not allowed/);
    writeFileSync(join(work, 'junk.zip'), 'not a zip at all');
    const junk = await cli('apps', 'install', join(work, 'junk.zip'));
    expect(junk.status).toBe(2);
    expect(junk.stderr).toMatch(/400.*not a \.zip, \.tgz or \.tar archive/);
    for (const id of [JSON.parse(zipped.stdout).id, raw.body.id]) await admin(sluice.url, 'DELETE', `/api/projects/default/apps/${id}`);
    const greeting = (await admin(sluice.url, 'GET', '/api/projects/default/apps')).body.results.find((i: any) => i.name === 'Greeting');
    await admin(sluice.url, 'DELETE', `/api/projects/default/apps/${greeting.id}`);
  });

  it('takes attachments: required ones block enabling, uploads reach meta.attachments at once (text and binary)', async () => {
    const installed = await cli('apps', 'install', join(REPO_ROOT, 'test/fixtures/apps/attachment-reader'), '--project', 'default');
    expect(installed.status, installed.stderr).toBe(0);
    expect(installed.stdout).toMatch(/disabled until its attachment "blocklist" is uploaded: sluice apps attach \d+ blocklist <file>/);
    const instanceId = Number(/as instance (\d+)/.exec(installed.stdout)![1]);
    const path = `/api/projects/default/apps/${instanceId}`;
    expect(await admin(sluice.url, 'PATCH', path, { enabled: true })).toMatchObject({ status: 400, body: { error: 'attachment_required', details: { field: 'blocklist' } } });
    const notAField = await upload(sluice.url, 'PUT', `${path}/attachments/config`, new Uint8Array([1]), 'text/plain');
    expect(notAField).toMatchObject({ status: 400, body: { details: { field: 'key' } } });
    expect(notAField.body.message).toMatch(/its attachment fields are blocklist, logo/);

    writeFileSync(join(work, 'blocked.txt'), 'spammer\nbot-7\n');
    const attached = await cli('apps', 'attach', String(instanceId), 'blocklist', join(work, 'blocked.txt'));
    expect(attached.status, attached.stderr).toBe(0);
    expect(attached.stdout).toMatch(/attached blocked.txt \(14 bytes, text\/plain\) as "blocklist"/);
    expect((await cli('apps', 'enable', String(instanceId))).status).toBe(0);

    const ok = crypto.randomUUID();
    const batch = [{ event: 'e', distinct_id: 'spammer', uuid: crypto.randomUUID() }, { event: 'e', distinct_id: 'reader', uuid: ok }];
    expect((await post(sluice.url, '/batch', { api_key: PROJECT_TOKEN, batch })).status).toBe(200);
    const stored = await storedEvent(sluice.url, 'reader', ok);
    expect(stored.properties.attachment).toEqual({ file_name: 'blocked.txt', content_type: 'text/plain', lines: 2 });
    expect(stored.properties.logo).toBeNull();
    expect((await admin(sluice.url, 'GET', '/api/projects/default/events?distinct_id=spammer')).body.results).toEqual([]);

    // A binary upload reloads the instance: the next events see it as bytes.
    const png = await upload(sluice.url, 'PUT', `${path}/attachments/logo?fileName=logo.png`, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1]), 'image/png');
    expect(png).toMatchObject({ status: 200, body: { key: 'logo', fileName: 'logo.png', contentType: 'image/png', size: 6 } });
    const next = await waitFor('an event that sees the logo', async () => {
      const uuid = crypto.randomUUID();
      await post(sluice.url, '/capture', { api_key: PROJECT_TOKEN, event: 'e', distinct_id: 'reader2', uuid });
      const event = await storedEvent(sluice.url, 'reader2', uuid);
      return event.properties.logo ? event : undefined;
    });
    expect(next.properties.logo).toEqual({ file_name: 'logo.png', binary: true, bytes: 6, first: 0x89 });
    const { body: view } = await admin(sluice.url, 'GET', path);
    expect(view.attachments.map((a: any) => [a.key, a.fileName, a.size])).toEqual([['blocklist', 'blocked.txt', 14], ['logo', 'logo.png', 6]]);
    expect((await admin(sluice.url, 'DELETE', `${path}/attachments/logo`)).status).toBe(204);
    await admin(sluice.url, 'DELETE', path);

    // The same files locally: sluice dev --attach.
    writeFileSync(join(work, 'events.jsonl'), '{"event":"e","distinct_id":"bot-7"}\n{"event":"e","distinct_id":"reader"}\n');
    const out = new PassThrough();
    let dev = '';
    out.on('data', (chunk) => (dev += chunk));
    await devCommand([join(REPO_ROOT, 'test/fixtures/apps/attachment-reader'), '--events', join(work, 'events.jsonl'), '--attach', `blocklist=${join(work, 'blocked.txt')}`], out);
    expect(dev).toContain('+ properties.attachment: {"file_name":"blocked.txt","content_type":"text/plain","lines":2}');
    expect(dev).toContain('2 events: 1 changed, 0 unchanged, 1 dropped, 0 errors');
  });

  it("logs the console in with a session cookie: HttpOnly, SameSite=Strict, refused when wrong, tampered or logged out", async () => {
    const session = (method: string, body?: unknown, cookie?: string) =>
      fetch(`${sluice.url}/api/session`, { method, headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(cookie && { cookie }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const wrong = await session('POST', { token: 'nope' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'unauthorized', message: expect.stringContaining('wrong admin token'), details: { field: 'token' } });
    expect((await session('POST', {})).status).toBe(400);

    const login = await session('POST', { token: ADMIN_TOKEN });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^sluice_session=\d+\.[\w-]{43}; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(';')[0]!;
    const withCookie = (value: string) => fetch(`${sluice.url}/api/projects`, { headers: { cookie: value } });
    expect((await withCookie(cookie)).status).toBe(200);
    expect((await session('GET', undefined, cookie)).status).toBe(200);
    // A changed expiry or signature is refused; so is the cookie beside a wrong bearer token.
    const [expires, signature] = cookie.slice('sluice_session='.length).split('.');
    expect((await withCookie(`sluice_session=${Number(expires) + 3600}.${signature}`)).status).toBe(401);
    expect((await withCookie(`sluice_session=${expires}.${signature!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`)).status).toBe(401);
    expect((await fetch(`${sluice.url}/api/projects`, { headers: { cookie, authorization: 'Bearer wrong' } })).status).toBe(401);
    const logout = await session('DELETE', undefined, cookie);
    expect(logout.status).toBe(204);
    expect(logout.headers.get('set-cookie')).toMatch(/^sluice_session=; Max-Age=0;/);
  });

  it('installs an app disabled without its required values, refuses to enable it until they are set, and keeps a secret sent back masked', async () => {
    const source = {
      'plugin.json': JSON.stringify({ name: 'Needs config', config: [{ key: 'host', required: true }, { key: 'apiKey', secret: true }, { key: 'extra', required_if: [['host', 'strict.example']] }] }),
      'index.js': 'export function processEvent(event, { config }) { event.properties.key_ok = config.apiKey === "sk_kept_secret"; return event }',
    };
    expect(await admin(sluice.url, 'POST', '/api/projects/default/apps', { source })).toMatchObject({ status: 400, body: { details: { field: 'host' } } });
    const installed = await admin(sluice.url, 'POST', '/api/projects/default/apps', { source, enabled: false });
    expect(installed).toMatchObject({ status: 201, body: { enabled: false } });
    const path = `/api/projects/default/apps/${installed.body.id}`;
    expect(await admin(sluice.url, 'PATCH', path, { enabled: true })).toMatchObject({ status: 400, body: { details: { field: 'host' }, message: expect.stringContaining('config "host" is required') } });
    expect(await admin(sluice.url, 'PATCH', path, { config: { host: 'strict.example' } })).toMatchObject({ status: 400, body: { details: { field: 'extra' } } });
    expect((await admin(sluice.url, 'PATCH', path, { config: { host: 'h', apiKey: 'sk_kept_secret' }, enabled: true })).status).toBe(200);
    const shown = (await admin(sluice.url, 'GET', path)).body.config;
    expect(shown).toEqual({ host: 'h', apiKey: '••••••••' });
    // What a form sends back: the masked value, which keeps the secret.
    expect((await admin(sluice.url, 'PATCH', path, { config: { ...shown, host: 'h2' } })).status).toBe(200);
    const uuid = crypto.randomUUID();
    expect((await post(sluice.url, '/capture', { api_key: PROJECT_TOKEN, event: 'e', distinct_id: 'secret-check', uuid })).status).toBe(200);
    expect((await storedEvent(sluice.url, 'secret-check', uuid)).properties.key_ok).toBe(true);

    // The counters the console shows, summed over the running processes.
    const stats = await waitFor('the stage counter', async () => {
      const { body } = await admin(sluice.url, 'GET', '/api/projects/default/apps/stats');
      const mine = body.results.find((entry: any) => entry.instanceId === installed.body.id);
      return mine?.stage.processed >= 1 && body;
    });
    expect(stats).toMatchObject({ processes: 1, unreachable: [] });
    expect(stats.results.find((entry: any) => entry.instanceId === installed.body.id)).toMatchObject({ queue: { waiting: 0, active: 0, delayed: 0, failed: 0 } });
    expect((await admin(sluice.url, 'GET', '/api/projects/nope/apps/stats')).status).toBe(404);
    await admin(sluice.url, 'DELETE', path);
  });
});
