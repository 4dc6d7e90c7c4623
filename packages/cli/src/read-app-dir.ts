import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { AppSource } from '@sluice/core';
import { CliError } from './admin-client';

const SOURCE_FILE = /\.(m?[jt]s|json)$/;
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'test', 'tests', '__tests__', 'dist-test']);
const MAX_FILES = 500;

/** Reads an app folder into the source map the admin API takes: plugin.json and the code files. */
export async function readAppDir(dir: string): Promise<AppSource> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new CliError(`${dir}: not a folder (an app folder holds plugin.json and index.js or index.ts)`);
  const source: AppSource = {};
  async function walk(current: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await walk(path);
      } else if (SOURCE_FILE.test(entry.name) && !/\.test\.|\.spec\.|^package-lock\.json$/.test(entry.name)) {
        if (Object.keys(source).length >= MAX_FILES) throw new CliError(`${dir}: more than ${MAX_FILES} source files`);
        source[relative(dir, path).split(sep).join('/')] = await readFile(path, 'utf8');
      }
    }
  }
  await walk(dir);
  if (!source['plugin.json']) throw new CliError(`${join(dir, 'plugin.json')}: missing (every app needs one)`);
  return source;
}
