/**
 * Test helpers. A fresh PGlite data directory costs ~3.5 s here, a copy of a migrated one a
 * fraction of that, so tests copy a template built once per machine; Postgres tests get a
 * throwaway schema each, so parallel test files never see each other's rows.
 */
import { createHash, randomBytes } from 'node:crypto';
import { access, cp, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store } from './index';
import { MIGRATIONS } from './migrations';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

let template: Promise<string> | undefined;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function buildTemplate(target: string): Promise<string> {
  if (await exists(target)) return target;
  // Built aside and renamed into place: rename is atomic, so the template path either does
  // not exist or holds a complete, cleanly closed, migrated database.
  const building = await mkdtemp(join(tmpdir(), 'sluice-pglite-template-build-'));
  try {
    const store = await openStore({ dataDir: building });
    await store.close();
    await rename(building, target);
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    // Another process (a parallel vitest worker) renamed its template first: use that one.
    if (await exists(target)) return target;
    throw error;
  }
  return target;
}

/**
 * The template's version: the migration count plus a hash of their SQL. The hash matters while a
 * migration is still being written: edited in place, it must not leave tests on a stale template
 * whose schema_migrations already claims that version.
 */
export const TEMPLATE_VERSION = `v${MIGRATIONS.length}-${createHash('sha256').update(JSON.stringify(MIGRATIONS)).digest('hex').slice(0, 12)}`;

/**
 * A migrated PGlite data directory to copy, never to open in place. Named after
 * TEMPLATE_VERSION, so a new or changed migration builds a new one. For end-to-end tests: a
 * service started with SLUICE_DATA_DIR=<dir> opens `<dir>/pglite`, so copy this template to
 * `<dir>/pglite` first.
 */
export function pgliteTemplateDir(): Promise<string> {
  template ??= buildTemplate(join(tmpdir(), `sluice-pglite-template-${TEMPLATE_VERSION}`)).catch((error) => {
    template = undefined;
    throw error;
  });
  return template;
}

export interface TestStore {
  store: Store;
  /** Closes the store and removes its data (the schema, or the PGlite directory). */
  cleanup(): Promise<void>;
}

export async function createTestStore(kind: 'postgres' | 'pglite'): Promise<TestStore> {
  if (kind === 'postgres') {
    const databaseUrl = process.env.SLUICE_TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
    const schema = `sluice_test_${randomBytes(6).toString('hex')}`;
    const store = await openStore({ databaseUrl, schema });
    return {
      store,
      async cleanup() {
        await store.close();
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await client.end();
        }
      },
    };
  }
  const source = await pgliteTemplateDir();
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-pglite-test-'));
  await cp(source, dataDir, { recursive: true });
  const store = await openStore({ dataDir });
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
