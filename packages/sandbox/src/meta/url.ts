import * as nodeUrl from 'node:url';
import { HostCallError } from './host-sync';
import type { LazyGroup } from './lazy';
import { URL_JS } from '../vm-sources';

/** A URL longer than this is refused (Node has no such limit; an app never needs one this long). */
const MAX_URL_CHARS = 1024 * 1024;
const SETTABLE = new Set(['protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash']);

/** The parts the shim's URL reads, in one JSON array: one crossing per parse or setter. */
function partsOf(url: URL): string {
  return JSON.stringify([url.href, url.origin, url.protocol, url.username, url.password, url.host, url.hostname, url.port, url.pathname, url.search, url.hash]);
}

function legacy(op: string, args: { string(i: number, max?: number): string; optionalString(i: number, max?: number): string | undefined }): string {
  switch (op) {
    case 'parse': {
      const parsed = nodeUrl.parse(args.string(1, MAX_URL_CHARS), args.string(2) === 'true', args.string(3) === 'true');
      return JSON.stringify({ ...parsed });
    }
    case 'resolve':
      return nodeUrl.resolve(args.string(1, MAX_URL_CHARS), args.string(2, MAX_URL_CHARS));
    case 'format': {
      // A WHATWG URL (its href) with format options, or a plain url object as JSON.
      const kind = args.string(1);
      if (kind === 'whatwg') {
        const options = JSON.parse(args.string(3)) as Record<string, unknown>;
        return nodeUrl.format(new URL(args.string(2, MAX_URL_CHARS)), pick(options, ['auth', 'fragment', 'search', 'unicode']));
      }
      const object = JSON.parse(args.string(2, MAX_URL_CHARS)) as unknown;
      if (typeof object === 'string') return nodeUrl.format(object);
      if (object === null || typeof object !== 'object') throw new HostCallError('TypeError', 'The "urlObject" argument must be one of type object or string.');
      return nodeUrl.format(object as nodeUrl.UrlObject);
    }
    case 'domainToASCII':
      return nodeUrl.domainToASCII(args.string(1, MAX_URL_CHARS));
    case 'domainToUnicode':
      return nodeUrl.domainToUnicode(args.string(1, MAX_URL_CHARS));
    default:
      throw new HostCallError('TypeError', `url: unknown operation ${op}`);
  }
}

function pick(options: Record<string, unknown>, keys: string[]): Record<string, boolean> {
  const picked: Record<string, boolean> = {};
  for (const key of keys) if (typeof options[key] === 'boolean') picked[key] = options[key] as boolean;
  return picked;
}

/**
 * `URL` and `URLSearchParams` as globals, and the `url` module (`require('url')`): URL parsing is
 * Node's own (the host parses, the VM keeps the parts), so every href, setter and error is Node's.
 * URLSearchParams keeps its list in the VM; the query parsing is the host's, the serialization is
 * the WHATWG urlencoded serializer (the same bytes Node writes).
 */
export const urlGlobals: LazyGroup = {
  name: 'url',
  globals: ['URL', 'URLSearchParams'],
  modules: ['url'],
  host: {
    parse: ['URL', (args) => {
      const input = args.string(0, MAX_URL_CHARS);
      const base = args.optionalString(1, MAX_URL_CHARS);
      return partsOf(base === undefined ? new URL(input) : new URL(input, base));
    }],
    canParse: ['URL.canParse', (args) => {
      const input = args.string(0, MAX_URL_CHARS);
      const base = args.optionalString(1, MAX_URL_CHARS);
      try {
        if (base === undefined) new URL(input);
        else new URL(input, base);
        return true;
      } catch {
        return false;
      }
    }],
    set: ['URL', (args) => {
      const url = new URL(args.string(0, MAX_URL_CHARS));
      const key = args.string(1);
      if (!SETTABLE.has(key)) throw new HostCallError('TypeError', `URL: ${key} cannot be set`);
      (url as unknown as Record<string, string>)[key] = args.string(2, MAX_URL_CHARS);
      return partsOf(url);
    }],
    query: ['URLSearchParams', (args) => {
      return JSON.stringify([...new URLSearchParams(args.string(0, MAX_URL_CHARS))]);
    }],
    legacy: ['url', (args) => legacy(args.string(0), args)],
  },
  source: URL_JS,
};
