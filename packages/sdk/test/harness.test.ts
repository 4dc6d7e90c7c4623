import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEvent, createPageview, loadApp, runOnEvent, runProcessEvent } from '../src';

describe('the app-author harness (the real sandbox)', () => {
  it('runs an example app from its folder with its config, as the pipeline would', async () => {
    const app = await loadApp(join(import.meta.dirname, '../../../examples/hello-world'), { config: { name: 'Ada' } });
    const processed = await runProcessEvent(app, createPageview({ properties: { plan: 'pro' } }));
    expect(processed?.properties).toMatchObject({ hello: 'Hello Ada', plan: 'pro', $current_url: 'https://example.com/' });
    await app.dispose();
  });

  it('reports drops, errors, RetryError, logs and enqueued jobs', async () => {
    const app = await loadApp({
      'plugin.json': JSON.stringify({ name: 'harness' }),
      'index.ts': `import { RetryError } from '@posthog/plugin-scaffold'
        export async function processEvent(e, { jobs }) {
          if (e.event === 'drop') return null
          if (e.event === 'boom') throw new Error('boom')
          console.log('saw ' + e.event)
          await jobs.later({ id: e.uuid }).runIn(1, 'hour')
          return e
        }
        export function onEvent() { throw new RetryError('busy') }`,
    });
    expect(await runProcessEvent(app, createEvent({ event: 'drop' }))).toBeNull();
    await expect(runProcessEvent(app, createEvent({ event: 'boom' }))).rejects.toThrow('boom');
    const kept = createEvent({ event: 'kept' });
    expect(await runProcessEvent(app, kept)).toMatchObject({ event: 'kept' });
    expect(app.logs.map((entry) => entry.message)).toEqual(['saw kept']);
    expect(app.jobs).toEqual([{ name: 'later', payload: { id: kept.uuid }, runAt: expect.any(Number) }]);
    expect(await runOnEvent(app, kept)).toEqual({ ok: false, error: 'RetryError: busy', retry: true });
    await app.dispose();
  });
});
