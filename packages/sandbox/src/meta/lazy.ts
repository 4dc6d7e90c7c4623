import type { QuickJSHandle } from 'quickjs-emscripten-core';
import { newSyncHostFunction, type HostArgs, type HostResult } from './host-sync';
import type { MetaCapability } from './types';
import { HOST_ERRORS_JS, LAZY_LOADER_JS, vmCall } from '../vm-sources';

/** A synchronous host function of a group: its name (for error messages) and its work (see host-sync.ts). */
export type HostFunctionSpec = readonly [name: string, work: (args: HostArgs) => HostResult];

/**
 * A group of app globals and built-in modules (URL, crypto, zlib, Intl…) that a VM evaluates only
 * when the app first touches one of them: most apps use none, and their ~55 KB of in-VM JavaScript
 * would otherwise be parsed and run in every VM (one per instance, per compile, per rebuild).
 *
 * `source` (a vm/*.js file) is a function expression `(function (host, shared, primordials,
 * helpers) { … })` answering `{ globals?, modules?, methods? }` by name. It gets its host functions
 * in `host` (made when the group loads, never on the global object), `shared` (what groups leave
 * for each other: `DOMException`, `NodeBuffer`), `primordials` (builtins taken before the app ran:
 * JSON's parse/stringify, String#toWellFormed/concat, Date#getTime, Number/BigInt#valueOf) and
 * `helpers`, what vm/host-errors.js answers (`hostCall`, `toBytes`, `received`, `wellFormed`),
 * evaluated with the group so that a VM loading no group never parses it.
 */
export interface LazyGroup {
  name: string;
  /** Groups this one uses, loaded first (encoding before crypto for DOMException, crypto before zlib for Buffer). */
  requires?: string[];
  /** Globals the group defines: until it loads, each is an accessor on globalThis (a read loads the group, a write replaces it). */
  globals?: string[];
  /** `require()` names it answers (the module values are in the answer's `modules`). */
  modules?: string[];
  /**
   * Builtin prototype methods it patches, as 'Date.prototype.toLocaleString' → the method's
   * length (0 or 1): each is an eager stub calling the group's `methods[path]` (loaded on first call).
   */
  methods?: Record<string, 0 | 1>;
  /** The group's host functions, by the name its source reads from `host`; made when the group loads. */
  host?: Record<string, HostFunctionSpec>;
  source: string;
}

/**
 * A group's source as the host evaluates it: `(host, shared, primordials)` → the group's answer,
 * its helpers made first. The group's file starts on line 1, so VM error lines are the file's.
 */
function withHelpers(source: string): string {
  return `(function (host, shared, primordials) { return (${source}\n)(host, shared, primordials, (${HOST_ERRORS_JS}\n)(primordials)); })`;
}

/** The in-VM loader: accessors, module factories and method stubs that evaluate a group on first use. */
function loaderShim(groups: LazyGroup[]): string {
  const table: Record<string, { requires: string[]; globals: string[]; modules: string[]; methods: [string, string, string, number][] }> = {};
  for (const group of groups) {
    table[group.name] = {
      requires: group.requires ?? [],
      globals: group.globals ?? [],
      modules: group.modules ?? [],
      methods: Object.entries(group.methods ?? {}).map(([path, length]) => {
        const [ctor, prototype, name] = path.split('.');
        if (prototype !== 'prototype' || !ctor || !name) throw new Error(`lazy group ${group.name}: bad method path ${path}`);
        return [path, ctor, name, length];
      }),
    };
  }
  return vmCall(LAZY_LOADER_JS, JSON.stringify({ groups: table, order: groups.map((group) => group.name) }));
}

/**
 * The capability that installs the lazy groups: one host function (`__host_lazy`, taken by the
 * loader and deleted) that evaluates a group's source, makes its host functions and runs it when
 * the VM first needs the group, and the loader shim itself.
 */
export function lazyGlobals(groups: LazyGroup[]): MetaCapability {
  const byName = new Map(groups.map((group) => [group.name, { group, source: withHelpers(group.source) }]));
  for (const group of groups) {
    for (const dependency of group.requires ?? []) {
      if (!byName.has(dependency)) throw new Error(`lazy group ${group.name} requires unknown group ${dependency}`);
    }
  }
  const shim = loaderShim(groups);
  return {
    name: 'lazy-globals',
    install(vm) {
      // (group name, shared, primordials) → what the group's function answers, called with its
      // host functions. Every handle is freed even when the VM runs out of memory halfway (a
      // leaked one would abort the runtime's disposal); nothing passes through an object the app
      // could have put a setter on (Array.prototype[0], Object.prototype.decode…).
      const load = vm.newFunction('lazy', (nameHandle, sharedHandle, primordialsHandle) => {
        const name = nameHandle && vm.typeof(nameHandle) === 'string' ? vm.getString(nameHandle) : '';
        const { group, source } = byName.get(name) ?? {};
        if (!group || !source || !sharedHandle || !primordialsHandle) throw new Error(`unknown group ${name}`);
        const evaluated = vm.evalCode(source, `sluice-${name}.js`, { type: 'global' });
        if (evaluated.error) return { error: evaluated.error };
        const handles: QuickJSHandle[] = [evaluated.value];
        try {
          const host = vm.newObject();
          handles.push(host);
          for (const [key, [fnName, work]] of Object.entries(group.host ?? {})) {
            const fn = newSyncHostFunction(vm, fnName, work);
            handles.push(fn);
            vm.defineProp(host, key, { value: fn, enumerable: true });
          }
          const answer = vm.callFunction(evaluated.value, vm.undefined, host, sharedHandle, primordialsHandle);
          return answer.error ? { error: answer.error } : answer.value;
        } finally {
          for (const handle of handles) handle.dispose();
        }
      });
      vm.setProp(vm.global, '__host_lazy', load);
      load.dispose();
    },
    shim: () => shim,
  };
}
