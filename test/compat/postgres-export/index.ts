// Shape: TypeScript, `Client` from 'pg' with the catalogue export's calls: connect, query(text, values), end.
import { Client } from 'pg'
import type { PluginEvent, PluginMeta } from '@posthog/plugin-scaffold'

interface Config {
  databaseUrl: string; host: string; port: string; dbName: string; tableName: string
  dbUsername: string; dbPassword: string; hasSelfSignedCert: 'Yes' | 'No'; disableSsl: 'Yes' | 'No'
}
type Meta = PluginMeta & { config: Config; global: { sanitizedTableName: string } }

const clientOf = (config: Config) => {
  const ssl = config.disableSsl === 'Yes' ? false : { rejectUnauthorized: config.hasSelfSignedCert !== 'Yes' }
  return config.databaseUrl
    ? new Client({ connectionString: config.databaseUrl, ssl })
    : new Client({ host: config.host, port: Number(config.port), database: config.dbName, user: config.dbUsername, password: config.dbPassword, ssl })
}

async function run(config: Config, text: string, values?: unknown[]) {
  const client = clientOf(config)
  await client.connect()
  try {
    return await client.query(text, values)
  } finally {
    await client.end()
  }
}

export async function setupPlugin({ config, global }: Meta): Promise<void> {
  global.sanitizedTableName = config.tableName.replace(/[^a-zA-Z0-9_]/g, '')
  await run(config, `CREATE TABLE IF NOT EXISTS public.${global.sanitizedTableName} (
    uuid varchar(200), event varchar(200), properties jsonb, elements jsonb, set jsonb, set_once jsonb,
    timestamp timestamp with time zone, distinct_id text, team_id int, ip varchar(200), site_url varchar(200))`)
}

export async function exportEvents(events: PluginEvent[], { config, global }: Meta): Promise<void> {
  const values: unknown[] = []
  const rows = events.map((event, index) => {
    const { $set, $set_once, $elements, ...properties } = event.properties ?? {}
    values.push(event.uuid, event.event, JSON.stringify(properties), JSON.stringify($elements ?? []), JSON.stringify($set ?? {}),
      JSON.stringify($set_once ?? {}), event.timestamp, event.distinct_id, event.team_id, event.ip, event.site_url)
    const base = index * 11
    return `(${Array.from({ length: 11 }, (_, i) => `$${base + i + 1}`).join(', ')})`
  })
  await run(config, `INSERT INTO public.${global.sanitizedTableName}
    (uuid, event, properties, elements, set, set_once, timestamp, distinct_id, team_id, ip, site_url) VALUES ${rows.join(', ')}`, values)
}
