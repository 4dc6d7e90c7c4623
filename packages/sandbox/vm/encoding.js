// @ts-check
// Lazy group: TextEncoder, TextDecoder, atob, btoa, DOMException; its host functions are in src/meta/encoding.ts (LazyGroup in src/meta/lazy.ts).
(function (host, shared, primordials, helpers) {
  const hostDecode = host.decode, hostBase64 = host.base64;
  const { hostCall, toBytes, wellFormed } = helpers;
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
