/**
 * chargeCallInto, the allocation-free entry point: its number path against the bigint path and
 * against an independent reference written with the kernel's divideRounded, on random tariffs
 * and calls, including prices, fees and durations large enough to force the bigint fallback.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { divideRounded, formatDecimal } from '../../kernel/decimal.js';
import { isTollgateError } from '../../kernel/errors.js';
import { RATED_SCALE } from '../../kernel/money.js';
import {
  bandAt,
  bandAtInstant,
  bandNameAt,
  callAmountPico,
  chargeCall,
  chargeCallInto,
  chargeCallIntoBigInt,
  chargeBatchedCallInto,
  chargeRoutedCallInto,
  chargedSeconds,
  newCallChargeScratch,
  newRoutedCallBatch,
  routeCallBatch,
  tariffCurrencyIndex,
  type CallChargeScratch,
} from './charge.js';
import { compileTariff } from './compile.js';
import type { BandWindow, TariffDefinition, Weekday, ZoneRate } from './model.js';
import { buildPrefixTrie, longestPrefix, matchCalledNumber } from './prefix-trie.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const YEAR_2026_MS = Date.UTC(2026, 0, 1);
const YEAR_MS = 365 * 86_400_000;

/**
 * Pico-unit amounts at three sizes: up to 1 major unit (always numbers), up to 100 000 major
 * units (around 2^53 pico = 9 007 major units, so either path), and up to 10^10 major units
 * (beyond 2^53 after a few seconds: the bigint fallback).
 */
const picoAmount = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 12n }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 17n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 22n }) },
);
const money = picoAmount.map((pico) => formatDecimal(pico, RATED_SCALE));

const rateArbitrary = fc.record({
  unitPrice: money,
  peakPrice: money,
  weekendPrice: money,
  connectFee: fc.oneof({ weight: 3, arbitrary: fc.constant('0') }, { weight: 2, arbitrary: money }),
  // 1 to 3600 s has a remainder table; beyond, charging divides per call (and uses bigint).
  unitSeconds: fc.oneof(
    fc.constantFrom(1, 6, 30, 60, 3600),
    fc.integer({ min: 1, max: 3600 }),
    fc.integer({ min: 3601, max: 1_000_000 }),
  ),
  firstSec: fc.oneof(fc.constantFrom(1, 30, 60), fc.integer({ min: 1, max: 1000 })),
  nextSec: fc.oneof(fc.constantFrom(1, 6, 60), fc.integer({ min: 1, max: 1000 })),
  limits: fc.tuple(fc.option(picoAmount, { nil: undefined }), fc.option(picoAmount, { nil: undefined })),
  bandCrossing: fc.constantFrom<'start' | 'split'>('start', 'split'),
});

type RateCase = typeof rateArbitrary extends fc.Arbitrary<infer T> ? T : never;

/** A one-zone tariff in Europe/Berlin with peak, off-peak, weekend and a holiday. */
function tariffOf(rate: RateCase): TariffDefinition {
  const [a, b] = rate.limits;
  // Validation wants minimum ≤ maximum.
  const [minimum, maximum] = a !== undefined && b !== undefined && a > b ? [b, a] : [a, b];
  const zoneRate: ZoneRate = {
    zone: 'Z',
    currency: 'EUR',
    connectFee: rate.connectFee,
    unitSeconds: rate.unitSeconds,
    unitPrice: rate.unitPrice,
    increments: { firstSec: rate.firstSec, nextSec: rate.nextSec },
    ...(minimum === undefined ? {} : { minimumCharge: formatDecimal(minimum, RATED_SCALE) }),
    ...(maximum === undefined ? {} : { maximumCharge: formatDecimal(maximum, RATED_SCALE) }),
    bandPrices: [
      { band: 'peak', unitPrice: rate.peakPrice },
      { band: 'weekend', unitPrice: rate.weekendPrice },
    ],
  };
  return {
    id: 'property',
    name: 'Property tariff',
    timeZone: 'Europe/Berlin',
    currencies: ['EUR'],
    zones: [{ id: 'Z' }],
    prefixTables: [{ id: 'p', name: 'p', entries: [{ prefix: '4', zone: 'Z' }] }],
    voice: { prefixTableId: 'p', bandCrossing: rate.bandCrossing, rates: [zoneRate] },
    timeBands: {
      bands: [
        {
          name: 'peak',
          windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:30', to: '19:45' }],
        },
        { name: 'off-peak', windows: [] },
        { name: 'weekend', windows: [{ days: ['sat', 'sun'], from: '00:00', to: '24:00' }] },
      ],
      defaultBand: 'off-peak',
      holidayBand: 'weekend',
      holidayCalendar: { name: 'DE', dates: ['2026-04-03', '2026-12-25'] },
    },
  };
}

/**
 * The 'start' charge by the definition alone: round-half-up(price of the start band × charged
 * seconds / unitSeconds) + connect fee, then raised to the minimum or cut to the maximum.
 */
function referenceStart(
  definition: TariffDefinition,
  bandName: string,
  durationSec: number,
): { chargedSec: number; amountPico: bigint } {
  const rate = (definition.voice as NonNullable<TariffDefinition['voice']>).rates[0] as ZoneRate;
  const pico = (text: string): bigint => {
    const [whole = '0', fraction = ''] = text.split('.');
    return BigInt(whole) * 10n ** 12n + BigInt(fraction.padEnd(12, '0') || '0');
  };
  const chargedSec = chargedSeconds(durationSec, rate.increments.firstSec, rate.increments.nextSec);
  if (chargedSec === 0) return { chargedSec, amountPico: 0n };
  const price = pico(rate.bandPrices?.find((b) => b.band === bandName)?.unitPrice ?? rate.unitPrice);
  let amount =
    divideRounded(price * BigInt(chargedSec), BigInt(rate.unitSeconds), 'half-up') + pico(rate.connectFee);
  const minimum = rate.minimumCharge === undefined ? undefined : pico(rate.minimumCharge);
  const maximum = rate.maximumCharge === undefined ? undefined : pico(rate.maximumCharge);
  if (minimum !== undefined && amount < minimum) amount = minimum;
  else if (maximum !== undefined && amount > maximum) amount = maximum;
  return { chargedSec, amountPico: amount };
}

/** Every figure of a scratch, amounts as bigint, for deepEqual. */
function figures(out: CallChargeScratch) {
  const big = out.amountsAreBig;
  const parts = [];
  for (let k = 0; k < out.partCount; k++) {
    parts.push([
      out.partBand[k],
      out.partSeconds[k],
      big ? out.partAmountPicoBig[k] : BigInt(out.partAmountPico[k] as number),
    ]);
  }
  return {
    destinationZone: out.destinationZone,
    matchedLength: out.matchedLength,
    ratedZone: out.ratedZone,
    band: out.band,
    durationSec: out.durationSec,
    chargedSec: out.chargedSec,
    connectFeePico: big ? out.connectFeePicoBig : BigInt(out.connectFeePico),
    usagePico: big ? out.usagePicoBig : BigInt(out.usagePico),
    amountPico: callAmountPico(out),
    limit: out.limit,
    parts,
  };
}

/** Checks that every number amount of `out` is a safe integer (so exact) when not in bigint. */
function assertNumbersExact(out: CallChargeScratch): void {
  if (out.amountsAreBig) return;
  for (const value of [out.connectFeePico, out.usagePico, out.amountPico]) {
    assert.ok(Number.isSafeInteger(value), `number amount ${value} is not a safe integer`);
  }
}

const callArbitrary = fc.record({
  startMs: fc.integer({ min: YEAR_2026_MS - 30 * 86_400_000, max: YEAR_2026_MS + YEAR_MS }),
  durationSec: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 600 }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 3 * 86_400 }) },
    // Long enough to pass 2^53 pico-units at ordinary prices: the bigint fallback ('start' only,
    // since 'split' walks a call hour by hour).
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 4_000_000_000 }) },
  ),
  number: fc.stringMatching(/^4[0-9]{0,14}$/),
});

describe('chargeCallInto', () => {
  it('gives exactly the bigint path and the divideRounded reference on random tariffs and calls', () => {
    let inNumbers = 0;
    let inBigInt = 0;
    fc.assert(
      fc.property(rateArbitrary, callArbitrary, (rate, call) => {
        const definition = tariffOf(rate);
        const tariff = compileTariff(definition);
        const durationSec =
          rate.bandCrossing === 'split' ? Math.min(call.durationSec, 3 * 86_400) : call.durationSec;
        const fast = chargeCallInto(
          tariff,
          call.number,
          call.startMs,
          durationSec,
          0,
          undefined,
          newCallChargeScratch(),
        );
        const exact = chargeCallIntoBigInt(
          tariff,
          call.number,
          call.startMs,
          durationSec,
          0,
          undefined,
          newCallChargeScratch(),
        );
        assert.equal(exact.amountsAreBig, true);
        assertNumbersExact(fast);
        assert.deepEqual(figures(fast), figures(exact));
        if (fast.amountsAreBig) inBigInt++;
        else inNumbers++;
        // The parts always add up to the usage.
        const parts = figures(fast).parts.reduce((sum, part) => sum + (part[2] as bigint), 0n);
        assert.equal(parts, figures(fast).usagePico);
        if (rate.bandCrossing === 'start') {
          const reference = referenceStart(definition, bandNameAt(tariff, call.startMs), durationSec);
          assert.equal(fast.chargedSec, reference.chargedSec);
          assert.equal(callAmountPico(fast), reference.amountPico);
        }
        // chargeCall, built on chargeCallInto, reports the same amounts as bigints.
        const charge = chargeCall(tariff, { calledNumber: call.number, startMs: call.startMs, durationSec });
        assert.equal(charge.amountPico, callAmountPico(fast));
        assert.equal(charge.usagePico, figures(fast).usagePico);
      }),
      { numRuns: 400 },
    );
    // The generators reach both paths; a change that sent everything one way would show here.
    assert.ok(inNumbers > 100, `only ${inNumbers} charges in numbers`);
    assert.ok(inBigInt > 10, `only ${inBigInt} charges in bigint`);
  });

  it('falls back to bigint exactly at the edge of 2^53 pico-units', () => {
    // 1/1 s at a price of p per second: the amount is p × seconds, so the largest seconds in
    // numbers is floor((2^53 − 1) / p). p = 1 000 000 000 000 (1.0 per second): 9 007 s.
    const definition = tariffOf({
      unitPrice: '1',
      peakPrice: '1',
      weekendPrice: '1',
      connectFee: '0',
      unitSeconds: 1,
      firstSec: 1,
      nextSec: 1,
      limits: [undefined, undefined],
      bandCrossing: 'start',
    });
    const tariff = compileTariff(definition);
    const out = newCallChargeScratch();
    for (const seconds of [9006, 9007, 9008, 9009]) {
      chargeCallInto(tariff, '4123', YEAR_2026_MS, seconds, 0, undefined, out);
      // (2^53 − 1) / 10^12 = 9 007.199…: 9 007 s is the last in numbers.
      assert.equal(out.amountsAreBig, seconds > 9007, `${seconds} s`);
      assert.equal(callAmountPico(out), BigInt(seconds) * 10n ** 12n);
    }
  });

  it('fills every field of a reused scratch, whatever the previous call left there', () => {
    const tariff = compileTariff(
      tariffOf({
        unitPrice: '0.06',
        peakPrice: '0.12',
        weekendPrice: '0.03',
        connectFee: '0.01',
        unitSeconds: 60,
        firstSec: 30,
        nextSec: 6,
        limits: [10n ** 10n, 10n ** 12n],
        bandCrossing: 'split',
      }),
    );
    const out = newCallChargeScratch();
    // Monday 2026-03-02 08:29:00 CET = 07:29:00Z; peak starts at 08:30.
    const beforePeak = Date.UTC(2026, 2, 2, 7, 29);
    chargeCallInto(tariff, '4930', beforePeak, 120, 0, undefined, out);
    // 60 s off-peak at 0.06/60, 60 s peak at 0.12/60: 0.06 + 0.12 = 0.18, + 0.01 fee = 0.19.
    assert.equal(out.partCount, 2);
    assert.equal(out.amountPico, 190_000_000_000);
    assert.equal(out.limit, undefined);
    // An unanswered call: no parts, nothing charged, no limit.
    chargeCallInto(tariff, '4930', beforePeak, 0, 0, undefined, out);
    assert.deepEqual(
      [out.partCount, out.chargedSec, out.connectFeePico, out.usagePico, out.amountPico, out.limit],
      [0, 0, 0, 0, 0, undefined],
    );
    // An hour from 08:29: 60 s off-peak and 3540 s peak, 0.06 + 7.08 + 0.01 = 7.15, cut to 1.00.
    chargeCallInto(tariff, '4930', beforePeak, 3600, 0, undefined, out);
    assert.equal(out.limit, 'maximum');
    assert.equal(out.amountPico, 1_000_000_000_000);
    assert.equal(out.amountsAreBig, false);
  });

  it('throws what chargeCall throws, and refuses a currency index out of range', () => {
    const tariff = compileTariff(
      tariffOf({
        unitPrice: '0.06',
        peakPrice: '0.06',
        weekendPrice: '0.06',
        connectFee: '0',
        unitSeconds: 60,
        firstSec: 1,
        nextSec: 1,
        limits: [undefined, undefined],
        bandCrossing: 'start',
      }),
    );
    const out = newCallChargeScratch();
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (error) {
        assert.ok(isTollgateError(error), String(error));
        return `${error.code} ${error.field ?? ''}`;
      }
      return 'no error';
    };
    const cases: Array<[string, number, number, number]> = [
      ['49x1', YEAR_2026_MS, 60, 0],
      ['', YEAR_2026_MS, 60, 0],
      ['4123456789012345', YEAR_2026_MS, 60, 0],
      ['4912', YEAR_2026_MS, -1, 0],
      ['4912', YEAR_2026_MS, 1.5, 0],
      ['4912', Number.NaN, 60, 0],
      ['49x1', Number.NaN, -1, 0],
      ['5912', YEAR_2026_MS, 60, 0],
    ];
    for (const [number, startMs, durationSec] of cases) {
      const viaObject = code(() => chargeCall(tariff, { calledNumber: number, startMs, durationSec }));
      const viaScratch = code(() => chargeCallInto(tariff, number, startMs, durationSec, 0, undefined, out));
      assert.equal(viaScratch, viaObject, `${number} ${startMs} ${durationSec}`);
      assert.notEqual(viaScratch, 'no error');
    }
    assert.equal(
      code(() => chargeCallInto(tariff, '4912', YEAR_2026_MS, 60, 1, undefined, out)),
      'tariff.invalid_usage currency',
    );
    assert.equal(tariffCurrencyIndex(tariff, undefined), 0);
    assert.equal(tariffCurrencyIndex(tariff, 'EUR'), 0);
    assert.equal(
      code(() => tariffCurrencyIndex(tariff, 'USD')),
      'tariff.invalid_usage currency',
    );
  });
});

describe('chargeRoutedCallInto', () => {
  it('charges exactly what chargeCallInto charges for the same part of the call, given the match', () => {
    fc.assert(
      fc.property(
        rateArbitrary,
        callArbitrary,
        fc.integer({ min: 0, max: 4000 }),
        (rate, call, offsetSec) => {
          const tariff = compileTariff(tariffOf(rate));
          const durationSec = Math.min(call.durationSec, 3 * 86_400);
          const match = longestPrefix((tariff.voice as NonNullable<typeof tariff.voice>).trie, call.number);
          const routed = chargeRoutedCallInto(
            tariff,
            call.number,
            match.zone,
            match.length,
            match.zone,
            { startMs: call.startMs },
            offsetSec,
            durationSec,
            0,
            newCallChargeScratch(),
          );
          const direct = chargeCallInto(
            tariff,
            call.number,
            call.startMs + offsetSec * 1000,
            durationSec,
            0,
            undefined,
            newCallChargeScratch(),
          );
          assert.deepEqual(figures(routed), figures(direct));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('throws what chargeCallInto throws for the rest of the call', () => {
    const tariff = compileTariff(
      tariffOf({
        unitPrice: '0.06',
        peakPrice: '0.06',
        weekendPrice: '0.06',
        connectFee: '0',
        unitSeconds: 60,
        firstSec: 1,
        nextSec: 1,
        limits: [undefined, undefined],
        bandCrossing: 'start',
      }),
    );
    const out = newCallChargeScratch();
    const message = (fn: () => unknown): string => {
      try {
        fn();
      } catch (error) {
        assert.ok(isTollgateError(error), String(error));
        return `${error.code} ${error.field ?? ''} ${error.message}`;
      }
      return 'no error';
    };
    const lastInstant = Date.UTC(2199, 11, 31, 23, 59, 59, 999);
    const cases: Array<[number, number, number, number]> = [
      [YEAR_2026_MS, 0, -1, 0],
      [YEAR_2026_MS, 0, 1.5, 0],
      [Number.NaN, 0, 60, 0],
      [Date.UTC(1899, 11, 31), 0, 60, 0],
      [lastInstant - 30_000, 0, 60, 0],
      [lastInstant - 90_000, 60, 60, 0],
      [YEAR_2026_MS, 0, 60, 1],
    ];
    for (const [startMs, offsetSec, durationSec, currency] of cases) {
      const routed = message(() =>
        chargeRoutedCallInto(tariff, '4912', 0, 1, 0, { startMs }, offsetSec, durationSec, currency, out),
      );
      const direct = message(() =>
        chargeCallInto(tariff, '4912', startMs + offsetSec * 1000, durationSec, currency, undefined, out),
      );
      assert.equal(routed, direct, `${startMs} + ${offsetSec} s, ${durationSec} s, currency ${currency}`);
      assert.notEqual(routed, 'no error');
    }
    assert.match(
      message(() =>
        chargeRoutedCallInto(tariff, '5912', -1, 0, -1, { startMs: YEAR_2026_MS }, 0, 60, 0, out),
      ),
      /^tariff\.no_route calledNumber /,
    );
  });
});

describe('routeCallBatch and chargeBatchedCallInto', () => {
  const lastInstant = Date.UTC(2199, 11, 31, 23, 59, 59, 999);
  /** Calls of every kind: mostly good, some with each problem chargeCallInto reports. */
  const batchCall = fc.record({
    calledNumber: fc.oneof(
      { weight: 8, arbitrary: fc.stringMatching(/^4[0-9]{0,14}$/) },
      // Unrouted (no prefix but 4), too long, empty.
      { weight: 1, arbitrary: fc.stringMatching(/^[0-9]{0,17}$/) },
      // Not digits, anywhere.
      { weight: 1, arbitrary: fc.stringMatching(/^[0-9+ #a]{0,16}$/) },
    ),
    startMs: fc.oneof(
      {
        weight: 8,
        arbitrary: fc.integer({ min: YEAR_2026_MS - 30 * 86_400_000, max: YEAR_2026_MS + YEAR_MS }),
      },
      { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Date.UTC(1899, 11, 31), lastInstant - 30_000) },
    ),
    durationSec: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0, max: 3 * 86_400 }) },
      { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 60) },
    ),
  });

  /** A charge's figures, or the error it threw as code, field and message. */
  function outcome(charge: () => CallChargeScratch): unknown {
    try {
      return figures(charge());
    } catch (error) {
      assert.ok(isTollgateError(error), String(error));
      return `${error.code} ${error.field ?? ''} ${error.message}`;
    }
  }

  it('charges every call of random batches exactly as chargeCallInto, errors included', () => {
    let charged = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        rateArbitrary,
        fc.array(batchCall, { minLength: 1, maxLength: 24 }),
        fc.constantFrom(0, 0, 0, 1),
        fc.constantFrom(undefined, undefined, undefined, '26201'),
        (rate, calls, currency, visited) => {
          const tariff = compileTariff(tariffOf(rate));
          // A batch smaller than the calls, reused, so entries left from the last batch are there.
          const batch = newRoutedCallBatch(8);
          const out = newCallChargeScratch();
          for (let from = 0; from < calls.length; from += 8) {
            const count = Math.min(8, calls.length - from);
            routeCallBatch(tariff, calls, from, count, batch);
            for (let k = 0; k < count; k++) {
              const call = calls[from + k] as (typeof calls)[number];
              const batched = outcome(() =>
                chargeBatchedCallInto(tariff, batch, k, call, currency, visited, out),
              );
              const single = outcome(() =>
                chargeCallInto(
                  tariff,
                  call.calledNumber,
                  call.startMs,
                  call.durationSec,
                  currency,
                  visited,
                  newCallChargeScratch(),
                ),
              );
              assert.deepEqual(batched, single, JSON.stringify(call));
              if (typeof single === 'string') refused++;
              else charged++;
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    assert.ok(charged > 500 && refused > 200, `${charged} charged, ${refused} refused`);
  });

  it('refuses a number that is not a string as chargeCallInto does', () => {
    const tariff = compileTariff(tariffOf(fc.sample(rateArbitrary, { numRuns: 1, seed: 7 })[0] as RateCase));
    const calls = [{ calledNumber: 4912 as unknown as string, startMs: YEAR_2026_MS, durationSec: 60 }];
    const batch = routeCallBatch(tariff, calls, 0, 1, newRoutedCallBatch(1));
    assert.match(
      String(
        outcome(() =>
          chargeBatchedCallInto(tariff, batch, 0, calls[0]!, 0, undefined, newCallChargeScratch()),
        ),
      ),
      /^tariff\.invalid_usage calledNumber /,
    );
  });

  it('charges a call that is not the one routed at its entry by routing it on its own', () => {
    const tariff = compileTariff(tariffOf(fc.sample(rateArbitrary, { numRuns: 1, seed: 11 })[0] as RateCase));
    const routed = [{ calledNumber: '5912', startMs: YEAR_2026_MS, durationSec: 60 }];
    const batch = routeCallBatch(tariff, routed, 0, 1, newRoutedCallBatch(4));
    const other = { calledNumber: '4912', startMs: YEAR_2026_MS, durationSec: 60 };
    assert.deepEqual(
      outcome(() => chargeBatchedCallInto(tariff, batch, 0, other, 0, undefined, newCallChargeScratch())),
      outcome(() => chargeCallInto(tariff, '4912', YEAR_2026_MS, 60, 0, undefined, newCallChargeScratch())),
    );
  });

  it('refuses an entry beyond the batch, a batch routed in another tariff, and too many calls', () => {
    const rate = fc.sample(rateArbitrary, { numRuns: 1, seed: 3 })[0] as RateCase;
    const tariff = compileTariff(tariffOf(rate));
    const other = compileTariff(tariffOf(rate));
    const calls = [
      { calledNumber: '4912', startMs: YEAR_2026_MS, durationSec: 60 },
      { calledNumber: '4913', startMs: YEAR_2026_MS, durationSec: 60 },
    ];
    const batch = routeCallBatch(tariff, calls, 0, 2, newRoutedCallBatch(2));
    const out = newCallChargeScratch();
    assert.throws(
      () => chargeBatchedCallInto(tariff, batch, 2, calls[1]!, 0, undefined, out),
      /not in the batch/,
    );
    assert.throws(
      () => chargeBatchedCallInto(other, batch, 0, calls[0]!, 0, undefined, out),
      /not in the batch/,
    );
    assert.throws(() => routeCallBatch(tariff, [...calls, ...calls], 0, 3, batch), /capacity 2/);
    assert.throws(() => routeCallBatch(tariff, calls, 1, 2, batch), /not all among the 2/);
    assert.throws(() => newRoutedCallBatch(0), /at least 1/);
  });
});

describe('the band hour cache', () => {
  const weekday = fc.constantFrom<Weekday>('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun');
  const clock = (minute: number): string =>
    `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

  it('agrees with the uncached lookup in zones with :30 and :45 offsets and DST', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          'Europe/Berlin',
          'Asia/Kolkata',
          'Asia/Kathmandu',
          'America/St_Johns',
          'Australia/Lord_Howe',
        ),
        // A window at any minute, so hours that straddle a window edge are common.
        fc.record({
          day: weekday,
          from: fc.integer({ min: 0, max: 1439 }),
          to: fc.integer({ min: 1, max: 1440 }),
        }),
        fc.array(fc.integer({ min: YEAR_2026_MS - YEAR_MS, max: YEAR_2026_MS + 2 * YEAR_MS }), {
          minLength: 1,
          maxLength: 50,
        }),
        (timeZone, window, instants) => {
          const windows: BandWindow[] =
            window.from === window.to % 1440
              ? []
              : [{ days: [window.day], from: clock(window.from), to: clock(window.to) }];
          const tariff = compileTariff({
            ...tariffOf({
              unitPrice: '0.01',
              peakPrice: '0.02',
              weekendPrice: '0.03',
              connectFee: '0',
              unitSeconds: 60,
              firstSec: 1,
              nextSec: 1,
              limits: [undefined, undefined],
              bandCrossing: 'start',
            }),
            timeZone,
            timeBands: {
              bands: [
                { name: 'peak', windows },
                { name: 'off-peak', windows: [] },
                { name: 'weekend', windows: [] },
              ],
              defaultBand: 'off-peak',
              holidayBand: 'weekend',
              holidayCalendar: { name: 'H', dates: ['2026-03-29', '2026-10-25', '2026-04-05'] },
            },
          });
          for (const ms of instants) {
            // Each instant, then instants around it in the same hour, so a cached hour is reused.
            for (const at of [ms, ms - (ms % 3_600_000), ms + 1_234_567 - (ms % 3_600_000), ms]) {
              assert.equal(bandAt(tariff.bands, at), bandAtInstant(tariff.bands, at), `${timeZone} ${at}`);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('matchCalledNumber', () => {
  it('matches like longestPrefix for numbers of digits, and refuses anything else', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[0-9]{1,8}$/), { minLength: 1, maxLength: 300 }),
        fc.array(
          fc.oneof(
            fc.stringMatching(/^[0-9]{1,15}$/),
            fc.stringMatching(/^[0-9]{0,8}[^0-9][0-9]{0,8}$/),
            fc.stringMatching(/^[0-9]{16,18}$/),
            fc.constant(''),
          ),
          { maxLength: 50 },
        ),
        (prefixes, numbers) => {
          const trie = buildPrefixTrie(prefixes, (i) => i % 7);
          for (const number of numbers) {
            const out = { zone: -9, length: -9 };
            const valid = /^[0-9]{1,15}$/.test(number);
            assert.equal(matchCalledNumber(trie, number, out), valid, number);
            if (valid) assert.deepEqual(out, longestPrefix(trie, number));
            else assert.deepEqual(out, { zone: -9, length: -9 }, 'left as it was');
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

// Keeps MAX_SAFE in use for readers of the fallback test: 2^53 − 1 pico is 9 007.199254740991.
assert.equal(formatDecimal(MAX_SAFE, RATED_SCALE), '9007.199254740991');
