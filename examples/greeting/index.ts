import type { PluginEvent, PluginMeta } from '@sluice/app-sdk';

export function processEvent(event: PluginEvent, { config }: PluginMeta): PluginEvent | null {
  // Return the event (changed or not) to pass it on, or null to drop it.
  if (event.event === 'drop me') return null;
  event.properties = { ...event.properties, greeting: `${config.greeting} ${event.distinct_id}` };
  return event;
}
