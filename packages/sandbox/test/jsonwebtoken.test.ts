import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import type { PluginEvent } from '@sluice/core';
import { compileApp, createAppVm } from '../src';

/** `require('jsonwebtoken')` in an app against the same library called in Node: same tokens, same errors. */
async function run(body: string): Promise<Record<string, unknown>> {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name: 'jwt' }), 'index.js': `const jwt = require('jsonwebtoken')
    export async function processEvent(event) { event.properties.out = await (async () => { ${body} })(); return event }` });
  const vm = await createAppVm({ instanceId: 1, name: 'jwt', code: app.code, config: {}, onLog: () => {} });
  try {
    const input: PluginEvent = { uuid: 'u', event: 'e', distinct_id: 'd', properties: {}, timestamp: '', ip: null, site_url: '', team_id: 1, now: '', sent_at: null };
    const [outcome] = await vm.processEventBatch([input]);
    if (outcome?.status !== 'ok') throw new Error(JSON.stringify(outcome));
    return outcome.event.properties.out as Record<string, unknown>;
  } finally {
    vm.dispose();
  }
}

describe("require('jsonwebtoken') through the host", () => {
  it('signs the same token as Node, verifies and decodes it, synchronously and with callbacks, Buffer secrets too', async () => {
    const out = await run(`
      const token = jwt.sign({ sub: 'user', n: 1 }, 'shh', { noTimestamp: true, expiresIn: undefined })
      const fromBuffer = jwt.sign({ sub: 'user' }, Buffer.from('shh'), { noTimestamp: true })
      const verified = jwt.verify(token, 'shh')
      const viaCallback = await new Promise((resolve, reject) => jwt.verify(token, 'shh', (error, payload) => error ? reject(error) : resolve(payload)))
      return { token, fromBuffer, verified, viaCallback, decoded: jwt.decode(token, { complete: true }).header }`);
    expect(out).toEqual({
      token: jwt.sign({ sub: 'user', n: 1 }, 'shh', { noTimestamp: true }),
      fromBuffer: jwt.sign({ sub: 'user' }, 'shh', { noTimestamp: true }),
      verified: { sub: 'user', n: 1 }, viaCallback: { sub: 'user', n: 1 }, decoded: { alg: 'HS256', typ: 'JWT' },
    });
  });

  it("throws jsonwebtoken's own error classes: a bad signature, an expired token (with expiredAt), a callback's error", async () => {
    const expired = jwt.sign({ sub: 'old', exp: 1_000_000 }, 'shh');
    const out = await run(`
      const caught = (work) => { try { work(); return null } catch (error) { return { name: error.name, message: error.message, isJwtError: error instanceof jwt.JsonWebTokenError, expiredAt: error.expiredAt instanceof Date ? error.expiredAt.toISOString() : undefined } } }
      const token = jwt.sign({ sub: 'user' }, 'shh')
      const viaCallback = await new Promise((resolve) => jwt.verify(token, 'wrong', (error) => resolve(error && error.name)))
      return { bad: caught(() => jwt.verify(token, 'wrong')), expired: caught(() => jwt.verify(${JSON.stringify(expired)}, 'shh')), malformed: caught(() => jwt.verify('x.y', 'shh')), viaCallback }`);
    expect(out).toEqual({
      bad: { name: 'JsonWebTokenError', message: 'invalid signature', isJwtError: true },
      expired: { name: 'TokenExpiredError', message: 'jwt expired', isJwtError: true, expiredAt: new Date(1_000_000_000).toISOString() },
      malformed: { name: 'JsonWebTokenError', message: 'jwt malformed', isJwtError: true },
      viaCallback: 'JsonWebTokenError',
    });
  });
});
