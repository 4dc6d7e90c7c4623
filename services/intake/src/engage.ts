import type { RawEvent } from '@sluice/core';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `/engage` takes person updates in the old Mixpanel shape — `{$token, $distinct_id, $set: {…}}`
 * — which PostHog records as `$identify` events carrying `$set`/`$set_once`. Anything that is
 * already an event (has `event`) passes unchanged.
 */
function engageToEvent(update: unknown): unknown {
  if (!isRecord(update) || typeof update.event === 'string') return update;
  const { $token, $distinct_id, $set, $set_once, properties, ...rest } = update;
  const event: RawEvent = {
    ...rest,
    event: '$identify',
    properties: { ...(isRecord(properties) ? properties : {}), ...($set !== undefined && { $set }), ...($set_once !== undefined && { $set_once }) },
  };
  if (event.distinct_id === undefined && $distinct_id !== undefined) event.distinct_id = $distinct_id;
  if (event.api_key === undefined && event.token === undefined && $token !== undefined) event.api_key = $token;
  return event;
}

/** The body of an /engage request with every person update turned into an `$identify` event. */
export function engageBody(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(engageToEvent);
  if (isRecord(body) && Array.isArray(body.batch)) return { ...body, batch: body.batch.map(engageToEvent) };
  return engageToEvent(body);
}
