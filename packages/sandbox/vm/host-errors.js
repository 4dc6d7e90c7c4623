// @ts-check
// Helpers of the lazy groups, called with the loader's primordials once per group load (withHelpers in src/meta/lazy.ts).
// Their host side (the {name, message} errors, the U+0001 'J' strings) is src/meta/host-sync.ts.
(function (primordials) {
  const { jsonParse, jsonStringify, toWellFormed: toWellFormedOf } = primordials;
  // Strings holding U+0000 cross the boundary as U+0001 'J' + JSON (see wrapString in src/meta/host-sync.ts).
  const wrapArg = (arg) => (typeof arg === 'string' && (arg.indexOf('\u0000') !== -1 || arg.charCodeAt(0) === 1) ? '\u0001J' + jsonStringify(arg) : arg);
  const hostCall = (fn, ...args) => {
    try {
      const result = fn(...args.map(wrapArg));
      return typeof result === 'string' && result.charCodeAt(0) === 1 && result[1] === 'J' ? jsonParse(result.slice(2)) : result;
    } catch (error) {
      if (!error || typeof error !== 'object' || typeof error.message !== 'string') throw error;
      const [name, code] = String(error.name || 'Error').split(':');
      const Class = name === 'TypeError' ? TypeError : name === 'RangeError' ? RangeError : name === 'SyntaxError' ? SyntaxError : Error;
      // Limits of the sandbox itself (interrupts, out of memory) pass through unchanged.
      if (name === 'InternalError') throw error;
      const copy = new Class(error.message);
      if (code) copy.code = code;
      throw copy;
    }
  };
  const toBytes = (data, what) => {
    if (data instanceof ArrayBuffer) return data.slice(0);
    if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    const error = new TypeError('The "' + what + '" argument must be of type string or an instance of Buffer, TypedArray, DataView, or ArrayBuffer.' + received(data));
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  };
  // Node's ERR_INVALID_ARG_TYPE tail: ' Received type number (42)', ' Received an instance of X'…
  const received = (value) => value === null ? ' Received null' : value === undefined ? ' Received undefined'
    : typeof value === 'function' ? ' Received function ' + value.name
    : typeof value === 'object' ? (value.constructor && value.constructor.name ? ' Received an instance of ' + value.constructor.name : ' Received ' + String(value))
    : ' Received type ' + typeof value + ' (' + (typeof value === 'string' ? "'" + value.slice(0, 25) + (value.length > 25 ? "...'" : "'") : String(value)) + ')';
  const wellFormed = (value) => toWellFormedOf.call(String(value));
  return { hostCall, toBytes, received, wellFormed };
})
