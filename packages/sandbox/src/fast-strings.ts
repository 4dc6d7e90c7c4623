import type { QuickJSContext, QuickJSHandle, QuickJSWASMModule } from 'quickjs-emscripten-core';

/** The part of the emscripten module that copies host strings into the wasm heap. */
interface StringCopier {
  lengthBytesUTF8(text: string): number;
  UTF8ToString(pointer: number, maxBytes?: number): string;
  stringToUTF8(text: string, pointer: number, maxBytes?: number): number | void;
  HEAPU8: Uint8Array;
}

/**
 * A string handed to `vm.newString` that stands for the parts in `pending` (see newStringFromParts):
 * no real argument equals it (the host's arguments are JSON, which escapes NUL).
 */
const PARTS = '\u0000sluice:string-parts\u0000';
let pending: readonly string[] | undefined;
/** The modules whose helpers know PARTS. */
const partsAware = new WeakSet<QuickJSWASMModule>();

/**
 * A VM string made of `parts`, written into the wasm heap one after another without joining them
 * on the host first. Joining (or flattening the rope `+=` builds) a hundred freshly stringified
 * events costs V8 ~10 µs per event as soon as one of them holds a non-ASCII character (the whole
 * result becomes two-byte), several times the stringify itself; each part alone encodes at memcpy
 * speed. Falls back to joining where the module's helpers were not swapped.
 */
export function newStringFromParts(module: QuickJSWASMModule, vm: QuickJSContext, parts: readonly string[]): QuickJSHandle {
  if (!partsAware.has(module)) return vm.newString(parts.join(''));
  pending = parts;
  try {
    return vm.newString(PARTS);
  } finally {
    pending = undefined;
  }
}

/** Below this many UTF-16 units the emscripten loop is as fast as setting up encodeInto. */
const SHORT = 256;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Every string handed to QuickJS (a batch's JSON, app code) is first copied into the wasm heap as
 * UTF-8, and every string read back (the batch's outcomes) is decoded from it. emscripten does
 * the way in with two JavaScript loops (length, then encode) and the way back with a JavaScript
 * scan for the NUL: together ~4 µs of a ~950-byte event, over 10 % of a hello-world batch. Node's
 * native encoder and `indexOf` do the same work in a fraction of that. This swaps the three
 * helpers on the module's instance (they sit on
 * the emscripten module object that quickjs-emscripten keeps private, hence the guarded access),
 * then checks on a throwaway context that strings still arrive intact; if anything about the
 * module is not as expected, the originals stay.
 *
 * Only lone surrogates could differ (the native encoder writes U+FFFD, emscripten a 3-byte
 * surrogate); the JSON the host sends never has one (JSON.stringify escapes them) and esbuild's
 * bundles are ASCII.
 */
export function fastStringsInto(module: QuickJSWASMModule): void {
  const emscripten = (module as unknown as { module?: Partial<StringCopier> }).module;
  if (!emscripten || !(emscripten.HEAPU8 instanceof Uint8Array)) return;
  for (const name of ['lengthBytesUTF8', 'stringToUTF8', 'UTF8ToString'] as const) if (typeof emscripten[name] !== 'function') return;
  const copier = emscripten as StringCopier;
  const { lengthBytesUTF8, stringToUTF8, UTF8ToString } = copier;
  copier.lengthBytesUTF8 = (text) => {
    if (pending && text === PARTS) {
      let bytes = 0;
      for (const part of pending) bytes += Buffer.byteLength(part, 'utf8');
      return bytes;
    }
    return text.length < SHORT ? lengthBytesUTF8(text) : Buffer.byteLength(text, 'utf8');
  };
  copier.stringToUTF8 = (text, pointer, maxBytes = Number.MAX_SAFE_INTEGER) => {
    if (pending && text === PARTS && maxBytes > 0) {
      const heap = copier.HEAPU8;
      const end = Math.min(heap.length, pointer + maxBytes - 1);
      let at = pointer;
      for (const part of pending) at += encoder.encodeInto(part, heap.subarray(at, end)).written;
      heap[at] = 0;
      return at - pointer;
    }
    if (text.length < SHORT || !(maxBytes > 0)) return stringToUTF8(text, pointer, maxBytes);
    // HEAPU8 is read at each call: the heap's buffer is replaced whenever wasm memory grows.
    const heap = copier.HEAPU8;
    const { written } = encoder.encodeInto(text, heap.subarray(pointer, Math.min(heap.length, pointer + maxBytes - 1)));
    heap[pointer + written] = 0;
    return written;
  };
  // The way back (a batch's outcomes): emscripten finds the terminating NUL with a JavaScript
  // loop before decoding; the typed array's native indexOf does the same scan.
  copier.UTF8ToString = (pointer, maxBytes) => {
    if (!pointer) return '';
    const heap = copier.HEAPU8;
    let end = heap.indexOf(0, pointer);
    if (end < 0) end = heap.length;
    if (maxBytes !== undefined && pointer + maxBytes < end) end = pointer + maxBytes;
    return decoder.decode(heap.subarray(pointer, end));
  };
  if (!stringsArriveIntact(module)) {
    copier.lengthBytesUTF8 = lengthBytesUTF8;
    copier.stringToUTF8 = stringToUTF8;
    copier.UTF8ToString = UTF8ToString;
    return;
  }
  partsAware.add(module);
  if (!partsArriveIntact(module)) partsAware.delete(module);
}

function partsArriveIntact(module: QuickJSWASMModule): boolean {
  const parts = ['{"a":"héllo ☃ 𝄞"', `,"b":"${'x'.repeat(SHORT)}"`, '', ',"c":"\\ud800"}'];
  let context: ReturnType<QuickJSWASMModule['newContext']> | undefined;
  try {
    const vm = (context = module.newContext());
    const handle = newStringFromParts(module, vm, parts);
    const back = vm.getString(handle);
    handle.dispose();
    return back === parts.join('');
  } catch {
    return false;
  } finally {
    context?.dispose();
  }
}

function stringsArriveIntact(module: QuickJSWASMModule): boolean {
  const sample = `{"a":"héllo ☃ 𝄞 ${'x'.repeat(SHORT)}","b":"\\ud800"}`.repeat(8);
  let context: ReturnType<QuickJSWASMModule['newContext']> | undefined;
  try {
    const vm = (context = module.newContext());
    const handle = vm.newString(sample);
    const back = vm.getString(handle);
    const length = vm.getProp(handle, 'length').consume((h) => vm.getNumber(h));
    handle.dispose();
    const evaluated = vm.evalCode(`JSON.parse(${JSON.stringify(sample.slice(0, sample.length / 8))}).a`);
    const parsed = evaluated.error ? undefined : vm.getString(evaluated.value);
    (evaluated.error ?? evaluated.value).dispose();
    return back === sample && length === sample.length && parsed === JSON.parse(sample.slice(0, sample.length / 8)).a;
  } catch {
    return false;
  } finally {
    context?.dispose();
  }
}
