// @ts-check
// The lazy groups' loader, called with { groups, order } (loaderShim in src/meta/lazy.ts, which explains it).
(function (settings) {
  const sluice = globalThis.__sluice;
  const hostLoad = globalThis.__host_lazy;
  delete globalThis.__host_lazy;
  const GROUPS = settings.groups;
  const ORDER = settings.order;
  const { defineProperty, getOwnPropertyDescriptor, create } = Object;
  const { apply, defineProperty: tryDefine } = Reflect;
  // Taken now, before the app runs: a group loaded later still uses the originals.
  const primordials = { jsonParse: JSON.parse, jsonStringify: JSON.stringify, toWellFormed: String.prototype.toWellFormed, concat: String.prototype.concat,
    dateGetTime: Date.prototype.getTime, numberValueOf: Number.prototype.valueOf, bigintValueOf: BigInt.prototype.valueOf };
  const shared = create(null);
  // For the bridges' groups: the host channel and the callback/promise helper (both hidden from apps after set-up).
  shared.request = globalThis.__sluice_channel.request;
  shared.both = sluice.both;
  const loaded = create(null);
  const loading = create(null);
  const getters = create(null); // global name → the accessor's getter (still ours unless the app replaced it)
  const load = (name) => {
    const done = loaded[name];
    if (done) return done;
    if (loading[name]) throw new Error('sandbox: the ' + name + ' globals need themselves to load');
    loading[name] = true;
    try {
      const group = GROUPS[name];
      for (let i = 0; i < group.requires.length; i++) load(group.requires[i]);
      const answer = hostLoad(name, shared, primordials);
      for (let i = 0; i < group.globals.length; i++) {
        const key = group.globals[i];
        const current = getOwnPropertyDescriptor(globalThis, key);
        // (a frozen globalThis keeps the accessor, which answers the same value)
        if (current && current.get === getters[key]) tryDefine(globalThis, key, { __proto__: null, value: answer.globals[key], writable: true, configurable: true, enumerable: false });
      }
      loaded[name] = answer;
      return answer;
    } finally {
      loading[name] = false;
    }
  };
  for (let g = 0; g < ORDER.length; g++) {
    const name = ORDER[g];
    const group = GROUPS[name];
    for (let i = 0; i < group.globals.length; i++) {
      const key = group.globals[i];
      const get = function () { return load(name).globals[key]; };
      getters[key] = get;
      defineProperty(globalThis, key, {
        get,
        // As in Node, where these are writable data properties: the app's value wins.
        set(value) {
          // (null-prototype descriptors: an Object.prototype.get the app defined cannot spoil them)
          if (this === globalThis) tryDefine(globalThis, key, { __proto__: null, value, writable: true, configurable: true, enumerable: false });
          else tryDefine(this, key, { __proto__: null, value, writable: true, configurable: true, enumerable: true });
        },
        configurable: true, enumerable: false,
      });
    }
    for (let i = 0; i < group.modules.length; i++) {
      const module = group.modules[i];
      sluice.provide(module, () => load(name).modules[module]);
    }
    for (let i = 0; i < group.methods.length; i++) {
      const [path, ctor, method, length] = group.methods[i];
      const impl = () => load(name).methods[path];
      const stub = length === 1
        ? { [method](a, b = undefined, c = undefined) { return apply(impl(), this, arguments); } }[method]
        : { [method](a = undefined, b = undefined) { return apply(impl(), this, arguments); } }[method];
      defineProperty(globalThis[ctor].prototype, method, { value: stub, writable: true, configurable: true, enumerable: false });
    }
  }
})
