/** iso-3166-2 ships no types; what geoip-dbip.ts uses of it. */
declare module 'iso-3166-2' {
  interface Subdivision {
    type: string;
    name: string;
    countryName: string;
    countryCode: string;
    code: string;
    regionCode: string;
  }
  const iso3166: { subdivision(country: string, subdivision: string): Subdivision | null };
  export default iso3166;
}
