import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLE_EVENTS_PATH, readSampleEvents } from './fixtures/sample-events';
import { REPO_ROOT } from './helpers/services';

/**
 * A clone from a public host has nothing beside it: any file that reaches outside the repository
 * for its design or its data breaks there. Every tracked text file is searched for such paths.
 */
const OUTSIDE_PATHS = [/\.\.\/shared\b/, /\bshared\/(data|DESIGN)\b/, /\/work\/shared\b/];

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
}

describe('the repository stands alone', () => {
  it('has no file that reads or links a folder beside the clone', () => {
    const self = 'test/self-contained.test.ts';
    const offenders: string[] = [];
    for (const file of trackedFiles()) {
      if (file === self || file.endsWith('.jsonl') || file === 'pnpm-lock.yaml') continue;
      const path = join(REPO_ROOT, file);
      // A file deleted in the working tree but still in the index is not read by anything.
      if (!existsSync(path)) continue;
      const text = readFileSync(path, 'utf8');
      if (text.includes('\0')) continue;
      text.split('\n').forEach((line, index) => {
        if (OUTSIDE_PATHS.some((pattern) => pattern.test(line))) offenders.push(`${file}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('ships its sample events and its design docs', () => {
    const events = readSampleEvents();
    expect(events).toHaveLength(2000);
    expect(new Set(events.map((event) => event.uuid)).size).toBe(2000);
    expect(SAMPLE_EVENTS_PATH.startsWith(REPO_ROOT)).toBe(true);
    for (const doc of ['architecture', 'data-path', 'app-api', 'durability']) {
      expect(existsSync(join(REPO_ROOT, 'docs', `${doc}.md`)), `docs/${doc}.md`).toBe(true);
    }
  });
});
