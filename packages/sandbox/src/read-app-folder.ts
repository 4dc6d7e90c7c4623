import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { AppSource } from '@sluice/core';
import { AppSourceError } from './errors';

const SOURCE_FILE = /\.(m?[jt]s|json)$/;
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'test', 'tests', '__tests__', 'dist-test']);
const MAX_FILES = 500;

/**
 * Whether a file at this path (relative, "/"-separated) of an app folder or archive belongs to
 * the app's source, by the same rules readAppFolder follows.
 */
export function isAppSourcePath(path: string): boolean {
  const parts = path.split('/');
  const name = parts.at(-1) ?? '';
  if (parts.slice(0, -1).some((dir) => SKIPPED_DIRS.has(dir))) return false;
  return SOURCE_FILE.test(name) && !/\.test\.|\.spec\.|^package-lock\.json$/.test(name);
}

/** The most source files an app may have. */
export const MAX_APP_FILES = MAX_FILES;

/**
 * Reads an app folder into the source map an install takes: plugin.json and the code files
 * (tests, node_modules and lock files left out). Errors name the folder or file.
 */
export async function readAppFolder(dir: string): Promise<AppSource> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new AppSourceError(`${dir}: not a folder (an app folder holds plugin.json and index.js or index.ts)`, dir);
  const source: AppSource = {};
  async function walk(current: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await walk(path);
      } else if (SOURCE_FILE.test(entry.name) && !/\.test\.|\.spec\.|^package-lock\.json$/.test(entry.name)) {
        if (Object.keys(source).length >= MAX_FILES) throw new AppSourceError(`${dir}: more than ${MAX_FILES} source files`, dir);
        source[relative(dir, path).split(sep).join('/')] = await readFile(path, 'utf8');
      }
    }
  }
  await walk(dir);
  if (!source['plugin.json']) throw new AppSourceError(`${join(dir, 'plugin.json')}: missing (every app needs one)`, 'plugin.json');
  return source;
}
