import { afterAll, describe, expect, it } from 'vitest';
import { LaneOwners, ownedShards, createRedis } from '@sluice/queues';
import { REDIS_URL, deleteRedisPrefix, testPrefix } from './helpers/services';

const prefix = testPrefix();
const redis = createRedis(REDIS_URL);
afterAll(async () => {
  await deleteRedisPrefix(prefix);
  redis.disconnect();
});

const APP = 7;
const SHARDS = 8;

describe('ownedShards', () => {
  it('deals shard i to the i-th member modulo their count, and everything to a stranger', () => {
    expect(ownedShards(['a', 'b'], 'a', 8)).toEqual([0, 2, 4, 6]);
    expect(ownedShards(['a', 'b'], 'b', 8)).toEqual([1, 3, 5, 7]);
    expect(ownedShards(['a', 'b', 'c'], 'c', 8)).toEqual([2, 5]);
    expect(ownedShards(['a'], 'z', 3)).toEqual([0, 1, 2]);
  });
});

describe('LaneOwners (real Redis)', () => {
  it('splits an app\'s lanes between live members, disjoint and complete, and hands a leaver\'s lanes over at the next beat', async () => {
    const first = new LaneOwners(redis, prefix);
    const second = new LaneOwners(redis, prefix);
    expect((await first.beat([APP], SHARDS)).get(APP)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const secondShards = (await second.beat([APP], SHARDS)).get(APP)!;
    const firstShards = (await first.beat([APP], SHARDS)).get(APP)!;
    expect(firstShards).toHaveLength(4);
    expect(secondShards).toHaveLength(4);
    expect([...firstShards, ...secondShards].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

    await second.leave([APP]);
    expect((await first.beat([APP], SHARDS)).get(APP)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await first.leave([APP]);
  });

  it('drops a member that stopped beating (a killed process) once its beat is older than the TTL', async () => {
    const alive = new LaneOwners(redis, prefix, 300);
    const killed = new LaneOwners(redis, prefix, 300);
    await killed.beat([APP + 1], SHARDS);
    expect((await alive.beat([APP + 1], SHARDS)).get(APP + 1)).toHaveLength(4);
    await new Promise((done) => setTimeout(done, 400));
    expect((await alive.beat([APP + 1], SHARDS)).get(APP + 1)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('keeps apps apart: a member of one app does not take lanes of another', async () => {
    const onlyA = new LaneOwners(redis, prefix);
    const both = new LaneOwners(redis, prefix);
    await onlyA.beat([APP + 2], SHARDS);
    const owned = await both.beat([APP + 2, APP + 3], SHARDS);
    expect(owned.get(APP + 2)).toHaveLength(4);
    expect(owned.get(APP + 3)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
