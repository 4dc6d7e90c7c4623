import { parseRedisUrl, redactRedisUrl, type RedisNodeAddress } from '@sluice/core';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * A connection to Sluice's Redis: one server, or a Redis Cluster when REDIS_URL has the cluster
 * form (`redis+cluster://host:port,host:port`). Both take the same commands; what differs under a
 * cluster is that a multi-key command, a MULTI, a Lua script and a pipeline must keep to one hash
 * slot (every key Sluice writes together carries one hash tag, `{…}`), and SCAN must visit every
 * master (scanKeys).
 */
export type RedisClient = Redis | Cluster;

/** Connection settings that apply to either kind (a cluster passes them on to each node's connection). */
export type RedisClientOptions = RedisOptions;

/**
 * A Redis connection as BullMQ needs it: `maxRetriesPerRequest: null` so blocking worker
 * commands wait through a Redis restart (or a cluster failover) instead of failing.
 */
export function createRedis(url: string, options: RedisClientOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  if (target.kind === 'single') return new Redis(url, { maxRetriesPerRequest: null, ...options });
  // Options of the cluster client itself; the rest go to every node's connection.
  const { enableAutoPipelining, lazyConnect, enableOfflineQueue, enableReadyCheck, ...nodeOptions } = options;
  const clusterOptions: ClusterOptions = {
    // 'ready' only once CLUSTER INFO says cluster_state:ok, and commands wait (queued) through a
    // reconnect or a failover instead of failing at once, as on one Redis.
    enableReadyCheck: enableReadyCheck ?? true,
    enableOfflineQueue: enableOfflineQueue ?? true,
    ...(enableAutoPipelining !== undefined && { enableAutoPipelining }),
    ...(lazyConnect !== undefined && { lazyConnect }),
    ...target.options,
    redisOptions: {
      maxRetriesPerRequest: null,
      ...nodeOptions,
      ...(target.username !== undefined && { username: target.username }),
      ...(target.password !== undefined && { password: target.password }),
      ...(target.tls && { tls: {} }),
    },
  };
  return new Cluster(target.nodes, clusterOptions);
}

export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}

/** The seed nodes of a cluster URL, or undefined for one Redis (for messages: which nodes did not answer). */
export function clusterNodes(url: string): RedisNodeAddress[] | undefined {
  const target = parseRedisUrl(url);
  return target.kind === 'cluster' ? target.nodes : undefined;
}

export { redactRedisUrl };

/**
 * Every key matching `pattern`, in batches: SCAN (never KEYS) on the one server, or on each master
 * of a cluster in turn (a cluster's SCAN only sees the node it is sent to).
 */
export async function* scanKeys(client: RedisClient, pattern: string, count = 500): AsyncGenerator<string[]> {
  if (isCluster(client)) await waitReady(client);
  const servers: Redis[] = isCluster(client) ? client.nodes('master') : [client];
  for (const server of servers) {
    for await (const keys of server.scanStream({ match: pattern, count }) as AsyncIterable<string[]>) {
      if (keys.length) yield keys;
    }
  }
}

/**
 * UNLINKs keys that may lie in different slots: one command on one Redis; on a cluster one command
 * per key, sent together (each to its slot's master; UNLINK of several keys would be CROSSSLOT).
 */
export async function unlinkKeys(client: RedisClient, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  if (!isCluster(client)) return client.unlink(...keys);
  const counts = await Promise.all(keys.map((key) => client.unlink(key)));
  return counts.reduce((sum, n) => sum + n, 0);
}

/** Deletes every key matching `pattern` (see scanKeys); answers how many went. */
export async function deleteMatching(client: RedisClient, pattern: string): Promise<number> {
  let deleted = 0;
  for await (const keys of scanKeys(client, pattern)) deleted += await unlinkKeys(client, keys);
  return deleted;
}

/**
 * BullMQ needs `noeviction`: with any other policy Redis may silently drop queued events. On a
 * cluster, every master is asked (each has its own setting); the first other policy is answered.
 */
export async function checkEvictionPolicy(redis: RedisClient): Promise<string | undefined> {
  if (isCluster(redis)) {
    await waitReady(redis).catch(() => undefined); // unreachable: nothing to check, the connection reports it
    for (const node of redis.nodes('master')) {
      const policy = await checkEvictionPolicy(node);
      if (policy) return policy;
    }
    return undefined;
  }
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    return policy && policy !== 'noeviction' ? policy : undefined;
  } catch {
    return undefined; // managed Redis often forbids CONFIG: nothing to check then
  }
}

/** Until a cluster client knows its nodes (its nodes() list is empty before: a SCAN then would visit none). */
async function waitReady(cluster: Cluster): Promise<void> {
  if (cluster.status === 'ready') return;
  await cluster.ping();
}
