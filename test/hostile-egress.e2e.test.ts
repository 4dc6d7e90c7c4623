/**
 * Hostile egress through the real pipeline, on `sluice start` with no allow setting: an app aims
 * every bridged SDK client at the cloud metadata address and at loopback (snowflake-sdk is not
 * among them: an app names only its account, and the address is the operator's setting). Each attempt is refused
 * by the guard and logged in the app's logs; the events go on (processEvent errors pass them on
 * unchanged), and nothing was reached.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appLogs, install, post, sampleEvents, storedEvents } from './helpers/api';
import { serviceAccountKey } from './helpers/bigquery-server';
import { startSluice, waitFor, type RunningSluice } from './helpers/services';

describe('an app aiming every bridge at 169.254.169.254 and 127.0.0.1 without the allow setting', () => {
  let sluice: RunningSluice;

  beforeAll(async () => {
    sluice = await startSluice();
  }, 60_000);
  afterAll(async () => {
    await sluice?.stop();
  });

  it('is refused at every attempt, each logged, and the events are still stored', async () => {
    const key = serviceAccountKey('hostile', 'https://oauth2.googleapis.com/token');
    const { id } = await install(sluice.url, 'test/compat/hostile-egress', { serviceAccountKey: JSON.stringify(key) });
    const events = sampleEvents(3);
    expect((await post(sluice.url, '/batch', { api_key: events[0]!.api_key, batch: events })).status).toBe(200);
    await waitFor('the 3 events stored', async () => (await storedEvents(sluice.url)).filter((row) => events.some((event) => event.uuid === row.uuid)).length === 3, 30_000);
    // (log lines are written in batches: they may land after the events)
    const logs = await waitFor('the failure logged', async () => {
      const lines = (await appLogs(sluice.url, id)).map((line) => line.message);
      return lines.some((line) => line.startsWith('processEvent failed')) && lines;
    }, 15_000);
    const refusals: Array<[string, RegExp]> = [
      ['pg metadata', /169\.254\.169\.254.*is blocked/],
      ['pg loopback', /127\.0\.0\.1.*is blocked/],
      ['s3 metadata', /169\.254\.169\.254.*is blocked/],
      ['kinesis loopback', /127\.0\.0\.1.*is blocked/],
      ['gcs metadata', /169\.254\.169\.254.*is blocked/],
      ['gcs token at metadata', /169\.254\.169\.254.*is blocked/],
      ['bigquery token at loopback', /127\.0\.0\.1.*is blocked/],
      ['pubsub metadata', /169\.254\.169\.254.*is blocked/],
    ];
    for (const [attempt, refusal] of refusals) {
      expect(logs.filter((line) => line.startsWith(`${attempt}: `)), attempt).toContainEqual(expect.stringMatching(refusal));
    }
    expect(logs.join('\n')).not.toMatch(/: reached$/m);
    expect(logs).toContainEqual(expect.stringMatching(/^processEvent failed for \d+ of \d+ events \(passed on unchanged\); first error: .*is blocked/));
  });
});
