import { HOST_ERRORS_SHIM, HostCallError, type HostArgs } from './host-sync';
import type { LazyGroup } from './lazy';

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
  source: String.raw`
    (function (host, shared, primordials) {
      const hostIntl = host.intl, hostDate = host.date, hostLocales = host.locales;
      ${HOST_ERRORS_SHIM}
      const stringify = primordials.jsonStringify, parse = primordials.jsonParse;
      const timeValue = primordials.dateGetTime;
      const numberValue = primordials.numberValueOf;
      const bigintValue = primordials.bigintValueOf;
      const OPTION_KEYS = ['localeMatcher', 'calendar', 'numberingSystem', 'hour12', 'hourCycle', 'timeZone', 'weekday', 'era', 'year', 'month', 'day', 'dayPeriod', 'hour', 'minute', 'second', 'fractionalSecondDigits', 'timeZoneName', 'formatMatcher', 'dateStyle', 'timeStyle',
        'style', 'currency', 'currencyDisplay', 'currencySign', 'unit', 'unitDisplay', 'minimumIntegerDigits', 'minimumFractionDigits', 'maximumFractionDigits', 'minimumSignificantDigits', 'maximumSignificantDigits', 'notation', 'compactDisplay', 'useGrouping', 'signDisplay', 'roundingPriority', 'roundingIncrement', 'roundingMode', 'trailingZeroDisplay',
        'usage', 'sensitivity', 'ignorePunctuation', 'numeric', 'caseFirst', 'collation'];
      const encodeValue = (value) => {
        if (typeof value === 'number') return isFinite(value) ? value : { $num: String(value) };
        if (typeof value === 'bigint') return { $bigint: String(value) };
        if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value;
        if (typeof value === 'symbol') throw new TypeError('Cannot convert a Symbol value to a string');
        return String(value);
      };
      const localesJson = (locales) => {
        if (locales === undefined) return undefined;
        if (typeof locales === 'string' || locales === null) return stringify(locales);
        if (typeof locales !== 'object') return stringify(String(locales));
        const list = [];
        const length = Math.min(Number(locales.length) || 0, 100);
        for (let i = 0; i < length; i++) list.push(typeof locales[i] === 'string' || typeof locales[i] === 'number' ? locales[i] : String(locales[i]));
        return stringify(list);
      };
      const optionsJson = (options) => {
        if (options === undefined) return undefined;
        if (options === null) throw new TypeError('Cannot convert undefined or null to object');
        const copy = {};
        for (const key of OPTION_KEYS) {
          const value = options[key];
          if (value !== undefined) copy[key] = encodeValue(value);
        }
        return stringify(copy);
      };
      const numberText = (value) => (Object.is(value, -0) ? '-0' : String(value));
      const toNumeric = (value) => {
        if (typeof value === 'bigint') return 'n' + String(value);
        if (typeof value === 'string') return numberText(Number(value));
        return numberText(Number(value));
      };

      const receiver = (value) => (value !== null && (typeof value === 'object' || typeof value === 'function') ? '#<' + ((value.constructor && value.constructor.name) || 'Object') + '>' : String(value));
      const dateValue = (self, method) => {
        try { return timeValue.call(self); } catch (error) { throw new TypeError('Method Date.prototype.' + method + ' called on incompatible receiver ' + receiver(self)); }
      };
      // The prototypes' own methods are stubs (see meta/lazy.ts) that call these.
      const methods = Object.create(null);
      for (const method of ['toLocaleString', 'toLocaleDateString', 'toLocaleTimeString']) {
        methods['Date.prototype.' + method] = { [method](locales = undefined, options = undefined) {
          const t = dateValue(this, method);
          if (t !== t) return 'Invalid Date';
          return hostCall(hostDate, method, t, localesJson(locales), optionsJson(options));
        } }[method];
      }
      for (const method of ['toString', 'toTimeString']) {
        methods['Date.prototype.' + method] = { [method]() {
          const t = dateValue(this, method);
          if (t !== t) return 'Invalid Date';
          return hostCall(hostDate, method, t);
        } }[method];
      }
      methods['Number.prototype.toLocaleString'] = function toLocaleString(locales = undefined, options = undefined) {
        let n;
        try { n = numberValue.call(this); } catch (error) { throw new TypeError("Number.prototype.toLocaleString requires that 'this' be a Number"); }
        return hostCall(hostIntl, 'number', localesJson(locales), optionsJson(options), 'format', numberText(n));
      };
      methods['BigInt.prototype.toLocaleString'] = function toLocaleString(locales = undefined, options = undefined) {
        let n;
        try { n = bigintValue.call(this); } catch (error) { throw new TypeError("BigInt.prototype.toLocaleString requires that 'this' be a BigInt"); }
        return hostCall(hostIntl, 'number', localesJson(locales), optionsJson(options), 'format', 'n' + String(n));
      };
      methods['String.prototype.localeCompare'] = function localeCompare(that, locales = undefined, options = undefined) {
        if (this === undefined || this === null) throw new TypeError('String.prototype.localeCompare called on null or undefined');
        return hostCall(hostIntl, 'collator', localesJson(locales), optionsJson(options), 'compare', wellFormed(this), wellFormed(that));
      };

      const state = new WeakMap();
      const make = (kind, name) => {
        const stateOf = (self) => {
          const s = state.get(self);
          if (!s) throw new TypeError('Method Intl.' + name + '.prototype.resolvedOptions called on incompatible receiver ' + String(self));
          return s;
        };
        const Class = function (locales = undefined, options = undefined) {
          const self = new.target ? this : Object.create(Class.prototype);
          const s = { locales: localesJson(locales), options: optionsJson(options), resolved: null, bound: null };
          s.resolved = parse(hostCall(hostIntl, kind, s.locales, s.options, 'resolved'));
          state.set(self, s);
          return self;
        };
        Object.defineProperty(Class, 'name', { value: name });
        Class.prototype.resolvedOptions = function resolvedOptions() { return Object.assign({}, stateOf(this).resolved); };
        Class.supportedLocalesOf = function supportedLocalesOf(locales) { return parse(hostCall(hostLocales, kind, localesJson(locales))); };
        Object.defineProperty(Class.prototype, Symbol.toStringTag, { value: 'Intl.' + name, configurable: true });
        return { Class, stateOf };
      };
      const dateFormat = make('date', 'DateTimeFormat');
      const dateArg = (date) => (date === undefined ? undefined : Number(date));
      Object.defineProperty(dateFormat.Class.prototype, 'format', { configurable: true, get() {
        const s = dateFormat.stateOf(this);
        return s.bound || (s.bound = (date) => hostCall(hostIntl, 'date', s.locales, s.options, 'format', dateArg(date)));
      } });
      dateFormat.Class.prototype.formatToParts = function formatToParts(date) {
        const s = dateFormat.stateOf(this);
        return parse(hostCall(hostIntl, 'date', s.locales, s.options, 'parts', dateArg(date)));
      };
      const numberFormat = make('number', 'NumberFormat');
      Object.defineProperty(numberFormat.Class.prototype, 'format', { configurable: true, get() {
        const s = numberFormat.stateOf(this);
        return s.bound || (s.bound = (value) => hostCall(hostIntl, 'number', s.locales, s.options, 'format', toNumeric(value)));
      } });
      numberFormat.Class.prototype.formatToParts = function formatToParts(value) {
        const s = numberFormat.stateOf(this);
        return parse(hostCall(hostIntl, 'number', s.locales, s.options, 'parts', toNumeric(value)));
      };
      const collator = make('collator', 'Collator');
      Object.defineProperty(collator.Class.prototype, 'compare', { configurable: true, get() {
        const s = collator.stateOf(this);
        return s.bound || (s.bound = (a, b) => hostCall(hostIntl, 'collator', s.locales, s.options, 'compare', wellFormed(a), wellFormed(b)));
      } });
      const Intl = {
        DateTimeFormat: dateFormat.Class,
        NumberFormat: numberFormat.Class,
        Collator: collator.Class,
        getCanonicalLocales: (locales) => parse(hostCall(hostLocales, 'canonical', localesJson(locales))),
      };
      Object.defineProperty(Intl, Symbol.toStringTag, { value: 'Intl', configurable: true });
      return { globals: { Intl }, methods };
    })
  `,
};
