// @ts-check
// Lazy group (a bridge, loaded on first require): require('@google-cloud/bigquery') — BigQuery clients held by the host (src/meta/bigquery.ts).
// Datasets and tables here only name ids; each call crosses as (handle, datasetId, tableId, method,
// args). Promise and callback forms as the SDK has them: a promise answers the SDK's array
// ([metadata, apiResponse]), a callback gets its items as arguments (callback(err, metadata, apiResponse)).
(function (host, shared, primordials) {
  const { request } = shared;
  const { jsonParse: parse, jsonStringify: stringify } = primordials;

  /** The SDK's (options?, callback?) tail: [options, callback]. */
  const optionsAndCallback = (options, callback) => typeof options === 'function' ? [undefined, options] : [options, callback];
  /** A promise of the SDK's array, or, with a callback, its items as the callback's arguments. */
  const settle = (promise, callback) => {
    if (typeof callback !== 'function') return promise;
    promise.then((items) => callback(null, ...items), (error) => callback(error));
    return undefined;
  };

  /**
   * Host clients by their options: the SDK has no close(), so an app that makes a new BigQuery for
   * every batch shares one host client instead of running into the cap on open clients.
   */
  const clients = new Map();
  const hostClient = (options) => {
    let handle = clients.get(options);
    if (!handle) {
      handle = request('bigquery.create', options).then(Number);
      clients.set(options, handle);
      handle.catch(() => clients.delete(options)); // a refused client may be asked for again
    }
    return handle;
  };

  class BigQuery {
    constructor(options) {
      const given = options || {};
      this.projectId = given.projectId || (given.credentials && given.credentials.project_id) || '{{projectId}}';
      this.location = given.location;
      // Kept as the JSON the host gets (the key crosses to the host on the first call only).
      this._options = stringify({ projectId: given.projectId, location: given.location, apiEndpoint: given.apiEndpoint, credentials: given.credentials });
      this._handle = undefined;
    }
    _client() {
      this._handle = this._handle || hostClient(this._options);
      return this._handle;
    }
    /** One call of the SDK on the host: its answer with Table objects made again here. */
    _call(datasetId, tableId, method, args) {
      return this._client()
        .then((handle) => request('bigquery.call', stringify([handle, datasetId, tableId, method, args])))
        .then((json) => revive(parse(json), this));
    }
    dataset(id, options) { return new Dataset(this, String(id), options); }
  }

  class Dataset {
    constructor(bigQuery, id, options) {
      this.bigQuery = bigQuery;
      this.id = id;
      this.location = options && options.location;
      this.projectId = (options && options.projectId) || bigQuery.projectId;
      this.metadata = {};
    }
    table(id, options) { return new Table(this, String(id), options); }
    createTable(id, options, callback) {
      const [given, done] = optionsAndCallback(options, callback);
      return settle(this.bigQuery._call(this.id, null, 'createTable', [String(id), given || {}]), done);
    }
  }

  class Table {
    constructor(dataset, id, options) {
      this.dataset = dataset;
      this.bigQuery = dataset.bigQuery;
      this.id = id;
      this.location = options && options.location;
      this.metadata = {};
    }
    _call(method, args) { return this.bigQuery._call(this.dataset.id, this.id, method, args); }
    get(options, callback) {
      const [given, done] = optionsAndCallback(options, callback);
      return settle(this._call('get', [given || {}]).then(([table, apiResponse]) => {
        this.metadata = table.metadata;
        return [this, apiResponse];
      }), done);
    }
    exists(options, callback) {
      const [given, done] = optionsAndCallback(options, callback);
      return settle(this._call('exists', [given || {}]), done);
    }
    getMetadata(options, callback) {
      const [given, done] = optionsAndCallback(options, callback);
      return settle(this._call('getMetadata', [given || {}]).then((items) => { this.metadata = items[0]; return items; }), done);
    }
    /** setMetadata(metadata, callback?): the SDK's Table takes no options here. */
    setMetadata(metadata, callback) {
      return settle(this._call('setMetadata', [metadata]).then((items) => { this.metadata = items[0]; return items; }), callback);
    }
    /** insert(rows, options?, callback?): the promise answers [insertAllResponse], the callback (err, insertAllResponse). */
    insert(rows, options, callback) {
      const [given, done] = optionsAndCallback(options, callback);
      return settle(this._call('insert', [rows, given || {}]), done);
    }
  }

  /** The host's { $table } answers become Tables of this client, with their metadata. */
  const revive = (items, bigQuery) => items.map((item) => {
    if (!item || typeof item !== 'object' || !item.$table) return item;
    const table = bigQuery.dataset(item.$table.datasetId).table(item.$table.tableId);
    table.metadata = item.$table.metadata;
    return table;
  });

  const module = { BigQuery, Dataset, Table };
  return {
    modules: {
      '@google-cloud/bigquery': { ...module, default: module },
    },
  };
})
