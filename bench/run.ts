/** `npm run bench [name …]`: runs the named benchmarks (all when none is named) and prints their figures. */
import { benchCli } from './cli';
import { benchE2e, benchOrdering } from './e2e';
import { benchExports } from './exports';
import { benchGeoip } from './geoip';
import { benchIntake } from './intake';
import { benchSandbox } from './sandbox';

const BENCHES: Record<string, () => Promise<void>> = { sandbox: benchSandbox, e2e: benchE2e, ordering: benchOrdering, intake: benchIntake, cli: benchCli, geoip: benchGeoip, exports: benchExports };

const names = process.argv.slice(2);
for (const name of names.length ? names : Object.keys(BENCHES)) {
  const bench = BENCHES[name];
  if (!bench) {
    process.stderr.write(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}\n`);
    process.exit(2);
  }
  await bench();
}
process.exit(0);
