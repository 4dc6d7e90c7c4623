import { openStore, type StoreOptions } from '@sluice/store';
import type { StoredRow } from './pipeline';

/** Every stored event of the default project, read through Sluice's own store (Postgres or PGlite). */
export async function storedRows(options: StoreOptions): Promise<StoredRow[]> {
  const store = await openStore(options);
  try {
    const events = await store.listEvents('default', { limit: 10_000_000 });
    return events.map((event) => ({ uuid: event.uuid, trail: event.properties.trail }));
  } finally {
    await store.close();
  }
}
