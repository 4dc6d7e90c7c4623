// Shape: TypeScript, `S3` from 'aws-sdk' (v2) with the catalogue export's calls: new S3({…, endpoint,
// s3ForcePathStyle, signatureVersion}), upload(params, callback), and ManagedUpload as a type.
import { S3 } from 'aws-sdk'
import type { ManagedUpload } from 'aws-sdk/clients/s3'
import { randomBytes } from 'crypto'
import { gzipSync } from 'zlib'
import { RetryError, type PluginEvent, type PluginMeta } from '@posthog/plugin-scaffold'

type Meta = PluginMeta & {
  global: { s3: S3 }
  config: { awsAccessKey: string; awsSecretAccessKey: string; awsRegion: string; s3BucketName: string; s3BucketEndpoint: string; prefix: string; compression: 'gzip' | 'no compression' }
}

export function setupPlugin({ global, config }: Meta): void {
  if (!config.awsAccessKey) throw new Error('AWS access key missing!')
  if (!config.s3BucketName) throw new Error('S3 bucket name missing!')
  global.s3 = new S3({
    accessKeyId: config.awsAccessKey,
    secretAccessKey: config.awsSecretAccessKey,
    region: config.awsRegion,
    ...(config.s3BucketEndpoint ? { endpoint: config.s3BucketEndpoint, s3ForcePathStyle: true } : {}),
    signatureVersion: 'v4',
  })
}

export async function exportEvents(events: PluginEvent[], { global, config }: Meta): Promise<void> {
  const jsonl = events.map((event) => JSON.stringify(event)).join('\n')
  const gzip = config.compression !== 'no compression'
  const day = new Date().toISOString().slice(0, 10)
  const key = `${config.prefix || ''}${day}/${Date.now()}-${randomBytes(4).toString('hex')}.jsonl${gzip ? '.gz' : ''}`
  const params = { Bucket: config.s3BucketName, Key: key, Body: gzip ? gzipSync(Buffer.from(jsonl)) : Buffer.from(jsonl), ContentType: 'application/jsonl' }
  await new Promise<void>((resolve, reject) => {
    global.s3.upload(params, (error: Error | null, data: ManagedUpload.SendData) => {
      if (error) {
        console.error(`Error uploading to S3: ${error.message}`)
        return reject(new RetryError())
      }
      console.log(`Uploaded ${events.length} event${events.length === 1 ? '' : 's'} to bucket ${data.Bucket}`)
      resolve()
    })
  })
}
