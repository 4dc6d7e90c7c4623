import type { CapturedEvent, MetaCapability } from './types';
import { POSTHOG_JS, vmCall } from '../vm-sources';

/** One captured event's JSON: an app must not push megabytes through capture. */
const MAX_CAPTURE_BYTES = 1024 * 1024;

/** The captured event as the shim built it, checked again: the app could have replaced the shim's helpers. */
function toCaptured(raw: unknown): CapturedEvent {
  const value = raw as Partial<CapturedEvent> | null;
  if (!value || typeof value.event !== 'string' || typeof value.distinct_id !== 'string' || typeof value.properties !== 'object' || value.properties === null) {
    throw new TypeError('posthog.capture: malformed event');
  }
  return { event: value.event, distinct_id: value.distinct_id, properties: value.properties, ...(typeof value.timestamp === 'string' ? { timestamp: value.timestamp } : {}) };
}

/**
 * The `posthog` global: `posthog.capture(event, properties?)` sends an event into the app's own
 * project, as PostHog's plugin-server does (distinct_id from `properties.distinct_id`, else the
 * app's name; timestamp from `properties.timestamp`, else now; `$lib: posthog-plugin-server`).
 * The host decides where it goes and guards against capture loops. `posthog.api` has no local
 * equivalent (it called PostHog's own REST API) and says so.
 */
export const posthogMeta: MetaCapability = {
  name: 'posthog',
  handlers: (context) => ({
    capture: async (json) => {
      if (!context.capture) throw new Error('posthog.capture is not available here');
      if (json.length > MAX_CAPTURE_BYTES) throw new RangeError(`posthog.capture: an event is at most ${MAX_CAPTURE_BYTES} bytes of JSON`);
      await context.capture(toCaptured(JSON.parse(json)));
      return undefined;
    },
  }),
  shim: (context) => vmCall(POSTHOG_JS, JSON.stringify({ appName: context.appName ?? 'app' })),
};
