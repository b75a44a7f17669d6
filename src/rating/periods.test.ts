import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PeriodCalendar, instantOfLocal } from './periods.js';

const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString();

describe('periods', () => {
  it('months start at bill-cycle-day local midnight, exactly across DST', () => {
    const calendar = new PeriodCalendar('month', 'Europe/Berlin', 29);
    // 2026-03-29 is the spring-forward day in Berlin (02:00 → 03:00); its midnight is still UTC+1.
    const march = calendar.periodAt(ms('2026-04-01T12:00:00Z'));
    assert.equal(march.index, 2026 * 12 + 2);
    assert.equal(iso(march.startMs), '2026-03-28T23:00:00.000Z');
    assert.equal(iso(march.endMs), '2026-04-28T22:00:00.000Z'); // UTC+2 by then
    // One millisecond before the start is in February's period.
    assert.equal(calendar.indexAt(march.startMs - 1), 2026 * 12 + 1);
  });

  it('days are 23 or 25 hours long on DST change days', () => {
    const calendar = new PeriodCalendar('day', 'Europe/Berlin', 1);
    const spring = calendar.periodAt(ms('2026-03-29T12:00:00Z'));
    assert.equal((spring.endMs - spring.startMs) / 3_600_000, 23);
    const autumn = calendar.periodAt(ms('2026-10-25T12:00:00Z'));
    assert.equal((autumn.endMs - autumn.startMs) / 3_600_000, 25);
  });

  it('a skipped midnight starts the day at the transition (America/Santiago)', () => {
    // Chile moves from UTC−4 to UTC−3 at local midnight of 2026-09-06: 00:00 does not exist.
    assert.equal(
      iso(instantOfLocal('America/Santiago', ms('2026-09-06T00:00:00Z'))),
      '2026-09-06T04:00:00.000Z',
    );
    const day = new PeriodCalendar('day', 'America/Santiago', 1).periodAt(ms('2026-09-06T12:00:00Z'));
    assert.equal(iso(day.startMs), '2026-09-06T04:00:00.000Z');
    assert.equal((day.endMs - day.startMs) / 3_600_000, 23);
  });

  it('weeks start on Monday and years on the bill cycle day of January', () => {
    const week = new PeriodCalendar('week', 'Europe/Berlin', 1).periodAt(ms('2026-03-12T12:00:00Z'));
    assert.equal(iso(week.startMs), '2026-03-08T23:00:00.000Z'); // Monday 2026-03-09 00:00 local
    const year = new PeriodCalendar('year', 'UTC', 15).periodAt(ms('2026-01-10T00:00:00Z'));
    assert.equal(year.index, 2025);
    assert.equal(iso(year.startMs), '2025-01-15T00:00:00.000Z');
  });

  it('every instant is in exactly one period, and consecutive periods meet', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          'Europe/Berlin',
          'America/New_York',
          'Australia/Lord_Howe',
          'America/Santiago',
          'Asia/Kolkata',
        ),
        fc.constantFrom('day', 'week', 'month', 'year' as const),
        fc.integer({ min: 1, max: 28 }),
        fc.integer({ min: ms('2000-01-01T00:00:00Z'), max: ms('2040-01-01T00:00:00Z') }),
        (zone, unit, day, t) => {
          const calendar = new PeriodCalendar(unit, zone, day);
          const period = calendar.periodAt(t);
          assert.ok(period.startMs <= t && t < period.endMs);
          assert.equal(calendar.endOf(period.index - 1), period.startMs);
          assert.equal(calendar.indexAt(period.endMs), period.index + 1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
