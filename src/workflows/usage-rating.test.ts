import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AllowanceCounterRecord } from '../rating/index.js';
import { allowanceFields, allowanceState } from './usage-rating.js';

describe('stored allowance counter state', () => {
  const units = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  const record = fc.record(
    {
      ownerId: fc.constant('sub_1'),
      allowanceCode: fc.constant('VOICE'),
      periodIndex: fc.integer({ min: 0, max: 100_000 }),
      usedUnits: units,
      unit: fc.constantFrom('second', 'byte', 'event'),
      periodStartMs: fc.integer({ min: -2_208_988_800_000, max: 7_258_118_399_999 }),
      periodEndMs: fc.integer({ min: -2_208_988_800_000, max: 7_258_118_399_999 }),
      ownUnits: units,
      grantedUnits: units,
      carriedOutUnits: units,
      rolledOverIn: fc.array(
        fc.record(
          { fromPeriodIndex: fc.integer({ min: 0, max: 100_000 }), units },
          { noNullPrototype: true },
        ),
        {
          maxLength: 4,
        },
      ),
    },
    { noNullPrototype: true },
  ) as fc.Arbitrary<AllowanceCounterRecord>;

  it('reads back every field it stores, and is a third of the named form', () => {
    fc.assert(
      fc.property(record, (r) => {
        const { ownerId: _o, allowanceCode: _a, periodIndex: _p, usedUnits: _u, ...fields } = r;
        const state = allowanceState(r);
        assert.deepEqual(allowanceFields(state), fields);
        // The form rows were written in before reads the same.
        assert.deepEqual(allowanceFields(JSON.stringify(fields)), fields);
      }),
      { numRuns: 300 },
    );
    const typical = allowanceState({
      ownerId: 'sub_1',
      allowanceCode: 'VOICE',
      periodIndex: 24322,
      usedUnits: 4371,
      unit: 'second',
      periodStartMs: 1793487600000,
      periodEndMs: 1796079600000,
      ownUnits: 30000,
      rolledOverIn: [],
      grantedUnits: 30000,
      carriedOutUnits: 0,
    });
    assert.equal(typical, '["second",1793487600000,1796079600000,30000,30000,0,[]]');
  });

  it('refuses a state that is neither form', () => {
    assert.throws(() => allowanceFields('["second",1,2]'), /not \[unit, start/);
  });
});
