// @ts-check
// Lazy group: URL, URLSearchParams and require('url'); its host functions are in src/meta/url.ts (LazyGroup in src/meta/lazy.ts).
(function (host, shared, primordials, helpers) {
  const hostParse = host.parse, hostCanParse = host.canParse;
  const hostSet = host.set, hostQuery = host.query, hostLegacy = host.legacy;
  const { hostCall, received, wellFormed } = helpers;
  const parse = primordials.jsonParse, stringify = primordials.jsonStringify;
  const concat = primordials.concat;
  const toStr = (value) => concat.call('', value); // ToString, as Node's template literals
  const nodeError = (Class, message, code) => { const error = new Class(message); error.code = code; return error; };
  const missing = (names) => nodeError(TypeError, 'The ' + names.map((n) => '"' + n + '"').join(' and ') + ' argument' + (names.length > 1 ? 's' : '') + ' must be specified', 'ERR_MISSING_ARGS');
  const invalidThis = (type) => nodeError(TypeError, 'Value of "this" must be of type ' + type, 'ERR_INVALID_THIS');

  // ---- URLSearchParams: the list lives here; 'owner' is the URL it belongs to, if any.
  const paramsState = new WeakMap();
  const encodeForm = (text) => encodeURIComponent(text)
    .replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
  const serialize = (list) => list.map(([name, value]) => encodeForm(name) + '=' + encodeForm(value)).join('&');
  const parseQuery = (query) => (query === '' ? [] : parse(hostCall(hostQuery, query)));
  const stateOf = (params) => {
    const state = paramsState.get(params);
    if (!state) throw invalidThis('URLSearchParams');
    return state;
  };
  const update = (state) => {
    if (state.owner) setUrlPart(state.owner, 'search', serialize(state.list), true);
  };
  class URLSearchParams {
    constructor(init = undefined) {
      const list = [];
      paramsState.set(this, { list, owner: null });
      if (init === undefined || init === null) return;
      if (typeof init === 'object' || typeof init === 'function') {
        const method = init[Symbol.iterator];
        if (paramsState.has(init) && method === URLSearchParams.prototype[Symbol.iterator]) {
          for (const [name, value] of paramsState.get(init).list) list.push([name, value]);
        } else if (method !== undefined && method !== null) {
          if (typeof method !== 'function') throw nodeError(TypeError, 'Query pairs must be iterable', 'ERR_ARG_NOT_ITERABLE');
          for (const pair of init) {
            if (pair === null || pair === undefined || typeof pair[Symbol.iterator] !== 'function') throw nodeError(TypeError, 'Each query pair must be an iterable [name, value] tuple', 'ERR_INVALID_TUPLE');
            const converted = [];
            for (const element of pair) converted.push(wellFormed(element));
            if (converted.length !== 2) throw nodeError(TypeError, 'Each query pair must be an iterable [name, value] tuple', 'ERR_INVALID_TUPLE');
            list.push(converted);
          }
        } else {
          const visited = new Map();
          for (const key of Reflect.ownKeys(init)) {
            const descriptor = Reflect.getOwnPropertyDescriptor(init, key);
            if (descriptor === undefined || !descriptor.enumerable) continue;
            const name = wellFormed(key);
            const value = wellFormed(init[key]);
            if (visited.has(name)) list[visited.get(name)][1] = value;
            else { visited.set(name, list.length); list.push([name, value]); }
          }
        }
        return;
      }
      let query = wellFormed(init);
      if (query[0] === '?') query = query.slice(1);
      for (const pair of parseQuery(query)) list.push(pair);
    }
    get size() { return stateOf(this).list.length; }
    append(name, value) {
      const state = stateOf(this);
      if (arguments.length < 2) throw missing(['name', 'value']);
      state.list.push([wellFormed(name), wellFormed(value)]);
      update(state);
    }
    delete(name, value = undefined) {
      const state = stateOf(this);
      if (arguments.length < 1) throw missing(['name']);
      name = wellFormed(name);
      const list = state.list;
      const match = value === undefined ? (pair) => pair[0] === name : ((v) => (pair) => pair[0] === name && pair[1] === v)(wellFormed(value));
      for (let i = list.length - 1; i >= 0; i--) if (match(list[i])) list.splice(i, 1);
      update(state);
    }
    get(name) {
      const state = stateOf(this);
      if (arguments.length < 1) throw missing(['name']);
      name = wellFormed(name);
      const pair = state.list.find((p) => p[0] === name);
      return pair ? pair[1] : null;
    }
    getAll(name) {
      const state = stateOf(this);
      if (arguments.length < 1) throw missing(['name']);
      name = wellFormed(name);
      return state.list.filter((p) => p[0] === name).map((p) => p[1]);
    }
    has(name, value = undefined) {
      const state = stateOf(this);
      if (arguments.length < 1) throw missing(['name']);
      name = wellFormed(name);
      if (value === undefined) return state.list.some((p) => p[0] === name);
      value = wellFormed(value);
      return state.list.some((p) => p[0] === name && p[1] === value);
    }
    set(name, value) {
      const state = stateOf(this);
      if (arguments.length < 2) throw missing(['name', 'value']);
      name = wellFormed(name); value = wellFormed(value);
      const list = state.list;
      let found = false;
      for (let i = 0; i < list.length; i++) {
        if (list[i][0] !== name) continue;
        if (!found) { list[i][1] = value; found = true; } else { list.splice(i, 1); i--; }
      }
      if (!found) list.push([name, value]);
      update(state);
    }
    sort() {
      const state = stateOf(this);
      const sorted = state.list.slice().sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      state.list.length = 0;
      for (const pair of sorted) state.list.push(pair);
      update(state);
    }
    forEach(callback, thisArg = undefined) {
      const state = stateOf(this);
      if (typeof callback !== 'function') throw nodeError(TypeError, 'The "callback" argument must be of type function. Received ' + (callback === undefined ? 'undefined' : typeof callback), 'ERR_INVALID_ARG_TYPE');
      for (let i = 0; i < state.list.length; i++) callback.call(thisArg, state.list[i][1], state.list[i][0], this);
    }
    *entries() { const list = stateOf(this).list; for (let i = 0; i < list.length; i++) yield [list[i][0], list[i][1]]; }
    *keys() { const list = stateOf(this).list; for (let i = 0; i < list.length; i++) yield list[i][0]; }
    *values() { const list = stateOf(this).list; for (let i = 0; i < list.length; i++) yield list[i][1]; }
    toString() { return serialize(stateOf(this).list); }
  }
  Object.defineProperty(URLSearchParams.prototype, Symbol.iterator, { value: URLSearchParams.prototype.entries, writable: true, configurable: true });
  Object.defineProperty(URLSearchParams.prototype, Symbol.toStringTag, { value: 'URLSearchParams', configurable: true });

  // ---- URL: Node parses; the VM keeps [href, origin, protocol, username, password, host, hostname, port, pathname, search, hash].
  const urlState = new WeakMap();
  const FIELDS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];
  const partsOf = (url) => {
    const state = urlState.get(url);
    if (!state) throw invalidThis('URL');
    return state;
  };
  const setUrlPart = (url, key, value, fromParams) => {
    const state = partsOf(url);
    const before = state.parts[9];
    state.parts = parse(hostCall(hostSet, state.parts[0], key, value));
    if (!fromParams && state.params && state.parts[9] !== before) {
      const list = paramsState.get(state.params).list;
      list.length = 0;
      for (const pair of parseQuery(state.parts[9].slice(1))) list.push(pair);
    }
  };
  class URL {
    constructor(input, base = undefined) {
      if (arguments.length === 0) throw missing(['url']);
      input = wellFormed(toStr(input));
      const parts = base === undefined ? hostCall(hostParse, input) : hostCall(hostParse, input, wellFormed(toStr(base)));
      urlState.set(this, { parts: parse(parts), params: null });
    }
    static canParse(input, base = undefined) {
      if (arguments.length === 0) throw missing(['url']);
      input = wellFormed(toStr(input));
      return base === undefined ? hostCall(hostCanParse, input) : hostCall(hostCanParse, input, wellFormed(toStr(base)));
    }
    get href() { return partsOf(this).parts[0]; }
    set href(value) {
      const state = partsOf(this);
      state.parts = parse(hostCall(hostParse, wellFormed(toStr(value))));
      if (state.params) {
        const list = paramsState.get(state.params).list;
        list.length = 0;
        for (const pair of parseQuery(state.parts[9].slice(1))) list.push(pair);
      }
    }
    get origin() { return partsOf(this).parts[1]; }
    get searchParams() {
      const state = partsOf(this);
      if (!state.params) {
        const params = new URLSearchParams(state.parts[9]);
        paramsState.get(params).owner = this;
        state.params = params;
      }
      return state.params;
    }
    toString() { return partsOf(this).parts[0]; }
    toJSON() { return partsOf(this).parts[0]; }
  }
  FIELDS.forEach((name, index) => {
    if (index < 2) return;
    Object.defineProperty(URL.prototype, name, {
      get() { return partsOf(this).parts[index]; },
      set(value) { setUrlPart(this, name, wellFormed(toStr(value)), false); },
      enumerable: true, configurable: true,
    });
  });
  for (const name of ['href', 'origin', 'searchParams', 'toString', 'toJSON']) {
    const descriptor = Object.getOwnPropertyDescriptor(URL.prototype, name);
    Object.defineProperty(URL.prototype, name, { ...descriptor, enumerable: true });
  }
  Object.defineProperty(URL.prototype, Symbol.toStringTag, { value: 'URL', configurable: true });

  // ---- the url module: WHATWG classes plus Node's legacy parse / format / resolve.
  const urlModule = {
    URL, URLSearchParams,
    parse(text, parseQueryString = false, slashesDenoteHost = false) {
      if (typeof text !== 'string') throw nodeError(TypeError, 'The "url" argument must be of type string.' + received(text), 'ERR_INVALID_ARG_TYPE');
      const parsed = parse(hostCall(hostLegacy, 'parse', text, String(!!parseQueryString), String(!!slashesDenoteHost)));
      if (parsed.query && typeof parsed.query === 'object') parsed.query = Object.assign(Object.create(null), parsed.query);
      return parsed;
    },
    format(urlObject, options = undefined) {
      if (urlState.has(urlObject)) return hostCall(hostLegacy, 'format', 'whatwg', urlObject.href, stringify(options && typeof options === 'object' ? options : {}));
      return hostCall(hostLegacy, 'format', 'object', stringify(urlObject === undefined ? null : urlObject));
    },
    resolve(from, to) { return hostCall(hostLegacy, 'resolve', String(from), String(to)); },
    domainToASCII(domain) { return hostCall(hostLegacy, 'domainToASCII', wellFormed(domain)); },
    domainToUnicode(domain) { return hostCall(hostLegacy, 'domainToUnicode', wellFormed(domain)); },
  };
  return { globals: { URL, URLSearchParams }, modules: { url: urlModule } };
})
