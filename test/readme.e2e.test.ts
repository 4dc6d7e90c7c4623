/**
 * The README's commands, run as a newcomer runs them: `npm start` in a shell with no terminal
 * (stdin closed, as in CI), then the "First steps" block as one bash script. The only edits are
 * the ones a test must make to share the machine: its own port, data dir and Redis prefix, given
 * through the environment and by pointing `localhost:8000` and `.sluice/` at them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appSource } from './helpers/api';
import { REDIS_URL, REPO_ROOT, deleteRedisPrefix, freePort, freshDataDir, testPrefix, waitFor } from './helpers/services';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The lines of the first ```sh block after the given heading. */
function shellBlock(heading: string): string[] {
  const section = README.slice(README.indexOf(`\n## ${heading}\n`));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error(`README.md: no sh block under "## ${heading}"`);
  return block[1]!.trim().split('\n');
}

describe('the README', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('names two commands, both npm scripts, that need no terminal', () => {
    const commands = shellBlock('Two commands').map((line) => line.replace(/#.*/, '').trim());
    expect(commands).toEqual(['npm start', 'npm run test:all']);
    const scripts = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts;
    expect(scripts.start).toBeDefined();
    expect(scripts['test:all']).toBeDefined();
    // `npx` without -y stops at a prompt where there is no terminal; pnpm is not on a newcomer's PATH.
    expect(README).not.toMatch(/npx (?!-y\b)/);
    expect(README).not.toMatch(/(^|[\s`])pnpm (sluice|start|bench|install)/m);
  });

  it('npm start runs the whole system, and the first steps work as written', async () => {
    const port = await freePort();
    const dataDir = await freshDataDir();
    const prefix = testPrefix();
    const { SLUICE_GEOIP_DB: _unset, ...inherited } = process.env;
    const env = { ...inherited, SLUICE_PORT: String(port), SLUICE_METRICS_PORT: String(await freePort()), SLUICE_DATA_DIR: dataDir, SLUICE_REDIS_PREFIX: prefix, REDIS_URL };
    // Its own process group: npm, bash and sluice are stopped together.
    const npm = spawn('npm', ['start'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    npm.stdout!.on('data', (chunk) => (output += chunk));
    npm.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((done) => npm.once('exit', (code) => done(code)));
    cleanups.push(async () => {
      if (npm.exitCode === null && npm.signalCode === null) process.kill(-npm.pid!, 'SIGTERM');
      await exited;
      await deleteRedisPrefix(prefix);
      await rm(dataDir, { recursive: true, force: true });
    });
    await waitFor('npm start to answer /readyz', async () => {
      if (npm.exitCode !== null) throw new Error(`npm start exited ${npm.exitCode}: ${output}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
    }, 90_000);
    // Not a terminal: JSON log lines. (pino writes asynchronously: the line may arrive after /readyz answers)
    await waitFor('the listening log line', async () => /^\{"level":30,.*"msg":"sluice intake \+ worker \+ runner listening/m.test(output), 10_000, 50);

    const script = shellBlock('First steps').join('\n').replaceAll('localhost:8000', `127.0.0.1:${port}`).replaceAll('.sluice/', `${dataDir}/`);
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: REPO_ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(run.stderr.replace(/^\s*% Total[\s\S]*?\n(?=\S|$)/m, '')).not.toMatch(/sluice:|error/i);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/installed Hello World as instance/);
    expect(run.stdout).toMatch(/\{"status":1\}/);

    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const stored = await waitFor('the README event to be stored', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/api/projects/default/events?limit=5`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await response.json()) as { results: Array<{ event: string; properties: Record<string, unknown> }> };
      return body.results.find((event) => event.event === '$pageview');
    });
    // hello-world ran on it (the app the README installs).
    expect(JSON.stringify(stored.properties)).toMatch(/Ada/);

    // GeoIP with no setting: PostHog's GeoIP enricher on this very install locates 8.8.8.8 from
    // the database npm installed (SLUICE_GEOIP_DB is not in this environment).
    const api = (method: string, path: string, body?: unknown) => fetch(`http://127.0.0.1:${port}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    expect((await api('POST', '/api/projects/default/apps', { source: appSource('test/compat/geoip') })).status).toBe(201);
    const { token: projectToken } = (await (await api('GET', '/api/projects/default')).json()) as { token: string };
    const located = await api('POST', '/capture', { api_key: projectToken, event: 'located', distinct_id: 'u2', properties: { $ip: '8.8.8.8' } });
    expect(located.status).toBe(200);
    const enriched = await waitFor('the located event to be stored', async () => {
      const body = (await (await api('GET', '/api/projects/default/events?limit=5&event=located')).json()) as { results: Array<{ event: string; properties: Record<string, unknown> }> };
      return body.results.find((event) => event.event === 'located');
    });
    expect(enriched.properties).toMatchObject({ $geoip_country_code: 'US', $geoip_latitude: expect.any(Number), $geoip_longitude: expect.any(Number) });

    // As Ctrl-C in a terminal: the signal reaches npm and sluice; sluice shuts down cleanly.
    process.kill(-npm.pid!, 'SIGINT');
    await exited;
    expect(output).toMatch(/"msg":"shutting down"/);
    expect(output).not.toMatch(/"level":(50|60)/);
  }, 150_000);
});
