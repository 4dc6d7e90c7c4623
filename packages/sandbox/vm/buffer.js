// @ts-check
// Lazy group: the global Buffer and require('buffer'), a Uint8Array with Node's Buffer API for what
// apps use; encoding to and from text is Node's own, on the host. Its host function is in
// src/meta/buffer.ts (LazyGroup in src/meta/lazy.ts). Other groups answer Buffers through
// shared.NodeBuffer (crypto's digests and random bytes, zlib).
(function (host, shared, primordials, helpers) {
  const hostBuffer = host.buffer;
  const { hostCall, received, wellFormed } = helpers;
  const nodeError = (Class, message, code) => { const error = new Class(message); error.code = code; return error; };

  /** @type {Record<string, [size: number, read: (view: DataView, offset: number) => number | bigint]>} */
  const readers = {
    readUInt8: [1, (v, o) => v.getUint8(o)], readInt8: [1, (v, o) => v.getInt8(o)],
    readUInt16BE: [2, (v, o) => v.getUint16(o)], readUInt16LE: [2, (v, o) => v.getUint16(o, true)],
    readInt16BE: [2, (v, o) => v.getInt16(o)], readInt16LE: [2, (v, o) => v.getInt16(o, true)],
    readUInt32BE: [4, (v, o) => v.getUint32(o)], readUInt32LE: [4, (v, o) => v.getUint32(o, true)],
    readInt32BE: [4, (v, o) => v.getInt32(o)], readInt32LE: [4, (v, o) => v.getInt32(o, true)],
    readBigUInt64BE: [8, (v, o) => v.getBigUint64(o)], readBigUInt64LE: [8, (v, o) => v.getBigUint64(o, true)],
    readBigInt64BE: [8, (v, o) => v.getBigInt64(o)], readBigInt64LE: [8, (v, o) => v.getBigInt64(o, true)],
    readDoubleBE: [8, (v, o) => v.getFloat64(o)], readDoubleLE: [8, (v, o) => v.getFloat64(o, true)],
    readFloatBE: [4, (v, o) => v.getFloat32(o)], readFloatLE: [4, (v, o) => v.getFloat32(o, true)],
  };
  class Buffer extends Uint8Array {
    toString(encoding = 'utf8', start = 0, end = this.length) {
      start = Math.max(0, Math.min(this.length, Math.trunc(Number(start)) || 0));
      end = Math.max(start, Math.min(this.length, end === undefined ? this.length : Math.trunc(Number(end)) || 0));
      const bytes = this.buffer.slice(this.byteOffset + start, this.byteOffset + end);
      return hostCall(hostBuffer, 'toString', bytes, String(encoding === undefined ? 'utf8' : encoding).toLowerCase());
    }
    toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
    equals(other) {
      if (!(other instanceof Uint8Array)) throw nodeError(TypeError, 'The "otherBuffer" argument must be an instance of Buffer or Uint8Array.' + received(other), 'ERR_INVALID_ARG_TYPE');
      if (other.length !== this.length) return false;
      for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
      return true;
    }
    slice(start, end) { return this.subarray(start, end); }
  }
  for (const [name, [size, read]] of Object.entries(readers)) {
    Buffer.prototype[name] = function (offset = 0) {
      if (typeof offset !== 'number') throw nodeError(TypeError, 'The "offset" argument must be of type number.' + received(offset), 'ERR_INVALID_ARG_TYPE');
      if (!Number.isInteger(offset) || offset < 0 || offset + size > this.length) {
        if (this.length - size < 0) throw nodeError(RangeError, 'Attempt to access memory outside buffer bounds', 'ERR_BUFFER_OUT_OF_BOUNDS');
        throw nodeError(RangeError, 'The value of "offset" is out of range. It must be ' + (Number.isInteger(offset) ? '>= 0 and <= ' + (this.length - size) : 'an integer') + '. Received ' + offset, 'ERR_OUT_OF_RANGE');
      }
      return read(new DataView(this.buffer, this.byteOffset, this.byteLength), offset);
    };
  }
  // (the readers are added above, which the type checker does not follow)
  const methods = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (Buffer.prototype));
  methods.readUint8 = methods.readUInt8;
  methods.readUint16BE = methods.readUInt16BE; methods.readUint16LE = methods.readUInt16LE;
  methods.readUint32BE = methods.readUInt32BE; methods.readUint32LE = methods.readUInt32LE;

  // ---- Node's static API, for what apps use: from, alloc, concat, byteLength, isBuffer, isEncoding
  const ENCODINGS = ['utf8', 'utf-8', 'hex', 'base64', 'base64url', 'ascii', 'latin1', 'binary', 'ucs2', 'ucs-2', 'utf16le', 'utf-16le'];
  const isEncoding = (encoding) => typeof encoding === 'string' && ENCODINGS.includes(encoding.toLowerCase());
  const fromString = (text, encoding) => toBuffer(hostCall(hostBuffer, 'from', wellFormed(String(text)), String(encoding === undefined ? 'utf8' : encoding).toLowerCase()));
  const copyOf = (bytes) => { const out = new Buffer(bytes.length); out.set(bytes); return out; };
  const fromValue = (value, encodingOrOffset, length) => {
    if (typeof value === 'string') return fromString(value, encodingOrOffset);
    if (value instanceof ArrayBuffer) {
      const offset = encodingOrOffset === undefined ? 0 : Math.trunc(Number(encodingOrOffset)) || 0;
      if (offset < 0 || offset > value.byteLength) throw nodeError(RangeError, '"offset" is outside of buffer bounds', 'ERR_BUFFER_OUT_OF_BOUNDS');
      const size = length === undefined ? value.byteLength - offset : Math.trunc(Number(length)) || 0;
      if (size < 0 || offset + size > value.byteLength) throw nodeError(RangeError, '"length" is outside of buffer bounds', 'ERR_BUFFER_OUT_OF_BOUNDS');
      return new Buffer(value, offset, size);
    }
    if (ArrayBuffer.isView(value)) return copyOf(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    if (Array.isArray(value)) return copyOf(Uint8Array.from(value, (item) => Number(item) & 255));
    if (value && typeof value === 'object' && value.type === 'Buffer' && Array.isArray(value.data)) return fromValue(value.data);
    if (value && typeof value === 'object' && typeof value.length === 'number') return copyOf(Uint8Array.from(Array.prototype.slice.call(value), (item) => Number(item) & 255));
    throw nodeError(TypeError, 'The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object.' + received(value), 'ERR_INVALID_ARG_TYPE');
  };
  const checkSize = (size) => {
    if (typeof size !== 'number') throw nodeError(TypeError, 'The "size" argument must be of type number.' + received(size), 'ERR_INVALID_ARG_TYPE');
    if (!(size >= 0 && size <= 2 ** 31)) throw nodeError(RangeError, 'The value of "size" is out of range. It must be >= 0 && <= 2147483648. Received ' + size, 'ERR_OUT_OF_RANGE');
    return Math.floor(size);
  };
  const statics = {
    from: fromValue,
    alloc(size, fill, encoding) {
      const out = new Buffer(checkSize(size));
      if (fill === undefined || fill === 0) return out;
      if (typeof fill === 'number') return out.fill(fill & 255);
      const pattern = typeof fill === 'string' ? fromString(fill, encoding) : fromValue(fill);
      for (let i = 0; pattern.length > 0 && i < out.length; i++) out[i] = pattern[i % pattern.length];
      return out;
    },
    allocUnsafe(size) { return new Buffer(checkSize(size)); },
    allocUnsafeSlow(size) { return new Buffer(checkSize(size)); },
    isBuffer(value) { return value instanceof Buffer; },
    isEncoding,
    byteLength(value, encoding) {
      if (typeof value === 'string') return fromString(value, encoding).length;
      if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.byteLength;
      throw nodeError(TypeError, 'The "string" argument must be of type string or an instance of Buffer or ArrayBuffer.' + received(value), 'ERR_INVALID_ARG_TYPE');
    },
    concat(list, totalLength) {
      if (!Array.isArray(list)) throw nodeError(TypeError, 'The "list" argument must be an instance of Array.' + received(list), 'ERR_INVALID_ARG_TYPE');
      list.forEach((item, index) => {
        if (!(item instanceof Uint8Array)) throw nodeError(TypeError, 'The "list[' + index + ']" argument must be an instance of Buffer or Uint8Array.' + received(item), 'ERR_INVALID_ARG_TYPE');
      });
      const size = totalLength === undefined ? list.reduce((sum, item) => sum + item.length, 0) : checkSize(totalLength);
      const out = new Buffer(size);
      let offset = 0;
      for (const item of list) {
        if (offset >= size) break;
        const part = item.length > size - offset ? item.subarray(0, size - offset) : item;
        out.set(part, offset);
        offset += part.length;
      }
      return out;
    },
    compare(a, b) { return a.compare(b); },
  };
  for (const [name, value] of Object.entries(statics)) Object.defineProperty(Buffer, name, { value, writable: true, configurable: true });
  Object.defineProperty(Buffer.prototype, 'copy', { writable: true, configurable: true, value: function copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
    const part = this.subarray(sourceStart, sourceEnd).subarray(0, Math.max(0, target.length - targetStart));
    target.set(part, targetStart);
    return part.length;
  } });
  Object.defineProperty(Buffer.prototype, 'compare', { writable: true, configurable: true, value: function compare(other) {
    const length = Math.min(this.length, other.length);
    for (let i = 0; i < length; i++) if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1;
    return this.length === other.length ? 0 : this.length < other.length ? -1 : 1;
  } });
  Object.defineProperty(Buffer.prototype, 'write', { writable: true, configurable: true, value: function write(text, offset = 0, length = this.length - offset, encoding = 'utf8') {
    if (typeof offset === 'string') { encoding = offset; offset = 0; length = this.length; }
    else if (typeof length === 'string') { encoding = length; length = this.length - offset; }
    const bytes = fromString(text, encoding).subarray(0, Math.max(0, Math.min(length, this.length - offset)));
    this.set(bytes, offset);
    return bytes.length;
  } });

  const toBuffer = (arrayBuffer) => new Buffer(arrayBuffer);
  shared.NodeBuffer = { Buffer, toBuffer, fromString };
  const bufferModule = { Buffer, kMaxLength: 2 ** 31, constants: { MAX_LENGTH: 2 ** 31, MAX_STRING_LENGTH: 2 ** 29 - 24 } };
  return { globals: { Buffer }, modules: { buffer: bufferModule } };
})
