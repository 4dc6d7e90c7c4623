import variant from '@jitl/quickjs-wasmfile-release-sync';
import { newQuickJSWASMModuleFromVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';

let loading: Promise<QuickJSWASMModule> | undefined;

/**
 * The QuickJS WebAssembly module, compiled once per process on first use: compiling the wasm costs
 * tens of milliseconds, while each app gets its own cheap runtime (own heap and limits) from it.
 */
export function getQuickJS(): Promise<QuickJSWASMModule> {
  if (!loading) {
    loading = newQuickJSWASMModuleFromVariant(variant);
    // A failed load must not stick for the life of the process.
    loading.catch(() => (loading = undefined));
  }
  return loading;
}
