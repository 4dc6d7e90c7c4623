/**
 * The JavaScript that runs inside every app's VM before the app: the CommonJS wrapper, the shims
 * apps may `require`, and the batch loop. Evaluated once per VM; it leaves its entry points on
 * `globalThis.__sluice`, which the host takes handles to and then deletes before the app loads
 * (the app cannot swap them). The host calls `processBatch(json)` once per batch — one boundary
 * crossing, the loop inside.
 */
export const PRELUDE = String.raw`
(function () {
  // Taken before the app runs: an app replacing JSON.parse/stringify only affects its own calls.
  const { parse, stringify } = JSON;
  class RetryError extends Error {
    constructor(message) { super(message); this.name = 'RetryError'; }
  }
  const shims = { '@posthog/plugin-scaffold': { RetryError } };
  globalThis.require = function require(name) {
    if (Object.prototype.hasOwnProperty.call(shims, name)) return shims[name];
    throw new Error('module "' + name + '" is not available in the sandbox');
  };
  for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
    globalThis[name] = function () { throw new Error(name + ' is not available in apps: use jobs'); };
  }
  const sluice = {
    exports: {},
    meta: null,
    load(body) {
      const module = { exports: {} };
      body(module, module.exports, globalThis.require);
      let app = module.exports;
      // export default { … } and module.exports = { default: … } both mean the default object's members.
      if (app && typeof app.default === 'object' && app.default !== null) app = Object.assign({}, app.default, app);
      sluice.exports = app || {};
    },
    capabilities(namesJson) {
      const names = parse(namesJson);
      const app = sluice.exports;
      return stringify(names.filter((name) => name === 'jobs'
        ? typeof app.jobs === 'object' && app.jobs !== null
        : typeof app[name] === 'function'));
    },
    call(name) {
      return Promise.resolve().then(() => {
        const fn = sluice.exports[name];
        return typeof fn === 'function' ? fn(sluice.meta) : undefined;
      }).then(() => '');
    },
    // Limit errors must end the whole call (the host then rebuilds the VM), not become one
    // event's outcome: QuickJS lets JS catch "out of memory" and "stack overflow", and an
    // interrupt inside a promise job arrives as an ordinary rejection. When the heap is so full
    // that QuickJS cannot even allocate its "out of memory" error, what arrives is a bare null
    // (an app throwing null itself is taken for the same: rare, and failing safe).
    rethrowLimit(error) {
      if (error === null) throw error;
      if (error instanceof InternalError && ['out of memory', 'stack overflow', 'interrupted'].includes(error.message)) throw error;
    },
    describe(error) {
      return error && error.message ? (error.name && error.name !== 'Error' ? error.name + ': ' : '') + error.message : String(error);
    },
    outcome(result) {
      if (result === null || result === undefined) return { status: 'dropped' };
      if (typeof result !== 'object' || Array.isArray(result)) return { status: 'error', error: 'processEvent returned ' + (Array.isArray(result) ? 'an array' : typeof result) + ', not an event or null' };
      return { status: 'ok', event: result };
    },
    processBatch(json) {
      const events = parse(json);
      const app = sluice.exports;
      if (typeof app.processEvent !== 'function' && typeof app.processEventBatch === 'function') {
        return sluice.finish(Promise.resolve().then(() => app.processEventBatch(events, sluice.meta)).then(
          (results) => events.map((_, i) => sluice.outcome(Array.isArray(results) ? results[i] : undefined)),
          (error) => { sluice.rethrowLimit(error); return events.map(() => ({ status: 'error', error: sluice.describe(error) })); },
        ));
      }
      const outcomes = new Array(events.length);
      let pending = null;
      for (let i = 0; i < events.length; i++) {
        try {
          const result = app.processEvent(events[i], sluice.meta);
          if (result && typeof result.then === 'function') {
            (pending || (pending = [])).push(Promise.resolve(result).then(
              (value) => { outcomes[i] = sluice.outcome(value); },
              (error) => { sluice.rethrowLimit(error); outcomes[i] = { status: 'error', error: sluice.describe(error) }; },
            ));
          } else {
            outcomes[i] = sluice.outcome(result);
          }
        } catch (error) {
          sluice.rethrowLimit(error);
          outcomes[i] = { status: 'error', error: sluice.describe(error) };
        }
      }
      // Synchronous apps (most) answer at once; async ones give a promise the host pumps.
      return pending ? sluice.finish(Promise.all(pending).then(() => outcomes)) : stringify(outcomes);
    },
    finish(promise) {
      return promise.then((outcomes) => stringify(outcomes));
    },
    // Destinations and jobs: a rejection reaches the host, which tells RetryError from other errors.
    onEvent(json) {
      const event = parse(json);
      return Promise.resolve().then(() => sluice.exports.onEvent(event, sluice.meta)).then(() => '');
    },
    exportEvents(json) {
      const events = parse(json);
      return Promise.resolve().then(() => sluice.exports.exportEvents(events, sluice.meta)).then(() => '');
    },
    runJob(name, json) {
      const payload = parse(json);
      return Promise.resolve().then(() => {
        const jobs = sluice.exports.jobs;
        const job = jobs && Object.prototype.hasOwnProperty.call(jobs, name) ? jobs[name] : undefined;
        if (typeof job !== 'function') {
          throw new Error('job "' + name + '" is not defined: the app\'s jobs are ' + (jobs ? Object.keys(jobs).join(', ') || 'none' : 'none'));
        }
        return job(payload, sluice.meta);
      }).then(() => '');
    },
  };
  globalThis.__sluice = sluice;
})();
`;
