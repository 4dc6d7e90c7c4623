/**
 * PostHog's PostgreSQL export, as the catalogue writes it (test/compat/postgres-export: `pg`'s
 * Client, SSL on, team_id an INT column), through the whole pipeline into a real PostgreSQL that
 * only takes TLS connections, its certificate signed by a private CA the operator gives Sluice.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, install, post, sampleEvents } from './helpers/api';
import { startSslPostgres, type SslPostgres } from './helpers/postgres-ssl';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';
import { makeTestCa, type TestCa } from './helpers/test-ca';

const TABLE = 'sluice_export';

describe('the PostgreSQL export app over TLS', () => {
  let ca: TestCa;
  let database: SslPostgres;
  let sluice: RunningSluice;
  let reader: pg.Client;

  beforeAll(async () => {
    ca = makeTestCa();
    database = await startSslPostgres(ca);
    reader = new pg.Client({ connectionString: database.url, ssl: { ca: ca.caPem } });
    await reader.connect();
    sluice = await startSluice({ SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1', SLUICE_FETCH_CA: ca.caFile });
  }, 60_000);
  afterAll(async () => {
    await sluice?.stop();
    await reader?.end();
    await database?.stop();
    ca?.remove();
  });

  it('writes every exported event once, with the project\'s numeric team_id', async () => {
    await install(sluice.url, 'test/compat/postgres-export', { databaseUrl: database.url, tableName: TABLE, exportEventsBufferSeconds: '0.5' });
    const events = sampleEvents(120);
    for (let start = 0; start < events.length; start += 40) {
      const batch = events.slice(start, start + 40);
      expect((await post(sluice.url, '/batch', { api_key: batch[0]!.api_key, batch })).status).toBe(200);
    }
    const rows = await waitFor('120 rows in the export table', async () => {
      const { rows } = await reader.query(`SELECT uuid, event, distinct_id, team_id, properties FROM public.${TABLE}`).catch(() => ({ rows: [] as any[] }));
      return rows.length >= events.length && rows;
    }, 30_000, 250);
    expect(rows.map((row) => row.uuid).sort()).toEqual(events.map((event) => event.uuid).sort());
    const { body: project } = await admin(sluice.url, 'GET', '/api/projects/default');
    expect(new Set(rows.map((row) => row.team_id))).toEqual(new Set([project.teamId]));
    const first = rows.find((row) => row.uuid === events[0]!.uuid)!;
    expect(first).toMatchObject({ event: events[0]!.event, distinct_id: events[0]!.distinct_id });
    expect(first.properties.$lib).toBe(events[0]!.properties.$lib);
  });
});
