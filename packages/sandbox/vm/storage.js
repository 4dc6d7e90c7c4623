// @ts-check
// Meta shim, called with meta: meta.storage (src/meta/storage.ts).
(function (meta) {
  const request = globalThis.__sluice_channel.request;
  const { parse, stringify } = JSON;
  const host = (op, key, value) => request('storage', stringify([op, key, value]));
  const keyOf = (key) => {
    if (typeof key !== 'string') throw new TypeError('meta.storage: the key must be a string');
    return key;
  };
  meta.storage = {
    get: (key, defaultValue) => Promise.resolve().then(() => host('get', keyOf(key))).then((value) =>
      value === '' || value === undefined ? defaultValue : parse(value)),
    set: (key, value) => Promise.resolve().then(() => {
      const json = stringify(value);
      if (json === undefined) throw new TypeError('meta.storage.set: the value is not JSON-serializable');
      return host('set', keyOf(key), json);
    }).then(() => undefined),
    del: (key) => Promise.resolve().then(() => host('del', keyOf(key))).then(() => undefined),
  };
})
