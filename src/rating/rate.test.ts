import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  chargeCall,
  compileTariff,
  type AllowanceDefinition,
  type CompiledTariff,
  type TariffDefinition,
} from '../catalog/index.js';
import type { UsageInput } from '../usage/index.js';
import {
  AllowanceLedger,
  RatingPlanCache,
  RatingResult,
  amountPicoOf,
  compactTrace,
  expandTrace,
  applyRating,
  compileRatingPlan,
  explainRating,
  formatFormula,
  periodCalendar,
  rateUsage,
  ratingDelta,
  reverseSnapshot,
  snapshotRating,
  type OfferVersionInput,
  type RatingPlan,
} from './index.js';

const ms = (iso: string): number => Date.parse(iso);
/** Pico-units of a decimal amount: pico('0.18') = 180 000 000 000. */
const pico = (text: string): bigint => {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole as string) * 10n ** 12n + BigInt(fraction.padEnd(12, '0'));
};

/**
 * Europe/Berlin; peak Mon-Fri 08:00-20:00, weekend Sat-Sun, off-peak otherwise.
 * DE-fixed (49): 0.06 per 60 s, 60/60, off-peak 0.03; DE-mobile (4915): 0.12 per 60 s, 30/6,
 * connect fee 0.01; US (1): 0.60 per 60 s 1/1; EU-roam: 0.30 per 60 s, 1/1.
 */
function tariffDefinition(overrides: Partial<TariffDefinition> = {}): TariffDefinition {
  return {
    id: 'MOBILE',
    name: 'Mobile',
    timeZone: 'Europe/Berlin',
    currencies: ['EUR'],
    zones: [{ id: 'DE-fixed' }, { id: 'DE-mobile' }, { id: 'US' }, { id: 'EU-roam' }],
    prefixTables: [
      {
        id: 'world',
        name: 'World',
        entries: [
          { prefix: '49', zone: 'DE-fixed' },
          { prefix: '4915', zone: 'DE-mobile' },
          { prefix: '1', zone: 'US' },
        ],
      },
    ],
    voice: {
      prefixTableId: 'world',
      bandCrossing: 'start',
      rates: [
        {
          zone: 'DE-fixed',
          currency: 'EUR',
          connectFee: '0',
          unitSeconds: 60,
          unitPrice: '0.06',
          increments: { firstSec: 60, nextSec: 60 },
          bandPrices: [{ band: 'off-peak', unitPrice: '0.03' }],
        },
        {
          zone: 'DE-mobile',
          currency: 'EUR',
          connectFee: '0.01',
          unitSeconds: 60,
          unitPrice: '0.12',
          increments: { firstSec: 30, nextSec: 6 },
        },
        {
          zone: 'US',
          currency: 'EUR',
          connectFee: '0',
          unitSeconds: 60,
          unitPrice: '0.60',
          increments: { firstSec: 1, nextSec: 1 },
        },
        {
          zone: 'EU-roam',
          currency: 'EUR',
          connectFee: '0',
          unitSeconds: 60,
          unitPrice: '0.30',
          increments: { firstSec: 1, nextSec: 1 },
        },
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
      ],
      defaultBand: 'off-peak',
    },
    data: [
      {
        currency: 'EUR',
        blockBytes: 1000,
        pricing: {
          mode: 'graduated',
          tiers: [{ upTo: '1000', unitPrice: '0.001' }, { unitPrice: '0.0005' }],
        },
      },
      {
        currency: 'EUR',
        roamingZone: 'EU-roam',
        blockBytes: 1000,
        pricing: { mode: 'flat', unitPrice: '0.002' },
      },
    ],
    events: [
      { eventType: 'sms', currency: 'EUR', pricing: { mode: 'flat', unitPrice: '0.09' } },
      {
        eventType: 'sms',
        currency: 'EUR',
        roamingZone: 'EU-roam',
        pricing: { mode: 'flat', unitPrice: '0.05' },
      },
      { eventType: 'content', currency: 'EUR', pricedInEvent: true },
    ],
    roaming: { networks: [{ mccMnc: '20801', zone: 'EU-roam' }] },
    ...overrides,
  };
}

const TARIFF = compileTariff(tariffDefinition());
const TARIFFS = new Map([
  ['MOBILE', [{ versionId: 'MOBILE-v1', fromMs: Date.parse('2020-01-01T00:00:00Z'), compiled: TARIFF }]],
]);
const PRODUCTS = new Map([
  ['VOICE', 'voice' as const],
  ['DATA', 'data' as const],
  ['SMS', 'sms' as const],
  ['SHOP', 'content' as const],
]);

function offer(
  code: string,
  allowances: AllowanceDefinition[],
  extra: Partial<OfferVersionInput> = {},
): OfferVersionInput {
  return {
    offerCode: code,
    versionId: `${code}-v1`,
    content: {
      prices: [
        { code: 'voice', kind: 'usage', product: 'VOICE', tariff: 'MOBILE' },
        { code: 'data', kind: 'usage', product: 'DATA', tariff: 'MOBILE' },
        { code: 'sms', kind: 'usage', product: 'SMS', tariff: 'MOBILE' },
        { code: 'shop', kind: 'usage', product: 'SHOP', tariff: 'MOBILE' },
      ],
      allowances,
    },
    ...extra,
  };
}

function planOf(
  allowances: AllowanceDefinition[],
  options: {
    sub?: string;
    account?: string;
    addOns?: OfferVersionInput[];
    tariff?: CompiledTariff;
    timeZone?: string;
    billCycleDay?: number;
    fromMs?: number;
  } = {},
): RatingPlan {
  const result = compileRatingPlan({
    subscriptionId: options.sub ?? 'sub-1',
    accountId: options.account ?? 'acc-1',
    account: {
      currency: 'EUR',
      timeZone: options.timeZone ?? 'Europe/Berlin',
      billCycleDay: options.billCycleDay ?? 1,
    },
    plan: offer('PLAN', allowances, options.fromMs === undefined ? {} : { fromMs: options.fromMs }),
    addOns: options.addOns ?? [],
    products: PRODUCTS,
    tariffs: new Map([
      [
        'MOBILE',
        [{ versionId: 'MOBILE-v1', fromMs: ms('2020-01-01T00:00:00Z'), compiled: options.tariff ?? TARIFF }],
      ],
    ]),
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.plan;
}

function usage(fields: Partial<UsageInput> & Pick<UsageInput, 'service' | 'startMs'>): UsageInput {
  return {
    identityType: 'msisdn',
    identity: '491700000001',
    durationSec: 0,
    volumeUpBytes: 0,
    volumeDownBytes: 0,
    count: 0,
    roaming: fields.visitedMccMnc !== undefined,
    ...fields,
  };
}

const call = (
  startIso: string,
  durationSec: number,
  calledNumber = '4930123456',
  extra: Partial<UsageInput> = {},
): UsageInput => usage({ service: 'voice', startMs: ms(startIso), durationSec, calledNumber, ...extra });

/** Rates and applies; returns the result (a fresh object, so tests can keep several). */
function rate(plan: RatingPlan, event: UsageInput, ledger: AllowanceLedger): RatingResult {
  const out = rateUsage(plan, event, ledger, new RatingResult());
  assert.equal(applyRating(ledger, out), true);
  return out;
}

const VOICE_5_MIN: AllowanceDefinition = {
  code: 'VOICE-5',
  service: 'voice',
  quantity: '5',
  unit: 'minute',
  period: 'month',
};

describe('rateUsage: partial allowance consumption', () => {
  it('300 s call with 120 s left, 60/60: 120 s from the allowance, 180 s charged', () => {
    const plan = planOf([VOICE_5_MIN]);
    const ledger = new AllowanceLedger();
    // First a 180 s call (Tuesday 2026-03-10 10:00 local, peak) uses 180 of the 300 s: 120 s left.
    const first = rate(plan, call('2026-03-10T09:00:00Z', 180), ledger);
    assert.equal(first.coveredUnits, 180);
    assert.equal(amountPicoOf(first), 0n);
    // 300 s call: 120 s covered, 180 s chargeable. 60/60 on 180 s: 60 + ceil(120 / 60) × 60 = 180 s.
    // Chargeable part starts 10:02 local, peak: 180 s × 0.06 / 60 s = 0.18 EUR.
    const out = rate(plan, call('2026-03-10T09:10:00Z', 300), ledger);
    assert.equal(out.coveredUnits, 120);
    assert.equal(out.chargeableUnits, 180);
    assert.equal(out.chargedUnits, 180);
    assert.equal(amountPicoOf(out), pico('0.18'));
    assert.equal(out.drawCount, 1);
    assert.equal(out.drawUnits[0], 120);
    assert.equal(ledger.allowanceCounter('sub-1', 'VOICE-5', 2026 * 12 + 2)?.usedUnits, 300);
  });

  it('increments apply to the chargeable part only: 185 s with 120 s left at 30/6', () => {
    const plan = planOf([VOICE_5_MIN]);
    const ledger = new AllowanceLedger();
    rate(plan, call('2026-03-10T09:00:00Z', 180, '4915112345'), ledger);
    // 185 s, 120 s covered, 65 s chargeable: 30 + ceil(35 / 6) × 6 = 30 + 36 = 66 s.
    // 66 s × 0.12 / 60 s = 0.132, plus the 0.01 connect fee = 0.142 EUR.
    const out = rate(plan, call('2026-03-10T09:10:00Z', 185, '4915112345'), ledger);
    assert.equal(out.chargedUnits, 66);
    assert.equal(amountPicoOf(out), pico('0.142'));
  });

  it('the chargeable part takes the band of its own start', () => {
    const plan = planOf([VOICE_5_MIN]);
    const ledger = new AllowanceLedger();
    rate(plan, call('2026-03-10T09:00:00Z', 180), ledger);
    // Monday 2026-03-09 19:58 local (18:58Z), 300 s: 120 s covered until 20:00, so the chargeable
    // 180 s start at 20:00, off-peak: 180 s × 0.03 / 60 s = 0.09 EUR (peak would be 0.18).
    const out = rate(plan, call('2026-03-09T18:58:00Z', 300), ledger);
    assert.equal(amountPicoOf(out), pico('0.09'));
    assert.equal(explainRating(out).band, 'off-peak');
  });

  it('a fully covered call costs nothing, not even the connect fee', () => {
    const plan = planOf([VOICE_5_MIN]);
    const out = rate(plan, call('2026-03-10T09:00:00Z', 40, '4915112345'), new AllowanceLedger());
    assert.equal(out.coveredUnits, 40);
    assert.equal(amountPicoOf(out), 0n);
    assert.match(formatFormula(out), /allowance VOICE-5/);
  });

  it('draws add-on allowances first, then zone-restricted, then general', () => {
    const plan = planOf(
      [
        { code: 'A-GENERAL', service: 'voice', quantity: '60', unit: 'second', period: 'month' },
        {
          code: 'B-MOBILE',
          service: 'voice',
          quantity: '60',
          unit: 'second',
          period: 'month',
          zones: ['DE-mobile'],
        },
      ],
      {
        addOns: [
          offer('EXTRA', [
            { code: 'C-EXTRA', service: 'voice', quantity: '30', unit: 'second', period: 'month' },
          ]),
        ],
      },
    );
    assert.deepEqual(
      plan.allowances.map((a) => a.code),
      ['C-EXTRA', 'B-MOBILE', 'A-GENERAL'],
    );
    const out = rate(plan, call('2026-03-10T09:00:00Z', 200, '4915112345'), new AllowanceLedger());
    assert.deepEqual(out.drawUnits.slice(0, out.drawCount), [30, 60, 60]);
    assert.equal(out.chargeableUnits, 50);
    // A fixed-line call skips the mobile-only allowance.
    const fixed = rate(plan, call('2026-03-10T10:00:00Z', 10), new AllowanceLedger());
    assert.deepEqual(
      fixed.drawAllowance.slice(0, fixed.drawCount).map((a) => a.code),
      ['C-EXTRA'],
    );
  });
});

describe('rateUsage: roaming, events, data', () => {
  it('prices a roaming call in the roaming zone; a roaming allowance covers it', () => {
    const plan = planOf([
      { code: 'ROAM', service: 'voice', quantity: '1', unit: 'minute', period: 'month', zones: ['EU-roam'] },
    ]);
    const ledger = new AllowanceLedger();
    // 90 s from France to a German number: 60 s covered by ROAM, 30 s × 0.30 / 60 = 0.15 EUR.
    const out = rate(
      plan,
      call('2026-03-10T09:00:00Z', 90, '4930123456', { visitedMccMnc: '20801', roaming: true }),
      ledger,
    );
    assert.equal(out.coveredUnits, 60);
    assert.equal(amountPicoOf(out), pico('0.15'));
    const trace = explainRating(out);
    assert.equal(trace.roamingZone, 'EU-roam');
    assert.equal(trace.zone, 'DE-fixed');
    assert.equal(trace.matchedPrefix, '49');
    // At home the roaming allowance does not apply: 60 s × 0.06 = 0.06.
    const home = rate(plan, call('2026-03-10T09:10:00Z', 60), ledger);
    assert.equal(home.coveredUnits, 0);
    assert.equal(amountPicoOf(home), pico('0.06'));
    // An unknown network is a rating failure.
    const unknown = rateUsage(
      plan,
      call('2026-03-10T09:10:00Z', 60, '4930123456', { visitedMccMnc: '99999' }),
      ledger,
      new RatingResult(),
    );
    assert.equal(unknown.rejectReason, 'rating_failed');
    assert.equal(unknown.failure, 'unknown_network');
  });

  it('prices SMS from the allowance, then flat; roaming SMS at the roaming price', () => {
    const plan = planOf([{ code: 'SMS-2', service: 'sms', quantity: '2', unit: 'message', period: 'month' }]);
    const ledger = new AllowanceLedger();
    const sms = (iso: string, extra: Partial<UsageInput> = {}): UsageInput =>
      usage({ service: 'sms', startMs: ms(iso), count: 1, eventType: 'sms', ...extra });
    assert.equal(amountPicoOf(rate(plan, sms('2026-03-10T09:00:00Z'), ledger)), 0n);
    assert.equal(amountPicoOf(rate(plan, sms('2026-03-10T09:01:00Z'), ledger)), 0n);
    assert.equal(amountPicoOf(rate(plan, sms('2026-03-10T09:02:00Z'), ledger)), pico('0.09'));
    assert.equal(
      amountPicoOf(rate(plan, sms('2026-03-10T09:03:00Z', { visitedMccMnc: '20801' }), ledger)),
      pico('0.05'),
    );
  });

  it('charges content at the price in the event', () => {
    const plan = planOf([]);
    const out = rate(
      plan,
      usage({
        service: 'content',
        startMs: ms('2026-03-10T09:00:00Z'),
        count: 2,
        eventType: 'content',
        price: { amount: '1.99', currency: 'EUR' },
      }),
      new AllowanceLedger(),
    );
    assert.equal(out.pricedInEvent, true);
    assert.equal(amountPicoOf(out), pico('3.98'));
  });

  it('counts data tiers across the billing month and starts again next month', () => {
    const plan = planOf([
      { code: 'DATA-100K', service: 'data', quantity: '100', unit: 'kB', period: 'month' },
    ]);
    const ledger = new AllowanceLedger();
    const session = (iso: string, bytes: number): UsageInput =>
      usage({ service: 'data', startMs: ms(iso), volumeDownBytes: bytes });
    // 700 000 B: 100 000 from the allowance, 600 000 → 600 blocks in tier 1 at 0.001 = 0.60.
    const a = rate(plan, session('2026-03-10T09:00:00Z', 700_000), ledger);
    assert.equal(a.coveredUnits, 100_000);
    assert.equal(amountPicoOf(a), pico('0.6'));
    // 600 500 B: 601 blocks; 400 more in tier 1 (0.40), 201 in tier 2 at 0.0005 (0.1005) = 0.5005.
    const b = rate(plan, session('2026-03-20T09:00:00Z', 600_500), ledger);
    assert.equal(b.tierPriorUnits, 600);
    assert.equal(amountPicoOf(b), pico('0.5005'));
    assert.deepEqual([b.tierFirst, b.tierLast], [0, 1]);
    // April: the allowance and the tier counter start again. 1 000 B... covered; 101 000 B → 1 block.
    const c = rate(plan, session('2026-04-02T09:00:00Z', 101_000), ledger);
    assert.equal(c.coveredUnits, 100_000);
    assert.equal(c.tierPriorUnits, 0);
    assert.equal(amountPicoOf(c), pico('0.001'));
  });

  it('rejects a service the plan does not price and a number without a route', () => {
    const plan = planOf([]);
    const mms = rateUsage(
      plan,
      usage({ service: 'mms', startMs: ms('2026-03-10T09:00:00Z'), count: 1 }),
      new AllowanceLedger(),
      new RatingResult(),
    );
    assert.equal(mms.rejectReason, 'no_offer');
    const noRoute = rateUsage(
      plan,
      call('2026-03-10T09:00:00Z', 60, '861234'),
      new AllowanceLedger(),
      new RatingResult(),
    );
    assert.equal(noRoute.rejectReason, 'rating_failed');
    assert.equal(noRoute.failure, 'no_route');
    assert.match(formatFormula(noRoute), /rejected/);
  });
});

describe('counters: pools, rollover, periods', () => {
  it('shares an account-pool allowance between two subscriptions of the account', () => {
    const pool: AllowanceDefinition = {
      code: 'FAMILY',
      service: 'voice',
      quantity: '10',
      unit: 'minute',
      period: 'month',
      sharing: 'account-pool',
    };
    const parent = planOf([pool], { sub: 'sub-parent', account: 'acc-family' });
    const child = planOf([pool], { sub: 'sub-child', account: 'acc-family' });
    const ledger = new AllowanceLedger();
    // 600 s in the pool: the parent uses 400, the child 300 → 200 covered, 100 charged (60/60: 120 s).
    assert.equal(rate(parent, call('2026-03-10T09:00:00Z', 400), ledger).coveredUnits, 400);
    const out = rate(child, call('2026-03-10T09:30:00Z', 300), ledger);
    assert.equal(out.coveredUnits, 200);
    assert.equal(out.chargedUnits, 120);
    assert.equal(ledger.allowanceCounter('acc-family', 'FAMILY', 2026 * 12 + 2)?.usedUnits, 600);
  });

  it('rolls unused units into the next period, oldest used first, capped', () => {
    // The subscription starts on 2026-03-01 (local midnight): nothing rolls into March.
    const plan = planOf(
      [
        {
          code: 'ROLL',
          service: 'voice',
          quantity: '100',
          unit: 'second',
          period: 'month',
          rollover: { maxPeriods: 1, maxQuantity: '50' },
        },
      ],
      { fromMs: ms('2026-02-28T23:00:00Z') },
    );
    const ledger = new AllowanceLedger();
    rate(plan, call('2026-03-10T09:00:00Z', 30, '1212555'), ledger); // March: 30 used, 70 left
    // April opens with 100 + min(70, 50) = 150.
    const april = rate(plan, call('2026-04-10T09:00:00Z', 40, '1212555'), ledger);
    assert.equal(april.coveredUnits, 40);
    const counter = ledger.allowanceCounter('sub-1', 'ROLL', 2026 * 12 + 3);
    assert.equal(counter?.grantedUnits, 150);
    assert.deepEqual(counter?.rolledOverIn, [{ fromPeriodIndex: 2026 * 12 + 2, units: 50 }]);
    // March can no longer give what moved to April: 100 − 30 used − 50 carried = 20 left.
    const late = rate(plan, call('2026-03-31T09:00:00Z', 60, '1212555'), ledger);
    assert.equal(late.coveredUnits, 20);
    // May (nothing used since): April's 40 came from March's layer first (50 → 10 left, which
    // expires: May − March = 2 > 1); April's own 100 roll, capped at 50: 150 granted.
    rate(plan, call('2026-05-10T09:00:00Z', 1, '1212555'), ledger);
    assert.equal(ledger.allowanceCounter('sub-1', 'ROLL', 2026 * 12 + 4)?.grantedUnits, 150);
  });

  it('exports dirty counters for persistence and loads them back', () => {
    const plan = planOf([VOICE_5_MIN]);
    const ledger = new AllowanceLedger();
    rate(plan, call('2026-03-10T09:00:00Z', 100), ledger);
    const dirty = ledger.takeDirty();
    assert.equal(dirty.allowances.length, 1);
    assert.equal(ledger.takeDirty().allowances.length, 0);
    const restored = new AllowanceLedger();
    restored.load(dirty.allowances, dirty.tiers);
    assert.equal(rate(plan, call('2026-03-11T09:00:00Z', 300), restored).coveredUnits, 200);
  });

  it('re-rating gives units back and writes the delta', () => {
    const cheap = planOf([VOICE_5_MIN]);
    const ledger = new AllowanceLedger();
    const original = snapshotRating(rate(cheap, call('2026-03-10T09:00:00Z', 400), ledger));
    assert.equal(original.amountPico, pico('0.12')); // 100 s chargeable → 120 s × 0.06/60
    reverseSnapshot(ledger, original);
    assert.equal(ledger.allowanceCounter('sub-1', 'VOICE-5', 2026 * 12 + 2)?.usedUnits, 0);
    // The corrected plan has a 10-minute allowance (a new counter): the call is fully covered.
    const bigger = planOf([{ ...VOICE_5_MIN, code: 'VOICE-10', quantity: '10' }]);
    const rerated = snapshotRating(rate(bigger, call('2026-03-10T09:00:00Z', 400), ledger));
    const delta = ratingDelta(original, rerated);
    assert.deepEqual(delta.amounts, [{ currency: 'EUR', amountPico: -pico('0.12') }]);
    assert.deepEqual(
      delta.allowances.map((d) => [d.allowanceCode, d.units]),
      [
        ['VOICE-10', 400],
        ['VOICE-5', -300],
      ],
    );
    assert.equal(delta.changed, true);
    assert.equal(ratingDelta(rerated, rerated).changed, false);
  });
});

describe('templates and the compact trace', () => {
  it('shares one template between subscriptions on the same offer; counters stay their own', () => {
    const cache = new RatingPlanCache();
    const offerVersion = offer('PLAN', [VOICE_5_MIN]);
    const compile = (sub: string) => {
      const result = compileRatingPlan(
        {
          subscriptionId: sub,
          accountId: `acc-${sub}`,
          account: { currency: 'EUR', timeZone: 'Europe/Berlin', billCycleDay: 1 },
          plan: offerVersion,
          products: PRODUCTS,
          tariffs: TARIFFS,
        },
        cache,
      );
      assert.ok(result.ok);
      return result.plan;
    };
    const a = compile('sub-a');
    const b = compile('sub-b');
    assert.equal(a.template, b.template);
    assert.equal(cache.size, 1);
    const ledger = new AllowanceLedger();
    assert.equal(rate(a, call('2026-03-10T09:00:00Z', 300), ledger).coveredUnits, 300);
    assert.equal(rate(b, call('2026-03-10T09:00:00Z', 200), ledger).coveredUnits, 200);
    assert.equal(ledger.allowanceCounter('sub-a', 'VOICE-5', 2026 * 12 + 2)?.usedUnits, 300);
    assert.equal(ledger.allowanceCounter('sub-b', 'VOICE-5', 2026 * 12 + 2)?.usedUnits, 200);
  });

  it('stores a compact trace that expands to the full explanation and formula', () => {
    const plan = planOf([VOICE_5_MIN]);
    const ledger = new AllowanceLedger();
    rate(plan, call('2026-03-10T09:00:00Z', 180), ledger);
    const out = rate(plan, call('2026-03-10T09:10:00Z', 300), ledger);
    const compact = compactTrace(out);
    assert.ok(Array.isArray(JSON.parse(compact)));
    const trace = expandTrace(compact);
    assert.equal(
      trace.formula,
      '300 s − 120 s allowance VOICE-5 = 180 s; increments 60/60 → 180 s; band peak: 180 s × 0.06 EUR per 60 s = 0.18 EUR (half-up to 12 decimals); total 0.18 EUR',
    );
    assert.deepEqual(trace, explainRating(out));
    assert.deepEqual(trace.allowances, [
      {
        allowanceCode: 'VOICE-5',
        offerCode: 'PLAN',
        offerVersionId: 'PLAN-v1',
        ownerId: 'sub-1',
        sharing: 'subscription',
        periodIndex: 2026 * 12 + 2,
        periodStart: '2026-02-28T23:00:00.000Z',
        units: 120,
      },
    ]);
    assert.equal(trace.matchedPrefix, '49');
    assert.equal(trace.zone, 'DE-fixed');
    assert.equal(trace.band, 'peak');
    assert.equal(trace.unitPrice, '0.06');
    assert.equal(trace.tariffVersionId, 'MOBILE-v1');
    // Data: tiers in the trace.
    const data = rate(
      plan,
      usage({ service: 'data', startMs: ms('2026-03-10T09:00:00Z'), volumeDownBytes: 1_500_000 }),
      ledger,
    );
    const dataTrace = expandTrace(compactTrace(data));
    assert.equal(dataTrace.tiers?.counter, 'sub-1/MOBILE/data/');
    assert.equal(
      dataTrace.formula,
      '1500000 B; 1500 blocks of 1000 B; tiers 0..1 after 0 units this month; total 1.25 EUR',
    );
  });

  it('keeps counters across periods and exports and reloads them exactly', () => {
    const plan = planOf(
      [
        {
          code: 'R',
          service: 'voice',
          quantity: '100',
          unit: 'second',
          period: 'day',
          rollover: { maxPeriods: 2, maxQuantity: '150' },
        },
      ],
      { fromMs: ms('2026-02-28T23:00:00Z') },
    );
    const day = fc.integer({ min: 0, max: 9 }).map((d) => ms('2026-03-01T09:00:00Z') + d * 86_400_000);
    fc.assert(
      fc.property(fc.array(fc.tuple(day, fc.integer({ min: 0, max: 400 })), { maxLength: 40 }), (calls) => {
        const ledger = new AllowanceLedger();
        for (const [t, d] of calls) rate(plan, call(new Date(t).toISOString(), d, '1212555'), ledger);
        const dirty = ledger.takeDirty();
        const restored = new AllowanceLedger();
        restored.load(dirty.allowances, dirty.tiers);
        for (const counter of dirty.allowances) {
          assert.ok(counter.usedUnits >= 0);
          assert.ok(counter.usedUnits + counter.carriedOutUnits <= counter.grantedUnits);
          assert.deepEqual(restored.allowanceCounter('sub-1', 'R', counter.periodIndex), counter);
          assert.deepEqual(ledger.allowanceCounter('sub-1', 'R', counter.periodIndex), counter);
        }
        // Rating the same late event on both gives the same draw.
        const late = call('2026-03-02T10:00:00Z', 500, '1212555');
        assert.equal(rate(plan, late, restored).coveredUnits, rate(plan, late, ledger).coveredUnits);
      }),
      { numRuns: 60 },
    );
  });
});

describe('compileRatingPlan', () => {
  it('returns problems as values', () => {
    const result = compileRatingPlan({
      subscriptionId: 's',
      accountId: 'a',
      account: { currency: 'USD', timeZone: 'Europe/Berlin', billCycleDay: 1 },
      plan: offer('PLAN', [
        { code: 'BAD', service: 'voice', quantity: '1.5', unit: 'second', period: 'month' },
      ]),
      products: PRODUCTS,
      tariffs: new Map([['MOBILE', [{ versionId: 'v1', fromMs: 0, compiled: TARIFF }]]]),
    });
    assert.equal(result.ok, false);
    if (result.ok) return;
    const codes = new Set(result.problems.map((p) => p.code));
    assert.ok(codes.has('currency_not_priced'));
    assert.ok(codes.has('invalid_allowance'));
    const badAccount = compileRatingPlan({
      subscriptionId: 's',
      accountId: 'a',
      account: { currency: 'EUR', timeZone: 'Mars/Olympus', billCycleDay: 31 },
      plan: offer('PLAN', []),
      products: PRODUCTS,
      tariffs: new Map(),
    });
    assert.equal(badAccount.ok, false);
  });
});

describe('properties', () => {
  const numbers = fc.constantFrom('4930123456', '4915112345', '12125550100');
  const start = fc
    .integer({ min: ms('2026-01-01T00:00:00Z'), max: ms('2026-12-31T00:00:00Z') })
    .map((t) => t - (t % 1000));

  it('is deterministic: the same inputs give the same outputs', () => {
    const plan = planOf([VOICE_5_MIN]);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(start, fc.integer({ min: 0, max: 900 }), numbers), { maxLength: 20 }),
        (calls) => {
          const run = (): string[] => {
            const ledger = new AllowanceLedger();
            return calls.map(([t, d, n]) =>
              JSON.stringify(explainRating(rate(plan, call(new Date(t).toISOString(), d, n), ledger))),
            );
          };
          assert.deepEqual(run(), run());
        },
      ),
      { numRuns: 50 },
    );
  });

  it('never takes an allowance below zero or above its grant', () => {
    const plan = planOf([
      { code: 'V', service: 'voice', quantity: '7', unit: 'minute', period: 'week' },
      {
        code: 'R',
        service: 'voice',
        quantity: '100',
        unit: 'second',
        period: 'day',
        rollover: { maxPeriods: 2 },
      },
    ]);
    fc.assert(
      fc.property(fc.array(fc.tuple(start, fc.integer({ min: 0, max: 900 })), { maxLength: 40 }), (calls) => {
        const ledger = new AllowanceLedger();
        let drawn = 0;
        for (const [t, d] of calls) {
          const out = rate(plan, call(new Date(t).toISOString(), d, '1212555'), ledger);
          assert.equal(out.coveredUnits + out.chargeableUnits, d);
          for (let i = 0; i < out.drawCount; i++) assert.ok((out.drawUnits[i] as number) > 0);
          drawn += out.coveredUnits;
        }
        let used = 0;
        for (const counter of ledger.takeDirty().allowances) {
          assert.ok(counter.usedUnits >= 0);
          assert.ok(counter.usedUnits + counter.carriedOutUnits <= counter.grantedUnits);
          used += counter.usedUnits;
        }
        assert.equal(used, drawn);
      }),
      { numRuns: 50 },
    );
  });

  it('splitting a call at a band boundary never changes the total unit count', () => {
    const plan = planOf([{ code: 'V', service: 'voice', quantity: '3', unit: 'minute', period: 'month' }]);
    // Peak ends at 20:00 local (19:00Z in winter). A call from 20:00 − before to 20:00 + after,
    // rated whole or as two calls split at 20:00, covers and charges the same seconds (1/1 increments).
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 600 }), (before, after) => {
        const boundary = ms('2026-03-10T19:00:00Z');
        const whole = rate(
          plan,
          call(new Date(boundary - before * 1000).toISOString(), before + after, '1212555'),
          new AllowanceLedger(),
        );
        const ledger = new AllowanceLedger();
        const first = rate(
          plan,
          call(new Date(boundary - before * 1000).toISOString(), before, '1212555'),
          ledger,
        );
        const second = rate(plan, call(new Date(boundary).toISOString(), after, '1212555'), ledger);
        assert.equal(first.units + second.units, whole.units);
        assert.equal(first.coveredUnits + second.coveredUnits, whole.coveredUnits);
        assert.equal(first.chargedUnits + second.chargedUnits, whole.chargedUnits);
      }),
    );
  });

  it('the number fast path equals the tariff core (bigint) on every call', () => {
    const plan = planOf([]);
    fc.assert(
      fc.property(start, fc.integer({ min: 0, max: 7200 }), numbers, (t, d, n) => {
        const out = rate(plan, call(new Date(t).toISOString(), d, n), new AllowanceLedger());
        const expected = chargeCall(TARIFF, { calledNumber: n, startMs: t, durationSec: d });
        assert.equal(out.amountIsBig, false);
        assert.equal(amountPicoOf(out), expected.amountPico);
        assert.equal(out.chargedUnits, expected.chargedSec);
      }),
      { numRuns: 300 },
    );
  });

  it('charges what the tariff core charges for the uncovered part, across tariffs, plans and refusals', () => {
    // Calls of plans on two tariffs (different prefixes) with allowances, calls of a plan
    // without, and refused numbers in between, through one reused result and one ledger: every
    // charge must be the tariff core's price of the part no allowance covered.
    const other = compileTariff(
      tariffDefinition({
        prefixTables: [
          {
            id: 'world',
            name: 'World',
            entries: [
              { prefix: '49', zone: 'US' },
              { prefix: '4930', zone: 'DE-mobile' },
              { prefix: '12', zone: 'DE-fixed' },
            ],
          },
        ],
      }),
    );
    const plans = [
      { plan: planOf([VOICE_5_MIN], { sub: 'sub-a' }), tariff: TARIFF, allowance: 300 },
      { plan: planOf([VOICE_5_MIN], { sub: 'sub-b', tariff: other }), tariff: other, allowance: 300 },
      { plan: planOf([], { sub: 'sub-c' }), tariff: TARIFF, allowance: 0 },
    ];
    const month = periodCalendar('month', 'Europe/Berlin', 1);
    const number = fc.constantFrom('4930123456', '4915112345', '12125550100', '33123', '49x1', '');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), start, fc.integer({ min: 0, max: 900 }), number), {
          maxLength: 30,
        }),
        (calls) => {
          const ledger = new AllowanceLedger();
          const out = new RatingResult();
          const left = new Map<string, number>();
          for (const [p, t, d, n] of calls) {
            const { plan, tariff, allowance } = plans[p] as (typeof plans)[number];
            rateUsage(plan, call(new Date(t).toISOString(), d, n), ledger, out);
            if (!/^[0-9]{1,15}$/.test(n)) {
              assert.equal(out.failure, 'invalid_usage');
              continue;
            }
            if (n.startsWith('3')) {
              assert.equal(out.failure, 'no_route');
              continue;
            }
            assert.equal(out.outcome, 'ok');
            const key = `${p}/${month.indexAt(t)}`;
            const before = left.get(key) ?? allowance;
            const covered = Math.min(before, d);
            left.set(key, before - covered);
            assert.equal(out.coveredUnits, covered);
            const rest = d - covered;
            const expected =
              rest === 0
                ? 0n
                : chargeCall(tariff, { calledNumber: n, startMs: t + covered * 1000, durationSec: rest })
                    .amountPico;
            assert.equal(amountPicoOf(out), expected);
            assert.equal(applyRating(ledger, out), true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('falls back to bigint beyond 2^53 pico and agrees with the tariff core', () => {
    // 50 000 EUR a minute: one hour is 3 000 000 EUR = 3 × 10^18 pico, far beyond 2^53 ≈ 9 × 10^15.
    const definition = tariffDefinition();
    const voice = definition.voice as NonNullable<TariffDefinition['voice']>;
    const expensive = compileTariff({
      ...definition,
      voice: {
        ...voice,
        rates: voice.rates.map((r) => ({ ...r, unitPrice: '50000.123456789012', bandPrices: [] })),
      },
    });
    const plan = planOf([], { tariff: expensive });
    fc.assert(
      fc.property(start, fc.integer({ min: 0, max: 36_000 }), numbers, (t, d, n) => {
        const out = rate(plan, call(new Date(t).toISOString(), d, n), new AllowanceLedger());
        const expected = chargeCall(expensive, { calledNumber: n, startMs: t, durationSec: d });
        assert.equal(amountPicoOf(out), expected.amountPico);
        if (expected.amountPico > BigInt(Number.MAX_SAFE_INTEGER)) assert.equal(out.amountIsBig, true);
      }),
      { numRuns: 200 },
    );
  });
});
