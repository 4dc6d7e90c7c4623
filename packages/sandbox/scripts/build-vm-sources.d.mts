/** Types of build-vm-sources.mjs (see there). */
export declare const VM_DIR: string;
export declare const VM_SOURCES_MODULE: string;
export declare function constantName(file: string): string;
export declare function readVmSources(): Promise<{ file: string; text: string }[]>;
export declare function renderVmSources(): Promise<string>;
export declare function buildVmSources(): Promise<void>;
