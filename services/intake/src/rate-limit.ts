import type { RedisClient } from '@sluice/queues';

/**
 * A token bucket per project, kept in Redis so every intake process shares it. Refilled at
 * `rate` tokens a second up to `burst`; one token per event. Redis' own clock is used, so
 * intakes with skewed clocks still agree. Answers how long to wait when the bucket is short.
 */
const TAKE = `
local now_parts = redis.call('TIME')
local now = now_parts[1] * 1000 + math.floor(now_parts[2] / 1000)
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens, ts = tonumber(state[1]), tonumber(state[2])
if not tokens then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = math.ceil((cost - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
`;

export class RateLimiter {
  private readonly burst: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** Events per second; 0 disables the limit. */
    private readonly rate: number,
    burst: number,
  ) {
    // Without a burst given, a second's worth (and at least one request of events).
    this.burst = burst > 0 ? burst : Math.max(1, Math.ceil(rate));
  }

  get enabled(): boolean {
    return this.rate > 0;
  }

  /** 0 when the project may send `events` now, else the milliseconds until it may. */
  async take(projectId: string, events: number): Promise<number> {
    if (!this.enabled) return 0;
    // A request bigger than the whole bucket could never pass: it takes the whole bucket instead.
    const cost = Math.min(events, this.burst);
    const wait = await this.redis.eval(TAKE, 1, `${this.prefix}:rate-limit:${projectId}`, this.rate, this.burst, cost);
    return Number(wait);
  }
}
