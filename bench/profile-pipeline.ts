/**
 * Not a bench: CPU profiles of the pipeline bench's load on separate processes (or `sluice start`
 * with PROFILE_MODE=start), for finding where time goes. Writes .cpuprofile files to
 * PROFILE_DIR (/tmp/prof) and prints the hottest functions per process.
 *   tsx bench/profile-pipeline.ts
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_NODE_FLAGS, startSluice } from '../test/helpers/services';
import { startCluster } from '../test/helpers/cluster';
import { installChain } from './pipeline-chain';
import { runLoad } from './pipeline-load-run';

const DIR = process.env.PROFILE_DIR ?? '/tmp/prof';
rmSync(DIR, { recursive: true, force: true });
SERVICE_NODE_FLAGS.push('--cpu-prof', `--cpu-prof-dir=${DIR}`);
const events = Number(process.env.BENCH_EVENTS ?? 20_000);

if (process.env.PROFILE_MODE === 'start') {
  const sluice = await startSluice({ SLUICE_LOG_LEVEL: 'error' });
  await installChain(sluice.url);
  await runLoad(sluice.url, { events, phase: 'profile' });
  await new Promise((done) => setTimeout(done, 15_000));
  await sluice.proc.stop('SIGTERM');
  await sluice.stop();
} else {
  const cluster = await startCluster({ SLUICE_LOG_LEVEL: 'error' });
  await cluster.start('worker');
  await cluster.start('runner');
  await installChain(cluster.url);
  await runLoad(cluster.url, { events, phase: 'profile' });
  await new Promise((done) => setTimeout(done, 15_000));
  await Promise.all(cluster.processes.map((proc) => proc.stop('SIGTERM')));
  await cluster.stop();
}

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
for (const file of readdirSync(DIR).filter((name) => name.endsWith('.cpuprofile'))) {
  const profile = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const byFrame = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const micros = self.get(node.id) ?? 0;
    total += micros;
    const frame = `${node.callFrame.functionName || '(anon)'} ${node.callFrame.url.replace(/.*node_modules\//, '').replace(/.*\/work\/main\//, '')}:${node.callFrame.lineNumber}`;
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + micros);
  }
  process.stdout.write(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled\n`);
  for (const [frame, micros] of [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    process.stdout.write(`${((micros / total) * 100).toFixed(1).padStart(6)}%  ${frame}\n`);
  }
}
