import { hostname } from 'node:os';
import type { RedisClient } from './connection';

/** A member that has not beaten for this long is gone: its lanes pass to the others. */
export const LANE_MEMBER_TTL_MS = 5_000;

/**
 * Which stage-worker process serves which ordered lane of an app. An ordered lane runs one job at
 * a time across all processes (BullMQ's global concurrency of 1); when every process serves every
 * lane, the process that completes a lane's job also fetches its next one (BullMQ's fetch-next in
 * the same call), so lanes stick to whichever process took them first and a second worker process
 * sits idle. So the lanes are dealt out: each process beats into one sorted set per app it serves
 * (score: the time of its last beat), and lane i of an app belongs to the i-th live member modulo
 * their count, members sorted by id — every process computes the same split from the same set.
 *
 * Ownership balances load; it does not guard order: while members come and go, two processes may
 * serve a lane for a moment (the global concurrency still runs its jobs one at a time), and a
 * killed process's lanes wait up to LANE_MEMBER_TTL_MS for the others to take them over.
 * The unordered lane is not dealt: every process serves it.
 */
export class LaneOwners {
  readonly memberId = `${hostname()}:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2, 8)}`;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlMs = LANE_MEMBER_TTL_MS,
  ) {}

  private keyOf(appId: number): string {
    // One hash tag per app: the beat and the read are one slot's commands under Redis Cluster.
    return `${this.prefix}:{lane-owners:${appId}}`;
  }

  /** Beats for each app and answers, per app, the ordered-lane shards (0…shards-1) this process owns. */
  async beat(appIds: readonly number[], shards: number): Promise<Map<number, number[]>> {
    const now = Date.now();
    // One pipeline per app, sent together: each keeps to its app's slot (a cluster refuses a
    // pipeline whose keys lie on different nodes).
    const members = await Promise.all(
      appIds.map(async (appId) => {
        const key = this.keyOf(appId);
        const replies = (await this.redis.pipeline().zadd(key, now, this.memberId).zremrangebyscore(key, '-inf', now - this.ttlMs).pexpire(key, this.ttlMs * 4).zrange(key, 0, -1).exec()) ?? [];
        const [error, list] = replies[3] ?? [];
        if (error) throw error;
        return list as string[];
      }),
    );
    const owned = new Map<number, number[]>();
    appIds.forEach((appId, index) => owned.set(appId, ownedShards(members[index]!.slice().sort(), this.memberId, shards)));
    return owned;
  }

  /** Leaves every app's set, so the others take the lanes over at their next beat instead of after the TTL. */
  async leave(appIds: readonly number[]): Promise<void> {
    await Promise.all(appIds.map((appId) => this.redis.zrem(this.keyOf(appId), this.memberId)));
  }
}

/** The shards that `member` owns among `members` (sorted): shard i goes to members[i mod n]; all when it is not among them. */
export function ownedShards(members: readonly string[], member: string, shards: number): number[] {
  const position = members.indexOf(member);
  const all = Array.from({ length: shards }, (_, shard) => shard);
  if (position < 0) return all;
  return all.filter((shard) => shard % members.length === position);
}
