import type { MetaCapability } from './types';

/** `meta.config`: the instance's config with plugin.json defaults applied (embedded as a JSON literal). */
export const configMeta: MetaCapability = {
  name: 'config',
  shim: ({ config }) => `meta.config = ${JSON.stringify(config)};`,
};
