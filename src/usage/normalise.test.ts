import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  daysFromCivil,
  LocalTimeZone,
  normaliseE164,
  normaliseMsisdn,
  parseDecimalText,
  parseEpoch,
  parseIsoInstant,
  parseLocalDateTime,
  parseQuantity,
  parseWholeNumber,
  ParseFailure,
  timeZoneNamed,
} from './normalise.js';

const germany = { countryCode: '49', nationalPrefix: '0', internationalPrefixes: ['00'] };
const nanp = { countryCode: '1', nationalPrefix: '1', internationalPrefixes: ['011'] };

function failure(value: unknown): string {
  assert.ok(value instanceof ParseFailure, `expected a failure, got ${String(value)}`);
  return value.reason;
}

describe('normaliseE164', () => {
  it('reads international, national and bare forms', () => {
    assert.equal(normaliseE164('+49 151 2345678', germany), '491512345678');
    assert.equal(normaliseE164('0044 20 7946 0000', germany), '442079460000');
    assert.equal(normaliseE164('0151 2345678', germany), '491512345678');
    assert.equal(normaliseE164('(0151) 234-56.78', germany), '491512345678');
    assert.equal(normaliseE164('491512345678', germany), '491512345678');
    assert.equal(normaliseE164('112', germany), '112');
    assert.equal(normaliseE164('011 44 20 7946 0000', nanp), '442079460000');
    assert.equal(normaliseE164('1 (212) 555-1212', nanp), '12125551212');
  });
  it('takes the user part of tel: and sip: URIs', () => {
    assert.equal(normaliseE164('tel:+49-30-1234567;phone-context=x', germany), '49301234567');
    assert.equal(normaliseE164('sip:+491512345678@ims.example.net;user=phone', germany), '491512345678');
    assert.equal(normaliseE164('SIPS:01512345678@example.net', germany), '491512345678');
  });
  it('refuses letters, service codes, missing country codes and overlong numbers', () => {
    assert.match(failure(normaliseE164('0800-FLOWERS', germany)), /letters/);
    assert.match(failure(normaliseE164('*100#', germany)), /"\*"/);
    assert.match(failure(normaliseE164('+0151', germany)), /country code/);
    assert.match(failure(normaliseE164('000151', germany)), /country code/);
    assert.match(failure(normaliseE164('+4915123456789012', germany)), /at most 15/);
    assert.match(failure(normaliseE164('  ', germany)), /empty/);
    assert.match(failure(normaliseMsisdn('112', germany)), /7 to 15/);
  });
  it('is idempotent on its own output (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\+?[1-9][0-9 ]{5,13}$/), (text) => {
        const once = normaliseE164(text, germany);
        if (typeof once === 'string') assert.equal(normaliseE164(`+${once}`, germany), once);
      }),
    );
  });
});

describe('local times', () => {
  const berlin = new LocalTimeZone('Europe/Berlin');
  const utc = (text: string): number => Date.parse(text);
  it('converts with the offset of the day (CET and CEST)', () => {
    assert.equal(parseLocalDateTime('2026-01-15 12:00:00', berlin), utc('2026-01-15T11:00:00Z'));
    assert.equal(parseLocalDateTime('2026-07-15 12:00:00', berlin), utc('2026-07-15T10:00:00Z'));
    assert.equal(parseLocalDateTime('2026-07-15T12:00:00.250', berlin), utc('2026-07-15T10:00:00.250Z'));
  });
  it('crosses the spring gap and the autumn overlap in Europe/Berlin', () => {
    assert.equal(parseLocalDateTime('2026-03-29 01:59:59', berlin), utc('2026-03-29T00:59:59Z'));
    // 02:30 does not exist: moved forward by the gap, to 03:30 CEST.
    assert.equal(parseLocalDateTime('2026-03-29 02:30:00', berlin), utc('2026-03-29T01:30:00Z'));
    assert.equal(parseLocalDateTime('2026-03-29 03:00:00', berlin), utc('2026-03-29T01:00:00Z'));
    // 02:30 happens twice: the first one (CEST) is taken.
    assert.equal(parseLocalDateTime('2026-10-25 02:30:00', berlin), utc('2026-10-25T00:30:00Z'));
    assert.equal(parseLocalDateTime('2026-10-25 03:00:00', berlin), utc('2026-10-25T02:00:00Z'));
    assert.equal(
      parseLocalDateTime('2026-10-25 01:59:59', berlin),
      utc('2026-10-25T23:59:59Z'.replace('25T23', '24T23')),
    );
  });
  it('agrees with Intl for every wall time that exists once (property, across transitions)', () => {
    const zone = timeZoneNamed('Europe/Berlin');
    const format = new Intl.DateTimeFormat('sv-SE', {
      timeZone: 'Europe/Berlin',
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    fc.assert(
      fc.property(
        fc.integer({ min: utc('2024-01-01T00:00:00Z') / 1000, max: utc('2027-12-31T00:00:00Z') / 1000 }),
        (seconds) => {
          const instant = seconds * 1000;
          const wall = format.format(instant); // "2026-03-29 03:30:00"
          const back = parseLocalDateTime(wall, zone);
          // In the autumn overlap the first instant is chosen, which may be an hour before.
          assert.ok(
            back === instant || back === instant - 3_600_000,
            `${wall}: ${String(back)} vs ${instant}`,
          );
          if (back !== instant) assert.equal(format.format(back as number), wall);
        },
      ),
      { numRuns: 3000 },
    );
  });
  it('refuses malformed and impossible dates', () => {
    assert.match(failure(parseLocalDateTime('2026-02-30 10:00:00', berlin)), /calendar day/);
    assert.match(failure(parseLocalDateTime('2026-01-01 24:00:00', berlin)), /time of day/);
    assert.match(failure(parseLocalDateTime('15.01.2026 10:00', berlin)), /YYYY-MM-DD/);
    assert.match(failure(parseLocalDateTime('2026-01-01 10:00:00Z', berlin)), /without a UTC offset/);
  });
  it('computes day numbers like Date.UTC', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1900, max: 2199 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        (y, m, d) => {
          assert.equal(daysFromCivil(y, m, d) * 86_400_000, Date.UTC(y, m - 1, d));
        },
      ),
    );
  });
});

describe('instants and epochs', () => {
  it('reads ISO-8601 with an offset or Z', () => {
    assert.equal(parseIsoInstant('2026-03-29T01:30:00Z'), Date.parse('2026-03-29T01:30:00Z'));
    assert.equal(parseIsoInstant('2026-03-29T03:30:00.5+02:00'), Date.parse('2026-03-29T01:30:00.500Z'));
    assert.equal(parseIsoInstant('2026-03-29T03:30:00+0200'), Date.parse('2026-03-29T01:30:00Z'));
    assert.equal(parseIsoInstant('2026-03-28T20:30:00-05'), Date.parse('2026-03-29T01:30:00Z'));
    assert.match(failure(parseIsoInstant('2026-03-29T01:30:00')), /no UTC offset/);
  });
  it('reads epoch seconds, milliseconds and microseconds exactly', () => {
    assert.equal(parseEpoch('1774747800', 's'), 1_774_747_800_000);
    assert.equal(parseEpoch('1774747800.25', 's'), 1_774_747_800_250);
    assert.equal(parseEpoch('1774747800123', 'ms'), 1_774_747_800_123);
    assert.equal(parseEpoch('1774747800123456', 'us'), 1_774_747_800_123);
    assert.match(failure(parseEpoch('17747478x0', 's')), /seconds/);
  });
});

describe('quantities', () => {
  it('reads whole numbers and refuses fractions', () => {
    assert.equal(parseWholeNumber('42'), 42);
    assert.equal(parseWholeNumber('-3'), -3);
    assert.equal(parseWholeNumber('42.00'), 42);
    assert.match(failure(parseWholeNumber('42.5')), /whole/);
    assert.match(failure(parseWholeNumber('4e3')), /number/);
    assert.match(failure(parseWholeNumber('9007199254740993')), /too large/);
  });
  it('converts units exactly', () => {
    assert.equal(parseQuantity('1.5', 'minute'), 90);
    assert.equal(parseQuantity('2', 'MiB'), 2_097_152);
    assert.equal(parseQuantity('2', 'MB'), 2_000_000);
    assert.equal(parseQuantity('1.5', 'kB'), 1500);
    assert.equal(parseQuantity('0.5', 'KiB'), 512);
    assert.equal(parseQuantity('3000', 'millisecond'), 3);
    assert.match(failure(parseQuantity('1.01', 'minute')), /whole number of seconds/);
    assert.match(failure(parseQuantity('1500', 'millisecond')), /whole number of seconds/);
    assert.equal(parseQuantity('1500', 'millisecond', 'up'), 2);
    assert.equal(parseQuantity('1499', 'millisecond', 'half-up'), 1);
  });
  it('agrees with bigint arithmetic (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), (n) => {
        assert.equal(parseQuantity(String(n), 'KiB'), Number(n * 1024n));
      }),
    );
  });
  it('checks decimal prices', () => {
    assert.equal(parseDecimalText('0.99'), '0.99');
    assert.equal(parseDecimalText('+007.50'), '7.50');
    assert.equal(parseDecimalText('-0.0'), '0.0');
    assert.match(failure(parseDecimalText('1e3')), /decimal/);
    assert.match(failure(parseDecimalText('.5')), /decimal/);
  });
});
