/**
 * The stage chain an event batch follows, resolved at intake from the project's pipeline at that
 * moment and carried in every job, so that a config change mid-flight never reorders or skips a
 * stage for events already accepted.
 */
export interface RouteHop {
  instanceId: number;
  appId: number;
}

export type Route = RouteHop[];
