// What the compat apps' `@posthog/plugin-scaffold` imports mean to the repository's typecheck; inside
// the sandbox the module is provided by the runtime (RetryError), and the types are erased at install.
declare module '@posthog/plugin-scaffold' {
  export type { Plugin, PluginEvent, PluginMeta } from '@sluice/app-sdk';
  export { RetryError } from '@sluice/app-sdk';
}
