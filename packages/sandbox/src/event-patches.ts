import type { PluginEvent } from '@sluice/core';
import type { EventOutcome } from './app-vm';

/**
 * The host's half of the batch protocol (the VM's half is processBatch in vm/prelude.js).
 *
 * The VM tracks which top-level and `properties` keys the app wrote or deleted; for an event the
 * app returns as the same object it answers a patch of those keys (or 0: unchanged) instead of
 * the whole event, and the host applies it to the event it already holds. Nested values are not
 * tracked, so the host names per event the keys whose values it cannot trust to come back
 * unchanged — objects and arrays (the app may mutate them in place) and values that JSON does not
 * carry as they are (undefined, NaN, -0, Dates…) — and the VM always sends their current values.
 * Each event's properties travel as a separate slice of text, parsed in the VM only when the app
 * reads them.
 *
 * The result equals a full JSON round trip of what the app returned, key order included. Events
 * the app left unchanged come back as the very objects passed in, and changed ones share their
 * untouched values with the inputs: the inputs are never mutated, and callers treat both as
 * read-only (the pipeline already does: applyStageOutcomes copies).
 */

/**
 * Per event: 1 (sent whole, not tracked) or [length of its properties JSON in the properties text
 * (-1: inline in the event), volatile top-level keys, volatile properties keys].
 */
type Shape = 1 | [number, string[], string[]];

/** The VM's answer for one event. */
type RawOutcome =
  | 0
  | { status: 'ok'; event?: unknown; patch?: Patch }
  | { status: 'dropped' }
  | { status: 'error'; error: unknown };

/**
 * t/td: top-level keys set/deleted; p/pd: the same for `properties`; m: the properties were parsed
 * in the VM, so p holds the current values of their volatile keys too (otherwise the host puts its
 * own copies of those through JSON).
 */
interface Patch {
  t?: Record<string, unknown>;
  td?: string[];
  p?: Record<string, unknown>;
  pd?: string[];
  m?: 1;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Whether a JSON round trip could give back something else than `value` itself (or the app could change it in place). */
function isVolatile(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return false;
    case 'number':
      return !Number.isFinite(value) || Object.is(value, -0);
    case 'object':
      return value !== null;
    default:
      return true;
  }
}

/**
 * The three arguments of the VM's processBatch: the events with each plain `properties` replaced
 * by a placeholder, their shapes (see Shape), and the properties' JSON concatenated (the VM parses
 * an event's slice only when the app reads its properties).
 */
export function encodeBatch(events: PluginEvent[]): { args: [string[], string, string[]]; shapes: Shape[] } {
  const tops = new Array<unknown>(events.length);
  const shapes = new Array<Shape>(events.length);
  // Kept as parts, written into the VM one after another (fast-strings.ts newStringFromParts):
  // joining them on the host costs several times the stringify itself.
  const texts: string[] = [];
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as unknown as Record<string, unknown>;
    if (!isPlainObject(event)) {
      tops[i] = event;
      shapes[i] = 1;
      continue;
    }
    const properties = event.properties;
    const split = isPlainObject(properties);
    const top: string[] = [];
    for (const key of Object.keys(event)) if (key === 'properties' ? !split : isVolatile(event[key])) top.push(key);
    if (split) {
      const props: string[] = [];
      for (const key of Object.keys(properties)) if (isVolatile(properties[key])) props.push(key);
      const text = JSON.stringify(properties);
      texts.push(text);
      tops[i] = { ...event, properties: 0 }; // the placeholder keeps the key's place
      shapes[i] = [text.length, top, props];
    } else {
      tops[i] = event;
      shapes[i] = [-1, top, []];
    }
  }
  // The events' array as parts too, for the same reason.
  const eventParts = new Array<string>(2 * tops.length + 1);
  for (let i = 0; i < tops.length; i++) {
    eventParts[2 * i] = i === 0 ? '[' : ',';
    eventParts[2 * i + 1] = JSON.stringify(tops[i]) ?? 'null';
  }
  eventParts[2 * tops.length] = tops.length ? ']' : '[]';
  return { args: [eventParts, JSON.stringify(shapes), texts], shapes };
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  // A plain assignment to __proto__ would set the prototype instead of the key JSON.parse makes.
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

function assign(target: Record<string, unknown>, values: Record<string, unknown> | undefined): void {
  if (values) for (const key of Object.keys(values)) setKey(target, key, values[key]);
}

function remove(target: Record<string, unknown>, keys: string[] | undefined): void {
  if (keys) for (const key of keys) delete target[key];
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const isKeyList = (value: unknown): value is string[] => Array.isArray(value) && value.every((key) => typeof key === 'string');

function isPatch(value: unknown): value is Patch {
  if (!isRecord(value)) return false;
  const { t, td, p, pd } = value as Patch;
  return (t === undefined || isRecord(t)) && (p === undefined || isRecord(p)) && (td === undefined || isKeyList(td)) && (pd === undefined || isKeyList(pd));
}

/**
 * The event the app returned, from the input and the VM's patch (0: no change). Volatile
 * properties the VM never parsed are put through JSON here, as a full round trip would have.
 */
function applyPatch(input: PluginEvent, patch: Patch | 0, shape: Shape): PluginEvent {
  const replaced = patch !== 0 && ((patch.t !== undefined && Object.hasOwn(patch.t, 'properties')) || (patch.td?.includes('properties') ?? false));
  const unparsed = shape !== 1 && shape[0] >= 0 && !replaced && !(patch !== 0 && patch.m) ? shape[2] : [];
  if (patch === 0 && unparsed.length === 0) return input;
  const event = { ...input } as Record<string, unknown>;
  if (patch !== 0 && (patch.p || patch.pd) || unparsed.length) {
    const properties = { ...(input.properties as Record<string, unknown>) };
    for (const key of unparsed) {
      const json = JSON.stringify(properties[key]);
      if (json === undefined) delete properties[key];
      else setKey(properties, key, JSON.parse(json));
    }
    if (patch !== 0) {
      assign(properties, patch.p);
      remove(properties, patch.pd);
    }
    event.properties = properties;
  }
  if (patch !== 0) {
    assign(event, patch.t);
    remove(event, patch.td);
  }
  return event as unknown as PluginEvent;
}

const MALFORMED = 'processEvent: the sandbox returned malformed outcomes';

function outcomeFor(raw: unknown, input: PluginEvent, shape: Shape): EventOutcome {
  if (raw === 0 && shape !== 1) return { status: 'ok', event: applyPatch(input, 0, shape) };
  if (isRecord(raw)) {
    const outcome = raw as RawOutcome & object;
    if (outcome.status === 'ok') {
      if ('patch' in outcome && isPatch(outcome.patch) && shape !== 1) return { status: 'ok', event: applyPatch(input, outcome.patch, shape) };
      if ('event' in outcome && isRecord(outcome.event)) return { status: 'ok', event: outcome.event as unknown as PluginEvent };
    }
    if (outcome.status === 'dropped') return { status: 'dropped' };
    if (outcome.status === 'error' && typeof outcome.error === 'string') return { status: 'error', error: outcome.error };
  }
  return { status: 'error', error: MALFORMED };
}

/**
 * Turns the VM's answer into one outcome per event. An app that tampered with the builtins the
 * prelude relies on must not hand the caller a batch of the wrong shape: anything malformed is an
 * error outcome.
 */
export function readOutcomes(events: PluginEvent[], shapes: Shape[], json: string): EventOutcome[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    raw = undefined;
  }
  if (!Array.isArray(raw) || raw.length !== events.length) return events.map(() => ({ status: 'error', error: MALFORMED }));
  const outcomes = new Array<EventOutcome>(events.length);
  for (let i = 0; i < events.length; i++) outcomes[i] = outcomeFor(raw[i], events[i]!, shapes[i]!);
  return outcomes;
}
