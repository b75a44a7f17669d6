import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  OffsetCache,
  formatLocalDate,
  isTimeZone,
  parseClock,
  parseLocalDate,
  weekdayOf,
  windowRanges,
} from './calendar.js';

/** The offset straight from Intl with the longOffset name ("GMT+01:00"), a second opinion. */
function intlOffsetMs(timeZone: string, ms: number): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(ms)
    .find((p) => p.type === 'timeZoneName')?.value;
  if (name === undefined || name === 'GMT') return 0;
  const match = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  assert.ok(match, name);
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return (match[1] === '-' ? -minutes : minutes) * 60_000;
}

describe('OffsetCache', () => {
  it('knows Berlin in winter (+1 h) and summer (+2 h), and the exact switch instants of 2026', () => {
    const cache = new OffsetCache('Europe/Berlin');
    const hour = 3_600_000;
    assert.equal(cache.offsetMs(Date.parse('2026-01-15T12:00:00Z')), hour);
    assert.equal(cache.offsetMs(Date.parse('2026-07-15T12:00:00Z')), 2 * hour);
    // Spring forward: 2026-03-29 01:00 UTC, when 02:00 CET becomes 03:00 CEST.
    assert.equal(cache.offsetMs(Date.parse('2026-03-29T00:59:59.999Z')), hour);
    assert.equal(cache.offsetMs(Date.parse('2026-03-29T01:00:00.000Z')), 2 * hour);
    // Fall back: 2026-10-25 01:00 UTC, when 03:00 CEST becomes 02:00 CET.
    assert.equal(cache.offsetMs(Date.parse('2026-10-25T00:59:59.999Z')), 2 * hour);
    assert.equal(cache.offsetMs(Date.parse('2026-10-25T01:00:00.000Z')), hour);
  });

  it('finds a transition inside a UTC hour (Lord Howe Island switches at 15:30 UTC)', () => {
    const cache = new OffsetCache('Australia/Lord_Howe');
    // 2026-04-05 02:00 local daylight (+11:00) falls back to 01:30 standard (+10:30): 15:00 UTC.
    // And 2026-10-04 02:00 standard (+10:30) springs to 02:30 (+11:00): 15:30 UTC.
    const spring = Date.parse('2026-10-03T15:30:00Z');
    assert.equal(cache.offsetMs(spring - 1), 10.5 * 3_600_000);
    assert.equal(cache.offsetMs(spring), 11 * 3_600_000);
    assert.equal(cache.nextCheckMs(spring - 60_000), spring);
  });

  it('agrees with Intl on random instants in several zones', () => {
    const zones = [
      'Europe/Berlin',
      'America/New_York',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
      'UTC',
      'America/Sao_Paulo',
    ];
    const caches = new Map(zones.map((z) => [z, new OffsetCache(z)]));
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2040-01-01T00:00:00Z') }),
        (zone, ms) => {
          assert.equal((caches.get(zone) as OffsetCache).offsetMs(ms), intlOffsetMs(zone, ms));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('calendar helpers', () => {
  it('parses clock times, 24:00 only as an end', () => {
    assert.equal(parseClock('08:00', false), 480);
    assert.equal(parseClock('23:59', false), 1439);
    assert.equal(parseClock('24:00', true), 1440);
    assert.equal(parseClock('24:00', false), undefined);
    assert.equal(parseClock('8:00', false), undefined);
    assert.equal(parseClock('12:60', false), undefined);
  });

  it('parses real dates only and counts days from 1970-01-01 (a Thursday)', () => {
    assert.equal(parseLocalDate('1970-01-01'), 0);
    assert.equal(parseLocalDate('2026-02-29'), undefined);
    assert.equal(parseLocalDate('2028-02-29'), Date.UTC(2028, 1, 29) / 86_400_000);
    assert.equal(formatLocalDate(parseLocalDate('2026-12-25') as number), '2026-12-25');
    assert.equal(weekdayOf(0), 3); // Thursday, Monday = 0
    assert.equal(weekdayOf(-1), 2);
    assert.equal(weekdayOf(parseLocalDate('2026-03-29') as number), 6); // a Sunday
  });

  it('splits a window that crosses midnight, Sunday into Monday', () => {
    assert.deepEqual(windowRanges([4], 22 * 60, 6 * 60), [
      [4 * 1440 + 1320, 5 * 1440],
      [5 * 1440, 5 * 1440 + 360],
    ]);
    assert.deepEqual(windowRanges([6], 22 * 60, 6 * 60), [
      [6 * 1440 + 1320, 7 * 1440],
      [0, 360],
    ]);
  });

  it('knows IANA zones', () => {
    assert.equal(isTimeZone('Europe/Berlin'), true);
    assert.equal(isTimeZone('Europe/Atlantis'), false);
    assert.equal(isTimeZone(''), false);
  });
});
