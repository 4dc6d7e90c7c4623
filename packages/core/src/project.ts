export interface Project {
  id: string;
  name: string;
  /** The public project token (`phc_…`) that clients send as `api_key`/`token`. */
  token: string;
  /** PostHog's "discard client IP data": events are stored without `ip` or `$ip`. */
  anonymizeIps: boolean;
}
