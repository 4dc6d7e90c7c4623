// @ts-check
// Lazy group (a bridge, loaded on first require): require('pg') — Client and Pool over connections held by the host (src/meta/pg.ts),
// run after the prelude with the other shims (src/realm.ts). node-postgres' API as apps use it:
// callback and promise forms of connect, query and end; rows with Dates and Buffers as pg gives.
(function (host, shared, primordials) {
  const { request, both } = shared;
  const { jsonParse: parse, jsonStringify: stringify } = primordials;
  // pg's type ids whose values pg turns into Dates (date, timestamp, timestamptz) and Buffers (bytea).
  const DATE_TYPES = [1082, 1114, 1184];
  const BYTEA = 17;

  const revive = (json) => {
    const result = parse(json);
    for (const field of result.fields) {
      const toDate = DATE_TYPES.includes(field.dataTypeID), toBuffer = field.dataTypeID === BYTEA;
      if (!toDate && !toBuffer) continue;
      for (const row of result.rows) {
        const value = row[field.name];
        if (value === null || value === undefined) continue;
        if (toDate) row[field.name] = new Date(value);
        else if (value && value.type === 'Buffer') row[field.name] = Buffer.from(value.data);
      }
    }
    return result;
  };
  /** (text, values, callback) | ({text, values}, callback) → [text, values, callback] */
  const queryArgs = (text, values, callback) => {
    if (typeof values === 'function') { callback = values; values = undefined; }
    if (text && typeof text === 'object') { values = values || text.values; text = text.text; }
    return [String(text), Array.isArray(values) ? values : undefined, callback];
  };

  class Client {
    constructor(options) {
      const given = typeof options === 'string' ? { connectionString: options } : options || {};
      this._options = stringify({
        connectionString: given.connectionString, host: given.host, port: given.port, user: given.user,
        password: given.password, database: given.database, ssl: given.ssl,
      });
      this._handle = undefined;
      this._connecting = undefined;
    }
    connect(callback) {
      this._connecting = this._connecting || request('pg.connect', this._options).then((handle) => { this._handle = Number(handle); return this; });
      return both(this._connecting.then(() => undefined), callback);
    }
    query(text, values, callback) {
      const [sql, params, done] = queryArgs(text, values, callback);
      const run = (this._connecting || Promise.reject(new Error('pg: the client is not connected (connect() first)')))
        .then(() => request('pg.query', stringify([this._handle, sql, params]))).then(revive);
      return both(run, done);
    }
    end(callback) {
      const handle = this._handle;
      this._handle = undefined;
      this._connecting = undefined;
      return both(handle === undefined ? Promise.resolve() : request('pg.end', stringify(handle)).then(() => undefined), callback);
    }
  }

  /** node-postgres' Pool: up to `max` clients (default 10), idle ones reused, the rest waiting. */
  class Pool {
    constructor(options) {
      this._options = options || {};
      this._max = Math.max(1, Math.min(10, Number(this._options.max) || 10));
      this._idle = [];
      this._all = [];
      this._waiting = [];
      this._ended = false;
    }
    get totalCount() { return this._all.length; }
    get idleCount() { return this._idle.length; }
    get waitingCount() { return this._waiting.length; }
    _acquire() {
      if (this._ended) return Promise.reject(new Error('Cannot use a pool after calling end on the pool'));
      const idle = this._idle.pop();
      if (idle) return Promise.resolve(idle);
      if (this._all.length >= this._max) return new Promise((resolve) => this._waiting.push(resolve));
      const client = new Client(this._options);
      this._all.push(client);
      /** @type {Client & { release?: () => void }} */ (client).release = () => this._release(client);
      return client.connect().then(() => client, (error) => { this._all.splice(this._all.indexOf(client), 1); throw error; });
    }
    _release(client) {
      const next = this._waiting.shift();
      if (next) next(client); else this._idle.push(client);
    }
    connect(callback) { return both(this._acquire(), callback); }
    query(text, values, callback) {
      const [sql, params, done] = queryArgs(text, values, callback);
      const run = this._acquire().then((client) => client.query(sql, params).then(
        (result) => { this._release(client); return result; },
        (error) => { this._release(client); throw error; }));
      return both(run, done);
    }
    end(callback) {
      this._ended = true;
      const clients = this._all.splice(0);
      this._idle = [];
      return both(Promise.all(clients.map((client) => client.end())).then(() => undefined), callback);
    }
  }

  return {
    modules: {
      'pg': { Client, Pool, default: { Client, Pool } },
    },
  };
})
