import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@sluice/core';
import { QueueProducer, WorkerSet, createRedis } from '@sluice/queues';
import { REDIS_URL, deleteRedisPrefix, testPrefix, waitFor } from './helpers/services';

const prefix = testPrefix();
const redis = createRedis(REDIS_URL);
const producer = new QueueProducer(redis, prefix);
afterAll(async () => {
  await producer.close();
  await deleteRedisPrefix(prefix);
  redis.disconnect();
});

/** Two WorkerSets, as two processes would have, each serving `lane` with `processor`. */
function twoProcesses(lane: string, processor: (job: { data: { n: number } }) => Promise<void>, ordered: boolean): WorkerSet[] {
  return [1, 2].map(() => {
    const set = new WorkerSet({ connection: redis, prefix, concurrency: 4, lockDurationMs: 5000, stalledIntervalMs: 5000, logger: createLogger('silent') });
    set.ensure(lane, processor, { ordered });
    return set;
  });
}

describe('an ordered lane (WorkerSet)', () => {
  it('runs its jobs one at a time across processes, and a failing job holds the lane until it succeeds', async () => {
    const ran: number[] = [];
    let running = 0;
    let mostAtOnce = 0;
    let failuresLeft = 2;
    const sets = twoProcesses('{lane-test.0}', async ({ data }) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((done) => setTimeout(done, 5));
      running -= 1;
      // Job 3 fails twice (the store down, say): BullMQ's own retry would let 4…19 pass it.
      if (data.n === 3 && failuresLeft-- > 0) throw new Error('store down');
      ran.push(data.n);
    }, true);
    try {
      for (let n = 0; n < 20; n++) await producer.add('{lane-test.0}', { n }, `job-${n}`);
      await waitFor('all 20 jobs run', async () => ran.length === 20, 20_000, 20);
      expect(ran).toEqual(Array.from({ length: 20 }, (_, n) => n));
      expect(mostAtOnce).toBe(1);
    } finally {
      await Promise.all(sets.map((set) => set.close()));
    }
  });

  it('runs an unordered lane concurrently (the baseline the ordered one is checked against)', async () => {
    let running = 0;
    let mostAtOnce = 0;
    const done: number[] = [];
    const sets = twoProcesses('{lane-test}', async ({ data }) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running -= 1;
      done.push(data.n);
    }, false);
    try {
      for (let n = 0; n < 20; n++) await producer.add('{lane-test}', { n }, `job-${n}`);
      await waitFor('all 20 jobs run', async () => done.length === 20, 20_000, 20);
      expect(mostAtOnce).toBeGreaterThan(1);
    } finally {
      await Promise.all(sets.map((set) => set.close()));
    }
  });
});
