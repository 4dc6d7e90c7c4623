// @ts-check
// Lazy group: crypto and require('crypto'); its host functions are in src/meta/crypto.ts (LazyGroup in src/meta/lazy.ts).
(function (host, shared, primordials, helpers) {
  const hostDigest = host.digest, hostRandom = host.random;
  const { hostCall, toBytes, received, wellFormed } = helpers;
  const DOMException = shared.DOMException;
  const nodeError = (Class, message, code) => { const error = new Class(message); error.code = code; return error; };

  const { toBuffer } = shared.NodeBuffer;


  // ---- hashing: update() keeps chunks here; digest() is one host call
  const isView = (data) => ArrayBuffer.isView(data);
  const dataError = (data) => nodeError(TypeError, 'The "data" argument must be of type string or an instance of Buffer, TypedArray, or DataView.' + received(data), 'ERR_INVALID_ARG_TYPE');
  const MERGEABLE = { utf8: 'utf8', 'utf-8': 'utf8', latin1: 'latin1', binary: 'latin1' };
  const hashState = new WeakMap();
  const makeHash = (algorithm, key) => {
    const chunks = [];
    return { algorithm, key, chunks, finalized: false };
  };
  const addChunk = (state, data, encoding) => {
    if (state.finalized) throw nodeError(Error, 'Digest already called', 'ERR_CRYPTO_HASH_FINALIZED');
    if (typeof data === 'string') {
      const enc = typeof encoding === 'string' ? encoding.toLowerCase() : 'utf8';
      if (enc === 'hex' && data.length % 2 !== 0) throw nodeError(TypeError, "The argument 'encoding' is invalid for data of length " + data.length + ". Received '" + encoding + "'", 'ERR_INVALID_ARG_VALUE');
      const merge = MERGEABLE[enc];
      // Strings of one merge-safe encoding are joined (one host argument instead of many).
      const text = merge === 'utf8' ? wellFormed(data) : data;
      const last = state.chunks[state.chunks.length - 1];
      if (merge && last && last[0] === merge && typeof last[1] === 'string') last[1] += text;
      else state.chunks.push([merge || enc, text]);
    } else if (isView(data)) {
      state.chunks.push(['', data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)]);
    } else {
      throw dataError(data);
    }
  };
  const finish = (state, outputEncoding) => {
    if (state.finalized) throw nodeError(Error, 'Digest already called', 'ERR_CRYPTO_HASH_FINALIZED');
    state.finalized = true;
    const args = [];
    for (const [encoding, data] of state.chunks) args.push(encoding || 'utf8', data);
    const encoding = typeof outputEncoding === 'string' && outputEncoding !== 'buffer' ? outputEncoding : undefined;
    const out = hostCall(hostDigest, state.algorithm, state.key, encoding, state.chunks.length, ...args);
    state.chunks.length = 0;
    return typeof out === 'string' ? out : toBuffer(out);
  };
  let hashNames = null;
  const supported = (algorithm) => {
    hashNames = hashNames || JSON.parse(hostCall(hostRandom, 'hashes')).map((n) => n.toLowerCase());
    return hashNames.includes(algorithm.toLowerCase());
  };
  const checkAlgorithm = (algorithm) => {
    if (typeof algorithm !== 'string') throw nodeError(TypeError, 'The "algorithm" argument must be of type string.' + received(algorithm), 'ERR_INVALID_ARG_TYPE');
  };
  class Hash {
    constructor(algorithm, state) { hashState.set(this, state || makeHash(algorithm)); }
    update(data, inputEncoding) { addChunk(hashState.get(this), data, inputEncoding); return this; }
    digest(outputEncoding) { return finish(hashState.get(this), outputEncoding); }
    copy() {
      const state = hashState.get(this);
      if (state.finalized) throw nodeError(Error, 'Digest already called', 'ERR_CRYPTO_HASH_FINALIZED');
      return new Hash(state.algorithm, { algorithm: state.algorithm, key: undefined, chunks: state.chunks.map((c) => c.slice()), finalized: false });
    }
  }
  class Hmac {
    constructor(algorithm, key) { hashState.set(this, makeHash(algorithm, key)); }
    update(data, inputEncoding) { addChunk(hashState.get(this), data, inputEncoding); return this; }
    digest(outputEncoding) {
      const state = hashState.get(this);
      // Node answers an empty digest to a second call on an Hmac instead of throwing.
      if (state.finalized) return typeof outputEncoding === 'string' && outputEncoding !== 'buffer' ? '' : toBuffer(new ArrayBuffer(0));
      return finish(state, outputEncoding);
    }
  }
  const createHash = (algorithm, options) => {
    checkAlgorithm(algorithm);
    if (!supported(algorithm)) throw new Error('Digest method not supported');
    return new Hash(algorithm);
  };
  const createHmac = (algorithm, key, options) => {
    checkAlgorithm(algorithm);
    if (!supported(algorithm)) throw nodeError(TypeError, 'Invalid digest: ' + algorithm, 'ERR_CRYPTO_INVALID_DIGEST');
    let keyData;
    if (typeof key === 'string') keyData = wellFormed(key);
    else if (isView(key)) keyData = key.buffer.slice(key.byteOffset, key.byteOffset + key.byteLength);
    else if (key instanceof ArrayBuffer) keyData = key.slice(0);
    else throw nodeError(TypeError, 'The "key" argument must be of type string or an instance of ArrayBuffer, Buffer, TypedArray, DataView, KeyObject, or CryptoKey.' + received(key), 'ERR_INVALID_ARG_TYPE');
    return new Hmac(algorithm, keyData);
  };

  // ---- randomness (the host's CSPRNG)
  const randomUUID = function randomUUID() { return hostCall(hostRandom, 'uuid'); };
  const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];
  const getRandomValues = function getRandomValues(typedArray) {
    if (!INTEGER_ARRAYS.some((Type) => typedArray instanceof Type)) throw new DOMException('The data argument must be an integer-type TypedArray', 'TypeMismatchError');
    if (typedArray.byteLength > 65536) throw new DOMException('The requested length exceeds 65,536 bytes', 'QuotaExceededError');
    const random = new Uint8Array(hostCall(hostRandom, 'bytes', typedArray.byteLength));
    new Uint8Array(typedArray.buffer, typedArray.byteOffset, typedArray.byteLength).set(random);
    return typedArray;
  };
  const later = (callback, ...args) => Promise.resolve().then(() => callback(...args));
  const randomBytes = (size, callback) => {
    if (typeof size !== 'number') throw nodeError(TypeError, 'The "size" argument must be of type number.' + received(size), 'ERR_INVALID_ARG_TYPE');
    if (!(size >= 0 && size <= 2147483647)) throw nodeError(RangeError, 'The value of "size" is out of range. It must be >= 0 && <= 2147483647. Received ' + size, 'ERR_OUT_OF_RANGE');
    const bytes = toBuffer(hostCall(hostRandom, 'bytes', Math.floor(size)));
    if (typeof callback === 'function') { later(callback, null, bytes); return undefined; }
    return bytes;
  };
  const randomInt = (min, max, callback) => {
    if (typeof max === 'undefined' || typeof max === 'function') { callback = max; max = min; min = 0; }
    for (const [name, value] of [['min', min], ['max', max]]) {
      if (!Number.isSafeInteger(value)) throw nodeError(TypeError, 'The "' + name + '" argument must be a safe integer.' + received(value), 'ERR_INVALID_ARG_TYPE');
    }
    if (max <= min) throw nodeError(RangeError, 'The value of "max" is out of range. It must be greater than the value of "min" (' + min + '). Received ' + max, 'ERR_OUT_OF_RANGE');
    const value = hostCall(hostRandom, 'int', min, max);
    if (typeof callback === 'function') { later(callback, null, value); return undefined; }
    return value;
  };
  const timingSafeEqual = (a, b) => {
    for (const [name, value] of [['buf1', a], ['buf2', b]]) {
      if (!isView(value) && !(value instanceof ArrayBuffer)) throw nodeError(TypeError, 'The "' + name + '" argument must be an instance of ArrayBuffer, Buffer, TypedArray, or DataView.' + received(value), 'ERR_INVALID_ARG_TYPE');
    }
    const x = new Uint8Array(toBytes(a, 'buf1')), y = new Uint8Array(toBytes(b, 'buf2'));
    if (x.length !== y.length) throw nodeError(RangeError, 'Input buffers must have the same byte length', 'ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH');
    let diff = 0;
    for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
    return diff === 0;
  };
  const getHashes = () => JSON.parse(hostCall(hostRandom, 'hashes'));

  const webcrypto = { getRandomValues, randomUUID, subtle: undefined };
  Object.defineProperty(webcrypto, Symbol.toStringTag, { value: 'Crypto', configurable: true });
  const cryptoModule = { createHash, createHmac, Hash, Hmac, randomUUID, randomBytes, randomInt, getRandomValues, timingSafeEqual, getHashes, webcrypto };
  return { globals: { crypto: webcrypto }, modules: { crypto: cryptoModule } };
})
