/**
 * Exact decimals: decimal text to and from a bigint scaled by a power of ten, and the one rounding
 * primitive that every other module rounds with.
 *
 * A value at scale s is held as the integer value × 10^s: "12.345" at scale 3 is 12345n, and at
 * scale 5 it is 1234500n. No JavaScript number is involved anywhere, because a double cannot hold
 * 0.1 exactly and silently drops units past 2^53 (9007199254740992), and a billing system that is
 * off by one minor unit per million invoices is wrong, not approximately right.
 *
 * This module also declares the money domain's error codes. It is the lowest layer of the money
 * stack (currencies.ts and money.ts import it, it imports neither), so declaring them here keeps
 * the imports one-way; money.ts re-exports them, and callers should import them from there.
 */
import { defineErrorCodes, fail } from './errors.js';

/** Every expected failure of money handling: parsing, currencies, mixing and allocation. */
export const MoneyErrors = defineErrorCodes('money', {
  unknown_currency: { kind: 'validation', title: 'Unknown currency' },
  invalid_decimal: { kind: 'validation', title: 'Invalid decimal amount' },
  currency_mismatch: { kind: 'validation', title: 'Currency mismatch' },
  invalid_allocation: { kind: 'validation', title: 'Invalid allocation' },
  invalid_money: { kind: 'validation', title: 'Invalid money value' },
});

/**
 * How a value that falls between two representable values is resolved. Each mode is defined by
 * what it does to the exact quotient q (examples at scale 0):
 *
 * - 'up': away from zero (2.1 -> 3, -2.1 -> -3).
 * - 'down': toward zero, i.e. truncation (2.9 -> 2, -2.9 -> -2).
 * - 'ceiling': toward +infinity (2.1 -> 3, -2.9 -> -2).
 * - 'floor': toward -infinity (2.9 -> 2, -2.1 -> -3).
 * - 'half-up': to the nearest, a tie away from zero (2.5 -> 3, -2.5 -> -3). Commercial rounding.
 * - 'half-down': to the nearest, a tie toward zero (2.5 -> 2, -2.5 -> -2).
 * - 'half-even': to the nearest, a tie to the even neighbour (2.5 -> 2, 3.5 -> 4, -2.5 -> -2).
 *   Banker's rounding: over many ties it rounds up as often as down, so sums do not drift.
 */
export type RoundingMode = 'up' | 'down' | 'ceiling' | 'floor' | 'half-up' | 'half-down' | 'half-even';

export const ROUNDING_MODES: readonly RoundingMode[] = Object.freeze([
  'up',
  'down',
  'ceiling',
  'floor',
  'half-up',
  'half-down',
  'half-even',
]);

/** True when `value` names a rounding mode; for validating configuration and request bodies. */
export function isRoundingMode(value: unknown): value is RoundingMode {
  return typeof value === 'string' && (ROUNDING_MODES as readonly string[]).includes(value);
}

/**
 * The longest decimal text accepted. Converting text to a bigint costs time quadratic in its length,
 * so a multi-megabyte "amount" would stall the event loop; 256 characters still leave room for
 * amounts far beyond any real balance at 12 decimal places.
 */
export const MAX_DECIMAL_TEXT_LENGTH = 256;

/** 10^exponent as a bigint. */
export function pow10(exponent: number): bigint {
  assertScale(exponent, 'exponent');
  return 10n ** BigInt(exponent);
}

/**
 * numerator / denominator rounded to an integer by `mode`: THE rounding primitive. Every rounding
 * in the system (rated amounts to money, per-unit prices, quantity blocks, rescaling) goes through
 * here, so there is one definition of each mode to test and to audit.
 *
 * Both operands may be negative; the sign of the exact quotient decides the direction of 'up',
 * 'down', 'ceiling' and 'floor'. Division by zero is a programming error and throws a RangeError.
 *
 * How it works: bigint division truncates toward zero, so q = trunc(n / d) and the remainder
 * r = n - q·d has the sign of n with |r| < |d|. When r = 0 the division is exact. Otherwise the
 * exact quotient lies strictly between q and q + s, where s = ±1 is the sign of the quotient, and
 * comparing 2·|r| with |d| tells whether it is below, at, or above the halfway point. Example:
 * -7 / 2: q = -3, r = -1, s = -1, 2·|r| = 2 = |d|, a tie; 'half-up' gives q + s = -4, 'half-even'
 * gives -4 (the even one of -3 and -4), 'half-down' gives -3.
 */
export function divideRounded(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  assertBigint(numerator, 'numerator');
  assertBigint(denominator, 'denominator');
  assertRoundingMode(mode);
  if (denominator === 0n) throw new RangeError('divideRounded: division by zero');
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  if (remainder === 0n) return quotient;
  const awayFromZero = numerator < 0n === denominator < 0n ? quotient + 1n : quotient - 1n;
  const positive = numerator < 0n === denominator < 0n;
  const twiceRemainder = 2n * (remainder < 0n ? -remainder : remainder);
  const divisor = denominator < 0n ? -denominator : denominator;
  // -1: below the halfway point, 0: exactly half, 1: above it.
  const half = twiceRemainder < divisor ? -1 : twiceRemainder === divisor ? 0 : 1;
  switch (mode) {
    case 'up':
      return awayFromZero;
    case 'down':
      return quotient;
    case 'ceiling':
      return positive ? awayFromZero : quotient;
    case 'floor':
      return positive ? quotient : awayFromZero;
    case 'half-up':
      return half >= 0 ? awayFromZero : quotient;
    case 'half-down':
      return half > 0 ? awayFromZero : quotient;
    case 'half-even':
      if (half !== 0) return half > 0 ? awayFromZero : quotient;
      return quotient % 2n === 0n ? quotient : awayFromZero;
    default:
      return unreachable(mode);
  }
}

/**
 * Moves a scaled value from one scale to another. Going to a finer scale multiplies by a power of
 * ten and is always exact; going to a coarser one divides by a power of ten and rounds by `mode`.
 * The mode is required either way so a call site never depends on which direction it happens to go.
 * Example: rescale(123456n, 4, 2, 'half-even') is 12.3456 -> 12.35 = 1235n.
 */
export function rescale(value: bigint, fromScale: number, toScale: number, mode: RoundingMode): bigint {
  assertBigint(value, 'value');
  assertScale(fromScale, 'fromScale');
  assertScale(toScale, 'toScale');
  assertRoundingMode(mode);
  if (toScale >= fromScale) return value * pow10(toScale - fromScale);
  return divideRounded(value, pow10(fromScale - toScale), mode);
}

export interface DecimalTextOptions {
  /** The input field the text came from, named in the error (`amount`, `/body/price/amount`). */
  readonly field?: string;
}

export interface ParseDecimalOptions extends DecimalTextOptions {
  /**
   * How to round text with more fractional digits than the scale. Without it such text is refused:
   * dropping digits is a decision the caller must make visibly, never a side effect of parsing.
   */
  readonly rounding?: RoundingMode;
}

/** Decimal text exactly as written: value = unscaled / 10^scale, with scale = digits after the point. */
export interface ExactDecimal {
  readonly unscaled: bigint;
  readonly scale: number;
}

/**
 * The accepted grammar: an optional sign, one or more ASCII digits, and optionally a point followed
 * by one or more digits. Leading zeros are allowed ("007.50" is unambiguous). Refused on purpose:
 * ".5" and "5." (a digit is missing on one side, which usually means a truncated or mangled value),
 * exponents ("1e3": exact decimals are written out), whitespace, thousands separators, a comma as
 * the decimal point, "NaN" and "Infinity", and non-ASCII digits.
 */
const DECIMAL_PATTERN = /^([+-]?)([0-9]+)(?:\.([0-9]+))?$/;

/**
 * Parses decimal text without choosing a scale: returns the digits as written and how many of them
 * follow the point. "-12.340" is { unscaled: -12340n, scale: 3 }. The building block of
 * `parseDecimal` and of parsers whose exactness test is not a digit count (quantities).
 */
export function parseDecimalExact(text: string, options: DecimalTextOptions = {}): ExactDecimal {
  const field = options.field;
  if (typeof text !== 'string') {
    throw invalid(field, text, `must be decimal text such as "12.34", not a ${typeof text}`);
  }
  const match = text.length <= MAX_DECIMAL_TEXT_LENGTH ? DECIMAL_PATTERN.exec(text) : null;
  if (match === null) throw invalid(field, text, whyNotDecimal(text));
  const sign = match[1] ?? '';
  const integerDigits = match[2] ?? '';
  const fractionDigits = match[3] ?? '';
  const magnitude = BigInt(integerDigits + fractionDigits);
  return { unscaled: sign === '-' ? -magnitude : magnitude, scale: fractionDigits.length };
}

/**
 * Parses decimal text into an integer at `scale`: parseDecimal("12.3", 2) is 1230n. Text with more
 * fractional digits than `scale` is refused unless `options.rounding` is given, and that applies to
 * trailing zeros too ("12.340" at scale 2): a sender who writes three decimals for a two-decimal
 * value has misunderstood the field, and the error tells them so.
 */
export function parseDecimal(text: string, scale: number, options: ParseDecimalOptions = {}): bigint {
  assertScale(scale, 'scale');
  if (options.rounding !== undefined) assertRoundingMode(options.rounding);
  const exact = parseDecimalExact(text, options);
  if (exact.scale <= scale) return exact.unscaled * pow10(scale - exact.scale);
  if (options.rounding === undefined) {
    throw invalid(
      options.field,
      text,
      `has ${exact.scale} decimal places, more than the ${scale} allowed here`,
    );
  }
  return divideRounded(exact.unscaled, pow10(exact.scale - scale), options.rounding);
}

/**
 * Formats an integer at `scale` as decimal text with exactly `scale` decimals: formatDecimal(-5n, 2)
 * is "-0.05", formatDecimal(1000n, 0) is "1000". Never an exponent, never a "+", and zero is "0.00"
 * (there is no negative zero in bigint). parseDecimal(formatDecimal(x, s), s) === x for every x.
 */
export function formatDecimal(value: bigint, scale: number): string {
  assertBigint(value, 'value');
  assertScale(scale, 'scale');
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString();
  const sign = negative ? '-' : '';
  if (scale === 0) return sign + digits;
  // Pad so there is at least one digit before the point: 5n at scale 2 -> "005" -> "0.05".
  const padded = digits.padStart(scale + 1, '0');
  return `${sign}${padded.slice(0, padded.length - scale)}.${padded.slice(padded.length - scale)}`;
}

/** Throws a RangeError for anything that is not a rounding mode (a JavaScript caller's typo). */
export function assertRoundingMode(mode: unknown): asserts mode is RoundingMode {
  if (!isRoundingMode(mode)) {
    throw new RangeError(
      `unknown rounding mode ${String(mode)}: expected one of ${ROUNDING_MODES.join(', ')}`,
    );
  }
}

function assertScale(scale: number, name: string): void {
  if (!Number.isSafeInteger(scale) || scale < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(scale)}`);
  }
}

function assertBigint(value: unknown, name: string): void {
  if (typeof value !== 'bigint') throw new TypeError(`${name} must be a bigint, got ${typeof value}`);
}

/** The most specific reason we can give for text that does not match the grammar. */
function whyNotDecimal(text: string): string {
  if (text.length > MAX_DECIMAL_TEXT_LENGTH) return `is longer than ${MAX_DECIMAL_TEXT_LENGTH} characters`;
  if (text === '') return 'is empty';
  if (/\s/.test(text)) return 'contains whitespace';
  if (/^[+-]?[0-9]*\.?[0-9]*[eE]/.test(text)) return 'uses an exponent; write the digits out';
  if (text.includes(',')) return 'contains a comma; the decimal separator is "." and no grouping is allowed';
  if (/^[+-]?\.[0-9]+$/.test(text)) return 'has no digit before the decimal point; write "0.5", not ".5"';
  if (/^[+-]?[0-9]+\.$/.test(text)) return 'has no digit after the decimal point';
  return 'is not a decimal number (expected digits with an optional sign and fraction, like "-12.34")';
}

function invalid(field: string | undefined, text: unknown, reason: string) {
  const shown = typeof text === 'string' ? quote(text) : String(text);
  const subject = field === undefined ? `decimal ${shown}` : `${field}: ${shown}`;
  return fail(MoneyErrors.invalid_decimal, `${subject} ${reason}`, field === undefined ? {} : { field });
}

/** Quotes text for an error message, cut short so a huge input does not become a huge message. */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

function unreachable(value: never): never {
  throw new RangeError(`unhandled value ${String(value)}`);
}
