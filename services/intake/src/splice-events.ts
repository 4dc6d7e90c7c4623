import { isUtf8 } from 'node:buffer';
import type { PluginEvent, RawEvent } from '@sluice/core';

/**
 * Serializing a request's events for their queue job without JSON.stringify-ing them whole: the
 * request's own JSON bytes are copied, and only what normalization set or changed is written
 * anew. The result parses (`JSON.parse`, as every consumer reads a job) to exactly the events
 * JSON.stringify would have given — same keys, same values, same key order — which is all the job
 * format promises. Where that cannot be guaranteed cheaply an event is stringified as before: a
 * number that JSON.parse would not give back unchanged (an exponent, `-0`, hundreds of digits),
 * a special key written with escapes or given twice, a person update merged into properties,
 * an `$ip` removed; and a request whose bytes are not valid UTF-8 or whose shape surprises the
 * scanner is stringified whole.
 */

/** Keys normalization assigns, in the order it adds them when the client did not send them. */
const ASSIGNED = ['uuid', 'distinct_id', 'properties', 'timestamp', 'ip', 'site_url', 'team_id', 'now', 'sent_at'] as const;
type Assigned = (typeof ASSIGNED)[number];
/** Keys normalization removes. */
const REMOVED = new Set(['api_key', 'token', 'offset']);
const SPECIAL = new Set<string>([...ASSIGNED, ...REMOVED]);
const PROPERTIES = 2; // index of 'properties' in ASSIGNED

/** What normalization is about to change, read from a raw event before it is normalized in place. */
export interface EventBefore {
  values: unknown[];
  /** `properties` as sent was an object (normalization then mutates that same object). */
  propertiesRecord: boolean;
  /** It held `$ip` (normalization may add `$ip`, or remove it for an anonymizing project). */
  hadIp: boolean;
  /** Top-level `$set`/`$set_once` objects get merged into properties. */
  personUpdates: boolean;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function eventBefore(raw: RawEvent): EventBefore {
  const properties = raw.properties;
  const propertiesRecord = isRecord(properties);
  return {
    values: [raw.uuid, raw.distinct_id, properties, raw.timestamp, raw.ip, raw.site_url, raw.team_id, raw.now, raw.sent_at],
    propertiesRecord,
    hadIp: propertiesRecord && '$ip' in properties,
    personUpdates: isRecord(raw.$set) || isRecord(raw.$set_once),
  };
}

// ---- scanning valid JSON bytes (the body JSON.parse accepted) ----

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** Longest number taken as it is: JSON.parse turns 309 digits and more into Infinity. */
const MAX_NUMBER_CHARS = 300;

class Scanner {
  /** Set when a number would not survive JSON.parse → JSON.stringify → JSON.parse as the same value. */
  exotic = false;

  constructor(readonly b: Buffer) {}

  space(i: number): number {
    const b = this.b;
    while (i < b.length && isSpace(b[i]!)) i++;
    return i;
  }

  /** `i` at an opening quote; returns the index after the closing one. */
  string(i: number): number {
    const b = this.b;
    i++;
    for (;;) {
      const c = b[i];
      if (c === QUOTE) return i + 1;
      if (c === undefined) throw new RangeError('unterminated string');
      i += c === BACKSLASH ? 2 : 1;
    }
  }

  number(i: number): number {
    const b = this.b;
    const start = i;
    if (b[i] === MINUS && b[i + 1] === 0x30) this.exotic = true; // -0 (and, harmlessly, -0.5)
    for (;;) {
      const c = b[i];
      if (c === undefined || !(isDigit(c) || c === MINUS || c === 0x2b || c === 0x2e)) {
        if (c === 0x65 || c === 0x45) {
          this.exotic = true; // an exponent: 1e400 is Infinity, which JSON.stringify writes as null
          i++;
          continue;
        }
        break;
      }
      i++;
    }
    if (i - start > MAX_NUMBER_CHARS) this.exotic = true;
    return i;
  }

  /** Any value at `i`; returns the index after it. */
  value(i: number): number {
    const b = this.b;
    const first = b[i];
    if (first === QUOTE) return this.string(i);
    if (first === MINUS || (first !== undefined && isDigit(first))) return this.number(i);
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      while (i < b.length && b[i]! >= 0x61 && b[i]! <= 0x7a) i++; // true, false, null
      return i;
    }
    let depth = 0;
    for (;;) {
      const c = b[i];
      if (c === QUOTE) {
        i = this.string(i);
        continue;
      }
      if (c === MINUS || (c !== undefined && isDigit(c))) {
        i = this.number(i);
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--depth === 0) return i + 1;
      } else if (c === undefined) throw new RangeError('unterminated value');
      i++;
    }
  }

  /**
   * The members of the object at `i`: [keyStart, keyEnd, valueStart, valueEnd] each, flat; returns
   * the index after the object.
   */
  members(i: number, out: number[]): number {
    const b = this.b;
    i = this.space(i + 1);
    if (b[i] === CLOSE_BRACE) return i + 1;
    for (;;) {
      const keyStart = i;
      i = this.string(i);
      const keyEnd = i;
      i = this.space(i);
      if (b[i] !== COLON) throw new RangeError('expected a colon');
      i = this.space(i + 1);
      const valueStart = i;
      i = this.value(i);
      out.push(keyStart, keyEnd, valueStart, i);
      i = this.space(i);
      if (b[i] === COMMA) i = this.space(i + 1);
      else if (b[i] === CLOSE_BRACE) return i + 1;
      else throw new RangeError('expected a comma or a closing brace');
    }
  }

  /** Start and end of each element of the array at `i`. */
  elements(i: number, out: number[]): number {
    const b = this.b;
    i = this.space(i + 1);
    if (b[i] === CLOSE_BRACKET) return i + 1;
    for (;;) {
      const start = i;
      i = this.value(i);
      out.push(start, i);
      i = this.space(i);
      if (b[i] === COMMA) i = this.space(i + 1);
      else if (b[i] === CLOSE_BRACKET) return i + 1;
      else throw new RangeError('expected a comma or a closing bracket');
    }
  }

  /** A key's name when it is written without escapes (the only way a special key is taken as is). */
  key(start: number, end: number): string | undefined {
    const b = this.b;
    for (let i = start + 1; i < end - 1; i++) if (b[i] === BACKSLASH) return undefined;
    return b.latin1Slice(start + 1, end - 1);
  }
}

/** Start and end of every event in the body, as parseCaptureBody found them; undefined when the shape is unexpected. */
function eventSpans(scanner: Scanner, count: number): number[] | undefined {
  const b = scanner.b;
  const at = scanner.space(0);
  const spans: number[] = [];
  if (b[at] === OPEN_BRACKET) {
    scanner.elements(at, spans);
  } else if (b[at] === OPEN_BRACE) {
    const members: number[] = [];
    scanner.members(at, members);
    let batch = -1;
    for (let m = 0; m < members.length; m += 4) {
      const name = scanner.key(members[m]!, members[m + 1]!);
      if (name === undefined) {
        // An escaped key might spell "batch": leave such a body to JSON.stringify.
        if (b.latin1Slice(members[m]!, members[m + 1]!).length > 0) return undefined;
      } else if (name === 'batch') batch = m; // the last one wins, as in JSON.parse
    }
    if (batch < 0) spans.push(at, scanner.value(at));
    else if (b[members[batch + 2]!] === OPEN_BRACKET) scanner.elements(members[batch + 2]!, spans);
    else return undefined;
  } else {
    return undefined;
  }
  return spans.length === count * 2 ? spans : undefined;
}

/** Writes strings and byte ranges into one growing buffer. */
class Output {
  private buffer: Buffer;
  length = 0;

  constructor(capacity: number) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  private room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }

  bytes(source: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.room(end - start);
    source.copy(this.buffer, this.length, start, end);
    this.length += end - start;
  }

  text(value: string): void {
    this.room(value.length * 3);
    this.length += this.buffer.utf8Write(value, this.length);
  }

  result(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/**
 * One event: its raw members copied (runs of untouched ones at once), the ones normalization
 * assigned rewritten unless their value stayed the same, removed ones left out, `$ip` inserted
 * into properties, and the assigned keys the client did not send appended in normalization's order.
 * False when the event must be stringified instead.
 */
function spliceEvent(scanner: Scanner, start: number, end: number, before: EventBefore, event: PluginEvent, out: Output, members: number[]): boolean {
  const b = scanner.b;
  members.length = 0;
  scanner.exotic = false;
  scanner.members(start, members);
  if (scanner.exotic || before.personUpdates) return false;
  let seen = 0; // bit per ASSIGNED key present
  // Pending text between rewritten members: [runStart, runEnd) of raw members copied as they are.
  let runStart = -1;
  let runEnd = -1;
  let first = true;
  const separator = () => {
    if (first) first = false;
    else out.text(',');
  };
  const flushRun = () => {
    if (runStart < 0) return;
    separator();
    out.bytes(b, runStart, runEnd);
    runStart = -1;
  };
  out.text('{');
  for (let m = 0; m < members.length; m += 4) {
    const keyStart = members[m]!;
    const keyEnd = members[m + 1]!;
    const valueEnd = members[m + 3]!;
    // Only a key of 2 to 11 plain characters can be special; anything else is copied.
    const length = keyEnd - keyStart - 2;
    let name: string | undefined;
    if (length >= 2 && length <= 11) {
      name = scanner.key(keyStart, keyEnd);
      if (name === undefined) {
        // Escapes: "\u0075uid" is "uuid". Whether it is special is not worth finding out here.
        return false;
      }
      if (!SPECIAL.has(name)) name = undefined;
    }
    if (name === undefined) {
      if (runStart < 0) runStart = keyStart;
      runEnd = valueEnd;
      continue;
    }
    if (REMOVED.has(name)) {
      flushRun();
      continue;
    }
    const index = ASSIGNED.indexOf(name as Assigned);
    if (seen & (1 << index)) return false; // given twice: JSON.parse kept the last one
    seen |= 1 << index;
    const value = event[name];
    if (index === PROPERTIES) {
      if (!before.propertiesRecord || value !== before.values[index]) return false;
      const ipAdded = !before.hadIp && (value as Record<string, unknown>).$ip !== undefined;
      const ipRemoved = before.hadIp && (value as Record<string, unknown>).$ip === undefined;
      if (ipRemoved) return false;
      if (!ipAdded) {
        if (runStart < 0) runStart = keyStart;
        runEnd = valueEnd;
        continue;
      }
      // Insert `"$ip":…` before the closing brace (after a comma unless the object is empty).
      let close = valueEnd - 1;
      let last = close - 1;
      while (isSpace(b[last]!)) last--;
      if (runStart < 0) runStart = keyStart;
      flushRunUpTo(close);
      out.text(`${b[last] === OPEN_BRACE ? '' : ','}"$ip":${JSON.stringify((value as Record<string, unknown>).$ip)}}`);
      continue;
    }
    if (value === before.values[index]) {
      if (runStart < 0) runStart = keyStart;
      runEnd = valueEnd;
      continue;
    }
    flushRun();
    separator();
    out.text(`"${name}":${JSON.stringify(value)}`);
  }
  flushRun();
  let appended = '';
  for (let index = 0; index < ASSIGNED.length; index++) {
    if (seen & (1 << index)) continue;
    const name = ASSIGNED[index]!;
    const value = event[name];
    if (value === undefined) continue;
    appended += `${first ? '' : ','}"${name}":${JSON.stringify(value)}`;
    first = false;
  }
  out.text(`${appended}}`);
  return true;

  function flushRunUpTo(close: number) {
    // The run (which ends with this properties member) is copied up to its closing brace.
    separator();
    out.bytes(b, runStart, close);
    runStart = -1;
  }
}

/**
 * The events of a request as the UTF-8 JSON of their list without its brackets (`{…},{…}`),
 * spliced from `json` (the bytes JSON.parse read) where possible. `before` is eventBefore() of
 * each raw event, taken before normalization; `events` the normalized events, in body order.
 */
export function serializeEvents(events: PluginEvent[], json?: Buffer, before?: EventBefore[]): Buffer {
  if (json && before && before.length === events.length && isUtf8(json)) {
    const spliced = trySplice(json, events, before);
    if (spliced) return spliced;
  }
  const whole = Buffer.from(JSON.stringify(events));
  return whole.subarray(1, whole.length - 1);
}

function trySplice(json: Buffer, events: PluginEvent[], before: EventBefore[]): Buffer | undefined {
  const scanner = new Scanner(json);
  let spans: number[] | undefined;
  try {
    spans = eventSpans(scanner, events.length);
  } catch {
    return undefined;
  }
  if (!spans) return undefined;
  // Normalization adds ~200 bytes an event; the buffer grows if that is not enough.
  const out = new Output(json.length + events.length * 256);
  const members: number[] = [];
  for (let e = 0; e < events.length; e++) {
    if (e > 0) out.text(',');
    const mark = out.length;
    let spliced: boolean;
    try {
      spliced = spliceEvent(scanner, spans[2 * e]!, spans[2 * e + 1]!, before[e]!, events[e]!, out, members);
    } catch {
      spliced = false;
    }
    if (!spliced) {
      out.length = mark;
      out.text(JSON.stringify(events[e]));
    }
  }
  return out.result();
}
