// @ts-check
// Lazy group: require('jsonwebtoken'); its host function is in src/meta/jsonwebtoken.ts (LazyGroup in src/meta/lazy.ts).
(function (host, shared, primordials, helpers) {
  const hostJwt = host.jwt;
  const { hostCall } = helpers;
  const { jsonParse, jsonStringify } = primordials;
  class JsonWebTokenError extends Error {
    constructor(message) { super(message); this.name = 'JsonWebTokenError'; }
  }
  class TokenExpiredError extends JsonWebTokenError {
    constructor(message, expiredAt) { super(message); this.name = 'TokenExpiredError'; this.expiredAt = expiredAt; }
  }
  class NotBeforeError extends JsonWebTokenError {
    constructor(message, date) { super(message); this.name = 'NotBeforeError'; this.date = date; }
  }
  const wireKey = (key) => (key instanceof ArrayBuffer || ArrayBuffer.isView(key) ? { base64: Buffer.from(key).toString('base64') } : key);
  const call = (op, first, key, options) => {
    const answer = jsonParse(hostCall(hostJwt, op, jsonStringify([first, wireKey(key), options])));
    if (!answer.error) return answer.value;
    const { name, message } = answer.error;
    if (name === 'TokenExpiredError') throw new TokenExpiredError(message, new Date(answer.error.expiredAt));
    if (name === 'NotBeforeError') throw new NotBeforeError(message, new Date(answer.error.date));
    throw new JsonWebTokenError(message);
  };
  // As jsonwebtoken: a callback (last argument) gets (error, result); without one it returns or throws.
  const withCallback = (run, options, callback) => {
    if (typeof options === 'function') { callback = options; options = undefined; }
    if (typeof callback !== 'function') return run(options);
    let result;
    try { result = run(options); } catch (error) { Promise.resolve().then(() => callback(error)); return undefined; }
    Promise.resolve().then(() => callback(null, result));
    return undefined;
  };
  const jsonwebtoken = {
    sign: (payload, key, options, callback) => withCallback((opts) => call('sign', payload, key, opts), options, callback),
    verify: (token, key, options, callback) => withCallback((opts) => call('verify', token, key, opts), options, callback),
    decode: (token, options) => call('decode', token, undefined, options),
    JsonWebTokenError, TokenExpiredError, NotBeforeError,
  };
  return { modules: { jsonwebtoken: { ...jsonwebtoken, default: jsonwebtoken } } };
})
