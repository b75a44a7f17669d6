import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InstantFormatter, instantFromMs } from './clock.js';

/** 0000-01-01T00:00:00.000Z */
const FIRST_MS = -62_167_219_200_000;

describe('InstantFormatter', () => {
  it('writes exactly what instantFromMs writes, for any instant of years 0000 to 9999 (property)', () => {
    const formatter = new InstantFormatter();
    const lastMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    fc.assert(
      fc.property(fc.integer({ min: FIRST_MS, max: lastMs }), (ms) => {
        assert.equal(formatter.format(ms), instantFromMs(ms));
        // Asked again (the cached answer) and for the next millisecond (the cached day).
        assert.equal(formatter.format(ms), instantFromMs(ms));
        if (ms < lastMs) assert.equal(formatter.format(ms + 1), instantFromMs(ms + 1));
      }),
      { seed: 20261129, numRuns: 2000 },
    );
  });
});
