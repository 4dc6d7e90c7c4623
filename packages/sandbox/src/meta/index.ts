import { configMeta } from './config';
import { consoleMeta } from './console';
import { attachmentsMeta, globalMeta } from './global';
import { cacheMeta } from './cache';
import { fetchMeta } from './fetch';
import { geoipMeta } from './geoip';
import { jobsMeta } from './jobs';
import { posthogMeta } from './posthog';
import { storageMeta } from './storage';
import { bufferGlobals } from './buffer';
import { pgBridge } from './pg';
import { awsSdkBridge } from './aws-sdk';
import { googleStorageBridge } from './google-storage';
import { bigqueryBridge } from './bigquery';
import { pubsubBridge } from './pubsub';
import { cryptoGlobals } from './crypto';
import { encodingGlobals } from './encoding';
import { intlGlobals } from './intl';
import { builtinModules } from './modules';
import { urlGlobals } from './url';
import { zlibModule } from './zlib';
import { streamModule } from './stream';
import { jsonwebtokenModule } from './jsonwebtoken';
import { snowflakeBridge } from './snowflake';
import { genericPoolModule } from './generic-pool';
import { lazyGlobals } from './lazy';
import type { MetaCapability } from './types';

export type { AppCache, AppStorage, CapturedEvent, JobRequest, MetaCapability, MetaContext } from './types';
export { GeoIpDatabase } from './geoip';
export { CHANNEL_SHIM, HostChannel, type HostHandler } from './host-async';
export { attachmentFile } from './global';
export type { AppAttachmentFile } from './types';

/** PostHog's network SDKs: host handlers per VM, their in-VM modules a lazy group each (`lazy`). */
const SDK_BRIDGES: MetaCapability[] = [pgBridge, awsSdkBridge, googleStorageBridge, bigqueryBridge, snowflakeBridge, pubsubBridge];

/** Every capability a VM gets, in install order. Adding one = one file + one line here. */
export const META_CAPABILITIES: MetaCapability[] = [configMeta, globalMeta, attachmentsMeta, consoleMeta, jobsMeta, cacheMeta, storageMeta, fetchMeta, posthogMeta, geoipMeta, ...SDK_BRIDGES,
  // App globals and built-in modules (issue 6), each group evaluated on first use (meta/lazy.ts).
  lazyGlobals([encodingGlobals, urlGlobals, bufferGlobals, cryptoGlobals, zlibModule, streamModule, jsonwebtokenModule, genericPoolModule, intlGlobals, builtinModules,
    ...SDK_BRIDGES.flatMap((bridge) => (bridge.lazy ? [bridge.lazy] : []))])];
