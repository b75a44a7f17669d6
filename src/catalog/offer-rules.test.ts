import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  offerDefinitionProblems,
  offerVersionProblems,
  tariffDefinitionProblems,
  type OfferRuleContext,
} from './offer-rules.js';
import {
  amountIn,
  type OfferDefinition,
  type OfferVersionDefinition,
  type PriceDefinition,
} from './model.js';

const context: OfferRuleContext = {
  products: new Map([
    ['VOICE', 'voice'],
    ['DATA', 'data'],
    ['SMS', 'sms'],
  ]),
  offers: new Map([
    ['PLAN-S', 'plan'],
    ['PLAN-M', 'plan'],
    ['ROAM', 'add-on'],
  ]),
  tariffs: new Set(['STD']),
  tariffZones: (code) => (code === 'STD' ? ['home', 'EU-roaming'] : undefined),
};

const monthly = (amount: string, currency = 'EUR'): PriceDefinition => ({
  code: 'monthly',
  kind: 'recurring',
  amounts: [{ amount, currency }],
  period: 'month',
  billing: 'advance',
  proration: 'daily',
});

function offer(
  version: Partial<OfferVersionDefinition>,
  header: Partial<OfferDefinition> = {},
): OfferDefinition {
  return {
    code: 'PLAN-M',
    name: 'Plan M',
    kind: 'plan',
    currencies: ['EUR'],
    products: ['VOICE', 'DATA'],
    versions: [{ effectiveFrom: '2026-01-01T00:00:00.000Z', prices: [monthly('25.00')], ...version }],
    ...header,
  };
}

const paths = (o: OfferDefinition) => offerDefinitionProblems(o, context, '/offers/0').map((p) => p.path);

describe('offer rules', () => {
  it('accept a complete offer', () => {
    const problems = offerDefinitionProblems(
      offer({
        prices: [
          monthly('25.00'),
          {
            code: 'activation',
            kind: 'one-time',
            reason: 'activation',
            amounts: [{ amount: '9.99', currency: 'EUR' }],
          },
          { code: 'voice', kind: 'usage', product: 'VOICE', tariff: 'STD' },
          { code: 'deposit', kind: 'deposit', amounts: [{ amount: '50', currency: 'EUR' }] },
        ],
        contract: {
          minimumTermMonths: 24,
          earlyTerminationFee: { kind: 'remaining-recurring', percentage: '50' },
        },
        promotions: [
          { code: 'HALF', kind: 'percentage', percentage: '50', periods: 3, appliesTo: ['monthly'] },
          { code: 'FREE', kind: 'free-periods', periods: 1, appliesTo: ['monthly'] },
          {
            code: 'INTRO',
            kind: 'introductory-price',
            periods: 6,
            amounts: [{ amount: '19.99', currency: 'EUR' }],
            appliesTo: ['monthly'],
          },
          {
            code: 'OFF',
            kind: 'fixed-amount',
            amounts: [{ amount: '9.99', currency: 'EUR' }],
            appliesTo: ['activation'],
          },
        ],
        allowances: [
          {
            code: 'min',
            service: 'voice',
            quantity: '500',
            unit: 'minute',
            period: 'month',
            zones: ['home'],
          },
          {
            code: 'gb',
            service: 'data',
            quantity: '1.5',
            unit: 'GB',
            period: 'month',
            rollover: { maxPeriods: 1 },
          },
        ],
      }),
      context,
    );
    assert.deepEqual(problems, []);
  });

  it('give validated amounts as kernel Money', () => {
    const price = monthly('25.00');
    assert.equal(amountIn(price, 'EUR')?.amountMinor, 2500n);
    assert.equal(amountIn(price, 'USD'), undefined);
    assert.equal(amountIn({ code: 'u', kind: 'usage', product: 'VOICE', tariff: 'STD' }, 'EUR'), undefined);
  });

  it('refuse a price in a currency the offer does not sell in, naming the path', () => {
    const problems = offerDefinitionProblems(
      offer({ prices: [monthly('25.00', 'USD')] }),
      context,
      '/offers/0',
    );
    const unsupported = problems.find((p) => p.code === 'unsupported_currency');
    assert.equal(unsupported?.path, '/offers/0/versions/0/prices/0/amounts/0/currency');
    assert.match(unsupported!.message, /USD, which offer PLAN-M does not sell in \(its currencies: EUR\)/);
    // And an offer sold in two currencies needs an amount in each.
    const missing = offerDefinitionProblems(offer({}, { currencies: ['EUR', 'USD'] }), context);
    assert.match(missing[0]!.message, /no amount in USD/);
  });

  it('refuse negative amounts and amounts with too many decimals', () => {
    const negative = offerDefinitionProblems(offer({ prices: [monthly('-1.00')] }), context);
    assert.equal(negative[0]?.code, 'negative_amount');
    assert.equal(negative[0]?.path, '/versions/0/prices/0/amounts/0/amount');
    const precise = offerDefinitionProblems(offer({ prices: [monthly('1.001')] }), context);
    assert.match(precise[0]!.message, /3 decimal places but EUR has 2/);
  });

  it('refuse incoherent promotions', () => {
    const problems = offerVersionProblems(
      offer({}),
      {
        prices: [monthly('10.00'), { code: 'voice', kind: 'usage', product: 'VOICE', tariff: 'STD' }],
        promotions: [
          { code: 'P1', kind: 'percentage', percentage: '150', appliesTo: ['monthly'] },
          { code: 'P2', kind: 'percentage', percentage: '0', appliesTo: ['monthly'] },
          { code: 'P3', kind: 'free-periods', periods: 0, appliesTo: ['voice'] },
          {
            code: 'P4',
            kind: 'fixed-amount',
            amounts: [{ amount: '12.00', currency: 'EUR' }],
            appliesTo: ['monthly'],
          },
          {
            code: 'P5',
            kind: 'introductory-price',
            periods: 2,
            amounts: [{ amount: '10.00', currency: 'EUR' }],
            appliesTo: ['nope'],
          },
          { code: 'P5', kind: 'percentage', percentage: '10', appliesTo: [] },
        ],
      },
      context,
    );
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    assert.match(byPath['/promotions/0/percentage']!, /at most 100/);
    assert.match(byPath['/promotions/1/percentage']!, /more than 0/);
    assert.match(byPath['/promotions/2/periods']!, /1 or more/);
    assert.match(byPath['/promotions/2/appliesTo/0']!, /applies to recurring prices; voice is usage/);
    assert.match(
      byPath['/promotions/3/amounts']!,
      /takes 12.00 EUR off price monthly, which is only 10.00 EUR/,
    );
    assert.match(byPath['/promotions/4/appliesTo/0']!, /no price "nope"/);
    assert.match(byPath['/promotions/5/code']!, /used twice/);
    assert.match(byPath['/promotions/5/appliesTo']!, /applies to no price/);
  });

  it('refuse allowances with unknown units, wrong units, zero quantities or unknown zones', () => {
    const problems = offerVersionProblems(
      offer({}),
      {
        prices: [monthly('10.00'), { code: 'data', kind: 'usage', product: 'DATA', tariff: 'STD' }],
        allowances: [
          { code: 'a', service: 'data', quantity: '10', unit: 'KB', period: 'month' },
          { code: 'b', service: 'data', quantity: '10', unit: 'minute', period: 'month' },
          { code: 'c', service: 'data', quantity: '0', unit: 'GB', period: 'month' },
          { code: 'd', service: 'sms', quantity: '100', unit: 'message', period: 'month' },
          {
            code: 'e',
            service: 'data',
            quantity: '1',
            unit: 'GB',
            period: 'month',
            zones: ['Mars'],
            rollover: { maxPeriods: 0 },
          },
        ],
      },
      context,
    );
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    assert.match(byPath['/allowances/0/unit']!, /unknown unit "KB"/);
    assert.match(byPath['/allowances/1/unit']!, /minute does not measure data/);
    assert.match(byPath['/allowances/2/quantity']!, /more than zero/);
    assert.match(byPath['/allowances/3/service']!, /delivers no sms product/);
    assert.match(byPath['/allowances/4/zones/0']!, /no zone "Mars"/);
    assert.match(byPath['/allowances/4/rollover/maxPeriods']!, /1 or more/);
  });

  it('check add-on compatibility against existing plans', () => {
    const addOn = offer(
      {
        eligibility: {
          compatiblePlans: ['PLAN-S', 'ROAM', 'GHOST'],
          excludes: ['NOPE'],
          maxPerSubscription: 2,
        },
      },
      { code: 'EXTRA', kind: 'add-on' },
    );
    assert.deepEqual(paths(addOn), [
      '/offers/0/versions/0/eligibility/compatiblePlans/1',
      '/offers/0/versions/0/eligibility/compatiblePlans/2',
      '/offers/0/versions/0/eligibility/excludes/0',
    ]);
    const plan = offer({ eligibility: { compatiblePlans: ['PLAN-S'], maxPerSubscription: 1 } });
    assert.deepEqual(paths(plan), [
      '/offers/0/versions/0/eligibility/compatiblePlans',
      '/offers/0/versions/0/eligibility/maxPerSubscription',
    ]);
  });

  it('check the offer header and usage prices', () => {
    const problems = paths(
      offer(
        {
          prices: [
            monthly('1.00'),
            { code: 'u1', kind: 'usage', product: 'SMS', tariff: 'NOPE' },
            { code: 'u2', kind: 'usage', product: 'VOICE', tariff: 'STD' },
            { code: 'u3', kind: 'usage', product: 'VOICE', tariff: 'STD' },
          ],
        },
        { currencies: ['EUR', 'eur'], products: ['VOICE', 'DATA', 'GHOST'], components: ['PLAN-S'] },
      ),
    );
    assert.deepEqual(problems, [
      '/offers/0/currencies/1',
      '/offers/0/products/2',
      '/offers/0/components',
      '/offers/0/versions/0/prices/1/product',
      '/offers/0/versions/0/prices/1/tariff',
      '/offers/0/versions/0/prices/3/product',
    ]);
  });

  it('tariff definitions go through the tariff core, negative rates flagged as such', () => {
    const definition = {
      timeZone: 'UTC',
      currencies: ['EUR'],
      zones: [{ id: 'home' }],
      prefixTables: [],
      data: [{ currency: 'EUR', blockBytes: 1000, pricing: { mode: 'flat', unitPrice: '-0.01' } }],
    };
    const problems = tariffDefinitionProblems(definition, 'STD', 'Standard');
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.path, '/data/0/pricing/unitPrice');
    assert.equal(problems[0]!.code, 'negative_amount');
    assert.deepEqual(tariffDefinitionProblems({ ...definition, data: [] }, 'STD', 'Standard'), []);
    assert.match(
      tariffDefinitionProblems({ ...definition, data: [], id: 'OTHER' }, 'STD', 'S')[0]!.message,
      /not the tariff's code STD/,
    );
  });
});
