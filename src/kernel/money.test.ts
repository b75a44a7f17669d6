import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { getCurrency, listCurrencies } from './currencies.js';
import { ROUNDING_MODES, divideRounded, pow10 } from './decimal.js';
import { assertFails } from '../testing/assert-fails.js';
import {
  Money,
  MoneyErrors,
  RATED_SCALE,
  RatedAmount,
  allocate,
  split,
  sumMoney,
  type RoundingMode,
} from './money.js';

/** Asserts two amounts are equal (same currency and amount), showing both when they are not. */
function assertSame<T extends { equals(other: T): boolean; toString(): string }>(
  actual: T,
  expected: T,
  what: string,
): void {
  assert.ok(actual.equals(expected), `${what}: got ${actual.toString()}, expected ${expected.toString()}`);
}

const HUGE = 2n ** 128n;
const amount = fc.oneof(
  fc.bigInt({ min: -1000n, max: 1000n }),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.bigInt({ min: -HUGE, max: HUGE }),
);
const currencyCode = fc.constantFrom(...listCurrencies().map((c) => c.code));
const mode = fc.constantFrom(...ROUNDING_MODES);
const factor = fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n });

/** Three amounts in one random currency. */
const moneyTriple = fc
  .tuple(currencyCode, amount, amount, amount)
  .map(([c, a, b, d]) => [Money.ofMinor(a, c), Money.ofMinor(b, c), Money.ofMinor(d, c)] as const);
const ratedTriple = fc
  .tuple(currencyCode, amount, amount, amount)
  .map(
    ([c, a, b, d]) => [RatedAmount.ofPico(a, c), RatedAmount.ofPico(b, c), RatedAmount.ofPico(d, c)] as const,
  );

describe('MoneyErrors', () => {
  it('declares the money codes as validation errors', () => {
    assert.equal(MoneyErrors.unknown_currency.code, 'money.unknown_currency');
    assert.equal(MoneyErrors.invalid_decimal.code, 'money.invalid_decimal');
    assert.equal(MoneyErrors.currency_mismatch.code, 'money.currency_mismatch');
    assert.equal(MoneyErrors.invalid_allocation.code, 'money.invalid_allocation');
    assert.equal(MoneyErrors.invalid_money.code, 'money.invalid_money');
    for (const definition of Object.values(MoneyErrors)) assert.equal(definition.kind, 'validation');
  });
});

describe('Money algebra', () => {
  it('addition is commutative and associative, with zero as identity and negate as inverse', () => {
    let huge = 0;
    fc.assert(
      fc.property(moneyTriple, ([a, b, c]) => {
        if (a.amountMinor > 2n ** 53n || a.amountMinor < -(2n ** 53n)) huge++;
        const zero = Money.zero(a.currency);
        assertSame(a.plus(b), b.plus(a), 'a + b = b + a');
        assertSame(a.plus(b).plus(c), a.plus(b.plus(c)), '(a + b) + c = a + (b + c)');
        assertSame(a.plus(zero), a, 'a + 0 = a');
        assertSame(a.plus(a.negate()), zero, 'a + (-a) = 0');
        assertSame(a.minus(b), a.plus(b.negate()), 'a - b = a + (-b)');
        assertSame(a.negate().negate(), a, '-(-a) = a');
        assert.equal(a.plus(b).amountMinor, a.amountMinor + b.amountMinor);
      }),
      { numRuns: 500 },
    );
    assert.ok(huge > 100, `too few amounts beyond 2^53: ${huge}`);
  });

  it('times distributes over addition and is exact', () => {
    fc.assert(
      fc.property(moneyTriple, factor, ([a, b], k) => {
        assertSame(a.plus(b).times(k), a.times(k).plus(b.times(k)), '(a + b)·k = a·k + b·k');
        assert.equal(a.times(k).amountMinor, a.amountMinor * k);
      }),
    );
    assert.equal(Money.parse('12.34', 'EUR').times(3n).toDecimalString(), '37.02');
  });

  it('compare is antisymmetric and agrees with the sign of the difference', () => {
    fc.assert(
      fc.property(moneyTriple, ([a, b]) => {
        const difference = a.minus(b);
        const expected = difference.isNegative() ? -1 : difference.isPositive() ? 1 : 0;
        assert.equal(a.compare(b), expected);
        assert.equal(a.compare(b) + b.compare(a), 0);
        assert.equal(a.compare(b) === 0, a.equals(b));
      }),
    );
  });

  it('abs, sign predicates and zero', () => {
    const minus = Money.parse('-0.05', 'EUR');
    assert.deepEqual([minus.isNegative(), minus.isPositive(), minus.isZero()], [true, false, false]);
    assert.equal(minus.abs().toDecimalString(), '0.05');
    assert.equal(Money.zero('JPY').isZero(), true);
    assert.equal(Money.zero('JPY').toDecimalString(), '0');
    const plus = Money.parse('0.05', 'EUR');
    assert.equal(plus.abs(), plus);
  });

  it('refuses to mix currencies, naming both', () => {
    const eur = Money.parse('1.00', 'EUR');
    const usd = Money.parse('1.00', 'USD');
    for (const operation of [() => eur.plus(usd), () => eur.minus(usd), () => eur.compare(usd)]) {
      assertFails(operation, 'money.currency_mismatch', { mentions: ['EUR', 'USD'] });
    }
    assert.equal(eur.equals(usd), false);
    assert.equal(Money.zero('EUR').equals(Money.zero('USD')), false);
  });

  it('is immutable', () => {
    const m = Money.parse('1.00', 'EUR');
    assert.equal(Object.isFrozen(m), true);
    assert.throws(() => {
      (m as unknown as { amountMinor: bigint }).amountMinor = 5n;
    }, TypeError);
    assert.equal(m.amountMinor, 100n);
  });
});

describe('Money construction and text', () => {
  it('counts ISO minor units: EUR cents, JPY without decimals, BHD and KWD fils, CLF four decimals', () => {
    assert.equal(Money.parse('12.34', 'EUR').amountMinor, 1234n);
    assert.equal(Money.parse('12', 'EUR').amountMinor, 1200n);
    assert.equal(Money.parse('12.3', 'EUR').amountMinor, 1230n);
    assert.equal(Money.parse('1000', 'JPY').amountMinor, 1000n);
    assert.equal(Money.parse('1.234', 'BHD').amountMinor, 1234n);
    assert.equal(Money.parse('-0.005', 'KWD').amountMinor, -5n);
    assert.equal(Money.parse('1.2345', 'CLF').amountMinor, 12345n);
    assert.equal(Money.ofMinor(1234n, 'EUR').toDecimalString(), '12.34');
    assert.equal(Money.ofMinor(1000n, 'JPY').toDecimalString(), '1000');
    assert.equal(Money.ofMinor(1234n, 'BHD').toDecimalString(), '1.234');
    assert.equal(Money.ofMinor(5n, 'KWD').toDecimalString(), '0.005');
    assert.equal(Money.ofMinor(-5n, 'EUR').toDecimalString(), '-0.05');
    assert.equal(Money.ofMinor(12345n, 'UYW').toDecimalString(), '1.2345');
    assert.equal(Money.ofMinor(1234n, 'EUR').toString(), '12.34 EUR');
  });

  it('refuses more decimals than the currency has, naming the field and the currency', () => {
    assertFails(() => Money.parse('12.345', 'EUR', { field: 'price' }), 'money.invalid_decimal', {
      field: 'price',
      mentions: ['price', '"12.345"', 'EUR has 2'],
    });
    assertFails(() => Money.parse('1000.5', 'JPY', { field: 'fee' }), 'money.invalid_decimal', {
      field: 'fee',
      mentions: ['fee', '"1000.5"', 'JPY has 0'],
    });
    assertFails(() => Money.parse('1.2345', 'KWD', { field: 'amount' }), 'money.invalid_decimal', {
      field: 'amount',
      mentions: ['"1.2345"', 'KWD has 3'],
    });
    assertFails(() => Money.parse('12.340', 'EUR', { field: 'price' }), 'money.invalid_decimal', {
      field: 'price',
      mentions: ['3 decimal places'],
    });
  });

  it('refuses malformed text and unknown currencies', () => {
    assertFails(() => Money.parse('1e2', 'EUR', { field: 'price' }), 'money.invalid_decimal', {
      field: 'price',
      mentions: ['price', '"1e2"', 'exponent'],
    });
    assertFails(() => Money.parse('1.00', 'EURO'), 'money.unknown_currency', { mentions: ['"EURO"'] });
    assertFails(() => Money.ofMinor(1n, 'eur'), 'money.unknown_currency', { mentions: ['"eur"', 'EUR'] });
    assert.throws(() => Money.ofMinor(1 as unknown as bigint, 'EUR'), TypeError);
    assert.throws(() => Money.parse('1.00', 'EUR').times(2 as unknown as bigint), TypeError);
  });

  it('round-trips through text and JSON in every currency', () => {
    fc.assert(
      fc.property(currencyCode, amount, (c, a) => {
        const m = Money.ofMinor(a, c);
        assertSame(Money.parse(m.toDecimalString(), c), m, 'parse(toDecimalString(m))');
        const json = m.toJSON();
        assert.equal(typeof json.amount, 'string');
        assertSame(Money.fromJSON(JSON.parse(JSON.stringify(m))), m, 'fromJSON(JSON of m)');
      }),
      { numRuns: 500 },
    );
  });

  it('serialises to strings, never numbers', () => {
    assert.deepEqual(Money.parse('12.34', 'EUR').toJSON(), { amount: '12.34', currency: 'EUR' });
    assert.equal(
      JSON.stringify({ total: Money.parse('1000', 'JPY') }),
      '{"total":{"amount":"1000","currency":"JPY"}}',
    );
  });

  it('fromJSON refuses numbers, missing members and unknown currencies, naming the member', () => {
    assertFails(
      () => Money.fromJSON({ amount: 12.34, currency: 'EUR' }, { field: 'price' }),
      'money.invalid_money',
      {
        field: 'price.amount',
        mentions: ['price.amount', 'strings'],
      },
    );
    assertFails(() => Money.fromJSON({ amount: '12.34' }, { field: '/body/price' }), 'money.invalid_money', {
      field: '/body/price/currency',
      mentions: ['/body/price/currency'],
    });
    assertFails(() => Money.fromJSON('12.34', { field: 'price' }), 'money.invalid_money', {
      field: 'price',
      mentions: ['price', 'object'],
    });
    assertFails(() => Money.fromJSON(null), 'money.invalid_money', { mentions: ['null'] });
    assertFails(
      () => Money.fromJSON({ amount: '1', currency: 'XXX' }, { field: 'price' }),
      'money.unknown_currency',
      {
        field: 'price.currency',
        mentions: ['price.currency', '"XXX"'],
      },
    );
    assertFails(
      () => Money.fromJSON({ amount: '1.001', currency: 'EUR' }, { field: 'price' }),
      'money.invalid_decimal',
      {
        field: 'price.amount',
        mentions: ['price.amount', '"1.001"'],
      },
    );
  });
});

describe('RatedAmount', () => {
  it('holds 12 decimals of the major unit', () => {
    assert.equal(RATED_SCALE, 12);
    const rate = RatedAmount.parse('0.000123456', 'EUR');
    assert.equal(rate.amountPico, 123456000n);
    assert.equal(rate.toDecimalString(), '0.000123456000');
    assert.deepEqual(rate.toJSON(), { amount: '0.000123456000', currency: 'EUR' });
    assertSame(RatedAmount.fromJSON(rate.toJSON()), rate, 'fromJSON(toJSON(rate))');
    assert.equal(RatedAmount.parse('-1', 'JPY').amountPico, -(10n ** 12n));
  });

  it('refuses more than 12 decimals unless a rounding mode is given', () => {
    assertFails(
      () => RatedAmount.parse('0.0000000000001', 'EUR', { field: 'rate' }),
      'money.invalid_decimal',
      {
        field: 'rate',
        mentions: ['rate', '13 decimal places'],
      },
    );
    assert.equal(RatedAmount.parse('0.0000000000005', 'EUR', { rounding: 'half-up' }).amountPico, 1n);
    assert.equal(RatedAmount.parse('0.0000000000005', 'EUR', { rounding: 'half-even' }).amountPico, 0n);
  });

  it('has the same algebra as Money', () => {
    fc.assert(
      fc.property(ratedTriple, factor, ([a, b, c], k) => {
        const zero = RatedAmount.zero(a.currency);
        assertSame(a.plus(b), b.plus(a), 'a + b = b + a');
        assertSame(a.plus(b).plus(c), a.plus(b.plus(c)), '(a + b) + c = a + (b + c)');
        assertSame(a.plus(zero), a, 'a + 0 = a');
        assertSame(a.plus(a.negate()), zero, 'a + (-a) = 0');
        assertSame(a.minus(b), a.plus(b.negate()), 'a - b = a + (-b)');
        assertSame(a.plus(b).times(k), a.times(k).plus(b.times(k)), '(a + b)·k = a·k + b·k');
        assert.equal(a.compare(b) + b.compare(a), 0);
        assert.equal(a.abs().isNegative(), false);
      }),
      { numRuns: 300 },
    );
    const eur = RatedAmount.parse('1', 'EUR');
    const gbp = RatedAmount.parse('1', 'GBP');
    for (const operation of [() => eur.plus(gbp), () => eur.minus(gbp), () => eur.compare(gbp)]) {
      assertFails(operation, 'money.currency_mismatch', { mentions: ['EUR', 'GBP'] });
    }
  });

  it('multiplies a unit price by a quantity exactly and divides with an explicit mode', () => {
    const perSecond = RatedAmount.parse('0.000166666667', 'EUR');
    assert.equal(perSecond.times(125n).toDecimalString(), '0.020833333375');
    const fee = RatedAmount.parse('10', 'EUR');
    assert.equal(fee.dividedBy(3n, 'half-even').toDecimalString(), '3.333333333333');
    assert.equal(fee.dividedBy(3n, 'up').toDecimalString(), '3.333333333334');
    assert.equal(fee.negate().dividedBy(3n, 'floor').toDecimalString(), '-3.333333333334');
    assert.throws(() => fee.dividedBy(0n, 'up'), RangeError);
  });

  it('fromMoney is exact: rounding it back gives the same money in every mode', () => {
    fc.assert(
      fc.property(currencyCode, amount, mode, (c, a, m) => {
        const money = Money.ofMinor(a, c);
        const rated = RatedAmount.fromMoney(money);
        assertSame(rated.roundToMoney(m), money, `fromMoney then roundToMoney(${m})`);
        assert.equal(rated.amountPico, a * pow10(RATED_SCALE - getCurrency(c).minorUnits));
      }),
      { numRuns: 300 },
    );
    assert.equal(RatedAmount.fromMoney(Money.parse('12.34', 'EUR')).amountPico, 12340000000000n);
  });
});

describe('roundToMoney', () => {
  const examples: ReadonlyArray<readonly [string, string, RoundingMode, string]> = [
    // 2.5 cents and friends in EUR: the rated text, the mode, the booked result.
    ['EUR', '0.025', 'half-up', '0.03'],
    ['EUR', '0.025', 'half-even', '0.02'],
    ['EUR', '-0.025', 'half-up', '-0.03'],
    ['EUR', '-0.025', 'half-even', '-0.02'],
    ['EUR', '0.035', 'half-even', '0.04'],
    ['EUR', '0.021', 'up', '0.03'],
    ['EUR', '-0.021', 'up', '-0.03'],
    ['EUR', '0.029', 'down', '0.02'],
    ['EUR', '-0.029', 'down', '-0.02'],
    ['EUR', '0.025', 'half-down', '0.02'],
    ['EUR', '-0.021', 'floor', '-0.03'],
    ['EUR', '-0.029', 'ceiling', '-0.02'],
    ['EUR', '0.020833333375', 'half-up', '0.02'],
    // JPY has no minor unit: yen round to whole yen.
    ['JPY', '2.5', 'half-up', '3'],
    ['JPY', '2.5', 'half-even', '2'],
    ['JPY', '-2.5', 'half-up', '-3'],
    ['JPY', '2.1', 'up', '3'],
    ['JPY', '2.9', 'down', '2'],
    // BHD and KWD have three decimals.
    ['BHD', '1.2345', 'half-up', '1.235'],
    ['BHD', '1.2345', 'half-even', '1.234'],
    ['KWD', '0.0005', 'half-even', '0.000'],
    ['KWD', '0.0005', 'half-up', '0.001'],
    ['KWD', '0.000000000001', 'up', '0.001'],
    // CLF has four.
    ['CLF', '1.23455', 'half-even', '1.2346'],
    ['CLF', '1.23465', 'half-even', '1.2346'],
  ];
  for (const [currency, text, m, expected] of examples) {
    it(`${text} ${currency} with ${m} is ${expected}`, () => {
      const money = RatedAmount.parse(text, currency).roundToMoney(m);
      assert.equal(money.currency, currency);
      assert.equal(money.toDecimalString(), expected);
    });
  }

  it('rounds by the given mode to the nearest minor unit, in every currency', () => {
    fc.assert(
      fc.property(currencyCode, amount, mode, (c, pico, m) => {
        const rated = RatedAmount.ofPico(pico, c);
        const money = rated.roundToMoney(m);
        const step = RatedAmount.fromMoney(Money.ofMinor(1n, c)).amountPico; // pico per minor unit
        assert.equal(money.amountMinor, divideRounded(pico, step, m));
        const error = RatedAmount.fromMoney(money).minus(rated).abs().amountPico;
        assert.ok(error < step, 'the booked amount is within one minor unit of the rated one');
      }),
      { numRuns: 500 },
    );
  });

  it('requires a mode', () => {
    const rated = RatedAmount.parse('0.025', 'EUR');
    assert.throws(() => (rated.roundToMoney as (mode?: RoundingMode) => Money)(), /unknown rounding mode/);
  });
});

/** Amounts and ratio lists for allocation: ratios are non-negative with at least one above zero. */
const ratios = fc
  .array(fc.oneof(fc.bigInt({ min: 0n, max: 10n }), fc.bigInt({ min: 0n, max: 2n ** 80n })), {
    minLength: 1,
    maxLength: 12,
  })
  .filter((list) => list.some((r) => r > 0n));

const smallRatios = fc
  .array(fc.bigInt({ min: 0n, max: 4n }), { minLength: 2, maxLength: 8 })
  .filter((list) => list.some((r) => r > 0n));

describe('allocate', () => {
  it('known examples', () => {
    const cents = (list: Money[]) => list.map((m) => m.amountMinor);
    assert.deepEqual(cents(allocate(Money.ofMinor(100n, 'EUR'), [1n, 1n, 1n])), [34n, 33n, 33n]);
    assert.deepEqual(cents(allocate(Money.ofMinor(-100n, 'EUR'), [1n, 1n, 1n])), [-34n, -33n, -33n]);
    // 7 by 1:2:3 is 1.17, 2.33, 3.5: floors 1, 2, 3 and the one leftover cent goes to the largest remainder.
    assert.deepEqual(cents(allocate(Money.ofMinor(7n, 'EUR'), [1n, 2n, 3n])), [1n, 2n, 4n]);
    assert.deepEqual(cents(allocate(Money.ofMinor(5n, 'EUR'), [3n, 7n])), [2n, 3n]);
    assert.deepEqual(cents(allocate(Money.ofMinor(10n, 'EUR'), [0n, 1n, 0n, 1n])), [0n, 5n, 0n, 5n]);
    assert.deepEqual(cents(allocate(Money.ofMinor(1n, 'EUR'), [1n, 1n])), [1n, 0n]);
    assert.deepEqual(cents(allocate(Money.ofMinor(0n, 'EUR'), [1n, 2n])), [0n, 0n]);
    assert.deepEqual(cents(allocate(Money.ofMinor(1000n, 'JPY'), [1n])), [1000n]);
  });

  it('sums to the original, stays within one minor unit of each exact share, and gives zero ratios zero', () => {
    const seen = { negative: 0, huge: 0, withLeftover: 0, withZeroRatio: 0 };
    fc.assert(
      fc.property(currencyCode, amount, ratios, (c, a, rs) => {
        const money = Money.ofMinor(a, c);
        const parts = allocate(money, rs);
        const total = rs.reduce((sum, r) => sum + r, 0n);
        if (a < 0n) seen.negative++;
        if (a > 2n ** 53n || a < -(2n ** 53n)) seen.huge++;
        if (rs.includes(0n)) seen.withZeroRatio++;
        assert.equal(parts.length, rs.length);
        assertSame(sumMoney(parts, c), money, 'the parts sum to the amount');
        let leftover = false;
        parts.forEach((part, i) => {
          const r = rs[i]!;
          assert.equal(part.currency, c);
          // |part - a·r/S| < 1, multiplied through by S.
          const scaledError = part.amountMinor * total - a * r;
          assert.ok(scaledError > -total && scaledError < total, `part ${i} is within one unit of its share`);
          // Bigint division truncates toward zero, like the mirrored allocation: a part that differs
          // from the truncated share received one of the leftover units.
          if (part.amountMinor !== (a * r) / total) leftover = true;
          if (r === 0n) assert.equal(part.amountMinor, 0n);
        });
        if (leftover) seen.withLeftover++;
      }),
      { numRuns: 1000 },
    );
    for (const [kind, count] of Object.entries(seen))
      assert.ok(count > 50, `too few ${kind} cases: ${count}`);
  });

  it('gives the leftover units to the largest remainders, ties to the earliest part', () => {
    let tiesDecided = 0;
    fc.assert(
      // Small ratios repeat often, so equal remainders (ties) are common; large ones are in `ratios`.
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n }), fc.oneof(ratios, smallRatios), (a, rs) => {
        const total = rs.reduce((sum, r) => sum + r, 0n);
        const parts = allocate(Money.ofMinor(a, 'EUR'), rs).map((m) => m.amountMinor);
        const floors = rs.map((r) => (a * r) / total);
        const remainders = rs.map((r) => (a * r) % total);
        const extra = parts.map((p, i) => p - floors[i]!);
        for (const e of extra) assert.ok(e === 0n || e === 1n, `a part got ${e} units over its floor`);
        for (let i = 0; i < rs.length; i++) {
          for (let j = 0; j < rs.length; j++) {
            if (extra[i] === 1n && extra[j] === 0n) {
              // Whoever got a unit must not have had a smaller remainder than one who did not.
              assert.ok(
                remainders[i]! > remainders[j]! || (remainders[i] === remainders[j] && i < j),
                `part ${i} got a leftover unit before part ${j}`,
              );
              if (remainders[i] === remainders[j]) tiesDecided++;
            }
          }
        }
      }),
      { numRuns: 500 },
    );
    assert.ok(tiesDecided > 20, `too few ties between remainders: ${tiesDecided}`);
  });

  it('mirrors negative amounts', () => {
    fc.assert(
      fc.property(amount, ratios, (a, rs) => {
        const positive = allocate(Money.ofMinor(a, 'EUR'), rs);
        const negative = allocate(Money.ofMinor(-a, 'EUR'), rs);
        assert.deepEqual(
          negative.map((m) => m.amountMinor),
          positive.map((m) => -m.amountMinor),
        );
      }),
    );
  });

  it('refuses empty, negative and all-zero ratios', () => {
    const m = Money.parse('1.00', 'EUR');
    assertFails(() => allocate(m, []), 'money.invalid_allocation', { mentions: ['empty'] });
    assertFails(() => allocate(m, [0n, 0n]), 'money.invalid_allocation', { mentions: ['all zero'] });
    assertFails(() => allocate(m, [1n, -1n]), 'money.invalid_allocation', { mentions: ['ratio 1', '-1n'] });
    assertFails(() => allocate(m, [1n, 2 as unknown as bigint]), 'money.invalid_allocation', {
      mentions: ['the number 2'],
    });
  });
});

describe('split', () => {
  it('gives the first parts the extra units', () => {
    const cents = (list: Money[]) => list.map((m) => m.amountMinor);
    assert.deepEqual(cents(split(Money.ofMinor(100n, 'EUR'), 3)), [34n, 33n, 33n]);
    assert.deepEqual(cents(split(Money.ofMinor(-100n, 'EUR'), 3)), [-34n, -33n, -33n]);
    assert.deepEqual(cents(split(Money.ofMinor(5n, 'JPY'), 4)), [2n, 1n, 1n, 1n]);
    assert.deepEqual(cents(split(Money.ofMinor(2n, 'EUR'), 5)), [1n, 1n, 0n, 0n, 0n]);
  });

  it('sums back to the amount, and parts differ by at most one unit, larger first', () => {
    fc.assert(
      fc.property(currencyCode, amount, fc.integer({ min: 1, max: 50 }), (c, a, n) => {
        const money = Money.ofMinor(a, c);
        const parts = split(money, n);
        assert.equal(parts.length, n);
        assertSame(sumMoney(parts, c), money, 'sum of the parts');
        const magnitudes = parts.map((p) => p.abs().amountMinor);
        for (let i = 1; i < n; i++)
          assert.ok(magnitudes[i]! <= magnitudes[i - 1]!, `part ${i} is larger than part ${i - 1}`);
        assert.ok(magnitudes[0]! - magnitudes[n - 1]! <= 1n, 'parts differ by more than one unit');
      }),
    );
  });

  it('refuses a part count that is not a positive integer', () => {
    const m = Money.parse('1.00', 'EUR');
    for (const parts of [0, -1, 1.5, Number.NaN]) {
      assertFails(() => split(m, parts), 'money.invalid_allocation', { mentions: [String(parts)] });
    }
  });
});

describe('sumMoney', () => {
  it('sums in the given currency, empty lists included', () => {
    assertSame(sumMoney([], 'KWD'), Money.zero('KWD'), 'empty sum');
    const list = ['1.10', '2.20', '-0.30'].map((t) => Money.parse(t, 'EUR'));
    assert.equal(sumMoney(list, 'EUR').toDecimalString(), '3.00');
    assertFails(() => sumMoney(list, 'USD'), 'money.currency_mismatch', { mentions: ['USD', 'EUR'] });
    assertFails(() => sumMoney([], 'usd'), 'money.unknown_currency', { mentions: ['"usd"'] });
  });
});
