// @ts-check
// Lazy group: require('stream') — Node's EventEmitter-based Readable, Writable, Duplex, Transform
// and PassThrough, with pipe/pipeline/finished (src/meta/stream.ts; LazyGroup in src/meta/lazy.ts).
// Enough of Node's semantics for apps that build a body with push/write/end and pipe it into a
// bridge's write stream: 'data', 'end', 'finish', 'error', 'close', 'drain' in Node's order. Apps
// have no timers: what Node defers with process.nextTick is deferred to a microtask here.
(function (host, shared) {
  const { Buffer } = shared.NodeBuffer;
  const later = (fn) => { Promise.resolve().then(fn); };
  const DEFAULT_HIGH_WATER_MARK = 16 * 1024;
  const OBJECT_HIGH_WATER_MARK = 16;
  const nodeError = (Type, code, message) => { const error = new Type(message); error.code = code; return error; };
  const isBytes = (value) => value instanceof Uint8Array;

  class EventEmitter {
    constructor() { this._events = Object.create(null); }
    on(name, listener) {
      if (typeof listener !== 'function') throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "listener" argument must be of type function');
      (this._events[name] || (this._events[name] = [])).push(listener);
      return this;
    }
    addListener(name, listener) { return this.on(name, listener); }
    prependListener(name, listener) { this.on(name, listener); this._events[name].unshift(this._events[name].pop()); return this; }
    once(name, listener) {
      const once = (...args) => { this.removeListener(name, once); return listener.apply(this, args); };
      once.listener = listener;
      return this.on(name, once);
    }
    removeListener(name, listener) {
      const list = this._events[name];
      if (!list) return this;
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i] === listener || list[i].listener === listener) { list.splice(i, 1); break; }
      }
      if (list.length === 0) delete this._events[name];
      return this;
    }
    off(name, listener) { return this.removeListener(name, listener); }
    removeAllListeners(name) {
      if (name === undefined) this._events = Object.create(null); else delete this._events[name];
      return this;
    }
    emit(name, ...args) {
      const list = this._events[name];
      if (!list || list.length === 0) {
        // As in Node: an 'error' nobody listens to is thrown.
        if (name === 'error') throw args[0] instanceof Error ? args[0] : new Error('Unhandled error. (' + String(args[0]) + ')');
        return false;
      }
      for (const listener of list.slice()) listener.apply(this, args);
      return true;
    }
    listeners(name) { return (this._events[name] || []).map((listener) => listener.listener || listener); }
    listenerCount(name) { return (this._events[name] || []).length; }
    eventNames() { return Object.keys(this._events); }
    setMaxListeners() { return this; }
    getMaxListeners() { return 10; }
  }

  /** Node's legacy Stream: the base of the others (require('stream') is this class). */
  class Stream extends EventEmitter {}

  // destroy() is one function for both sides, as in Node: _destroy, then 'error' (if any) and 'close'.
  /** @this {any} */
  function destroy(error, callback) {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (error) this.errored = error;
    const done = (failure) => later(() => {
      this.closed = true;
      const writable = this._writableState;
      if (writable && !writable.finished) {
        const premature = failure || nodeError(Error, 'ERR_STREAM_PREMATURE_CLOSE', 'Premature close');
        for (const callback of writable.onFinished.splice(0)) callback(premature);
      }
      if (failure) this.emit('error', failure);
      this.emit('close');
      if (typeof callback === 'function') callback(failure || null);
    });
    try { this._destroy(error || null, done); } catch (thrown) { done(thrown); }
    return this;
  }
  function defaultDestroy(error, callback) { callback(error); }
  // A Duplex closes when both sides are done (autoDestroy); a Readable after 'end', a Writable after 'finish'.
  function maybeAutoDestroy(stream) {
    const r = stream._readableState, w = stream._writableState;
    if ((r && !r.endEmitted) || (w && !w.finished) || stream.destroyed) return;
    if ((r || w).autoDestroy) stream.destroy();
  }

  class Readable extends Stream {
    constructor(options) {
      super();
      const given = options || {};
      const objectMode = !!(given.objectMode || given.readableObjectMode);
      this._readableState = {
        objectMode, highWaterMark: typeof given.highWaterMark === 'number' ? given.highWaterMark : objectMode ? OBJECT_HIGH_WATER_MARK : DEFAULT_HIGH_WATER_MARK,
        encoding: given.encoding || null, buffer: [], length: 0, flowing: null, ended: false, endEmitted: false,
        reading: false, scheduled: false, readRequested: false, autoDestroy: given.autoDestroy !== false,
      };
      if (typeof given.read === 'function') this._read = given.read;
      if (typeof given.destroy === 'function') this._destroy = given.destroy;
      this.destroyed = false;
      this.closed = false;
      this.errored = null;
      this.readable = true;
    }
    get readableEnded() { return this._readableState.endEmitted; }
    get readableFlowing() { return this._readableState.flowing; }
    get readableLength() { return this._readableState.length; }
    get readableObjectMode() { return this._readableState.objectMode; }
    get readableHighWaterMark() { return this._readableState.highWaterMark; }
    get readableEncoding() { return this._readableState.encoding; }

    push(chunk, encoding) {
      const state = this._readableState;
      state.reading = false;
      if (this.destroyed) return false;
      if (chunk === null) {
        state.ended = true;
        this._schedule();
        return false;
      }
      if (state.ended) {
        this.destroy(nodeError(Error, 'ERR_STREAM_PUSH_AFTER_EOF', 'stream.push() after EOF'));
        return false;
      }
      if (!state.objectMode) {
        if (typeof chunk === 'string') chunk = Buffer.from(chunk, encoding || 'utf8');
        else if (isBytes(chunk)) chunk = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        else {
          this.destroy(nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "chunk" argument must be of type string or an instance of Buffer or Uint8Array'));
          return false;
        }
        if (chunk.length === 0) return state.length < state.highWaterMark;
      }
      state.buffer.push(chunk);
      state.length += state.objectMode ? 1 : chunk.length;
      this._schedule();
      return state.length < state.highWaterMark;
    }
    unshift(chunk) {
      const state = this._readableState;
      if (!state.objectMode && typeof chunk === 'string') chunk = Buffer.from(chunk);
      state.buffer.unshift(chunk);
      state.length += state.objectMode ? 1 : chunk.length;
      this._schedule();
    }
    _read(_size) {
      this.destroy(nodeError(Error, 'ERR_METHOD_NOT_IMPLEMENTED', 'The _read() method is not implemented'));
    }
    _schedule() {
      const state = this._readableState;
      if (state.scheduled) return;
      state.scheduled = true;
      later(() => { state.scheduled = false; this._flow(); });
    }
    _decode(chunk) {
      const encoding = this._readableState.encoding;
      return encoding && Buffer.isBuffer(chunk) ? chunk.toString(encoding) : chunk;
    }
    _take() {
      const state = this._readableState;
      const chunk = state.buffer.shift();
      state.length -= state.objectMode ? 1 : chunk.length;
      return this._decode(chunk);
    }
    // Hands buffered chunks to 'data' listeners while flowing, ends when drained, and asks _read for more.
    _flow() {
      const state = this._readableState;
      if (this.destroyed) return;
      while (state.flowing && state.buffer.length > 0 && !this.destroyed) this.emit('data', this._take());
      if (this.destroyed) return;
      if (state.buffer.length === 0 && state.ended) {
        if (!state.endEmitted && (state.flowing || state.readRequested)) {
          state.endEmitted = true;
          this.readable = false;
          this.emit('end');
          maybeAutoDestroy(this);
        }
        return;
      }
      if (!state.flowing && state.buffer.length > 0 && this.listenerCount('readable') > 0) this.emit('readable');
      if (!state.ended && !state.reading && (state.flowing || state.length < state.highWaterMark)) {
        state.reading = true;
        try { this._read(state.highWaterMark); } catch (error) { this.destroy(error); }
      }
    }
    read() {
      const state = this._readableState;
      state.readRequested = true;
      if (state.buffer.length === 0) {
        this._schedule();
        return null;
      }
      let chunk;
      if (state.objectMode) chunk = this._take();
      else {
        chunk = this._decode(Buffer.concat(state.buffer));
        state.buffer = [];
        state.length = 0;
      }
      this._schedule();
      return chunk;
    }
    on(name, listener) {
      super.on(name, listener);
      const state = this._readableState;
      if (name === 'data' && state.flowing !== false) this.resume();
      else if (name === 'readable') { state.flowing = false; state.readRequested = true; this._schedule(); }
      return this;
    }
    addListener(name, listener) { return this.on(name, listener); }
    resume() {
      const state = this._readableState;
      if (!state.flowing) {
        state.flowing = true;
        later(() => this.emit('resume'));
        this._schedule();
      }
      return this;
    }
    pause() {
      const state = this._readableState;
      if (state.flowing !== false) {
        state.flowing = false;
        later(() => this.emit('pause'));
      }
      return this;
    }
    isPaused() { return this._readableState.flowing === false; }
    setEncoding(encoding) { this._readableState.encoding = encoding; return this; }
    pipe(destination, options) {
      const end = !options || options.end !== false;
      const onData = (chunk) => { if (destination.write(chunk) === false) this.pause(); };
      const onDrain = () => this.resume();
      const onEnd = () => destination.end();
      // As in Node: unpiped on error, and thrown when the app has no 'error' listener of its own.
      const onError = (error) => { this.unpipe(destination); if (destination.listenerCount('error') === 0) throw error; };
      const pipes = this._pipes || (this._pipes = []);
      pipes.push({ destination, cleanup: () => {
        this.removeListener('data', onData);
        this.removeListener('end', onEnd);
        destination.removeListener('drain', onDrain);
        destination.removeListener('error', onError);
      } });
      this.on('data', onData);
      destination.on('drain', onDrain);
      destination.on('error', onError);
      if (end) this.once('end', onEnd);
      destination.emit('pipe', this);
      this.resume();
      return destination;
    }
    unpipe(destination) {
      const pipes = this._pipes || [];
      for (let i = pipes.length - 1; i >= 0; i--) {
        if (destination !== undefined && pipes[i].destination !== destination) continue;
        const [pipe] = pipes.splice(i, 1);
        pipe.cleanup();
        pipe.destination.emit('unpipe', this);
      }
      if (pipes.length === 0) this.pause();
      return this;
    }
    [Symbol.asyncIterator]() {
      const chunks = [];
      let ended = false, failure = null, wake = null;
      const notify = () => { if (wake) { const resume = wake; wake = null; resume(); } };
      this.on('data', (chunk) => { chunks.push(chunk); notify(); });
      this.once('end', () => { ended = true; notify(); });
      this.once('error', (error) => { failure = error; notify(); });
      const next = () => {
        if (chunks.length > 0) return Promise.resolve({ value: chunks.shift(), done: false });
        if (failure) return Promise.reject(failure);
        if (ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => { wake = resolve; }).then(next);
      };
      return { next, return: () => { this.destroy(); return Promise.resolve({ value: undefined, done: true }); }, [Symbol.asyncIterator]() { return this; } };
    }
    static from(iterable, options) {
      if (typeof iterable === 'string' || isBytes(iterable)) iterable = [iterable];
      const iterator = iterable[Symbol.asyncIterator] ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator]();
      const readable = new Readable({
        objectMode: true, ...options,
        read() {
          Promise.resolve(iterator.next()).then(
            (step) => (step.done ? readable.push(null) : readable.push(step.value)),
            (error) => readable.destroy(error));
        },
      });
      return readable;
    }
  }
  Readable.prototype.destroy = destroy;
  Readable.prototype._destroy = defaultDestroy;

  // The writable side: state and methods, installed on Writable and (as in Node) copied onto Duplex.
  // As in Node, a write whose callback comes at once lets the next one start at once (its own
  // callback follows on a microtask), and 'finish' waits for every write's callback and _final.
  function initWritable(stream, given) {
    const objectMode = !!(given.objectMode || given.writableObjectMode);
    stream._writableState = {
      objectMode, highWaterMark: typeof given.highWaterMark === 'number' ? given.highWaterMark : objectMode ? OBJECT_HIGH_WATER_MARK : DEFAULT_HIGH_WATER_MARK,
      decodeStrings: given.decodeStrings !== false, length: 0, queue: [], writing: false, sync: false, needDrain: false,
      pending: 0, ending: false, finalCalled: false, prefinished: false, finishing: false, finished: false, onFinished: [],
      autoDestroy: given.autoDestroy !== false,
    };
    if (typeof given.write === 'function') stream._write = given.write;
    if (typeof given.final === 'function') stream._final = given.final;
    if (typeof given.destroy === 'function') stream._destroy = given.destroy;
    stream.writable = true;
  }
  const writableMethods = {
    write(chunk, encoding, callback) {
      if (typeof encoding === 'function') { callback = encoding; encoding = null; }
      const state = this._writableState;
      if (chunk === null) throw nodeError(TypeError, 'ERR_STREAM_NULL_VALUES', 'May not write null values to stream');
      if (state.ending || this.destroyed) {
        const error = state.ending ? nodeError(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end') : nodeError(Error, 'ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');
        later(() => { if (typeof callback === 'function') callback(error); });
        if (state.ending) this.destroy(error);
        return false;
      }
      if (!state.objectMode) {
        if (typeof chunk === 'string') {
          if (state.decodeStrings) { chunk = Buffer.from(chunk, encoding || 'utf8'); encoding = 'buffer'; }
        } else if (isBytes(chunk)) {
          chunk = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          encoding = 'buffer';
        } else {
          throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "chunk" argument must be of type string or an instance of Buffer or Uint8Array');
        }
      }
      state.length += state.objectMode ? 1 : chunk.length;
      const ok = state.length < state.highWaterMark;
      if (!ok) state.needDrain = true;
      const entry = { chunk, encoding: encoding || 'utf8', callback };
      if (state.writing || state.queue.length > 0) state.queue.push(entry); else this._doWrite(entry);
      return ok;
    },
    _doWrite(entry) {
      const state = this._writableState;
      state.writing = true;
      state.sync = true;
      state.pending++;
      let called = false;
      const onWrite = (error) => {
        if (called) { this.destroy(nodeError(Error, 'ERR_MULTIPLE_CALLBACK', 'Callback called multiple times')); return; }
        called = true;
        const sync = state.sync;
        state.writing = false;
        state.length -= state.objectMode ? 1 : entry.chunk.length;
        if (error) {
          later(() => { state.pending--; if (typeof entry.callback === 'function') entry.callback(error); });
          this.destroy(error);
          return;
        }
        if (state.queue.length > 0 && !this.destroyed) this._doWrite(state.queue.shift());
        if (sync) later(() => this._afterWrite(entry)); else this._afterWrite(entry);
      };
      try { this._write(entry.chunk, entry.encoding, onWrite); } catch (error) { onWrite(error); }
      state.sync = false;
    },
    _afterWrite(entry) {
      const state = this._writableState;
      if (state.needDrain && state.length === 0 && !state.ending && !this.destroyed) { state.needDrain = false; this.emit('drain'); }
      state.pending--;
      if (typeof entry.callback === 'function') entry.callback(null);
      this._maybeFinish(false);
    },
    _write(_chunk, _encoding, _callback) {
      throw nodeError(Error, 'ERR_METHOD_NOT_IMPLEMENTED', 'The _write() method is not implemented');
    },
    end(chunk, encoding, callback) {
      if (typeof chunk === 'function') { callback = chunk; chunk = null; encoding = null; } else if (typeof encoding === 'function') { callback = encoding; encoding = null; }
      const state = this._writableState;
      if (chunk !== null && chunk !== undefined) this.write(chunk, encoding);
      if (typeof callback === 'function') {
        if (state.finished || this.destroyed) later(() => callback(state.finished ? null : this.errored || nodeError(Error, 'ERR_STREAM_DESTROYED', 'Cannot call end after a stream was destroyed')));
        else state.onFinished.push(callback);
      }
      if (!state.ending) {
        state.ending = true;
        this.writable = false;
        this._maybeFinish(true);
      }
      return this;
    },
    // Once ended and every write is done: _final (a bridge's upload), then 'finish' when no callback is pending.
    _maybeFinish(sync) {
      const state = this._writableState;
      if (!state.ending || state.writing || state.queue.length > 0 || state.finishing || this.destroyed) return;
      if (!state.finalCalled) {
        state.finalCalled = true;
        if (typeof this._final !== 'function') state.prefinished = true;
        else {
          state.pending++;
          let finalSync = true;
          const onFinal = (error) => {
            state.pending--;
            if (error) { this.destroy(error); return; }
            state.prefinished = true;
            this.emit('prefinish');
            this._maybeFinish(finalSync);
          };
          try { this._final(onFinal); } catch (error) { onFinal(error); }
          finalSync = false;
          return;
        }
      }
      if (!state.prefinished || state.pending > 0) return;
      state.finishing = true;
      const finish = () => {
        if (this.destroyed) return;
        state.finished = true;
        for (const callback of state.onFinished.splice(0)) callback(null);
        this.emit('finish');
        maybeAutoDestroy(this);
      };
      if (sync) { state.pending++; later(() => { state.pending--; finish(); }); } else finish();
    },
    cork() {},
    uncork() {},
    setDefaultEncoding() { return this; },
  };
  const writableGetters = {
    writableEnded() { return this._writableState.ending; },
    writableFinished() { return this._writableState.finished; },
    writableLength() { return this._writableState.length; },
    writableObjectMode() { return this._writableState.objectMode; },
    writableHighWaterMark() { return this._writableState.highWaterMark; },
    writableNeedDrain() { return this._writableState.needDrain; },
  };
  const installWritable = (prototype) => {
    for (const name of Object.keys(writableMethods)) Object.defineProperty(prototype, name, { value: writableMethods[name], writable: true, configurable: true });
    for (const name of Object.keys(writableGetters)) Object.defineProperty(prototype, name, { get: writableGetters[name], configurable: true });
  };

  class Writable extends Stream {
    constructor(options) {
      super();
      initWritable(this, options || {});
      this.destroyed = false;
      this.closed = false;
      this.errored = null;
    }
    // As in Node: a Duplex (which has the writable side) is an instance of Writable.
    static [Symbol.hasInstance](object) {
      if (Function.prototype[Symbol.hasInstance].call(this, object)) return true;
      return this === Writable && !!object && object._writableState !== undefined;
    }
  }
  installWritable(Writable.prototype);
  Writable.prototype.destroy = destroy;
  Writable.prototype._destroy = defaultDestroy;

  class Duplex extends Readable {
    constructor(options) {
      const given = options || {};
      super(given);
      initWritable(this, given);
      // allowHalfOpen: false ends the writable side with the readable one.
      if (given.allowHalfOpen === false) this.once('end', () => /** @type {any} */ (this).end());
    }
  }
  installWritable(Duplex.prototype);

  class Transform extends Duplex {
    constructor(options) {
      const given = options || {};
      super(given);
      if (typeof given.transform === 'function') this._transform = given.transform;
      if (typeof given.flush === 'function') this._flush = given.flush;
    }
    _transform(_chunk, _encoding, _callback) {
      throw nodeError(Error, 'ERR_METHOD_NOT_IMPLEMENTED', 'The _transform() method is not implemented');
    }
    _write(chunk, encoding, callback) {
      this._transform(chunk, encoding, (error, data) => {
        if (error) { callback(error); return; }
        if (data !== undefined && data !== null) this.push(data);
        callback();
      });
    }
    _final(callback) {
      const finish = (error, data) => {
        if (error) { callback(error); return; }
        if (data !== undefined && data !== null) this.push(data);
        this.push(null);
        callback();
      };
      if (typeof this._flush === 'function') this._flush(finish); else finish();
    }
    // Data comes from the writable side.
    _read() {}
  }

  class PassThrough extends Transform {
    _transform(chunk, encoding, callback) { callback(null, chunk); }
  }

  /** Calls back once the stream has ended, finished or failed (Node's stream.finished). */
  function finished(stream, options, callback) {
    if (typeof options === 'function') callback = options;
    let done = false;
    const settle = (error) => { if (done) return; done = true; cleanup(); callback(error || undefined); };
    const onEnd = () => { if (!stream._writableState || stream._writableState.finished) settle(); };
    const onFinish = () => { if (!stream._readableState || stream._readableState.endEmitted) settle(); };
    const onError = (error) => settle(error);
    const onClose = () => settle(stream.errored || (stream._writableState && !stream._writableState.finished) || (stream._readableState && !stream._readableState.endEmitted)
      ? stream.errored || nodeError(Error, 'ERR_STREAM_PREMATURE_CLOSE', 'Premature close') : undefined);
    const cleanup = () => {
      stream.removeListener('end', onEnd);
      stream.removeListener('finish', onFinish);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
    };
    stream.on('end', onEnd);
    stream.on('finish', onFinish);
    stream.on('error', onError);
    stream.on('close', onClose);
    return cleanup;
  }

  /** Pipes each stream into the next; calls back when the last is done or any fails (destroying them all). */
  function pipeline(...streams) {
    const callback = typeof streams[streams.length - 1] === 'function' ? streams.pop() : null;
    if (streams.length === 1 && Array.isArray(streams[0])) streams = streams[0];
    if (streams.length < 2) throw nodeError(TypeError, 'ERR_MISSING_ARGS', 'The "streams" argument must be specified');
    let settled = false;
    const settle = (error) => {
      if (settled) return;
      settled = true;
      if (error) for (const stream of streams) if (!stream.destroyed) stream.destroy();
      if (callback) callback(error || undefined);
    };
    for (let i = 0; i < streams.length; i++) {
      const stream = streams[i];
      if (i < streams.length - 1) stream.pipe(streams[i + 1]);
      finished(stream, (error) => { if (error) settle(error); else if (i === streams.length - 1) settle(); });
    }
    return streams[streams.length - 1];
  }

  const promises = {
    pipeline: (...streams) => new Promise((resolve, reject) => pipeline(...streams, (error) => (error ? reject(error) : resolve(undefined)))),
    finished: (stream, options) => new Promise((resolve, reject) => finished(stream, options || {}, (error) => (error ? reject(error) : resolve(undefined)))),
  };

  Object.assign(Stream, { Stream, Readable, Writable, Duplex, Transform, PassThrough, pipeline, finished, promises });
  // For the bridges' shims (vm/google-storage.js's write stream) and any later 'events' module.
  shared.NodeStream = Stream;
  shared.EventEmitter = EventEmitter;
  return { modules: { stream: Stream } };
})
