// @ts-check
// Lazy group: require('generic-pool') — the npm library itself, bundled at build time
// (GENERIC_POOL_LIBRARY_JS, see scripts/build-vm-sources.mjs), called with these timer stand-ins
// (src/meta/generic-pool.ts). Apps have no timers: the pool's default path uses none, and the
// options that need them (acquireTimeoutMillis, evictionRunIntervalMillis, destroyTimeoutMillis,
// and ready() before `min` resources exist) fail with this error instead of waiting forever.
(function (library) {
  return function (host, shared, primordials, helpers) {
    const noTimers = () => {
      throw new Error('generic-pool: acquireTimeoutMillis, evictionRunIntervalMillis, destroyTimeoutMillis and ready() need timers, which apps do not have (leave them unset)');
    };
    const genericPool = library(noTimers, () => {});
    return { modules: { 'generic-pool': genericPool } };
  };
})
