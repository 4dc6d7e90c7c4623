/**
 * `npm run bench [name …] [--flag value …]`: runs the named benchmarks (all when none is named) and
 * prints their figures. Arguments from the first `--` flag on go to every bench (`--soak 600`).
 */
import { benchCli } from './cli';
import { benchE2e, benchOrdering } from './e2e';
import { benchExports } from './exports';
import { benchGeoip } from './geoip';
import { benchIntake } from './intake';
import { benchPipeline } from './pipeline';
import { benchSandbox } from './sandbox';

const BENCHES: Record<string, (args: readonly string[]) => Promise<void>> = {
  sandbox: benchSandbox, e2e: benchE2e, ordering: benchOrdering, intake: benchIntake, cli: benchCli, geoip: benchGeoip, exports: benchExports, pipeline: benchPipeline,
};

const argv = process.argv.slice(2);
const firstFlag = argv.findIndex((arg) => arg.startsWith('--'));
const names = firstFlag < 0 ? argv : argv.slice(0, firstFlag);
const args = firstFlag < 0 ? [] : argv.slice(firstFlag);
for (const name of names.length ? names : Object.keys(BENCHES)) {
  const bench = BENCHES[name];
  if (!bench) {
    process.stderr.write(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}\n`);
    process.exit(2);
  }
  await bench(args);
}
process.exit(0);
