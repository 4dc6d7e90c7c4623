/**
 * The JavaScript that runs inside the VM lives in packages/sandbox/vm/*.js (real files: editors,
 * tsc and linters read them); scripts/build-vm-sources.mjs copies them as text into
 * generated/vm-sources.ts, one constant per file (vm/lazy-loader.js → LAZY_LOADER_JS).
 */
export * from './generated/vm-sources';

/**
 * Source that calls a vm/*.js file holding one function expression: `(source)(arg, …);`. Each arg
 * is JavaScript text, an identifier in scope (`meta`) or a value as JSON (`JSON.stringify({…})`):
 * what a file needs from the host comes in as plain arguments, never pasted into its text.
 */
export function vmCall(source: string, ...args: string[]): string {
  // The newline ends a trailing line comment of the file before the closing parenthesis.
  return `(${source}\n)(${args.join(', ')});`;
}
