// @ts-check
// Meta shim: fetch, Headers, Response (src/meta/fetch.ts), run after the prelude with the other shims (src/realm.ts).
(function () {
  const request = globalThis.__sluice_channel.request;
  const host = (json) => request('fetch', json);
  const { parse, stringify } = JSON;
  class Headers {
    constructor(init) {
      this._map = new Map();
      if (init == null) return;
      const pairs = typeof init.forEach === 'function' && !Array.isArray(init) && typeof init.entries === 'function'
        ? Array.from(init.entries()) : Array.isArray(init) ? init : Object.keys(init).map((name) => [name, init[name]]);
      for (const [name, value] of pairs) this.append(name, value);
    }
    append(name, value) {
      const key = String(name).toLowerCase();
      const had = this._map.get(key);
      this._map.set(key, had === undefined ? String(value) : had + ', ' + String(value));
    }
    set(name, value) { this._map.set(String(name).toLowerCase(), String(value)); }
    get(name) { const value = this._map.get(String(name).toLowerCase()); return value === undefined ? null : value; }
    has(name) { return this._map.has(String(name).toLowerCase()); }
    delete(name) { this._map.delete(String(name).toLowerCase()); }
    forEach(callback, thisArg) { for (const [name, value] of this._map) callback.call(thisArg, value, name, this); }
    entries() { return this._map.entries(); }
    keys() { return this._map.keys(); }
    values() { return this._map.values(); }
    raw() { const out = {}; for (const [name, value] of this._map) out[name] = [value]; return out; }
    [Symbol.iterator]() { return this._map.entries(); }
  }
  class Response {
    constructor(body, init) {
      init = init || {};
      this._body = body == null ? '' : String(body);
      this.status = init.status === undefined ? 200 : init.status;
      this.statusText = init.statusText || '';
      this.ok = this.status >= 200 && this.status < 300;
      this.headers = new Headers(init.headers);
      this.url = init.url || '';
      this.redirected = Boolean(init.redirected);
      this.bodyUsed = false;
    }
    _consume() {
      if (this.bodyUsed) return Promise.reject(new TypeError('body used already for: ' + this.url));
      this.bodyUsed = true;
      return Promise.resolve(this._body);
    }
    text() { return this._consume(); }
    json() { return this._consume().then((text) => parse(text)); }
    arrayBuffer() { return this._consume().then((text) => new TextEncoder().encode(text).buffer); }
    clone() { return new Response(this._body, this); }
  }
  const bodyText = (body) => {
    if (body === undefined || body === null) return undefined;
    if (typeof body === 'string') return body;
    if (typeof URLSearchParams === 'function' && body instanceof URLSearchParams) return body.toString();
    if (body instanceof Uint8Array || body instanceof ArrayBuffer) return new TextDecoder().decode(body);
    throw new TypeError('fetch: the body must be a string, URLSearchParams or bytes (stringify JSON yourself)');
  };
  globalThis.Headers = Headers;
  globalThis.Response = Response;
  globalThis.fetch = function fetch(input, init) {
    return Promise.resolve().then(() => {
      init = init || {};
      const url = typeof input === 'string' ? input : input && typeof input.href === 'string' ? input.href : input && typeof input.url === 'string' ? input.url : String(input);
      const headers = Array.from(new Headers(init.headers).entries());
      const body = bodyText(init.body);
      return host(stringify({ url, method: init.method, headers, body }));
    }).then((json) => {
      const answer = parse(json);
      return new Response(answer.body, answer);
    });
  };
})();
