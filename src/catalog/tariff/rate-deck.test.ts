import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isTollgateError } from '../../kernel/errors.js';
import { chargeCall } from './charge.js';
import { compileTariff } from './compile.js';
import { parseRateDeck, readRateDeck, requireRateDeckFragment } from './rate-deck.js';

const HEADER = 'prefix,description,rate,connect_fee,increments,currency,effective_date';

describe('parseRateDeck', () => {
  it('reads prefixes into zones by description and prices', () => {
    const deck = [
      HEADER,
      '49,Germany fixed,0.0100,0,60/60,EUR,2026-01-01',
      '4930,Germany fixed,0.01,0,60/60,EUR,2026-01-01',
      '4915,"Germany, mobile",0.0500,0.01,30/6,EUR,2026-02-01',
      '4916,"Germany, mobile",0.06,0.01,30/6,EUR,2026-01-01',
      '1,USA,0.005,,1/1,EUR,2026-01-01',
      '',
    ].join('\n');
    const result = parseRateDeck(deck, { tableId: 'carrier-a' });
    assert.deepEqual(result.errors, []);
    assert.equal(result.rows, 5);
    const fragment = requireRateDeckFragment(result);
    assert.deepEqual(fragment.zones, [
      { id: 'Germany fixed', description: 'Germany fixed' },
      { id: 'Germany, mobile', description: 'Germany, mobile' },
      { id: 'Germany, mobile #2', description: 'Germany, mobile' },
      { id: 'USA', description: 'USA' },
    ]);
    assert.deepEqual(fragment.prefixTable.entries, [
      { prefix: '49', zone: 'Germany fixed' },
      { prefix: '4930', zone: 'Germany fixed' },
      { prefix: '4915', zone: 'Germany, mobile' },
      { prefix: '4916', zone: 'Germany, mobile #2' },
      { prefix: '1', zone: 'USA' },
    ]);
    assert.deepEqual(fragment.rates[1], {
      zone: 'Germany, mobile',
      currency: 'EUR',
      connectFee: '0.01',
      unitSeconds: 60,
      unitPrice: '0.05',
      increments: { firstSec: 30, nextSec: 6 },
    });
    assert.equal(fragment.rates[3]?.connectFee, '0');
    assert.deepEqual(fragment.currencies, ['EUR']);
    assert.equal(fragment.effectiveFrom, '2026-02-01');
    assert.equal(fragment.prefixTable.id, 'carrier-a');
  });

  it('produces a fragment that compiles into a tariff and charges', () => {
    const fragment = requireRateDeckFragment(
      parseRateDeck(
        `${HEADER}\r\n49,Germany,0.02,0,60/60,EUR,2026-01-01\r\n4915,Germany mobile,0.06,0,30/6,EUR,2026-01-01\r\n`,
      ),
    );
    const tariff = compileTariff({
      id: 'deck',
      name: 'From a deck',
      timeZone: 'Europe/Berlin',
      currencies: fragment.currencies,
      zones: fragment.zones,
      prefixTables: [fragment.prefixTable],
      voice: { prefixTableId: fragment.prefixTable.id, bandCrossing: 'start', rates: fragment.rates },
    });
    const charge = chargeCall(tariff, {
      calledNumber: '4915112345',
      startMs: Date.UTC(2026, 0, 5),
      durationSec: 31,
    });
    assert.equal(charge.zone, 'Germany mobile');
    assert.equal(charge.chargedSec, 36);
    assert.equal(charge.amountPico, 36_000_000_000n); // 0.06 × 36 / 60 = 0.036
  });

  it('reports every bad row by line and column, and produces nothing', () => {
    const deck = [
      HEADER, // line 1
      '49,Germany,0.01,0,60/60,EUR,2026-01-01', // 2: good
      '+4930,Berlin,0.01,0,60/60,EUR,2026-01-01', // 3: prefix with +
      '4931,Berlin,-0.01,0,60/60,EUR,2026-01-01', // 4: negative rate
      '4932,Berlin,0.01,abc,0/60,eur,2026-13-01', // 5: fee, increments, currency, date
      '49,Germany again,0.02,0,60/60,EUR,2026-01-01', // 6: duplicate prefix
      '4933,Berlin,0.01,0,60/60,EUR', // 7: too few fields
      '4934,,0.01,0,60/60,EUR,2026-01-01', // 8: empty description
      '4935,Berlin,1e-3,0,60/60,EUR,2026-01-01', // 9: exponent
      '4936,Berlin,0.0000000000001,0,60/60,EUR,2026-01-01', // 10: 13 decimals
    ].join('\n');
    const result = parseRateDeck(deck);
    assert.equal(result.fragment, undefined);
    assert.equal(result.rows, 9);
    assert.deepEqual(
      result.errors.map((e) => [e.line, e.field]),
      [
        [3, 'prefix'],
        [4, 'rate'],
        [5, 'connect_fee'],
        [5, 'increments'],
        [5, 'currency'],
        [5, 'effective_date'],
        [6, 'prefix'],
        [7, 'row'],
        [8, 'description'],
        [9, 'rate'],
        [10, 'rate'],
      ],
    );
    const message = (line: number, field: string) =>
      result.errors.find((e) => e.line === line && e.field === field)?.message ?? '';
    assert.match(message(3, 'prefix'), /without "\+"/);
    assert.match(message(4, 'rate'), /"-0.01" is negative/);
    assert.match(message(5, 'currency'), /codes are upper case/);
    assert.match(message(6, 'prefix'), /prefix 49 already has a EUR rate on line 2/);
    assert.match(message(7, 'row'), /6 fields, but the header has 7/);
    assert.match(message(10, 'rate'), /more than 12 decimal places/);
    assert.throws(
      () => requireRateDeckFragment(result),
      (error: unknown) =>
        isTollgateError(error) &&
        error.code === 'tariff.invalid_rate_deck' &&
        /11 errors, first on line 3 \(prefix\)/.test(error.message) &&
        error.errors?.[0]?.field === 'line 3/prefix',
    );
  });

  it('reports a missing column, an empty deck and broken quoting', () => {
    const noRate = parseRateDeck(
      'prefix,description,connect_fee,increments,currency,effective_date\n49,x,0,60/60,EUR,2026-01-01\n',
    );
    assert.deepEqual(
      noRate.errors.map((e) => [e.line, e.field]),
      [[1, 'header']],
    );
    assert.match(noRate.errors[0]?.message ?? '', /column "rate" is missing/);
    assert.equal(noRate.rows, 1);
    assert.deepEqual(
      parseRateDeck('').errors.map((e) => e.field),
      ['header'],
    );
    const quotes = parseRateDeck(
      `${HEADER}\n49,"Germany"x,0.01,0,60/60,EUR,2026-01-01\n4915,Ger"many,0.01,0,60/60,EUR,2026-01-01\n1,"USA,0.01,0,60/60,EUR,2026-01-01\n`,
    );
    assert.deepEqual(
      quotes.errors.map((e) => [e.line, e.field]),
      [
        [2, 'row'],
        [3, 'row'],
        [4, 'row'],
      ],
    );
    assert.match(quotes.errors[2]?.message ?? '', /not closed/);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks, keeping line numbers right', () => {
    const deck = `\ufeff${HEADER}\n49,"Germany ""fixed""",0.01,0,60/60,EUR,2026-01-01\n4915,"Germany\nmobile",0.05,0,60/60,EUR,2026-01-01\n4916,x,-1,0,60/60,EUR,2026-01-01\n`;
    const result = parseRateDeck(deck);
    assert.deepEqual(
      result.errors.map((e) => [e.line, e.field]),
      [[5, 'rate']],
    );
    const ok = requireRateDeckFragment(parseRateDeck(deck.replace(',-1,', ',1,')));
    assert.deepEqual(
      ok.zones.map((z) => z.id),
      ['Germany "fixed"', 'Germany\nmobile', 'x'],
    );
  });

  it('accepts columns in any order, in any case, with extra columns', () => {
    const deck =
      'Currency,PREFIX,rate,Comment,effective_date,increments,connect_fee,description\nEUR,49,0.01,hi,2026-01-01,60/60,0,DE\n';
    const fragment = requireRateDeckFragment(parseRateDeck(deck));
    assert.deepEqual(fragment.prefixTable.entries, [{ prefix: '49', zone: 'DE' }]);
  });

  it('zoneBy prefix makes every prefix its own zone', () => {
    const deck = `${HEADER}\n49,Germany,0.01,0,60/60,EUR,2026-01-01\n4930,Germany,0.01,0,60/60,EUR,2026-01-01\n`;
    const fragment = requireRateDeckFragment(parseRateDeck(deck, { zoneBy: 'prefix' }));
    assert.deepEqual(
      fragment.zones.map((z) => z.id),
      ['49', '4930'],
    );
  });

  it('with asOf, picks the latest row effective on that date and sets future rows aside', () => {
    const deck = [
      HEADER,
      '49,Germany,0.01,0,60/60,EUR,2026-01-01',
      '49,Germany,0.02,0,60/60,EUR,2026-03-01',
      '49,Germany,0.03,0,60/60,EUR,2026-06-01',
      '4915,Mobile,0.05,0,60/60,EUR,2026-01-01',
      '4915,Mobile,0.06,0,60/60,EUR,2026-01-01',
    ].join('\n');
    const result = parseRateDeck(deck, { asOf: '2026-04-15' });
    assert.deepEqual(
      result.errors.map((e) => [e.line, e.field]),
      [[6, 'prefix']],
    );
    assert.match(result.errors[0]?.message ?? '', /effective 2026-01-01 on line 5/);
    const fixed = parseRateDeck(deck.split('\n').slice(0, 5).join('\n'), { asOf: '2026-04-15' });
    assert.equal(fixed.futureRows, 1);
    const fragment = requireRateDeckFragment(fixed);
    assert.equal(fragment.rates.find((r) => r.zone === 'Germany')?.unitPrice, '0.02');
    assert.equal(fragment.effectiveFrom, '2026-03-01');
  });

  it('groups a deck in several currencies into zones priced in each', () => {
    const deck = [
      HEADER,
      '49,Germany,0.01,0,60/60,EUR,2026-01-01',
      '49,Germany,0.012,0,60/60,USD,2026-01-01',
      '4930,Germany,0.01,0,60/60,EUR,2026-01-01',
      '4930,Germany,0.013,0,60/60,USD,2026-01-01',
    ].join('\n');
    const fragment = requireRateDeckFragment(parseRateDeck(deck));
    assert.deepEqual(fragment.currencies, ['EUR', 'USD']);
    assert.deepEqual(
      fragment.rates.map((r) => [r.zone, r.currency, r.unitPrice]),
      [
        ['Germany', 'EUR', '0.01'],
        ['Germany', 'USD', '0.012'],
        ['Germany #2', 'EUR', '0.01'],
        ['Germany #2', 'USD', '0.013'],
      ],
    );
  });

  it('gives the same result however the input is cut into chunks, as text or bytes', async () => {
    const deck = [
      HEADER,
      '49,"Germany, ""fixed""",0.01,0,60/60,EUR,2026-01-01',
      '4915,"Ger\r\nmany",0.05,0.01,30/6,EUR,2026-01-01',
      '',
      '4916,Germany mobile,0.05,0.01,30/6,EUR,2026-01-01\r',
      '4917,bad,x,0,60/60,EUR,2026-01-01',
      '4918,"bad"x,0.01,0,60/60,EUR,2026-01-01',
      '33,Frànce,0.02,0,1/1,EUR,2026-01-01',
    ].join('\n');
    const whole = parseRateDeck(deck);
    assert.equal(whole.errors.length, 2);
    const bytes = new TextEncoder().encode(deck);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }),
        fc.boolean(),
        async (cuts, asBytes) => {
          const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const chunks = points
            .slice(1)
            .map((end, i) => (asBytes ? bytes.slice(points[i], end) : deck.slice(points[i], end)));
          const streamed = await readRateDeck(
            (async function* () {
              yield* chunks;
            })(),
          );
          assert.deepEqual(streamed, whole);
        },
      ),
      { numRuns: 300 },
    );
  });
});
