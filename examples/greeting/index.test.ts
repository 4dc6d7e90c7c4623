import { describe, expect, it } from 'vitest';
import { createEvent, loadApp, runProcessEvent } from '@sluice/app-sdk';

// Runs the app in the same sandbox as the pipeline, with its plugin.json config applied.
describe('processEvent', () => {
  it('greets the person, and drops what it should', async () => {
    const app = await loadApp(import.meta.dirname, { config: { greeting: 'Hi' } });
    const event = await runProcessEvent(app, createEvent({ distinct_id: 'ada' }));
    expect(event?.properties.greeting).toBe('Hi ada');
    expect(await runProcessEvent(app, createEvent({ event: 'drop me' }))).toBeNull();
    await app.dispose();
  });
});
