import { admin, install, sampleEvents } from '../helpers/api';
import type { Recorder } from './recorder';

/** The chain every scenario runs: three stages, then an onEvent and an exportEvents destination. */
export const CHAIN = ['A', 'B', 'C'];

/** Environment every scenario's services share: apps may reach the recorder on loopback. */
export const CHAOS_ENV = {
  SLUICE_FETCH_ALLOW_PRIVATE: '127.0.0.1',
  SLUICE_LOG_LEVEL: 'error',
  // A killed process's jobs are taken over after ~10 s rather than the default 30 s (the suite's
  // recovery times depend on it; production keeps its own setting).
  SLUICE_JOB_LOCK_MS: '10000',
  SLUICE_STALLED_INTERVAL_MS: '5000',
};

export async function installChain(url: string, recorder: Recorder): Promise<void> {
  for (const label of CHAIN) await install(url, 'test/fixtures/apps/chain-recorder', { label });
  await install(url, 'test/chaos/apps/http-onevent', { url: recorder.url });
  await install(url, 'test/chaos/apps/http-export', { url: recorder.url, exportEventsBufferSeconds: '1' });
  const { body } = await admin(url, 'GET', '/api/projects/default/apps');
  if (body.results.length !== CHAIN.length + 2) throw new Error(`expected ${CHAIN.length + 2} apps, got ${JSON.stringify(body)}`);
}

export function chaosEvents(count: number): Array<Record<string, unknown>> {
  return sampleEvents(count);
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Waits until both destinations have received every accepted event (delivery comes after the
 * store, so this is the pipeline drained); the moment it was (ms since the epoch), or undefined
 * past the deadline.
 */
export async function waitDelivered(recorder: Recorder, accepted: Set<string>, timeoutMs: number): Promise<number | undefined> {
  const started = Date.now();
  const missing = (seen: Map<string, number>) => {
    for (const uuid of accepted) if (!seen.has(uuid)) return true;
    return false;
  };
  while (Date.now() - started < timeoutMs) {
    if (!missing(recorder.onEvent) && !missing(recorder.exported)) return Date.now();
    await sleep(250);
  }
  return undefined;
}

export interface StoredRow {
  uuid: string;
  trail: unknown;
}

/** One row of the chaos table. */
export interface ChaosRow {
  scenario: string;
  accepted: number;
  stored: number;
  lost: number;
  storedTwice: number;
  deliveredTwice: number;
  undelivered: number;
  /** From the fault's end until every accepted event was stored and delivered; null if it never was. */
  recoveryMs: number | null;
  notes: string[];
  /** Why the scenario could not run here (not root, no tmpfs): shown, and no failure. */
  skipped?: string;
}

/** The counts of a scenario, from what the feeder was told and what the store and destinations hold. */
export function tally(scenario: string, accepted: Set<string>, rows: StoredRow[], recorder: Recorder, recoveryMs: number | undefined, notes: string[]): ChaosRow {
  const stored = new Map<string, number>();
  let wrongChain = 0;
  for (const row of rows) {
    stored.set(row.uuid, (stored.get(row.uuid) ?? 0) + 1);
    if (JSON.stringify(row.trail) !== JSON.stringify(CHAIN)) wrongChain++;
  }
  const twice = (seen: Map<string, number>) => [...seen.values()].filter((n) => n > 1).length;
  let lost = 0;
  let undelivered = 0;
  const missing = { onEvent: 0, exportEvents: 0 };
  for (const uuid of accepted) {
    if (!stored.has(uuid)) lost++;
    if (!recorder.onEvent.has(uuid)) missing.onEvent++;
    if (!recorder.exported.has(uuid)) missing.exportEvents++;
    if (!recorder.onEvent.has(uuid) || !recorder.exported.has(uuid)) undelivered++;
  }
  if (wrongChain) notes.push(`${wrongChain} stored events did not go through A, B, C once each in order`);
  // Which destination they are missing at says which part of the runner to look at.
  if (undelivered) notes.push(`undelivered: ${missing.onEvent} never reached onEvent, ${missing.exportEvents} never reached exportEvents`);
  return {
    scenario,
    accepted: accepted.size,
    stored: [...stored.keys()].filter((uuid) => accepted.has(uuid)).length,
    lost,
    storedTwice: twice(stored),
    deliveredTwice: twice(recorder.onEvent) + twice(recorder.exported),
    undelivered,
    recoveryMs: recoveryMs ?? null,
    notes,
  };
}
