import { HostCallError, type HostArgs } from './host-sync';
import type { LazyGroup } from './lazy';
import { BUFFER_JS } from '../vm-sources';

/** (bytes, encoding, start, end) → Node's Buffer#toString; ('from', text, encoding) → bytes. */
function bufferOp(args: HostArgs): string | Uint8Array {
  const op = args.string(0, 10);
  if (op === 'toString') {
    const bytes = Buffer.from(args.bytes(1));
    const encoding = args.string(2, 20);
    if (!Buffer.isEncoding(encoding)) throw new HostCallError('TypeError:ERR_UNKNOWN_ENCODING', `Unknown encoding: ${encoding}`);
    return bytes.toString(encoding);
  }
  if (op === 'from') {
    const encoding = args.string(2, 20);
    if (!Buffer.isEncoding(encoding)) throw new HostCallError('TypeError:ERR_UNKNOWN_ENCODING', `Unknown encoding: ${encoding}`);
    return new Uint8Array(Buffer.from(args.string(1), encoding));
  }
  throw new HostCallError('TypeError', `buffer: unknown operation ${op}`);
}

/**
 * The global `Buffer` and `require('buffer')`: a Uint8Array subclass in the VM with Node's API for
 * what apps use (`from`, `alloc`, `concat`, `byteLength`, `isBuffer`, `toString(encoding)`, the
 * read* methods, `write`, `copy`, `equals`, `compare`); text encodings are Node's, on the host.
 */
export const bufferGlobals: LazyGroup = {
  name: 'buffer',
  globals: ['Buffer'],
  modules: ['buffer'],
  host: {
    buffer: ['Buffer', bufferOp],
  },
  source: BUFFER_JS,
};
