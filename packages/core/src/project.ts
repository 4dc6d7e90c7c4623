export interface Project {
  id: string;
  /** The project's number, given once and never reused: apps see it as `event.team_id` (PostHog's team id). */
  teamId: number;
  name: string;
  /** The public project token (`phc_…`) that clients send as `api_key`/`token`. */
  token: string;
  /** PostHog's "discard client IP data": events are stored without `ip` or `$ip`. */
  anonymizeIps: boolean;
}
