import { randomUUID } from 'node:crypto';
import type { RedisClient } from '@sluice/queues';

/** Deletes the key only if this holder still has it (it may have expired and been taken). */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
/** Extends the key only if this holder still has it. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * A lock in Redis that expires on its own, so work held by a process that died is taken over by
 * another after `ttlMs`. Only the holder (its random token) can renew or release it.
 */
export class RedisLease {
  private readonly token = randomUUID();

  constructor(
    private readonly connection: RedisClient,
    readonly key: string,
    private readonly ttlMs: number,
  ) {}

  async acquire(): Promise<boolean> {
    return (await this.connection.set(this.key, this.token, 'PX', this.ttlMs, 'NX')) === 'OK';
  }

  /** False when the lease was lost (expired, and maybe taken by another process). */
  async renew(): Promise<boolean> {
    return Number(await this.connection.eval(RENEW, 1, this.key, this.token, String(this.ttlMs))) === 1;
  }

  async release(): Promise<void> {
    await this.connection.eval(RELEASE, 1, this.key, this.token);
  }
}
