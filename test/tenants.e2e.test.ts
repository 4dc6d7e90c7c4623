import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, post, sampleEvents } from './helpers/api';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';

/**
 * An event's uuid identifies it within its project only. A replicator copying project A into
 * project B keeps the uuids; so may a tenant sending another tenant's uuids first. Neither may make
 * Sluice answer 200 and then drop the events as duplicates.
 */
describe('the same uuid in two projects', () => {
  let sluice: RunningSluice;

  beforeAll(async () => {
    sluice = await startSluice();
  });
  afterAll(async () => {
    await sluice?.stop();
  });

  it('is stored in each, and a redelivery within one project is still stored once', async () => {
    const created = await admin(sluice.url, 'POST', '/api/projects', { name: 'Replica', id: 'replica' });
    expect(created.status).toBe(201);
    const events = sampleEvents(20);
    const batch = (token: string) => ({ api_key: token, batch: events.map((event) => ({ ...event, api_key: token })) });
    expect((await post(sluice.url, '/batch', batch(events[0]!.api_key))).status).toBe(200);
    expect((await post(sluice.url, '/batch', batch(created.body.token))).status).toBe(200);
    expect((await post(sluice.url, '/batch', batch(created.body.token))).status).toBe(200);

    const uuids = (project: string) =>
      waitFor(`20 events in ${project}`, async () => {
        const { body } = await admin(sluice.url, 'GET', `/api/projects/${project}/events?limit=100`);
        return body.results.length >= 20 && body.results.map((event: { uuid: string }) => event.uuid).sort();
      });
    const expected = events.map((event) => event.uuid).sort();
    expect(await uuids('default')).toEqual(expected);
    expect(await uuids('replica')).toEqual(expected);
  });
});
