import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_DECIMAL_TEXT_LENGTH,
  ROUNDING_MODES,
  divideRounded,
  formatDecimal,
  isRoundingMode,
  parseDecimal,
  parseDecimalExact,
  pow10,
  rescale,
  type RoundingMode,
} from './decimal.js';
import { assertFails } from '../testing/assert-fails.js';

/**
 * An independent reference for divideRounded: it normalises the denominator to be positive, takes
 * the mathematical floor, and decides from the exact fraction (n - floor·d) / d, comparing
 * 2·fraction with d. divideRounded works from truncation instead, so the two share no logic.
 */
function referenceDivide(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  let n = numerator;
  let d = denominator;
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const floor = n >= 0n ? n / d : -((-n + d - 1n) / d);
  const fraction = n - floor * d; // 0 <= fraction < d, exact value = floor + fraction / d
  if (fraction === 0n) return floor;
  const ceiling = floor + 1n;
  const positive = n > 0n;
  const towardZero = positive ? floor : ceiling;
  const awayFromZero = positive ? ceiling : floor;
  const versusHalf = 2n * fraction - d; // < 0: nearer floor, > 0: nearer ceiling, 0: a tie
  switch (mode) {
    case 'floor':
      return floor;
    case 'ceiling':
      return ceiling;
    case 'down':
      return towardZero;
    case 'up':
      return awayFromZero;
    case 'half-up':
      return versusHalf < 0n ? floor : versusHalf > 0n ? ceiling : awayFromZero;
    case 'half-down':
      return versusHalf < 0n ? floor : versusHalf > 0n ? ceiling : towardZero;
    case 'half-even':
      return versusHalf < 0n ? floor : versusHalf > 0n ? ceiling : floor % 2n === 0n ? floor : ceiling;
  }
}

const HUGE = 2n ** 200n;
const mode = fc.constantFrom(...ROUNDING_MODES);
const anyBigint = fc.oneof(
  fc.bigInt({ min: -1000n, max: 1000n }),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.bigInt({ min: -HUGE, max: HUGE }),
);
const nonZero = anyBigint.filter((d) => d !== 0n);

/** Division cases: arbitrary ones, exact ones, and exact ties (n = k·d + d/2 with d even). */
const division = fc.oneof(
  fc.tuple(anyBigint, nonZero),
  fc.tuple(anyBigint, nonZero).map(([k, d]) => [k * d, d] as const),
  fc
    .tuple(anyBigint, nonZero, fc.boolean())
    .map(([k, d, negative]) => [k * (2n * d) + (negative ? -d : d), 2n * d] as const),
);

describe('divideRounded', () => {
  it('follows the classic table of every mode (Java RoundingMode documentation values)', () => {
    // Each row: the value in tenths, then UP, DOWN, CEILING, FLOOR, HALF_UP, HALF_DOWN, HALF_EVEN.
    const table: ReadonlyArray<readonly [bigint, readonly bigint[]]> = [
      [55n, [6n, 5n, 6n, 5n, 6n, 5n, 6n]],
      [25n, [3n, 2n, 3n, 2n, 3n, 2n, 2n]],
      [16n, [2n, 1n, 2n, 1n, 2n, 2n, 2n]],
      [11n, [2n, 1n, 2n, 1n, 1n, 1n, 1n]],
      [10n, [1n, 1n, 1n, 1n, 1n, 1n, 1n]],
      [0n, [0n, 0n, 0n, 0n, 0n, 0n, 0n]],
      [-10n, [-1n, -1n, -1n, -1n, -1n, -1n, -1n]],
      [-11n, [-2n, -1n, -1n, -2n, -1n, -1n, -1n]],
      [-16n, [-2n, -1n, -1n, -2n, -2n, -2n, -2n]],
      [-25n, [-3n, -2n, -2n, -3n, -3n, -2n, -2n]],
      [-55n, [-6n, -5n, -5n, -6n, -6n, -5n, -6n]],
    ];
    const modes: readonly RoundingMode[] = [
      'up',
      'down',
      'ceiling',
      'floor',
      'half-up',
      'half-down',
      'half-even',
    ];
    for (const [tenths, expected] of table) {
      modes.forEach((m, index) => {
        const want = expected[index];
        assert.equal(divideRounded(tenths, 10n, m), want, `${tenths}/10 ${m}`);
        // The same value with both signs flipped, and as a fraction of a negative denominator.
        assert.equal(divideRounded(-tenths, -10n, m), want, `${-tenths}/-10 ${m}`);
        assert.equal(divideRounded(tenths * 3n, 30n, m), want, `${tenths * 3n}/30 ${m}`);
      });
    }
  });

  it('matches the brief examples', () => {
    assert.equal(divideRounded(25n, 10n, 'half-up'), 3n);
    assert.equal(divideRounded(25n, 10n, 'half-even'), 2n);
    assert.equal(divideRounded(-25n, 10n, 'half-up'), -3n);
    assert.equal(divideRounded(-25n, 10n, 'half-even'), -2n);
    assert.equal(divideRounded(21n, 10n, 'up'), 3n);
    assert.equal(divideRounded(-21n, 10n, 'up'), -3n);
    assert.equal(divideRounded(29n, 10n, 'down'), 2n);
    assert.equal(divideRounded(35n, 10n, 'half-even'), 4n);
    assert.equal(divideRounded(-7n, 2n, 'half-even'), -4n);
    assert.equal(divideRounded(7n, -2n, 'half-down'), -3n);
  });

  it('agrees with an independent reference for every mode, including ties and huge operands', () => {
    const seen = { ties: 0, exact: 0, inexact: 0, negativeNumerator: 0, negativeDenominator: 0, huge: 0 };
    fc.assert(
      fc.property(division, mode, ([n, d], m) => {
        const fraction = ((n % d) + d) % d;
        if (fraction === 0n) seen.exact++;
        else seen.inexact++;
        if (2n * (n % d) === d || 2n * (n % d) === -d) seen.ties++;
        if (n < 0n) seen.negativeNumerator++;
        if (d < 0n) seen.negativeDenominator++;
        if (n > 2n ** 53n || n < -(2n ** 53n)) seen.huge++;
        assert.equal(divideRounded(n, d, m), referenceDivide(n, d, m));
      }),
      { numRuns: 3000 },
    );
    // The property is only meaningful if every kind of case was actually generated.
    for (const [kind, count] of Object.entries(seen))
      assert.ok(count > 50, `too few ${kind} cases: ${count}`);
  });

  it('lies between floor and ceiling, within 1 of the exact quotient, within 1/2 for half modes', () => {
    fc.assert(
      fc.property(division, mode, ([n, d], m) => {
        const q = divideRounded(n, d, m);
        const absD = d < 0n ? -d : d;
        // error = q - n/d, scaled by d: |q·d - n| < |d| means |q - n/d| < 1.
        const scaledError = q * d - n;
        const absError = scaledError < 0n ? -scaledError : scaledError;
        assert.ok(absError < absD, `|${q} - ${n}/${d}| must be below 1`);
        if (m.startsWith('half-')) assert.ok(2n * absError <= absD, `${m} must be within 1/2`);
        // floor <= q <= ceiling, stated as q·|d| compared with the sign-corrected numerator.
        const signedN = d < 0n ? -n : n;
        assert.ok((q - 1n) * absD < signedN && signedN < (q + 1n) * absD, 'q must be floor or ceiling');
        if (m === 'floor') assert.ok(q * absD <= signedN, 'floor must not exceed the exact value');
        if (m === 'ceiling') assert.ok(q * absD >= signedN, 'ceiling must not be below the exact value');
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses division by zero and unknown modes', () => {
    assert.throws(() => divideRounded(1n, 0n, 'up'), RangeError);
    assert.throws(() => divideRounded(1n, 2n, 'nearest' as RoundingMode), /unknown rounding mode/);
    assert.throws(() => divideRounded(1n, 2n, undefined as unknown as RoundingMode), RangeError);
    assert.throws(() => divideRounded(1 as unknown as bigint, 2n, 'up'), TypeError);
  });
});

describe('isRoundingMode', () => {
  it('accepts exactly the seven modes', () => {
    assert.equal(ROUNDING_MODES.length, 7);
    for (const m of ROUNDING_MODES) assert.equal(isRoundingMode(m), true, m);
    for (const m of ['HALF_UP', 'half_up', 'nearest', '', undefined, 1])
      assert.equal(isRoundingMode(m), false, String(m));
  });
});

describe('parseDecimal', () => {
  it('accepts signed and unsigned decimal text', () => {
    assert.equal(parseDecimal('-12.345', 3), -12345n);
    assert.equal(parseDecimal('12', 2), 1200n);
    assert.equal(parseDecimal('+0.5', 1), 5n);
    assert.equal(parseDecimal('+0.5', 3), 500n);
    assert.equal(parseDecimal('007.50', 2), 750n);
    assert.equal(parseDecimal('-0', 2), 0n);
    assert.equal(parseDecimal('0.000', 3), 0n);
    assert.equal(parseDecimal('123456789012345678901234567890', 0), 123456789012345678901234567890n);
    assert.equal(parseDecimal('-0.000000000001', 12), -1n);
  });

  it('reports the exact digits and scale as written', () => {
    assert.deepEqual(parseDecimalExact('-12.340'), { unscaled: -12340n, scale: 3 });
    assert.deepEqual(parseDecimalExact('5'), { unscaled: 5n, scale: 0 });
  });

  const rejected: ReadonlyArray<readonly [string, string]> = [
    ['1e3', 'exponent'],
    ['1.5E-2', 'exponent'],
    [' 1', 'whitespace'],
    ['1 ', 'whitespace'],
    ['1 000', 'whitespace'],
    ['', 'empty'],
    ['1.', 'no digit after'],
    ['.5', 'no digit before'],
    ['-.5', 'no digit before'],
    ['1,5', 'comma'],
    ['1,000.00', 'comma'],
    ['NaN', 'not a decimal'],
    ['Infinity', 'not a decimal'],
    ['-', 'not a decimal'],
    ['+-1', 'not a decimal'],
    ['--1', 'not a decimal'],
    ['1.2.3', 'not a decimal'],
    ['0x10', 'not a decimal'],
    ['١٢', 'not a decimal'],
    ['12.345', 'decimal places'],
    ['12.340', 'decimal places'],
  ];
  for (const [text, reason] of rejected) {
    it(`refuses ${JSON.stringify(text)} (${reason}), naming the field and the text`, () => {
      assertFails(() => parseDecimal(text, 2, { field: 'price.amount' }), 'money.invalid_decimal', {
        field: 'price.amount',
        mentions: ['price.amount', JSON.stringify(text), reason],
      });
    });
  }

  it('refuses text that is not a string, and text longer than the limit', () => {
    assertFails(
      () => parseDecimal(12.34 as unknown as string, 2, { field: 'amount' }),
      'money.invalid_decimal',
      {
        field: 'amount',
        mentions: ['amount', 'not a number'],
      },
    );
    const long = '1'.repeat(MAX_DECIMAL_TEXT_LENGTH + 1);
    assertFails(() => parseDecimal(long, 0, { field: 'amount' }), 'money.invalid_decimal', {
      field: 'amount',
      mentions: ['longer than'],
    });
    assert.equal(
      parseDecimal('1'.repeat(MAX_DECIMAL_TEXT_LENGTH), 0),
      BigInt('1'.repeat(MAX_DECIMAL_TEXT_LENGTH)),
    );
  });

  it('without a field, still names the text', () => {
    const error = assertFails(() => parseDecimal('abc', 2), 'money.invalid_decimal', { mentions: ['"abc"'] });
    assert.equal(error.field, undefined);
    assert.equal(error.kind, 'validation');
  });

  it('rounds extra digits only when a mode is given', () => {
    assert.equal(parseDecimal('12.345', 2, { rounding: 'half-up' }), 1235n);
    assert.equal(parseDecimal('12.345', 2, { rounding: 'half-even' }), 1234n);
    assert.equal(parseDecimal('-12.345', 2, { rounding: 'half-up' }), -1235n);
    assert.equal(parseDecimal('-12.345', 2, { rounding: 'half-even' }), -1234n);
    assert.equal(parseDecimal('0.999', 0, { rounding: 'down' }), 0n);
    assert.throws(() => parseDecimal('1.25', 1, { rounding: 'round' as RoundingMode }), RangeError);
  });

  it('with a rounding mode equals divideRounded of the exact value', () => {
    fc.assert(
      fc.property(
        anyBigint,
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 1, max: 10 }),
        mode,
        (u, s, extra, m) => {
          const text = formatDecimal(u, s + extra);
          assert.equal(parseDecimal(text, s, { rounding: m }), divideRounded(u, pow10(extra), m));
        },
      ),
    );
  });

  it('round-trips: parseDecimal(formatDecimal(x, s), s) === x', () => {
    let negatives = 0;
    let beyondDoubles = 0;
    fc.assert(
      fc.property(anyBigint, fc.integer({ min: 0, max: 20 }), (x, s) => {
        if (x < 0n) negatives++;
        if (x > 2n ** 53n || x < -(2n ** 53n)) beyondDoubles++;
        const text = formatDecimal(x, s);
        assert.equal(parseDecimal(text, s), x);
      }),
      { numRuns: 1000 },
    );
    assert.ok(
      negatives > 100 && beyondDoubles > 100,
      `weak coverage: ${negatives} negative, ${beyondDoubles} huge`,
    );
  });
});

describe('formatDecimal', () => {
  it('writes exactly `scale` decimals, a minus sign for negatives, and no exponent', () => {
    assert.equal(formatDecimal(-5n, 2), '-0.05');
    assert.equal(formatDecimal(1000n, 0), '1000');
    assert.equal(formatDecimal(0n, 2), '0.00');
    assert.equal(formatDecimal(123456n, 3), '123.456');
    assert.equal(formatDecimal(-1n, 12), '-0.000000000001');
    assert.equal(formatDecimal(10n ** 30n, 2), '10000000000000000000000000000.00');
  });

  it('always produces canonical text', () => {
    fc.assert(
      fc.property(anyBigint, fc.integer({ min: 0, max: 20 }), (x, s) => {
        const text = formatDecimal(x, s);
        const pattern = s === 0 ? /^-?(0|[1-9][0-9]*)$/ : new RegExp(`^-?(0|[1-9][0-9]*)\\.[0-9]{${s}}$`);
        assert.match(text, pattern);
        assert.equal(text.startsWith('-'), x < 0n);
      }),
    );
  });

  it('refuses a negative or fractional scale', () => {
    assert.throws(() => formatDecimal(1n, -1), RangeError);
    assert.throws(() => formatDecimal(1n, 1.5), RangeError);
    assert.throws(() => parseDecimal('1', -2), RangeError);
  });
});

describe('rescale', () => {
  it('is exact toward a finer scale and rounds toward a coarser one', () => {
    assert.equal(rescale(1234n, 2, 12, 'half-even'), 12340000000000n);
    assert.equal(rescale(123456n, 4, 2, 'half-even'), 1235n);
    assert.equal(rescale(123450n, 4, 2, 'half-even'), 1234n);
    assert.equal(rescale(123450n, 4, 2, 'half-up'), 1235n);
    assert.equal(rescale(-123450n, 4, 2, 'half-up'), -1235n);
    assert.equal(rescale(5n, 3, 3, 'up'), 5n);
  });

  it('undoes a move to a finer scale, and coarsening equals divideRounded', () => {
    fc.assert(
      fc.property(
        anyBigint,
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 12 }),
        mode,
        (x, s, k, m) => {
          assert.equal(rescale(rescale(x, s, s + k, m), s + k, s, m), x);
          assert.equal(rescale(x, s + k, s, m), divideRounded(x, pow10(k), m));
        },
      ),
    );
  });
});
