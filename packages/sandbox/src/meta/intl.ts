import { HostCallError, type HostArgs } from './host-sync';
import type { LazyGroup } from './lazy';
import { INTL_JS } from '../vm-sources';

const MAX_OPTIONS_CHARS = 16 * 1024;
const MAX_TEXT_CHARS = 1024 * 1024;

type Formatter = Intl.DateTimeFormat | Intl.NumberFormat | Intl.Collator;
/** Formatters by (kind, locales, options): building one costs tens of µs in V8; they are immutable. */
const formatters = new Map<string, Formatter>();
const MAX_FORMATTERS = 500;

/** Options as the shim sends them: JSON where non-finite numbers and bigints are tagged. */
function decodeValue(value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const tagged = value as { $num?: unknown; $bigint?: unknown };
    if (typeof tagged.$num === 'string') return Number(tagged.$num);
    if (typeof tagged.$bigint === 'string') return BigInt(tagged.$bigint);
  }
  return value;
}

function readJson(args: HostArgs, index: number): unknown {
  const text = args.optionalString(index, MAX_OPTIONS_CHARS);
  if (text === undefined) return undefined;
  const value = JSON.parse(text) as unknown;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const decoded: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) decoded[key] = decodeValue(item);
    return decoded;
  }
  return value;
}

function formatterFor(kind: string, localesJson: string | undefined, optionsJson: string | undefined, locales: unknown, options: unknown): Formatter {
  const key = `${kind}\0${localesJson ?? ''}\0${optionsJson ?? ''}`;
  let formatter = formatters.get(key);
  if (!formatter) {
    const l = locales as string | string[] | undefined;
    const o = options as Record<string, never> | undefined;
    if (kind === 'date') formatter = new Intl.DateTimeFormat(l, o);
    else if (kind === 'number') formatter = new Intl.NumberFormat(l, o);
    else if (kind === 'collator') formatter = new Intl.Collator(l, o);
    else throw new HostCallError('TypeError', `Intl: unknown kind ${kind}`);
    if (formatters.size >= MAX_FORMATTERS) formatters.clear();
    formatters.set(key, formatter);
  }
  return formatter;
}

/** A number as the shim sends it: '-0', 'NaN', digits, or 'n<digits>' for a bigint. */
function numeric(text: string): number | bigint {
  return text.startsWith('n') ? BigInt(text.slice(1)) : Number(text);
}

/**
 * (kind, locales JSON | undefined, options JSON | undefined, op, a?, b?): Intl on the host.
 * kind: date | number | collator; op: resolved | format | parts | compare.
 */
function intl(args: HostArgs): string | number {
  const kind = args.string(0, 20);
  const localesJson = args.optionalString(1, MAX_OPTIONS_CHARS);
  const optionsJson = args.optionalString(2, MAX_OPTIONS_CHARS);
  const formatter = formatterFor(kind, localesJson, optionsJson, readJson(args, 1), readJson(args, 2));
  const op = args.string(3, 20);
  if (op === 'resolved') return JSON.stringify(formatter.resolvedOptions());
  if (kind === 'collator') {
    if (op !== 'compare') throw new HostCallError('TypeError', `Intl.Collator: unknown operation ${op}`);
    return (formatter as Intl.Collator).compare(args.string(4, MAX_TEXT_CHARS), args.string(5, MAX_TEXT_CHARS));
  }
  const value = kind === 'date' ? (args.type(4) === 'undefined' ? Date.now() : args.number(4)) : numeric(args.string(4, 1000));
  if (op === 'format') return (formatter as Intl.NumberFormat).format(value as number);
  if (op === 'parts') return JSON.stringify((formatter as Intl.NumberFormat).formatToParts(value as number));
  throw new HostCallError('TypeError', `Intl: unknown operation ${op}`);
}

const DATE_METHODS = new Set(['toLocaleString', 'toLocaleDateString', 'toLocaleTimeString', 'toString', 'toTimeString']);

/** (method, epoch ms, locales JSON?, options JSON?): Node's own Date method on that time value. */
function dateMethod(args: HostArgs): string {
  const method = args.string(0, 40);
  if (!DATE_METHODS.has(method)) throw new HostCallError('TypeError', `Date: unknown method ${method}`);
  const date = new Date(args.number(1));
  if (method === 'toString' || method === 'toTimeString') return date[method]();
  return date[method as 'toLocaleString'](readJson(args, 2) as string[] | undefined, readJson(args, 3) as Intl.DateTimeFormatOptions | undefined);
}

function supported(args: HostArgs): string {
  const op = args.string(0, 40);
  const locales = readJson(args, 1) as string[] | undefined;
  if (op === 'canonical') return JSON.stringify(Intl.getCanonicalLocales(locales));
  if (op === 'date') return JSON.stringify(Intl.DateTimeFormat.supportedLocalesOf(locales));
  if (op === 'number') return JSON.stringify(Intl.NumberFormat.supportedLocalesOf(locales));
  if (op === 'collator') return JSON.stringify(Intl.Collator.supportedLocalesOf(locales));
  throw new HostCallError('TypeError', `Intl: unknown operation ${op}`);
}

/**
 * QuickJS has no Intl: `Date.prototype.toLocaleString / toLocaleDateString / toLocaleTimeString`
 * (and `toString` / `toTimeString`, whose time-zone name comes from ICU in Node),
 * `Number.prototype.toLocaleString`, `BigInt.prototype.toLocaleString`,
 * `String.prototype.localeCompare`, and a minimal `Intl` (`DateTimeFormat`, `NumberFormat`,
 * `Collator` with format / formatToParts / compare / resolvedOptions / supportedLocalesOf,
 * `getCanonicalLocales`) are answered by Node's Intl on the host, so the text is Node's.
 */
export const intlGlobals: LazyGroup = {
  name: 'intl',
  globals: ['Intl'],
  methods: {
    'Date.prototype.toLocaleString': 0, 'Date.prototype.toLocaleDateString': 0, 'Date.prototype.toLocaleTimeString': 0,
    'Date.prototype.toString': 0, 'Date.prototype.toTimeString': 0,
    'Number.prototype.toLocaleString': 0, 'BigInt.prototype.toLocaleString': 0, 'String.prototype.localeCompare': 1,
  },
  host: {
    intl: ['Intl', intl],
    date: ['Date', dateMethod],
    locales: ['Intl', supported],
  },
  source: INTL_JS,
};
