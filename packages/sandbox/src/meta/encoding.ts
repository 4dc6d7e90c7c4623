import { HostCallError } from './host-sync';
import type { LazyGroup } from './lazy';
import { ENCODING_JS } from '../vm-sources';

/** Labels TextDecoder accepts are Node's (WHATWG names); the host checks them. */
function decoderFor(label: string, fatal: boolean, ignoreBOM: boolean): InstanceType<typeof TextDecoder> {
  return new TextDecoder(label, { fatal, ignoreBOM });
}

/**
 * How many bytes at the end of `bytes` start a UTF-8 sequence that is valid so far but not
 * complete (0–3): a streaming decode holds them back for the next chunk, as Node's decoder does.
 */
export function incompleteUtf8Tail(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= Math.min(3, end); back++) {
    const lead = bytes[end - back]!;
    if (lead >= 0x80 && lead < 0xc0) continue; // a continuation byte: look further back
    const need = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (need <= back) return 0;
    if (back >= 2) {
      const second = bytes[end - back + 1]!;
      const [low, high] = lead === 0xe0 ? [0xa0, 0xbf] : lead === 0xed ? [0x80, 0x9f] : lead === 0xf0 ? [0x90, 0xbf] : lead === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
      if (second < low || second > high) return 0;
    }
    return back;
  }
  return 0;
}

/**
 * `TextEncoder` (UTF-8, in the VM), `TextDecoder` (Node's decoder on the host: every label,
 * `fatal`, `ignoreBOM`; `stream: true` for UTF-8), `atob` / `btoa` (Node's, on the host) and a
 * minimal `DOMException` (what atob/btoa and crypto.getRandomValues throw in Node).
 */
export const encodingGlobals: LazyGroup = {
  name: 'encoding',
  globals: ['TextEncoder', 'TextDecoder', 'atob', 'btoa', 'DOMException'],
  host: {
    decode: ['TextDecoder', (args) => {
      // (label) → the encoding's name; (label, fatal, ignoreBOM, stream, bytes) → [text, held-back bytes]
      const label = args.string(0, 100);
      if (args.length === 1) return decoderFor(label, false, false).encoding;
      const fatal = args.string(1) === 'true';
      const ignoreBOM = args.string(2) === 'true';
      const stream = args.string(3) === 'true';
      const bytes = args.bytes(4);
      const decoder = decoderFor(label, fatal, ignoreBOM);
      if (!stream) return JSON.stringify([decoder.decode(bytes), 0]);
      if (decoder.encoding !== 'utf-8') throw new HostCallError('TypeError', `TextDecoder: stream: true is available for utf-8 only in the sandbox, not ${decoder.encoding}`);
      const tail = incompleteUtf8Tail(bytes);
      return JSON.stringify([decoder.decode(bytes.subarray(0, bytes.length - tail)), tail]);
    }],
    base64: ['base64', (args) => {
      const op = args.string(0);
      const input = args.string(1);
      return op === 'atob' ? atob(input) : btoa(input);
    }],
  },
  source: ENCODING_JS,
};
