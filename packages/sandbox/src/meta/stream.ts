import type { LazyGroup } from './lazy';
import { STREAM_JS } from '../vm-sources';

/**
 * Node's `stream` module (Readable, Writable, Duplex, Transform, PassThrough, pipeline, finished,
 * promises), done in the VM with no host function: enough of Node's semantics for an app to
 * build a body with push/write/end and pipe it into a bridge's write stream (PostHog's GCS export
 * pipes a PassThrough into `file.createWriteStream()`). Events are deferred to microtasks where
 * Node uses process.nextTick (apps have no timers). Strings are not decoded across chunk
 * boundaries by `setEncoding` (no StringDecoder), and highWaterMark only drives `write()`'s answer
 * and 'drain'.
 */
export const streamModule: LazyGroup = {
  name: 'stream',
  requires: ['buffer'],
  modules: ['stream'],
  source: STREAM_JS,
};
