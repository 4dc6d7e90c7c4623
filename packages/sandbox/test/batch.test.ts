import { describe, expect, it } from 'vitest';
import type { AppLogEntry, PluginEvent } from '@sluice/core';
import { compileApp, createAppVm, type EventOutcome } from '../src';
import { readSampleEvents } from '../../../test/fixtures/sample-events';

const sample = (count: number, from = 0): PluginEvent[] => readSampleEvents().slice(from, from + count) as PluginEvent[];

async function vmOf(code: string, limits: { callTimeoutMs?: number; memoryBytes?: number } = {}) {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'batch' }), 'index.js': code });
  const logs: AppLogEntry[] = [];
  const vm = await createAppVm({ instanceId: 1, name: 'batch', code: app.code, config: { name: 'Ada' }, limits, onLog: (entry) => logs.push(entry) });
  return { vm, logs };
}

/**
 * What the sandbox answered before patches: the app run on a JSON copy of the batch, every
 * returned event serialised whole once the batch has settled. Run here in V8 from the same
 * CommonJS source.
 */
async function fullRoundTrip(code: string, batches: PluginEvent[][]): Promise<EventOutcome[][]> {
  const module = { exports: {} as Record<string, (...args: unknown[]) => unknown> };
  new Function('module', 'exports', code)(module, module.exports);
  const meta = { config: { name: 'Ada' }, global: {} };
  const answers: EventOutcome[][] = [];
  for (const batch of batches) {
    const events = JSON.parse(JSON.stringify(batch)) as PluginEvent[];
    const { processEvent, processEventBatch } = module.exports;
    const results = processEvent
      ? await Promise.all(events.map((event) => processEvent(event, meta)))
      : ((await processEventBatch!(events, meta)) as unknown[]);
    answers.push(JSON.parse(JSON.stringify(events.map((_, i) => (results[i] == null ? { status: 'dropped' } : { status: 'ok', event: results[i] })))) as EventOutcome[]);
  }
  return answers;
}

/** Inputs with what JSON does not carry as it is, and keys that are easy to get wrong. */
function awkwardEvents(): PluginEvent[] {
  const base = sample(1, 1500)[0]!;
  const proto = JSON.parse('{"__proto__": {"polluted": true}, "plain": 1}') as Record<string, unknown>;
  return [
    { ...base, uuid: 'awkward-1', properties: { ...base.properties, missing: undefined, nan: Number.NaN, negativeZero: -0, when: new Date(0), big: Number.POSITIVE_INFINITY } },
    { ...base, uuid: 'awkward-2', properties: proto },
    { ...base, uuid: 'awkward-3', properties: { 10: 'ten', 2: 'two', b: 'b', a: 'a' } },
    { ...base, uuid: 'awkward-4', $set: { plan: 'free' }, $set_once: { first: 'x' } } as PluginEvent,
  ];
}

const APPS: Record<string, string> = {
  'hello-world': "exports.processEvent = (e, { config }) => { e.properties.hello = 'Hello ' + (config.name || 'world'); return e }",
  'unchanged, returned as is': 'exports.processEvent = (e) => e',
  'nested property mutation': "exports.processEvent = (e) => { if (e.properties.$elements) e.properties.$elements[0].tag_name = 'a'; if (e.$set) e.$set.plan = 'pro'; const s = e.properties.$set; if (s) s.nested = { deep: [1, { x: 2 }] }; return e }",
  'deleting keys': 'exports.processEvent = (e) => { delete e.properties.$os; delete e.properties.not_there; delete e.ip; delete e.$set_once; return e }',
  'deleting and setting again (moves the key last)': "exports.processEvent = (e) => { const os = e.properties.$os; delete e.properties.$os; e.properties.$os = os; const t = e.timestamp; delete e.timestamp; e.timestamp = t; return e }",
  'a brand-new object': "exports.processEvent = (e) => ({ event: e.event.toUpperCase(), distinct_id: e.distinct_id, properties: { ...e.properties, fresh: true } })",
  'spreading the event': "exports.processEvent = (e) => ({ ...e, properties: { ...e.properties, spread: 1 } })",
  'mutating arrays': "exports.processEvent = (e) => { const els = e.properties.$elements; if (els) { els.push({ tag_name: 'html' }); els.reverse(); els.length = 2 } e.properties.list = [3, 1, 2]; e.properties.list.sort(); return e }",
  'renaming the event and distinct_id': "exports.processEvent = (e) => { e.event = e.event.replace('$', '') + '_renamed'; e.distinct_id = 'new-' + e.distinct_id; return e }",
  'returning a different event object': 'let previous = null\nexports.processEvent = (e) => { const out = previous || e; previous = e; e.properties.seen = true; return out }',
  'mutating an earlier event later': "let kept = null\nexports.processEvent = (e) => { if (kept) kept.properties.touched_later = e.uuid; kept = e; return e }",
  'replacing properties wholesale': "exports.processEvent = (e) => { e.properties = { only: e.properties.$browser || 'none' }; return e }",
  'Object.assign, defineProperty, __proto__': "exports.processEvent = (e) => { Object.assign(e.properties, { assigned: 1, $browser: 'B' }); Object.defineProperty(e.properties, 'defined', { value: 2, enumerable: true, writable: true, configurable: true }); Object.defineProperty(e.properties, 'hidden', { value: 3, enumerable: false }); e.properties.__proto__ = { inherited: 1 }; e.properties.plain = 'set'; return e }",
  'freezing the event': 'exports.processEvent = (e) => { e.properties.frozen = true; Object.freeze(e.properties); return Object.freeze(e) }',
  'dropping some, failing none': "exports.processEvent = (e, { global }) => (e.event === '$pageview' ? null : e)",
  'async, mutating after await': "exports.processEvent = async (e) => { await null; e.properties.later = 1; await null; delete e.properties.$host; return e }",
  'taxonomy: every key rewritten': "const snake = (s) => s.replace(/^\\$/, '').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()\nexports.processEvent = (e) => { const p = e.properties; for (const k of Object.keys(p)) { const v = p[k]; delete p[k]; p[snake(k)] = typeof v === 'string' ? v.trim() : v } e.event = snake(e.event); return e }",
  'writing before reading (unparsed properties merged in order)': "exports.processEvent = (e) => { e.properties.added = 1; e.properties.$os = 'X'; e.properties.toString = 'own'; const keys = Object.keys(e.properties); e.properties.count = keys.length; e.properties.last = keys[keys.length - 1]; e.properties.has = '$browser' in e.properties; return e }",
  'writing an inherited key, then serialising inside': "exports.processEvent = (e) => { e.properties.constructor = 'c'; e.properties.hasOwnProperty = 'h'; e.properties.json = JSON.stringify(e).length; return e }",
  'freezing unparsed properties': "exports.processEvent = (e) => { e.properties.x = 1; Object.freeze(e.properties); return e }",
  'reading one property only': "exports.processEvent = (e) => { if (e.properties.$browser === 'Chrome') e.properties.chrome = true; return e }",
  'processEventBatch, in place': "exports.processEventBatch = (events) => events.map((e, i) => { e.properties.index = i; return i % 3 === 0 ? null : e })",
  'processEventBatch, reordered': 'exports.processEventBatch = (events) => { for (const e of events) e.properties.batch = true; return events.slice().reverse() }',
};

describe('processEventBatch answers patches that equal a full round trip', () => {
  for (const [name, code] of Object.entries(APPS)) {
    it(name, async () => {
      // Enough batches for the adaptive tracking to switch off and back on (prelude: RETRACK = 32).
      const batches = [sample(60), awkwardEvents(), ...Array.from({ length: 36 }, (_, i) => sample(5, 100 + i * 5))];
      const expected = await fullRoundTrip(code, batches);
      const { vm } = await vmOf(code);
      for (const [index, batch] of batches.entries()) {
        const before = JSON.stringify(batch);
        const outcomes = await vm.processEventBatch(batch);
        // Exact, key order included (toEqual would not see it).
        expect(JSON.stringify(outcomes), `batch ${index}`).toBe(JSON.stringify(expected[index]));
        expect(outcomes).toEqual(expected[index]);
        expect(JSON.stringify(batch), 'the inputs stay as they were').toBe(before);
      }
      vm.dispose();
    });
  }

  it('gives back the very input object for an event the app did not change', async () => {
    const { vm } = await vmOf("exports.processEvent = (e) => { if (e.event === 'x') e.properties.x = 1; return e }");
    const events = [{ ...sample(1)[0]!, event: 'same', properties: { a: 'b' } }, { ...sample(1)[0]!, event: 'x', properties: { a: 'b' } }];
    const [same, changed] = await vm.processEventBatch(events);
    expect(same).toEqual({ status: 'ok', event: events[0] });
    expect((same as { event: PluginEvent }).event).toBe(events[0]);
    expect((changed as { event: PluginEvent }).event).not.toBe(events[1]);
    expect(events[1]!.properties).toEqual({ a: 'b' });
    vm.dispose();
  });
});

describe('a batch that hits a limit is bisected to its culprits', () => {
  const spinner = "exports.processEvent = (e, { config }) => { if (e.properties.spin) while (true) {} e.properties.hello = 'Hello ' + config.name; return e }";

  it('fails only the event that loops forever; the other 99 get their normal outcomes', async () => {
    const events = sample(100);
    events[37] = { ...events[37]!, properties: { ...events[37]!.properties, spin: true } };
    const { vm: normal } = await vmOf(spinner);
    const expected = await normal.processEventBatch(events.filter((_, i) => i !== 37));
    normal.dispose();
    const { vm, logs } = await vmOf(spinner, { callTimeoutMs: 50 });
    const outcomes = await vm.processEventBatch(events);
    expect(outcomes[37]).toEqual({ status: 'error', error: 'processEvent exceeded the 50 ms time limit' });
    expect(outcomes.filter((_, i) => i !== 37)).toEqual(expected);
    // The whole batch, then one half per level down to the single event: at most 1 + ceil(log2(100)).
    expect(logs.filter((entry) => /time limit/.test(entry.message)).length).toBeLessThanOrEqual(8);
    expect((await vm.processEventBatch(sample(3)))).toMatchObject([{ status: 'ok' }, { status: 'ok' }, { status: 'ok' }]);
    vm.dispose();
  });

  it('finds two culprits in one batch', async () => {
    const events = sample(40).map((event, i) => (i === 3 || i === 30 ? { ...event, properties: { ...event.properties, spin: true } } : event));
    const { vm } = await vmOf(spinner, { callTimeoutMs: 50 });
    const outcomes = await vm.processEventBatch(events);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(events.map((_, i) => (i === 3 || i === 30 ? 'error' : 'ok')));
    vm.dispose();
  });

  it('bounds the search when every event times out: 17 time limits, not a hundred', async () => {
    const { vm, logs } = await vmOf("exports.processEvent = (e) => { while (true) {} }", { callTimeoutMs: 30 });
    const outcomes = await vm.processEventBatch(sample(100));
    expect(outcomes.every((outcome) => outcome.status === 'error' && /30 ms time limit/.test(outcome.error))).toBe(true);
    // The first hit plus 2 * ceil(log2(100)) + 2 more.
    expect(logs.filter((entry) => /time limit/.test(entry.message)).length).toBe(17);
    vm.dispose();
  });

  it('fails only the event that blows the heap', async () => {
    const events = sample(20).map((event, i) => (i === 5 ? { ...event, event: 'bomb' } : event));
    const { vm } = await vmOf(
      "exports.processEvent = (e) => { if (e.event === 'bomb') { const a = []; while (true) a.push({ n: a.length, s: [a.length] }) } e.properties.ok = true; return e }",
      { memoryBytes: 16 * 1024 * 1024, callTimeoutMs: 20_000 }, // memory, not time, must stop the bomb on a loaded machine
    );
    const outcomes = await vm.processEventBatch(events);
    expect(outcomes[5]).toEqual({ status: 'error', error: 'processEvent exceeded the 16 MiB memory limit' });
    expect(outcomes.filter((_, i) => i !== 5).every((outcome) => outcome.status === 'ok' && outcome.event.properties.ok === true)).toBe(true);
    vm.dispose();
  });
});

describe("one person's events run one after another within a batch", () => {
  // Reads a per-person counter, yields, then writes it back: run concurrently, every event of a
  // person would read the same value (the lost update issue 14 describes for meta.cache counters).
  const numbering = `
    const counts = {}; const trail = [];
    exports.processEvent = async (e) => {
      trail.push('start ' + e.distinct_id);
      const n = counts[e.distinct_id] || 0;
      await null; await null; await null;
      counts[e.distinct_id] = n + 1;
      e.properties.n = n; e.properties.trail = trail.slice();
      return e;
    }`;

  it("numbers each person's events in batch order, while different people run concurrently", async () => {
    const base = sample(1)[0]!;
    const people = ['ada', 'bob', 'cy'];
    const events = Array.from({ length: 30 }, (_, i) => ({ ...base, uuid: `n-${i}`, distinct_id: people[i % 3]!, properties: { i } }));
    const { vm } = await vmOf(numbering);
    const outcomes = await vm.processEventBatch(events);
    const numbers = outcomes.map((outcome) => (outcome.status === 'ok' ? outcome.event.properties.n : outcome.status));
    expect(numbers).toEqual(events.map((_, i) => Math.floor(i / 3)));
    // bob's and cy's first events started before ada's first had finished (no global serialisation).
    const first = outcomes[0]!;
    expect(first.status === 'ok' && first.event.properties.trail).toEqual(['start ada', 'start bob', 'start cy']);
    vm.dispose();
  });

  it('a failing event does not hold back or break the person’s next one', async () => {
    const base = sample(1)[0]!;
    const code = `
      const seen = {};
      exports.processEvent = async (e) => {
        const before = seen[e.distinct_id] || [];
        await null;
        seen[e.distinct_id] = before.concat(e.uuid);
        if (e.properties.fail) throw new Error('nope');
        e.properties.before = before;
        return e;
      }`;
    const events = [0, 1, 2].map((i) => ({ ...base, uuid: `f-${i}`, distinct_id: 'ada', properties: { fail: i === 1 } }));
    const { vm } = await vmOf(code);
    const outcomes = await vm.processEventBatch(events);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['ok', 'error', 'ok']);
    const last = outcomes[2]!;
    expect(last.status === 'ok' && last.event.properties.before).toEqual(['f-0', 'f-1']);
    vm.dispose();
  });
});
