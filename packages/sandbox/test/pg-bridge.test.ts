import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { GuardedFetch, compileApp, createAppVm, type HostServices } from '../src';
import { MAX_PG_CONNECTIONS_PER_INSTANCE } from '../src/meta/pg';

/**
 * `require('pg')` in an app, against the machine's real PostgreSQL on loopback (the tests' own
 * table, dropped afterwards): node-postgres' Client and Pool, callbacks and promises, with the
 * connections on the host, the fetch guard on their address, and nothing left open after dispose.
 */
const DATABASE_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TABLE = `sluice_pg_bridge_${randomBytes(4).toString('hex')}`;
const allowLoopback = (): HostServices => ({ fetch: new GuardedFetch({ allowPrivate: ['127.0.0.1'], timeoutMs: 5000, maxResponseBytes: 1_000_000, maxRedirects: 0 }) });

function event(properties: Record<string, unknown> = {}): PluginEvent {
  return { uuid: randomBytes(8).toString('hex'), event: 'e', distinct_id: 'd', properties, timestamp: '2026-01-02T03:04:05.000Z', ip: null, site_url: '', team_id: 1, now: '', sent_at: null };
}

async function run(code: string, services: HostServices, input = event()) {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'pg-test' }), 'index.js': code });
  const vm = await createAppVm({ instanceId: 1, name: 'pg-test', code: app.code, config: { url: DATABASE_URL, table: TABLE }, limits: { callTimeoutMs: 10_000 }, onLog: () => {}, services });
  try {
    const [outcome] = await vm.processEventBatch([input]);
    return outcome;
  } finally {
    vm.dispose();
  }
}

/** The bridge's connections for this test's app, told apart by the application_name it gives them. */
async function openConnectionsOf(admin: pg.Client): Promise<number> {
  const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'sluice app pg-test'`);
  return rows[0].n as number;
}

describe("require('pg') through the host bridge", () => {
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: DATABASE_URL, application_name: 'sluice-test-admin' });
    await admin.connect();
    await admin.query(`CREATE TABLE ${TABLE} (uuid text PRIMARY KEY, event text, team_id int, at timestamptz, body bytea)`);
  });
  afterAll(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await admin.end();
  });

  it('inserts and reads back with Client (promises) and Pool (callbacks): rows, rowCount, fields, Dates and Buffers as pg gives them', async () => {
    const input = event();
    const outcome = await run(`const { Client, Pool } = require('pg')
      export async function processEvent(event, { config }) {
        const client = new Client({ connectionString: config.url })
        await client.connect()
        const inserted = await client.query('INSERT INTO ' + config.table + ' (uuid, event, team_id, at, body) VALUES ($1, $2, $3, $4, $5)',
          [event.uuid, event.event, event.team_id, event.timestamp, '\\\\x0102'])
        await client.end()
        const pool = new Pool({ connectionString: config.url, max: 2 })
        const read = await new Promise((resolve, reject) => pool.query({ text: 'SELECT * FROM ' + config.table + ' WHERE uuid = $1', values: [event.uuid] },
          (error, result) => (error ? reject(error) : resolve(result))))
        await pool.end()
        const row = read.rows[0]
        event.properties.out = { inserted: inserted.rowCount, command: inserted.command, fields: read.fields.map((f) => f.name),
          team: row.team_id, isDate: row.at instanceof Date, at: JSON.stringify(row.at), isBuffer: Buffer.isBuffer(row.body), body: Array.from(row.body) }
        return event
      }`, allowLoopback(), input);
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { out: {
      inserted: 1, command: 'INSERT', fields: ['uuid', 'event', 'team_id', 'at', 'body'], team: 1, isDate: true, at: '"2026-01-02T03:04:05.000Z"', isBuffer: true, body: [1, 2],
    } } } });
    const { rows } = await admin.query(`SELECT event FROM ${TABLE} WHERE uuid = $1`, [input.uuid]);
    expect(rows).toEqual([{ event: 'e' }]);
  });

  it('keeps a database error as the app sees it in node-postgres (message), and closes every connection when the VM goes', async () => {
    const before = await openConnectionsOf(admin);
    const outcome = await run(`const { Client } = require('pg')
      export async function processEvent(event, { config }) {
        const clients = [new Client(config.url), new Client(config.url)]
        for (const client of clients) await client.connect()
        try { await clients[0].query('SELECT * FROM no_such_table_here') } catch (error) { event.properties.error = error.message }
        return event
      }`, allowLoopback());
    expect(outcome).toMatchObject({ status: 'ok', event: { properties: { error: expect.stringContaining('no_such_table_here') } } });
    // The app never ended its two clients: disposing the VM did.
    await expect.poll(() => openConnectionsOf(admin), { timeout: 5000 }).toBe(before);
  });

  it('refuses loopback without the allow setting, and more connections than the cap', async () => {
    const blocked = await run(`const { Client } = require('pg')
      export async function processEvent(event, { config }) {
        try { await new Client({ host: '127.0.0.1', user: 'postgres', database: 'postgres' }).connect() } catch (error) { event.properties.error = error.message }
        try { await new Client({ host: '169.254.169.254' }).connect() } catch (error) { event.properties.metadata = error.message }
        return event
      }`, {});
    expect(blocked).toMatchObject({ status: 'ok', event: { properties: { error: expect.stringMatching(/127\.0\.0\.1.*is blocked/), metadata: expect.stringMatching(/169\.254\.169\.254.*is blocked/) } } });
    const capped = await run(`const { Client } = require('pg')
      export async function processEvent(event, { config }) {
        let opened = 0
        try { for (;;) { await new Client(config.url).connect(); opened++ } } catch (error) { event.properties.error = error.message }
        event.properties.opened = opened
        return event
      }`, allowLoopback());
    expect(capped).toMatchObject({ status: 'ok', event: { properties: { opened: MAX_PG_CONNECTIONS_PER_INSTANCE, error: expect.stringContaining('open connections') } } });
  });

  it("gives another instance nothing through a handle number: A's open connection is unknown in B, even forged into a Client", async () => {
    const services = allowLoopback();
    const owner = await compileApp({ 'plugin.json': JSON.stringify({ name: 'pg-test' }), 'index.js': `const { Client } = require('pg')
      export async function processEvent(event, { config, global }) {
        global.client = global.client || new Client(config.url)
        await global.client.connect()
        event.properties.handle = global.client._handle
        return event
      }` });
    // (the channel itself is not reachable from app code; a Client with A's number forged in is the closest an app gets)
    const thief = await compileApp({ 'plugin.json': JSON.stringify({ name: 'pg-thief' }), 'index.js': `const { Client } = require('pg')
      export async function processEvent(event) {
        try {
          const forged = new Client('postgres://nobody@203.0.113.1/none')
          forged._handle = event.properties.handle
          forged._connecting = Promise.resolve()
          await forged.query('SELECT current_user')
          event.properties.stolen = true
        } catch (error) { event.properties.error = error.message }
        return event
      }` });
    const a = await createAppVm({ instanceId: 1, name: 'pg-test', code: owner.code, config: { url: DATABASE_URL }, limits: { callTimeoutMs: 10_000 }, onLog: () => {}, services });
    const b = await createAppVm({ instanceId: 2, name: 'pg-thief', code: thief.code, config: {}, limits: { callTimeoutMs: 10_000 }, onLog: () => {}, services });
    try {
      const [opened] = await a.processEventBatch([event()]);
      const handle = opened?.status === 'ok' ? opened.event.properties.handle : undefined;
      expect(typeof handle).toBe('number');
      const [outcome] = await b.processEventBatch([event({ handle })]);
      expect(outcome).toMatchObject({ status: 'ok', event: { properties: { error: expect.stringContaining('no such client in this app') } } });
      expect(outcome).not.toMatchObject({ event: { properties: { stolen: true } } });
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
