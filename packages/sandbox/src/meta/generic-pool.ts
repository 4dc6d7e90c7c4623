import type { LazyGroup } from './lazy';
import { GENERIC_POOL_JS, GENERIC_POOL_LIBRARY_JS } from '../vm-sources';

/**
 * `require('generic-pool')`: the real library from npm, run inside the VM as it is (pure
 * JavaScript: the pools of snowflake connections catalogue apps make), evaluated only by VMs that
 * require it. Its source is vm/generic-pool.js applied to the bundled library.
 */
export const genericPoolModule: LazyGroup = {
  name: 'generic-pool',
  modules: ['generic-pool'],
  source: `(${GENERIC_POOL_JS}\n)(${GENERIC_POOL_LIBRARY_JS}\n)`,
};
