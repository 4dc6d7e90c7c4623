// @ts-check
// The prelude: evaluated once per VM before the shims and the app (src/realm.ts, PRELUDE in src/prelude.ts).
(function () {
  // Taken before the app runs: an app replacing JSON.parse/stringify only affects its own calls.
  const { parse, stringify } = JSON;
  const LIMIT_MESSAGES = ['out of memory', 'stack overflow', 'interrupted'];
  // A returned event's JSON past this is refused (its own error): it would flow on to queues and store.
  const MAX_EVENT_CHARS = 5 * 1024 * 1024;
  class RetryError extends Error {
    constructor(message) { super(message); this.name = 'RetryError'; }
  }
  // Built-in modules: built on first require (the lazy groups add theirs with sluice.provide: vm/lazy-loader.js).
  // 'node:crypto' and 'crypto' are the same module, as in Node.
  const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
  const factories = { '@posthog/plugin-scaffold': () => ({ RetryError }) };
  const shims = {};
  globalThis.require = function require(name) {
    const key = typeof name === 'string' && name.startsWith('node:') ? name.slice(5) : name;
    if (hasOwn(shims, key)) return shims[key];
    if (typeof key === 'string' && hasOwn(factories, key)) return (shims[key] = factories[key]());
    throw new Error('module "' + name + '" is not available in the sandbox');
  };
  const provide = (name, factory) => { factories[name] = factory; };
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
      if (sluice.isLimit(error)) throw error;
    },
    // Never throws: the app's thrown value may be a Proxy or have throwing getters, and one
    // event's strange throw must not fail its neighbours.
    isLimit(error) {
      if (error === null) return true;
      try {
        return error instanceof InternalError && LIMIT_MESSAGES.includes(error.message);
      } catch (inner) {
        if (inner === null) return true;
        try { return inner instanceof InternalError && LIMIT_MESSAGES.includes(inner.message); } catch (ignored) { return false; }
      }
    },
    describe(error) {
      try {
        const message = error && error.message;
        if (!message) return String(error);
        const name = error.name;
        return (name && name !== 'Error' ? name + ': ' : '') + message;
      } catch (inner) {
        sluice.rethrowLimit(inner);
        return 'threw a value that cannot be described';
      }
    },
    // One string of outcomes; an outcome that cannot be serialised (a cycle, a BigInt) or is
    // larger than MAX_EVENT_CHARS becomes that event's error instead of failing the whole batch.
    serialize(outcomes) {
      let json;
      try {
        json = stringify(outcomes);
      } catch (error) {
        sluice.rethrowLimit(error);
      }
      if (json !== undefined && json.length <= MAX_EVENT_CHARS) return json;
      const parts = new Array(outcomes.length);
      for (let i = 0; i < outcomes.length; i++) {
        let part;
        try {
          part = stringify(outcomes[i]);
        } catch (error) {
          sluice.rethrowLimit(error);
          part = stringify({ status: 'error', error: 'processEvent returned an event that is not JSON: ' + sluice.describe(error) });
        }
        if (part.length > MAX_EVENT_CHARS) {
          part = stringify({ status: 'error', error: 'processEvent returned an event too large: ' + part.length + ' characters of JSON, at most ' + MAX_EVENT_CHARS + ' allowed' });
        }
        parts[i] = part;
      }
      return '[' + parts.join(',') + ']';
    },
    // ---- The batch loop: processBatch(eventsJson, shapesJson, propertiesText), one crossing. ----
    // Parsing every event and re-serialising every result costs more than the app itself, so:
    // - Each event reaches the app wrapped in two Proxies (the event and its properties) whose
    //   only traps note which keys the app writes, defines or deletes; reads go straight to the
    //   object. An event the app returns as the same object comes back as a patch of those keys
    //   (or 0: unchanged), which the host applies to the event it already holds; anything else (a
    //   new object, another event's object) comes back whole, as before.
    // - properties (most of an event's bytes) arrive unparsed: the events' properties JSON
    //   concatenated in propertiesText, each event's "properties" a placeholder. Until the app
    //   reads them (any read: get, in, keys, spread, JSON.stringify…), the properties object holds
    //   only what the app wrote; the first read parses the event's own slice, lays what was written
    //   over it, and drops the read traps (the handler's prototype changes), so later reads are
    //   plain again. An app that only adds properties (hello-world) never parses them.
    // - Nested objects cannot be watched without trapping reads, so the host names per event the
    //   keys it cannot trust to come back as they went in — objects, arrays, non-JSON values — and
    //   their current values are always sent (for properties: once they were parsed).
    //   shapesJson: per event 1 (sent whole in eventsJson, not tracked) or
    //   [length of its properties JSON in propertiesText, or -1 when they are inline; volatile
    //   top-level keys; volatile properties keys].
    // - A key deleted and set again moves to the end of its object: that object is sent whole, so
    //   even key order matches a full serialisation.
    // Apps that rewrite most keys (trap calls outweigh what the patch saves) or return new objects
    // run untracked for a while (adaptive: measured per batch, re-probed after RETRACK batches).
    processBatch: (function () {
      const { create, keys: keysOf, assign, setPrototypeOf } = Object;
      const isArray = Array.isArray;
      const own = Object.hasOwn;
      const {
        set: reflectSet, get: reflectGet, has: reflectHas, ownKeys: reflectOwnKeys, preventExtensions: reflectPreventExtensions,
        defineProperty: reflectDefine, deleteProperty: reflectDelete, getOwnPropertyDescriptor: describeOwn,
      } = Reflect;
      const ProxyOf = Proxy;
      const RETRACK = 32;
      let hits = 0;
      let untracked = 0;
      const isRecord = (value) => value !== null && typeof value === 'object' && !isArray(value);
      const markDirty = (handler, key) => { (handler.dirty || (handler.dirty = create(null)))[key] = 1; };
      // Null-prototype traps and handlers: Object.prototype.get = … in an app must not become a trap.
      const traps = create(null);
      function doSet(handler, target, key, value) {
        hits++;
        if (typeof key === 'string') markDirty(handler, key);
        return reflectSet(target, key, value);
      }
      function doDefine(handler, target, key, descriptor) {
        hits++;
        if (typeof key === 'string') markDirty(handler, key);
        return reflectDefine(target, key, descriptor);
      }
      function doDelete(handler, target, key) {
        hits++;
        if (typeof key === 'string' && own(target, key)) {
          markDirty(handler, key);
          (handler.removed || (handler.removed = create(null)))[key] = 1;
        }
        return reflectDelete(target, key);
      }
      traps.set = function (target, key, value) { return doSet(this, target, key, value); };
      traps.defineProperty = function (target, key, descriptor) { return doDefine(this, target, key, descriptor); };
      traps.deleteProperty = function (target, key) { return doDelete(this, target, key); };
      // Properties not parsed yet: the target holds only what the app wrote. Writing a key needs
      // no parse (every parsed key is a plain writable data property, so a write just replaces
      // it; where it lands in the key order the host knows) unless the key is inherited
      // (__proto__, or anything an app put on Object.prototype). Anything else parses first.
      const lazyTraps = create(null);
      lazyTraps.set = function (target, key, value) {
        if (!own(target, key) && reflectHas(target, key)) materialize(this);
        return doSet(this, target, key, value);
      };
      lazyTraps.get = function (target, key, receiver) { materialize(this); return reflectGet(target, key, receiver); };
      lazyTraps.has = function (target, key) { materialize(this); return reflectHas(target, key); };
      lazyTraps.ownKeys = function (target) { materialize(this); return reflectOwnKeys(target); };
      lazyTraps.getOwnPropertyDescriptor = function (target, key) { materialize(this); return describeOwn(target, key); };
      lazyTraps.defineProperty = function (target, key, descriptor) { materialize(this); return doDefine(this, target, key, descriptor); };
      lazyTraps.deleteProperty = function (target, key) { materialize(this); return doDelete(this, target, key); };
      lazyTraps.preventExtensions = function (target) { materialize(this); return reflectPreventExtensions(target); };
      // Parses the properties and lays what the app wrote so far over them, in the key order a
      // parsed object would have had (parsed keys first, in place; new ones after, as written).
      function materialize(handler) {
        if (!handler.lazy) return;
        handler.lazy = false;
        setPrototypeOf(handler, traps);
        const target = handler.target;
        const parsed = parse(handler.text.substring(handler.at, handler.at + handler.length));
        handler.text = null;
        const written = keysOf(target);
        const saved = written.length ? assign(create(null), target) : null;
        for (let i = 0; i < written.length; i++) reflectDelete(target, written[i]);
        if (own(parsed, '__proto__')) {
          // assign would call the __proto__ setter instead of making the key.
          const parsedKeys = keysOf(parsed);
          for (let i = 0; i < parsedKeys.length; i++) reflectDefine(target, parsedKeys[i], { value: parsed[parsedKeys[i]], writable: true, enumerable: true, configurable: true });
        } else {
          assign(target, parsed);
        }
        for (let i = 0; i < written.length; i++) reflectDefine(target, written[i], { value: saved[written[i]], writable: true, enumerable: true, configurable: true });
      }
      // No reference from a handler back to its proxy: a cycle would leave every batch's events to
      // QuickJS's cycle collector instead of freeing them by reference count.
      function handlerFor(target, prototype) {
        const handler = create(prototype);
        handler.target = target;
        handler.dirty = null;
        handler.removed = null;
        handler.lazy = false;
        return handler;
      }
      // Puts each event's properties in place (lazily when tracked) and wraps the tracked events.
      function unpack(events, shapes, text, tracked) {
        const trackers = tracked ? new Array(events.length) : null;
        let at = 0;
        for (let i = 0; i < events.length; i++) {
          const event = events[i];
          const shape = shapes[i];
          if (shape === 1 || !isRecord(event)) continue;
          const length = shape[0];
          if (!tracked) {
            if (length >= 0) event.properties = parse(text.substring(at, at + length));
          } else {
            let props = null;
            let propsProxy = null;
            if (length >= 0) {
              props = handlerFor({}, lazyTraps);
              props.lazy = true;
              props.text = text;
              props.at = at;
              props.length = length;
              propsProxy = new ProxyOf(props.target, props);
              event.properties = propsProxy;
            }
            const top = handlerFor(event, traps);
            const proxy = new ProxyOf(event, top);
            trackers[i] = { top, proxy, props, propsProxy, shape };
            events[i] = proxy;
          }
          if (length >= 0) at += length;
        }
        return trackers;
      }
      // Whether a key the app deleted is there again (now last in the object's key order).
      function reAdded(handler) {
        if (handler.removed) for (const key in handler.removed) if (own(handler.target, key)) return true;
        return false;
      }
      // [set, deleted] for one object: the keys the app touched plus the volatile ones. A key JSON
      // leaves out (gone, or made non-enumerable by defineProperty) is a deletion.
      function changes(handler, volatile) {
        const target = handler.target;
        const dirty = handler.dirty;
        let set = null;
        let deleted = null;
        const add = (key) => {
          const descriptor = describeOwn(target, key);
          if (descriptor && descriptor.enumerable) (set || (set = create(null)))[key] = target[key];
          else (deleted || (deleted = [])).push(key);
        };
        if (dirty) for (const key in dirty) add(key);
        if (volatile) for (let i = 0; i < volatile.length; i++) if (!(dirty && dirty[volatile[i]])) add(volatile[i]);
        return set || deleted ? [set, deleted] : null;
      }
      // 0 (unchanged), a patch {t, td, p, pd, m}, or null: send the event whole.
      function patchOf(tracked) {
        const { top, props, propsProxy, shape } = tracked;
        if (reAdded(top)) return null;
        const topChanges = changes(top, shape[1]);
        const patch = create(null);
        if (topChanges) {
          if (topChanges[0]) patch.t = topChanges[0];
          if (topChanges[1]) patch.td = topChanges[1];
        }
        // properties is still the proxy unpack() put there unless the top level rewrote it.
        if (props && !(patch.t && own(patch.t, 'properties')) && !(patch.td && patch.td.indexOf('properties') >= 0)) {
          if (reAdded(props)) {
            (patch.t || (patch.t = create(null))).properties = propsProxy;
          } else {
            // Never parsed: nothing nested could have changed, and the host puts its own copies of
            // the volatile values through JSON; once parsed (m: 1), their current values are sent.
            const propChanges = changes(props, props.lazy ? null : shape[2]);
            if (propChanges) {
              if (propChanges[0]) patch.p = propChanges[0];
              if (propChanges[1]) patch.pd = propChanges[1];
            }
            if (!props.lazy && shape[2].length) patch.m = 1;
          }
        }
        return patch.t || patch.td || patch.p || patch.pd || patch.m ? patch : 0;
      }
      function outcomeOf(result, tracked, counts) {
        if (result === null || result === undefined) return { status: 'dropped' };
        if (typeof result !== 'object' || isArray(result)) return { status: 'error', error: 'processEvent returned ' + (isArray(result) ? 'an array' : typeof result) + ', not an event or null' };
        if (tracked) {
          if (result === tracked.proxy) {
            const patch = patchOf(tracked);
            if (patch === 0) return 0;
            if (patch) return { status: 'ok', patch };
          } else {
            counts.whole++;
          }
        }
        return { status: 'ok', event: result };
      }
      // Serialises the outcomes once every event has settled (mutations made meanwhile, e.g. by a
      // later event through a kept reference, are included, as a full serialisation would).
      function finish(results, failed, trackers) {
        const counts = { whole: 0 };
        const n = results.length;
        const outcomes = new Array(n);
        for (let i = 0; i < n; i++) outcomes[i] = failed[i] || outcomeOf(results[i], trackers && trackers[i], counts);
        if (trackers && (hits > 8 * n || counts.whole * 2 > n)) untracked = RETRACK;
        return sluice.serialize(outcomes);
      }
      return function processBatch(eventsJson, shapesJson, propertiesText) {
        const events = parse(eventsJson);
        const n = events.length;
        const tracked = untracked === 0;
        if (!tracked) untracked--;
        const trackers = unpack(events, parse(shapesJson), propertiesText, tracked);
        hits = 0;
        const app = sluice.exports;
        const results = new Array(n);
        const failed = new Array(n);
        if (typeof app.processEvent !== 'function' && typeof app.processEventBatch === 'function') {
          return Promise.resolve().then(() => app.processEventBatch(events, sluice.meta)).then(
            (returned) => {
              for (let i = 0; i < n; i++) results[i] = isArray(returned) ? returned[i] : undefined;
              return finish(results, failed, trackers);
            },
            (error) => { sluice.rethrowLimit(error); return stringify(events.map(() => ({ status: 'error', error: sluice.describe(error) }))); },
          );
        }
        let pending = null;
        // One person's events run one after another, in batch order (PostHog's per-distinct_id
        // order): while a person's async processEvent is unsettled, that person's next event
        // waits for it; other people's events run meanwhile. Keyed by distinct_id, which the
        // host gives every event as a string.
        let busy = null;
        const run = (i) => {
          try {
            const result = app.processEvent(events[i], sluice.meta);
            if (result && typeof result.then === 'function') {
              return Promise.resolve(result).then(
                (value) => { results[i] = value; },
                (error) => { sluice.rethrowLimit(error); failed[i] = { status: 'error', error: sluice.describe(error) }; },
              );
            }
            results[i] = result;
          } catch (error) {
            sluice.rethrowLimit(error);
            failed[i] = { status: 'error', error: sluice.describe(error) };
          }
          return null;
        };
        for (let i = 0; i < n; i++) {
          const person = events[i].distinct_id;
          const before = busy && busy.get(person);
          const settled = before ? before.then(() => run(i)) : run(i);
          if (settled) {
            (pending || (pending = [])).push(settled);
            (busy || (busy = new Map())).set(person, settled);
          }
        }
        // Synchronous apps (most) answer at once; async ones give a promise the host pumps.
        return pending ? Promise.all(pending).then(() => finish(results, failed, trackers)) : finish(results, failed, trackers);
      };
    })(),
    // Destinations and jobs: a rejection reaches the host, which tells RetryError from other errors.
    onEvent(json) {
      const event = parse(json);
      return Promise.resolve().then(() => sluice.exports.onEvent(event, sluice.meta)).then(() => '');
    },
    // A job's events in one crossing (PostHog calls onEvent once per event; a crossing per event
    // cost more than most destinations): each person's events one after another in the given
    // order, different persons concurrently, as processBatch runs them. With hold '1', a person
    // whose event threw RetryError has their later events left unrun, so the host can hold them
    // behind it. Answers, per event, 0 (done), 1 (held, not run) or [error text, 1 if RetryError].
    onEventBatch(json, hold) {
      const events = parse(json);
      const holding = hold === '1' ? new Set() : null;
      const outcomes = new Array(events.length).fill(0);
      const chains = new Map();
      const fail = (i, person) => (error) => {
        sluice.rethrowLimit(error);
        const retry = Boolean(error) && error.name === 'RetryError';
        outcomes[i] = [sluice.describe(error), retry ? 1 : 0];
        if (retry && holding) holding.add(person);
      };
      const run = (i, person) => {
        if (holding && holding.has(person)) {
          outcomes[i] = 1;
          return undefined;
        }
        return Promise.resolve().then(() => sluice.exports.onEvent(events[i], sluice.meta)).then(undefined, fail(i, person));
      };
      for (let i = 0; i < events.length; i++) {
        const person = events[i].distinct_id;
        const before = chains.get(person);
        chains.set(person, before ? before.then(() => run(i, person)) : run(i, person));
      }
      return Promise.all(chains.values()).then(() => stringify(outcomes));
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
  sluice.provide = provide; // for the meta shims, before the app loads (see src/realm.ts)
  // For the bridges' shims (vm/pg.js, vm/aws-sdk.js…): settles a Node-style callback with the
  // promise's outcome when one is given (and answers undefined, as Node APIs do), else the promise.
  sluice.both = (promise, callback) => {
    if (typeof callback !== 'function') return promise;
    promise.then((value) => callback(null, value), (error) => callback(error));
    return undefined;
  };
})();
