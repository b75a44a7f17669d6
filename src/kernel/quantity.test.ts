import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ROUNDING_MODES, type RoundingMode } from './decimal.js';
import { assertFails } from '../testing/assert-fails.js';
import {
  DISPLAY_UNITS,
  QuantityErrors,
  addQuantities,
  baseUnitOf,
  convert,
  fromDisplayUnits,
  isBaseUnit,
  isDisplayUnit,
  parseQuantity,
  quantity,
  roundToIncrements,
  roundUpToBlock,
  sumQuantities,
  type DisplayUnit,
} from './quantity.js';

const amount = fc.oneof(
  fc.bigInt({ min: -10000n, max: 10000n }),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
);
const mode = fc.constantFrom(...ROUNDING_MODES);
/** Display units that are a whole number of base units (everything but the millisecond). */
const wholeUnits = fc.constantFrom(...DISPLAY_UNITS.filter((u) => u !== 'millisecond'));

describe('QuantityErrors', () => {
  it('declares the quantity codes as validation errors', () => {
    assert.deepEqual(
      Object.values(QuantityErrors)
        .map((d) => d.code)
        .sort(),
      [
        'quantity.invalid_block_size',
        'quantity.invalid_quantity',
        'quantity.unit_mismatch',
        'quantity.unknown_unit',
      ],
    );
    for (const definition of Object.values(QuantityErrors)) assert.equal(definition.kind, 'validation');
  });
});

describe('units', () => {
  it('knows the base unit of every display unit', () => {
    const expected: Record<DisplayUnit, string> = {
      second: 'second',
      byte: 'byte',
      message: 'message',
      event: 'event',
      unit: 'unit',
      millisecond: 'second',
      minute: 'second',
      hour: 'second',
      kB: 'byte',
      MB: 'byte',
      GB: 'byte',
      TB: 'byte',
      KiB: 'byte',
      MiB: 'byte',
      GiB: 'byte',
      TiB: 'byte',
    };
    assert.deepEqual([...DISPLAY_UNITS].sort(), Object.keys(expected).sort());
    for (const [unit, base] of Object.entries(expected)) assert.equal(baseUnitOf(unit as DisplayUnit), base);
    assert.deepEqual([isBaseUnit('byte'), isBaseUnit('MB'), isBaseUnit('bytes')], [true, false, false]);
    assert.deepEqual([isDisplayUnit('MiB'), isDisplayUnit('KB'), isDisplayUnit('mb')], [true, false, false]);
  });

  it('quantity() takes base units only and is immutable', () => {
    const q = quantity(90n, 'second');
    assert.deepEqual(q, { unit: 'second', amount: 90n });
    assert.equal(Object.isFrozen(q), true);
    assertFails(() => quantity(1n, 'minute' as never), 'quantity.unknown_unit', {
      mentions: ['"minute"', 'display unit'],
    });
    assertFails(() => quantity(1n, 'furlong' as never), 'quantity.unknown_unit', { mentions: ['"furlong"'] });
    assert.throws(() => quantity(1 as unknown as bigint, 'byte'), TypeError);
  });
});

describe('parseQuantity', () => {
  const examples: ReadonlyArray<readonly [string, DisplayUnit, bigint, string]> = [
    ['1.5', 'MB', 1_500_000n, 'byte'],
    ['1.000', 'GB', 1_000_000_000n, 'byte'],
    ['2', 'kB', 2000n, 'byte'],
    ['1', 'TB', 10n ** 12n, 'byte'],
    ['1', 'KiB', 1024n, 'byte'],
    ['1.5', 'MiB', 1_572_864n, 'byte'],
    ['2', 'GiB', 2n * 1024n ** 3n, 'byte'],
    ['1', 'TiB', 1024n ** 4n, 'byte'],
    ['0.5', 'KiB', 512n, 'byte'],
    ['-1.5', 'MB', -1_500_000n, 'byte'],
    ['2.5', 'minute', 150n, 'second'],
    ['1', 'hour', 3600n, 'second'],
    ['0.25', 'hour', 900n, 'second'],
    ['2000', 'millisecond', 2n, 'second'],
    ['42', 'second', 42n, 'second'],
    ['3', 'message', 3n, 'message'],
    ['7', 'event', 7n, 'event'],
    ['12.0', 'unit', 12n, 'unit'],
  ];
  for (const [text, unit, expected, base] of examples) {
    it(`"${text}" ${unit} is exactly ${expected} ${base}`, () => {
      assert.deepEqual(parseQuantity(text, unit), { amount: expected, unit: base });
    });
  }

  it('refuses a fraction of a base unit unless a rounding mode is given', () => {
    assertFails(
      () => parseQuantity('0.0000001', 'MB', { field: 'usage.volume' }),
      'quantity.invalid_quantity',
      {
        field: 'usage.volume',
        mentions: ['usage.volume', '"0.0000001"', 'MB', '0.1 byte'],
      },
    );
    assert.equal(parseQuantity('0.0000001', 'MB', { rounding: 'up' }).amount, 1n);
    assert.equal(parseQuantity('0.0000001', 'MB', { rounding: 'down' }).amount, 0n);
    assertFails(
      () => parseQuantity('1500', 'millisecond', { field: 'duration' }),
      'quantity.invalid_quantity',
      {
        field: 'duration',
        mentions: ['duration', '"1500"', '1.5 second'],
      },
    );
    assert.equal(parseQuantity('1500', 'millisecond', { rounding: 'half-even' }).amount, 2n);
    assert.equal(parseQuantity('2500', 'millisecond', { rounding: 'half-even' }).amount, 2n);
    assert.equal(parseQuantity('2500', 'millisecond', { rounding: 'half-up' }).amount, 3n);
    assert.equal(parseQuantity('-1500', 'millisecond', { rounding: 'up' }).amount, -2n);
    assertFails(() => parseQuantity('1.5', 'byte', { field: 'bytes' }), 'quantity.invalid_quantity', {
      field: 'bytes',
      mentions: ['1.5 byte'],
    });
    assertFails(() => parseQuantity('0.5', 'message'), 'quantity.invalid_quantity', {
      mentions: ['0.5 message'],
    });
  });

  it('refuses malformed text under the quantity domain, naming the field', () => {
    for (const text of ['1e6', '', '1.', '.5', ' 1', 'NaN', '1,5']) {
      assertFails(() => parseQuantity(text, 'MB', { field: 'volume' }), 'quantity.invalid_quantity', {
        field: 'volume',
        mentions: ['volume', JSON.stringify(text)],
      });
    }
  });

  it('refuses unknown units, with a hint for the ambiguous "KB"', () => {
    assertFails(() => parseQuantity('1', 'KB' as DisplayUnit, { field: 'unit' }), 'quantity.unknown_unit', {
      field: 'unit',
      mentions: ['"KB"', 'kB', 'KiB'],
    });
    assertFails(() => parseQuantity('1', 'furlong' as DisplayUnit), 'quantity.unknown_unit', {
      mentions: ['"furlong"', 'MiB'],
    });
  });

  it('agrees with fromDisplayUnits on integer text', () => {
    fc.assert(
      fc.property(amount, fc.constantFrom(...DISPLAY_UNITS), mode, (a, unit, m) => {
        assert.deepEqual(
          parseQuantity(a.toString(), unit, { rounding: m }),
          fromDisplayUnits(a, unit, { rounding: m }),
        );
      }),
    );
  });
});

describe('fromDisplayUnits', () => {
  it('converts exactly when it can and asks for a mode when it cannot', () => {
    assert.deepEqual(fromDisplayUnits(2n, 'minute'), { unit: 'second', amount: 120n });
    assert.deepEqual(fromDisplayUnits(2000n, 'millisecond'), { unit: 'second', amount: 2n });
    assertFails(
      () => fromDisplayUnits(1500n, 'millisecond', { field: 'durationMs' }),
      'quantity.invalid_quantity',
      {
        field: 'durationMs',
        mentions: ['durationMs', '1500', '1.5 second'],
      },
    );
    assert.equal(fromDisplayUnits(1500n, 'millisecond', { rounding: 'half-up' }).amount, 2n);
    assert.equal(fromDisplayUnits(1500n, 'millisecond', { rounding: 'down' }).amount, 1n);
    assert.throws(
      () => fromDisplayUnits(1500n, 'millisecond', { rounding: 'nearest' as RoundingMode }),
      RangeError,
    );
  });
});

describe('convert', () => {
  it('expresses base quantities in display units with an explicit mode', () => {
    const volume = quantity(1_500_000n, 'byte');
    assert.equal(convert(volume, 'MB', 'up'), 2n);
    assert.equal(convert(volume, 'MB', 'down'), 1n);
    assert.equal(convert(volume, 'MB', 'half-even'), 2n);
    assert.equal(convert(volume, 'kB', 'down'), 1500n);
    assert.equal(convert(volume, 'MiB', 'down'), 1n);
    assert.equal(convert(quantity(90n, 'second'), 'minute', 'down'), 1n);
    assert.equal(convert(quantity(90n, 'second'), 'minute', 'half-up'), 2n);
    assert.equal(convert(quantity(90n, 'second'), 'minute', 'half-even'), 2n);
    assert.equal(convert(quantity(150n, 'second'), 'minute', 'half-even'), 2n);
    assert.equal(convert(quantity(-90n, 'second'), 'minute', 'floor'), -2n);
    assert.equal(convert(quantity(1n, 'second'), 'millisecond', 'down'), 1000n);
  });

  it('refuses a display unit of another base unit', () => {
    assertFails(() => convert(quantity(10n, 'byte'), 'minute', 'up'), 'quantity.unit_mismatch', {
      mentions: ['byte', 'minute', 'second'],
    });
  });

  it('undoes fromDisplayUnits exactly for whole units, in every mode', () => {
    fc.assert(
      fc.property(amount, wholeUnits, mode, (a, unit, m) => {
        assert.equal(convert(fromDisplayUnits(a, unit), unit, m), a);
      }),
    );
  });

  it('rounds base amounts the way divideRounded does: floor <= result <= ceiling', () => {
    fc.assert(
      fc.property(
        amount,
        fc.constantFrom<DisplayUnit>('kB', 'MB', 'KiB', 'GiB', 'minute', 'hour'),
        (a, unit) => {
          const q = quantity(a, baseUnitOf(unit));
          const floor = convert(q, unit, 'floor');
          const ceiling = convert(q, unit, 'ceiling');
          const size = fromDisplayUnits(1n, unit).amount;
          assert.ok(floor * size <= a && a < (floor + 1n) * size, `floor of ${a} in ${unit} is ${floor}`);
          assert.equal(ceiling - floor, a % size === 0n ? 0n : 1n);
        },
      ),
    );
  });
});

describe('roundUpToBlock', () => {
  it('charges whole blocks: data in 1 kB blocks, voice 60/60', () => {
    assert.equal(roundUpToBlock(1001n, 1000n), 2000n);
    assert.equal(roundUpToBlock(1000n, 1000n), 1000n);
    assert.equal(roundUpToBlock(1n, 1000n), 1000n);
    assert.equal(roundUpToBlock(0n, 1000n), 0n);
    assert.equal(roundUpToBlock(61n, 60n), 120n);
    assert.equal(roundUpToBlock(-1001n, 1000n), -2000n);
  });

  it('is the smallest multiple of the block at or beyond the amount, away from zero', () => {
    fc.assert(
      fc.property(amount, fc.bigInt({ min: 1n, max: 2n ** 40n }), (a, block) => {
        const rounded = roundUpToBlock(a, block);
        const magnitude = a < 0n ? -a : a;
        const roundedMagnitude = rounded < 0n ? -rounded : rounded;
        assert.equal(rounded % block, 0n);
        assert.ok(
          roundedMagnitude >= magnitude && roundedMagnitude - magnitude < block,
          `${a} rounded to blocks of ${block} is ${rounded}`,
        );
        assert.equal(roundUpToBlock(-a, block), -rounded);
      }),
    );
  });

  it('refuses a block size that is not a positive bigint', () => {
    for (const size of [0n, -60n, 60 as unknown as bigint]) {
      assertFails(() => roundUpToBlock(10n, size), 'quantity.invalid_block_size', {
        mentions: ['blockSize'],
      });
    }
  });
});

describe('roundToIncrements', () => {
  it('applies first/next increments', () => {
    // 30/6: a minimum of 30 seconds, then 6-second steps.
    assert.equal(roundToIncrements(5n, 30n, 6n), 30n);
    assert.equal(roundToIncrements(30n, 30n, 6n), 30n);
    assert.equal(roundToIncrements(31n, 30n, 6n), 36n);
    assert.equal(roundToIncrements(37n, 30n, 6n), 42n);
    // 60/1: a minimum of one minute, then per second.
    assert.equal(roundToIncrements(61n, 60n, 1n), 61n);
    assert.equal(roundToIncrements(1n, 60n, 1n), 60n);
    // 60/60 and nothing for an unanswered call.
    assert.equal(roundToIncrements(61n, 60n, 60n), 120n);
    assert.equal(roundToIncrements(0n, 60n, 60n), 0n);
    assert.equal(roundToIncrements(-31n, 30n, 6n), -36n);
    assertFails(() => roundToIncrements(10n, 0n, 6n), 'quantity.invalid_block_size', {
      mentions: ['firstIncrement'],
    });
    assertFails(() => roundToIncrements(10n, 30n, -6n), 'quantity.invalid_block_size', {
      mentions: ['nextIncrement'],
    });
  });

  it('with equal increments is roundUpToBlock, and never charges less than used', () => {
    fc.assert(
      fc.property(
        amount,
        fc.bigInt({ min: 1n, max: 3600n }),
        fc.bigInt({ min: 1n, max: 600n }),
        (a, first, next) => {
          assert.equal(roundToIncrements(a, first, first), roundUpToBlock(a, first));
          const charged = roundToIncrements(a, first, next);
          if (a > 0n) {
            assert.ok(charged >= a && charged >= first, `${a} charged as ${charged}`);
            assert.ok(
              charged === first || (charged - first) % next === 0n,
              `${charged} is not ${first} + k·${next}`,
            );
            assert.ok(charged - a < (a <= first ? first : next), `${a} overcharged as ${charged}`);
          }
          assert.equal(roundToIncrements(-a, first, next), -charged);
        },
      ),
    );
  });
});

describe('addQuantities and sumQuantities', () => {
  it('adds like units and refuses unlike ones, naming both', () => {
    assert.deepEqual(addQuantities(quantity(60n, 'second'), quantity(30n, 'second')), {
      unit: 'second',
      amount: 90n,
    });
    assertFails(
      () => addQuantities(quantity(60n, 'second'), quantity(30n, 'byte')),
      'quantity.unit_mismatch',
      {
        mentions: ['second', 'byte'],
      },
    );
    assert.deepEqual(sumQuantities([], 'message'), { unit: 'message', amount: 0n });
    assert.deepEqual(sumQuantities([quantity(2n, 'event'), quantity(3n, 'event')], 'event'), {
      unit: 'event',
      amount: 5n,
    });
    assertFails(() => sumQuantities([quantity(2n, 'event')], 'unit'), 'quantity.unit_mismatch', {
      mentions: ['event', 'unit'],
    });
  });

  it('is commutative and associative with zero as identity', () => {
    fc.assert(
      fc.property(amount, amount, amount, (a, b, c) => {
        const [x, y, z] = [quantity(a, 'byte'), quantity(b, 'byte'), quantity(c, 'byte')];
        assert.deepEqual(addQuantities(x, y), addQuantities(y, x));
        assert.deepEqual(addQuantities(addQuantities(x, y), z), addQuantities(x, addQuantities(y, z)));
        assert.deepEqual(addQuantities(x, quantity(0n, 'byte')), x);
      }),
    );
  });
});
