/**
 * Starts a throwaway Redis Cluster on loopback (3 masters + 3 replicas from redis-server, files in a
 * temp dir) and prints its REDIS_URL; Ctrl-C stops it and removes its files. For trying Sluice on a
 * cluster (docs/redis-cluster.md):
 *
 *   npm run -s redis:cluster                 # or: npx tsx scripts/redis-cluster.ts [--masters 3] [--replicas 1] [--node-timeout 2000] [--port 30000]
 *   REDIS_URL='redis+cluster://127.0.0.1:…' ./sluice start
 */
import { startRedisCluster } from '../test/helpers/redis-cluster';

const args = process.argv.slice(2);
const option = (name: string): number | undefined => {
  const at = args.indexOf(`--${name}`);
  if (at < 0) return undefined;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} takes a whole number`);
  return value;
};

const cluster = await startRedisCluster({
  masters: option('masters'),
  replicas: option('replicas'),
  nodeTimeoutMs: option('node-timeout'),
  basePort: option('port'),
});
const masters = await cluster.masterPorts();
process.stdout.write(
  `Redis Cluster up: ${cluster.nodes.length} nodes (masters on ${masters.join(', ')}), files in ${cluster.dir}\n` +
    `REDIS_URL=${cluster.url}\n` +
    'Ctrl-C stops it and removes its files.\n',
);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await cluster.stop();
  process.stdout.write('Redis Cluster stopped\n');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
setInterval(() => {}, 1 << 30);
