import type { QuickJSContext, QuickJSDeferredPromise, QuickJSHandle } from 'quickjs-emscripten-core';

/** Host calls still running per VM: their resolvers hold VM values that must be freed with it. */
const pending = new WeakMap<QuickJSContext, Set<QuickJSDeferredPromise>>();

/** Frees the resolvers of host calls that have not settled; called just before the VM is disposed. */
export function disposePendingHostCalls(vm: QuickJSContext): void {
  for (const deferred of pending.get(vm) ?? []) deferred.dispose();
  pending.delete(vm);
}

/**
 * A host function the app can await without asyncify: it returns a QuickJS promise at once and
 * settles it when the host's own promise does. The promise resolves with the host's string result
 * (or undefined); a host failure rejects it with an Error carrying the message. The call that is
 * waiting pumps the VM's pending jobs (see Realm.settle), so many host calls can be in flight.
 */
export function newAsyncHostFunction(
  vm: QuickJSContext,
  name: string,
  work: (args: string[]) => Promise<string | undefined>,
): QuickJSHandle {
  return vm.newFunction(name, (...handles) => {
    const args = handles.map((handle) => (vm.typeof(handle) === 'string' ? vm.getString(handle) : ''));
    const deferred = vm.newPromise();
    const inFlight = pending.get(vm) ?? new Set();
    pending.set(vm, inFlight);
    inFlight.add(deferred);
    let started: Promise<string | undefined>;
    try {
      started = work(args);
    } catch (error) {
      started = Promise.reject(error);
    }
    started.finally(() => inFlight.delete(deferred)).then(
      (value) => {
        // The VM may have been torn down (limit hit, instance retired) while the host worked.
        if (!vm.alive || !deferred.alive) return;
        if (value === undefined) {
          deferred.resolve();
        } else {
          const result = vm.newString(value);
          deferred.resolve(result);
          result.dispose();
        }
        deferred.dispose();
      },
      (error: unknown) => {
        if (!vm.alive || !deferred.alive) return;
        const rejection = vm.newError(error instanceof Error ? error.message : String(error));
        deferred.reject(rejection);
        rejection.dispose();
        deferred.dispose();
      },
    );
    return deferred.handle;
  });
}

/** Puts a host function on the VM's global object under a name the in-VM shim takes and deletes. */
export function exposeHostFunction(vm: QuickJSContext, name: string, fn: QuickJSHandle): void {
  vm.setProp(vm.global, name, fn);
  fn.dispose();
}
