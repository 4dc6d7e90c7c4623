import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, cliArgv } from './helpers/services';

function sluice(args: string[], env: Record<string, string> = {}) {
  const { DATABASE_URL: _, ...rest } = process.env;
  return spawnSync(process.execPath, cliArgv(...args), {
    cwd: REPO_ROOT, env: { ...rest, ...env }, encoding: 'utf8', timeout: 30_000,
  });
}

describe('sluice refuses to start with a clear line', () => {
  it('a service alone without DATABASE_URL', () => {
    const run = sluice(['worker']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^sluice: sluice worker needs DATABASE_URL: .*run "sluice start"/);
  });

  it('an invalid environment variable, named', () => {
    const run = sluice(['start'], { SLUICE_PORT: 'eighty' });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('sluice: SLUICE_PORT must be an integer from 0 to 65535, got "eighty"\n');
  });

  it('a CA file for HTTPS egress that is missing or holds no certificate, named', () => {
    const missing = sluice(['start'], { SLUICE_FETCH_CA: '/nonexistent/ca.pem' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('sluice: SLUICE_FETCH_CA: cannot read "/nonexistent/ca.pem" (ENOENT)\n');
    const notPem = sluice(['start'], { SLUICE_FETCH_CA: 'package.json' });
    expect(notPem.status).toBe(2);
    expect(notPem.stderr).toBe('sluice: SLUICE_FETCH_CA: "package.json" holds no PEM certificate (-----BEGIN CERTIFICATE-----)\n');
  });

  it('an unknown command, with the usage', () => {
    const run = sluice(['frobnicate']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('unknown command "frobnicate"');
    expect(run.stderr).toContain('apps install <dir>');
  });
});

describe('sluice dev: an app run locally in the sandbox, no Redis, no store', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const eventsFile = (events: unknown[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-dev-'));
    dirs.push(dir);
    const path = join(dir, 'events.jsonl');
    writeFileSync(path, events.map((event) => JSON.stringify(event)).join('\n'));
    return path;
  };

  it('shows each event\'s diff, and the summary', () => {
    const path = eventsFile([
      { event: '$pageview', distinct_id: 'u1', properties: { $current_url: 'https://x' } },
      { event: 'signup', distinct_id: 'u2' },
    ]);
    const run = sluice(['dev', 'examples/hello-world', '--events', path, '--config', 'name=Ada'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.match(/\+ properties\.hello: "Hello Ada"/g)).toHaveLength(2);
    expect(run.stdout).toContain('2 events: 2 changed, 0 unchanged, 0 dropped, 0 errors');
  });

  it('shows the jobs an app enqueues, as JSON for scripts', () => {
    const path = eventsFile([{ event: 'later', distinct_id: 'u1', uuid: '0190a5b1-1111-7000-8000-00000000000a' }]);
    const run = sluice(['dev', 'test/fixtures/apps/jobs-and-schedules', '--events', path, '--json']);
    expect(run.status, run.stderr).toBe(0);
    const records = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(records).toContainEqual(expect.objectContaining({ type: 'job', name: 'remember', payload: expect.objectContaining({ uuid: '0190a5b1-1111-7000-8000-00000000000a' }) }));
    expect(records.at(-1)).toMatchObject({ type: 'summary', events: 1, unchanged: 1 });
  });

  it('names the file and the field when the app cannot run', () => {
    const path = eventsFile([{ event: 'e', distinct_id: 'u' }]);
    const run = sluice(['dev', 'test/fixtures/apps/chain-recorder', '--events', path]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('sluice: test/fixtures/apps/chain-recorder/plugin.json: config "label" is required but was not given (give it with --config label=…)\n');
  });

  it('warns of an optional require the sandbox lacks, as install does, and runs the app', () => {
    const app = mkdtempSync(join(tmpdir(), 'sluice-dev-'));
    dirs.push(app);
    writeFileSync(join(app, 'plugin.json'), JSON.stringify({ name: 'optional' }));
    writeFileSync(join(app, 'index.js'), "let Redis = null\ntry { Redis = require('ioredis') } catch {}\nexport function processEvent(e) { e.properties.redis = Redis !== null; return e }");
    const run = sluice(['dev', app, '--events', eventsFile([{ event: 'e', distinct_id: 'u' }])]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('log warn: installed without "ioredis": not available in the sandbox');
    expect(run.stdout).toContain('+ properties.redis: false');
  });

  it('scaffolds a new app that runs at once (sluice new app → sluice dev)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-dev-'));
    dirs.push(dir);
    const app = join(dir, 'my-app');
    const created = sluice(['new', 'app', app, '--ts']);
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toContain('plugin.json, index.ts, index.test.ts, README.md');
    const path = eventsFile([{ event: 'signup', distinct_id: 'ada' }, { event: 'drop me', distinct_id: 'bob' }]);
    const run = sluice(['dev', app, '--events', path, '--config', 'greeting=Hi']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('+ properties.greeting: "Hi ada"');
    expect(run.stdout).toContain('2 events: 1 changed, 0 unchanged, 1 dropped, 0 errors');
    const again = sluice(['new', 'app', app]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/exists and is not empty/);
  });
});
