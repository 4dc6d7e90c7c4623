import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, capture, install } from './helpers/api';
import { REPO_ROOT, cliArgv, startSluice, waitFor, type RunningSluice } from './helpers/services';

describe('reading what was stored: event filters and pages, logs filtered and followed (sluice start)', () => {
  let sluice: RunningSluice;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    sluice = await startSluice();
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await sluice?.stop();
  });

  /** A long-running CLI command whose output is collected as it comes. */
  const cliRunning = (...args: string[]) => {
    const child = spawn(process.execPath, cliArgv(...args), {
      cwd: REPO_ROOT,
      env: { ...process.env, ...sluice.env, SLUICE_URL: sluice.url },
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    return () => output;
  };

  it('follows an app\'s logs and tails events with the CLI, and filters and pages through the API', async () => {
    const recorder = await install(sluice.url, 'test/fixtures/apps/onevent-recorder');
    const followed = cliRunning('apps', 'logs', String(recorder.id), '--follow');
    const tailed = cliRunning('events', 'tail', '--event', 'tail-me', '--json');
    await new Promise((done) => setTimeout(done, 3000)); // both CLIs started and listening
    const wanted = Array.from({ length: 3 }, () => ({ event: 'tail-me', distinct_id: 'reader', uuid: randomUUID(), properties: {} }));
    const others = Array.from({ length: 2 }, () => ({ event: 'other', distinct_id: 'someone', uuid: randomUUID(), properties: {} }));
    await capture(sluice.url, [...wanted, ...others]);

    await waitFor('the followed logs to show every delivery', async () =>
      [...wanted, ...others].every(({ uuid }) => followed().includes(`received ${uuid}`)), 20_000);
    await waitFor('the tail to show the wanted events', async () => wanted.every(({ uuid }) => tailed().includes(uuid)), 20_000);
    expect(others.some(({ uuid }) => tailed().includes(uuid))).toBe(false);

    const byName = await admin(sluice.url, 'GET', '/api/projects/default/events?event=tail-me');
    expect(byName.body.results.map((e: any) => e.uuid).sort()).toEqual(wanted.map((e) => e.uuid).sort());
    const byPerson = await admin(sluice.url, 'GET', '/api/projects/default/events?distinct_id=someone');
    expect(byPerson.body.results).toHaveLength(2);
    const page1 = await admin(sluice.url, 'GET', '/api/projects/default/events?limit=3');
    expect(page1.body.next).toEqual(expect.any(String));
    const page2 = await admin(sluice.url, 'GET', `/api/projects/default/events?limit=3&cursor=${page1.body.next}`);
    const uuids = [...page1.body.results, ...page2.body.results].map((e: any) => e.uuid);
    expect(new Set(uuids).size).toBe(5);
    expect(page2.body.next).toBeNull();
    const future = await admin(sluice.url, 'GET', `/api/projects/default/events?from=${new Date(Date.now() + 3_600_000).toISOString()}`);
    expect(future.body.results).toEqual([]);
    expect((await admin(sluice.url, 'GET', '/api/projects/default/events?from=yesterday')).body).toMatchObject({ details: { field: 'from' } });

    const errorsOnly = await admin(sluice.url, 'GET', `/api/projects/default/apps/${recorder.id}/logs?level=error`);
    expect(errorsOnly.body.results).toEqual([]);
    const logLevel = await admin(sluice.url, 'GET', `/api/projects/default/apps/${recorder.id}/logs?level=log`);
    expect(logLevel.body.results).toHaveLength(5);
  }, 90_000);
});
