import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedEvents } from './helpers/api';
import { PROJECT_TOKEN, spawnSluice, startSluice, waitFor, waitReady, type RunningSluice, type SluiceProcess } from './helpers/services';

describe('graceful shutdown under load (sluice start, SIGTERM, restart)', () => {
  let sluice: RunningSluice;
  let restarted: SluiceProcess | undefined;

  beforeAll(async () => {
    sluice = await startSluice();
  });
  afterAll(async () => {
    await restarted?.stop();
    await sluice?.stop();
  });

  it('loses no acknowledged event: SIGTERM stops accepting, flushes group commit and exits 0', async () => {
    const acknowledged: string[] = [];
    const statuses = new Map<string, number>();
    let stopping = false;
    let closed = false;
    const client = async () => {
      while (!closed) {
        const batch = Array.from({ length: 20 }, () => ({ event: 'load', distinct_id: 'shutdown', uuid: randomUUID(), properties: {} }));
        try {
          const response = await fetch(`${sluice.url}/batch`, { method: 'POST', body: JSON.stringify({ api_key: PROJECT_TOKEN, batch }) });
          await response.text();
          const key = stopping ? `${response.status} while stopping` : String(response.status);
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          if (response.status === 200) acknowledged.push(...batch.map((event) => event.uuid));
        } catch {
          if (stopping) closed = true; // the listener is gone
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await waitFor('some traffic', async () => acknowledged.length > 2000, 20_000, 50);
    stopping = true;
    const exitCode = await sluice.proc.stop('SIGTERM');
    closed = true;
    await Promise.all(clients);
    expect(exitCode).toBe(0);
    // Every answer was a 200 or, once closing, a 503: nothing failed half-way.
    expect([...statuses.keys()].every((key) => key === '200' || key === '200 while stopping' || key === '503 while stopping')).toBe(true);

    expect(acknowledged.length).toBeLessThanOrEqual(10_000); // what one events listing can show
    restarted = spawnSluice('start', sluice.env);
    await waitReady(sluice.url, restarted);
    const stored = await waitFor(`all ${acknowledged.length} acknowledged events stored after the restart`, async () => {
      const uuids = new Set((await storedEvents(sluice.url, 10_000)).map((event) => event.uuid));
      return acknowledged.every((uuid) => uuids.has(uuid)) && uuids;
    }, 60_000, 500);
    expect(acknowledged.filter((uuid) => !stored.has(uuid))).toEqual([]);
  });
});
