import { Reader, type ReaderModel } from '@maxmind/geoip2-node';
import { DbIpCityDatabase } from './geoip-dbip';
import type { MetaCapability } from './types';
import { GEOIP_JS, vmCall } from '../vm-sources';

/**
 * The city database `meta.geoip` answers from, opened once per process (every instance shares it):
 * a MaxMind GeoIP2/GeoLite2 City file (SLUICE_GEOIP_DB), or by default DB-IP's free one from npm,
 * answered in MaxMind's City shape either way.
 */
export class GeoIpDatabase {
  private constructor(private readonly lookup: (ip: string) => object | null) {}

  static async open(path: string): Promise<GeoIpDatabase> {
    const reader: ReaderModel = await Reader.open(path);
    return new GeoIpDatabase((ip) => reader.city(ip));
  }

  /** DB-IP's city database (CC BY 4.0), installed with Sluice; loaded on the first lookup. */
  static openDefault(dir?: string): GeoIpDatabase {
    const database = new DbIpCityDatabase(dir);
    return new GeoIpDatabase((ip) => database.locate(ip));
  }

  /**
   * PostHog's `meta.geoip.locate(ip)`: the City record (geoip2-node's model, the same PostHog
   * hands apps) or null when the address is not in the database or is not an address.
   */
  locate(ip: string): object | null {
    try {
      return this.lookup(ip);
    } catch {
      return null; // AddressNotFoundError, ValueError (not an IP): PostHog's apps expect null
    }
  }
}

/** `meta.geoip`: only where a MaxMind database is configured (SLUICE_GEOIP_DB); a clear error otherwise. */
export const geoipMeta: MetaCapability = {
  name: 'geoip',
  handlers: (context) => ({
    geoip: async (ip) => {
      if (!context.geoip) throw new Error('meta.geoip is not available: no MaxMind database is configured (set SLUICE_GEOIP_DB to a GeoIP2/GeoLite2 City .mmdb file)');
      return JSON.stringify(context.geoip.locate(ip));
    },
  }),
  shim: () => vmCall(GEOIP_JS, 'meta'),
};
