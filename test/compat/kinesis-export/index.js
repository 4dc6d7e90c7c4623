// Shape: plain JavaScript, `AWS.Kinesis` from require('aws-sdk') (v2): describeStream in setupPlugin,
// putRecords(...).promise() per batch, RetryError when Kinesis refuses records.
const AWS = require('aws-sdk')
const { RetryError } = require('@posthog/plugin-scaffold')

async function setupPlugin({ config, global }) {
  global.kinesis = new AWS.Kinesis({
    accessKeyId: config.awsAccessKey,
    secretAccessKey: config.awsSecretAccessKey,
    region: config.awsRegion,
    ...(config.kinesisEndpoint ? { endpoint: config.kinesisEndpoint } : {}),
  })
  const { StreamDescription } = await global.kinesis.describeStream({ StreamName: config.kinesisStreamName }).promise()
  if (StreamDescription.StreamStatus !== 'ACTIVE') throw new RetryError(`stream ${config.kinesisStreamName} is ${StreamDescription.StreamStatus}`)
}

async function exportEvents(events, { config, global }) {
  const result = await global.kinesis.putRecords({
    StreamName: config.kinesisStreamName,
    Records: events.map((event) => ({ Data: Buffer.from(JSON.stringify(event)), PartitionKey: event.distinct_id })),
  }).promise()
  if (result.FailedRecordCount > 0) throw new RetryError(`${result.FailedRecordCount} records were refused`)
}

module.exports = { setupPlugin, exportEvents }
