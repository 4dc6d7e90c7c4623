import { describe, expect, it } from 'vitest';
import type { QuickJSWASMModule } from 'quickjs-emscripten-core';
import { fastStringsInto } from '../src/fast-strings';
import { getQuickJS } from '../src/quickjs';

describe('fast string copies into and out of QuickJS', () => {
  it('are installed on the shared module and keep text intact both ways', async () => {
    const module = await getQuickJS();
    const emscripten = (module as unknown as { module: { stringToUTF8: { name: string } } }).module;
    expect(emscripten.stringToUTF8.name).not.toBe('stringToUTF8'); // ours, not emscripten's
    const vm = module.newContext();
    const text = `${'ascii '.repeat(100)} ü € ☃ 𝄞 日本語 ${'é'.repeat(1000)}`;
    const handle = vm.newString(text);
    const upper = vm.unwrapResult(vm.evalCode('(s) => s.toUpperCase() + s.length'));
    const result = vm.unwrapResult(vm.callFunction(upper, vm.undefined, handle));
    expect(vm.getString(result)).toBe(text.toUpperCase() + text.length);
    for (const h of [handle, upper, result]) h.dispose();
    vm.dispose();
  });

  it('leave the original helpers in place when the module is not what they expect', () => {
    const originals = { lengthBytesUTF8: () => 0, stringToUTF8: () => 0, UTF8ToString: () => '', HEAPU8: new Uint8Array(8) };
    const fake = { module: { ...originals }, newContext: () => { throw new Error('not a real module') } };
    fastStringsInto(fake as unknown as QuickJSWASMModule);
    expect(fake.module.stringToUTF8).toBe(originals.stringToUTF8);
    expect(fake.module.UTF8ToString).toBe(originals.UTF8ToString);
    const missing = { module: { HEAPU8: new Uint8Array(8) } };
    expect(() => fastStringsInto(missing as unknown as QuickJSWASMModule)).not.toThrow();
  });
});
