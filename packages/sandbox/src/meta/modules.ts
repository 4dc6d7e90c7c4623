import type { LazyGroup } from './lazy';
import { MODULES_JS } from '../vm-sources';

/**
 * Importable modules that need no host function of their own:
 * - `node-fetch`: the global `fetch` (default export and `fetch`; `Headers`, `Request`,
 *   `Response` when the global has them), looked up when the app calls it, so it is whatever
 *   `fetch` the sandbox provides.
 * - `@posthog/plugin-contrib`: `createBuffer({ limit, timeoutSeconds, onFlush })`. PostHog's
 *   version flushes on a timer; apps get no timers here, so this one flushes when `limit` points
 *   are exceeded, on `flush()`, and on the first `add()` after `timeoutSeconds` have passed since
 *   the oldest buffered item (not by itself while the app is idle).
 */
export const builtinModules: LazyGroup = {
  name: 'modules',
  modules: ['node-fetch', '@posthog/plugin-contrib'],
  source: MODULES_JS,
};
