// @ts-check
// The host-call channel, called with { maxInFlight } (CHANNEL_SHIM in src/meta/host-async.ts, which explains it).
(function (settings) {
  const notify = globalThis.__host_notify;
  delete globalThis.__host_notify;
  const { parse, stringify } = JSON;
  const pending = new Map();
  const MAX_IN_FLIGHT = settings.maxInFlight;
  let queue = [];
  let nextId = 1;
  // A host error as the app sees it: its message, and its name, code and SDK fields when it has them.
  const hostError = (message, details) => {
    const error = new Error(message);
    if (details) for (const key of Object.keys(details)) Object.defineProperty(error, key, { value: details[key], writable: true, configurable: true, enumerable: key !== 'name' });
    return error;
  };
  globalThis.__sluice_channel = {
    // decode (optional) turns the host's string into the promise's value; if it throws, the
    // promise rejects with that error.
    request(op, payload, decode) {
      // Each waiting call holds a promise and its resolvers in the app's heap and a task on the
      // host: a flood (100k parallel cache.get) is refused here, clearly, instead of running the
      // heap out in odd places.
      if (pending.size >= MAX_IN_FLIGHT) {
        return Promise.reject(new RangeError('too many host calls waiting at once (meta.cache, meta.storage, fetch…): at most ' + MAX_IN_FLIGHT));
      }
      let settle;
      const promise = new Promise((resolve, reject) => { settle = [resolve, reject, decode]; });
      const id = nextId++;
      if (queue.length === 0) notify();
      queue.push([id, op, payload]);
      pending.set(id, settle);
      return promise;
    },
    take() {
      const taken = queue;
      queue = [];
      return stringify(taken);
    },
    deliver(json) {
      const results = parse(json);
      for (let i = 0; i < results.length; i++) {
        const [id, ok, value, details] = results[i];
        const waiter = pending.get(id);
        if (!waiter) continue;
        pending.delete(id);
        if (!ok) { waiter[1](hostError(value, details)); continue; }
        const result = value === null ? undefined : value;
        if (waiter[2] === undefined) { waiter[0](result); continue; }
        try { waiter[0](waiter[2](result)); } catch (error) { waiter[1](error); }
      }
    },
  };
})
