import { describe, expect, it } from 'vitest';
import { CaptureError, eventTimestamp, nestsDeeperThan, normalizeEvent, parseCaptureBody } from '../src/normalize';
import { ConfigError, loadConfig } from '../src/config';

const now = new Date('2026-11-25T12:00:00.000Z');
const context = { teamId: 7, ip: '10.0.0.1', now, sentAt: undefined, index: 0 };

describe('parseCaptureBody', () => {
  it('reads a single event, an array and a {batch} body, with the token from each place', () => {
    expect(parseCaptureBody({ api_key: 'phc_a', event: 'e' })).toMatchObject({ token: 'phc_a', events: [{ event: 'e' }] });
    expect(parseCaptureBody([{ token: 'phc_b', event: 'e' }]).token).toBe('phc_b');
    expect(parseCaptureBody({ api_key: 'phc_c', batch: [{ event: 'a' }, { event: 'b' }] }).events).toHaveLength(2);
    expect(parseCaptureBody({ event: 'e', properties: { token: 'phc_d' } }).token).toBe('phc_d');
    expect(parseCaptureBody({ event: 'e' }, 'phc_q').token).toBe('phc_q');
  });

  it('refuses bodies without events or token, with codes', () => {
    expect(() => parseCaptureBody('x')).toThrow(CaptureError);
    expect(() => parseCaptureBody({ api_key: 'k', batch: [] })).toThrow(/no events/);
    expect(() => parseCaptureBody({ api_key: 'k', batch: {} })).toThrow(/"batch" must be an array/);
    expect(() => parseCaptureBody({ api_key: 'k', batch: [1] })).toThrow(/event 0 is not a JSON object/);
    try {
      parseCaptureBody({ event: 'e' });
      expect.unreachable();
    } catch (error) {
      expect((error as CaptureError).statusCode).toBe(401);
      expect((error as CaptureError).code).toBe('missing_token');
    }
  });
});

describe('normalizeEvent', () => {
  it('keeps a valid uuid, generates a v7 one otherwise, and fills the PluginEvent fields', () => {
    const kept = normalizeEvent({ event: 'e', distinct_id: 'u', uuid: '01A1F7F8-302E-72F8-A263-DDBAF9BF739C', api_key: 'k' }, context);
    expect(kept.uuid).toBe('01a1f7f8-302e-72f8-a263-ddbaf9bf739c');
    expect(kept).toMatchObject({ team_id: 7, ip: '10.0.0.1', properties: { $ip: '10.0.0.1' }, now: now.toISOString() });
    // The token is gone from the event as it is queued and stored (serialized).
    expect(JSON.parse(JSON.stringify(kept))).not.toHaveProperty('api_key');
    const generated = normalizeEvent({ event: 'e', distinct_id: 7, uuid: 'nope' }, context);
    expect(generated.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(generated.distinct_id).toBe('7');
  });

  it('names what is missing', () => {
    expect(() => normalizeEvent({ distinct_id: 'u' }, { ...context, index: 3 })).toThrow('event 3 has no "event" name');
    expect(() => normalizeEvent({ event: 'e' }, context)).toThrow(/no "distinct_id"/);
    expect(() => normalizeEvent({ event: 'e', distinct_id: 'u', properties: [] }, context)).toThrow(/"properties" must be a JSON object/);
  });
});

describe('eventTimestamp (PostHog clock-skew rules)', () => {
  it('corrects a timestamp by the client clock skew seen in sent_at', () => {
    // The client's clock runs 10 s ahead: its event happened 5 s before it sent.
    const raw = { timestamp: '2026-11-25T12:00:05.000Z', sent_at: '2026-11-25T12:00:10.000Z' };
    expect(eventTimestamp(raw, undefined, now).toISOString()).toBe('2026-11-25T11:59:55.000Z');
  });

  it('uses offset, a bare timestamp, or now for invalid and far-future dates', () => {
    expect(eventTimestamp({ offset: 1500 }, undefined, now).toISOString()).toBe('2026-11-25T11:59:58.500Z');
    expect(eventTimestamp({ timestamp: '2026-11-01T00:00:00Z' }, undefined, now).toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(eventTimestamp({ timestamp: 'yesterday-ish' }, undefined, now)).toEqual(now);
    expect(eventTimestamp({ timestamp: '2027-01-01T00:00:00Z' }, undefined, now)).toEqual(now);
  });
});

describe('loadConfig', () => {
  it('has defaults and names a bad variable', () => {
    expect(loadConfig({})).toMatchObject({ port: 8000, host: '127.0.0.1', redisPrefix: 'sluice', dataDir: './.sluice' });
    expect(() => loadConfig({ SLUICE_PORT: 'eighty' })).toThrow(new ConfigError('SLUICE_PORT must be an integer from 0 to 65535, got "eighty"'));
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL must start with postgres:/);
    expect(() => loadConfig({ SLUICE_REDIS_PREFIX: 'a b' })).toThrow(/SLUICE_REDIS_PREFIX/);
  });
});

describe('person updates', () => {
  it('merges top-level $set and $set_once into properties, as PostHog does for posthog-js identify', () => {
    const event = normalizeEvent(
      { event: '$identify', distinct_id: 'u', $set: { email: 'a@b.c' }, $set_once: { first: 1 }, properties: { $set: { plan: 'pro', email: 'old' } } },
      { teamId: 1, ip: null, now: new Date(), sentAt: undefined, index: 0 },
    );
    expect(event.properties.$set).toEqual({ plan: 'pro', email: 'a@b.c' });
    expect(event.properties.$set_once).toEqual({ first: 1 });
  });

  it('measures nesting without overflowing the stack', () => {
    expect(nestsDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: [{ b: [1] }] }, 3)).toBe(true);
    expect(nestsDeeperThan({ s: '[[[[{{{{' }, 1)).toBe(false);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(nestsDeeperThan(deep, 100)).toBe(true);
  });
});
