/**
 * The chaos suite (`pnpm test:chaos`): each scenario runs the real services through one fault
 * and prints a row of what was accepted, stored, lost, stored twice and delivered twice. Exits 1
 * when a row lost, stored twice or left undelivered any accepted event.
 *
 *   pnpm test:chaos                     the full run (100,000 events through the SIGKILL scenario)
 *   pnpm test:chaos --bounded           the bounded form
 *   pnpm test:chaos --only redis-restart,postgres-stop
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { ChaosRow } from './pipeline';
import { killWorkersAndRunners, intakeSigterm, postgresStop, redisRestart, startSigterm, type ScenarioSize } from './scenarios';
import { pgliteFullDisk } from './full-disk';
import { redisClusterFailover } from './cluster-failover';

const SCENARIOS: Record<string, (size: ScenarioSize) => Promise<ChaosRow>> = {
  'kill-workers-runners': killWorkersAndRunners,
  'redis-restart': redisRestart,
  'postgres-stop': postgresStop,
  'intake-sigterm': intakeSigterm,
  'start-sigterm': startSigterm,
  'pglite-full-disk': pgliteFullDisk,
  'redis-cluster-failover': redisClusterFailover,
};

// `pnpm test:chaos -- --bounded` hands the script its `--` too; it separates nothing here.
const { values } = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options: { bounded: { type: 'boolean', default: false }, only: { type: 'string' }, events: { type: 'string' } } });
const size: ScenarioSize = values.bounded
  ? { killEvents: 10_000, events: 4_000, drainTimeoutMs: 180_000 }
  : { killEvents: 100_000, events: 20_000, drainTimeoutMs: 900_000 };
if (values.events) size.killEvents = size.events = Number(values.events);
const names = values.only ? values.only.split(',') : Object.keys(SCENARIOS);
for (const name of names) if (!SCENARIOS[name]) throw new Error(`--only: no scenario "${name}" (there are ${Object.keys(SCENARIOS).join(', ')})`);

function table(rows: ChaosRow[]): string {
  const header = ['scenario', 'accepted', 'stored', 'lost', 'stored twice', 'delivered twice', 'undelivered', 'recovery'];
  const cells = rows.map((row) => [
    row.scenario, row.accepted, row.stored, row.lost, row.storedTwice, row.deliveredTwice, row.undelivered,
    row.skipped ? `skipped: ${row.skipped}` : row.recoveryMs === null ? 'never' : `${(row.recoveryMs / 1000).toFixed(1)} s`,
  ].map(String));
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...cells.map(line)].join('\n');
}

const rows: ChaosRow[] = [];
for (const name of names) {
  const started = Date.now();
  process.stdout.write(`chaos: ${name}… `);
  try {
    const row = await SCENARIOS[name]!(size);
    rows.push(row);
    process.stdout.write(`${Math.round((Date.now() - started) / 1000)} s\n`);
    for (const note of row.notes) process.stdout.write(`  ${note}\n`);
  } catch (error) {
    process.stdout.write(`failed: ${(error as Error).stack}\n`);
    rows.push({ scenario: `${name} (did not run to its end)`, accepted: 0, stored: 0, lost: 0, storedTwice: 0, deliveredTwice: 0, undelivered: 0, recoveryMs: null, notes: [(error as Error).message] });
  }
}
process.stdout.write(`\n${table(rows)}\n`);
await mkdir('test-results', { recursive: true });
await writeFile('test-results/chaos.json', JSON.stringify({ size, rows }, null, 2));
const failed = rows.filter((row) => !row.skipped && (row.lost || row.storedTwice || row.undelivered || row.recoveryMs === null));
if (failed.length) process.stdout.write(`\nFAILED: ${failed.map((row) => row.scenario).join('; ')}\n`);
process.exit(failed.length ? 1 : 0);
