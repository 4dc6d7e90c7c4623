// @ts-check
// Meta shim, called with meta: meta.jobs (src/meta/jobs.ts).
(function (meta) {
  const request = globalThis.__sluice_channel.request;
  const stringify = JSON.stringify;
  const MS = { millisecond: 1, second: 1e3, minute: 6e4, hour: 36e5, day: 864e5, week: 6048e5 };
  const MONTHS = { month: 1, quarter: 3, year: 12 };
  const later = (n, unit) => {
    if (typeof n !== 'number' || !isFinite(n) || n < 0) throw new TypeError('runIn: expected a number of ' + unit + ' >= 0, got ' + n);
    const key = String(unit).toLowerCase().replace(/s$/, '');
    if (MS[key]) return Date.now() + n * MS[key];
    if (MONTHS[key]) { const date = new Date(); date.setUTCMonth(date.getUTCMonth() + n * MONTHS[key]); return date.getTime(); }
    throw new TypeError('runIn: unknown unit "' + unit + '": use milliseconds, seconds, minutes, hours, days, weeks, months, quarters or years');
  };
  const job = (name) => (payload) => {
    const json = stringify(payload === undefined ? {} : payload);
    if (json === undefined) throw new TypeError('the payload of job "' + name + '" is not JSON-serializable');
    const run = (at) => request('jobs.enqueue', stringify([name, json, at]));
    return {
      runNow: () => run(Date.now()),
      runIn: (n, unit) => run(later(n, unit)),
      runAt: (date) => {
        const at = new Date(date).getTime();
        if (isNaN(at)) throw new TypeError('runAt: invalid date ' + String(date));
        return run(at);
      },
    };
  };
  meta.jobs = new Proxy({}, { get: (target, name) => (typeof name === 'string' ? job(name) : undefined) });
})
