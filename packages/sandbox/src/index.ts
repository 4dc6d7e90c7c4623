export { AppSourceError } from './errors';
export { SECRET_MASK, applyConfigDefaults, keepMaskedSecrets, attachmentKeys, maskSecrets, maskedConfig, missingAttachments, secretValues } from './plugin-json';
export { bundleApp, optionalModulesWarning, versionHash, PROVIDED_MODULES, type CompiledApp } from './compile';
export { compileApp } from './compile-app';
export { createAppVm, instanceMemoryBytes, type AppVm, type AppVmOptions, type CallResult, type EventOutcome, type HostServices, type OnEventOutcome } from './app-vm';
export { DEFAULT_LIMITS, type SandboxLimits } from './limits';
export {
  GeoIpDatabase,
  META_CAPABILITIES,
  type AppCache,
  type AppStorage,
  type CapturedEvent,
  type JobRequest,
  type MetaCapability,
} from './meta';
export { DEFAULT_FETCH_POLICY, FetchBlockedError, GuardedFetch, type FetchPolicy, type FetchRequest, type FetchResponse } from './host-fetch';
export { MemoryAppCache, MemoryAppStorage } from './memory-services';
export { attachmentFile, type AppAttachmentFile } from './meta';
export * from './pool';
export { MAX_APP_FILES, isAppSourcePath, readAppFolder } from './read-app-folder';
