// @ts-check
// Lazy group (a bridge, loaded on first require): require('@google-cloud/pubsub') — PubSub and Topic over clients held by the host
// (src/meta/pubsub.ts). The SDK's API as apps use it: callback and promise forms, answers as the
// SDK's arrays ([metadata], [topic, apiResponse], [exists]), publishes resolving with the message id.
(function (host, shared, primordials) {
  const { request } = shared;
  const { jsonParse: parse, jsonStringify: stringify } = primordials;
  const PROJECT_ID_PLACEHOLDER = '{{projectId}}';

  const decode = (json) => (json === undefined ? undefined : parse(json));
  /** The SDK's callbacks take the promise's array spread out: callback(err, metadata), callback(err, topic, apiResponse). */
  const settle = (promise, callback) => {
    if (typeof callback !== 'function') return promise;
    promise.then((values) => callback(null, ...values), (error) => callback(error));
    return undefined;
  };
  const lastFunction = (args) => (typeof args[args.length - 1] === 'function' ? args[args.length - 1] : undefined);
  const bytes = (value) => {
    if (typeof value === 'string') return Buffer.from(value);
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return Buffer.from(/** @type {any} */ (value));
    throw new TypeError('Data must be in the form of a Buffer or Uint8Array.');
  };

  class Topic {
    constructor(pubsub, name) {
      this.pubsub = pubsub;
      this.parent = pubsub;
      // The SDK's full name: a bare id becomes projects/<project>/topics/<id>.
      this.name = name.indexOf('/') > -1 ? name : 'projects/' + pubsub.projectId + '/topics/' + name;
      this._id = name;
      this.metadata = undefined;
    }
    _call(method, argument) {
      return this.pubsub._client().then((handle) => request('pubsub.topic', stringify([handle, this._id, method, argument]), decode));
    }
    getMetadata(...args) {
      return settle(this._call('getMetadata').then((metadata) => { this.metadata = metadata; return [metadata]; }), lastFunction(args));
    }
    get(...args) {
      const options = typeof args[0] === 'object' && args[0] !== null ? args[0] : {};
      const run = this._call('getMetadata').then((metadata) => { this.metadata = metadata; return [this, metadata]; }, (error) => {
        if (error.code !== 5 || !options.autoCreate) throw error;
        return this._create();
      });
      return settle(run, lastFunction(args));
    }
    _create() {
      return this._call('create').then((metadata) => { this.metadata = metadata; return [this, metadata]; });
    }
    create(...args) { return settle(this._create(), lastFunction(args)); }
    exists(callback) { return settle(this._call('exists').then((found) => [found]), callback); }
    delete(...args) { return settle(this._call('delete').then((response) => [response]), lastFunction(args)); }
    /** The SDK's publishMessage: data (Buffer/Uint8Array), json, attributes, orderingKey. */
    publishMessage(message, callback) {
      const given = message || {};
      const data = given.json && typeof given.json === 'object' ? Buffer.from(stringify(given.json)) : given.data;
      const attributes = given.attributes || {};
      for (const key of Object.keys(attributes)) {
        if (typeof attributes[key] !== 'string') throw new TypeError('All attributes must be in the form of a string.\n\nInvalid value of type "' + typeof attributes[key] + '" provided for "' + key + '".');
      }
      if (data === undefined && Object.keys(attributes).length === 0) throw new TypeError('If data is undefined, at least one attribute must be present.');
      const wire = { data: data === undefined ? undefined : bytes(data).toString('base64'), attributes, orderingKey: given.orderingKey };
      const sent = this._call('publishMessage', wire);
      if (typeof callback !== 'function') return sent;
      sent.then((id) => callback(null, id), (error) => callback(error));
      return undefined;
    }
    /** Deprecated in the SDK, still what many apps call: publish(data, attributes?, callback?). */
    publish(data, attributesOrCallback, callback) {
      const attributes = typeof attributesOrCallback === 'object' ? attributesOrCallback : {};
      return this.publishMessage({ data, attributes }, typeof attributesOrCallback === 'function' ? attributesOrCallback : callback);
    }
    publishJSON(json, attributesOrCallback, callback) {
      if (!json || typeof json !== 'object') throw new Error('First parameter should be an object.');
      const attributes = typeof attributesOrCallback === 'object' ? attributesOrCallback : {};
      return this.publishMessage({ json, attributes }, typeof attributesOrCallback === 'function' ? attributesOrCallback : callback);
    }
    /** Every publish is sent by the host within milliseconds and resolves only once sent: nothing waits here. */
    flush(callback) { return settle(Promise.resolve([]), callback); }
    setPublishOptions() {}
  }

  /** new PubSub(options): its client is made on the host at the first call. */
  class PubSub {
    constructor(options) {
      const given = options || {};
      const credentials = given.credentials || undefined;
      this.options = { ...given };
      this.projectId = given.projectId || (credentials && credentials.project_id) || PROJECT_ID_PLACEHOLDER;
      this._options = stringify({ projectId: given.projectId, apiEndpoint: given.apiEndpoint, credentials });
      this._handle = undefined;
    }
    get isIdResolved() { return this.projectId.indexOf(PROJECT_ID_PLACEHOLDER) < 0; }
    _client() {
      this._handle = this._handle || request('pubsub.create', this._options).then(Number);
      return this._handle;
    }
    topic(name) {
      if (!name) throw new Error('A name must be specified for a topic.');
      return new Topic(this, String(name));
    }
    createTopic(name, ...args) {
      const topic = typeof name === 'object' && name !== null && typeof name.name === 'string' ? this.topic(name.name) : this.topic(name);
      return settle(topic._create(), lastFunction(args));
    }
    close(callback) {
      const handle = this._handle;
      this._handle = undefined;
      const closed = handle === undefined ? Promise.resolve() : handle.then((id) => request('pubsub.close', stringify(id)), () => undefined);
      return settle(closed.then(() => []), callback);
    }
  }

  // The host loads the SDK as soon as an app requires it (see install in src/meta/pubsub.ts).
  return {
    modules: {
      '@google-cloud/pubsub': { PubSub, Topic, default: { PubSub, Topic } },
    },
  };
})
