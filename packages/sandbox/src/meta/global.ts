import type { MetaCapability } from './types';

/** `meta.global`: per instance per process, shared by setupPlugin and every later call. */
export const globalMeta: MetaCapability = {
  name: 'global',
  shim: () => 'meta.global = {};',
};

/** `meta.attachments`: uploaded files by config key (uploads come with the admin API work). */
export const attachmentsMeta: MetaCapability = {
  name: 'attachments',
  shim: () => 'meta.attachments = {};',
};
