/** Types of scripts/build.mjs, for the TypeScript that calls it (the test suite's global setup, the benches). */
export declare const CLI_DIST: string;
export declare function buildAll(options?: { quiet?: boolean }): Promise<void>;
