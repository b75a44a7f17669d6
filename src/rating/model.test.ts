import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { rangeMinutes } from './model.js';

describe('rangeMinutes (RatingPlan.fastFromMinute / fastToMinute)', () => {
  const bound = fc.oneof(
    fc.integer({ min: -4_000_000_000_000, max: 8_000_000_000_000 }),
    fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    fc.constantFrom(-Infinity, Infinity, Number.NaN, 0, 60_000, 59_999, -60_000, 2 ** 30 * 60_000),
  );
  const instant = fc.oneof(
    fc.integer({ min: -4_000_000_000_000, max: 8_000_000_000_000 }),
    fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
  );

  it('never lets an instant outside [fromMs, toMs) pass the fast check, and stays small integers', () => {
    fc.assert(
      fc.property(bound, bound, fc.array(instant, { maxLength: 20 }), (fromMs, toMs, instants) => {
        const [from, to] = rangeMinutes(fromMs, toMs);
        for (const minute of [from, to]) {
          assert.ok(Number.isInteger(minute) && minute >= -(2 ** 30) && minute < 2 ** 30, String(minute));
        }
        // Instants near the bounds too, where the fast check and the exact one differ.
        const near = [fromMs, toMs].filter(Number.isFinite).flatMap((b) => [b - 1, b, b + 1]);
        for (const ms of [...instants, ...near]) {
          const fast = ms >= from * 60_000 && ms < to * 60_000;
          if (fast) assert.ok(ms >= fromMs && ms < toMs, `${ms} in [${fromMs}, ${toMs})`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('covers every whole minute of a range', () => {
    const march = Date.UTC(2026, 2, 1, 10, 30, 15);
    const [from, to] = rangeMinutes(march, march + 86_400_000);
    assert.equal(from * 60_000, Date.UTC(2026, 2, 1, 10, 31));
    assert.equal(to * 60_000, Date.UTC(2026, 2, 2, 10, 30));
    assert.deepEqual(rangeMinutes(-Infinity, Infinity), [-(2 ** 30), 2 ** 30 - 1]);
  });
});
