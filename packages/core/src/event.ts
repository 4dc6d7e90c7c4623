/**
 * The event shape apps see, matching PostHog's `PluginEvent` so unmodified apps run.
 * Extra top-level keys that clients send (`$set`, `$set_once`, …) are kept as they are.
 */
export interface PluginEvent {
  uuid: string;
  event: string;
  distinct_id: string;
  properties: Record<string, unknown>;
  /** ISO-8601, already corrected for client clock skew at intake. */
  timestamp: string;
  ip: string | null;
  site_url: string;
  /** The project's number (`Project.teamId`), as PostHog gives it: export apps write it to INT columns. */
  team_id: number;
  now: string;
  sent_at: string | null;
  [key: string]: unknown;
}

/** An event as the store returns it. */
export interface StoredEvent {
  uuid: string;
  project_id: string;
  event: string;
  distinct_id: string;
  properties: Record<string, unknown>;
  timestamp: string;
  created_at: string;
  ip: string | null;
}
