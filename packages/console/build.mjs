#!/usr/bin/env node
/**
 * Builds the web console into dist/: app/main.tsx bundled by esbuild (JSX for Preact, minified,
 * every file named after its content's hash so the server may cache it for good) and an
 * index.html that loads them. esbuild is already how Sluice builds the CLI and compiles apps, so
 * the console needs no second bundler. Skipped when the sources have not changed since the last
 * build (a hash of them is kept in dist/.sources-hash).
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const CONSOLE_DIST = join(HERE, 'dist');
const STAMP = join(CONSOLE_DIST, '.sources-hash');
/** The console's own sources and what it bundles from @sluice/core (its config rules, app and project types). */
const SOURCES = [join(HERE, 'app'), ...['config-rules.ts', 'app.ts', 'project.ts', 'trail.ts'].map((file) => join(HERE, '../core/src', file)), join(HERE, 'package.json'), fileURLToPath(import.meta.url)];

async function sourcesHash() {
  const hash = createHash('sha256');
  const add = async (path) => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
    if (!entries) return hash.update(relative(HERE, path)).update(await readFile(path));
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) await add(join(path, entry.name));
  };
  for (const source of SOURCES) await add(source);
  return hash.digest('hex');
}

const page = (script, style) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sluice console</title>
<link rel="stylesheet" href="${style}">
</head>
<body>
<div id="app"></div>
<script type="module" src="${script}"></script>
</body>
</html>
`;

export async function buildConsole({ quiet = false } = {}) {
  const started = performance.now();
  const hash = await sourcesHash();
  if ((await readFile(STAMP, 'utf8').catch(() => '')) === hash) {
    if (!quiet) process.stdout.write(`packages/console/dist is up to date (${Math.round(performance.now() - started)} ms)\n`);
    return;
  }
  await rm(CONSOLE_DIST, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: HERE,
    entryPoints: { console: 'app/main.tsx' },
    outdir: join(CONSOLE_DIST, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => '/console/' + relative(CONSOLE_DIST, join(HERE, path)));
  const script = outputs.find((path) => path.endsWith('.js'));
  const style = outputs.find((path) => path.endsWith('.css'));
  if (!script || !style) throw new Error(`packages/console: esbuild wrote no ${script ? 'CSS' : 'JavaScript'} bundle`);
  await writeFile(join(CONSOLE_DIST, 'index.html'), page(script, style));
  await writeFile(STAMP, hash);
  if (!quiet) process.stdout.write(`built packages/console/dist in ${Math.round(performance.now() - started)} ms\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildConsole({ quiet: process.argv.includes('--quiet') });
}
