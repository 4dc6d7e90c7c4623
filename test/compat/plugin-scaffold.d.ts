// What the compat apps' `@posthog/plugin-scaffold` imports mean to the repository's typecheck; inside
// the sandbox the module is provided by the runtime (RetryError), and the types are erased at install.
declare module '@posthog/plugin-scaffold' {
  export type { Plugin, PluginEvent, PluginMeta } from '@sluice/app-sdk';
  export { RetryError } from '@sluice/app-sdk';
}

// aws-sdk v2 as far as the corpus's S3 export uses it (the sandbox serves it through its host bridge).
declare module 'aws-sdk' {
  type Callback<T> = (error: Error | null, data: T) => void;
  export class S3 {
    constructor(options: { accessKeyId?: string; secretAccessKey?: string; region?: string; endpoint?: string; s3ForcePathStyle?: boolean; signatureVersion?: string });
    readonly config: Record<string, unknown>;
    upload(params: { Bucket: string; Key: string; Body: unknown; ContentType?: string }, callback: Callback<import('aws-sdk/clients/s3').ManagedUpload.SendData>): unknown;
  }
}
declare module 'aws-sdk/clients/s3' {
  export namespace ManagedUpload {
    interface SendData { Location?: string; ETag: string; Bucket: string; Key: string }
  }
}
