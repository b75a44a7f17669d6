/**
 * Billable quantities: integer counts of a base unit (seconds, bytes, messages, events, generic
 * units), held as bigints so a month of data on a large account cannot overflow or lose a byte.
 *
 * Quantities are stored and rated in base units only. Display units (minutes, megabytes, ...) exist
 * at the edges, for reading input and showing totals, and every conversion is either exact or
 * rounds by a mode the caller names:
 *
 * - minute, hour -> second: exact (× 60, × 3600).
 * - millisecond -> second: divides by 1000, so it rounds unless the milliseconds are whole seconds.
 * - kB, MB, GB, TB -> byte: exact, decimal SI prefixes (× 1000, × 1000^2, × 1000^3, × 1000^4).
 * - KiB, MiB, GiB, TiB -> byte: exact, binary IEC prefixes (× 1024, × 1024^2, × 1024^3, × 1024^4).
 *
 * "KB" is deliberately not a unit: it means 1000 bytes to some and 1024 to others, and a tariff
 * must say which. Quantities may be negative, for corrections and reversals of earlier usage.
 */
import {
  assertRoundingMode,
  divideRounded,
  formatDecimal,
  parseDecimalExact,
  pow10,
  type RoundingMode,
} from './decimal.js';
import { defineErrorCodes, fail, isTollgateError } from './errors.js';

export const QuantityErrors = defineErrorCodes('quantity', {
  invalid_quantity: { kind: 'validation', title: 'Invalid quantity' },
  unknown_unit: { kind: 'validation', title: 'Unknown unit' },
  unit_mismatch: { kind: 'validation', title: 'Unit mismatch' },
  invalid_block_size: { kind: 'validation', title: 'Invalid block size' },
});

/** The units quantities are stored, rated and added in. 'unit' is a generic countable item. */
export type BaseUnit = 'second' | 'byte' | 'message' | 'event' | 'unit';

/** Units accepted from input and used for display; each converts to one base unit. */
export type DisplayUnit =
  BaseUnit | 'millisecond' | 'minute' | 'hour' | 'kB' | 'MB' | 'GB' | 'TB' | 'KiB' | 'MiB' | 'GiB' | 'TiB';

/** An integer amount of a base unit: { unit: 'byte', amount: 1500000n }. Immutable. */
export interface Quantity {
  readonly unit: BaseUnit;
  readonly amount: bigint;
}

/**
 * One display unit = factor / 10^scale base units. The only fractional one is the millisecond
 * (1 / 10^3 second); writing it as a power of ten keeps every exact value a finite decimal, which
 * error messages can show ("0.0000001 MB is 0.1 byte").
 */
interface UnitDefinition {
  readonly base: BaseUnit;
  readonly factor: bigint;
  readonly scale: number;
}

const UNITS: ReadonlyMap<DisplayUnit, UnitDefinition> = new Map<DisplayUnit, UnitDefinition>([
  ['second', { base: 'second', factor: 1n, scale: 0 }],
  ['byte', { base: 'byte', factor: 1n, scale: 0 }],
  ['message', { base: 'message', factor: 1n, scale: 0 }],
  ['event', { base: 'event', factor: 1n, scale: 0 }],
  ['unit', { base: 'unit', factor: 1n, scale: 0 }],
  ['millisecond', { base: 'second', factor: 1n, scale: 3 }],
  ['minute', { base: 'second', factor: 60n, scale: 0 }],
  ['hour', { base: 'second', factor: 3600n, scale: 0 }],
  ['kB', { base: 'byte', factor: 1000n, scale: 0 }],
  ['MB', { base: 'byte', factor: 1000n ** 2n, scale: 0 }],
  ['GB', { base: 'byte', factor: 1000n ** 3n, scale: 0 }],
  ['TB', { base: 'byte', factor: 1000n ** 4n, scale: 0 }],
  ['KiB', { base: 'byte', factor: 1024n, scale: 0 }],
  ['MiB', { base: 'byte', factor: 1024n ** 2n, scale: 0 }],
  ['GiB', { base: 'byte', factor: 1024n ** 3n, scale: 0 }],
  ['TiB', { base: 'byte', factor: 1024n ** 4n, scale: 0 }],
]);

const BASE_UNITS: readonly BaseUnit[] = Object.freeze(['second', 'byte', 'message', 'event', 'unit']);

export const DISPLAY_UNITS: readonly DisplayUnit[] = Object.freeze([...UNITS.keys()]);

export function isBaseUnit(value: unknown): value is BaseUnit {
  return typeof value === 'string' && (BASE_UNITS as readonly string[]).includes(value);
}

export function isDisplayUnit(value: unknown): value is DisplayUnit {
  return typeof value === 'string' && UNITS.has(value as DisplayUnit);
}

/** The base unit a display unit converts to: baseUnitOf('MiB') is 'byte'. */
export function baseUnitOf(displayUnit: DisplayUnit): BaseUnit {
  return unitDefinition(displayUnit).base;
}

/** A quantity in a base unit: quantity(90n, 'second'). Display units go through `fromDisplayUnits`. */
export function quantity(amount: bigint, unit: BaseUnit): Quantity {
  if (typeof amount !== 'bigint')
    throw new TypeError(`quantity amount must be a bigint, got ${typeof amount}`);
  if (!isBaseUnit(unit)) {
    const hint = isDisplayUnit(unit) ? `; "${unit}" is a display unit, convert it with fromDisplayUnits` : '';
    throw fail(
      QuantityErrors.unknown_unit,
      `unknown base unit ${JSON.stringify(unit)}: expected one of ${BASE_UNITS.join(', ')}${hint}`,
    );
  }
  return Object.freeze({ unit, amount });
}

export interface QuantityInputOptions {
  /** The input field the value came from, named in errors. */
  readonly field?: string;
  /** How to round a value that is not a whole number of base units; without it, it is refused. */
  readonly rounding?: RoundingMode;
}

/**
 * An integer count of a display unit in base units: fromDisplayUnits(2n, 'minute') is 120 seconds,
 * fromDisplayUnits(1500n, 'millisecond') is 1.5 seconds, refused unless `options.rounding` says how
 * to round it (2 seconds with 'half-up', 1 with 'down'); 2000 milliseconds is exactly 2 seconds.
 */
export function fromDisplayUnits(
  amount: bigint,
  displayUnit: DisplayUnit,
  options: QuantityInputOptions = {},
): Quantity {
  if (typeof amount !== 'bigint') throw new TypeError(`amount must be a bigint, got ${typeof amount}`);
  const definition = unitDefinition(displayUnit, options.field);
  return toBase(amount, 0, displayUnit, definition, options, () => `${amount}`);
}

/**
 * Parses decimal text in a display unit into a base-unit quantity, exactly: "1.5" MB is 1500000
 * bytes and "2.5" minute is 150 seconds. Text whose value is not a whole number of base units
 * ("0.0000001" MB is 0.1 byte) is refused unless `options.rounding` is given. The decimal grammar
 * is the strict one of decimal.ts (no exponents, no ".5", no spaces); unlike money, extra zeros
 * after the point are fine here ("1.000" GB), since only the exact value matters.
 */
export function parseQuantity(
  text: string,
  displayUnit: DisplayUnit,
  options: QuantityInputOptions = {},
): Quantity {
  const definition = unitDefinition(displayUnit, options.field);
  let exact;
  try {
    exact = parseDecimalExact(text, options.field === undefined ? {} : { field: options.field });
  } catch (error) {
    // Re-raise grammar errors under the quantity domain, keeping the message that names the field.
    if (!isTollgateError(error)) throw error;
    throw fail(QuantityErrors.invalid_quantity, error.message, {
      ...(options.field === undefined ? {} : { field: options.field }),
      cause: error,
    });
  }
  return toBase(exact.unscaled, exact.scale, displayUnit, definition, options, () => JSON.stringify(text));
}

/**
 * A quantity expressed in a display unit of the same base unit, rounded by `mode`:
 * convert(1500000 bytes, 'MB', 'up') is 2n, convert(90 seconds, 'minute', 'down') is 1n.
 * value = amount × 10^scale / factor, e.g. 1500000 × 1 / 1000000 = 1.5 -> 2 with 'up'.
 */
export function convert(q: Quantity, toDisplayUnit: DisplayUnit, mode: RoundingMode): bigint {
  assertRoundingMode(mode);
  const definition = unitDefinition(toDisplayUnit);
  if (definition.base !== q.unit) {
    throw fail(
      QuantityErrors.unit_mismatch,
      `cannot express ${q.amount} ${q.unit} in ${toDisplayUnit}, which measures ${definition.base}s`,
    );
  }
  return divideRounded(q.amount * pow10(definition.scale), definition.factor, mode);
}

/**
 * Rounds an amount of base units up to a whole number of blocks: roundUpToBlock(1001n, 1000n) is
 * 2000n. This is how a tariff charges data in 1 kB blocks (block 1000n bytes) or voice in 60/60
 * increments (block 60n seconds: 61 seconds is charged as 120). "Up" is away from zero, so a
 * negative correction rounds to the exact opposite of the charge it corrects: -1001n -> -2000n.
 * The block size must be a positive bigint.
 */
export function roundUpToBlock(amount: bigint, blockSize: bigint): bigint {
  assertBlockSize(blockSize, 'blockSize');
  return divideRounded(amount, blockSize, 'up') * blockSize;
}

/**
 * Telecom charging increments "first/next", as in 60/60, 30/6 or 60/1 for voice: any non-zero
 * usage is charged at least `firstIncrement`, and the part beyond it in whole `nextIncrement`
 * blocks. With 30/6, 31 seconds is 30 + 6 = 36, and 5 seconds is 30. Zero stays zero (an
 * unanswered call costs nothing), and negative amounts mirror positive ones like roundUpToBlock.
 * 60/60 gives the same result as roundUpToBlock(amount, 60n).
 */
export function roundToIncrements(amount: bigint, firstIncrement: bigint, nextIncrement: bigint): bigint {
  assertBlockSize(firstIncrement, 'firstIncrement');
  assertBlockSize(nextIncrement, 'nextIncrement');
  if (amount === 0n) return 0n;
  const magnitude = amount < 0n ? -amount : amount;
  const rounded =
    magnitude <= firstIncrement
      ? firstIncrement
      : firstIncrement + roundUpToBlock(magnitude - firstIncrement, nextIncrement);
  return amount < 0n ? -rounded : rounded;
}

/** a + b; both must be in the same base unit (seconds never add to bytes). */
export function addQuantities(a: Quantity, b: Quantity): Quantity {
  if (a.unit !== b.unit) {
    throw fail(
      QuantityErrors.unit_mismatch,
      `cannot add ${b.amount} ${b.unit} to ${a.amount} ${a.unit}: quantities of different units never mix`,
      { extra: { units: [a.unit, b.unit] } },
    );
  }
  return quantity(a.amount + b.amount, a.unit);
}

/** Sum of quantities in `unit`; the unit is required so an empty list sums to zero in it. */
export function sumQuantities(list: readonly Quantity[], unit: BaseUnit): Quantity {
  return list.reduce((sum, item) => addQuantities(sum, item), quantity(0n, unit));
}

function unitDefinition(displayUnit: DisplayUnit, field?: string): UnitDefinition {
  const definition = typeof displayUnit === 'string' ? UNITS.get(displayUnit) : undefined;
  if (definition !== undefined) return definition;
  const where = field === undefined ? '' : `${field}: `;
  const hint =
    (displayUnit as string) === 'KB'
      ? '; "KB" is ambiguous, use "kB" (1000 bytes) or "KiB" (1024 bytes)'
      : `; expected one of ${DISPLAY_UNITS.join(', ')}`;
  throw fail(
    QuantityErrors.unknown_unit,
    `${where}unknown unit ${JSON.stringify(displayUnit)}${hint}`,
    field === undefined ? {} : { field },
  );
}

/**
 * unscaled / 10^textScale display units in base units: unscaled × factor / 10^(textScale + scale),
 * exact when that division leaves no remainder, otherwise rounded by options.rounding or refused.
 */
function toBase(
  unscaled: bigint,
  textScale: number,
  displayUnit: DisplayUnit,
  definition: UnitDefinition,
  options: QuantityInputOptions,
  shown: () => string,
): Quantity {
  if (options.rounding !== undefined) assertRoundingMode(options.rounding);
  const numerator = unscaled * definition.factor;
  const exponent = textScale + definition.scale;
  const denominator = pow10(exponent);
  if (numerator % denominator === 0n) return quantity(numerator / denominator, definition.base);
  if (options.rounding !== undefined) {
    return quantity(divideRounded(numerator, denominator, options.rounding), definition.base);
  }
  const where = options.field === undefined ? '' : `${options.field}: `;
  throw fail(
    QuantityErrors.invalid_quantity,
    `${where}${shown()} ${displayUnit} is ${exactDecimal(numerator, exponent)} ${definition.base}, ` +
      `not a whole number of ${definition.base}s; quantities are counted in whole ${definition.base}s`,
    options.field === undefined ? {} : { field: options.field },
  );
}

/** numerator / 10^exponent as decimal text without trailing zeros: (1n, 1) -> "0.1". */
function exactDecimal(numerator: bigint, exponent: number): string {
  const text = formatDecimal(numerator, exponent);
  return exponent === 0 ? text : text.replace(/\.?0+$/, '');
}

function assertBlockSize(size: bigint, name: string): void {
  if (typeof size !== 'bigint' || size <= 0n) {
    throw fail(
      QuantityErrors.invalid_block_size,
      `${name} must be a positive bigint number of base units, got ${String(size)}`,
    );
  }
}
