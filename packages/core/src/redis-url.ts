/**
 * REDIS_URL in its two forms: one Redis (`redis://…`, `rediss://…`, passed to ioredis as it is) or
 * a Redis Cluster (`redis+cluster://[user:password@]host:port,host:port[,…][?option=value&…]`,
 * `rediss+cluster://…` for TLS). The cluster form lists seed nodes (any masters or replicas; the
 * client learns the rest from CLUSTER SLOTS). No I/O here: config validation and the connection
 * code (@sluice/queues) read the same parse.
 */

export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** Cluster client settings a URL's query may set (ioredis' ClusterOptions of the same names). */
export const REDIS_CLUSTER_URL_OPTIONS = [
  'slotsRefreshTimeout',
  'slotsRefreshInterval',
  'retryDelayOnFailover',
  'retryDelayOnClusterDown',
  'retryDelayOnTryAgain',
  'retryDelayOnMoved',
  'maxRedirections',
] as const;
export type RedisClusterUrlOption = (typeof REDIS_CLUSTER_URL_OPTIONS)[number];

export type RedisTarget =
  | { kind: 'single'; url: string }
  | {
      kind: 'cluster';
      nodes: RedisNodeAddress[];
      username?: string;
      password?: string;
      tls: boolean;
      options: Partial<Record<RedisClusterUrlOption, number>>;
    };

export class RedisUrlError extends Error {
  override name = 'RedisUrlError';
}

const CLUSTER_PROTOCOLS = ['redis+cluster:', 'rediss+cluster:'];
const SINGLE_PROTOCOLS = ['redis:', 'rediss:'];

export function isRedisClusterUrl(raw: string): boolean {
  return CLUSTER_PROTOCOLS.some((protocol) => raw.toLowerCase().startsWith(`${protocol}//`));
}

/** Parses REDIS_URL; a RedisUrlError names what is wrong (the password is never repeated). */
export function parseRedisUrl(raw: string): RedisTarget {
  if (!isRedisClusterUrl(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new RedisUrlError(`not a valid URL: "${redact(raw)}"`);
    }
    if (!SINGLE_PROTOCOLS.includes(url.protocol)) {
      throw new RedisUrlError(`must start with redis://, rediss://, redis+cluster:// or rediss+cluster://, got "${redact(raw)}"`);
    }
    if (url.hostname.includes(',') || url.port.includes(',')) {
      throw new RedisUrlError(`lists several nodes: a Redis Cluster's URL starts with redis+cluster://, got "${redact(raw)}"`);
    }
    return { kind: 'single', url: raw };
  }
  const schemeEnd = raw.indexOf('//') + 2;
  const tls = raw.toLowerCase().startsWith('rediss+');
  let rest = raw.slice(schemeEnd);
  let query = '';
  const queryAt = rest.indexOf('?');
  if (queryAt >= 0) {
    query = rest.slice(queryAt + 1);
    rest = rest.slice(0, queryAt);
  }
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest.includes('/')) throw new RedisUrlError(`a Redis Cluster has no database number or path: "${redact(raw)}"`);
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userInfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userInfo.indexOf(':');
    const user = decodeURIComponent(colon >= 0 ? userInfo.slice(0, colon) : userInfo);
    const secret = colon >= 0 ? decodeURIComponent(userInfo.slice(colon + 1)) : undefined;
    // As redis://: a password alone is ":password@"; "user@" alone is a user without a password.
    if (user) username = user;
    if (secret) password = secret;
  }
  if (!rest.trim()) throw new RedisUrlError(`names no node: "${redact(raw)}"`);
  const nodes = rest.split(',').map((entry) => parseNode(entry.trim(), raw));
  const options: Partial<Record<RedisClusterUrlOption, number>> = {};
  for (const [name, value] of new URLSearchParams(query)) {
    if (!(REDIS_CLUSTER_URL_OPTIONS as readonly string[]).includes(name)) {
      throw new RedisUrlError(`unknown option "${name}" (known: ${REDIS_CLUSTER_URL_OPTIONS.join(', ')})`);
    }
    const number = Number(value);
    if (value.trim() === '' || !Number.isInteger(number) || number < 0) throw new RedisUrlError(`option "${name}" must be a whole number ≥ 0, got "${value}"`);
    options[name as RedisClusterUrlOption] = number;
  }
  return { kind: 'cluster', nodes, ...(username !== undefined && { username }), ...(password !== undefined && { password }), tls, options };
}

function parseNode(entry: string, raw: string): RedisNodeAddress {
  // host:port, or [v6 address]:port; the port may be left out (6379).
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(entry);
  if (!match) throw new RedisUrlError(`"${entry}" is not host:port in "${redact(raw)}"`);
  const port = match[2] === undefined ? 6379 : Number(match[2]);
  if (port < 1 || port > 65535) throw new RedisUrlError(`port ${match[2]} out of range in "${redact(raw)}"`);
  const host = match[1]!.startsWith('[') ? match[1]!.slice(1, -1) : match[1]!;
  return { host, port };
}

/** The URL with its password masked, for messages and logs. */
export function redactRedisUrl(raw: string): string {
  return redact(raw);
}

function redact(raw: string): string {
  return raw.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}
