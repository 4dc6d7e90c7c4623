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

interface Result { chain: string; acceptedPerSecond: number; storedPerSecond: number }

async function countStored(url: string): Promise<number> {
  const response = await fetch(`${url}/metrics`);
  const text = await response.text();
  const match = text.match(/sluice_events_stored_total\{project="default"\} (\d+)/);
  return match ? Number(match[1]) : 0;
}

async function runChain(chain: string, apps: Array<[string, Record<string, string>]>, expectedStored: (events: any[]) => number): Promise<Result> {
  const sluice = await startSluice({ SLUICE_LOG_LEVEL: 'error' });
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
  const baseline = results[0]!;
  process.stdout.write(`\ne2e: ${EVENTS} sample events, /batch with ${PER_REQUEST} per request, ${CONNECTIONS} connections, sluice start (PGlite)\n`);
  process.stdout.write(`${'chain'.padEnd(28)}${'accepted ev/s'.padStart(15)}${'stored ev/s'.padStart(14)}${'vs baseline'.padStart(13)}\n`);
  for (const result of results) {
    const ratio = (result.storedPerSecond / baseline.storedPerSecond).toFixed(2);
    process.stdout.write(`${result.chain.padEnd(28)}${String(result.acceptedPerSecond).padStart(15)}${String(result.storedPerSecond).padStart(14)}${ratio.padStart(13)}\n`);
  }
}
