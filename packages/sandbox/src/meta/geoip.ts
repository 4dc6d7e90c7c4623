import { Reader, type ReaderModel } from '@maxmind/geoip2-node';
import type { MetaCapability } from './types';
import { GEOIP_JS, vmCall } from '../vm-sources';

/** A MaxMind city database, opened once per process (the same file serves every instance). */
export class GeoIpDatabase {
  private constructor(private readonly reader: ReaderModel) {}

  static async open(path: string): Promise<GeoIpDatabase> {
    return new GeoIpDatabase(await Reader.open(path));
  }

  /**
   * PostHog's `meta.geoip.locate(ip)`: the City record (geoip2-node's model, the same PostHog
   * hands apps) or null when the address is not in the database or is not an address.
   */
  locate(ip: string): object | null {
    try {
      return this.reader.city(ip);
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
