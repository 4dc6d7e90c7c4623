/**
 * `npm run bench cli`: how long one `sluice apps list` takes, start to exit, against a running
 * `sluice start`: the built CLI (what `./sluice` runs), the same CLI from its TypeScript sources
 * through tsx (how it ran before the build), and bare `node -e 0` (node's own start-up, the floor),
 * alternated in one run. Target: ≤ 0.5 s on the built CLI.
 */
import { spawnSync } from 'node:child_process';
import { install } from '../test/helpers/api';
import { CLI_ENTRY, REPO_ROOT, SERVICE_NODE_FLAGS, startSluice } from '../test/helpers/services';
import { median, ms } from './format';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

interface Variant {
  name: string;
  argv: string[];
  times: number[];
}

function timeOnce(argv: string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, argv, { cwd: REPO_ROOT, env, encoding: 'utf8' });
  const elapsed = performance.now() - started;
  if (run.status !== 0) throw new Error(`${argv.join(' ')} exited ${run.status}: ${run.stderr}`);
  return elapsed;
}

export async function benchCli(): Promise<void> {
  const sluice = await startSluice({ SLUICE_LOG_LEVEL: 'error' });
  try {
    await install(sluice.url, 'examples/hello-world', { name: 'Ada' });
    const env = { ...process.env, ...sluice.env, SLUICE_URL: sluice.url };
    const variants: Variant[] = [
      { name: 'node -e 0 (floor)', argv: ['-e', '0'], times: [] },
      { name: 'sluice apps list (built)', argv: [...SERVICE_NODE_FLAGS, CLI_ENTRY, 'apps', 'list'], times: [] },
      { name: 'sluice apps list (tsx)', argv: [...SERVICE_NODE_FLAGS, '--import', 'tsx', 'packages/cli/src/bin.ts', 'apps', 'list'], times: [] },
    ];
    for (const variant of variants) timeOnce(variant.argv, env); // warm the disk cache
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of variants) variant.times.push(timeOnce(variant.argv, env));
    }
    const floor = median(variants[0]!.times);
    const built = median(variants[1]!.times);
    process.stdout.write(`\ncli: ${ROUNDS} alternating rounds, wall time start to exit, against sluice start with one app\n`);
    process.stdout.write(`${'command'.padEnd(28)}${'median ms'.padStart(11)}${'min ms'.padStart(9)}${'max ms'.padStart(9)}${'vs node'.padStart(10)}\n`);
    for (const { name, times } of variants) {
      const m = median(times);
      process.stdout.write(`${name.padEnd(28)}${ms(m).padStart(11)}${ms(Math.min(...times)).padStart(9)}${ms(Math.max(...times)).padStart(9)}${`${(m / floor).toFixed(1)}×`.padStart(10)}\n`);
    }
    const tsx = median(variants[2]!.times);
    process.stdout.write(`built CLI: ${ms(built)} ms (target ≤ 500 ms: ${built <= 500 ? 'met' : 'NOT met'}); ${(tsx / built).toFixed(1)}× faster than through tsx\n`);
  } finally {
    await sluice.stop();
  }
}
