import * as nodeCrypto from 'node:crypto';
import { HostCallError, MAX_HOST_INPUT_BYTES, MAX_HOST_OUTPUT_BYTES, type HostArgs } from './host-sync';
import type { LazyGroup } from './lazy';
import { CRYPTO_JS } from '../vm-sources';

/** At most this many update() chunks reach one digest (the shim merges adjacent strings). */
const MAX_CHUNKS = 10_000;
/** Hashes that need options (output length) or are legacy aliases are still Node's; all are allowed. */
const HASHES = new Set(nodeCrypto.getHashes().map((name) => name.toLowerCase()));

/** (algorithm, hmacKey|undefined, outputEncoding|undefined, count, ...[encoding, data] × count) → digest */
function digest(args: HostArgs): string | Uint8Array {
  const algorithm = args.string(0, 100);
  if (!HASHES.has(algorithm.toLowerCase())) throw new HostCallError('Error', 'Digest method not supported');
  const key = args.type(1) === 'undefined' ? undefined : args.stringOrBytes(1, 1024 * 1024);
  const outputEncoding = args.optionalString(2, 20);
  const count = args.integer(3, 0, MAX_CHUNKS);
  const hash = key === undefined ? nodeCrypto.createHash(algorithm) : nodeCrypto.createHmac(algorithm, key);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const encoding = args.string(4 + 2 * i, 20);
    const data = args.stringOrBytes(5 + 2 * i);
    total += typeof data === 'string' ? data.length : data.byteLength;
    if (total > MAX_HOST_INPUT_BYTES) throw new HostCallError('RangeError', `hash input over the sandbox's limit of ${MAX_HOST_INPUT_BYTES} bytes`);
    if (typeof data === 'string') hash.update(data, encoding as BufferEncoding);
    else hash.update(data);
  }
  const out = outputEncoding === undefined ? hash.digest() : (hash.digest(outputEncoding as nodeCrypto.BinaryToTextEncoding) as string | Buffer);
  return typeof out === 'string' ? out : new Uint8Array(out);
}

/**
 * The global `crypto` (`randomUUID`, `getRandomValues`) and Node's `crypto` module:
 * `createHash` / `createHmac` (any of Node's digests; `update(data[, encoding])` kept in the VM,
 * one host call per `digest([encoding])`, which answers bytes indexable like a Buffer), `randomUUID`,
 * `randomBytes`, `randomInt`, `getRandomValues`, `timingSafeEqual`, `getHashes`, `webcrypto`.
 * Randomness is the host's CSPRNG. Digests and random bytes are Buffers (the buffer group's).
 */
export const cryptoGlobals: LazyGroup = {
  name: 'crypto',
  requires: ['encoding', 'buffer'],
  globals: ['crypto'],
  modules: ['crypto'],
  host: {
    digest: ['crypto', digest],
    random: ['crypto', (args) => {
      const op = args.string(0, 20);
      if (op === 'uuid') return nodeCrypto.randomUUID();
      if (op === 'bytes') return new Uint8Array(nodeCrypto.randomBytes(args.integer(1, 0, MAX_HOST_OUTPUT_BYTES)));
      if (op === 'int') return nodeCrypto.randomInt(args.number(1), args.number(2));
      if (op === 'hashes') return JSON.stringify(nodeCrypto.getHashes());
      throw new HostCallError('TypeError', `crypto: unknown operation ${op}`);
    }],
  },
  source: CRYPTO_JS,
};
