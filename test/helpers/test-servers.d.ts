/** s3rver ships no types; what the tests and the bench use of it. */
declare module 's3rver' {
  interface S3rverOptions {
    port?: number;
    address?: string;
    silent?: boolean;
    directory?: string;
    configureBuckets?: Array<{ name: string; configs: string[] }>;
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}

/** kinesalite ships no types; what the tests use of it. */
declare module 'kinesalite' {
  import type { Server } from 'node:http';
  export default function kinesalite(options?: { createStreamMs?: number; deleteStreamMs?: number; updateStreamMs?: number; shardLimit?: number; ssl?: boolean }): Server;
}
