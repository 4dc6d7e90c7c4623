// @ts-check
// Lazy group: Intl and Date's locale methods; its host functions are in src/meta/intl.ts (LazyGroup in src/meta/lazy.ts).
(function (host, shared, primordials, helpers) {
  const hostIntl = host.intl, hostDate = host.date, hostLocales = host.locales;
  const { hostCall, wellFormed } = helpers;
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
  // The prototypes' own methods are stubs (see vm/lazy-loader.js) that call these.
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
