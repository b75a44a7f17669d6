import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isTollgateError } from '../../kernel/errors.js';
import { compileTariff } from './compile.js';
import type { TariffDefinition } from './model.js';
import { validateTariff } from './validate.js';

/** A valid tariff that exercises every section; each test breaks one thing in a copy. */
function valid(): TariffDefinition {
  return {
    id: 'retail-2026',
    name: 'Retail 2026',
    timeZone: 'Europe/Berlin',
    currencies: ['EUR', 'USD'],
    zones: [{ id: 'DE-fixed' }, { id: 'DE-mobile' }, { id: 'EU-roam' }],
    prefixTables: [
      {
        id: 'world',
        name: 'World',
        entries: [
          { prefix: '49', zone: 'DE-fixed' },
          { prefix: '4915', zone: 'DE-mobile' },
        ],
      },
    ],
    voice: {
      prefixTableId: 'world',
      bandCrossing: 'split',
      rates: ['EUR', 'USD'].flatMap((currency) =>
        ['DE-fixed', 'DE-mobile'].map((zone) => ({
          zone,
          currency,
          connectFee: '0.01',
          unitSeconds: 60,
          unitPrice: '0.05',
          increments: { firstSec: 60, nextSec: 60 },
          minimumCharge: '0.02',
          maximumCharge: '10',
          bandPrices: [{ band: 'peak', unitPrice: '0.07' }],
        })),
      ),
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
      holidayBand: 'weekend',
      holidayCalendar: { name: 'DE', dates: ['2026-12-25'] },
    },
    data: [
      {
        currency: 'EUR',
        blockBytes: 1024,
        pricing: {
          mode: 'graduated',
          tiers: [
            { upTo: '1000', unitPrice: '0.0001' },
            { upTo: '5000', unitPrice: '0.00005' },
            { unitPrice: '0.00001' },
          ],
        },
      },
    ],
    events: [
      { eventType: 'sms', currency: 'EUR', pricing: { mode: 'flat', unitPrice: '0.09' } },
      { eventType: 'content', currency: 'EUR', pricedInEvent: true },
    ],
    roaming: { networks: [{ mccMnc: '20801', zone: 'EU-roam' }] },
  };
}

/**
 * A deep copy to break. The copy is typed `any` on purpose: the tests write values of the wrong
 * type and shape into it, which is what validation is for.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;
function broken(edit: (def: Loose) => void): unknown {
  const copy: Loose = structuredClone(valid());
  edit(copy);
  return copy;
}

/** The problems at `path`, failing with the whole list when there is none. */
function problemsAt(definition: unknown, path: string): string[] {
  const problems = validateTariff(definition);
  const found = problems.filter((p) => p.path === path).map((p) => p.message);
  assert.ok(found.length > 0, `no problem at ${path}; got ${JSON.stringify(problems, null, 2)}`);
  return found;
}

describe('validateTariff', () => {
  it('accepts a valid tariff', () => {
    assert.deepEqual(validateTariff(valid()), []);
  });

  it('refuses a prefix with a non-digit, a "+", or a leading 0', () => {
    const def = broken((d) => {
      d.prefixTables[0].entries.push({ prefix: '49a1', zone: 'DE-fixed' });
      d.prefixTables[0].entries.push({ prefix: '+4930', zone: 'DE-fixed' });
      d.prefixTables[0].entries.push({ prefix: '004930', zone: 'DE-fixed' });
      d.prefixTables[0].entries.push({ prefix: '', zone: 'DE-fixed' });
    });
    assert.match(problemsAt(def, '/prefixTables/0/entries/2/prefix')[0] as string, /not a digit/);
    assert.match(problemsAt(def, '/prefixTables/0/entries/3/prefix')[0] as string, /no "\+"/);
    assert.match(problemsAt(def, '/prefixTables/0/entries/4/prefix')[0] as string, /access code/);
    assert.match(problemsAt(def, '/prefixTables/0/entries/5/prefix')[0] as string, /at least one digit/);
  });

  it('refuses the same prefix in two zones of one table, naming both zones', () => {
    const def = broken((d) => d.prefixTables[0].entries.push({ prefix: '4915', zone: 'DE-fixed' }));
    const [message] = problemsAt(def, '/prefixTables/0/entries/2/prefix');
    assert.match(
      message as string,
      /prefix 4915 is in two zones of this table: "DE-mobile" \(entry 1\) and "DE-fixed" \(entry 2\)/,
    );
  });

  it('refuses a prefix listed twice in the same zone', () => {
    const def = broken((d) => d.prefixTables[0].entries.push({ prefix: '49', zone: 'DE-fixed' }));
    assert.match(
      problemsAt(def, '/prefixTables/0/entries/2/prefix')[0] as string,
      /listed twice in zone "DE-fixed"/,
    );
  });

  it('refuses references to unknown zones, bands and tables', () => {
    const def = broken((d) => {
      d.prefixTables[0].entries[0].zone = 'DE-festnetz';
      d.roaming.networks[0].zone = 'Mars';
      d.voice.rates[0].bandPrices[0].band = 'rush-hour';
      d.data[0].roamingZone = 'Moon';
    });
    assert.match(
      problemsAt(def, '/prefixTables/0/entries/0/zone')[0] as string,
      /zone "DE-festnetz" is not declared/,
    );
    assert.match(problemsAt(def, '/roaming/networks/0/zone')[0] as string, /zone "Mars"/);
    assert.match(
      problemsAt(def, '/voice/rates/0/bandPrices/0/band')[0] as string,
      /band "rush-hour" is not declared/,
    );
    assert.match(problemsAt(def, '/data/0/roamingZone')[0] as string, /zone "Moon"/);
    const table = broken((d) => (d.voice.prefixTableId = 'europe'));
    assert.match(problemsAt(table, '/voice/prefixTableId')[0] as string, /"europe" is not declared/);
  });

  it('refuses negative rates, fees and charges, and amounts written as numbers', () => {
    const def = broken((d) => {
      d.voice.rates[0].unitPrice = '-0.05';
      d.voice.rates[1].connectFee = '-0.01';
      d.voice.rates[2].minimumCharge = '-1';
      d.voice.rates[3].bandPrices[0].unitPrice = '-0.07';
      d.events[0].pricing.unitPrice = 0.09;
      d.data[0].pricing.tiers[0].unitPrice = '0.1234567890123'; // 13 decimals
    });
    assert.match(problemsAt(def, '/voice/rates/0/unitPrice')[0] as string, /"-0.05" is negative/);
    assert.match(problemsAt(def, '/voice/rates/1/connectFee')[0] as string, /negative/);
    assert.match(problemsAt(def, '/voice/rates/2/minimumCharge')[0] as string, /negative/);
    assert.match(problemsAt(def, '/voice/rates/3/bandPrices/0/unitPrice')[0] as string, /negative/);
    assert.match(problemsAt(def, '/events/0/pricing/unitPrice')[0] as string, /written as strings/);
    assert.match(problemsAt(def, '/data/0/pricing/tiers/0/unitPrice')[0] as string, /13 decimal places/);
  });

  it('refuses increments below 1 second and unit lengths below 1', () => {
    const def = broken((d) => {
      d.voice.rates[0].increments = { firstSec: 0, nextSec: 6 };
      d.voice.rates[1].increments = { firstSec: 30, nextSec: 0.5 };
      d.voice.rates[2].unitSeconds = 0;
    });
    assert.match(problemsAt(def, '/voice/rates/0/increments/firstSec')[0] as string, /at least 1/);
    assert.match(problemsAt(def, '/voice/rates/1/increments/nextSec')[0] as string, /at least 1/);
    assert.match(problemsAt(def, '/voice/rates/2/unitSeconds')[0] as string, /at least 1/);
  });

  it('refuses a minimum charge above the maximum', () => {
    const def = broken((d) => {
      d.voice.rates[0].minimumCharge = '5';
      d.voice.rates[0].maximumCharge = '1.5';
    });
    assert.match(
      problemsAt(def, '/voice/rates/0/minimumCharge')[0] as string,
      /minimum charge 5 is more than the maximum charge 1.5/,
    );
  });

  it("refuses currencies that are not ISO 4217, or not the tariff's", () => {
    const def = broken((d) => {
      d.currencies[1] = 'usd';
      d.voice.rates[0].currency = 'EURO';
      d.events[0].currency = 'GBP';
    });
    assert.match(
      problemsAt(def, '/currencies/1')[0] as string,
      /not an ISO 4217 currency code; codes are upper case/,
    );
    assert.match(problemsAt(def, '/voice/rates/0/currency')[0] as string, /"EURO" is not an ISO 4217/);
    assert.match(
      problemsAt(def, '/events/0/currency')[0] as string,
      /GBP is not one of the tariff's currencies/,
    );
  });

  it('requires a rate for every zone of the voice table in every currency, and one only', () => {
    const missing = broken((d) => d.voice.rates.pop());
    assert.match(
      problemsAt(missing, '/voice/rates')[0] as string,
      /zone "DE-mobile" is in the voice prefix table but has no USD rate/,
    );
    const twice = broken((d) => d.voice.rates.push({ ...d.voice.rates[0] }));
    assert.match(problemsAt(twice, '/voice/rates/4')[0] as string, /already has a EUR rate \(rate 0\)/);
  });

  it('refuses a time zone the runtime does not know', () => {
    const def = broken((d) => (d.timeZone = 'Europe/Atlantis'));
    assert.match(problemsAt(def, '/timeZone')[0] as string, /"Europe\/Atlantis" is not an IANA time zone/);
  });

  it('refuses overlapping band windows, naming both and the first shared minute', () => {
    const def = broken((d) =>
      d.timeBands.bands[2].windows.push({ days: ['fri'], from: '18:00', to: '02:00' }),
    );
    const [message] = problemsAt(def, '/timeBands/bands/2/windows/1');
    assert.match(
      message as string,
      /window 1 of band "weekend" overlaps band "peak" window 0 \(first at Fri 18:00\)/,
    );
    // The same window crosses midnight into Saturday, which the weekend window already covers.
    assert.ok(
      validateTariff(def).some((p) =>
        /overlaps window 0 of the same band \(first at Sat 00:00\)/.test(p.message),
      ),
    );
  });

  it('refuses malformed windows, bands and holidays', () => {
    const def = broken((d) => {
      d.timeBands.bands[0].windows[0].days = ['monday'];
      d.timeBands.bands[0].windows[0].from = '8:00';
      d.timeBands.bands[2].windows[0].to = '25:00';
      d.timeBands.bands.push({ name: 'peak', windows: [] });
      d.timeBands.defaultBand = 'night';
      d.timeBands.holidayCalendar.dates.push('2026-02-30', '2026-12-25');
    });
    assert.match(
      problemsAt(def, '/timeBands/bands/0/windows/0/days/0')[0] as string,
      /"monday" is not a day/,
    );
    assert.match(problemsAt(def, '/timeBands/bands/0/windows/0/from')[0] as string, /"HH:MM"/);
    assert.match(problemsAt(def, '/timeBands/bands/2/windows/0/to')[0] as string, /"HH:MM"/);
    assert.match(problemsAt(def, '/timeBands/bands/3/name')[0] as string, /declared twice/);
    assert.match(problemsAt(def, '/timeBands/defaultBand')[0] as string, /band "night" is not declared/);
    assert.match(problemsAt(def, '/timeBands/holidayCalendar/dates/1')[0] as string, /not a calendar date/);
    assert.match(problemsAt(def, '/timeBands/holidayCalendar/dates/2')[0] as string, /listed twice/);
  });

  it('refuses tiers that do not increase, and tier lists that do not end open', () => {
    const def = broken((d) => {
      d.data[0].pricing.tiers[1].upTo = '1000';
      d.events[0].pricing = {
        mode: 'volume',
        tiers: [
          { upTo: '0', unitPrice: '0.1' },
          { upTo: '10', unitPrice: '0.05' },
        ],
      };
    });
    assert.match(
      problemsAt(def, '/data/0/pricing/tiers/1/upTo')[0] as string,
      /tiers must increase: upTo 1000 is not more than the previous tier's 1000/,
    );
    assert.match(problemsAt(def, '/events/0/pricing/tiers/0/upTo')[0] as string, /more than 0/);
    assert.match(problemsAt(def, '/events/0/pricing/tiers/1/upTo')[0] as string, /must be open-ended/);
  });

  it('refuses events with both or neither of pricing and pricedInEvent, bad MCC-MNCs and bad data blocks', () => {
    const def = broken((d) => {
      d.events[1].pricing = { mode: 'flat', unitPrice: '1' };
      d.events.push({ eventType: 'mms', currency: 'EUR' });
      d.roaming.networks.push({ mccMnc: '2080', zone: 'EU-roam' }, { mccMnc: '20801', zone: 'EU-roam' });
      d.data[0].blockBytes = 0;
    });
    assert.match(problemsAt(def, '/events/1')[0] as string, /not both/);
    assert.match(problemsAt(def, '/events/2/pricing')[0] as string, /needs a pricing/);
    assert.match(problemsAt(def, '/roaming/networks/1/mccMnc')[0] as string, /not an MCC-MNC/);
    assert.match(problemsAt(def, '/roaming/networks/2/mccMnc')[0] as string, /already listed/);
    assert.match(problemsAt(def, '/data/0/blockBytes')[0] as string, /at least 1/);
  });

  it('reports wrong shapes instead of throwing', () => {
    assert.deepEqual(validateTariff(null), [{ path: '', message: 'a tariff must be an object, got null' }]);
    const problems = validateTariff({
      id: 'x',
      name: 'x',
      timeZone: 'UTC',
      currencies: 'EUR',
      zones: {},
      prefixTables: [7],
    });
    assert.deepEqual(
      problems.map((p) => p.path),
      ['/currencies', '/zones', '/prefixTables/0'],
    );
  });

  it('reports every problem at once', () => {
    const def = broken((d) => {
      d.prefixTables[0].entries[1].prefix = '49x';
      d.voice.rates[0].unitPrice = '-1';
      d.timeZone = 'Nowhere/Special';
    });
    assert.deepEqual(
      validateTariff(def).map((p) => p.path),
      ['/timeZone', '/prefixTables/0/entries/1/prefix', '/voice/rates/0/unitPrice'],
    );
  });
});

describe('compileTariff', () => {
  it('compiles a valid tariff', () => {
    const compiled = compileTariff(valid());
    assert.deepEqual(compiled.zones, ['DE-fixed', 'DE-mobile', 'EU-roam']);
    assert.deepEqual(compiled.bands.names, ['off-peak', 'peak', 'weekend']);
    assert.deepEqual(compiled.currencies, ['EUR', 'USD']);
  });

  it('compiles nothing from an invalid tariff and lists every problem in one error', () => {
    const def = broken((d) => {
      d.prefixTables[0].entries.push({ prefix: '4915', zone: 'DE-fixed' });
      d.voice.rates[1].unitPrice = '-0.01';
    });
    assert.throws(
      () => compileTariff(def as TariffDefinition),
      (error: unknown) => {
        assert.ok(isTollgateError(error));
        assert.equal(error.code, 'tariff.invalid_tariff');
        assert.equal(error.kind, 'validation');
        assert.match(error.message, /has 2 problems, first at \/prefixTables\/0\/entries\/2\/prefix/);
        assert.deepEqual(
          error.errors?.map((e) => e.field),
          ['/prefixTables/0/entries/2/prefix', '/voice/rates/1/unitPrice'],
        );
        return true;
      },
    );
  });
});
