import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_BACKOFF,
  afterFailure,
  backoffCeilingMs,
  backoffDelayMs,
  cryptoRandom,
  resolveBackoff,
  type BackoffPolicy,
} from './backoff.js';

const policyArb: fc.Arbitrary<BackoffPolicy> = fc
  .record({
    baseMs: fc.integer({ min: 0, max: 600_000 }),
    extra: fc.integer({ min: 0, max: 86_400_000 }),
    maxAttempts: fc.integer({ min: 1, max: 100 }),
  })
  .map(({ baseMs, extra, maxAttempts }) => ({ baseMs, capMs: baseMs + extra, maxAttempts }));

/** Any value a random source might return, including the edges and values it should never return. */
const drawArb = fc.oneof(
  fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  fc.constantFrom(0, 1, -0.5, 2),
);

describe('webhook backoff', () => {
  it('doubles the ceiling from 10 s and caps it at one hour by default', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 9, 10, 11, 12].map((n) => backoffCeilingMs(n)),
      [10_000, 20_000, 40_000, 80_000, 2_560_000, 3_600_000, 3_600_000, 3_600_000],
    );
    assert.equal(backoffCeilingMs(10_000), 3_600_000, 'huge attempt numbers do not overflow');
  });

  it('draws the wait uniformly below the ceiling (full jitter)', () => {
    assert.equal(
      backoffDelayMs(1, () => 0),
      0,
    );
    assert.equal(
      backoffDelayMs(1, () => 0.5),
      5_000,
    );
    assert.equal(
      backoffDelayMs(3, () => 0.25),
      10_000,
    );
  });

  it('never waits a negative time nor longer than the cap or the ceiling', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 1, max: 10_000 }), drawArb, (policy, attempt, draw) => {
        const delay = backoffDelayMs(attempt, () => draw, policy);
        assert.ok(Number.isSafeInteger(delay));
        assert.ok(delay >= 0, `negative delay ${delay}`);
        assert.ok(delay <= policy.capMs, `delay ${delay} above cap ${policy.capMs}`);
        assert.ok(delay <= backoffCeilingMs(attempt, policy));
      }),
    );
  });

  it('has a non-decreasing upper bound', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 1, max: 10_000 }), (policy, attempt) => {
        assert.ok(backoffCeilingMs(attempt + 1, policy) >= backoffCeilingMs(attempt, policy));
      }),
    );
  });

  it('gives up after the last attempt', () => {
    assert.deepEqual(
      afterFailure(11, () => 0.5),
      { status: 'pending', delayMs: 1_800_000 },
    );
    assert.deepEqual(
      afterFailure(12, () => 0.5),
      { status: 'failed' },
    );
    assert.deepEqual(
      afterFailure(3, () => 0.5, { ...DEFAULT_BACKOFF, maxAttempts: 3 }),
      { status: 'failed' },
    );
  });

  it('checks the policy', () => {
    assert.throws(() => resolveBackoff({ maxAttempts: 0 }), RangeError);
    assert.throws(() => resolveBackoff({ baseMs: 10, capMs: 5 }), RangeError);
    assert.deepEqual(resolveBackoff(), DEFAULT_BACKOFF);
    assert.throws(() => backoffCeilingMs(0), RangeError);
  });

  it('draws default randomness in [0, 1)', () => {
    for (let i = 0; i < 1000; i++) {
      const x = cryptoRandom();
      assert.ok(x >= 0 && x < 1);
    }
  });
});
