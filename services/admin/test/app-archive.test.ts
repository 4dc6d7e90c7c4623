import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ARCHIVE_LIMITS, readAppArchive } from '../src/app-archive';

const enc = (text: string) => new TextEncoder().encode(text);
const PLUGIN = '{"name":"Archived"}';
const INDEX = 'export function processEvent(e) { return e }';

async function tarOf(entries: Array<{ name: string; body?: string; type?: 'file' | 'symlink' | 'directory'; linkname?: string }>): Promise<Buffer> {
  const archive = pack();
  for (const { name, body = '', type = 'file', linkname } of entries) {
    if (type === 'file') archive.entry({ name, type }, body);
    else archive.entry({ name, type, ...(linkname && { linkname }) });
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('readAppArchive', () => {
  it('reads a zip with the app at the top, leaving out tests, node_modules and other files', async () => {
    const zip = zipSync({
      'plugin.json': enc(PLUGIN), 'index.js': enc(INDEX), 'lib/util.ts': enc('export const x = 1'),
      'index.test.js': enc('test'), 'node_modules/a/index.js': enc('x'), 'README.md': enc('# hi'),
    });
    expect(await readAppArchive(Buffer.from(zip))).toEqual({ 'plugin.json': PLUGIN, 'index.js': INDEX, 'lib/util.ts': 'export const x = 1' });
  });

  it('takes the files out of one top-level folder (zip -r app.zip myapp/, tar czf), ignoring macOS litter', async () => {
    const zip = zipSync({ 'myapp/': [new Uint8Array(0), {}], 'myapp/plugin.json': enc(PLUGIN), 'myapp/index.js': enc(INDEX), '__MACOSX/myapp/._index.js': enc('x') });
    expect(await readAppArchive(Buffer.from(zip))).toEqual({ 'plugin.json': PLUGIN, 'index.js': INDEX });
    const tgz = gzipSync(await tarOf([{ name: 'myapp', type: 'directory' }, { name: 'myapp/plugin.json', body: PLUGIN }, { name: 'myapp/src/index.ts', body: INDEX }, { name: 'myapp/._plugin.json', body: 'x' }]));
    expect(await readAppArchive(tgz)).toEqual({ 'plugin.json': PLUGIN, 'src/index.ts': INDEX });
    const dotted = await tarOf([{ name: './plugin.json', body: PLUGIN }, { name: './index.js', body: INDEX }]);
    expect(await readAppArchive(dotted)).toEqual({ 'plugin.json': PLUGIN, 'index.js': INDEX });
  });

  it('refuses path traversal, absolute paths and links, naming the entry', async () => {
    const traversal = zipSync({ 'plugin.json': enc(PLUGIN), '../../etc/evil.js': enc('x') });
    await expect(readAppArchive(Buffer.from(traversal))).rejects.toMatchObject({ statusCode: 400, code: 'invalid_archive', details: { file: '../../etc/evil.js' } });
    const absolute = gzipSync(await tarOf([{ name: 'plugin.json', body: PLUGIN }, { name: '/etc/passwd.js', body: 'x' }]));
    await expect(readAppArchive(absolute)).rejects.toThrow(/"\/etc\/passwd.js": absolute paths are not allowed/);
    const tarTraversal = gzipSync(await tarOf([{ name: 'app/../../x.js', body: 'x' }]));
    await expect(readAppArchive(tarTraversal)).rejects.toThrow(/"app\/..\/..\/x.js": ".."/);
    const link = gzipSync(await tarOf([{ name: 'plugin.json', body: PLUGIN }, { name: 'index.js', type: 'symlink', linkname: '/etc/passwd' }]));
    await expect(readAppArchive(link)).rejects.toThrow(/links are not allowed/);
  });

  it('refuses too many files, too big files, a gzip bomb and what is not an archive', async () => {
    const limits = { ...DEFAULT_ARCHIVE_LIMITS, maxFiles: 3, maxFileBytes: 100 };
    const many = zipSync(Object.fromEntries(['plugin.json', 'a.js', 'b.js', 'c.js'].map((name) => [name, enc('x')])));
    await expect(readAppArchive(Buffer.from(many), limits)).rejects.toThrow(/more than 3 source files/);
    const big = zipSync({ 'plugin.json': enc(PLUGIN), 'index.js': enc('x'.repeat(101)) });
    await expect(readAppArchive(Buffer.from(big), limits)).rejects.toMatchObject({ details: { file: 'index.js' }, message: expect.stringMatching(/"index.js" is 101 bytes/) });
    const bomb = gzipSync(Buffer.alloc(30 * 1024 * 1024));
    await expect(readAppArchive(bomb)).rejects.toThrow(/un-gzips to more than/);
    await expect(readAppArchive(Buffer.from('hello'))).rejects.toThrow(/not a .zip, .tgz or .tar archive/);
    await expect(readAppArchive(Buffer.from('PK\x03\x04garbage'))).rejects.toThrow(/not a readable zip archive/);
  });
});
