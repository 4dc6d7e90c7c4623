// Shape: TypeScript, `Storage` from '@google-cloud/storage' made in setupPlugin from a service
// account's key JSON attachment (new Storage({ projectId, credentials })), and the catalogue
// export's upload: the batch's text pushed into a `PassThrough` from 'stream', piped into
// file.createWriteStream({ resumable: false, validation: false }), 'error' and 'finish' awaited.
import { Storage, type Bucket } from '@google-cloud/storage'
import { PassThrough } from 'stream'
import { RetryError, type PluginEvent, type PluginMeta } from '@posthog/plugin-scaffold'

type Meta = PluginMeta & {
  global: { bucket: Bucket; eventsToIgnore: Set<string> }
  config: { bucketName: string; exportEventsToIgnore: string; fileFormat: 'csv' | 'jsonl' }
}

interface TableRow {
  uuid: string
  event: string
  properties: string
  elements: string
  people_set: string
  people_set_once: string
  distinct_id: string
  team_id: number
  ip: string | null
  site_url: string | null
  timestamp: string
}
const COLUMNS: Array<keyof TableRow> = ['uuid', 'event', 'properties', 'elements', 'people_set', 'people_set_once', 'distinct_id', 'team_id', 'ip', 'site_url', 'timestamp']

export function setupPlugin({ attachments, global, config }: Meta): void {
  if (!attachments.googleCloudKeyJson) throw new Error('JSON config not provided!')
  if (!config.bucketName) throw new Error('Bucket name not provided!')
  const credentials = JSON.parse((attachments.googleCloudKeyJson.contents as string | Uint8Array).toString())
  const storage = new Storage({ projectId: credentials['project_id'], credentials })
  global.bucket = storage.bucket(config.bucketName)
  global.eventsToIgnore = new Set((config.exportEventsToIgnore || '').split(',').map((event) => event.trim()))
}

function transformEventToRow(fullEvent: PluginEvent): TableRow {
  const { event, properties, $set, $set_once, distinct_id, team_id, site_url, now, sent_at, uuid, ..._discard } = fullEvent as PluginEvent & Record<string, any>
  const ip = (properties?.['$ip'] || fullEvent.ip) as string | null
  const timestamp = String(fullEvent.timestamp || properties?.timestamp || now || sent_at)
  let ingestedProperties = properties
  let elements: unknown[] = []
  // only move prop to elements for the $autocapture action
  if (event === '$autocapture' && properties?.['$elements']) {
    const { $elements, ...props } = properties
    ingestedProperties = props
    elements = $elements as unknown[]
  }
  return {
    uuid: uuid!, event, properties: JSON.stringify(ingestedProperties || {}), elements: JSON.stringify(elements || []),
    people_set: JSON.stringify($set || {}), people_set_once: JSON.stringify($set_once || {}), distinct_id, team_id, ip, site_url, timestamp,
  }
}

/** A CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line break. */
function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

function fileText(rows: TableRow[], format: 'csv' | 'jsonl'): string {
  if (format === 'jsonl') return rows.map((row) => JSON.stringify(row)).join('\n')
  return [COLUMNS.join(','), ...rows.map((row) => COLUMNS.map((column) => csvField(row[column])).join(','))].join('\n')
}

export async function exportEvents(events: PluginEvent[], { global, config }: Meta): Promise<void> {
  const rows = events.filter((event) => !global.eventsToIgnore.has(event.event.trim())).map(transformEventToRow)
  if (!rows.length) {
    console.info('Skipping an empty batch of events')
    return
  }
  console.info(`Saving batch of ${rows.length} event${rows.length !== 1 ? 's' : ''} to GCS bucket ${config.bucketName}`)
  const format = config.fileFormat === 'jsonl' ? 'jsonl' : 'csv'
  const date = new Date().toISOString()
  const [day, time] = date.split('T')
  const dayTime = `${day!.split('-').join('')}-${time!.split(':').join('')}`
  // Unique per batch: two batches in the same millisecond must not overwrite each other.
  const file = global.bucket.file(`${day}/${dayTime}-${rows[0]!.uuid}.${format}`)

  await new Promise<void>((resolve, reject) => {
    const dataStream = new PassThrough()
    dataStream.push(fileText(rows, format))
    dataStream.push(null)
    dataStream
      .pipe(file.createWriteStream({ resumable: false, validation: false }))
      .on('error', (error: Error) => {
        console.error(`Failed to upload ${rows.length} event${rows.length !== 1 ? 's' : ''} to GCS: ${error.message}`)
        reject(new RetryError(`Failed to upload to GCS: ${error.message}`))
      })
      .on('finish', () => {
        console.log(`Uploaded ${rows.length} event${rows.length !== 1 ? 's' : ''} to bucket ${config.bucketName}`)
        resolve()
      })
  })
}
