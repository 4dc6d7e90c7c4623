import { configMeta } from './config';
import { consoleMeta } from './console';
import { attachmentsMeta, globalMeta } from './global';
import { jobsMeta } from './jobs';
import type { MetaCapability } from './types';

export type { JobRequest, MetaCapability, MetaContext } from './types';
export { disposePendingHostCalls } from './host-async';

/** Every capability a VM gets, in install order. Adding one = one file + one line here. */
export const META_CAPABILITIES: MetaCapability[] = [configMeta, globalMeta, attachmentsMeta, consoleMeta, jobsMeta];
