// Shape: TypeScript, snowflake-sdk's createConnection / connect(callback) / execute({ sqlText, binds,
// complete }) / destroy(callback), pooled by generic-pool's createPool({ create, destroy }, { min, max })
// as the catalogue export does; acquire/release around each statement, drain + clear at teardown.
import * as snowflake from 'snowflake-sdk'
import { createPool, type Pool } from 'generic-pool'
import { RetryError, type PluginEvent, type PluginMeta } from '@posthog/plugin-scaffold'

interface Config {
  account: string; username: string; password: string; database: string; dbschema: string
  table: string; warehouse: string; role: string; eventsToIgnore: string
}
type Meta = PluginMeta & { config: Config; global: { pool: Pool<snowflake.Connection>; table: string; eventsToIgnore: Set<string> } }

const COLUMNS = ['uuid', 'event', 'properties', 'elements', 'people_set', 'people_set_once', 'distinct_id', 'team_id', 'ip', 'site_url', 'timestamp']

function connect(config: Config): Promise<snowflake.Connection> {
  const connection = snowflake.createConnection({
    account: config.account, username: config.username, password: config.password, database: config.database,
    schema: config.dbschema, warehouse: config.warehouse, ...(config.role ? { role: config.role } : {}),
  })
  return new Promise((resolve, reject) => connection.connect((error, connected) => (error ? reject(error) : resolve(connected))))
}

async function execute(pool: Pool<snowflake.Connection>, sqlText: string, binds?: snowflake.Binds): Promise<unknown[]> {
  const connection = await pool.acquire()
  try {
    return await new Promise((resolve, reject) => connection.execute({
      sqlText, ...(binds ? { binds } : {}), complete: (error, _statement, rows) => (error ? reject(error) : resolve(rows ?? [])),
    }))
  } finally {
    await pool.release(connection)
  }
}

export async function setupPlugin({ config, global }: Meta): Promise<void> {
  snowflake.configure({ logLevel: 'ERROR' })
  global.table = [config.database, config.dbschema, config.table].map((part) => part.replace(/[^A-Za-z0-9_]/g, '')).join('.')
  global.eventsToIgnore = new Set(config.eventsToIgnore.split(',').map((event) => event.trim()).filter(Boolean))
  global.pool = createPool({
    create: () => connect(config),
    destroy: (connection) => new Promise<void>((resolve, reject) => connection.destroy((error) => (error ? reject(error) : resolve()))),
  }, { min: 1, max: 1, autostart: true, fifo: true })
  await execute(global.pool, `CREATE TABLE IF NOT EXISTS ${global.table} (uuid STRING, event STRING, properties STRING, elements STRING,
    people_set STRING, people_set_once STRING, distinct_id STRING, team_id INTEGER, ip STRING, site_url STRING, timestamp TIMESTAMP)`)
}

export async function exportEvents(events: PluginEvent[], { global }: Meta): Promise<void> {
  const rows = events.filter((event) => !global.eventsToIgnore.has(event.event)).map((event) => {
    const { $set, $set_once, $elements, ...properties } = event.properties ?? {}
    return [event.uuid ?? null, event.event, JSON.stringify(properties), JSON.stringify($elements ?? []), JSON.stringify($set ?? {}),
      JSON.stringify($set_once ?? {}), event.distinct_id, event.team_id, event.ip ?? null, event.site_url ?? null, event.timestamp ?? null]
  })
  if (rows.length === 0) return
  try {
    await execute(global.pool, `INSERT INTO ${global.table} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`, rows)
  } catch (error) {
    throw new RetryError(`Snowflake insert failed: ${(error as Error).message}`)
  }
}

export async function teardownPlugin({ global }: Meta): Promise<void> {
  await global.pool?.drain()
  await global.pool?.clear()
}
