/**
 * The no-durability ceiling of `pnpm bench pipeline`, a child process of its own: a node:http
 * server whose POST /batch parses the body and runs the chain's own index.js functions as ordinary
 * JavaScript (bench/batch-server.ts) — each processEvent stage in order, then onEvent per surviving event and exportEvents
 * once per request — before answering `{"status":1}`. Nothing is queued, stored or kept but the
 * latency destination's counters, which its meta.cache.incr puts in this process's memory: the
 * same measure as in the other modes, without Redis. GET /stats answers
 * `{"delivered", "counters"}`. Listens on 127.0.0.1:$PORT and writes "listening" when ready.
 */
import type { PluginEvent } from '@sluice/core';
import { serveBatches } from './batch-server';
import { directChain } from './pipeline-chain';

const counters = new Map<string, number>();
const cache = {
  incr: async (key: string) => {
    const value = (counters.get(key) ?? 0) + 1;
    counters.set(key, value);
    return value;
  },
};
const apps = await directChain(cache);
const stages = apps.filter((app) => app.processEvent);
let delivered = 0;

/** The chain on one request's events, as the pipeline would run it. */
async function runChain(events: PluginEvent[]): Promise<void> {
  const survivors: PluginEvent[] = [];
  for (const input of events) {
    let event: PluginEvent | null | undefined = input;
    for (const stage of stages) {
      event = await stage.processEvent!(event, stage.meta);
      if (!event) break;
    }
    if (event) survivors.push(event);
  }
  for (const app of apps) {
    if (app.onEvent) {
      for (const event of survivors) await app.onEvent(event, app.meta);
      delivered += survivors.length;
    }
    if (app.exportEvents && survivors.length) await app.exportEvents(survivors, app.meta);
  }
}

serveBatches({ onBatch: runChain, stats: () => ({ delivered, counters: Object.fromEntries(counters) }) });
