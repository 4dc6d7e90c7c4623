import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';

const LOGGER = new URL('../src/logger.ts', import.meta.url).href;

/** One log line written by a fresh process whose stdout is (or claims to be) a terminal. */
function logLine(format: string | undefined, stdoutIsTTY: boolean): string {
  const code = `
    if (${stdoutIsTTY}) Object.defineProperty(process.stdout, 'isTTY', { value: true });
    const { createLogger } = await import(${JSON.stringify(LOGGER)});
    createLogger('info', ${JSON.stringify(format)}).info({ queue: 'q1' }, 'serving queue');`;
  const { FORCE_COLOR: _forced, ...env } = process.env; // any FORCE_COLOR (vitest sets one) turns colors on
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', env: { ...env, NO_COLOR: '1' } });
  expect(run.stderr).toBe('');
  return run.stdout.trim();
}

describe('createLogger', () => {
  it('writes JSON lines when stdout is not a terminal', () => {
    expect(JSON.parse(logLine('auto', false))).toMatchObject({ level: 30, msg: 'serving queue', queue: 'q1' });
  });

  it('writes readable lines when stdout is a terminal, and JSON there when asked', () => {
    const line = logLine('auto', true);
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: serving queue \{"queue":"q1"\}$/);
    expect(JSON.parse(logLine('json', true))).toMatchObject({ msg: 'serving queue' });
    expect(logLine('pretty', false)).toMatch(/INFO: serving queue/);
  });

  it('refuses an unknown SLUICE_LOG_FORMAT naming the variable', () => {
    expect(() => loadConfig({ SLUICE_LOG_FORMAT: 'yaml' })).toThrow(ConfigError);
    expect(() => loadConfig({ SLUICE_LOG_FORMAT: 'yaml' })).toThrow(/SLUICE_LOG_FORMAT/);
    expect(loadConfig({}).logFormat).toBe('auto');
  });
});
