import { HOST_ERRORS_SHIM, HostCallError } from './host-sync';
import type { LazyGroup } from './lazy';

/** Labels TextDecoder accepts are Node's (WHATWG names); the host checks them. */
function decoderFor(label: string, fatal: boolean, ignoreBOM: boolean): InstanceType<typeof TextDecoder> {
  return new TextDecoder(label, { fatal, ignoreBOM });
}

/**
 * How many bytes at the end of `bytes` start a UTF-8 sequence that is valid so far but not
 * complete (0–3): a streaming decode holds them back for the next chunk, as Node's decoder does.
 */
export function incompleteUtf8Tail(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= Math.min(3, end); back++) {
    const lead = bytes[end - back]!;
    if (lead >= 0x80 && lead < 0xc0) continue; // a continuation byte: look further back
    const need = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (need <= back) return 0;
    if (back >= 2) {
      const second = bytes[end - back + 1]!;
      const [low, high] = lead === 0xe0 ? [0xa0, 0xbf] : lead === 0xed ? [0x80, 0x9f] : lead === 0xf0 ? [0x90, 0xbf] : lead === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
      if (second < low || second > high) return 0;
    }
    return back;
  }
  return 0;
}

/**
 * `TextEncoder` (UTF-8, in the VM), `TextDecoder` (Node's decoder on the host: every label,
 * `fatal`, `ignoreBOM`; `stream: true` for UTF-8), `atob` / `btoa` (Node's, on the host) and a
 * minimal `DOMException` (what atob/btoa and crypto.getRandomValues throw in Node).
 */
export const encodingGlobals: LazyGroup = {
  name: 'encoding',
  globals: ['TextEncoder', 'TextDecoder', 'atob', 'btoa', 'DOMException'],
  host: {
    decode: ['TextDecoder', (args) => {
      // (label) → the encoding's name; (label, fatal, ignoreBOM, stream, bytes) → [text, held-back bytes]
      const label = args.string(0, 100);
      if (args.length === 1) return decoderFor(label, false, false).encoding;
      const fatal = args.string(1) === 'true';
      const ignoreBOM = args.string(2) === 'true';
      const stream = args.string(3) === 'true';
      const bytes = args.bytes(4);
      const decoder = decoderFor(label, fatal, ignoreBOM);
      if (!stream) return JSON.stringify([decoder.decode(bytes), 0]);
      if (decoder.encoding !== 'utf-8') throw new HostCallError('TypeError', `TextDecoder: stream: true is available for utf-8 only in the sandbox, not ${decoder.encoding}`);
      const tail = incompleteUtf8Tail(bytes);
      return JSON.stringify([decoder.decode(bytes.subarray(0, bytes.length - tail)), tail]);
    }],
    base64: ['base64', (args) => {
      const op = args.string(0);
      const input = args.string(1);
      return op === 'atob' ? atob(input) : btoa(input);
    }],
  },
  source: String.raw`
    (function (host, shared, primordials) {
      const hostDecode = host.decode, hostBase64 = host.base64;
      ${HOST_ERRORS_SHIM}
      const parse = primordials.jsonParse;
      const CODES = { IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5, NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11, SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15, TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21, QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25 };
      class DOMException extends Error {
        constructor(message = '', name = 'Error') {
          super(String(message));
          Object.defineProperty(this, 'name', { value: String(name), configurable: true, writable: true });
        }
        get code() { return CODES[this.name] || 0; }
      }
      const domCall = (fn, ...args) => {
        try { return hostCall(fn, ...args); } catch (error) {
          if (error && error.code && CODES[error.code]) throw new DOMException(error.message, error.code);
          throw error;
        }
      };
      const missing = (name) => { const e = new TypeError('The "' + name + '" argument must be specified'); e.code = 'ERR_MISSING_ARGS'; return e; };
      const concat = primordials.concat;
      const toStr = (value) => concat.call('', value);

      class TextEncoder {
        get encoding() { return 'utf-8'; }
        encode(input = '') {
          const text = wellFormed(toStr(input));
          const out = new Uint8Array(text.length * 3);
          const written = encodeInto(text, out).written;
          return out.slice(0, written);
        }
        encodeInto(src, dest) {
          if (!(dest instanceof Uint8Array)) throw new TypeError('The "dest" argument must be an instance of Uint8Array.');
          return encodeInto(wellFormed(toStr(src)), dest);
        }
      }
      const encodeInto = (text, out) => {
        let read = 0, written = 0;
        const capacity = out.length;
        for (let i = 0; i < text.length; i++) {
          let code = text.charCodeAt(i);
          let units = 1;
          if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
            const low = text.charCodeAt(i + 1);
            if (low >= 0xdc00 && low <= 0xdfff) { code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00); units = 2; }
          }
          if (code < 0x80) { if (written + 1 > capacity) break; out[written++] = code; }
          else if (code < 0x800) { if (written + 2 > capacity) break; out[written++] = 0xc0 | (code >> 6); out[written++] = 0x80 | (code & 63); }
          else if (code < 0x10000) { if (written + 3 > capacity) break; out[written++] = 0xe0 | (code >> 12); out[written++] = 0x80 | ((code >> 6) & 63); out[written++] = 0x80 | (code & 63); }
          else { if (written + 4 > capacity) break; out[written++] = 0xf0 | (code >> 18); out[written++] = 0x80 | ((code >> 12) & 63); out[written++] = 0x80 | ((code >> 6) & 63); out[written++] = 0x80 | (code & 63); }
          read += units;
          i += units - 1;
        }
        return { read, written };
      };

      const decoderState = new WeakMap();
      class TextDecoder {
        constructor(label = 'utf-8', options = {}) {
          const encoding = hostCall(hostDecode, wellFormed(toStr(label)).slice(0, 100));
          const opts = options === null || options === undefined ? {} : options;
          decoderState.set(this, { encoding, fatal: !!opts.fatal, ignoreBOM: !!opts.ignoreBOM, pending: null, started: false });
        }
        get encoding() { return decoderState.get(this).encoding; }
        get fatal() { return decoderState.get(this).fatal; }
        get ignoreBOM() { return decoderState.get(this).ignoreBOM; }
        decode(input = undefined, options = {}) {
          const state = decoderState.get(this);
          if (!state) throw new TypeError('Value of "this" must be of type TextDecoder');
          let bytes = input === undefined || input === null ? new ArrayBuffer(0) : toBytes(input, 'input');
          const stream = !!(options && options.stream);
          if (state.pending) {
            const joined = new Uint8Array(state.pending.byteLength + bytes.byteLength);
            joined.set(new Uint8Array(state.pending), 0);
            joined.set(new Uint8Array(bytes), state.pending.byteLength);
            bytes = joined.buffer;
            state.pending = null;
          }
          const ignoreBOM = state.ignoreBOM || state.started;
          const [text, held] = parse(hostCall(hostDecode, state.encoding, String(state.fatal), String(ignoreBOM), String(stream), bytes));
          if (stream) {
            if (held > 0) state.pending = bytes.slice(bytes.byteLength - held);
            if (bytes.byteLength - held > 0) state.started = true;
          } else {
            state.started = false;
          }
          return text;
        }
      }

      const atob = function atob(input) {
        if (arguments.length === 0) throw missing('input');
        return domCall(hostBase64, 'atob', toStr(input));
      };
      const btoa = function btoa(input) {
        if (arguments.length === 0) throw missing('input');
        return domCall(hostBase64, 'btoa', toStr(input));
      };
      shared.DOMException = DOMException;
      return { globals: { TextEncoder, TextDecoder, atob, btoa, DOMException } };
    })
  `,
};
