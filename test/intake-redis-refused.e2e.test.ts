import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOwnRedis, type OwnRedis } from './chaos/own-redis';
import { startCluster, type Cluster } from './helpers/cluster';
import { PROJECT_TOKEN } from './helpers/services';

async function postBatch(url: string) {
  const batch = [{ event: 'refused', distinct_id: 'refused-user', uuid: randomUUID(), properties: {} }];
  const response = await fetch(`${url}/batch`, { method: 'POST', body: JSON.stringify({ api_key: PROJECT_TOKEN, batch }) });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() as { error?: string; message?: string } };
}

/**
 * A Redis that answers but refuses writes (here: over its maxmemory with noeviction; on a cluster,
 * CLUSTERDOWN or TRYAGAIN while a replica is promoted) is a Redis the client should retry, as when
 * it is down: 503 with Retry-After, never a 500.
 */
describe('intake when Redis refuses the write', () => {
  let redis: OwnRedis;
  let admin: Redis;
  let cluster: Cluster;
  beforeAll(async () => {
    redis = await startOwnRedis();
    admin = new Redis(redis.url);
    cluster = await startCluster({ REDIS_URL: redis.url, SLUICE_INTAKE_WRITE_TIMEOUT_MS: '5000' });
  });
  afterAll(async () => {
    await cluster?.stop();
    admin?.disconnect();
    await redis?.remove();
  });

  it('answers 503 with Retry-After while writes are refused, and 200 once Redis takes them again', async () => {
    expect((await postBatch(cluster.url)).status).toBe(200);
    await admin.config('SET', 'maxmemory', '1'); // every write is now refused with OOM
    const refused = await postBatch(cluster.url);
    expect(refused).toMatchObject({ status: 503, body: { error: 'unavailable' } });
    expect(refused.body.message).toMatch(/OOM/);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    await admin.config('SET', 'maxmemory', '0');
    expect((await postBatch(cluster.url)).status).toBe(200);
  });
});
