import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { divideRounded, formatDecimal } from '../../kernel/decimal.js';
import { isTollgateError } from '../../kernel/errors.js';
import { RatedAmount } from '../../kernel/money.js';
import { roundToIncrements } from '../../kernel/quantity.js';
import { bandNameAt, chargeCall, chargeData, chargeEvent, chargedSeconds, type CallUsage } from './charge.js';
import { compileTariff } from './compile.js';
import type { TariffDefinition, ZoneRate } from './model.js';

const ms = (iso: string): number => Date.parse(iso);
/** Pico-units of decimal text: p('0.07') is 70 000 000 000n. */
const p = (text: string): bigint => RatedAmount.parse(text, 'EUR').amountPico;

function rate(zone: string, overrides: Partial<ZoneRate> = {}): ZoneRate {
  return {
    zone,
    currency: 'EUR',
    connectFee: '0',
    unitSeconds: 60,
    unitPrice: '0.06',
    increments: { firstSec: 1, nextSec: 1 },
    ...overrides,
  };
}

/**
 * A small tariff in Europe/Berlin: peak Mon-Fri 08:00-20:00, weekend all Saturday and Sunday,
 * off-peak otherwise, holidays on 2026-04-03 and 2026-12-25.
 */
function tariff(overrides: Partial<TariffDefinition> = {}, rates?: ZoneRate[]): TariffDefinition {
  return {
    id: 'test',
    name: 'Test tariff',
    timeZone: 'Europe/Berlin',
    currencies: ['EUR', 'USD'],
    zones: [{ id: 'DE-fixed' }, { id: 'DE-mobile' }, { id: 'US' }, { id: 'EU-roam' }],
    prefixTables: [
      {
        id: 'world',
        name: 'World',
        entries: [
          { prefix: '49', zone: 'DE-fixed' },
          { prefix: '4915', zone: 'DE-mobile' },
          { prefix: '4916', zone: 'DE-mobile' },
          { prefix: '1', zone: 'US' },
        ],
      },
    ],
    voice: {
      prefixTableId: 'world',
      bandCrossing: 'start',
      rates: rates ?? [
        rate('DE-fixed', {
          unitPrice: '0.02',
          increments: { firstSec: 60, nextSec: 60 },
          bandPrices: [{ band: 'peak', unitPrice: '0.04' }],
        }),
        rate('DE-mobile', {
          unitPrice: '0.01',
          connectFee: '0.01',
          increments: { firstSec: 30, nextSec: 6 },
          bandPrices: [
            { band: 'peak', unitPrice: '0.06' },
            { band: 'weekend', unitPrice: '0.005' },
          ],
        }),
        rate('US', { unitPrice: '0.07', minimumCharge: '0.05', maximumCharge: '1.00' }),
        rate('EU-roam', { unitPrice: '0.20' }),
        ...['DE-fixed', 'DE-mobile', 'US', 'EU-roam'].map((zone) =>
          rate(zone, { currency: 'USD', unitPrice: '0.10' }),
        ),
      ],
    },
    timeBands: {
      bands: [
        {
          name: 'peak',
          windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '20:00' }],
        },
        { name: 'off-peak', windows: [] },
        { name: 'weekend', windows: [{ days: ['sat', 'sun'], from: '00:00', to: '24:00' }] },
        { name: 'holiday', windows: [] },
      ],
      defaultBand: 'off-peak',
      holidayBand: 'holiday',
      holidayCalendar: { name: 'DE', dates: ['2026-04-03', '2026-12-25'] },
    },
    roaming: { networks: [{ mccMnc: '20801', zone: 'EU-roam' }] },
    data: [
      { currency: 'EUR', blockBytes: 1000, pricing: { mode: 'flat', unitPrice: '0.00001' } },
      {
        currency: 'EUR',
        roamingZone: 'EU-roam',
        blockBytes: 1_000_000,
        pricing: {
          mode: 'graduated',
          tiers: [{ upTo: '100', unitPrice: '0.10' }, { unitPrice: '0.05' }],
        },
      },
      {
        currency: 'USD',
        blockBytes: 1_000_000,
        pricing: {
          mode: 'volume',
          tiers: [{ upTo: '100', unitPrice: '0.10' }, { unitPrice: '0.05' }],
        },
      },
    ],
    events: [
      { eventType: 'sms', currency: 'EUR', pricing: { mode: 'flat', unitPrice: '0.09' } },
      {
        eventType: 'sms',
        currency: 'EUR',
        roamingZone: 'EU-roam',
        pricing: { mode: 'flat', unitPrice: '0.02' },
      },
      { eventType: 'content', currency: 'EUR', pricedInEvent: true },
    ],
    ...overrides,
  };
}

const compiled = compileTariff(tariff());
/** A Monday in March 2026 (CET, UTC+1): 10:00 local is 09:00Z, peak. */
const MONDAY_10 = ms('2026-03-02T09:00:00Z');

function call(overrides: Partial<CallUsage> = {}): CallUsage {
  return { calledNumber: '4930123456', startMs: MONDAY_10, durationSec: 61, ...overrides };
}

function expectError(fn: () => unknown, code: string, field?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isTollgateError(error), String(error));
    assert.equal(error.code, code, error.message);
    if (field !== undefined) assert.equal(error.field, field);
    return true;
  });
}

describe('chargeCall: routing', () => {
  it('routes by longest prefix and reports the matched prefix', () => {
    const mobile = chargeCall(compiled, call({ calledNumber: '4915112345678' }));
    assert.equal(mobile.zone, 'DE-mobile');
    assert.equal(mobile.matchedPrefix, '4915');
    const fixed = chargeCall(compiled, call({ calledNumber: '4930123456' }));
    assert.equal(fixed.zone, 'DE-fixed');
    assert.equal(fixed.matchedPrefix, '49');
  });

  it('refuses numbers that are not E.164 digits, and numbers no prefix matches', () => {
    expectError(
      () => chargeCall(compiled, call({ calledNumber: '+4930123456' })),
      'tariff.invalid_usage',
      'calledNumber',
    );
    expectError(
      () => chargeCall(compiled, call({ calledNumber: '' })),
      'tariff.invalid_usage',
      'calledNumber',
    );
    expectError(
      () => chargeCall(compiled, call({ calledNumber: '1234567890123456' })),
      'tariff.invalid_usage',
    );
    expectError(
      () => chargeCall(compiled, call({ calledNumber: '33123456' })),
      'tariff.no_route',
      'calledNumber',
    );
    expectError(() => chargeCall(compiled, call({ durationSec: -1 })), 'tariff.invalid_usage', 'durationSec');
    expectError(
      () => chargeCall(compiled, call({ durationSec: 1.5 })),
      'tariff.invalid_usage',
      'durationSec',
    );
    expectError(() => chargeCall(compiled, call({ startMs: Number.NaN })), 'tariff.invalid_usage', 'startMs');
  });

  it('prices in the requested currency, the first one by default', () => {
    assert.equal(chargeCall(compiled, call()).currency, 'EUR');
    const usd = chargeCall(compiled, call({ currency: 'USD' }));
    assert.equal(usd.currency, 'USD');
    assert.equal(usd.amountPico, (p('0.1') * 61n) / 60n + 1n); // 0.10 × 61 / 60 = 0.101666…67, half-up
    expectError(() => chargeCall(compiled, call({ currency: 'GBP' })), 'tariff.invalid_usage', 'currency');
  });

  it("prices a roaming call in the visited network's roaming zone", () => {
    const roaming = chargeCall(
      compiled,
      call({ calledNumber: '12125551234', durationSec: 60, visitedMccMnc: '20801' }),
    );
    assert.equal(roaming.zone, 'US');
    assert.equal(roaming.roamingZone, 'EU-roam');
    assert.equal(roaming.amountPico, p('0.20'));
    expectError(
      () => chargeCall(compiled, call({ visitedMccMnc: '99999' })),
      'tariff.no_rate',
      'visitedMccMnc',
    );
  });
});

describe('chargeCall: increments, fees and limits', () => {
  it('applies first/next increments: 60/60, 30/6, 1/1', () => {
    // 60/60: 61 s -> 60 + 60 = 120 s.
    assert.equal(chargeCall(compiled, call({ durationSec: 61 })).chargedSec, 120);
    assert.equal(chargeCall(compiled, call({ durationSec: 60 })).chargedSec, 60);
    assert.equal(chargeCall(compiled, call({ durationSec: 1 })).chargedSec, 60);
    // 30/6: 31 s -> 30 + 6 = 36 s; 5 s -> 30 s; 37 s -> 42 s.
    const mobile = (durationSec: number) =>
      chargeCall(compiled, call({ calledNumber: '4915112345', durationSec }));
    assert.equal(mobile(31).chargedSec, 36);
    assert.equal(mobile(5).chargedSec, 30);
    assert.equal(mobile(37).chargedSec, 42);
    // 1/1: 61 s -> 61 s.
    assert.equal(chargeCall(compiled, call({ calledNumber: '12125551234', durationSec: 61 })).chargedSec, 61);
  });

  it("matches the kernel's roundToIncrements on random durations and increments", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 3600 }),
        (duration, first, next) => {
          assert.equal(
            BigInt(chargedSeconds(duration, first, next)),
            roundToIncrements(BigInt(duration), BigInt(first), BigInt(next)),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('prices charged seconds at the band price, rounding half-up once at 12 decimals', () => {
    // DE-fixed in peak: 0.04 per 60 s, 61 s -> 120 s: 0.04 × 120 / 60 = 0.08, exact.
    const fixed = chargeCall(compiled, call({ durationSec: 61 }));
    assert.equal(fixed.band, 'peak');
    assert.equal(fixed.amountPico, p('0.08'));
    // US: 0.07 per 60 s, 1/1, 61 s: 70 000 000 000 × 61 / 60 = 71 166 666 666.67 -> 71 166 666 667.
    const us = chargeCall(compiled, call({ calledNumber: '12125551234', durationSec: 61 }));
    assert.equal(us.usagePico, 71_166_666_667n);
    assert.equal(us.amountPico, 71_166_666_667n);
    assert.equal(us.limit, undefined);
  });

  it('equals round-half-up(unitPrice × chargedSec / unitSeconds) for random prices and unit lengths', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.integer({ min: 1, max: 7200 }),
        fc.integer({ min: 1, max: 200_000 }),
        (pricePico, unitSeconds, durationSec) => {
          const unitPrice = formatDecimal(pricePico, 12);
          const single = compileTariff(
            tariff({
              currencies: ['EUR'],
              data: [],
              events: [],
              voice: {
                prefixTableId: 'world',
                bandCrossing: 'start',
                rates: ['DE-fixed', 'DE-mobile', 'US'].map((zone) => rate(zone, { unitPrice, unitSeconds })),
              },
            }),
          );
          const charge = chargeCall(single, call({ durationSec }));
          const expected = divideRounded(pricePico * BigInt(durationSec), BigInt(unitSeconds), 'half-up');
          assert.equal(charge.amountPico, expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('adds the connect fee to answered calls only', () => {
    // DE-mobile peak: 0.06 per 60 s, 30/6, 31 s -> 36 s: 0.06 × 36 / 60 = 0.036, + 0.01 fee.
    const answered = chargeCall(compiled, call({ calledNumber: '4915112345', durationSec: 31 }));
    assert.equal(answered.connectFeePico, p('0.01'));
    assert.equal(answered.usagePico, p('0.036'));
    assert.equal(answered.amountPico, p('0.046'));
    const unanswered = chargeCall(compiled, call({ calledNumber: '4915112345', durationSec: 0 }));
    assert.equal(unanswered.chargedSec, 0);
    assert.equal(unanswered.connectFeePico, 0n);
    assert.equal(unanswered.amountPico, 0n);
    assert.deepEqual(unanswered.parts, []);
  });

  it('raises to the minimum and caps at the maximum', () => {
    // US: 10 s at 0.07 per 60 s = 0.011666…67, below the 0.05 minimum.
    const short = chargeCall(compiled, call({ calledNumber: '12125551234', durationSec: 10 }));
    assert.equal(short.usagePico, 11_666_666_667n);
    assert.equal(short.amountPico, p('0.05'));
    assert.equal(short.limit, 'minimum');
    // 2 hours: 0.07 × 120 = 8.40, above the 1.00 maximum.
    const long = chargeCall(compiled, call({ calledNumber: '12125551234', durationSec: 7200 }));
    assert.equal(long.usagePico, p('8.4'));
    assert.equal(long.amountPico, p('1'));
    assert.equal(long.limit, 'maximum');
    // An unanswered call is not raised to the minimum.
    assert.equal(chargeCall(compiled, call({ calledNumber: '12125551234', durationSec: 0 })).amountPico, 0n);
  });

  it('writes the calculation out when asked', () => {
    const charge = chargeCall(compiled, call({ calledNumber: '4915112345', durationSec: 31 }), {
      trace: true,
    });
    assert.deepEqual(charge.trace, [
      'matched prefix 4915: destination zone DE-mobile',
      'duration 31 s at increments 30/6: charged 36 s',
      'band peak: 36 s × 0.06 EUR per 60 s = 0.036 EUR (half-up to 12 decimals)',
      'connect fee 0.01 EUR',
      'total 0.046 EUR',
    ]);
    assert.equal(chargeCall(compiled, call()).trace, undefined);
  });
});

describe('time bands', () => {
  it('evaluates bands in local time: peak starts at 08:00 Berlin time, winter and summer', () => {
    // Monday 2026-03-02, CET (UTC+1): 08:00 local is 07:00Z.
    assert.equal(bandNameAt(compiled, ms('2026-03-02T06:59:59Z')), 'off-peak');
    assert.equal(bandNameAt(compiled, ms('2026-03-02T07:00:00Z')), 'peak');
    assert.equal(bandNameAt(compiled, ms('2026-03-02T18:59:59Z')), 'peak');
    assert.equal(bandNameAt(compiled, ms('2026-03-02T19:00:00Z')), 'off-peak');
    // Monday 2026-07-06, CEST (UTC+2): 08:00 local is 06:00Z.
    assert.equal(bandNameAt(compiled, ms('2026-07-06T05:59:59Z')), 'off-peak');
    assert.equal(bandNameAt(compiled, ms('2026-07-06T06:00:00Z')), 'peak');
  });

  it('puts the whole local weekend in the weekend band', () => {
    // Friday 23:00 UTC is already Saturday 00:00 in Berlin.
    assert.equal(bandNameAt(compiled, ms('2026-03-06T22:59:59Z')), 'off-peak');
    assert.equal(bandNameAt(compiled, ms('2026-03-06T23:00:00Z')), 'weekend');
    assert.equal(bandNameAt(compiled, ms('2026-03-08T22:59:59Z')), 'weekend');
    assert.equal(bandNameAt(compiled, ms('2026-03-08T23:00:00Z')), 'off-peak'); // Monday 00:00
    const weekend = chargeCall(
      compiled,
      call({ calledNumber: '4915112345', startMs: ms('2026-03-07T12:00:00Z'), durationSec: 60 }),
    );
    assert.equal(weekend.band, 'weekend');
    assert.equal(weekend.usagePico, p('0.005'));
  });

  it('puts holidays of the calendar in the holiday band, by local date', () => {
    // Good Friday 2026-04-03 at 10:00 local would be peak on any other Friday.
    assert.equal(bandNameAt(compiled, ms('2026-04-03T08:00:00Z')), 'holiday');
    assert.equal(bandNameAt(compiled, ms('2026-04-10T08:00:00Z')), 'peak');
    // 2026-12-24T23:30Z is 00:30 on the 25th in Berlin: the holiday has begun, by local date.
    assert.equal(bandNameAt(compiled, ms('2026-12-24T22:59:59Z')), 'off-peak');
    assert.equal(bandNameAt(compiled, ms('2026-12-24T23:30:00Z')), 'holiday');
    assert.equal(bandNameAt(compiled, ms('2026-12-25T22:59:59Z')), 'holiday'); // 23:59:59 on the 25th
    assert.equal(bandNameAt(compiled, ms('2026-12-25T23:00:00Z')), 'weekend'); // the 26th, a Saturday
  });

  describe('across daylight saving time in Europe/Berlin', () => {
    // A band that only exists from 02:00 to 03:00 local time, every day.
    const night = compileTariff(
      tariff({
        timeBands: {
          bands: [
            { name: 'day', windows: [] },
            {
              name: 'night',
              windows: [
                { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '02:00', to: '03:00' },
              ],
            },
          ],
          defaultBand: 'day',
        },
        voice: {
          prefixTableId: 'world',
          bandCrossing: 'split',
          rates: ['DE-fixed', 'DE-mobile', 'US', 'EU-roam'].flatMap((zone) => [
            rate(zone, { unitPrice: '0.06', bandPrices: [{ band: 'night', unitPrice: '0.03' }] }),
            rate(zone, { currency: 'USD' }),
          ]),
        },
      }),
    );

    it('spring forward (2026-03-29): local 02:00-02:59 does not exist, so no instant is in that night band', () => {
      // 00:59:59Z is 01:59:59 CET; one second later, 01:00:00Z, is 03:00:00 CEST. A local time of
      // 02:30 names no instant; instants, which always exist, skip the band.
      assert.equal(bandNameAt(night, ms('2026-03-29T00:59:59Z')), 'day');
      assert.equal(bandNameAt(night, ms('2026-03-29T01:00:00Z')), 'day');
      for (let t = ms('2026-03-28T23:00:00Z'); t < ms('2026-03-29T03:00:00Z'); t += 60_000) {
        assert.equal(bandNameAt(night, t), 'day', new Date(t).toISOString());
      }
      // The night before and after, 02:30 local exists and is night.
      assert.equal(bandNameAt(night, ms('2026-03-28T01:30:00Z')), 'night'); // 02:30 CET
      assert.equal(bandNameAt(night, ms('2026-03-30T00:30:00Z')), 'night'); // 02:30 CEST
      // A call from 01:30 CET to 03:30 CEST spans two wall-clock hours but one real hour: 3600 s.
      const charge = chargeCall(night, call({ startMs: ms('2026-03-29T00:30:00Z'), durationSec: 3600 }));
      assert.equal(charge.chargedSec, 3600);
      assert.deepEqual(
        charge.parts.map((part) => [part.band, part.seconds]),
        [['day', 3600]],
      );
    });

    it('fall back (2026-10-25): local 02:00-02:59 happens twice, and both hours are night', () => {
      assert.equal(bandNameAt(night, ms('2026-10-25T00:30:00Z')), 'night'); // 02:30 CEST
      assert.equal(bandNameAt(night, ms('2026-10-25T01:30:00Z')), 'night'); // 02:30 CET
      assert.equal(bandNameAt(night, ms('2026-10-25T02:00:00Z')), 'day'); // 03:00 CET
      // A call from 01:30 CEST to 03:30 CET lasts 3 real hours: 30 min day, 2 h night, 30 min day.
      const charge = chargeCall(night, call({ startMs: ms('2026-10-24T23:30:00Z'), durationSec: 3 * 3600 }));
      assert.deepEqual(
        charge.parts.map((part) => [part.band, part.seconds]),
        [
          ['day', 1800],
          ['night', 7200],
          ['day', 1800],
        ],
      );
      // 1800 s × 0.06/60 + 7200 s × 0.03/60 + 1800 s × 0.06/60 = 1.80 + 3.60 + 1.80 = 7.20.
      assert.equal(charge.amountPico, p('7.2'));
    });
  });
});

describe('band crossing', () => {
  const split = compileTariff(
    tariff({
      voice: { ...(tariff().voice as NonNullable<TariffDefinition['voice']>), bandCrossing: 'split' },
    }),
  );
  // Monday 2026-03-02 07:59:30 CET, 30 s before peak starts.
  const BEFORE_PEAK = ms('2026-03-02T06:59:30Z');

  it("'start' prices the whole call in the band it starts in", () => {
    const charge = chargeCall(
      compiled,
      call({ calledNumber: '4915112345', startMs: BEFORE_PEAK, durationSec: 90 }),
    );
    assert.equal(charge.band, 'off-peak');
    assert.deepEqual(
      charge.parts.map((part) => [part.band, part.seconds]),
      [['off-peak', 90]],
    );
    // 0.01 per 60 s × 90 s = 0.015, + 0.01 fee.
    assert.equal(charge.amountPico, p('0.025'));
  });

  it("'split' prices each second in its band, and the increments' extra seconds in the last band", () => {
    // DE-fixed, 60/60: 61 s from 07:59:30 are 30 s off-peak and 31 s peak, charged 120 s: the
    // 59 s added by the increments go to peak: 30 s off-peak, 90 s peak.
    const charge = chargeCall(split, call({ startMs: BEFORE_PEAK, durationSec: 61 }));
    assert.equal(charge.chargedSec, 120);
    assert.deepEqual(
      charge.parts.map((part) => [part.band, part.seconds]),
      [
        ['off-peak', 30],
        ['peak', 90],
      ],
    );
    // 30 s × 0.02/60 + 90 s × 0.04/60 = 0.01 + 0.06 = 0.07.
    assert.deepEqual(
      charge.parts.map((part) => part.amountPico),
      [p('0.01'), p('0.06')],
    );
    assert.equal(charge.amountPico, p('0.07'));
  });

  it('a second is in the band in effect when it starts, even when the call starts between seconds', () => {
    // Starts 07:59:59.500: second 0 starts off-peak, second 1 starts at 08:00:00.500, peak.
    const charge = chargeCall(
      split,
      call({ calledNumber: '12125551234', startMs: ms('2026-03-02T06:59:59.500Z'), durationSec: 3 }),
    );
    assert.deepEqual(
      charge.parts.map((part) => [part.band, part.seconds]),
      [
        ['off-peak', 1],
        ['peak', 2],
      ],
    );
  });

  it('split never changes the charged seconds, and its parts add up to the usage', () => {
    const numbers = ['4930123456', '4915112345', '12125551234'];
    fc.assert(
      fc.property(
        fc.constantFrom(...numbers),
        fc.integer({ min: ms('2026-01-01T00:00:00Z') / 1000, max: ms('2027-01-01T00:00:00Z') / 1000 }),
        fc.integer({ min: 0, max: 999 }),
        fc.integer({ min: 0, max: 3 * 86_400 }),
        (calledNumber, startSec, milli, durationSec) => {
          const usage = call({ calledNumber, startMs: startSec * 1000 + milli, durationSec });
          const whole = chargeCall(compiled, usage);
          const pieces = chargeCall(split, usage);
          assert.equal(pieces.chargedSec, whole.chargedSec);
          assert.equal(pieces.band, whole.band);
          assert.equal(
            pieces.parts.reduce((sum, part) => sum + part.seconds, 0),
            pieces.chargedSec,
          );
          assert.equal(
            pieces.parts.reduce((sum, part) => sum + part.amountPico, 0n),
            pieces.usagePico,
          );
          for (let i = 1; i < pieces.parts.length; i++) {
            assert.notEqual(
              pieces.parts[i]?.band,
              pieces.parts[i - 1]?.band,
              'neighbouring parts are merged',
            );
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('with the same price in every band, split and start charge the same', () => {
    const flat = (crossing: 'start' | 'split') =>
      compileTariff(
        tariff({
          voice: {
            prefixTableId: 'world',
            bandCrossing: crossing,
            rates: ['DE-fixed', 'DE-mobile', 'US', 'EU-roam'].flatMap((zone) => [
              rate(zone, { unitPrice: '0.0123457', increments: { firstSec: 30, nextSec: 6 } }),
              rate(zone, { currency: 'USD' }),
            ]),
          },
        }),
      );
    const start = flat('start');
    const split2 = flat('split');
    fc.assert(
      fc.property(
        fc.integer({ min: ms('2026-01-01T00:00:00Z'), max: ms('2027-01-01T00:00:00Z') }),
        fc.integer({ min: 0, max: 200_000 }),
        (startMs, durationSec) => {
          const usage = call({ startMs, durationSec });
          assert.equal(chargeCall(split2, usage).amountPico, chargeCall(start, usage).amountPico);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('chargeData', () => {
  it('rounds bytes up to whole blocks and prices the blocks', () => {
    // 1 kB blocks at 0.00001 each (1 cent per MB): 1001 bytes are 2 blocks.
    const charge = chargeData(compiled, { bytes: 1001n });
    assert.equal(charge.blocks, 2n);
    assert.equal(charge.chargedBytes, 2000n);
    assert.equal(charge.amountPico, p('0.00002'));
    assert.equal(chargeData(compiled, { bytes: 0n }).amountPico, 0n);
    assert.equal(chargeData(compiled, { bytes: 1_000_000n }).amountPico, p('0.01'));
  });

  it('graduated tiers price each block in its tier, counting the period so far', () => {
    // Roaming: 1 MB blocks, 0.10 up to block 100, then 0.05. 30 blocks after 80: 20 × 0.10 + 10 × 0.05.
    const charge = chargeData(compiled, { bytes: 30_000_000n, visitedMccMnc: '20801', priorBlocks: 80n });
    assert.equal(charge.roamingZone, 'EU-roam');
    assert.deepEqual(
      charge.parts.map((part) => [part.tier, part.units]),
      [
        [0, 20n],
        [1, 10n],
      ],
    );
    assert.equal(charge.amountPico, p('2.5'));
  });

  it('volume tiers charge the change of the period total, repricing earlier blocks when a tier is crossed', () => {
    // 100 blocks cost 100 × 0.10 = 10.00; 101 blocks cost 101 × 0.05 = 5.05. The 101st block
    // therefore costs 5.05 − 10.00 = −4.95: volume pricing rewards the bigger total.
    const first = chargeData(compiled, { bytes: 100_000_000n, currency: 'USD' });
    assert.equal(first.amountPico, p('10'));
    const next = chargeData(compiled, { bytes: 1n, currency: 'USD', priorBlocks: 100n });
    assert.equal(next.amountPico, -p('4.95'));
    assert.deepEqual(
      next.parts.map((part) => [part.units, part.unitPricePico, part.reprice ?? false]),
      [
        [1n, p('0.05'), false],
        [100n, -p('0.05'), true],
      ],
    );
    // The charges of a period add up to the volume price of its total, however it is split.
    const whole = chargeData(compiled, { bytes: 250_000_000n, currency: 'USD' }).amountPico;
    let sum = 0n;
    let prior = 0n;
    for (const blocks of [30n, 70n, 1n, 149n]) {
      sum += chargeData(compiled, {
        bytes: blocks * 1_000_000n,
        currency: 'USD',
        priorBlocks: prior,
      }).amountPico;
      prior += blocks;
    }
    assert.equal(sum, whole);
  });

  it('refuses negative bytes and unknown combinations', () => {
    expectError(() => chargeData(compiled, { bytes: -1n }), 'tariff.invalid_usage', 'bytes');
    expectError(
      () => chargeData(compiled, { bytes: 1n, currency: 'USD', visitedMccMnc: '20801' }),
      'tariff.no_rate',
    );
  });
});

describe('chargeEvent', () => {
  it('prices SMS at home and roaming', () => {
    assert.equal(chargeEvent(compiled, { eventType: 'sms' }).amountPico, p('0.09'));
    assert.equal(chargeEvent(compiled, { eventType: 'sms', count: 3n }).amountPico, p('0.27'));
    assert.equal(chargeEvent(compiled, { eventType: 'sms', visitedMccMnc: '20801' }).amountPico, p('0.02'));
    expectError(() => chargeEvent(compiled, { eventType: 'mms' }), 'tariff.no_rate', 'eventType');
  });

  it('charges a content purchase at the price the event carries', () => {
    const charge = chargeEvent(compiled, {
      eventType: 'content',
      price: { amount: '4.99', currency: 'EUR' },
    });
    assert.equal(charge.pricedInEvent, true);
    assert.equal(charge.amountPico, p('4.99'));
    expectError(() => chargeEvent(compiled, { eventType: 'content' }), 'tariff.invalid_usage', 'price');
    expectError(
      () =>
        chargeEvent(compiled, {
          eventType: 'content',
          currency: 'EUR',
          price: { amount: '4.99', currency: 'USD' },
        }),
      'tariff.invalid_usage',
      'price/currency',
    );
    expectError(
      () => chargeEvent(compiled, { eventType: 'content', price: { amount: '-1', currency: 'EUR' } }),
      'tariff.invalid_usage',
    );
    expectError(
      () => chargeEvent(compiled, { eventType: 'content', price: { amount: '4,99', currency: 'EUR' } }),
      'tariff.invalid_usage',
      'price/amount',
    );
  });
});
