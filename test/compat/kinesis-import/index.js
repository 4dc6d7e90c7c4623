// PostHog's Kinesis import as the catalogue writes it: aws-sdk v2 callbacks wrapped in promises,
// the shard iterator kept in storage between runs, one posthog.capture per record.
const AWS = require('aws-sdk')

function kinesisClient(config) {
  return new AWS.Kinesis({
    accessKeyId: config.kinesisAccessKeyId,
    secretAccessKey: config.kinesisSecretAccessKey,
    region: config.kinesisRegion,
    ...(config.kinesisEndpoint ? { endpoint: config.kinesisEndpoint } : {}),
  })
}

const call = (client, method, params) => new Promise((resolve, reject) => client[method](params, (error, data) => (error ? reject(error) : resolve(data))))

export async function setupPlugin({ global, config }) {
  global.kinesis = kinesisClient(config)
  const { StreamDescription } = await call(global.kinesis, 'describeStream', { StreamName: config.kinesisStreamName })
  global.shardIds = StreamDescription.Shards.map((shard) => shard.ShardId)
}

async function iteratorFor(shardId, { global, config, storage }) {
  const saved = await storage.get(`iterator-${shardId}`, null)
  if (saved) return saved
  const { ShardIterator } = await call(global.kinesis, 'getShardIterator', { StreamName: config.kinesisStreamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' })
  return ShardIterator
}

export async function runEveryMinute(meta) {
  const { global, config, storage } = meta
  for (const shardId of global.shardIds) {
    let iterator = await iteratorFor(shardId, meta)
    for (let page = 0; page < 10 && iterator; page++) {
      let answer
      try {
        answer = await global.kinesis.getRecords({ ShardIterator: iterator, Limit: 500 }).promise()
      } catch (error) {
        // An iterator older than five minutes expires: start again from the oldest record.
        if (error.name !== 'ExpiredIteratorException') throw error
        await storage.del(`iterator-${shardId}`)
        iterator = await iteratorFor(shardId, meta)
        continue
      }
      for (const record of answer.Records) {
        const payload = JSON.parse(record.Data.toString('utf8'))
        posthog.capture(payload[config.eventKey], { ...payload.properties, distinct_id: payload.distinct_id, $kinesis_sequence_number: record.SequenceNumber })
      }
      iterator = answer.NextShardIterator
      await storage.set(`iterator-${shardId}`, iterator)
      if (answer.Records.length === 0) break
    }
  }
}
