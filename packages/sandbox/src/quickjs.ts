import { newQuickJSWASMModuleFromVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import releaseSync from '@jitl/quickjs-wasmfile-release-sync';

let modulePromise: Promise<QuickJSWASMModule> | undefined;

/**
 * The QuickJS WebAssembly module, loaded once per process. The release-sync variant: no
 * asyncify (faster, smaller); async host calls are promises the host settles and pumps.
 */
export function quickJs(): Promise<QuickJSWASMModule> {
  modulePromise ??= newQuickJSWASMModuleFromVariant(releaseSync);
  return modulePromise;
}
