/**
 * End-to-end throughput of `sluice start` (embedded store) on this machine: events/s accepted by
 * the intake and events/s through the whole path to the events table, for chains of 0, 1 and 2
 * apps. The empty chain is the baseline the others are compared with, measured in the same run.
 */
import { install, post, sampleEvents } from '../test/helpers/api';
import { startSluice, waitFor, PROJECT_TOKEN } from '../test/helpers/services';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const PER_REQUEST = 50;
const CONNECTIONS = 10;

/** `storedPerSecond`: to the last event stored (or, for a run that waits for deliveries, delivered). */
interface Result { chain: string; acceptedPerSecond: number; storedPerSecond: number }

async function countStored(url: string): Promise<number> {
  const response = await fetch(`${url}/metrics`);
  const text = await response.text();
  const match = text.match(/sluice_events_stored_total\{project="default"\} (\d+)/);
  return match ? Number(match[1]) : 0;
}

/** Events onEvent destinations have taken, summed over instances. */
async function countDelivered(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/sluice_delivery_events_total\{[^}]*outcome="delivered"[^}]*\} (\d+)/g)) total += Number(match[1]);
  return total;
}

async function runChain(chain: string, apps: Array<[string, Record<string, string>]>, expectedStored: (events: any[]) => number, env: Record<string, string> = {}, delivered = false): Promise<Result> {
  const sluice = await startSluice({ SLUICE_LOG_LEVEL: 'error', ...env });
  try {
    for (const [dir, config] of apps) await install(sluice.url, dir, config);
    const events = sampleEvents(EVENTS);
    const bodies: string[] = [];
    for (let i = 0; i < events.length; i += PER_REQUEST) bodies.push(JSON.stringify({ api_key: PROJECT_TOKEN, batch: events.slice(i, i + PER_REQUEST) }));
    const started = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
      while (next < bodies.length) {
        const answer = await post(sluice.url, '/batch', bodies[next++]!);
        if (answer.status !== 200) throw new Error(`intake answered ${answer.status}`);
      }
    }));
    const accepted = performance.now();
    const target = expectedStored(events);
    await waitFor('all events stored', async () => (await countStored(sluice.url)) >= target, 300_000, 50);
    if (delivered) await waitFor('all events delivered', async () => (await countDelivered(sluice.url)) >= target, 300_000, 50);
    // With `delivered`, the end is the last onEvent, not the last insert.
    const stored = performance.now();
    return {
      chain,
      acceptedPerSecond: Math.round(EVENTS / ((accepted - started) / 1000)),
      storedPerSecond: Math.round(EVENTS / ((stored - started) / 1000)),
    };
  } finally {
    await sluice.stop();
  }
}

export async function benchE2e(): Promise<void> {
  const results: Result[] = [];
  results.push(await runChain('no apps (baseline)', [], (events) => events.length));
  results.push(await runChain('hello-world', [['examples/hello-world', { name: 'Ada' }]], (events) => events.length));
  results.push(await runChain('hello-world + drop-events', [['examples/hello-world', {}], ['examples/drop-events', { eventsToDrop: '$pageleave' }]],
    (events) => events.filter((event) => event.event !== '$pageleave').length));
  printTable(`e2e: ${EVENTS} sample events, /batch with ${PER_REQUEST} per request, ${CONNECTIONS} connections, sluice start (PGlite)`, 'stored ev/s', results);
  await benchOrdering();
}

/** `pnpm bench ordering`: what per-person order costs, end to end. */
export async function benchOrdering(): Promise<void> {
  // What per-person order costs: a stateful stage and an onEvent destination, with ordering off
  // (every event in the unordered lane) as the baseline, then on (SLUICE_ORDER_SHARDS lanes).
  const orderedChain: Array<[string, Record<string, string>]> = [['examples/hello-world', {}], ['bench/apps/cache-counter', {}], ['bench/apps/null-destination', {}]];
  const all = (events: any[]) => events.length;
  const ordering = [
    await runChain('ordering off (baseline)', orderedChain, all, { SLUICE_ORDER_SHARDS: '0' }, true),
    ...(await runEach(ORDER_SHARDS, (shards) => runChain(`ordering on, ${shards} lanes`, orderedChain, all, { SLUICE_ORDER_SHARDS: String(shards) }, true))),
  ];
  printTable('ordering: hello-world → cache-counter → onEvent (null destination); time to the last onEvent', 'delivered ev/s', ordering);
}

/** Lane counts the ordering table compares (BENCH_ORDER_SHARDS=4,8,16), the default first. */
const ORDER_SHARDS = (process.env.BENCH_ORDER_SHARDS ?? '8,4,16').split(',').map(Number);

async function runEach<T, R>(items: T[], run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (const item of items) results.push(await run(item));
  return results;
}

function printTable(title: string, rate: string, results: Result[]): void {
  const baseline = results[0]!;
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(`${'chain'.padEnd(28)}${'accepted ev/s'.padStart(15)}${rate.padStart(16)}${'vs baseline'.padStart(13)}\n`);
  for (const result of results) {
    const ratio = (result.storedPerSecond / baseline.storedPerSecond).toFixed(2);
    process.stdout.write(`${result.chain.padEnd(28)}${String(result.acceptedPerSecond).padStart(15)}${String(result.storedPerSecond).padStart(16)}${ratio.padStart(13)}\n`);
  }
}
