// @ts-check
// Lazy group: require('node-fetch') and require('@posthog/plugin-contrib'), no host functions (src/meta/modules.ts).
(function () {
  const nodeFetch = (() => {
    const fetch = function fetch(...args) {
      const global = globalThis.fetch;
      if (typeof global !== 'function' || global === fetch) throw new Error('fetch is not available in this sandbox');
      return global(...args);
    };
    for (const name of ['Headers', 'Request', 'Response']) {
      Object.defineProperty(fetch, name, { get: () => globalThis[name], enumerable: true, configurable: true });
    }
    class FetchError extends Error { constructor(message, type) { super(message); this.name = 'FetchError'; this.type = type; } }
    class AbortError extends Error { constructor(message) { super(message); this.name = 'AbortError'; this.type = 'aborted'; } }
    fetch.FetchError = FetchError;
    fetch.AbortError = AbortError;
    fetch.isRedirect = (code) => [301, 302, 303, 307, 308].includes(code);
    fetch.default = fetch;
    fetch.fetch = fetch;
    return fetch;
  })();
  const contrib = (() => {
    function createBuffer(options = {}) {
      const limit = options.limit || 10;
      const timeoutSeconds = options.timeoutSeconds || 60;
      const buffer = {
        limit,
        timeoutSeconds,
        onFlush: options.onFlush,
        buffer: [],
        points: 0,
        oldest: 0,
        flushPromise: null,
        add(object, points = 1) {
          // Over the limit with this one: send what is there first; stale: send it now.
          if (buffer.points && (buffer.points + points > buffer.limit || Date.now() - buffer.oldest >= buffer.timeoutSeconds * 1000)) buffer.flush();
          if (buffer.buffer.length === 0) buffer.oldest = Date.now();
          buffer.points += points;
          buffer.buffer.push(object);
          if (buffer.points > buffer.limit) buffer.flush();
        },
        flush() {
          if (buffer.buffer.length === 0 && buffer.points === 0) return Promise.resolve();
          const objects = buffer.buffer;
          const points = buffer.points;
          buffer.buffer = [];
          buffer.points = 0;
          const done = Promise.resolve().then(() => (buffer.onFlush ? buffer.onFlush(objects, points) : undefined));
          buffer.flushPromise = done;
          return done;
        },
      };
      return buffer;
    }
    return { createBuffer };
  })();
  return { modules: { 'node-fetch': nodeFetch, '@posthog/plugin-contrib': contrib } };
})
