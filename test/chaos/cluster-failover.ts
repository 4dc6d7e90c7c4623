import { Redis } from 'ioredis';
import { startRedisCluster, type StartedRedisCluster } from '../helpers/redis-cluster';
import { storeQueue } from '@sluice/queues';
import { answersNote, answersText, exitedOf, feedThroughFault, withPipeline, type ScenarioSize } from './scenarios';
import { tally, waitDelivered, type ChaosRow } from './pipeline';
import { storedRows } from './stored';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The port of the master that serves `key`'s hash slot now. */
async function masterOf(cluster: StartedRedisCluster, key: string): Promise<number> {
  const [port] = await cluster.masterPorts();
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  let slot: number;
  try {
    await redis.connect();
    slot = Number(await redis.cluster('KEYSLOT', key));
  } finally {
    redis.disconnect();
  }
  for (const node of await cluster.topology()) {
    if (node.role !== 'master' || node.flags.includes('fail')) continue;
    for (const range of node.slots) {
      const [from, to = from] = range.split('-').map(Number);
      if (from !== undefined && slot >= from && slot <= to!) return node.port;
    }
  }
  throw new Error(`no master serves slot ${slot} of ${key}`);
}

/**
 * A 3-master Redis Cluster (one replica each, cluster-node-timeout 2 s): a third of the way
 * through, the master of the store queue's slot is SIGKILLed. Its replica is promoted once the
 * others agree it failed (≈ node timeout + election); the killed node then comes back as a replica.
 * Redis replicates asynchronously, so a write the master acknowledged in its last moment may never
 * have reached the replica: this row measures whether that happened here.
 */
export async function redisClusterFailover(size: ScenarioSize): Promise<ChaosRow> {
  const redis = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 2000 });
  try {
    return await withPipeline({ REDIS_URL: redis.url }, 2, 1, async (cluster, recorder, roles) => {
      let failover = '';
      const { fed, endedAt, during } = await feedThroughFault(() => cluster.url, size.events, async () => {
        const victim = await masterOf(redis, `${cluster.env.SLUICE_REDIS_PREFIX}:${storeQueue()}:wait`);
        const killedAt = Date.now();
        await redis.kill(victim);
        await sleep(500);
        await redis.waitHealthy(60_000);
        const promotedMs = Date.now() - killedAt;
        await redis.restart(victim);
        await redis.waitHealthy(60_000);
        failover = `master ${victim} SIGKILLed; a replica served its slots after ${(promotedMs / 1000).toFixed(1)} s; the old master rejoined as a replica`;
      });
      const drainedAt = await waitDelivered(recorder, fed.accepted, size.drainTimeoutMs);
      const rows = await storedRows({ databaseUrl: cluster.env.DATABASE_URL! });
      const notes = [answersNote(fed), failover, `during the failover: ${answersText(during)}`];
      if (exitedOf(roles)) notes.push(`${exitedOf(roles)} services exited instead of reconnecting`);
      return tally('Redis Cluster: SIGKILL a master (3 masters, 1 replica each), failover', fed.accepted, rows, recorder, drainedAt && drainedAt - endedAt, notes);
    });
  } finally {
    await redis.stop();
  }
}
