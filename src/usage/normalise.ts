/**
 * Normalisation of the values usage readers meet in every format: telephone numbers (E.164 with
 * the source's numbering plan), local and UTC timestamps, whole quantities with exact unit
 * conversion, and decimal prices. Pure and fast: these run several times per record, at hundreds
 * of thousands of records a second, so they scan characters instead of running regular
 * expressions and allocate nothing on success but the result.
 *
 * Every parser returns its value or a `ParseFailure` with the reason as a phrase that completes a
 * sentence ("is not a whole number"); the reader puts the field and the record in front of it.
 * Failures are objects and values are primitives, so `typeof result === 'number'` tells them
 * apart without allocating anything for the common, successful case.
 */
import { divideRounded, type RoundingMode } from '../kernel/decimal.js';
import { OffsetCache } from '../catalog/index.js';
import type { NumberingPlan } from './model.js';

/** Why a value could not be read, as the end of a sentence: "is not a whole number". */
export class ParseFailure {
  constructor(readonly reason: string) {}
}

export function isParseFailure(value: unknown): value is ParseFailure {
  return value instanceof ParseFailure;
}

// ---------------------------------------------------------------------------------------------
// Telephone numbers

const PLUS = 43;
const DIGIT_0 = 48;
const DIGIT_9 = 57;

/** E.164 allows at most 15 digits, country code included. */
export const E164_MAX_DIGITS = 15;
/** The shortest subscriber number (MSISDN) accepted as an identity, as customers/identities.ts does. */
export const MSISDN_MIN_DIGITS = 7;

function isVisualSeparator(code: number): boolean {
  // space, tab, '-', '.', '(', ')' and the no-break space some exports put in numbers
  return (
    code === 32 || code === 9 || code === 45 || code === 46 || code === 40 || code === 41 || code === 160
  );
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function startsWithIgnoreCase(text: string, at: number, prefix: string): boolean {
  if (text.length - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if ((text.charCodeAt(at + i) | 0x20) !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The E.164 digits (no '+') of a number as a source writes it, or why it is not a number.
 *
 * - A 'tel:' URI gives its number, a 'sip:' or 'sips:' URI its user part; URI parameters after ';'
 *   (";phone-context=...", ";user=phone") are dropped.
 * - Spaces, tabs, dashes, dots and parentheses are visual separators and are dropped.
 * - A leading '+' or one of the plan's international prefixes ("00", "011") means the digits that
 *   follow start with a country code: "+44 20 7946 0000" and "0044 20 7946 0000" → "442079460000".
 * - Otherwise a leading national prefix ("0") is replaced by the plan's country code:
 *   "0151 2345678" with country code 49 → "491512345678".
 * - Otherwise the digits are taken as already international, as switches usually write them
 *   ("491512345678"). Short codes ("112", "22222") stay as they are.
 *
 * Letters are refused (a vanity number or an alphanumeric sender is not an E.164 number), as are
 * '*' and '#' (service codes), an empty number and more than 15 digits.
 */
export function normaliseE164(text: string, plan: NumberingPlan): string | ParseFailure {
  let start = 0;
  let end = text.length;
  while (start < end && isVisualSeparator(text.charCodeAt(start))) start++;
  while (end > start && isVisualSeparator(text.charCodeAt(end - 1))) end--;
  if (startsWithIgnoreCase(text, start, 'tel:')) {
    start += 4;
  } else if (startsWithIgnoreCase(text, start, 'sip:') || startsWithIgnoreCase(text, start, 'sips:')) {
    start += text.charCodeAt(start + 3) === 58 ? 4 : 5;
    const at = text.indexOf('@', start);
    if (at >= 0 && at < end) end = at;
  }
  const parameters = text.indexOf(';', start);
  if (parameters >= 0 && parameters < end) end = parameters;

  // Fast path: nothing but digits (after an optional '+'), the form nearly every CDR uses.
  let international = false;
  let i = start;
  if (i < end && text.charCodeAt(i) === PLUS) {
    international = true;
    i++;
  }
  let clean = true;
  for (let j = i; j < end; j++) {
    const code = text.charCodeAt(j);
    if (code < DIGIT_0 || code > DIGIT_9) {
      clean = false;
      break;
    }
  }
  let digits: string;
  if (clean) {
    digits = i === 0 && end === text.length ? text : text.slice(i, end);
  } else {
    digits = '';
    for (let j = i; j < end; j++) {
      const code = text.charCodeAt(j);
      if (code >= DIGIT_0 && code <= DIGIT_9) digits += text[j];
      else if (isVisualSeparator(code)) continue;
      else if (code === PLUS && digits === '' && !international) international = true;
      else if (isLetter(code))
        return new ParseFailure('contains letters; a telephone number holds digits only');
      else
        return new ParseFailure(`contains ${JSON.stringify(text[j])}; a telephone number holds digits only`);
    }
  }
  if (digits === '') return new ParseFailure('is empty');
  if (!international) {
    let prefixed = false;
    for (const prefix of plan.internationalPrefixes) {
      if (prefix !== '' && digits.startsWith(prefix)) {
        digits = digits.slice(prefix.length);
        prefixed = true;
        break;
      }
    }
    if (prefixed) international = true;
    else if (plan.nationalPrefix !== '' && digits.startsWith(plan.nationalPrefix)) {
      digits = plan.countryCode + digits.slice(plan.nationalPrefix.length);
    }
  }
  if (international && (digits === '' || digits.charCodeAt(0) === DIGIT_0)) {
    return new ParseFailure('has no country code after its international prefix');
  }
  if (digits.length > E164_MAX_DIGITS) {
    return new ParseFailure(`has ${digits.length} digits; an E.164 number has at most ${E164_MAX_DIGITS}`);
  }
  return digits;
}

/** `normaliseE164` for a subscriber's own number: 7 to 15 digits, as customers/identities.ts stores it. */
export function normaliseMsisdn(text: string, plan: NumberingPlan): string | ParseFailure {
  const digits = normaliseE164(text, plan);
  if (typeof digits !== 'string') return digits;
  if (digits.length < MSISDN_MIN_DIGITS) {
    return new ParseFailure(
      `has ${digits.length} digits; a subscriber number (MSISDN) has ${MSISDN_MIN_DIGITS} to 15`,
    );
  }
  return digits;
}

// ---------------------------------------------------------------------------------------------
// Time

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

/** The instants accepted: 1900-01-01T00:00:00Z to 2199-12-31T23:59:59.999Z, as the tariff core does. */
export const MIN_EVENT_MS = -2_208_988_800_000;
export const MAX_EVENT_MS = 7_258_118_399_999;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12); eras of 400 years repeat exactly. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400; // 0..399
  const monthFromMarch = month > 2 ? month - 3 : month + 9; // March = 0 ... February = 11
  const dayOfYear = Math.floor((153 * monthFromMarch + 2) / 5) + day - 1; // 0..365
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  // 719 468 days lie between 0000-03-01 (the start of era 0) and 1970-01-01.
  return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const CACHE_SIZE = 4096; // a power of two: slot = hour & (size - 1)
const CACHE_MASK = CACHE_SIZE - 1;
const EMPTY = -0x80000000;
const MIXED = 0x7fffffff;

/**
 * An IANA time zone with cached UTC offsets, for turning local wall-clock times into instants.
 *
 * Intl.DateTimeFormat takes microseconds per call; a file has hundreds of thousands of records a
 * second. Offsets change only at transitions, so two direct-mapped caches keep the work per record
 * to a few array reads:
 *
 * - per UTC hour: the offset at its start and, when a transition falls inside the hour, the
 *   instant of the transition (found once by bisection to the second) and the offset after it;
 * - per local hour: the one offset valid for every wall time of the hour, when no transition lies
 *   within a day of it (checked with the offsets one day before and one day after).
 *
 * Local times near a transition are resolved exactly, as the Temporal proposal's 'compatible'
 * disambiguation does. With oBefore the offset a day earlier and oAfter a day later, the
 * candidates are wall - oBefore and wall - oAfter; a candidate is real when the zone has that
 * offset at that instant.
 * - Both real (autumn overlap, 02:30 happens twice in Europe/Berlin): the earlier instant, the first
 *   02:30 (CEST, 00:30Z on 2026-10-25).
 * - Neither real (spring gap, 02:30 does not exist on 2026-03-29 in Berlin): wall - oBefore, which is
 *   the wall time moved forward by the gap: 02:30 becomes 03:30 CEST, 01:30Z.
 * The caches change no result, only how fast it is found.
 */
export class LocalTimeZone {
  readonly name: string;
  /** UTC → offset, cached per UTC hour with the exact second of a transition (the tariff calendar's). */
  private readonly utc: OffsetCache;
  private readonly localHour = new Float64Array(CACHE_SIZE).fill(EMPTY);
  private readonly localOffset = new Int32Array(CACHE_SIZE);

  /** Throws a RangeError for a zone the runtime does not know (validate source definitions first). */
  constructor(name: string) {
    this.name = name;
    this.utc = new OffsetCache(name);
  }

  /** The zone's offset from UTC in ms at instant `utcMs` (local = UTC + offset). */
  offsetAt(utcMs: number): number {
    return this.utc.offsetMs(utcMs);
  }

  /** The instant (UTC ms) of a local wall-clock time given as ms since 1970-01-01T00:00 local. */
  toUtcMs(wallMs: number): number {
    const hour = Math.floor(wallMs / MS_PER_HOUR);
    const slot = hour & CACHE_MASK;
    if (this.localHour[slot] !== hour) {
      const start = hour * MS_PER_HOUR;
      const before = this.offsetAt(start - MS_PER_DAY);
      const after = this.offsetAt(start + MS_PER_HOUR + MS_PER_DAY);
      this.localHour[slot] = hour;
      this.localOffset[slot] = before === after ? before : MIXED;
    }
    const offset = this.localOffset[slot] as number;
    return offset !== MIXED ? wallMs - offset : this.resolveNearTransition(wallMs);
  }

  private resolveNearTransition(wallMs: number): number {
    const offsetBefore = this.offsetAt(wallMs - MS_PER_DAY);
    const offsetAfter = this.offsetAt(wallMs + MS_PER_DAY);
    const early = wallMs - offsetBefore;
    const late = wallMs - offsetAfter;
    const earlyReal = this.offsetAt(early) === offsetBefore;
    const lateReal = this.offsetAt(late) === offsetAfter;
    if (earlyReal && lateReal) return Math.min(early, late);
    if (earlyReal) return early;
    if (lateReal) return late;
    return early;
  }
}

const zones = new Map<string, LocalTimeZone>();

/** The shared cached zone of that name (caches only speed things up, so sharing them is safe). */
export function timeZoneNamed(name: string): LocalTimeZone {
  let zone = zones.get(name);
  if (zone === undefined) {
    zone = new LocalTimeZone(name);
    zones.set(name, zone);
  }
  return zone;
}

/** True when the runtime knows the IANA time zone. */
export function isKnownTimeZone(name: unknown): boolean {
  if (typeof name !== 'string' || name === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function digitAt(text: string, index: number): number {
  const code = text.charCodeAt(index) - DIGIT_0;
  return code >= 0 && code <= 9 ? code : -1000;
}

function twoDigits(text: string, index: number): number {
  return digitAt(text, index) * 10 + digitAt(text, index + 1);
}

const BAD_DATE_TIME = 'is not a date and time written YYYY-MM-DD HH:MM:SS';

/**
 * Reads "YYYY-MM-DD HH:MM:SS" (or with 'T'), with optional fractional seconds, from `text` at 0;
 * returns the wall-clock ms since 1970-01-01T00:00 (as if UTC) and where the text stopped, via
 * `scratch`, or a failure. Fractions past the millisecond are dropped (truncated).
 */
function readWallClock(text: string, scratch: { end: number }): number | ParseFailure {
  if (text.length < 19) return new ParseFailure(BAD_DATE_TIME);
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  const separator = text.charCodeAt(10);
  if (
    year < 0 ||
    month < 0 ||
    day < 0 ||
    hour < 0 ||
    minute < 0 ||
    second < 0 ||
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    (separator !== 32 && separator !== 84) ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  ) {
    return new ParseFailure(BAD_DATE_TIME);
  }
  if (year < 1900 || year > 2199) return new ParseFailure(`has the year ${year}, outside 1900-2199`);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return new ParseFailure(`names no calendar day (${text.slice(0, 10)})`);
  }
  if (hour > 23 || minute > 59 || second > 59)
    return new ParseFailure(`names no time of day (${text.slice(11, 19)})`);
  let index = 19;
  let millis = 0;
  if (index < text.length && text.charCodeAt(index) === 46) {
    index++;
    const first = index;
    while (index < text.length && digitAt(text, index) >= 0) {
      if (index - first < 3) millis = millis * 10 + digitAt(text, index);
      index++;
    }
    if (index === first) return new ParseFailure(BAD_DATE_TIME);
    for (let k = Math.min(index - first, 3); k < 3; k++) millis *= 10;
  }
  scratch.end = index;
  return (
    daysFromCivil(year, month, day) * MS_PER_DAY +
    hour * MS_PER_HOUR +
    minute * 60_000 +
    second * 1000 +
    millis
  );
}

const scratchEnd = { end: 0 };

/**
 * A local "YYYY-MM-DD HH:MM:SS[.fff]" (or 'T' between date and time) in `zone`, as UTC ms.
 * Times in a DST gap or overlap are resolved as `LocalTimeZone.toUtcMs` explains.
 */
export function parseLocalDateTime(text: string, zone: LocalTimeZone): number | ParseFailure {
  const wall = readWallClock(text, scratchEnd);
  if (typeof wall !== 'number') return wall;
  if (scratchEnd.end !== text.length) return new ParseFailure(`${BAD_DATE_TIME} (without a UTC offset)`);
  return zone.toUtcMs(wall);
}

/**
 * An ISO-8601 instant with its offset: "2026-03-29T01:30:00Z", "2026-03-29T03:30:00.250+02:00",
 * "+0200" or "+02". A time without an offset is refused: it would depend on a zone it does not name.
 */
export function parseIsoInstant(text: string): number | ParseFailure {
  const wall = readWallClock(text, scratchEnd);
  if (typeof wall !== 'number') {
    return wall.reason === BAD_DATE_TIME
      ? new ParseFailure('is not an ISO-8601 date and time with an offset')
      : wall;
  }
  const at = scratchEnd.end;
  const rest = text.length - at;
  const sign = text.charCodeAt(at);
  if (rest === 1 && (sign === 90 || sign === 122)) return wall; // 'Z' or 'z'
  if (rest === 0) return new ParseFailure('has no UTC offset (add Z or +HH:MM)');
  if (sign !== 43 && sign !== 45) return new ParseFailure('is not an ISO-8601 date and time with an offset');
  let hours: number;
  let minutes = 0;
  if (rest === 3) hours = twoDigits(text, at + 1);
  else if (rest === 5) {
    hours = twoDigits(text, at + 1);
    minutes = twoDigits(text, at + 3);
  } else if (rest === 6 && text.charCodeAt(at + 3) === 58) {
    hours = twoDigits(text, at + 1);
    minutes = twoDigits(text, at + 4);
  } else return new ParseFailure('has an invalid UTC offset');
  if (hours < 0 || minutes < 0 || hours > 18 || minutes > 59)
    return new ParseFailure('has an invalid UTC offset');
  const offset = (hours * 60 + minutes) * 60_000;
  const utc = sign === 43 ? wall - offset : wall + offset;
  return utc < MIN_EVENT_MS || utc > MAX_EVENT_MS ? new ParseFailure('lies outside 1900-2199') : utc;
}

export type EpochUnit = 's' | 'ms' | 'us';

/**
 * Seconds, milliseconds or microseconds since the Unix epoch (FreeSWITCH writes microseconds).
 * Seconds may carry a fraction ("1774745400.25"); anything finer than a millisecond is dropped
 * (truncated), so 1774745400123456 µs is 1774745400123 ms.
 */
export function parseEpoch(text: string, unit: EpochUnit): number | ParseFailure {
  const length = text.length;
  let index = 0;
  let whole = 0;
  while (index < length) {
    const digit = digitAt(text, index);
    if (digit < 0) break;
    whole = whole * 10 + digit;
    index++;
  }
  if (index === 0 || index > 16) return new ParseFailure(`is not a time in ${EPOCH_NAMES[unit]} since 1970`);
  let ms: number;
  if (unit === 's') {
    let fraction = 0;
    if (index < length && text.charCodeAt(index) === 46) {
      index++;
      const first = index;
      while (index < length && digitAt(text, index) >= 0) {
        if (index - first < 3) fraction = fraction * 10 + digitAt(text, index);
        index++;
      }
      for (let k = Math.min(index - first, 3); k < 3; k++) fraction *= 10;
    }
    ms = whole * 1000 + fraction;
  } else if (unit === 'ms') ms = whole;
  else ms = Math.floor(whole / 1000);
  if (index !== length) return new ParseFailure(`is not a time in ${EPOCH_NAMES[unit]} since 1970`);
  return ms > MAX_EVENT_MS ? new ParseFailure('lies after 2199') : ms;
}

const EPOCH_NAMES: Readonly<Record<EpochUnit, string>> = {
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
};

/** The time formats a mapping can name; see docs/usage-formats.md. */
export const TIME_FORMATS = ['datetime', 'iso', 'epoch-s', 'epoch-ms', 'epoch-us'] as const;
export type TimeFormat = (typeof TIME_FORMATS)[number];

/** Reads a time in one of the `TIME_FORMATS`; `zone` applies to 'datetime' only. */
export function parseTime(text: string, format: TimeFormat, zone: LocalTimeZone): number | ParseFailure {
  switch (format) {
    case 'datetime':
      return parseLocalDateTime(text, zone);
    case 'iso':
      return parseIsoInstant(text);
    case 'epoch-s':
      return parseEpoch(text, 's');
    case 'epoch-ms':
      return parseEpoch(text, 'ms');
    case 'epoch-us':
      return parseEpoch(text, 'us');
  }
}

// ---------------------------------------------------------------------------------------------
// Quantities

/**
 * Units a source may write quantities in, each an exact number of base units (seconds, bytes or
 * events): { multiply, divide }. "kB" is 1000 bytes and "KiB" 1024; "KB" is refused as ambiguous,
 * as in kernel/quantity.ts.
 */
export const QUANTITY_UNITS = {
  second: { base: 'second', multiply: 1, divide: 1 },
  millisecond: { base: 'second', multiply: 1, divide: 1000 },
  minute: { base: 'second', multiply: 60, divide: 1 },
  hour: { base: 'second', multiply: 3600, divide: 1 },
  byte: { base: 'byte', multiply: 1, divide: 1 },
  kB: { base: 'byte', multiply: 1000, divide: 1 },
  MB: { base: 'byte', multiply: 1_000_000, divide: 1 },
  GB: { base: 'byte', multiply: 1_000_000_000, divide: 1 },
  TB: { base: 'byte', multiply: 1_000_000_000_000, divide: 1 },
  KiB: { base: 'byte', multiply: 1024, divide: 1 },
  MiB: { base: 'byte', multiply: 1_048_576, divide: 1 },
  GiB: { base: 'byte', multiply: 1_073_741_824, divide: 1 },
  TiB: { base: 'byte', multiply: 1_099_511_627_776, divide: 1 },
  event: { base: 'event', multiply: 1, divide: 1 },
} as const;
export type QuantityUnit = keyof typeof QUANTITY_UNITS;

export function isQuantityUnit(value: unknown): value is QuantityUnit {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(QUANTITY_UNITS, value);
}

/** Rounding modes a mapping may name for a conversion that is not whole (milliseconds to seconds). */
export const QUANTITY_ROUNDING = ['up', 'down', 'half-up'] as const;
export type QuantityRounding = (typeof QUANTITY_ROUNDING)[number];

const NOT_A_NUMBER = 'is not a number';

/**
 * A whole number in a safe integer: "42", "-3", "+7"; "42.0" is whole and accepted, "42.5" is not.
 * Leading and trailing spaces are the caller's business (readers trim).
 */
export function parseWholeNumber(text: string): number | ParseFailure {
  return parseQuantity(text, 'second');
}

/**
 * A quantity written in `unit`, as whole base units: "1.5" minutes is 90 seconds, "2" MiB is
 * 2 097 152 bytes. The conversion is exact (decimal arithmetic, never binary floating point); a
 * result that is not whole is refused unless `rounding` is given, and a result beyond
 * Number.MAX_SAFE_INTEGER is refused, never rounded.
 */
export function parseQuantity(
  text: string,
  unit: QuantityUnit,
  rounding?: QuantityRounding,
): number | ParseFailure {
  const length = text.length;
  let index = 0;
  let negative = false;
  const first = text.charCodeAt(0);
  if (first === 45 || first === 43) {
    negative = first === 45;
    index = 1;
  }
  const integerStart = index;
  let value = 0;
  while (index < length) {
    const digit = digitAt(text, index);
    if (digit < 0) break;
    value = value * 10 + digit;
    index++;
  }
  const integerEnd = index;
  const factor = QUANTITY_UNITS[unit];
  if (
    integerEnd === length &&
    integerEnd > integerStart &&
    integerEnd - integerStart <= 15 &&
    factor.divide === 1
  ) {
    // The common case: a plain integer below 10^15 in a whole unit; the product is exact as long as
    // it stays a safe integer (every integer up to 2^53 is a double, and so is the product).
    const result = value * factor.multiply;
    if (!Number.isSafeInteger(result)) return new ParseFailure(`is too large (${text} ${unit})`);
    return negative && result !== 0 ? -result : result;
  }
  let fractionStart = index;
  let fractionEnd = index;
  if (index < length && text.charCodeAt(index) === 46) {
    index++;
    fractionStart = index;
    while (index < length && digitAt(text, index) >= 0) index++;
    fractionEnd = index;
  }
  if (index !== length || (integerEnd === integerStart && fractionEnd === fractionStart) || length > 40) {
    return new ParseFailure(NOT_A_NUMBER);
  }
  // Exact: value = digits / 10^fractionDigits units = digits · multiply / (10^fractionDigits · divide) base units.
  const digits = BigInt(text.slice(integerStart, integerEnd) + text.slice(fractionStart, fractionEnd) || '0');
  const numerator = (negative ? -digits : digits) * BigInt(factor.multiply);
  const denominator = 10n ** BigInt(fractionEnd - fractionStart) * BigInt(factor.divide);
  let result: bigint;
  if (numerator % denominator === 0n) result = numerator / denominator;
  else if (rounding !== undefined) result = divideRounded(numerator, denominator, rounding as RoundingMode);
  else {
    return new ParseFailure(
      unit === factor.base
        ? 'is not a whole number'
        : `is not a whole number of ${factor.base}s (${text} ${unit})`,
    );
  }
  if (result > BigInt(Number.MAX_SAFE_INTEGER) || result < -BigInt(Number.MAX_SAFE_INTEGER)) {
    return new ParseFailure(`is too large (${text} ${unit})`);
  }
  return Number(result);
}

/**
 * A decimal amount as text ("0.99", "-1.5", "12"), checked and returned in canonical form: no '+',
 * no leading zeros, at most 18 integer and 12 fraction digits (the rated scale). Prices stay text
 * all the way to the rating engine, which reads them with the kernel's exact decimal parser.
 */
export function parseDecimalText(text: string): string | ParseFailure {
  let index = 0;
  let sign = '';
  const first = text.charCodeAt(0);
  if (first === 45 || first === 43) {
    sign = first === 45 ? '-' : '';
    index = 1;
  }
  const integerStart = index;
  while (index < text.length && digitAt(text, index) >= 0) index++;
  const integerEnd = index;
  let fraction = '';
  if (index < text.length && text.charCodeAt(index) === 46) {
    index++;
    const fractionStart = index;
    while (index < text.length && digitAt(text, index) >= 0) index++;
    fraction = text.slice(fractionStart, index);
    if (fraction === '') return new ParseFailure('is not a decimal amount');
  }
  if (index !== text.length || integerEnd === integerStart)
    return new ParseFailure('is not a decimal amount');
  let integer = text.slice(integerStart, integerEnd).replace(/^0+(?=\d)/, '');
  if (integer.length > 18 || fraction.length > 12) {
    return new ParseFailure('has more than 18 integer or 12 fraction digits');
  }
  if (integer === '') integer = '0';
  const isZero = /^0*$/.test(integer + fraction);
  return `${isZero ? '' : sign}${integer}${fraction === '' ? '' : `.${fraction}`}`;
}

/** An ISO 4217 currency code as three upper-case letters (the rating engine checks it is known). */
export function parseCurrencyCode(text: string): string | ParseFailure {
  if (text.length !== 3) return new ParseFailure('is not a three-letter ISO 4217 currency code');
  for (let i = 0; i < 3; i++) {
    const code = text.charCodeAt(i);
    if (code < 65 || code > 90) return new ParseFailure('is not a three-letter ISO 4217 currency code');
  }
  return text;
}
