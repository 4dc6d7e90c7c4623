import { captureEnvelope, checkRawEvent, personShard, type RawEvent } from '@sluice/core';

/**
 * The part of an accepted request bound for one lane (an ordered shard, or undefined for the
 * unordered one): a capture body of its own, holding the request's events of that lane in order.
 */
export interface CapturePart {
  shard: number | undefined;
  /** The part's body as JSON text or UTF-8 bytes; a request that fits one lane keeps the client's own. */
  json: string | Buffer;
  events: number;
}

/**
 * Splits a checked body by its persons' lanes (personShard). Most requests (a browser's batch is
 * one person) fit one lane and keep their text as it is; the others get one body per lane, with
 * the envelope's fields (sent_at…) repeated, so each part normalizes as the whole would.
 */
export function partsByShard(body: unknown, persons: readonly string[], shards: number, json: string | Buffer): CapturePart[] {
  if (shards === 0) return [{ shard: undefined, json, events: persons.length }];
  const laneOf = persons.map((person) => personShard(person, shards));
  const first = laneOf[0]!;
  if (laneOf.every((shard) => shard === first)) return [{ shard: first, json, events: persons.length }];
  const indexes = new Map<number, number[]>();
  laneOf.forEach((shard, index) => {
    const list = indexes.get(shard);
    if (list) list.push(index);
    else indexes.set(shard, [index]);
  });
  const { events } = captureEnvelope(body);
  return [...indexes].map(([shard, at]) => ({ shard, json: bodyWith(body, at.map((index) => events[index])), events: at.length }));
}

/**
 * Moves hot persons' excess to the unordered lane: of a person with `excess` events over their
 * bucket, the last `excess` events of the request leave their ordered part. Rare (it re-parses the
 * parts that hold such a person), so it runs on the intake's loop after the bucket says so.
 */
export function withOverflow(parts: CapturePart[], people: ReadonlyArray<readonly [string, number]>, excess: ReadonlyMap<string, number>): CapturePart[] {
  const total = new Map(people);
  const kept: CapturePart[] = [];
  const overflow: RawEvent[] = [];
  let envelope: unknown;
  for (const part of parts) {
    const body: unknown = JSON.parse(String(part.json));
    // The overflow part takes the first part's envelope (its sent_at is the request's).
    envelope ??= body;
    const { events } = captureEnvelope(body);
    const seen = new Map<string, number>();
    const ordered = events.filter((event) => {
      const person = checkRawEvent(event, 0);
      const over = excess.get(person);
      const index = (seen.get(person) ?? 0) + 1;
      seen.set(person, index);
      if (over === undefined || index <= total.get(person)! - over) return true;
      overflow.push(event);
      return false;
    });
    if (ordered.length === events.length) kept.push(part);
    else if (ordered.length > 0) kept.push({ shard: part.shard, json: bodyWith(body, ordered), events: ordered.length });
  }
  if (overflow.length === 0) return kept;
  // A lone part that overflows whole (a single-event body, say) keeps its own text.
  if (kept.length === 0 && parts.length === 1) return [{ ...parts[0]!, shard: undefined }];
  return [...kept, { shard: undefined, json: bodyWith(envelope, overflow), events: overflow.length }];
}

/** A capture body like `body` (an array of events, or an envelope with `batch`) holding `events`. */
function bodyWith(body: unknown, events: unknown[]): string {
  return JSON.stringify(Array.isArray(body) ? events : { ...(body as Record<string, unknown>), batch: events });
}

/** Group commit gathers requests per project and lane: a lane's key, and back. */
export function laneKey(projectId: string, shard: number | undefined): string {
  return shard === undefined ? projectId : `${projectId}\u0000${shard}`;
}

export function fromLaneKey(key: string): { projectId: string; shard: number | undefined } {
  const at = key.indexOf('\u0000');
  return at < 0 ? { projectId: key, shard: undefined } : { projectId: key.slice(0, at), shard: Number(key.slice(at + 1)) };
}
