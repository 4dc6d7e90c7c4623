import variant from '@jitl/quickjs-wasmfile-release-sync';
import { newQuickJSWASMModuleFromVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import { fastStringsInto } from './fast-strings';

let loading: Promise<QuickJSWASMModule> | undefined;
/** How many times a runtime had to be abandoned: expected only after traps and QuickJS's own leaks (tests watch it). */
let abandoned = 0;

export function abandonedRuntimes(): number {
  return abandoned;
}

/**
 * The QuickJS WebAssembly module, instantiated once per process on first use: instantiating the
 * wasm costs tens of milliseconds, while each app gets its own cheap runtime (own heap and
 * limits) inside it.
 */
export function getQuickJS(): Promise<QuickJSWASMModule> {
  if (!loading) {
    const load = newQuickJSWASMModuleFromVariant(variant).then((module) => {
      fastStringsInto(module);
      return module;
    });
    loading = load;
    // A failed load must not stick for the life of the process.
    load.catch(() => loading === load && (loading = undefined));
  }
  return loading;
}

/**
 * Stops handing out `module` to new VMs. Called when a call trapped inside the wasm (the host's
 * own stack overflowed before QuickJS's stack check fired, e.g. deeply nested JSON): the trap
 * skips emscripten's stack-pointer restore, so every trap leaks part of the module's C stack.
 * VMs already on the module keep working; new and recreated VMs get a fresh module, so leaks
 * never pile up in one module.
 */
export function abandonQuickJS(module: QuickJSWASMModule): void {
  abandoned += 1;
  const current = loading;
  if (!current) return;
  void current.then((loaded) => {
    if (loaded === module && loading === current) loading = undefined;
  });
}
