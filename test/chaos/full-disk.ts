import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pgliteTemplateDir } from '@sluice/store';
import { deleteRedisPrefix, freePort, testPrefix, type SluiceProcess } from '../helpers/services';
import { startFeed } from './feeder';
import { chaosEvents, installChain, tally, waitDelivered, type ChaosRow } from './pipeline';
import { startRecorder } from './recorder';
import { startAllInOne, type ScenarioSize } from './scenarios';
import { storedRows } from './stored';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const MB = 1024 * 1024;
/** Room left on the tmpfs above the migrated template: a few WAL pages' worth, filled within seconds. */
const HEADROOM_BYTES = 6 * MB;
/** What the tmpfs grows to once "space returns". */
const ROOMY_BYTES = 1024 * MB;

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

function mountTmpfs(dir: string, bytes: number, remount = false): void {
  const size = `size=${Math.ceil(bytes / MB)}m`;
  execFileSync('mount', remount ? ['-o', `remount,${size}`, dir] : ['-t', 'tmpfs', '-o', size, 'tmpfs', dir], { stdio: 'pipe' });
}

/** The log lines of the process that name the full disk (PGlite's and the store's errors). */
function diskErrors(proc: SluiceProcess): string[] {
  return proc.output().split('\n').filter((line) => /ENOSPC|No space left|disk full|could not (extend|write)/i.test(line));
}

function skippedRow(reason: string): ChaosRow {
  return { scenario: 'PGlite directory on a full tmpfs', accepted: 0, stored: 0, lost: 0, storedTwice: 0, deliveredTwice: 0, undelivered: 0, recoveryMs: null, notes: [], skipped: reason };
}

/**
 * `sluice start` with its PGlite directory on a tmpfs a few MB larger than the migrated database:
 * events keep coming until the disk is full, the store fails with ENOSPC and retries, then the
 * tmpfs grows ("space returns"), the backlog drains, and after a restart on the same directory
 * every accepted event is there once (PGlite opens it, so nothing was corrupted).
 */
export async function pgliteFullDisk(size: ScenarioSize): Promise<ChaosRow> {
  if (process.getuid?.() !== 0) return skippedRow('mounting a tmpfs needs root');
  const template = await pgliteTemplateDir();
  const mountDir = await mkdtemp(join(tmpdir(), 'sluice-chaos-disk-'));
  try {
    mountTmpfs(mountDir, (await directoryBytes(template)) + HEADROOM_BYTES);
  } catch (error) {
    await rm(mountDir, { recursive: true, force: true });
    return skippedRow(`mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}`);
  }
  const prefix = testPrefix();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const recorder = await startRecorder();
  let proc: SluiceProcess | undefined;
  try {
    await cp(template, join(mountDir, 'pglite'), { recursive: true });
    // "job failed" (where the store's ENOSPC shows) is a warning; the suite's default level hides it.
    proc = await startAllInOne(mountDir, prefix, port, { SLUICE_LOG_LEVEL: 'warn' });
    await installChain(url, recorder);
    // Enough events to fill the headroom whatever --events says (4,000 barely did).
    const feeding = startFeed(chaosEvents(Math.max(size.events, 8000)), { url: () => url });
    // The disk fills while events flow; give it up to a minute to say so.
    const fullBy = Date.now() + 60_000;
    while (diskErrors(proc).length === 0 && Date.now() < fullBy) await sleep(250);
    const errors = diskErrors(proc);
    const readyWhileFull = await fetch(`${url}/readyz`).then((response) => response.status).catch(() => 'no answer');
    await sleep(3000); // the store retries against the full disk for a while
    mountTmpfs(mountDir, ROOMY_BYTES, true);
    const spaceBackAt = Date.now();
    const fed = await feeding.done;
    const drainedAt = await waitDelivered(recorder, fed.accepted, size.drainTimeoutMs);
    await proc.stop('SIGTERM');
    proc = undefined;
    // Opened afresh from the same directory: an unreadable database would throw here.
    const rows = await storedRows({ dataDir: join(mountDir, 'pglite') });
    const notes = [
      errors.length
        ? `the disk filled: ${errors.length} log lines name it, first: ${errors[0]!.slice(0, 240)}`
        : 'the disk never filled (no ENOSPC in the log): the scenario proved nothing',
      `/readyz while full: ${readyWhileFull}`,
      `reopened after space returned: PGlite opened the directory and read ${rows.length} events`,
    ];
    const row = tally('PGlite directory on a full tmpfs, then space returns', fed.accepted, rows, recorder, drainedAt && drainedAt - spaceBackAt, notes);
    if (!errors.length) row.recoveryMs = null; // a fault that never happened is no pass
    return row;
  } finally {
    await proc?.stop('SIGKILL');
    await recorder.close();
    await deleteRedisPrefix(prefix);
    try {
      execFileSync('umount', [mountDir], { stdio: 'pipe' });
    } catch {
      // nothing mounted, or still busy: the rm below takes what it can
    }
    await rm(mountDir, { recursive: true, force: true });
  }
}
