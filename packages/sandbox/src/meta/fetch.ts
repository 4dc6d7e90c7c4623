import { DEFAULT_FETCH_POLICY, GuardedFetch, type FetchRequest } from '../host-fetch';
import type { MetaCapability } from './types';
import { FETCH_JS } from '../vm-sources';

let sharedDefault: GuardedFetch | undefined;

/** The guarded fetch of VMs given none: public addresses only, default timeout and size cap. */
export function defaultFetch(): GuardedFetch {
  sharedDefault ??= new GuardedFetch(DEFAULT_FETCH_POLICY);
  return sharedDefault;
}

function toRequest(json: string): FetchRequest {
  const raw = JSON.parse(json) as Record<string, unknown>;
  if (typeof raw.url !== 'string') throw new TypeError('fetch: the URL must be a string');
  let url: URL;
  try {
    url = new URL(raw.url);
  } catch {
    throw new TypeError(`fetch: invalid URL ${JSON.stringify(raw.url.slice(0, 200))}`);
  }
  const headers = Array.isArray(raw.headers) ? (raw.headers as unknown[]).map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError('fetch: headers must be name/value pairs');
    return [String(pair[0]), String(pair[1])] as [string, string];
  }) : undefined;
  return {
    url: url.toString(),
    ...(typeof raw.method === 'string' ? { method: raw.method } : {}),
    ...(headers ? { headers } : {}),
    ...(typeof raw.body === 'string' ? { body: raw.body } : {}),
  };
}

/**
 * The global `fetch` (and `node-fetch`'s): made by the host under the instance's FetchPolicy
 * (SSRF guard, timeout, response size cap), answered with a node-fetch-like Response whose body
 * has already been read (text/json/arrayBuffer resolve at once).
 */
export const fetchMeta: MetaCapability = {
  name: 'fetch',
  handlers: (context) => ({
    fetch: async (json) => {
      const guarded = context.fetch ?? defaultFetch();
      return JSON.stringify(await guarded.fetch(toRequest(json)));
    },
  }),
  shim: () => FETCH_JS,
};
