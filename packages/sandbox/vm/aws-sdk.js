// @ts-check
// Meta shim: require('aws-sdk') — v2's S3 over clients held by the host (src/meta/aws-sdk.ts).
// Requests as v2 makes them: a callback sends at once; without one, .promise() or .send(cb) does.
(function () {
  const request = globalThis.__sluice_channel.request;
  const { provide, both } = globalThis.__sluice;
  const { stringify, parse } = JSON;
  // Output fields v2 gives as Dates.
  const DATE_FIELDS = ['LastModified', 'Expires', 'CreationDate'];
  const METHODS = ['putObject', 'upload', 'getObject', 'listObjects', 'listObjectsV2', 'createBucket'];

  const wireBody = (body) => {
    if (body === undefined || body === null || typeof body === 'string') return body === null ? undefined : body;
    if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return { base64: Buffer.from(body).toString('base64') };
    return String(body);
  };
  const revive = (value) => {
    if (Array.isArray(value)) return value.map(revive);
    if (!value || typeof value !== 'object') return value;
    if (typeof value.base64 === 'string' && Object.keys(value).length === 1) return Buffer.from(value.base64, 'base64');
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
  }

  class S3 {
    constructor(options) {
      const given = options || {};
      this.config = { ...given, region: given.region || 'us-east-1' };
      this._options = stringify({
        accessKeyId: given.accessKeyId, secretAccessKey: given.secretAccessKey, sessionToken: given.sessionToken, region: given.region,
        endpoint: given.endpoint === undefined ? undefined : String(given.endpoint), s3ForcePathStyle: given.s3ForcePathStyle, signatureVersion: given.signatureVersion,
      });
      this._handle = undefined;
    }
    _client() {
      this._handle = this._handle || request('s3.create', this._options).then(Number);
      return this._handle;
    }
  }
  for (const method of METHODS) {
    S3.prototype[method] = function (params, options, callback) {
      if (typeof options === 'function') callback = options; // upload(params, options, cb)
      const given = params || {};
      const wire = { ...given, Body: wireBody(given.Body) };
      const req = new AwsRequest(() => this._client().then((handle) => request('s3.call', stringify([handle, method, wire]))).then((json) => revive(parse(json))));
      if (typeof callback === 'function') req.send(callback);
      return req;
    };
  }

  const AWS = { S3, config: { update() {} } };
  provide('aws-sdk', () => ({ ...AWS, default: AWS }));
  provide('aws-sdk/clients/s3', () => S3);
})();
