/**
 * insertEvents throughput on both backends: 20,000 events from test/fixtures/events-sample.jsonl (repeated with
 * fresh uuids) in batches of 500, the size a store job typically carries.
 *
 *   npx tsx packages/store/bench/insert.ts [total] [batch]
 */
import { randomUUID } from 'node:crypto';
import type { PluginEvent } from '@sluice/core';
import { createTestStore } from '../src/index';
import { readSampleEvents } from '../../../test/fixtures/sample-events';

const TOTAL = Number(process.argv[2] ?? 20_000);
const BATCH = Number(process.argv[3] ?? 500);
const sample: Array<Record<string, unknown>> = readSampleEvents(process.env.SLUICE_BENCH_EVENTS);

const events: PluginEvent[] = Array.from({ length: TOTAL }, (_, i) => {
  const raw = sample[i % sample.length]!;
  return {
    ...raw,
    uuid: randomUUID(),
    event: String(raw.event),
    distinct_id: String(raw.distinct_id),
    properties: (raw.properties as Record<string, unknown>) ?? {},
    timestamp: String(raw.timestamp ?? new Date().toISOString()),
    ip: typeof raw.ip === 'string' ? raw.ip : null,
    site_url: '',
    team_id: 1,
    now: new Date().toISOString(),
    sent_at: null,
  };
});

for (const kind of ['postgres', 'pglite'] as const) {
  const { store, cleanup } = await createTestStore(kind);
  try {
    await store.createProject({ id: 'bench', name: 'bench', token: 'phc_bench' });
    // Warm-up batch (plan caching, WASM JIT), not counted.
    await store.insertEvents('warmup', events.slice(0, BATCH).map((e) => ({ ...e, uuid: randomUUID() })));
    const started = performance.now();
    let inserted = 0;
    for (let i = 0; i < events.length; i += BATCH) inserted += await store.insertEvents('bench', events.slice(i, i + BATCH));
    const seconds = (performance.now() - started) / 1000;
    const again = await store.insertEvents('bench', events.slice(0, BATCH));
    process.stdout.write(
      `${kind.padEnd(8)} ${inserted} events in ${seconds.toFixed(2)} s = ${Math.round(inserted / seconds).toLocaleString('en')} rows/s ` +
        `(batch ${BATCH}; duplicate batch inserted ${again})\n`,
    );
  } finally {
    await cleanup();
  }
}
