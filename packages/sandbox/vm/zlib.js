// @ts-check
// Lazy group: require('zlib'); its host functions are in src/meta/zlib.ts (LazyGroup in src/meta/lazy.ts).
(function (host, shared, primordials, helpers) {
  const hostZlib = host.zlib;
  const { hostCall, toBytes, wellFormed } = helpers;
  const { toBuffer, fromString } = shared.NodeBuffer;
  const run = (method, data, options) => {
    const bytes = typeof data === 'string' ? fromString(wellFormed(data), 'utf8') : data;
    const input = toBytes(bytes, 'buffer');
    const opts = options && typeof options === 'object' ? options : {};
    const level = typeof opts.level === 'number' ? opts.level : undefined;
    const max = typeof opts.maxOutputLength === 'number' ? opts.maxOutputLength : undefined;
    return toBuffer(hostCall(hostZlib, method, input, level, max));
  };
  const zlibModule = {};
  for (const method of ['gzip', 'gunzip', 'deflate', 'inflate', 'deflateRaw', 'inflateRaw', 'unzip', 'brotliCompress', 'brotliDecompress']) {
    zlibModule[method + 'Sync'] = (data, options) => run(method, data, options);
    // Callback form: answered on a later microtask (there are no timers in apps).
    zlibModule[method] = (data, options, callback) => {
      if (typeof options === 'function') { callback = options; options = {}; }
      if (typeof callback !== 'function') { const e = new TypeError('The "callback" argument must be of type function. Received ' + typeof callback); e.code = 'ERR_INVALID_ARG_TYPE'; throw e; }
      let result, failure = null;
      try { result = run(method, data, options); } catch (error) { failure = error; }
      Promise.resolve().then(() => (failure ? callback(failure) : callback(null, result)));
    };
  }
  return { modules: { zlib: zlibModule } };
})
