/**
 * PostHog's Snowflake export as the catalogue writes it (test/compat/snowflake-export: a
 * generic-pool of snowflake-sdk connections, CREATE TABLE in setupPlugin, INSERT with binds in
 * exportEvents) through the whole pipeline into a local server speaking Snowflake's REST protocol
 * (test/helpers/snowflake-server.ts), reached by the real snowflake-sdk on the host through
 * SLUICE_SNOWFLAKE_URL; plus the bridge's other calls straight through a VM: row shapes, SQL
 * errors, generic-pool's calls, the egress guard, PUT refused, the connection cap and dispose.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { GuardedFetch, compileApp, createAppVm } from '@sluice/sandbox';
import { admin, install, post, sampleEvents } from './helpers/api';
import { openConnectionsTo } from './helpers/bridge-apps';
import { REPO_ROOT, startSluice, waitFor, type RunningSluice } from './helpers/services';
import { SnowflakeServer } from './helpers/snowflake-server';

const CREDENTIALS = { username: 'SLUICE_LOADER', password: 'correct horse battery staple' };
const loopback = () => new GuardedFetch({ allowPrivate: ['127.0.0.1'], timeoutMs: 5000, maxResponseBytes: 1_000_000, maxRedirects: 0 });

describe('the Snowflake export app into a Snowflake-protocol server', () => {
  let server: SnowflakeServer;
  let sluice: RunningSluice;
  // The services' home: snowflake-sdk would make ~/.cache/snowflake (OCSP cache) and log files there.
  const home = mkdtempSync(join(tmpdir(), 'sluice-snowflake-home-'));

  beforeAll(async () => {
    server = await new SnowflakeServer(CREDENTIALS).start();
    sluice = await startSluice({ SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1', SLUICE_SNOWFLAKE_URL: server.url, HOME: home });
  }, 60_000);
  afterAll(async () => {
    await sluice?.stop();
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('creates the table and inserts every exported event once, by binds, with the numeric team_id', async () => {
    await install(sluice.url, 'test/compat/snowflake-export', {
      account: 'acme-test', ...CREDENTIALS, database: 'ANALYTICS', dbschema: 'PUBLIC', table: 'POSTHOG_EVENTS', warehouse: 'LOADING', role: 'LOADER',
    });
    const events = sampleEvents(150);
    for (let start = 0; start < events.length; start += 50) {
      const batch = events.slice(start, start + 50);
      expect((await post(sluice.url, '/batch', { api_key: batch[0]!.api_key, batch })).status).toBe(200);
    }
    const table = await waitFor('150 rows in the table', async () => {
      const found = server.tables.get('ANALYTICS.PUBLIC.POSTHOG_EVENTS');
      return found && found.rows.length >= events.length && found;
    }, 45_000, 200);
    const column = (name: string) => table.columns.findIndex((candidate) => candidate.name === name);
    expect(table.rows.map((row) => row[column('UUID')]).sort()).toEqual(events.map((event) => event.uuid).sort());
    const { body: project } = await admin(sluice.url, 'GET', '/api/projects/default');
    expect(new Set(table.rows.map((row) => row[column('TEAM_ID')]))).toEqual(new Set([String(project.teamId)]));
    expect(table.columns.find((candidate) => candidate.name === 'TEAM_ID')?.type).toBe('fixed');

    // What the SDK sent: the login with the app's settings, the DDL, and inserts whose team_id bind is a number.
    // (one pooled connection, max 1, per VM of the instance: a process may run more than one)
    expect(server.logins.length).toBeGreaterThan(0);
    for (const login of server.logins) expect(login).toEqual({ account: 'acme-test', ...CREDENTIALS, database: 'ANALYTICS', schema: 'PUBLIC', warehouse: 'LOADING', role: 'LOADER' });
    expect(server.statements[0]!.sqlText).toMatch(/^CREATE TABLE IF NOT EXISTS ANALYTICS\.PUBLIC\.POSTHOG_EVENTS \(uuid STRING,[\s\S]* team_id INTEGER,/);
    const inserts = server.statements.filter((statement) => statement.sqlText.startsWith('INSERT INTO'));
    expect(inserts.length).toBeGreaterThan(0);
    const teamIdBinds = inserts.map((statement) => statement.bindings[7]!);
    expect(new Set(teamIdBinds.map((binding) => binding.type))).toEqual(new Set(['FIXED']));
    expect(teamIdBinds.flatMap((binding) => binding.value as unknown[]).every((value) => value === String(project.teamId))).toBe(true);
    // Pooled: far fewer logins than statements.
    expect(server.logins.length).toBeLessThan(inserts.length + 1);
    // The SDK wrote nothing: no cache directory in the home, no snowflake.log where the services run.
    expect(readdirSync(home)).toEqual([]);
    expect(existsSync(join(REPO_ROOT, 'snowflake.log'))).toBe(false);
  });
});

describe('the snowflake-sdk bridge and generic-pool, straight through a VM', () => {
  let server: SnowflakeServer;
  const previousUrl = process.env.SLUICE_SNOWFLAKE_URL;
  const connectionOptions = `{ account: 'acme', username: '${CREDENTIALS.username}', password: '${CREDENTIALS.password}', database: 'DB', schema: 'S', warehouse: 'WH', role: 'R' }`;

  beforeAll(async () => {
    server = await new SnowflakeServer(CREDENTIALS).start();
    process.env.SLUICE_SNOWFLAKE_URL = server.url;
  });
  afterAll(async () => {
    if (previousUrl === undefined) delete process.env.SLUICE_SNOWFLAKE_URL;
    else process.env.SLUICE_SNOWFLAKE_URL = previousUrl;
    await server?.stop();
  });

  async function run(name: string, body: string, fetch = loopback()) {
    const app = await compileApp({ 'plugin.json': JSON.stringify({ name }), 'index.js': `const snowflake = require('snowflake-sdk')
      const { createPool } = require('generic-pool')
      const connect = (options) => new Promise((resolve, reject) => {
        const connection = snowflake.createConnection(options)
        connection.connect((error, connected) => error ? reject(error) : resolve(connected))
      })
      const execute = (connection, sqlText, binds) => new Promise((resolve, reject) => connection.execute({
        sqlText, binds, complete: (error, statement, rows) => error ? reject(error) : resolve({ statement, rows }),
      }))
      const destroy = (connection) => new Promise((resolve, reject) => connection.destroy((error) => error ? reject(error) : resolve()))
      export async function processEvent(event) { ${body}; return event }` });
    const vm = await createAppVm({ instanceId: 1, name, code: app.code, config: {}, limits: { callTimeoutMs: 20_000 }, onLog: () => {}, services: { fetch } });
    try {
      const [outcome] = await vm.processEventBatch([sampleEvents(1)[0] as unknown as PluginEvent]);
      return outcome as { status: string; event?: { properties: Record<string, any> }; error?: unknown };
    } finally {
      vm.dispose();
    }
  }

  it('answers rows as plain objects keyed by column name, with Dates, Buffers, numbers and variants as the SDK gives them', async () => {
    const outcome = await run('sf-rows', `
      snowflake.configure({ logLevel: 'OFF' })
      const connection = snowflake.createConnection(${connectionOptions})
      const before = connection.isUp()
      await new Promise((resolve, reject) => connection.connect((error) => error ? reject(error) : resolve()))
      const after = connection.isUp()
      await execute(connection, 'CREATE TABLE IF NOT EXISTS SHAPES (ID INTEGER, NAME STRING, AMOUNT FLOAT, OK BOOLEAN, TS TIMESTAMP, D DATE, B BINARY, V VARIANT)')
      const inserted = await execute(connection, 'INSERT INTO SHAPES (ID, NAME, AMOUNT, OK, TS, D, B, V) VALUES (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?)',
        [7, 'seven', 1.5, true, new Date('2026-01-02T03:04:05.678Z'), '2026-01-02', 'hi', '{"k":[1,2]}', 8, null, null, false, null, null, null, null])
      const { statement, rows } = await execute(connection, 'SELECT * FROM SHAPES')
      event.properties.out = {
        before, after, sqlText: statement.getSqlText(), numRows: statement.getNumRows(), inserted: inserted.statement.getNumUpdatedRows(),
        columns: statement.getColumns().map((column) => column.getName() + ':' + column.getType()),
        first: rows[0], second: rows[1], plain: Object.getPrototypeOf(rows[0]) === Object.prototype,
        tsIsDate: rows[0].TS instanceof Date, ts: rows[0].TS.toISOString(), dIsDate: rows[0].D instanceof Date, d: rows[0].D.toISOString(),
        bIsBuffer: Buffer.isBuffer(rows[0].B), b: rows[0].B.toString('utf8'),
      }
      await destroy(connection)
      event.properties.out.afterDestroy = connection.isUp()`);
    expect(outcome.status).toBe('ok');
    const out = outcome.event!.properties.out;
    expect(out).toMatchObject({
      before: false, after: true, afterDestroy: false, sqlText: 'SELECT * FROM SHAPES', numRows: 2, inserted: 2, plain: true,
      columns: ['ID:fixed', 'NAME:text', 'AMOUNT:real', 'OK:boolean', 'TS:timestamp_ntz', 'D:date', 'B:binary', 'V:variant'],
      tsIsDate: true, ts: '2026-01-02T03:04:05.678Z', dIsDate: true, d: '2026-01-02T00:00:00.000Z', bIsBuffer: true, b: 'hi',
    });
    expect(out.first).toMatchObject({ ID: 7, NAME: 'seven', AMOUNT: 1.5, OK: true, V: { k: [1, 2] } });
    expect(out.second).toEqual({ ID: 8, NAME: null, AMOUNT: null, OK: false, TS: null, D: null, B: null, V: null });
    // The binds as the SDK sent them: typed, every value as text.
    const insert = server.statements.find((statement) => statement.sqlText.startsWith('INSERT INTO SHAPES'))!;
    expect(insert.bindings.slice(0, 5)).toEqual([
      { type: 'FIXED', value: '7' }, { type: 'TEXT', value: 'seven' }, { type: 'REAL', value: '1.5' }, { type: 'BOOLEAN', value: 'true' },
      { type: 'TEXT', value: '2026-01-02T03:04:05.678Z' },
    ]);
    expect(server.sessionDeletes.length).toBeGreaterThan(0);
  });

  it("gives SQL errors the SDK's code, sqlState and message, and login failures theirs; refuses PUT/GET", async () => {
    const outcome = await run('sf-errors', `
      const connection = await connect(${connectionOptions})
      try { await execute(connection, 'SELECT * FROM MISSING') } catch (error) { event.properties.missing = { name: error.name, code: error.code, sqlState: error.sqlState, message: error.message } }
      try { await execute(connection, 'DROP EVERYTHING') } catch (error) { event.properties.syntax = { code: error.code, sqlState: error.sqlState } }
      try { await execute(connection, " put file:///etc/passwd @~") } catch (error) { event.properties.put = error.message }
      try { await connect({ account: 'acme', username: 'nobody', password: 'wrong' }) } catch (error) { event.properties.login = { code: error.code, message: error.message } }
      await destroy(connection)`);
    expect(outcome.status).toBe('ok');
    expect(outcome.event!.properties).toMatchObject({
      missing: { name: 'OperationFailedError', code: '002003', sqlState: '42S02', message: "SQL compilation error:\nTable 'MISSING' does not exist or not authorized." },
      syntax: { code: '001003', sqlState: '42000' },
      put: expect.stringContaining('PUT and GET (file transfers) are not available to apps'),
      login: { code: '390100', message: 'Incorrect username or password was specified.' },
    });
    expect(server.statements.some((statement) => /put file/i.test(statement.sqlText))).toBe(false);
  });

  it('pools snowflake connections with generic-pool: acquire reuses, release, drain, clear destroys them', async () => {
    const logins = server.logins.length;
    const deletes = server.sessionDeletes.length;
    const outcome = await run('sf-pool', `
      let created = 0, destroyed = 0
      const pool = createPool({
        create: async () => { created++; return connect(${connectionOptions}) },
        destroy: async (connection) => { destroyed++; await destroy(connection) },
      }, { min: 1, max: 2 })
      const a = await pool.acquire()
      const b = await pool.acquire()
      const sizes = [pool.size, pool.borrowed, pool.available]
      await execute(a, 'CREATE TABLE IF NOT EXISTS POOLED (N INTEGER)')
      await pool.release(a)
      const again = await pool.acquire()
      const reused = again === a
      await pool.release(again)
      await pool.release(b)
      await pool.drain()
      await pool.clear()
      event.properties.out = { created, destroyed, sizes, reused, after: pool.size }`);
    expect(outcome.status).toBe('ok');
    expect(outcome.event!.properties.out).toEqual({ created: 2, destroyed: 2, sizes: [2, 2, 0], reused: true, after: 0 });
    expect(server.logins.length - logins).toBe(2);
    expect(server.sessionDeletes.length - deletes).toBe(2);
  });

  it("refuses 169.254.169.254, and 127.0.0.1 without the allow setting, with the guard's message; nothing reaches the server", async () => {
    const logins = server.logins.length;
    const blocked = async (url: string) => {
      process.env.SLUICE_SNOWFLAKE_URL = url;
      try {
        const outcome = await run('sf-egress', `try { await connect(${connectionOptions}) } catch (error) { event.properties.error = { name: error.name, message: error.message } }`, new GuardedFetch());
        return outcome.event!.properties.error;
      } finally {
        process.env.SLUICE_SNOWFLAKE_URL = server.url;
      }
    };
    expect(await blocked('http://169.254.169.254')).toEqual({ name: 'FetchBlockedError', message: expect.stringMatching(/^Snowflake to 169\.254\.169\.254 \(169\.254\.169\.254\) is blocked: linkLocal addresses are not reachable from apps/) });
    expect(await blocked(server.url)).toEqual({ name: 'FetchBlockedError', message: expect.stringMatching(/^Snowflake to 127\.0\.0\.1 \(127\.0\.0\.1\) is blocked: loopback addresses/) });
    expect(await blocked(server.url.replace('127.0.0.1', 'localhost'))).toEqual({ name: 'FetchBlockedError', message: expect.stringMatching(/^Snowflake to localhost \(127\.0\.0\.1\) is blocked/) });
    expect(server.logins.length).toBe(logins);
  });

  it('caps the connections an instance holds and closes every one when the VM goes', async () => {
    const deletes = server.sessionDeletes.length;
    const outcome = await run('sf-cap', `
      let opened = 0
      try { for (;;) { await connect(${connectionOptions}); opened++ } } catch (error) { event.properties.error = error.message }
      event.properties.opened = opened`);
    expect(outcome.event!.properties).toMatchObject({ opened: 10, error: expect.stringContaining('more than 10 open connections') });
    await waitFor('the ten sessions deleted', async () => server.sessionDeletes.length - deletes >= 10, 10_000, 100);
    await expect.poll(() => openConnectionsTo(server.url), { timeout: 5000 }).toBe(0);
  });
});
