import { configMeta } from './config';
import { consoleMeta } from './console';
import { attachmentsMeta, globalMeta } from './global';
import type { MetaCapability } from './types';

export type { MetaCapability, MetaContext } from './types';

/** Every capability a VM gets, in install order. Adding one = one file + one line here. */
export const META_CAPABILITIES: MetaCapability[] = [configMeta, globalMeta, attachmentsMeta, consoleMeta];
