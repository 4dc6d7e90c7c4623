// Shape: TypeScript, `PubSub` and `Topic` from '@google-cloud/pubsub' with the catalogue export's calls:
// new PubSub({ projectId, credentials }) from an uploaded key file, topic(id), getMetadata() then
// create() when the message says NOT_FOUND, and one publish per event (the deprecated
// publish(Buffer) the catalogue app calls; publishMessage({ data, attributes }) when attributes are on).
import { PubSub, type Topic } from '@google-cloud/pubsub'
import { RetryError, type PluginEvent, type PluginMeta } from '@posthog/plugin-scaffold'

type Meta = PluginMeta & {
  global: { pubSubClient: PubSub; pubSubTopic: Topic }
  config: { topicId: string; messageAttributes: 'None' | 'Event name and uuid' }
  attachments: { googleCloudKeyJson?: { contents: string | Uint8Array } }
}

export async function setupPlugin({ global, attachments, config }: Meta): Promise<void> {
  if (!attachments.googleCloudKeyJson) throw new Error('JSON config not provided!')
  if (!config.topicId) throw new Error('Topic ID not provided!')
  try {
    const credentials = JSON.parse(attachments.googleCloudKeyJson.contents.toString())
    global.pubSubClient = new PubSub({ projectId: credentials['project_id'], credentials })
    global.pubSubTopic = global.pubSubClient.topic(config.topicId)
    // topic exists
    await global.pubSubTopic.getMetadata()
  } catch (error: any) {
    if (!error.message.includes('NOT_FOUND')) throw new Error(error)
    console.log(`Creating PubSub Topic - ${config.topicId}`)
    try {
      await global.pubSubTopic.create()
    } catch (error: any) {
      // another worker created it first
      if (!error.message.includes('ALREADY_EXISTS')) throw error
    }
  }
}

export async function exportEvents(events: PluginEvent[], { global, config }: Meta): Promise<void> {
  if (!global.pubSubClient) throw new Error('No PubSub client initialized!')
  try {
    const messages = events.map((fullEvent) => {
      const { event, properties, $set, $set_once, distinct_id, team_id, site_url, now, sent_at, uuid } = fullEvent as PluginEvent & Record<string, any>
      const ip = properties?.['$ip'] || fullEvent.ip
      const timestamp = fullEvent.timestamp || properties?.timestamp || now || sent_at
      let ingestedProperties = properties
      let elements: unknown[] = []
      // only $autocapture moves its elements out of the properties
      if (event === '$autocapture' && properties?.['$elements']) {
        const { $elements, ...props } = properties
        ingestedProperties = props
        elements = $elements as unknown[]
      }
      const message = {
        event, distinct_id, team_id, ip, site_url, timestamp, uuid,
        properties: ingestedProperties || {}, elements: elements || [], people_set: $set || {}, people_set_once: $set_once || {},
      }
      return { data: Buffer.from(JSON.stringify(message)), attributes: { event: String(event), uuid: String(uuid) } }
    })
    const start = Date.now()
    const ids = await Promise.all(messages.map(({ data, attributes }) =>
      config.messageAttributes === 'Event name and uuid' ? global.pubSubTopic.publishMessage({ data, attributes }) : global.pubSubTopic.publish(data)))
    const end = Date.now() - start
    console.log(`Published ${events.length} ${events.length > 1 ? 'events' : 'event'} to ${config.topicId} (ids ${ids[0]}…${ids[ids.length - 1]}). Took ${end / 1000} seconds.`)
  } catch (error: any) {
    console.error(`Error publishing ${events.length} ${events.length > 1 ? 'events' : 'event'} to ${config.topicId}: `, error)
    throw new RetryError(`Error publishing to Pub/Sub! ${JSON.stringify(error.errors)}`)
  }
}
