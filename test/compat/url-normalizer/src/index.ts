// Shape: TypeScript, main "src/index.ts", types from @posthog/plugin-scaffold, a local module.
import type { PluginEvent, PluginMeta } from '@posthog/plugin-scaffold'
import { normalizeUrl } from './normalize'

export function processEvent(event: PluginEvent, _meta: PluginMeta): PluginEvent {
  const currentUrl = event.properties?.$current_url
  if (event.properties && currentUrl) {
    const normalized = normalizeUrl(String(currentUrl))
    event.properties.$current_url = normalized
    console.debug(`event.$current_url: "${currentUrl}" normalized to "${normalized}"`)
  }
  return event
}
