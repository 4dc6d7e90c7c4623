import { readFile } from 'node:fs/promises';
import { transform } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { VM_SOURCES_MODULE, constantName, readVmSources, renderVmSources } from '../scripts/build-vm-sources.mjs';
import * as generated from '../src/vm-sources';

describe('packages/sandbox/vm (the JavaScript that runs inside the VM)', async () => {
  const sources = await readVmSources();

  it('has the files the sandbox imports', () => {
    expect(sources.map(({ file }) => file)).toContain('prelude.js');
    expect(sources.length).toBeGreaterThan(10);
  });

  it.each(sources)('$file parses as JavaScript', async ({ text }) => {
    await expect(transform(text, { loader: 'js', target: 'es2023' })).resolves.toBeDefined();
  });

  it('src/generated/vm-sources.ts is up to date (node packages/sandbox/scripts/build-vm-sources.mjs)', async () => {
    expect(await readFile(VM_SOURCES_MODULE, 'utf8')).toBe(await renderVmSources());
    const constants = generated as unknown as Record<string, unknown>;
    for (const { file, text } of sources) expect(constants[constantName(file)], file).toBe(text);
  });
});
