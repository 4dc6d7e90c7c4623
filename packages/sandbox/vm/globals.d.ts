/**
 * What the in-VM sources (vm/*.js, checked by vm/tsconfig.json) may use beyond ES2024: QuickJS's
 * own globals, and the globals other vm files define (the lazy groups), typed as far as they use them.
 */

/** QuickJS's class of its own limit errors: "out of memory", "stack overflow", "interrupted". */
declare class InternalError extends Error {}

/** Node's error codes (ERR_INVALID_ARG_TYPE…), which the shims put on the errors they throw. */
interface Error {
  code?: string;
}

/** `{ __proto__: null, … }` descriptors: an Object.prototype.get the app defined cannot spoil them. */
interface PropertyDescriptor {
  __proto__?: null;
}

// Defined by vm/encoding.js and vm/url.js (lazy groups), used by vm/fetch.js.
declare const TextEncoder: new () => { encode(text: string): Uint8Array };
declare const TextDecoder: new () => { decode(bytes: ArrayBuffer | ArrayBufferView): string };
declare const URLSearchParams: new (init?: unknown) => { toString(): string };

// Defined by vm/buffer.js (a lazy group), used by vm/pg.js and vm/aws-sdk.js.
declare const Buffer: { from(data: unknown, encoding?: string): Uint8Array & { toString(encoding?: string): string } };
