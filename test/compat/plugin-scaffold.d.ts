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

// snowflake-sdk as far as the corpus's Snowflake export uses it (the sandbox serves it through its host bridge).
declare module 'snowflake-sdk' {
  export type Bind = string | number | boolean | null;
  export type Binds = readonly Bind[] | readonly (readonly Bind[])[];
  export interface Statement { getSqlText(): string; getNumRows(): number }
  export interface Connection {
    connect(callback: (error: Error | undefined, connection: Connection) => void): Connection;
    execute(options: { sqlText: string; binds?: Binds; complete: (error: Error | undefined, statement: Statement, rows: unknown[] | undefined) => void }): Statement;
    destroy(callback: (error: Error | undefined, connection: Connection) => void): Connection;
    isUp(): boolean;
  }
  export function createConnection(options: { account: string; username: string; password: string; database?: string; schema?: string; warehouse?: string; role?: string }): Connection;
  export function configure(options: { logLevel?: string }): void;
}

// generic-pool as far as the corpus's Snowflake export uses it (the library itself runs in the sandbox).
declare module 'generic-pool' {
  export interface Pool<T> { acquire(): Promise<T>; release(resource: T): Promise<void>; drain(): Promise<void>; clear(): Promise<void> }
  export function createPool<T>(factory: { create(): Promise<T>; destroy(resource: T): Promise<unknown> }, options?: { min?: number; max?: number; autostart?: boolean; fifo?: boolean }): Pool<T>;
}

// @google-cloud/bigquery as far as the corpus's BigQuery export uses it (the sandbox serves it through its host bridge).
declare module '@google-cloud/bigquery' {
  export interface TableField { name: string; type: string; mode?: string; fields?: TableField[] }
  export interface TableMetadata { schema?: { fields?: TableField[] }; [key: string]: unknown }
  export interface InsertRowsOptions { raw?: boolean; createInsertId?: boolean; partialRetries?: number; skipInvalidRows?: boolean; ignoreUnknownValues?: boolean }
  export class Table {
    readonly id: string;
    metadata: TableMetadata;
    getMetadata(): Promise<[TableMetadata, unknown]>;
    setMetadata(metadata: TableMetadata): Promise<[TableMetadata, unknown]>;
    insert(rows: unknown[], options?: InsertRowsOptions): Promise<[unknown]>;
  }
  export class Dataset {
    table(id: string): Table;
    createTable(id: string, options: { schema: TableField[] }): Promise<[Table, unknown]>;
  }
  export class BigQuery {
    constructor(options: { projectId?: string; credentials?: Record<string, unknown>; apiEndpoint?: string; location?: string });
    dataset(id: string): Dataset;
  }
}

// @google-cloud/storage as far as the corpus's GCS export uses it (the sandbox serves it through its host bridge).
declare module '@google-cloud/storage' {
  import type { Writable } from 'stream';
  export class File {
    readonly name: string;
    metadata: Record<string, unknown>;
    createWriteStream(options?: { resumable?: boolean; validation?: boolean | 'crc32c' | 'md5'; contentType?: string }): Writable;
    save(data: string | Uint8Array, options?: { resumable?: boolean; contentType?: string }): Promise<void>;
  }
  export class Bucket {
    readonly name: string;
    file(name: string): File;
  }
  export class Storage {
    constructor(options?: { projectId?: string; credentials?: Record<string, unknown>; apiEndpoint?: string });
    bucket(name: string): Bucket;
  }
}
