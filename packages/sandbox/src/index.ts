export { AppSourceError } from './errors';
export { SECRET_MASK, applyConfigDefaults, maskSecrets, maskedConfig, secretValues } from './plugin-json';
export { bundleApp, versionHash, PROVIDED_MODULES, type CompiledApp } from './compile';
export { compileApp } from './compile-app';
export { createAppVm, type AppVm, type AppVmOptions, type CallResult, type EventOutcome } from './app-vm';
export { DEFAULT_LIMITS, type SandboxLimits } from './limits';
export { META_CAPABILITIES, type JobRequest, type MetaCapability } from './meta';
export * from './pool';
export { readAppFolder } from './read-app-folder';
