/**
 * Money: exact amounts as bigints, in two precisions with one named crossing between them.
 *
 * - `Money` is a booked amount: what appears on an invoice, a ledger entry or a payment. It counts
 *   the currency's ISO 4217 minor units (cents for EUR, yen for JPY, fils for KWD), so every Money
 *   is an amount a customer can actually pay.
 * - `RatedAmount` is a rated amount or a unit price, at the fixed finer scale RATED_SCALE (12
 *   decimals of the major unit). Tariffs price a second of voice at 0.000166666667 EUR and a byte
 *   of data at 0.0000000010 EUR; multiplying those by quantities must not round at every step.
 *
 * Rated amounts become money only through `RatedAmount.roundToMoney(mode)`, with the rounding mode
 * passed by the caller: there is no default, because the mode is a commercial and regulatory choice
 * (per country, per contract) and a silent default is how invoices end up a cent off.
 *
 * Amounts of different currencies never mix: every binary operation checks the currency and throws
 * `money.currency_mismatch` naming both. All values are immutable.
 */
import { getCurrency } from './currencies.js';
import {
  MoneyErrors,
  assertRoundingMode,
  divideRounded,
  formatDecimal,
  parseDecimal,
  parseDecimalExact,
  pow10,
  type RoundingMode,
} from './decimal.js';
import { fail } from './errors.js';

export { MoneyErrors, type RoundingMode } from './decimal.js';

/** Decimals of the major unit held by a RatedAmount: 1 pico-unit = 10^-12 of a euro, dollar, yen... */
export const RATED_SCALE = 12;

/** The JSON form of an amount: decimal text in major units, never a JavaScript number. */
export interface MoneyJson {
  readonly amount: string;
  readonly currency: string;
}

export interface MoneyParseOptions {
  /** The input field the text came from, named in errors. */
  readonly field?: string;
}

export interface RatedParseOptions extends MoneyParseOptions {
  /** How to round text with more than RATED_SCALE decimals; without it such text is refused. */
  readonly rounding?: RoundingMode;
}

/** A booked amount in a currency's ISO minor units: Money.ofMinor(1234n, 'EUR') is 12.34 EUR. */
export class Money {
  readonly currency: string;
  readonly amountMinor: bigint;

  private constructor(amountMinor: bigint, currency: string) {
    this.amountMinor = amountMinor;
    this.currency = currency;
    Object.freeze(this);
  }

  /** An amount counted in minor units: ofMinor(1234n, 'EUR') is 12.34 EUR, ofMinor(1234n, 'JPY') is 1234 JPY. */
  static ofMinor(amountMinor: bigint, currency: string): Money {
    requireBigint(amountMinor, 'amountMinor');
    getCurrency(currency);
    return new Money(amountMinor, currency);
  }

  static zero(currency: string): Money {
    return Money.ofMinor(0n, currency);
  }

  /**
   * Parses major-unit text: parse("12.34", "EUR") is 1234 cents. Text with more decimals than the
   * currency has is refused ("12.345" EUR, "1000.5" JPY, even "12.340" EUR), naming the field: a
   * booked amount is never rounded as a side effect of reading it.
   */
  static parse(text: string, currency: string, options: MoneyParseOptions = {}): Money {
    const { minorUnits } = getCurrency(currency);
    const exact = parseDecimalExact(text, options);
    if (exact.scale > minorUnits) {
      const where = options.field === undefined ? 'amount' : options.field;
      throw fail(
        MoneyErrors.invalid_decimal,
        `${where}: ${JSON.stringify(text)} has ${exact.scale} decimal places but ${currency} has ` +
          `${minorUnits}${minorUnits === 0 ? ' (no minor unit)' : ''}`,
        options.field === undefined ? {} : { field: options.field },
      );
    }
    return new Money(exact.unscaled * pow10(minorUnits - exact.scale), currency);
  }

  /**
   * Reads the JSON form `{ amount: "12.34", currency: "EUR" }`. A numeric amount is refused: by the
   * time JSON.parse has made it a number, 0.1 + 0.2 style errors may already be in it.
   */
  static fromJSON(value: unknown, options: MoneyParseOptions = {}): Money {
    const { amount, currency } = readJsonShape(value, options.field, 'Money');
    return Money.parse(amount, currency, { field: childField(options.field, 'amount') });
  }

  plus(other: Money): Money {
    return new Money(this.amountMinor + this.sameCurrency(other, 'add').amountMinor, this.currency);
  }

  minus(other: Money): Money {
    return new Money(this.amountMinor - this.sameCurrency(other, 'subtract').amountMinor, this.currency);
  }

  negate(): Money {
    return new Money(-this.amountMinor, this.currency);
  }

  abs(): Money {
    return this.amountMinor < 0n ? this.negate() : this;
  }

  /** Multiplies by an integer: 12.34 EUR times 3n is 37.02 EUR. Exact; there is nothing to round. */
  times(factor: bigint): Money {
    requireBigint(factor, 'factor');
    return new Money(this.amountMinor * factor, this.currency);
  }

  /** -1, 0 or 1. Comparing different currencies throws: 1 USD is neither more nor less than 1 EUR. */
  compare(other: Money): -1 | 0 | 1 {
    return compareBigints(this.amountMinor, this.sameCurrency(other, 'compare').amountMinor);
  }

  /** Same currency and same amount. Different currencies are unequal, not an error (0 EUR ≠ 0 USD). */
  equals(other: Money): boolean {
    return this.currency === other.currency && this.amountMinor === other.amountMinor;
  }

  isZero(): boolean {
    return this.amountMinor === 0n;
  }

  isNegative(): boolean {
    return this.amountMinor < 0n;
  }

  isPositive(): boolean {
    return this.amountMinor > 0n;
  }

  /** Major-unit text with the currency's decimals: "12.34" EUR, "1000" JPY, "1.234" BHD, "-0.05" EUR. */
  toDecimalString(): string {
    return formatDecimal(this.amountMinor, getCurrency(this.currency).minorUnits);
  }

  toJSON(): MoneyJson {
    return { amount: this.toDecimalString(), currency: this.currency };
  }

  /** "12.34 EUR", for messages and logs. */
  toString(): string {
    return `${this.toDecimalString()} ${this.currency}`;
  }

  private sameCurrency(other: Money, operation: string): Money {
    if (!(other instanceof Money)) throw new TypeError(`cannot ${operation} ${describe(other)} and Money`);
    if (other.currency !== this.currency) throw mismatch(operation, this.currency, other.currency);
    return other;
  }
}

/**
 * A rated amount or unit price at RATED_SCALE decimals: RatedAmount.parse("0.000123456", "EUR") is
 * 123456000 pico-euros. It supports the same exact algebra as Money; rounding happens only in
 * `dividedBy` and `roundToMoney`, each with an explicit mode.
 */
export class RatedAmount {
  readonly currency: string;
  readonly amountPico: bigint;

  private constructor(amountPico: bigint, currency: string) {
    this.amountPico = amountPico;
    this.currency = currency;
    Object.freeze(this);
  }

  /** An amount counted in 10^-12 of the major unit: ofPico(1_000_000_000_000n, 'EUR') is 1 EUR. */
  static ofPico(amountPico: bigint, currency: string): RatedAmount {
    requireBigint(amountPico, 'amountPico');
    getCurrency(currency);
    return new RatedAmount(amountPico, currency);
  }

  static zero(currency: string): RatedAmount {
    return RatedAmount.ofPico(0n, currency);
  }

  /** Parses major-unit text with up to 12 decimals (more only with an explicit `rounding`). */
  static parse(text: string, currency: string, options: RatedParseOptions = {}): RatedAmount {
    getCurrency(currency);
    return new RatedAmount(parseDecimal(text, RATED_SCALE, options), currency);
  }

  /**
   * The same amount at the rated scale. Always exact: every currency has at most 4 minor-unit
   * decimals, fewer than 12, so 12.34 EUR = 1234 cents × 10^(12-2) = 12340000000000 pico-euros.
   */
  static fromMoney(money: Money): RatedAmount {
    const { minorUnits } = getCurrency(money.currency);
    return new RatedAmount(money.amountMinor * pow10(RATED_SCALE - minorUnits), money.currency);
  }

  /** Reads `{ amount: "0.000123456", currency: "EUR" }`; numeric amounts are refused. */
  static fromJSON(value: unknown, options: RatedParseOptions = {}): RatedAmount {
    const { amount, currency } = readJsonShape(value, options.field, 'RatedAmount');
    return RatedAmount.parse(amount, currency, { ...options, field: childField(options.field, 'amount') });
  }

  plus(other: RatedAmount): RatedAmount {
    return new RatedAmount(this.amountPico + this.sameCurrency(other, 'add').amountPico, this.currency);
  }

  minus(other: RatedAmount): RatedAmount {
    return new RatedAmount(this.amountPico - this.sameCurrency(other, 'subtract').amountPico, this.currency);
  }

  negate(): RatedAmount {
    return new RatedAmount(-this.amountPico, this.currency);
  }

  abs(): RatedAmount {
    return this.amountPico < 0n ? this.negate() : this;
  }

  /**
   * Multiplies by an integer, typically a unit price by a billable quantity in base units:
   * 0.000166666667 EUR/second times 125n seconds is 0.020833333375 EUR. Exact.
   */
  times(quantity: bigint): RatedAmount {
    requireBigint(quantity, 'quantity');
    return new RatedAmount(this.amountPico * quantity, this.currency);
  }

  /**
   * Divides by an integer, rounding the result to a whole pico-unit by `mode`: 10 EUR divided by
   * 3n is 3.333333333333 EUR with 'half-even' and 3.333333333334 EUR with 'up'. A zero divisor
   * throws a RangeError (it is a programming error, not an input one).
   */
  dividedBy(divisor: bigint, mode: RoundingMode): RatedAmount {
    requireBigint(divisor, 'divisor');
    return new RatedAmount(divideRounded(this.amountPico, divisor, mode), this.currency);
  }

  compare(other: RatedAmount): -1 | 0 | 1 {
    return compareBigints(this.amountPico, this.sameCurrency(other, 'compare').amountPico);
  }

  equals(other: RatedAmount): boolean {
    return this.currency === other.currency && this.amountPico === other.amountPico;
  }

  isZero(): boolean {
    return this.amountPico === 0n;
  }

  isNegative(): boolean {
    return this.amountPico < 0n;
  }

  isPositive(): boolean {
    return this.amountPico > 0n;
  }

  /**
   * THE crossing from rated to booked: rounds to the currency's minor unit by `mode`, which the
   * caller must pass. For EUR that divides the pico amount by 10^(12-2) = 10^10: 2.5 cents
   * (25000000000 pico) is 3 cents with 'half-up' and 2 cents with 'half-even'.
   */
  roundToMoney(mode: RoundingMode): Money {
    assertRoundingMode(mode);
    const { minorUnits } = getCurrency(this.currency);
    return Money.ofMinor(
      divideRounded(this.amountPico, pow10(RATED_SCALE - minorUnits), mode),
      this.currency,
    );
  }

  /** Text with all 12 decimals: "0.000123456000". */
  toDecimalString(): string {
    return formatDecimal(this.amountPico, RATED_SCALE);
  }

  toJSON(): MoneyJson {
    return { amount: this.toDecimalString(), currency: this.currency };
  }

  toString(): string {
    return `${this.toDecimalString()} ${this.currency}`;
  }

  private sameCurrency(other: RatedAmount, operation: string): RatedAmount {
    if (!(other instanceof RatedAmount)) {
      throw new TypeError(`cannot ${operation} ${describe(other)} and RatedAmount`);
    }
    if (other.currency !== this.currency) throw mismatch(operation, this.currency, other.currency);
    return other;
  }
}

/**
 * Splits `money` in proportion to `ratios` without losing or creating a minor unit: the parts
 * always sum to exactly `money`, and each part is within one minor unit of its exact share.
 *
 * Largest-remainder method, for an amount A ≥ 0 and ratios r_i with sum S: part i first gets
 * floor(A·r_i / S) and keeps the remainder (A·r_i) mod S. The floors fall short of A by
 * L = A - Σ floor(...) units, with 0 ≤ L < the number of ratios, and those L units go one each to
 * the parts with the largest remainders, ties to the earliest part. Example: 100 cents by [1, 1, 1]
 * gives floors 33, 33, 33 with equal remainders 1, 1, 1 and L = 1, so the result is 34, 33, 33.
 * A negative amount is allocated as the mirror of its absolute value (-100 -> -34, -33, -33), so
 * a reversal allocates exactly opposite to the charge it reverses.
 *
 * A zero ratio always gets zero: its remainder is 0 and at least L + 1 other parts have a non-zero
 * remainder (each remainder is below S and together they make L·S). An empty list, a negative
 * ratio, or ratios that are all zero are refused with `money.invalid_allocation`.
 */
export function allocate(money: Money, ratios: readonly bigint[]): Money[] {
  if (!Array.isArray(ratios) || ratios.length === 0) {
    throw fail(MoneyErrors.invalid_allocation, 'cannot allocate over an empty list of ratios');
  }
  let total = 0n;
  for (const [index, ratio] of ratios.entries()) {
    if (typeof ratio !== 'bigint' || ratio < 0n) {
      throw fail(
        MoneyErrors.invalid_allocation,
        `allocation ratio ${index} is ${describe(ratio)}; ratios must be non-negative bigints`,
      );
    }
    total += ratio;
  }
  if (total === 0n) {
    throw fail(MoneyErrors.invalid_allocation, 'cannot allocate over ratios that are all zero');
  }
  const negative = money.amountMinor < 0n;
  const amount = negative ? -money.amountMinor : money.amountMinor;
  const parts = ratios.map((ratio) => (amount * ratio) / total);
  const remainders = ratios.map((ratio) => (amount * ratio) % total);
  let leftover = amount - parts.reduce((sum, part) => sum + part, 0n);
  // Indexes by remainder, largest first; Array.prototype.sort is stable, so equal remainders keep
  // their original order and the earliest part wins a tie.
  const order = ratios
    .map((_, index) => index)
    .sort((a, b) => compareBigints(remainders[b]!, remainders[a]!));
  for (const index of order) {
    if (leftover === 0n) break;
    parts[index] = parts[index]! + 1n;
    leftover -= 1n;
  }
  return parts.map((part) => Money.ofMinor(negative ? -part : part, money.currency));
}

/**
 * Splits `money` into `parts` equal shares; when it does not divide evenly the first shares get
 * one minor unit more: 100 cents in 3 parts is 34, 33, 33, and -100 is -34, -33, -33. The shares
 * sum to exactly `money`. `parts` must be a positive integer (a JavaScript number, as it counts
 * shares rather than money).
 */
export function split(money: Money, parts: number): Money[] {
  if (!Number.isSafeInteger(parts) || parts < 1) {
    throw fail(
      MoneyErrors.invalid_allocation,
      `cannot split into ${String(parts)} parts; need a positive integer`,
    );
  }
  return allocate(money, new Array<bigint>(parts).fill(1n));
}

/** Sum of amounts in `currency`; the currency is required so an empty list sums to zero in it. */
export function sumMoney(list: readonly Money[], currency: string): Money {
  return list.reduce((sum, item) => sum.plus(item), Money.zero(currency));
}

function mismatch(operation: string, left: string, right: string) {
  return fail(
    MoneyErrors.currency_mismatch,
    `cannot ${operation} amounts in ${left} and ${right}: different currencies never mix; convert first`,
    { extra: { currencies: [left, right] } },
  );
}

function compareBigints(a: bigint, b: bigint): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

function requireBigint(value: unknown, name: string): void {
  if (typeof value !== 'bigint') throw new TypeError(`${name} must be a bigint, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return `the number ${value}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'an object';
  return typeof value;
}

/** `price` + `amount` -> `price.amount`; a JSON pointer `/body/price` -> `/body/price/amount`. */
function childField(parent: string | undefined, name: string): string {
  if (parent === undefined || parent === '') return name;
  return parent.startsWith('/') ? `${parent}/${name}` : `${parent}.${name}`;
}

function readJsonShape(value: unknown, field: string | undefined, typeName: string): MoneyJson {
  const where = field === undefined ? typeName : field;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail(
      MoneyErrors.invalid_money,
      `${where} must be an object like { "amount": "12.34", "currency": "EUR" }, got ${describe(value)}`,
      field === undefined ? {} : { field },
    );
  }
  const record = value as Record<string, unknown>;
  const currencyField = childField(field, 'currency');
  const amountField = childField(field, 'amount');
  if (typeof record.currency !== 'string') {
    throw fail(
      MoneyErrors.invalid_money,
      `${currencyField} must be an ISO 4217 code as a string, got ${describe(record.currency)}`,
      { field: currencyField },
    );
  }
  if (typeof record.amount !== 'string') {
    throw fail(
      MoneyErrors.invalid_money,
      `${amountField} must be decimal text like "12.34", got ${describe(record.amount)}` +
        (typeof record.amount === 'number' ? '; send amounts as strings so no digit is lost' : ''),
      { field: amountField },
    );
  }
  getCurrency(record.currency, { field: currencyField });
  return { amount: record.amount, currency: record.currency };
}
