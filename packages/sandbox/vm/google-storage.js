// @ts-check
// Lazy group (a bridge, loaded on first require): require('@google-cloud/storage') — Storage, Bucket and File over clients held by the
// host (src/meta/google-storage.ts). Promises answer the SDK's arrays ([contents], [exists],
// [files, …]); callbacks get them spread, as the SDK calls them. A write stream collects what is
// written and uploads it once, when it ends: 'finish' follows the upload, as the SDK's does.
(function (host, shared, primordials) {
  const { request } = shared;
  const { jsonParse: parse, jsonStringify: stringify } = primordials;
  const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
  const clientsByOptions = new Map();
  const tooLarge = () => new RangeError('GCS: an object is at most ' + MAX_OBJECT_BYTES + ' bytes');

  const settle = (promise, callback) => {
    if (typeof callback !== 'function') return promise;
    promise.then((values) => callback(null, ...(Array.isArray(values) ? values : [values])), (error) => callback(error));
    return undefined;
  };
  /** (options, callback) | (callback) | () → [options, callback] */
  const optionsAndCallback = (options, callback) => (typeof options === 'function' ? [{}, options] : [options || {}, callback]);
  /** Upload data: text as it is, bytes as base64. */
  const toWire = (data) => {
    if (typeof data === 'string') return { text: data };
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      if (data.byteLength > MAX_OBJECT_BYTES) throw tooLarge();
      return { base64: Buffer.from(/** @type {any} */ (data)).toString('base64') };
    }
    throw new TypeError('GCS: save() takes a string, a Buffer or a Uint8Array');
  };

  class Storage {
    constructor(options) {
      const given = options || {};
      const key = given.credentials || {};
      this.projectId = given.projectId || key.project_id;
      this.apiEndpoint = given.apiEndpoint;
      this._options = stringify({
        projectId: given.projectId, apiEndpoint: given.apiEndpoint === undefined ? undefined : String(given.apiEndpoint),
        useAuthWithCustomEndpoint: given.useAuthWithCustomEndpoint === true,
        credentials: { client_email: key.client_email, private_key: key.private_key, private_key_id: key.private_key_id, project_id: key.project_id, token_uri: key.token_uri },
      });
      this._handle = undefined;
    }
    _client() {
      if (!this._handle) {
        // Storages made with the same options share one client (an app may make one per batch).
        const shared = clientsByOptions.get(this._options);
        this._handle = shared || request('gcs.create', this._options).then(Number);
        if (!shared) {
          clientsByOptions.set(this._options, this._handle);
          this._handle.catch(() => clientsByOptions.delete(this._options));
        }
      }
      return this._handle;
    }
    _call(method, bucket, file, data, options) {
      return this._client()
        .then((handle) => request('gcs.call', stringify([method, { handle, bucket, file, data, options }])))
        .then((json) => (json === undefined ? null : parse(json)));
    }
    bucket(name) {
      if (!name) throw new Error('A bucket name is needed to use Cloud Storage.');
      return new Bucket(this, String(name));
    }
  }

  class Bucket {
    constructor(storage, name) {
      this.storage = storage;
      this.name = name;
      this.metadata = {};
    }
    // (a file's options, generation or encryption keys, are not bridged)
    file(name) {
      if (!name) throw new Error('A file name must be specified.');
      return new File(this, String(name));
    }
    exists(options, callback) {
      [options, callback] = optionsAndCallback(options, callback);
      return settle(this.storage._call('exists', this.name, undefined, undefined, options), callback);
    }
    getMetadata(options, callback) {
      [options, callback] = optionsAndCallback(options, callback);
      const run = this.storage._call('getMetadata', this.name, undefined, undefined, options).then((answer) => { this.metadata = answer[0]; return answer; });
      return settle(run, callback);
    }
    getFiles(query, callback) {
      [query, callback] = optionsAndCallback(query, callback);
      const run = this.storage._call('getFiles', this.name, undefined, undefined, query).then(([files, ...rest]) => [files.map((listed) => {
        const file = new File(this, listed.name);
        file.metadata = listed.metadata;
        return file;
      }), ...rest]);
      return settle(run, callback);
    }
    upload(path, options, callback) {
      [options, callback] = optionsAndCallback(options, callback);
      return settle(Promise.reject(new Error('GCS: bucket.upload(path) reads a file, and apps have no file system: use bucket.file(name).save(data)')), callback);
    }
  }

  class File {
    constructor(bucket, name) {
      this.bucket = bucket;
      this.storage = bucket.storage;
      this.name = name;
      this.metadata = {};
    }
    _call(method, data, options) {
      return this.storage._call(method, this.bucket.name, this.name, data, options);
    }
    save(data, options, callback) {
      [options, callback] = optionsAndCallback(options, callback);
      let run;
      try {
        const wire = toWire(data);
        run = this._call('save', wire, options).then((metadata) => { this.metadata = metadata || {}; return undefined; });
      } catch (error) {
        run = Promise.reject(error);
      }
      return settle(run, callback);
    }
    download(options, callback) {
      [options, callback] = optionsAndCallback(options, callback);
      const run = options.destination
        ? Promise.reject(new Error('GCS: download({ destination }) writes a file, and apps have no file system: use the contents it answers'))
        : this._call('download', undefined, options).then((answer) => [Buffer.from(answer.base64, 'base64')]);
      return settle(run, callback);
    }
    exists(options, callback) {
      [options, callback] = optionsAndCallback(options, callback);
      return settle(this._call('exists', undefined, options), callback);
    }
    getMetadata(options, callback) {
      [options, callback] = optionsAndCallback(options, callback);
      return settle(this._call('getMetadata', undefined, options).then((answer) => { this.metadata = answer[0]; return answer; }), callback);
    }
    delete(options, callback) {
      [options, callback] = optionsAndCallback(options, callback);
      return settle(this._call('delete', undefined, options).then((apiResponse) => [apiResponse]), callback);
    }
    /** The SDK's write stream: what is written is uploaded (one request) when it ends; then 'finish'. */
    createWriteStream(options) {
      const { Writable } = shared.NodeStream;
      const given = options || {};
      const file = this;
      const chunks = [];
      let size = 0;
      return new Writable({
        write(chunk, encoding, callback) {
          size += chunk.length;
          if (size > MAX_OBJECT_BYTES) { callback(tooLarge()); return; }
          chunks.push(chunk);
          callback();
        },
        final(callback) {
          file._call('save', { base64: /** @type {any} */ (Buffer).concat(chunks).toString('base64') }, given)
            .then((metadata) => { file.metadata = metadata || {}; callback(); }, callback);
        },
      });
    }
  }

  return {
    modules: {
      '@google-cloud/storage': { Storage, Bucket, File },
    },
  };
})
