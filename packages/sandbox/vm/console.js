// @ts-check
// Meta shim: console.* (src/meta/console.ts), run after the prelude with the other shims (src/realm.ts).
(function () {
  const hostLog = globalThis.__host_log;
  delete globalThis.__host_log;
  const format = (value) => {
    if (typeof value === 'string') return value;
    if (value instanceof Error) return value.stack ? value.name + ': ' + value.message + '\n' + value.stack : String(value);
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return String(value);
    try { return JSON.stringify(value); } catch (error) { return String(value); }
  };
  const write = (level) => (...args) => hostLog(level, args.map(format).join(' '));
  globalThis.console = { log: write('log'), info: write('info'), warn: write('warn'), error: write('error'), debug: write('debug') };
})();
