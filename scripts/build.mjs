#!/usr/bin/env node
/**
 * Builds what `sluice` runs: the CLI and every service it starts, bundled by esbuild from the
 * TypeScript sources into packages/cli/dist (ES modules, source maps beside them), after the
 * sandbox's generated module of in-VM sources (packages/sandbox/scripts/build-vm-sources.mjs). Run by
 * `pnpm install` (the root's prepare script), `npm start`, `pnpm bench` and the test suite's
 * global setup, so what runs is never older than the sources. Takes well under a second.
 *
 * Only the workspace's own code (@sluice/* and relative imports) is bundled; npm dependencies
 * stay imports of node_modules, loaded by node as their authors ship them (quickjs's wasm file,
 * esbuild's binary, pino's transports find their files relative to themselves).
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildVmSources } from '../packages/sandbox/scripts/build-vm-sources.mjs';
import { buildConsole } from '../packages/console/build.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_DIST = join(ROOT, 'packages/cli/dist');

/** Every bare import but the workspace's own packages is left to node. */
const externalDependencies = {
  name: 'external-dependencies',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@sluice/') ? undefined : { path: args.path, external: true }));
  },
};

/** `@scope/name/sub/path` → `@scope/name`, `name/sub` → `name`. */
function packageNameOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The bundle's npm imports resolve from packages/cli (pnpm gives each package only the
 * dependencies it declares), so @sluice/cli must declare every one, as a published package would.
 */
async function checkDeclaredDependencies(metafile) {
  const manifest = JSON.parse(await readFile(join(ROOT, 'packages/cli/package.json'), 'utf8'));
  const declared = new Set(Object.keys(manifest.dependencies ?? {}));
  const builtins = new Set(builtinModules);
  const missing = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || imported.path.startsWith('node:') || builtins.has(packageNameOf(imported.path))) continue;
      if (!declared.has(packageNameOf(imported.path))) missing.add(packageNameOf(imported.path));
    }
  }
  if (missing.size) {
    throw new Error(`packages/cli/package.json: "dependencies" lacks ${[...missing].join(', ')}, which the bundle imports (add them with the range the importing package uses)`);
  }
}

/** Folders whose files the bundle is made of (the workspace's own code; npm packages stay imports). */
const SOURCE_DIRS = ['packages', 'services'];
const STAMP = join(CLI_DIST, '.sources-hash');

/** A hash of every source file the bundle could include, with this script and the CLI's manifest. */
async function sourcesHash() {
  const hash = createHash('sha256');
  const walk = async (dir) => {
    const entries = (await readdir(join(ROOT, dir), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist' && entry.name !== 'test' && entry.name !== 'bench') await walk(path);
      } else if (/\.(ts|js|mjs|json)$/.test(entry.name)) {
        hash.update(path).update('\0').update(await readFile(join(ROOT, path))).update('\0');
      }
    }
  };
  for (const dir of SOURCE_DIRS) await walk(dir);
  hash.update(await readFile(fileURLToPath(import.meta.url)));
  return hash.digest('hex');
}

export async function buildAll({ quiet = false } = {}) {
  const started = performance.now();
  // The sandbox's in-VM JavaScript (packages/sandbox/vm/*.js) as the TypeScript module it imports.
  await buildVmSources();
  // The web console the admin API serves at /console/ (its own bundle and up-to-date check).
  await buildConsole({ quiet });
  // Nothing changed since the last build: keep it. Rebuilding would remove files that running
  // processes still load on demand (the bundle is split into chunks), e.g. the CLI the tests run
  // while the README test's `npm start` sets up.
  const hash = await sourcesHash();
  if ((await readFile(STAMP, 'utf8').catch(() => '')) === hash) {
    if (!quiet) process.stdout.write(`packages/cli/dist is up to date (${Math.round(performance.now() - started)} ms)\n`);
    return;
  }
  await rm(CLI_DIST, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: {
      bin: 'packages/cli/src/bin.ts',
      // A worker thread's entry must be a file of its own (the intake's body-check threads).
      'check-thread': 'services/intake/src/check-thread.ts',
    },
    outdir: CLI_DIST,
    bundle: true,
    // Commands load what they need on demand: `sluice apps list` does not load the sandbox or BullMQ.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    plugins: [externalDependencies],
    metafile: true,
    logLevel: 'warning',
  });
  await checkDeclaredDependencies(result.metafile);
  // Runnable as it is: bin.js keeps bin.ts's shebang line (node and the services' flags).
  await chmod(join(CLI_DIST, 'bin.js'), 0o755);
  await writeFile(STAMP, hash);
  if (!quiet) process.stdout.write(`built packages/cli/dist in ${Math.round(performance.now() - started)} ms\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildAll({ quiet: process.argv.includes('--quiet') });
}
