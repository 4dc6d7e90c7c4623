// Shape: TypeScript, main "src/index.ts" importing local ./types and RetryError from the scaffold.
import { RetryError } from '@posthog/plugin-scaffold'
import type { PluginEvent } from '@posthog/plugin-scaffold'
import type { WebhookMeta, WebhookPayload } from './types'

export async function onEvent(event: PluginEvent, { config, cache }: WebhookMeta): Promise<void> {
  const attempt = await cache.incr(`attempts:${event.uuid}`)
  await cache.expire(`attempts:${event.uuid}`, 3600)
  const payload: WebhookPayload = {
    uuid: event.uuid,
    event: event.event,
    distinct_id: event.distinct_id,
    // Export apps write it to INT columns: PostHog gives a number.
    team_id: event.team_id,
    timestamp: event.timestamp,
    properties: event.properties ?? {},
    attempt,
  }
  const response = await fetch(config.webhookUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(config.authToken ? { Authorization: `Bearer ${config.authToken}` } : {}) },
    body: JSON.stringify(payload),
  })
  if (response.status === 429 || response.status >= 500) {
    throw new RetryError(`webhook answered ${response.status} on attempt ${attempt}`)
  }
  if (!response.ok) throw new Error(`webhook refused the event: ${response.status} ${await response.text()}`)
  console.log(`delivered ${event.uuid} on attempt ${attempt}`)
}
