import * as zlib from 'node:zlib';
import { HostCallError, MAX_HOST_OUTPUT_BYTES } from './host-sync';
import type { LazyGroup } from './lazy';
import { ZLIB_JS } from '../vm-sources';

const METHODS = {
  gzip: zlib.gzipSync, gunzip: zlib.gunzipSync, deflate: zlib.deflateSync, inflate: zlib.inflateSync,
  deflateRaw: zlib.deflateRawSync, inflateRaw: zlib.inflateRawSync, unzip: zlib.unzipSync,
  brotliCompress: zlib.brotliCompressSync, brotliDecompress: zlib.brotliDecompressSync,
} as const;
type Method = keyof typeof METHODS;

/**
 * Node's `zlib` module (sync and callback forms of gzip/gunzip, deflate/inflate, deflateRaw/
 * inflateRaw, unzip, brotliCompress/brotliDecompress) done by the host's zlib. Input is a string
 * (UTF-8) or bytes, at most MAX_HOST_INPUT_BYTES; output at most MAX_HOST_OUTPUT_BYTES (a
 * decompression bomb stops there with Node's ERR_BUFFER_TOO_LARGE). Options: `level`
 * (deflate/gzip) and a smaller `maxOutputLength`; others are ignored.
 */
export const zlibModule: LazyGroup = {
  name: 'zlib',
  requires: ['buffer'],
  modules: ['zlib'],
  host: {
    zlib: ['zlib', (args) => {
      const method = args.string(0, 40);
      if (!Object.prototype.hasOwnProperty.call(METHODS, method)) throw new HostCallError('TypeError', `zlib: unknown method ${method}`);
      const input = args.bytes(1);
      const level = args.type(2) === 'number' ? args.integer(2, -1, 9) : undefined;
      const maxOutputLength = args.type(3) === 'number' ? args.integer(3, 1, MAX_HOST_OUTPUT_BYTES) : MAX_HOST_OUTPUT_BYTES;
      const options = method.startsWith('brotli') ? { maxOutputLength } : { maxOutputLength, ...(level === undefined ? {} : { level }) };
      return new Uint8Array(METHODS[method as Method](input, options));
    }],
  },
  source: ZLIB_JS,
};
