import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A throwaway Redis Cluster on loopback for tests and for trying Sluice on one: `masters` masters
 * with `replicas` replicas each, started from Debian's redis-server (`cluster-enabled yes`), joined
 * by `redis-cli --cluster create`. Its files (nodes-<port>.conf, logs) live in a temp dir removed by
 * stop(). A short cluster-node-timeout (2 s by default) makes a failover take seconds.
 */
export interface RedisClusterNode {
  port: number;
  child: ChildProcess | undefined;
}

export interface StartedRedisCluster {
  /** REDIS_URL for Sluice: `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…` (every node a seed). */
  url: string;
  dir: string;
  nodes: RedisClusterNode[];
  nodeTimeoutMs: number;
  /** CLUSTER NODES as seen by a node that answers, parsed. */
  topology(): Promise<ClusterNodeInfo[]>;
  /** The ports of the masters that serve slots now. */
  masterPorts(): Promise<number[]>;
  /** kill -9 (default) or another signal to one node; answers once it has exited. */
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a killed node again from its nodes.conf (it rejoins, as a replica if it was failed over). */
  restart(port: number): Promise<void>;
  /** Keys held by the masters that serve slots now (DBSIZE of each, summed). */
  keyCount(): Promise<number>;
  /** Until every live node says cluster_state:ok and every slot has a master that is not failed. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterNodeInfo {
  id: string;
  port: number;
  flags: string[];
  role: 'master' | 'replica';
  masterId: string | undefined;
  connected: boolean;
  slots: string[];
}

export interface RedisClusterOptions {
  masters?: number;
  replicas?: number;
  nodeTimeoutMs?: number;
  /** First port to try (each node also needs port+10000 free, its cluster bus). Random in 20000–39999 by default. */
  basePort?: number;
  redisServer?: string;
  redisCli?: string;
  /** Extra `--name value` arguments for every redis-server. */
  extraArgs?: string[];
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test process that dies leaves no redis-server behind (the synchronous exit hook kills them). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** `count` ports p with p and p+10000 free (a cluster node's client port and bus port). */
async function freeClusterPorts(count: number, basePort?: number): Promise<number[]> {
  const ports: number[] = [];
  let port = basePort ?? 20_000 + Math.floor(Math.random() * 20_000);
  for (let tries = 0; ports.length < count && tries < 2000; tries++, port++) {
    if (port + 10_000 > 65_535) port = 20_000;
    if ((await portFree(port)) && (await portFree(port + 10_000))) ports.push(port);
  }
  if (ports.length < count) throw new Error(`no ${count} free port pairs for a Redis Cluster`);
  return ports;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

async function ask<T>(port: number, run: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await run(redis);
  } finally {
    redis.disconnect();
  }
}

export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, address, flagText, master, , , , link, ...slots] = line.split(' ');
      const flags = flagText!.split(',');
      return {
        id: id!,
        port: Number(/:(\d+)@/.exec(address!)?.[1]),
        flags,
        role: flags.includes('master') ? 'master' : 'replica',
        masterId: master === '-' ? undefined : master,
        connected: link === 'connected',
        slots,
      };
    });
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<StartedRedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const redisServer = options.redisServer ?? (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server');
  const redisCli = options.redisCli ?? (existsSync('/usr/bin/redis-cli') ? '/usr/bin/redis-cli' : 'redis-cli');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-cluster-'));
  installExitHook();
  const ports = await freeClusterPorts(masters * (1 + replicas), options.basePort);
  const nodes: RedisClusterNode[] = ports.map((port) => ({ port, child: undefined }));

  const startNode = async (node: RedisClusterNode): Promise<void> => {
    const args = [
      '--port', String(node.port), '--bind', '127.0.0.1', '--protected-mode', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${node.port}.conf`, '--cluster-node-timeout', String(nodeTimeoutMs),
      '--dir', dir, '--logfile', `redis-${node.port}.log`, '--dbfilename', `dump-${node.port}.rdb`,
      // As Sluice wants its Redis: AOF on, nothing evicted.
      '--appendonly', 'yes', '--appendfilename', `appendonly-${node.port}.aof`, '--appenddirname', `aof-${node.port}`, '--save', '',
      '--maxmemory-policy', 'noeviction', '--daemonize', 'no',
      ...(options.extraArgs ?? []),
    ];
    const child = spawn(redisServer, args, { cwd: dir, stdio: 'ignore' });
    node.child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server on ${node.port} exited (${child.exitCode}): ${logTail(dir, node.port)}`);
      if (await ask(node.port, (redis) => redis.ping()).then(() => true, () => false)) return;
      if (Date.now() > deadline) throw new Error(`redis-server on ${node.port} did not answer: ${logTail(dir, node.port)}`);
      await sleep(50);
    }
  };

  const killNode = async (port: number, signal: NodeJS.Signals = 'SIGKILL') => {
    const node = nodes.find((candidate) => candidate.port === port);
    const child = node?.child;
    if (!node || !child) return;
    node.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.kill(signal);
    await exited;
  };

  const liveNodes = () => nodes.filter((node) => node.child);

  const topology = async (): Promise<ClusterNodeInfo[]> => {
    let lastError: unknown;
    for (const node of liveNodes()) {
      try {
        return parseClusterNodes(await ask(node.port, (redis) => redis.cluster('NODES') as Promise<string>));
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no cluster node answers: ${(lastError as Error | undefined)?.message}`);
  };

  const waitHealthy = async (timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let why = '';
    while (Date.now() < deadline) {
      try {
        const states = await Promise.all(liveNodes().map((node) => ask(node.port, (redis) => redis.cluster('INFO') as Promise<string>)));
        const notOk = states.findIndex((info) => !info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384'));
        const infos = await topology();
        const failedWithSlots = infos.filter((info) => info.role === 'master' && info.slots.length > 0 && (info.flags.includes('fail') || info.flags.includes('fail?')));
        const knownEverywhere = states.every((info) => Number(/cluster_known_nodes:(\d+)/.exec(info)?.[1]) >= nodes.length);
        if (notOk < 0 && failedWithSlots.length === 0 && knownEverywhere) return;
        why = notOk >= 0 ? `node ${liveNodes()[notOk]!.port} not ok` : failedWithSlots.length ? 'a failed master still holds slots' : 'nodes do not all know each other yet';
      } catch (error) {
        why = (error as Error).message;
      }
      await sleep(100);
    }
    throw new Error(`Redis Cluster not healthy after ${timeoutMs} ms: ${why}`);
  };

  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => killNode(node.port, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all(nodes.map(startNode));
    const created = spawnSync(
      redisCli,
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed (${created.status}): ${created.stdout}${created.stderr}`);
    await waitHealthy();
    // Replicas are linked to their masters (a failover needs one in sync).
    const deadline = Date.now() + 20_000;
    for (;;) {
      const infos = await Promise.all(
        nodes.map((node) => ask(node.port, (redis) => redis.info('replication'))),
      );
      const linked = infos.filter((info) => info.includes('role:slave') && info.includes('master_link_status:up')).length;
      if (linked === masters * replicas) break;
      if (Date.now() > deadline) throw new Error(`only ${linked} of ${masters * replicas} replicas in sync`);
      await sleep(100);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
    dir,
    nodes,
    nodeTimeoutMs,
    topology,
    masterPorts: async () => (await topology()).filter((info) => info.role === 'master' && info.slots.length > 0 && !info.flags.includes('fail')).map((info) => info.port).sort((a, b) => a - b),
    kill: killNode,
    keyCount: async () => {
      const infos = (await topology()).filter((info) => info.role === 'master' && info.slots.length > 0 && !info.flags.includes('fail'));
      const sizes = await Promise.all(infos.map((info) => ask(info.port, (redis) => redis.dbsize())));
      return sizes.reduce((sum, size) => sum + size, 0);
    },
    restart: async (port) => {
      const node = nodes.find((candidate) => candidate.port === port);
      if (!node) throw new Error(`no node on ${port}`);
      if (node.child) return;
      await startNode(node);
    },
    waitHealthy,
    stop,
  };
}

function logTail(dir: string, port: number): string {
  try {
    return readFileSync(join(dir, `redis-${port}.log`), 'utf8').split('\n').slice(-8).join('\n');
  } catch {
    return '(no log)';
  }
}
