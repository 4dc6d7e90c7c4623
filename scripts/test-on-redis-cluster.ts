/**
 * `pnpm test:cluster`: every test of `pnpm test`, with Redis a throwaway Redis Cluster (3 masters,
 * one replica each, from Debian's redis-server) instead of the Redis on 127.0.0.1:6379. Extra
 * arguments go to vitest (`pnpm test:cluster test/ordering.e2e.test.ts`). Afterwards it counts
 * the keys the run left on the cluster (every test removes its own prefix: there should be none).
 */
import { spawn } from 'node:child_process';
import { startRedisCluster } from '../test/helpers/redis-cluster';

const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
let status = 1;
try {
  process.stdout.write(`Redis Cluster up (masters on ${(await cluster.masterPorts()).join(', ')}): SLUICE_TEST_REDIS_URL=${cluster.url}\n`);
  status = await new Promise<number>((done) => {
    const child = spawn('npx', ['vitest', 'run', ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, SLUICE_TEST_REDIS_URL: cluster.url },
    });
    child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
  const left = await cluster.keyCount();
  process.stdout.write(`keys left on the cluster after the run: ${left}\n`);
  if (left > 0 && status === 0) status = 1;
} finally {
  await cluster.stop();
}
process.exit(status);
