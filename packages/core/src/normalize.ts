import { UUID, uuidv7 } from 'uuidv7';
import type { PluginEvent } from './event';

/** A request the intake refuses; `code` and `message` become the JSON error body. */
export class CaptureError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
    /** Sent as Retry-After (429, 503): PostHog's SDKs wait and retry. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export type RawEvent = Record<string, unknown>;

export interface ParsedCapture {
  token: string;
  events: RawEvent[];
  sentAt: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tokenOf(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const properties = isRecord(value.properties) ? value.properties : {};
  const token = value.api_key ?? value.token ?? properties.token;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

/**
 * The events of a capture body and the envelope around them: a single event (its own envelope),
 * an array of events (no envelope), or `{api_key, batch: [...]}`.
 */
export function captureEnvelope(body: unknown): { events: RawEvent[]; envelope: Record<string, unknown> } {
  let events: unknown[];
  let envelope: Record<string, unknown> = {};
  if (Array.isArray(body)) {
    events = body;
  } else if (isRecord(body)) {
    envelope = body;
    if (body.batch !== undefined) {
      if (!Array.isArray(body.batch)) throw new CaptureError('invalid_payload', '"batch" must be an array of events');
      events = body.batch;
    } else {
      events = [body];
    }
  } else {
    throw new CaptureError('invalid_payload', 'the body must be a JSON object or an array of events');
  }
  if (events.length === 0) throw new CaptureError('no_events', 'the request holds no events');
  events.forEach((event, index) => {
    if (!isRecord(event)) throw new CaptureError('invalid_event', `event ${index} is not a JSON object`);
  });
  return { events: events as RawEvent[], envelope };
}

/**
 * Reads the body shapes PostHog clients send (captureEnvelope). The token comes from the body,
 * the first event, or `?token=`.
 */
export function parseCaptureBody(body: unknown, queryToken?: string): ParsedCapture {
  const { events, envelope } = captureEnvelope(body);
  const token = tokenOf(envelope) ?? tokenOf(events[0]) ?? (queryToken || undefined);
  if (!token) {
    throw new CaptureError('missing_token', 'no project token: send it as "api_key" (or "token") in the body', 401);
  }
  return { token, events, sentAt: envelope.sent_at };
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** PostHog ignores timestamps more than 23 hours in the future and uses the server time. */
const MAX_FUTURE_MS = 23 * 3600 * 1000;

function parseDate(value: unknown): Date | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * PostHog's timestamp rules: `offset` (ms before now) wins; a `timestamp` with `sent_at` is
 * corrected for the client's clock skew; a bare `timestamp` is taken as is; otherwise now.
 */
export function eventTimestamp(raw: RawEvent, sentAt: unknown, now: Date): Date {
  return timestampWith(raw, parseDate(raw.sent_at ?? sentAt), now);
}

/** eventTimestamp with the applicable sent_at already parsed (once per request, not per event). */
function timestampWith(raw: RawEvent, sent: Date | undefined, now: Date): Date {
  const offset = raw.offset;
  if (typeof offset === 'number' && Number.isFinite(offset)) return new Date(now.getTime() - offset);
  const timestamp = parseDate(raw.timestamp);
  if (!timestamp) return now;
  const corrected = sent ? new Date(now.getTime() + (timestamp.getTime() - sent.getTime())) : timestamp;
  return corrected.getTime() - now.getTime() > MAX_FUTURE_MS ? now : corrected;
}

/**
 * Deeper than this, a body is refused: nothing real nests so deep, and a few thousand levels
 * overflow the stack of every JSON.stringify downstream (queue writes, the sandbox).
 */
export const MAX_EVENT_DEPTH = 100;

/**
 * Whether a parsed JSON value nests deeper than `max`. The recursion stops `max` levels down,
 * so a hostile value cannot overflow the stack here; it visits objects and arrays only, which
 * events have few of (for…in over a parsed object is several times faster than an explicit stack).
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  return typeof value === 'object' && value !== null && deeperThan(value, max);
}

/** Whether `value` (an object or array at the current level) has more than `levels` levels. */
function deeperThan(value: object, levels: number): boolean {
  if (levels <= 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i];
      if (typeof child === 'object' && child !== null && deeperThan(child, levels - 1)) return true;
    }
    return false;
  }
  for (const key in value) {
    const child: unknown = (value as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null && deeperThan(child, levels - 1)) return true;
  }
  return false;
}

/**
 * posthog-js sends `$identify`'s person properties as top-level `$set`/`$set_once`; PostHog's
 * ingestion merges them into `properties.$set`/`$set_once` (the top-level ones win), where apps
 * and the store look for them.
 */
function mergePersonUpdates(raw: RawEvent, properties: Record<string, unknown>): void {
  for (const key of ['$set', '$set_once'] as const) {
    const update = raw[key];
    if (!isRecord(update)) continue;
    const existing = properties[key];
    properties[key] = isRecord(existing) ? { ...existing, ...update } : update;
  }
}

/**
 * Random bits for the uuids a request's events are given when they have none: event `index` gets
 * the v7 uuid of (the request's time, seed + index). Drawn once at intake and kept with the
 * request, so normalizing the request again (a retried job) gives every event the same uuid, and
 * the store's uuid key still catches a duplicate.
 */
export type UuidSeed = [randA: number, randBHi: number, randBLo: number];

/**
 * Random words drawn a few thousand at a time: one getRandomValues call per request cost the
 * intake about 5% of its time.
 */
const seedWords = new Uint32Array(3 * 1024);
let nextSeedWord = seedWords.length;

export function newUuidSeed(): UuidSeed {
  if (nextSeedWord === seedWords.length) {
    crypto.getRandomValues(seedWords);
    nextSeedWord = 0;
  }
  const at = nextSeedWord;
  nextSeedWord += 3;
  return [seedWords[at]! & 0xfff, seedWords[at + 1]! & 0x3fffffff, seedWords[at + 2]!];
}

export interface NormalizeContext {
  /** The project's number, the events' `team_id`. */
  teamId: number;
  /** The client's address; null when unknown or when the project does not store IPs. */
  ip: string | null;
  /** The project's "do not store IPs" option: drops `$ip` sent by the client too. */
  anonymizeIp?: boolean;
  now: Date;
  sentAt: unknown;
  /** Without it, an event with no valid uuid gets a fresh random one. */
  uuidSeed?: UuidSeed;
}

function distinctIdOf(raw: RawEvent, properties: Record<string, unknown>): unknown {
  return raw.distinct_id ?? raw.$distinct_id ?? properties.distinct_id ?? properties.$distinct_id;
}

/**
 * What makes an event acceptable: a name, properties that are an object, a distinct_id. The
 * intake checks every event of a request with this before acknowledging it; normalization
 * (eventNormalizer) may then happen later, in the first worker, and cannot fail. Answers the
 * event's person: its distinct_id as normalizing will set it (a string).
 */
export function checkRawEvent(raw: RawEvent, index: number): string {
  if (typeof raw.event !== 'string' || raw.event === '') {
    throw new CaptureError('missing_event_name', `event ${index} has no "event" name`);
  }
  const given = raw.properties;
  if (given !== undefined && given !== null && !isRecord(given)) {
    throw new CaptureError('invalid_properties', `event ${index}: "properties" must be a JSON object`);
  }
  const distinctId = distinctIdOf(raw, given ?? {});
  if ((typeof distinctId !== 'string' && typeof distinctId !== 'number') || distinctId === '') {
    throw new CaptureError('missing_distinct_id', `event ${index} has no "distinct_id"`);
  }
  return String(distinctId);
}

/**
 * A normalizer for the events of one request: what is the same for all of them (the time, the
 * request's sent_at) is worked out once.
 */
export function eventNormalizer(context: NormalizeContext): (raw: RawEvent, index: number) => PluginEvent {
  const nowIso = context.now.toISOString();
  const nowMs = context.now.getTime();
  const requestSentAt = parseDate(context.sentAt);
  const requestSentAtIso = requestSentAt ? requestSentAt.toISOString() : null;
  const seed = context.uuidSeed;
  const freshUuid = seed ? (index: number) => UUID.fromFieldsV7(nowMs, seed[0], seed[1], (seed[2] + index) >>> 0).toString() : () => uuidv7();
  return (raw, index) => {
    checkRawEvent(raw, index);
    const properties = (raw.properties ?? {}) as Record<string, unknown>;
    const distinctId = distinctIdOf(raw, properties) as string | number;
    const hasOwnSentAt = raw.sent_at !== undefined && raw.sent_at !== null;
    const ownSentAt = hasOwnSentAt ? parseDate(raw.sent_at) : undefined;
    // The event's own sent_at when it has one, else the request's (parsed once, above).
    const timestamp = timestampWith(raw, hasOwnSentAt ? ownSentAt : requestSentAt, context.now);
    // The parsed body belongs to this request alone, so the event is finished in place instead
    // of copied (the intake's hottest loop). Fields set to undefined vanish when it is serialized.
    mergePersonUpdates(raw, properties);
    let ip: string | null;
    if (context.anonymizeIp) {
      if ('$ip' in properties) properties.$ip = undefined;
      ip = null;
    } else {
      ip = typeof properties.$ip === 'string' ? properties.$ip : context.ip;
      if (ip && properties.$ip === undefined) properties.$ip = ip;
    }
    if ('api_key' in raw) raw.api_key = undefined;
    if ('token' in raw) raw.token = undefined;
    if ('offset' in raw) raw.offset = undefined;
    const event = raw as RawEvent & PluginEvent;
    event.uuid = typeof raw.uuid === 'string' && UUID_PATTERN.test(raw.uuid) ? raw.uuid.toLowerCase() : freshUuid(index);
    event.distinct_id = String(distinctId);
    event.properties = properties;
    event.timestamp = timestamp.toISOString();
    event.ip = ip;
    event.site_url = '';
    event.team_id = context.teamId;
    event.now = nowIso;
    event.sent_at = !hasOwnSentAt ? requestSentAtIso : ownSentAt ? ownSentAt.toISOString() : null;
    return event;
  };
}

/** Validates one raw event and gives it the shape apps expect (PostHog's PluginEvent); `raw` is reused. */
export function normalizeEvent(raw: RawEvent, context: NormalizeContext & { index: number }): PluginEvent {
  return eventNormalizer(context)(raw, context.index);
}
