/**
 * The JavaScript that runs inside every app's VM before the app: the CommonJS wrapper, the shims
 * apps may `require`, and the batch loop. Evaluated once per VM; it leaves its entry points on
 * `globalThis.__sluice`, which the host takes handles to and then deletes before the app loads
 * (the app cannot swap them). The host calls `processBatch(json)` once per batch — one boundary
 * crossing, the loop inside.
 *
 * The source is vm/prelude.js.
 */
export { PRELUDE_JS as PRELUDE } from './vm-sources';
