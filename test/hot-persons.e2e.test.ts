import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, capture, metricValue, storedEvents } from './helpers/api';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';

describe('hot persons: a per-person token bucket, its overflow counted and shown as an ingestion warning (sluice start)', () => {
  let sluice: RunningSluice;
  beforeAll(async () => {
    // A bucket of 5 events that refills slowly, so the test's sends cannot refill it.
    sluice = await startSluice({ SLUICE_PERSON_BUCKET_CAPACITY: '5', SLUICE_PERSON_BUCKET_REFILL_PER_SECOND: '0.01' });
  });
  afterAll(async () => sluice?.stop());

  const events = (person: string, count: number) =>
    Array.from({ length: count }, (_, i) => ({ event: 'tick', distinct_id: person, uuid: randomUUID(), properties: { i } }));

  it("counts a hot person's excess, warns once per person, and stores every event", async () => {
    const hot = events('hot-person', 12);
    const cold = events('cold-person', 3);
    await capture(sluice.url, [...hot.slice(0, 6), ...cold]);
    await capture(sluice.url, hot.slice(6));

    const overflow = async () => metricValue(await (await fetch(`${sluice.url}/metrics`)).text(), 'sluice_ingestion_overflow_events_total{project="default"}');
    expect(await overflow()).toBe(7);
    const warnings = await waitFor('the warning', async () => {
      const { body } = await admin(sluice.url, 'GET', '/api/projects/default/warnings');
      return body.results.length > 0 && body.results;
    });
    expect(warnings).toEqual([
      { id: expect.any(Number), type: 'ingestion_capacity_overflow', details: { overflowDistinctId: 'hot-person' }, timestamp: expect.any(String) },
    ]);
    // Still over: counted again, but no second warning within the hour.
    await capture(sluice.url, events('hot-person', 2));
    expect(await overflow()).toBe(9);
    await new Promise((done) => setTimeout(done, 500));
    expect((await admin(sluice.url, 'GET', '/api/projects/default/warnings')).body.results).toHaveLength(1);

    // Overflow gives up nothing that was accepted.
    await waitFor('every event stored', async () => (await storedEvents(sluice.url)).length === 17);
  });

  it('answers 404 for an unknown project and 400 for a bad limit', async () => {
    expect((await admin(sluice.url, 'GET', '/api/projects/nope/warnings')).status).toBe(404);
    const bad = await admin(sluice.url, 'GET', '/api/projects/default/warnings?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ details: { field: 'limit' } });
  });
});
