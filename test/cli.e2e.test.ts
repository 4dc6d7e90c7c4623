import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/services';

function sluice(args: string[], env: Record<string, string> = {}) {
  const { DATABASE_URL: _, ...rest } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', 'packages/cli/src/bin.ts', ...args], {
    cwd: REPO_ROOT, env: { ...rest, ...env }, encoding: 'utf8', timeout: 30_000,
  });
}

describe('sluice refuses to start with a clear line', () => {
  it('a service alone without DATABASE_URL', () => {
    const run = sluice(['worker']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^sluice: sluice worker needs DATABASE_URL: .*run "sluice start"/);
  });

  it('an invalid environment variable, named', () => {
    const run = sluice(['start'], { SLUICE_PORT: 'eighty' });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('sluice: SLUICE_PORT must be an integer from 0 to 65535, got "eighty"\n');
  });

  it('an unknown command, with the usage', () => {
    const run = sluice(['frobnicate']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('unknown command "frobnicate"');
    expect(run.stderr).toContain('apps install <dir>');
  });
});
