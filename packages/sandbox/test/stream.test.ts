import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { compileApp, createAppVm } from '../src';

/**
 * `require('stream')` in an app against Node's own stream module: each scenario is an async
 * function body given `require` and `log`; it logs the events and values it sees and resolves
 * when done. The sandbox must log what Node logs, in the same order.
 */
const SCENARIOS: Record<string, string> = {
  // PostHog's GCS export: a body pushed into a PassThrough, piped into a write stream.
  'PassThrough push/push(null)/pipe into a Writable': `
    const { PassThrough, Writable } = require('stream')
    const chunks = []
    const sink = new Writable({ write(chunk, encoding, callback) { log('write', Buffer.isBuffer(chunk), chunk.toString(), encoding); chunks.push(chunk); callback() } })
    const source = new PassThrough()
    source.push('uuid,event\\n1,a\\n')
    source.push(null)
    source.on('end', () => log('source end'))
    const closed = new Promise((resolve) => sink.on('close', () => { log('close'); resolve() }))
    await new Promise((resolve, reject) => source.pipe(sink).on('error', reject).on('finish', () => { log('finish', Buffer.concat(chunks).toString()); resolve() }))
    await closed`,
  "a Readable's 'data' Buffers and 'end'": `
    const { Readable } = require('stream')
    const readable = new Readable({ read() {} })
    readable.push('a'); readable.push(Buffer.from('bc')); readable.push(new Uint8Array([100])); readable.push(null)
    log('length', readable.readableLength)
    await new Promise((resolve) => readable.on('data', (chunk) => log('data', Buffer.isBuffer(chunk), chunk.toString())).on('end', () => { log('end', readable.readableEnded); resolve() }))`,
  'setEncoding gives strings': `
    const { PassThrough } = require('stream')
    const stream = new PassThrough()
    stream.setEncoding('utf8')
    stream.end('héllo')
    await new Promise((resolve) => stream.on('data', (chunk) => log(typeof chunk, chunk)).on('end', resolve))`,
  'Writable write callbacks, end(cb), finish and close in order': `
    const { Writable } = require('stream')
    const writable = new Writable({
      write(chunk, encoding, callback) { log('_write', chunk.toString()); callback() },
      final(callback) { log('_final'); callback() },
    })
    writable.on('finish', () => log('finish', writable.writableFinished)).on('close', () => log('close'))
    log('write a', writable.write('a', () => log('cb a')))
    log('write b', writable.write('b', 'utf8', () => log('cb b')))
    writable.end('c', () => log('end cb'))
    log('ended', writable.writableEnded, writable.writableFinished)
    await new Promise((resolve) => writable.on('close', resolve))`,
  "a failing write: 'error' then 'close', the piping source unpiped": `
    const { PassThrough, Writable } = require('stream')
    const sink = new Writable({ write(chunk, encoding, callback) { callback(Object.assign(new Error('disk full'), { code: 'EFULL' })) } })
    const source = new PassThrough()
    source.pipe(sink)
    source.write('x')
    await new Promise((resolve) => sink.on('error', (error) => log('error', error.message, error.code, sink.destroyed)).on('close', () => { log('close'); resolve() }))`,
  'write after end': `
    const { Writable } = require('stream')
    const writable = new Writable({ write(chunk, encoding, callback) { callback() } })
    writable.end()
    await new Promise((resolve) => {
      writable.on('error', (error) => log('error', error.code, error.message))
      log('answer', writable.write('late', (error) => { log('cb', error && error.code); resolve() }))
    })`,
  'PassThrough write/end with data, end and finish': `
    const { PassThrough } = require('stream')
    const stream = new PassThrough()
    const seen = []
    stream.on('data', (chunk) => seen.push(chunk.toString()))
    stream.write('one')
    stream.write(Buffer.from('two'))
    stream.end('three')
    await Promise.all([new Promise((resolve) => stream.on('finish', resolve)), new Promise((resolve) => stream.on('end', resolve))])
    log('data', seen.join('|'), stream.writableFinished, stream.readableEnded)`,
  'a Transform with flush': `
    const { Transform } = require('stream')
    const upper = new Transform({
      transform(chunk, encoding, callback) { callback(null, chunk.toString().toUpperCase()) },
      flush(callback) { this.push('!'); callback() },
    })
    let text = ''
    upper.on('data', (chunk) => { text += chunk })
    upper.write('ab'); upper.end('cd')
    await new Promise((resolve) => upper.on('end', resolve))
    log('text', text)`,
  'pipeline(readable, transform, writable, cb) and its error': `
    const { pipeline, Readable, Transform, Writable } = require('stream')
    let out = ''
    const ok = await new Promise((resolve) => pipeline(
      Readable.from(['a', 'b', 'c']),
      new Transform({ transform(chunk, encoding, callback) { callback(null, chunk + '.') } }),
      new Writable({ write(chunk, encoding, callback) { out += chunk; callback() } }),
      (error) => resolve(error === undefined ? 'no error' : error.message)))
    log('ok', ok, out)
    const failed = await new Promise((resolve) => pipeline(
      Readable.from(['a']),
      new Writable({ write(chunk, encoding, callback) { callback(new Error('nope')) } }),
      (error) => resolve(error && error.message)))
    log('failed', failed)`,
  "backpressure: write() answers false past highWaterMark, then 'drain'": `
    const { Writable } = require('stream')
    const writable = new Writable({ highWaterMark: 4, write(chunk, encoding, callback) { Promise.resolve().then(() => callback()) } })
    log('first', writable.write('ab'))
    log('second', writable.write('cdef'), writable.writableLength, writable.writableNeedDrain)
    await new Promise((resolve) => writable.once('drain', () => { log('drain', writable.writableLength); resolve() }))`,
  'for await over a Readable, Readable.from a string': `
    const { Readable } = require('stream')
    const seen = []
    for await (const chunk of Readable.from(['x', 'y'])) seen.push(chunk)
    for await (const chunk of Readable.from('whole')) seen.push(chunk)
    log('seen', seen.join(','))`,
  'Readable with read(): pull on demand': `
    const { Readable } = require('stream')
    let n = 0
    const counter = new Readable({ read() { n += 1; this.push(n <= 3 ? String(n) : null) } })
    const seen = []
    counter.on('data', (chunk) => seen.push(chunk.toString()))
    await new Promise((resolve) => counter.on('end', resolve))
    log('seen', seen.join(','))`,
  "'readable' and read()": `
    const { Readable } = require('stream')
    const readable = new Readable({ read() {} })
    readable.push('ab'); readable.push('cd'); readable.push(null)
    await new Promise((resolve) => {
      readable.on('readable', () => { let chunk; while ((chunk = readable.read()) !== null) log('read', chunk.toString()) })
      readable.on('end', () => { log('end'); resolve() })
    })`,
  "destroy(error) on a Readable: 'error' then 'close'": `
    const { Readable } = require('stream')
    const readable = new Readable({ read() {} })
    readable.on('close', () => log('close', readable.destroyed))
    await new Promise((resolve) => {
      readable.on('error', (error) => log('error', error.message))
      readable.on('close', resolve)
      readable.destroy(new Error('gone'))
      log('destroyed', readable.destroyed)
    })`,
  'objectMode streams carry objects': `
    const { Readable, Writable } = require('stream')
    const seen = []
    await new Promise((resolve) => Readable.from([{ a: 1 }, { b: 2 }]).pipe(new Writable({ objectMode: true, write(object, encoding, callback) { seen.push(object); callback() } })).on('finish', resolve))
    log('seen', JSON.stringify(seen))`,
  'module shape': `
    const stream = require('stream')
    const { Duplex, PassThrough, Readable, Transform, Writable } = stream
    const pass = new PassThrough()
    log(typeof stream, stream.Stream === stream, pass instanceof stream, pass instanceof Readable, pass instanceof Writable, pass instanceof Duplex, pass instanceof Transform)
    log(new Writable() instanceof Readable, typeof stream.promises.pipeline, typeof stream.finished, require('node:stream') === stream)`,
};

const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...args: unknown[]) => Promise<void>;
const nodeRequire = createRequire(import.meta.url);

async function inNode(body: string): Promise<unknown[][]> {
  const logged: unknown[][] = [];
  await new AsyncFunction('require', 'log', body)(nodeRequire, (...values: unknown[]) => logged.push(values));
  return JSON.parse(JSON.stringify(logged)) as unknown[][];
}

async function inSandbox(scenarios: Record<string, string>): Promise<Record<string, unknown[][]>> {
  const cases = Object.entries(scenarios).map(([name, body]) => `${JSON.stringify(name)}: async (log) => {\n${body}\n}`).join(',\n');
  const source = `const CASES = {\n${cases}\n}
    export async function processEvent(event) {
      const out = {}
      for (const name of Object.keys(CASES)) {
        const logged = []
        try { await CASES[name]((...values) => logged.push(values)) } catch (error) { logged.push(['threw', String(error && error.message)]) }
        out[name] = logged
      }
      event.properties.out = out
      return event
    }`;
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'stream-parity' }), 'index.js': source });
  const vm = await createAppVm({ instanceId: 1, name: 'stream-parity', code: app.code, config: {}, limits: { callTimeoutMs: 20_000 }, onLog: () => {} });
  try {
    const event: PluginEvent = { uuid: 'u', event: 'e', distinct_id: 'd', properties: {}, timestamp: '', ip: null, site_url: '', team_id: 1, now: '', sent_at: null };
    const [outcome] = await vm.processEventBatch([event]);
    if (!outcome || outcome.status !== 'ok') throw new Error(`the app failed: ${JSON.stringify(outcome)}`);
    return outcome.event.properties.out as Record<string, unknown[][]>;
  } finally {
    vm.dispose();
  }
}

describe("require('stream') in the sandbox logs what Node's stream logs", () => {
  let sandbox: Record<string, unknown[][]>;
  beforeAll(async () => {
    sandbox = await inSandbox(SCENARIOS);
  }, 30_000);

  it.each(Object.keys(SCENARIOS))('%s', async (name) => {
    expect(sandbox[name]).toEqual(await inNode(SCENARIOS[name]!));
  });
});
