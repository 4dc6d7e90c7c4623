import { CaptureError, checkRawEvent, parseCaptureBody, type RawEvent } from '@sluice/core';
import { decodeCaptureBodyNow, decodeCompressedBody, type DecodedBody, type RawCapture } from './decode-body';
import { engageBody } from './engage';
import { partsByShard, type CapturePart } from './capture-parts';

/** A capture request's raw parts: all a check needs, and nothing that cannot be posted to a thread. */
export interface CaptureInput {
  body: Buffer | undefined;
  contentEncoding: string | undefined;
  compression: string | undefined;
  /** `?data=` of a GET (beacon) request. */
  queryData: string | undefined;
  /** `?token=` or `?api_key=`. */
  queryToken: string | undefined;
  /** /engage: person updates become `$identify` events. */
  engage: boolean;
  maxDecodedBytes: number;
  maxEventsPerRequest: number;
  /** Ordered lanes (SLUICE_ORDER_SHARDS): the request is split by its persons' lanes. */
  shards: number;
}

/** A request that passed every check that needs no project: what the intake queues. */
export interface CheckedCapture {
  token: string;
  events: number;
  /** The body by lane (capture-parts.ts): usually one part, the body's own text, written into the queue job as it is. */
  parts: CapturePart[];
  /** Each person's (distinct_id's) number of events in the request, for the per-person token bucket. */
  people: Array<[distinctId: string, events: number]>;
}

/** Checks every event (checkRawEvent): answers each event's person, and each person's count of events. */
function checkEvents(events: RawEvent[]): { persons: string[]; people: Array<[string, number]> } {
  const counts = new Map<string, number>();
  const persons = events.map((event, index) => {
    const person = checkRawEvent(event, index);
    counts.set(person, (counts.get(person) ?? 0) + 1);
    return person;
  });
  return { persons, people: [...counts] };
}

/**
 * Decodes a capture body and checks it: JSON, depth, shape, token, event count and every event
 * (checkRawEvent), so a request is refused whole or accepted whole. Throws CaptureError. Nothing
 * is normalized here (the first hop's consumer does it): the intake's cost stays close to parsing
 * the body once.
 */
export async function checkCapture(input: CaptureInput): Promise<CheckedCapture> {
  return checkCaptureNow(input) ?? checkedCapture(input, await decodeCompressedBody(rawCapture(input)));
}

/** checkCapture without a promise, when the body needs no inflating; undefined when it does. */
export function checkCaptureNow(input: CaptureInput): CheckedCapture | undefined {
  const decoded = decodeCaptureBodyNow(rawCapture(input));
  return decoded && checkedCapture(input, decoded);
}

function rawCapture(input: CaptureInput): RawCapture {
  return { body: input.body, contentEncoding: input.contentEncoding, compression: input.compression, queryData: input.queryData, maxDecodedBytes: input.maxDecodedBytes };
}

function checkedCapture(input: CaptureInput, decoded: DecodedBody): CheckedCapture {
  const body = input.engage ? engageBody(decoded.value) : decoded.value;
  const parsed = parseCaptureBody(body, input.queryToken);
  if (parsed.events.length > input.maxEventsPerRequest) {
    throw new CaptureError('too_many_events', `the request holds ${parsed.events.length} events; at most ${input.maxEventsPerRequest} are accepted per request`, 413);
  }
  const { persons, people } = checkEvents(parsed.events);
  // /engage's updates became events above: that body is serialized anew (it is rare and small).
  const json = input.engage ? JSON.stringify(body) : (decoded.bytes ?? decoded.text);
  return { token: parsed.token, events: parsed.events.length, parts: partsByShard(body, persons, input.shards, json), people };
}
