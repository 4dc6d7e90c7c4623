import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';

/**
 * Synchronous host functions for the app globals and built-in modules (URL, crypto, zlib, Intl…).
 * Every argument comes from the app and is treated as hostile: only strings, numbers and
 * ArrayBuffers are read, each checked for type and size before any work; results go back as
 * strings or fresh ArrayBuffers (copies), never host objects. A failure becomes a thrown value
 * with only `name` and `message` (quickjs-emscripten copies just those); the in-VM shims turn it
 * into the matching JS error class (`hostCall` in vm/host-errors.js).
 */

/** Largest string or byte input a host function accepts (hash input, zlib input, URL…). */
export const MAX_HOST_INPUT_BYTES = 8 * 1024 * 1024;
/** Largest output a host function produces (zlib inflate, random bytes, …). */
export const MAX_HOST_OUTPUT_BYTES = 8 * 1024 * 1024;

/** An error for the VM: its name picks the JS class the shim rethrows (TypeError, RangeError, Error). */
export class HostCallError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Keeps only the name and message of an error the host's own APIs threw (never its stack or fields). */
function sanitize(error: unknown): HostCallError {
  if (error instanceof HostCallError) return error;
  if (typeof DOMException === 'function' && error instanceof DOMException) return new HostCallError(`DOMException:${error.name}`, error.message);
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const name = ['TypeError', 'RangeError', 'SyntaxError'].includes(error.name) ? error.name : 'Error';
    // Node's codes (ERR_INVALID_URL…) travel in the name after a colon; the shim puts them on `code`.
    return new HostCallError(typeof code === 'string' && /^[A-Z_]+$/.test(code) ? `${name}:${code}` : name, error.message);
  }
  return new HostCallError('Error', String(error));
}

/**
 * Strings cross the wasm boundary as NUL-terminated UTF-8, so a string holding U+0000 would be cut
 * short. Such strings (and any starting with U+0001, to keep the marker unambiguous) travel as
 * U+0001 'J' + their JSON, both ways; hostCall in vm/host-errors.js does the same on its side.
 */
function wrapString(text: string): string {
  return text.includes('\0') || text.charCodeAt(0) === 1 ? `\u0001J${JSON.stringify(text)}` : text;
}

function unwrapString(text: string): string {
  if (text.charCodeAt(0) !== 1 || text[1] !== 'J') return text;
  const value = JSON.parse(text.slice(2)) as unknown;
  if (typeof value !== 'string') throw new HostCallError('TypeError', 'malformed string argument');
  return value;
}

export type HostResult = string | number | boolean | Uint8Array | undefined;

/** Reads the arguments of one host call; each getter validates and throws a TypeError for the VM. */
export class HostArgs {
  constructor(
    private readonly vm: QuickJSContext,
    private readonly handles: QuickJSHandle[],
    private readonly fn: string,
  ) {}

  get length(): number {
    return this.handles.length;
  }

  type(index: number): string {
    const handle = this.handles[index];
    return handle ? this.vm.typeof(handle) : 'undefined';
  }

  string(index: number, max = MAX_HOST_INPUT_BYTES): string {
    const handle = this.handles[index];
    if (!handle || this.vm.typeof(handle) !== 'string') throw new HostCallError('TypeError', `${this.fn}: argument ${index + 1} must be a string`);
    const length = this.vm.getProp(handle, 'length').consume((h) => this.vm.getNumber(h));
    if (!(length <= max)) throw new HostCallError('RangeError', `${this.fn}: input of ${length} characters is over the limit of ${max}`);
    return unwrapString(this.vm.getString(handle));
  }

  optionalString(index: number, max = MAX_HOST_INPUT_BYTES): string | undefined {
    return this.type(index) === 'undefined' ? undefined : this.string(index, max);
  }

  number(index: number): number {
    const handle = this.handles[index];
    if (!handle || this.vm.typeof(handle) !== 'number') throw new HostCallError('TypeError', `${this.fn}: argument ${index + 1} must be a number`);
    return this.vm.getNumber(handle);
  }

  integer(index: number, min: number, max: number): number {
    const value = this.number(index);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new HostCallError('RangeError', `${this.fn}: argument ${index + 1} must be an integer from ${min} to ${max}, got ${value}`);
    }
    return value;
  }

  /** An ArrayBuffer's bytes, copied out of the VM (its size checked before the copy). */
  bytes(index: number, max = MAX_HOST_INPUT_BYTES): Uint8Array {
    const handle = this.handles[index];
    if (!handle || this.vm.typeof(handle) !== 'object') throw new HostCallError('TypeError', `${this.fn}: argument ${index + 1} must be an ArrayBuffer`);
    const size = this.vm.getProp(handle, 'byteLength').consume((h) => (this.vm.typeof(h) === 'number' ? this.vm.getNumber(h) : -1));
    if (size < 0) throw new HostCallError('TypeError', `${this.fn}: argument ${index + 1} must be an ArrayBuffer`);
    if (size > max) throw new HostCallError('RangeError', `${this.fn}: input of ${size} bytes is over the limit of ${max}`);
    let view;
    try {
      view = this.vm.getArrayBuffer(handle);
    } catch {
      throw new HostCallError('TypeError', `${this.fn}: argument ${index + 1} must be an ArrayBuffer`);
    }
    try {
      return view.value.slice(); // a copy: the view points into the wasm heap and dies with the lifetime
    } finally {
      view.dispose();
    }
  }

  /** A string or ArrayBuffer argument (for inputs that accept both). */
  stringOrBytes(index: number, max = MAX_HOST_INPUT_BYTES): string | Uint8Array {
    return this.type(index) === 'string' ? this.string(index, max) : this.bytes(index, max);
  }
}

/**
 * A synchronous host function: `work` reads its arguments through HostArgs and answers a string,
 * number, boolean, bytes (a new ArrayBuffer in the VM) or undefined. Errors of any kind reach the
 * VM as `{name, message}` only.
 */
export function newSyncHostFunction(vm: QuickJSContext, name: string, work: (args: HostArgs) => HostResult): QuickJSHandle {
  return vm.newFunction(name, (...handles) => {
    let result: HostResult;
    try {
      result = work(new HostArgs(vm, handles, name));
    } catch (error) {
      throw sanitize(error);
    }
    if (result === undefined) return vm.undefined;
    if (typeof result === 'string') return vm.newString(wrapString(result));
    if (typeof result === 'number') return vm.newNumber(result);
    if (typeof result === 'boolean') return result ? vm.true : vm.false;
    return vm.newArrayBuffer(result.buffer.slice(result.byteOffset, result.byteOffset + result.byteLength));
  });
}
