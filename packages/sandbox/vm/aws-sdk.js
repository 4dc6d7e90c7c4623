// @ts-check
// Lazy group (a bridge, loaded on first require): require('aws-sdk') — v2's S3 and Kinesis over clients held by the host (src/meta/aws-sdk.ts).
// Requests as v2 makes them: a callback sends at once; without one, .promise() or .send(cb) does.
(function (host, shared, primordials) {
  const { request, both } = shared;
  const { jsonParse: parse, jsonStringify: stringify } = primordials;
  // Output fields v2 gives as Dates.
  const DATE_FIELDS = ['LastModified', 'Expires', 'CreationDate', 'ApproximateArrivalTimestamp', 'StreamCreationTimestamp'];
  const METHODS = {
    S3: ['putObject', 'upload', 'getObject', 'listObjects', 'listObjectsV2', 'createBucket'],
    Kinesis: ['describeStream', 'getShardIterator', 'getRecords', 'putRecord', 'putRecords'],
  };

  // Bytes (Body, Data) cross as { $base64 }; strings and plain values as they are.
  const toWire = (value) => {
    if (value === null || value === undefined || typeof value !== 'object') return value;
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return { $base64: Buffer.from(value).toString('base64') };
    if (Array.isArray(value)) return value.map(toWire);
    const out = {};
    for (const key of Object.keys(value)) out[key] = toWire(value[key]);
    return out;
  };
  const revive = (value) => {
    if (Array.isArray(value)) return value.map(revive);
    if (!value || typeof value !== 'object') return value;
    if (typeof value.$base64 === 'string' && Object.keys(value).length === 1) return Buffer.from(value.$base64, 'base64');
    for (const key of Object.keys(value)) {
      value[key] = DATE_FIELDS.includes(key) && typeof value[key] === 'string' ? new Date(value[key]) : revive(value[key]);
    }
    return value;
  };

  /** v2's AWS.Request: nothing is sent until send(), promise(), or a callback given to the method. */
  class AwsRequest {
    constructor(run) { this._run = run; this._sent = undefined; }
    promise() { this._sent = this._sent || this._run(); return this._sent; }
    send(callback) { both(this.promise(), callback); }
    // upload()'s ManagedUpload takes listeners ('httpUploadProgress'); the one request sends no progress.
    on() { return this; }
  }

  /** new AWS.Endpoint(url): what apps pass as `endpoint` for S3-compatible stores (v2 adds https:// when none is given). */
  class Endpoint {
    constructor(endpoint) {
      const text = String(endpoint);
      const href = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : 'https://' + text;
      const [, protocol, host] = /^([^:]+:)\/\/([^/?#]*)/.exec(href) || ['', 'https:', ''];
      const port = /:(\d+)$/.exec(host);
      this.href = /^[^:]+:\/\/[^/?#]*$/.test(href) ? href + '/' : href;
      this.protocol = protocol.toLowerCase();
      this.host = host;
      this.hostname = port ? host.slice(0, port.index) : host;
      this.port = port ? Number(port[1]) : this.protocol === 'http:' ? 80 : 443;
    }
    toString() { return this.href; }
  }
  /** new AWS.Credentials(accessKeyId, secretAccessKey, sessionToken) or ({ … }), as `credentials`. */
  class Credentials {
    constructor(accessKeyId, secretAccessKey, sessionToken) {
      const given = accessKeyId && typeof accessKeyId === 'object' ? accessKeyId : { accessKeyId, secretAccessKey, sessionToken };
      this.accessKeyId = given.accessKeyId;
      this.secretAccessKey = given.secretAccessKey;
      this.sessionToken = given.sessionToken;
    }
  }

  /** A v2 service class (new AWS.S3(options)): its client is made on the host at the first request. */
  const service = (name) => {
    class Service {
      constructor(options) {
        const given = { ...globalConfig, ...options };
        const credentials = given.credentials || given;
        this.config = { ...given, region: given.region || 'us-east-1' };
        this._options = stringify({
          service: name, accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken, region: given.region,
          endpoint: given.endpoint === undefined ? undefined : String(given.endpoint), s3ForcePathStyle: given.s3ForcePathStyle,
        });
        this._handle = undefined;
      }
      _client() {
        this._handle = this._handle || request('aws.create', this._options).then(Number);
        return this._handle;
      }
    }
    Object.defineProperty(Service, 'name', { value: name });
    for (const method of METHODS[name]) {
      Service.prototype[method] = function (params, options, callback) {
        if (typeof options === 'function') callback = options; // upload(params, options, cb)
        const wire = toWire(params || {});
        const req = new AwsRequest(() => this._client().then((handle) => request('aws.call', stringify([handle, method, wire]))).then((json) => revive(parse(json))));
        if (typeof callback === 'function') req.send(callback);
        return req;
      };
    }
    return Service;
  };
  const S3 = service('S3');
  const Kinesis = service('Kinesis');

  // AWS.config.update({ region, accessKeyId, … }): defaults for the clients made after it, as in v2.
  const globalConfig = {};
  const config = { update(options) { Object.assign(globalConfig, options); } };
  const AWS = { S3, Kinesis, Endpoint, Credentials, config };
  return {
    modules: {
      'aws-sdk': { ...AWS, default: AWS },
      'aws-sdk/clients/s3': S3,
      'aws-sdk/clients/kinesis': Kinesis,
    },
  };
})
