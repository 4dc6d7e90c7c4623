/**
 * The load generator of `pnpm bench pipeline`, its own process so its JSON work does not share the
 * server's event loop: LOAD_EVENTS sample events (fresh uuids) as /batch requests of LOAD_BATCH
 * from LOAD_SENDERS concurrent senders to LOAD_URL, flat out or, with LOAD_RATE, paced to that many
 * events per second. Each event carries the time its request was sent (SENT_AT, ms since the
 * epoch) and LOAD_PHASE in its properties. A 429 or 503 is sent again after its Retry-After, stamped anew.
 * Writes one JSON line to stdout at the end (LoadResult).
 */
import { PROJECT_TOKEN } from '../test/helpers/services';
import { readSampleEvents } from '../test/fixtures/sample-events';
import type { PluginEvent } from '@sluice/core';
import { quantile } from './format';
import { CHAIN, PHASE, SENT_AT, directApp } from './pipeline-chain';
import { LOAD_BATCH, LOAD_SENDERS, type LoadResult } from './pipeline-load-run';

const TARGET = process.env.LOAD_URL!;
const EVENTS = Number(process.env.LOAD_EVENTS ?? 100_000);
const PHASE_NAME = process.env.LOAD_PHASE ?? 'max';
const RATE = Number(process.env.LOAD_RATE ?? 0);
const SENDERS = Number(process.env.LOAD_SENDERS ?? LOAD_SENDERS);
const BATCH = Number(process.env.LOAD_BATCH ?? LOAD_BATCH);
const DROPS_TENTH = process.env.LOAD_DROPS_TENTH !== 'false';

// The sample's events, reused in turn with fresh uuids: a soak's million events need no million
// templates. Each is serialized once, with markers where the uuid and the send time go, so a
// request costs string joins instead of a JSON.stringify of 100 events (which made the load
// generator use more CPU than the ceiling it feeds).
const UUID_MARK = '@@uuid@@';
const SENT_MARK = '"@@sent@@"';
const templates = readSampleEvents().map((event) =>
  JSON.stringify({ ...event, uuid: UUID_MARK, properties: { ...event.properties, [PHASE]: PHASE_NAME, [SENT_AT]: '@@sent@@' } }));
// The filter, run here on each uuid, says how many onEvent calls to wait for (LOAD_DROPS_TENTH=false: a chain without it).
const filter = await directApp(CHAIN.find((app) => app.dir.endsWith('drop-tenth'))!);

const requests = Math.ceil(EVENTS / BATCH);
const ackMs: number[] = [];
let nextRequest = 0;
let expected = 0;
let refused = 0;
let firstSentAt = Infinity;
let lastAckedAt = 0;
const started = Date.now();

/** One request's body, its send time still a marker; counts the events the filter keeps. */
function bodyOf(request: number): string {
  const size = Math.min(BATCH, EVENTS - request * BATCH);
  const events: string[] = [];
  for (let index = 0; index < size; index++) {
    const uuid = crypto.randomUUID();
    // drop-tenth reads the uuid only, and answers the event or null.
    if (!DROPS_TENTH || filter.processEvent!({ uuid } as PluginEvent, filter.meta)) expected++;
    events.push(templates[(request * BATCH + index) % templates.length]!.replace(UUID_MARK, uuid));
  }
  return `{"api_key":${JSON.stringify(PROJECT_TOKEN)},"batch":[${events.join(',')}]}`;
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function send(template: string): Promise<void> {
  for (;;) {
    const sentAt = Date.now();
    firstSentAt = Math.min(firstSentAt, sentAt);
    const body = template.replaceAll(SENT_MARK, String(sentAt));
    const response = await fetch(`${TARGET}/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const answer = await response.text();
    if (response.ok) {
      const ackedAt = Date.now();
      ackMs.push(ackedAt - sentAt);
      lastAckedAt = Math.max(lastAckedAt, ackedAt);
      return;
    }
    if (response.status !== 429 && response.status !== 503) throw new Error(`${TARGET}/batch answered ${response.status}: ${answer}`);
    refused++;
    await pause(Number(response.headers.get('retry-after') ?? 1) * 1000);
  }
}

async function sender(): Promise<void> {
  for (let request = nextRequest++; request < requests; request = nextRequest++) {
    if (RATE > 0) await pause(started + ((request * BATCH) / RATE) * 1000 - Date.now());
    await send(bodyOf(request));
  }
}

await Promise.all(Array.from({ length: SENDERS }, sender));
const cpu = process.cpuUsage();
const result: LoadResult = {
  events: EVENTS, requests, expected, refused, firstSentAt, lastAckedAt,
  ackP50: quantile(ackMs, 0.5), ackP99: quantile(ackMs, 0.99), cpuSeconds: (cpu.user + cpu.system) / 1e6,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
