// @ts-check
// Lazy group (a bridge, loaded on first require): require('snowflake-sdk') — connections held by the host (src/meta/snowflake.ts), run
// after the prelude with the other shims. snowflake-sdk's API as apps use it: createConnection,
// connect(callback) / connectAsync(), execute({ sqlText, binds, complete }), destroy(callback),
// isUp(), isValidAsync(); rows as plain objects keyed by column name, Dates and Buffers as the SDK gives.
(function (host, shared, primordials) {
  const { request } = shared;
  const { jsonParse: parse, jsonStringify: stringify } = primordials;
  // snowflake-sdk's column types whose values it gives as Dates, and as Buffers.
  const DATE_TYPES = ['date', 'timestamp_ltz', 'timestamp_ntz', 'timestamp_tz'];
  const BINARY = 'binary';

  const revive = (result) => {
    for (const column of result.columns) {
      const toDate = DATE_TYPES.includes(column.type), toBuffer = column.type === BINARY;
      if (!toDate && !toBuffer) continue;
      for (const row of result.rows) {
        const value = row[column.name];
        if (value === null || value === undefined) continue;
        row[column.name] = toDate ? new Date(value) : Buffer.from(value, 'base64');
      }
    }
    return result;
  };
  class Column {
    constructor(column, index) { this._column = column; this._index = index; }
    getName() { return this._column.name; }
    getType() { return this._column.type; }
    getScale() { return this._column.scale; }
    getPrecision() { return this._column.precision; }
    isNullable() { return this._column.nullable; }
    getIndex() { return this._index; }
    getId() { return this._index + 1; }
  }

  /** What `execute` answers at once; its getters fill in when the statement completes. */
  class Statement {
    constructor(sqlText) { this._sqlText = sqlText; this._result = undefined; }
    getSqlText() { return this._sqlText; }
    getStatus() { return this._result ? 'complete' : 'fetching'; }
    getNumRows() { return this._result ? this._result.numRows : undefined; }
    getNumUpdatedRows() { return this._result ? this._result.numUpdatedRows : undefined; }
    getQueryId() { return this._result ? this._result.queryId : undefined; }
    getStatementId() { return this.getQueryId(); }
    getColumns() { return this._result ? this._result.columns.map((column, index) => new Column(column, index)) : undefined; }
    getColumn(name) { const columns = this.getColumns() || []; return columns.find((column) => column.getName() === name); }
  }

  class Connection {
    constructor(options) {
      const given = options || {};
      this._options = stringify({
        account: given.account, username: given.username, password: given.password, database: given.database,
        schema: given.schema, warehouse: given.warehouse, role: given.role, application: given.application,
      });
      this._handle = undefined;
      this._connecting = undefined;
      this._up = false;
      this._id = 'sluice-' + Math.random().toString(36).slice(2);
    }
    getId() { return this._id; }
    isUp() { return this._up; }
    isValidAsync() { return this._handle === undefined ? Promise.resolve(false) : request('snowflake.isValid', stringify(this._handle)).then((answer) => answer === 'true'); }
    _connect() {
      if (!this._connecting) {
        this._connecting = request('snowflake.connect', this._options).then((handle) => { this._handle = Number(handle); this._up = true; return this; });
        this._connecting.catch(() => { this._connecting = undefined; });
      }
      return this._connecting;
    }
    connect(callback) {
      this._connect().then((connection) => { if (typeof callback === 'function') callback(undefined, connection); },
        (error) => { if (typeof callback === 'function') callback(error, this); });
      return this;
    }
    connectAsync(callback) {
      return this._connect().then((connection) => { if (typeof callback === 'function') callback(undefined, connection); return connection; });
    }
    execute(options) {
      const given = options || {};
      const sqlText = String(given.sqlText);
      const statement = new Statement(sqlText);
      const run = (this._connecting || Promise.reject(new Error('snowflake-sdk: the connection is not connected (connect() first)')))
        .then(() => request('snowflake.execute', stringify([this._handle, sqlText, Array.isArray(given.binds) ? given.binds : undefined])))
        .then((json) => revive(parse(json)));
      run.then((result) => {
        statement._result = result;
        if (typeof given.complete === 'function') given.complete(undefined, statement, result.rows);
      }, (error) => { if (typeof given.complete === 'function') given.complete(error, statement, undefined); });
      return statement;
    }
    destroy(callback) {
      const handle = this._handle;
      this._handle = undefined;
      this._connecting = undefined;
      this._up = false;
      const done = handle === undefined ? Promise.resolve() : request('snowflake.destroy', stringify(handle));
      done.then(() => { if (typeof callback === 'function') callback(undefined, this); }, (error) => { if (typeof callback === 'function') callback(error, this); });
      return this;
    }
  }

  // The host's SDK logs nothing; an app's logLevel (and the rest of configure's options) changes nothing there.
  const configure = () => {};
  const createConnection = (options) => new Connection(options);
  const snowflake = { createConnection, configure, STRING: 'STRING', BOOLEAN: 'BOOLEAN', NUMBER: 'NUMBER', DATE: 'DATE', OBJECT: 'OBJECT', ARRAY: 'ARRAY', JSON: 'JSON' };
  return {
    modules: {
      'snowflake-sdk': { ...snowflake, default: snowflake },
    },
  };
})
