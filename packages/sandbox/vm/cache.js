// @ts-check
// Meta shim, called with meta: meta.cache and meta.utils.cursor (src/meta/cache.ts).
(function (meta) {
  const request = globalThis.__sluice_channel.request;
  const { parse, stringify } = JSON;
  const decodeJson = (result) => (result === undefined ? undefined : parse(result));
  // The channel applies decode before it resolves: no extra promise per call (they add up
  // when every event of a batch awaits the cache).
  const call = (op, args, decode) => {
    let json;
    try { json = stringify([op, args]); } catch (error) { return Promise.reject(error); }
    return request('cache', json, decode === undefined ? decodeJson : decode);
  };
  const raw = (options) => options !== null && typeof options === 'object' && options.jsonSerialize === false;
  const encode = (value, options) => {
    if (raw(options)) return String(value);
    const json = stringify(value);
    if (json === undefined) throw new TypeError('meta.cache.set: the value is not JSON-serializable');
    return json;
  };
  const nothing = () => undefined;
  meta.cache = {
    set: (key, value, ttlSeconds, options) => {
      let encoded;
      try { encoded = encode(value, options); } catch (error) { return Promise.reject(error); }
      return call('set', [key, encoded, ttlSeconds], nothing);
    },
    get: (key, defaultValue, options) => call('get', [key], raw(options)
      ? (value) => (value === undefined ? defaultValue : value)
      : (value) => (value === undefined ? defaultValue : parse(value))),
    incr: (key) => call('incr', [key]),
    expire: (key, ttlSeconds) => call('expire', [key, ttlSeconds]),
    lpush: (key, elementOrArray) => call('lpush', [key, (Array.isArray(elementOrArray) ? elementOrArray : [elementOrArray]).map(String)]),
    lrange: (key, startIndex, endIndex) => call('lrange', [key, startIndex, endIndex]),
    llen: (key) => call('llen', [key]),
    lrem: (key, count, elementKey) => call('lrem', [key, count, String(elementKey)]),
    lpop: (key, count) => call('lpop', [key, count === undefined ? 1 : count]),
  };
  // PostHog's export cursors (meta.utils.cursor), kept in the instance's cache.
  meta.utils = {
    cursor: {
      init: (key, initialValue) => call('setnx', ['__cursor:' + key, String(initialValue === undefined ? 0 : initialValue)], nothing),
      increment: (key, incrementBy) => call('incr', ['__cursor:' + key, incrementBy === undefined ? 1 : incrementBy]),
    },
  };
})
