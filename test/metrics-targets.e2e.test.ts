/**
 * Services apart on one host, as the README's "scale workers by starting more" says: each finds a
 * metrics port, registers itself in Redis, and the intake lists them all for Prometheus
 * (http_sd_config JSON at GET /api/metrics-targets) and for `sluice status`.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin } from './helpers/api';
import { startCluster, type Cluster } from './helpers/cluster';
import { freePort, runCli, spawnSluice, waitFor } from './helpers/services';

interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** Holds a TCP port, as node_exporter on 9100 (or anything else) would. */
async function holdPort(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((done) => {
    server.once('error', () => done(undefined)); // already held by someone else: just as good
    server.listen(port, '127.0.0.1', () => done(server));
  });
}

describe('metrics ports, the process registry and service discovery (intake + 2 workers + runner)', () => {
  let cluster: Cluster;
  let held9100: Server | undefined;
  const targets = async () => (await fetch(`${cluster.url}/api/metrics-targets`)).json() as Promise<TargetGroup[]>;

  beforeAll(async () => {
    // The default port is taken (as on a host running node_exporter): each process must find another.
    held9100 = await holdPort(9100);
    cluster = await startCluster();
    for (const role of ['worker', 'worker', 'runner'] as const) await cluster.start(role, {}, { metricsPort: 'unset' });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    held9100?.close();
  });

  it('lists every process in Prometheus http_sd form, and each target serves /metrics', async () => {
    const groups = await waitFor('four registered processes', async () => {
      const listed = await targets();
      return listed.length === 4 && listed;
    });
    expect(groups.map((group) => group.labels.role).sort()).toEqual(['intake', 'runner', 'worker', 'worker']);
    for (const group of groups) {
      expect(group.targets).toHaveLength(1);
      expect(group.targets[0]).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(group.targets[0]).not.toBe('127.0.0.1:9100');
      expect(group.labels).toMatchObject({ __scheme__: 'http', __metrics_path__: '/metrics', sluice_version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
      const scraped = await fetch(`http://${group.targets[0]}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toMatch(/^# TYPE sluice_events_received_total counter$/m);
    }
    // Each worker and the runner said which port it took instead of 9100.
    const warned = cluster.processes.slice(1).filter((proc) => /port 9100 is taken: serving \/metrics on 127\.0\.0\.1:\d+/.test(proc.output()));
    expect(warned).toHaveLength(3);
  });

  it('sluice status shows the processes and the queues with their depths', async () => {
    const table = runCli(cluster, ['status']);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^processes \(4\)$/m);
    expect(table.stdout.match(/^worker\s+\S+\s+\d+\s+http:\/\/127\.0\.0\.1:\d+\/metrics\s+\d+\.\d+\.\d+\s+\d+/gm)).toHaveLength(2);
    expect(table.stdout).toMatch(/^intake\s/m);
    expect(table.stdout).toMatch(/^runner\s/m);
    expect(table.stdout).toMatch(/^\{store\}\s+0\s+0\s+0\s+0$/m);
    const json = JSON.parse(runCli(cluster, ['status', '--json']).stdout);
    expect(json.processes).toHaveLength(4);
    expect(json.processes[0]).toMatchObject({ role: 'intake', pid: expect.any(Number), host: expect.any(String), startedAt: expect.any(String) });
    expect(json.queues.map((q: { queue: string }) => q.queue)).toEqual(expect.arrayContaining(['{store}', '{jobs}', '{schedules}']));
    // Status is the admin API's: it needs the admin token, where the discovery list is public (as /metrics is).
    expect((await fetch(`${cluster.url}/api/status`)).status).toBe(401);
    expect((await admin(cluster.url, 'GET', '/api/status')).status).toBe(200);
  });

  it('a process that stops leaves the list', async () => {
    const worker = cluster.processes[1]!;
    expect(await worker.stop('SIGTERM')).toBe(0);
    const roles = await waitFor('three processes', async () => {
      const listed = await targets();
      return listed.length === 3 && listed.map((group) => group.labels.role).sort();
    });
    expect(roles).toEqual(['intake', 'runner', 'worker']);
  });

  it('a chosen port that is taken stops the process with one line naming the variable (exit 2)', async () => {
    const port = await freePort();
    const held = (await holdPort(port))!;
    try {
      for (const [role, variable] of [['worker', 'SLUICE_METRICS_PORT'], ['intake', 'SLUICE_PORT']] as const) {
        const proc = spawnSluice(role, { ...cluster.env, [variable]: String(port) });
        const code = await new Promise<number | null>((done) => proc.child.once('exit', done));
        expect(code, proc.output()).toBe(2);
        const lines = proc.output().trim().split('\n');
        expect(lines).toEqual([`sluice: ${variable}=${port}: 127.0.0.1:${port} is already in use by another process; choose a free port${variable === 'SLUICE_METRICS_PORT' ? ', or leave SLUICE_METRICS_PORT unset to take one' : ''}`]);
      }
    } finally {
      held.close();
    }
  });
});
