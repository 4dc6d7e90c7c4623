// Shape: TypeScript, `BigQuery` and `Table` from '@google-cloud/bigquery' with the catalogue export's
// calls: new BigQuery({ projectId, credentials }) from an uploaded key file, dataset(id).table(id),
// getMetadata() then dataset.createTable(id, { schema }) on "Not found", setMetadata(metadata) for
// the schema's missing fields, and insert(rows, { raw: true, … }) with insertId = uuid; errors
// read as the SDK gives them (message, code, PartialFailureError's errors).
import { BigQuery, type Table, type TableField } from '@google-cloud/bigquery'
import { RetryError, type PluginEvent, type PluginMeta } from '@posthog/plugin-scaffold'

type Meta = PluginMeta & {
  global: { bigQueryClient: BigQuery; bigQueryTable: Table; bigQueryTableFields: TableField[]; exportEventsToIgnore: Set<string>; deduplicateEvents: boolean }
  config: { datasetId: string; tableId: string; exportEventsToIgnore: string; deduplicateEvents: 'Yes' | 'No' }
  attachments: { googleCloudKeyJson?: { contents: string | Uint8Array } }
}

/** Errors worth another try: the service's transient codes. */
const TRANSIENT_CODES = [429, 500, 502, 503, 504]

export async function setupPlugin(meta: Meta): Promise<void> {
  const { global, attachments, config } = meta
  if (!attachments.googleCloudKeyJson) throw new Error('JSON config not provided!')
  if (!config.datasetId) throw new Error('Dataset ID not provided!')
  if (!config.tableId) throw new Error('Table ID not provided!')

  const credentials = JSON.parse(attachments.googleCloudKeyJson.contents.toString())
  global.bigQueryClient = new BigQuery({ projectId: credentials['project_id'], credentials })
  global.bigQueryTable = global.bigQueryClient.dataset(config.datasetId).table(config.tableId)
  global.bigQueryTableFields = [
    { name: 'uuid', type: 'STRING' },
    { name: 'event', type: 'STRING' },
    { name: 'properties', type: 'STRING' },
    { name: 'elements', type: 'STRING' },
    { name: 'set', type: 'STRING' },
    { name: 'set_once', type: 'STRING' },
    { name: 'distinct_id', type: 'STRING' },
    { name: 'team_id', type: 'INT64' },
    { name: 'ip', type: 'STRING' },
    { name: 'site_url', type: 'STRING' },
    { name: 'timestamp', type: 'TIMESTAMP' },
    { name: 'bq_ingested_timestamp', type: 'TIMESTAMP' },
  ]
  global.exportEventsToIgnore = new Set(config.exportEventsToIgnore ? config.exportEventsToIgnore.split(',').map((event) => event.trim()) : [])
  global.deduplicateEvents = config.deduplicateEvents !== 'No'

  try {
    // does the table exist?
    await global.bigQueryTable.getMetadata()
  } catch (error: any) {
    if (!error.message.includes('Not found')) throw error
    console.log(`Creating BigQuery Table - ${config.datasetId}:${config.tableId}`)
    try {
      await global.bigQueryClient.dataset(config.datasetId).createTable(config.tableId, { schema: global.bigQueryTableFields })
    } catch (error: any) {
      // another worker created it first
      if (!error.message.includes('Already Exists')) throw error
    }
  }
  await syncTableSchema(meta)
}

/** Adds the fields of the export's schema the table lacks (an older table of the export). */
async function syncTableSchema({ global }: Meta): Promise<void> {
  const [metadata] = await global.bigQueryTable.getMetadata()
  if (!metadata.schema || !metadata.schema.fields) throw new Error('Can not get metadata for table. Please check if the table schema is defined.')
  const existing: TableField[] = metadata.schema.fields
  const missing = global.bigQueryTableFields.filter(({ name }) => !existing.find((field) => field.name === name))
  if (missing.length > 0) {
    console.info(`Incomplete schema on BigQuery table! Adding the following fields to reach parity: ${JSON.stringify(missing)}`)
    metadata.schema.fields = existing.concat(missing)
    await global.bigQueryTable.setMetadata(metadata)
  }
}

export async function exportEvents(events: PluginEvent[], { global, config }: Meta): Promise<void> {
  if (!global.bigQueryTable) throw new Error('No BigQuery client initialized!')
  const rows = events.filter((event) => !global.exportEventsToIgnore.has(event.event)).map((fullEvent) => {
    const { event, properties, $set, $set_once, distinct_id, team_id, site_url, now, sent_at, uuid } = fullEvent as PluginEvent & Record<string, any>
    const ip = properties?.['$ip'] || fullEvent.ip
    const timestamp = fullEvent.timestamp || properties?.timestamp || now || sent_at
    let ingestedProperties = properties
    let elements: unknown[] = []
    // only $autocapture moves its elements out of the properties
    if (event === '$autocapture' && properties && '$elements' in properties) {
      const { $elements, ...props } = properties
      ingestedProperties = props
      elements = $elements as unknown[]
    }
    return {
      json: {
        uuid, event, properties: JSON.stringify(ingestedProperties || {}), elements: JSON.stringify(elements || []),
        set: JSON.stringify($set || {}), set_once: JSON.stringify($set_once || {}), distinct_id, team_id, ip, site_url, timestamp,
        bq_ingested_timestamp: new Date().toISOString(),
      },
      ...(global.deduplicateEvents && { insertId: uuid }),
    }
  })
  if (rows.length === 0) return
  const start = Date.now()
  try {
    await global.bigQueryTable.insert(rows, { createInsertId: false, partialRetries: 0, raw: true })
  } catch (error: any) {
    if (error.name === 'PartialFailureError') {
      console.error(`Partial failure inserting into ${config.datasetId}.${config.tableId}: ${JSON.stringify(error.errors?.slice(0, 3))}`)
      throw new RetryError(`BigQuery partial failure: ${error.errors?.length} rows`)
    }
    if (TRANSIENT_CODES.includes(error.code)) throw new RetryError(`Error inserting into BigQuery! ${error.message}`)
    throw error
  }
  console.log(`Inserted ${rows.length} ${rows.length > 1 ? 'events' : 'event'} to BigQuery. Took ${(Date.now() - start) / 1000} seconds.`)
}
