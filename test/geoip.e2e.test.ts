/**
 * GeoIP with no setting: `npm start`'s defaults (no SLUICE_GEOIP_DB) locate addresses from DB-IP's
 * free city database installed from npm, in MaxMind's City shape, so PostHog's GeoIP enricher adds
 * its $geoip_* properties on a default install.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { install, post, sampleEvents, storedEvents } from './helpers/api';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';

describe('the GeoIP enricher on a default install', () => {
  let sluice: RunningSluice;

  beforeAll(async () => {
    sluice = await startSluice();
    await install(sluice.url, 'test/compat/geoip');
  });
  afterAll(async () => {
    await sluice?.stop();
  });

  it('gives 8.8.8.8 its country, continent and coordinates, and leaves a private address alone', async () => {
    const [google, local] = sampleEvents(2).map((event, index): Record<string, any> => ({ ...event, properties: { ...event.properties, $ip: index === 0 ? '8.8.8.8' : '10.1.2.3' } }));
    expect((await post(sluice.url, '/batch', { api_key: google!.api_key, batch: [google, local] })).status).toBe(200);
    const stored = await waitFor('both events stored', async () => {
      const rows = await storedEvents(sluice.url);
      const found = [google, local].map((event) => rows.find((row) => row.uuid === event!.uuid));
      return found.every(Boolean) && found;
    });
    expect(stored[0].properties).toMatchObject({
      $geoip_country_code: 'US',
      $geoip_country_name: 'United States',
      $geoip_continent_code: 'NA',
      $geoip_continent_name: 'North America',
      $geoip_latitude: expect.any(Number),
      $geoip_longitude: expect.any(Number),
      $set: expect.objectContaining({ $geoip_country_code: 'US' }),
      $set_once: expect.objectContaining({ $initial_geoip_country_code: 'US' }),
    });
    expect(Object.keys(stored[1].properties).filter((key) => key.startsWith('$geoip_'))).toEqual([]);
  });
});
