import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { compileApp, createAppVm } from '../src';

/**
 * `require('generic-pool')` in an app (the npm library bundled into the VM) against the same
 * library in Node: the same script gives the same trace of pool calls, sizes and errors.
 */
const nodeRequire = createRequire(import.meta.url);

async function inSandbox(body: string): Promise<unknown> {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'pool' }), 'index.js': `const genericPool = require('generic-pool')
    export async function processEvent(event) { event.properties.out = await (async (require) => { ${body} })(() => genericPool); return event }` });
  const vm = await createAppVm({ instanceId: 1, name: 'pool', code: app.code, config: {}, onLog: () => {} });
  try {
    const input: PluginEvent = { uuid: 'u', event: 'e', distinct_id: 'd', properties: {}, timestamp: '', ip: null, site_url: '', team_id: 1, now: '', sent_at: null };
    const [outcome] = await vm.processEventBatch([input]);
    if (outcome?.status !== 'ok') throw new Error(JSON.stringify(outcome));
    return outcome.event.properties.out;
  } finally {
    vm.dispose();
  }
}

async function inNode(body: string): Promise<unknown> {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the test's own script, run in Node for the expected trace
  const run = new Function('require', `return (async () => { ${body} })()`) as (require: () => unknown) => Promise<unknown>;
  return JSON.parse(JSON.stringify(await run(() => nodeRequire('generic-pool')) as unknown));
}

async function expectSame(body: string): Promise<unknown> {
  const [vm, node] = await Promise.all([inSandbox(body), inNode(body)]);
  expect(vm).toEqual(node);
  return vm;
}

const FACTORY = `
  const trace = []
  let next = 0
  const factory = {
    create: async () => { const resource = { id: ++next }; trace.push('create ' + resource.id); return resource },
    destroy: async (resource) => { trace.push('destroy ' + resource.id) },
  }
  const sizes = (pool) => ({ size: pool.size, available: pool.available, borrowed: pool.borrowed, pending: pool.pending, spare: pool.spareResourceCapacity })`;

describe("require('generic-pool') in the VM and in Node", () => {
  it('acquire, release, drain and clear give the same trace and sizes', async () => {
    const out = await expectSame(`${FACTORY}
      const { createPool } = require()
      const pool = createPool(factory, { min: 1, max: 2 })
      const a = await pool.acquire()
      const b = await pool.acquire()
      trace.push(sizes(pool))
      const waiting = pool.acquire().then((resource) => { trace.push('waiter got ' + resource.id); return resource })
      trace.push(sizes(pool))
      await pool.release(a)
      const c = await waiting
      trace.push({ reusedA: c === a, isBorrowed: pool.isBorrowedResource(c) })
      await pool.release(b)
      await pool.release(c)
      trace.push(sizes(pool))
      await pool.drain()
      let afterDrain
      try { await pool.acquire() } catch (error) { afterDrain = error.message }
      await pool.clear()
      trace.push(sizes(pool), afterDrain)
      return trace`);
    expect(out).toContainEqual(expect.stringContaining('draining'));
  });

  it('destroy(), use(), priorities, lifo order and maxWaitingClients behave as in Node', async () => {
    await expectSame(`${FACTORY}
      const { createPool } = require()
      const pool = createPool(factory, { max: 1, priorityRange: 3, fifo: false, maxWaitingClients: 2 })
      const first = await pool.acquire()
      const low = pool.acquire(2).then((resource) => { trace.push('low ' + resource.id); return resource })
      const high = pool.acquire(0).then((resource) => { trace.push('high ' + resource.id); return resource })
      let refused
      try { await pool.acquire() } catch (error) { refused = error.message }
      trace.push(refused)
      await pool.destroy(first)
      const held = await high
      await pool.release(held)
      await pool.release(await low)
      trace.push(await pool.use(async (resource) => 'used ' + resource.id), sizes(pool))
      await pool.drain()
      await pool.clear()
      return trace`);
  });

  it('says clearly that the options needing timers do not work in the VM (Node would wait)', async () => {
    const out = await inSandbox(`
      const { createPool } = require()
      const factory = { create: async () => ({}), destroy: async () => {} }
      const caught = async (work) => { try { await work(); return 'ok' } catch (error) { return error.message } }
      return {
        acquireTimeout: await caught(() => createPool(factory, { acquireTimeoutMillis: 100 }).acquire()),
        eviction: await caught(() => createPool(factory, { evictionRunIntervalMillis: 100 })),
        readyBeforeMin: await caught(() => createPool(factory, { min: 1 }).ready()),
        defaults: await caught(() => createPool(factory).acquire()),
      }`);
    const message = expect.stringMatching(/^generic-pool: acquireTimeoutMillis, evictionRunIntervalMillis, destroyTimeoutMillis and ready\(\) need timers/);
    expect(out).toEqual({ acquireTimeout: message, eviction: message, readyBeforeMin: message, defaults: 'ok' });
  });
});
