import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { AppSource } from '@sluice/core';
import { MAX_APP_FILES, isAppSourcePath } from '@sluice/sandbox';
// fflate: the small (8 kB), dependency-free and widely used zip reader; its `filter` sees each
// entry's name and declared size before anything is inflated, so limits hold before the work.
import { unzipSync } from 'fflate';
// tar-stream: the long-standing streaming tar parser (mafintosh) under tar-fs and npm tools; it
// parses only, never touches the disk, so nothing in an archive can land outside memory.
import { extract } from 'tar-stream';
import { ApiError } from '@sluice/http';

/** The archive formats an app can be uploaded in, told apart by their first bytes. */
export const ARCHIVE_CONTENT_TYPES = ['application/zip', 'application/x-zip-compressed', 'application/gzip', 'application/x-gzip', 'application/x-tar', 'application/x-compressed-tar', 'application/octet-stream'];

export interface ArchiveLimits {
  /** Entries of any kind (files, folders, skipped files) an archive may hold. */
  maxEntries: number;
  /** Source files kept (as for an app folder). */
  maxFiles: number;
  /** Bytes of one kept file. */
  maxFileBytes: number;
  /** Bytes of all kept files, and of a .tgz once un-gzipped. */
  maxTotalBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 10_000,
  maxFiles: MAX_APP_FILES,
  maxFileBytes: 5 * 1024 * 1024,
  maxTotalBytes: 20 * 1024 * 1024,
};

function invalidArchive(message: string, file?: string): ApiError {
  return new ApiError(400, 'invalid_archive', message, { field: 'body', ...(file !== undefined && { file }) });
}

/** Files macOS adds to archives it makes: never part of an app. */
const isJunk = (path: string) => path.startsWith('__MACOSX/') || /(^|\/)\._[^/]*$/.test(path) || /(^|\/)\.DS_Store$/.test(path);

/**
 * An entry's path, checked: relative, "/"-separated, no ".." and no drive letter. A path that
 * could point outside the app folder is refused, never rewritten.
 */
function safePath(raw: string): string {
  if (raw.includes('\0')) throw invalidArchive(`entry ${JSON.stringify(raw)}: the name holds a NUL byte`, raw);
  const path = raw.replace(/\\/g, '/');
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) throw invalidArchive(`entry "${raw}": absolute paths are not allowed in an app archive`, raw);
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw invalidArchive(`entry "${raw}": ".." (a path outside the app folder) is not allowed in an app archive`, raw);
  return parts.join('/');
}

/**
 * The folder every file sits under, when plugin.json is not at the top but in that folder (as
 * `zip -r app.zip myapp/` and `tar czf app.tgz myapp` make them); otherwise "".
 */
function commonFolder(paths: string[]): string {
  if (paths.includes('plugin.json') || paths.length === 0) return '';
  const top = paths[0]!.split('/')[0]!;
  return paths.every((path) => path.startsWith(`${top}/`)) && paths.includes(`${top}/plugin.json`) ? `${top}/` : '';
}

/** Keeps the app's source files among `names`, after taking off the common folder; checks the counts. */
function selectFiles(names: string[], limits: ArchiveLimits): Map<string, string> {
  if (names.length > limits.maxEntries) throw invalidArchive(`the archive holds more than ${limits.maxEntries} entries`);
  const paths = names.filter((name) => !isJunk(name));
  const folder = commonFolder(paths);
  const kept = new Map<string, string>(); // entry name → path in the app
  for (const path of paths) {
    const inApp = path.slice(folder.length);
    if (!isAppSourcePath(inApp)) continue;
    if (kept.size >= limits.maxFiles) throw invalidArchive(`the archive holds more than ${limits.maxFiles} source files`);
    kept.set(path, inApp);
  }
  return kept;
}

function checkSize(path: string, size: number, total: number, limits: ArchiveLimits): void {
  if (size > limits.maxFileBytes) throw invalidArchive(`"${path}" is ${size} bytes: a file may have at most ${limits.maxFileBytes}`, path);
  if (total > limits.maxTotalBytes) throw invalidArchive(`the app's files add up to more than ${limits.maxTotalBytes} bytes`, path);
}

const text = new TextDecoder();

function readZip(data: Uint8Array, limits: ArchiveLimits): AppSource {
  const names: string[] = [];
  const sizes = new Map<string, number>();
  try {
    // First pass: names and declared sizes only (the filter refuses every file, so none is inflated).
    unzipSync(data, {
      filter: (file) => {
        if (!file.name.endsWith('/')) {
          const path = safePath(file.name);
          names.push(path);
          sizes.set(path, file.originalSize);
        } else safePath(file.name);
        return false;
      },
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw invalidArchive(`not a readable zip archive (${(error as Error).message})`);
  }
  const kept = selectFiles(names, limits);
  let total = 0;
  for (const path of kept.keys()) checkSize(path, sizes.get(path) ?? 0, (total += sizes.get(path) ?? 0), limits);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(data, { filter: (file) => kept.has(safePath(file.name)) });
  } catch (error) {
    throw invalidArchive(`not a readable zip archive (${(error as Error).message})`);
  }
  const source: AppSource = {};
  total = 0;
  for (const [name, bytes] of Object.entries(files)) {
    const path = safePath(name);
    // The sizes declared in the zip's directory may lie: what was inflated counts.
    checkSize(path, bytes.length, (total += bytes.length), limits);
    source[kept.get(path)!] = text.decode(bytes);
  }
  return source;
}

async function readTar(data: Buffer, limits: ArchiveLimits): Promise<AppSource> {
  const names: string[] = [];
  const contents = new Map<string, Buffer>();
  let total = 0;
  const parser = extract();
  Readable.from([data]).pipe(parser);
  try {
    for await (const entry of parser) {
      const { name, type, size = 0 } = entry.header;
      const path = safePath(name);
      if (names.length >= limits.maxEntries) throw invalidArchive(`the archive holds more than ${limits.maxEntries} entries`);
      if (type === 'symlink' || type === 'link') throw invalidArchive(`entry "${name}": links are not allowed in an app archive`, name);
      if (type === 'file' || type === 'contiguous-file') {
        names.push(path);
        // Kept in memory only when it could be a source file, at the top or under one folder.
        if (isAppSourcePath(path) || isAppSourcePath(path.split('/').slice(1).join('/'))) {
          checkSize(path, size, (total += size), limits);
          const chunks: Buffer[] = [];
          for await (const chunk of entry) chunks.push(chunk as Buffer);
          contents.set(path, Buffer.concat(chunks));
          continue;
        }
      } else if (type !== 'directory') {
        throw invalidArchive(`entry "${name}": a ${type ?? 'special'} entry is not allowed in an app archive`, name);
      }
      entry.resume();
    }
  } catch (error) {
    parser.destroy();
    if (error instanceof ApiError) throw error;
    throw invalidArchive(`not a readable tar archive (${(error as Error).message})`);
  }
  const kept = selectFiles(names, limits);
  const source: AppSource = {};
  for (const [path, inApp] of kept) source[inApp] = text.decode(contents.get(path) ?? Buffer.alloc(0));
  return source;
}

/**
 * An app folder uploaded as a .zip, .tgz/.tar.gz or .tar archive, as the source map an install
 * takes: the same files an app folder gives (tests, node_modules and other files left out). Files
 * under one top-level folder are taken from it. Refused with a 400 naming the entry: absolute
 * paths, "..", links and devices, more entries or files than the limits, files too big.
 */
export async function readAppArchive(body: Buffer, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): Promise<AppSource> {
  if (body.length === 0) throw invalidArchive('the body is empty: send the archive\'s bytes');
  if (body[0] === 0x50 && body[1] === 0x4b) return readZip(body, limits); // "PK"
  if (body[0] === 0x1f && body[1] === 0x8b) {
    let tar: Buffer;
    try {
      // A gzip bomb stops at the limit instead of filling memory.
      tar = gunzipSync(body, { maxOutputLength: limits.maxTotalBytes + 1024 * 1024 });
    } catch (error) {
      const tooBig = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw invalidArchive(tooBig ? `the archive un-gzips to more than ${limits.maxTotalBytes} bytes` : `not a readable gzip file (${(error as Error).message})`);
    }
    return readTar(tar, limits);
  }
  if (body.length >= 262 && body.toString('latin1', 257, 262) === 'ustar') return readTar(body, limits);
  throw invalidArchive('not a .zip, .tgz or .tar archive (its first bytes are none of theirs)');
}
