import manifest from '../package.json';

/** Sluice's version, as @sluice/cli's package.json gives it (bundled in at build time). */
export const SLUICE_VERSION: string = manifest.version;
