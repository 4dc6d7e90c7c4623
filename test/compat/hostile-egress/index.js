// Every bridged client the sandbox offers, aimed where an app must not reach: the cloud metadata
// address (credentials of the machine) and loopback (the host's own services).
const { Client } = require('pg')
const AWS = require('aws-sdk')
const { Storage } = require('@google-cloud/storage')
const { BigQuery } = require('@google-cloud/bigquery')
const { PubSub } = require('@google-cloud/pubsub')

const METADATA = '169.254.169.254'
const LOOPBACK = '127.0.0.1'

const attempts = {
  'pg metadata': () => new Client({ host: METADATA, user: 'x', database: 'x' }).connect(),
  'pg loopback': () => new Client({ host: LOOPBACK, user: 'postgres', database: 'postgres' }).connect(),
  's3 metadata': () => new AWS.S3({ endpoint: `http://${METADATA}`, accessKeyId: 'a', secretAccessKey: 'b' }).putObject({ Bucket: 'b', Key: 'k', Body: 'x' }).promise(),
  'kinesis loopback': () => new AWS.Kinesis({ endpoint: `http://${LOOPBACK}:4567`, accessKeyId: 'a', secretAccessKey: 'b' }).describeStream({ StreamName: 's' }).promise(),
  'gcs metadata': (key) => new Storage({ credentials: key, apiEndpoint: `http://${METADATA}` }).bucket('b').file('f').save('x'),
  'gcs token at metadata': (key) => new Storage({ credentials: { ...key, token_uri: `http://${METADATA}/computeMetadata/v1/token` } }).bucket('b').file('f').save('x'),
  // (the SDK asks for its token first: the token's address is the first one checked)
  'bigquery token at loopback': (key) => new BigQuery({ credentials: { ...key, token_uri: `http://${LOOPBACK}:9050/token` } }).dataset('d').table('t').getMetadata(),
  'pubsub metadata': (key) => new PubSub({ credentials: key, apiEndpoint: `https://${METADATA}` }).topic('t').getMetadata(),
}

export async function processEvent(event, { config }) {
  const key = JSON.parse(config.serviceAccountKey)
  let last
  for (const [name, attempt] of Object.entries(attempts)) {
    try {
      await attempt(key)
      console.error(`${name}: reached`)
    } catch (error) {
      console.warn(`${name}: ${error.message}`)
      last = error
    }
  }
  if (last) throw last
  return event
}
