import type { PluginMeta } from '@posthog/plugin-scaffold'

export interface WebhookConfig {
  webhookUrl: string
  authToken: string
}

export type WebhookMeta = PluginMeta & { config: WebhookConfig }

/** The body the webhook receives. */
export interface WebhookPayload {
  uuid: string | undefined
  event: string
  team_id: number
  distinct_id: string
  timestamp: string | undefined
  properties: Record<string, unknown>
  attempt: number
}
