/**
 * Allowance and tier periods: numbered calendar periods in the account's IANA time zone, anchored
 * at the account's bill cycle day.
 *
 * Every period is a half-open range of instants [start, next start) and has an integer index, so
 * "the previous period" is index − 1 and rollover can count periods by subtraction:
 *
 * - month: from local midnight of the bill cycle day (1 to 28) to local midnight of the same day
 *   of the next month. Index = year × 12 + month − 1 of the month the period starts in
 *   (bill cycle day 15: 2026-03-15T00:00 local to 2026-04-15T00:00 local is index 2026 × 12 + 2).
 * - day: local midnight to the next local midnight (23, 24 or 25 hours across DST). Index = the
 *   local day number (days since 1970-01-01).
 * - week: Monday local midnight to the next Monday local midnight (ISO weeks; the bill cycle day
 *   does not apply). Index = floor((localDay + 3) / 7): day 0, 1970-01-01, was a Thursday, so
 *   the Monday 1970-01-05 (day 4) starts week 1.
 * - year: from local midnight of the bill cycle day of January to the same day of the next
 *   January. Index = the year it starts in.
 *
 * Local midnight is turned into an instant exactly, with the zone's offsets from the runtime's
 * time zone database (Intl): the period starts at the first instant whose local wall time is the
 * period's local midnight. When that midnight happens twice (a zone that falls back at 01:00 to
 * 00:00), the first one counts; when it does not happen at all (a zone that springs forward at
 * midnight, e.g. America/Santiago), the period starts at the transition, the first instant whose
 * local time is after midnight. So consecutive periods always meet: no instant is in two periods
 * or in none.
 *
 * Converting an instant to its period needs the zone's offset, which Intl gives in microseconds;
 * a calendar remembers the last few periods it found, so consecutive events of the same period
 * cost two comparisons. The cache changes no result, only how fast it is found.
 */
import type { PeriodUnit } from '../catalog/index.js';

const MS_PER_SECOND = 1000;
const MS_PER_DAY = 86_400_000;
const CACHE_ENTRIES = 4;
const START_MEMO_ENTRIES = 4096;

/** One period: its index and its instants [startMs, endMs). */
export interface Period {
  readonly index: number;
  readonly startMs: number;
  readonly endMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** True when the runtime knows the IANA zone. */
export function isKnownTimeZone(name: string): boolean {
  if (typeof name !== 'string' || name === '') return false;
  try {
    formatterOf(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The zone's offset from UTC at `ms` (local = UTC + offset): format the instant as local wall time,
 * read it back as if it were UTC, subtract. Intl shows whole seconds, so the instant is truncated
 * to its second first (offsets change on whole seconds).
 */
export function zoneOffsetMs(timeZone: string, ms: number): number {
  const second = Math.floor(ms / MS_PER_SECOND) * MS_PER_SECOND;
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let sec = 0;
  for (const part of formatterOf(timeZone).formatToParts(second)) {
    if (part.type === 'year') year = Number(part.value);
    else if (part.type === 'month') month = Number(part.value);
    else if (part.type === 'day') day = Number(part.value);
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
    else if (part.type === 'second') sec = Number(part.value);
  }
  const wall = Date.UTC(year, month - 1, day, hour, minute, sec);
  // Date.UTC maps years 0-99 to 1900-1999; usage instants are far from them.
  return wall - second;
}

/**
 * The first instant whose local wall time (in `timeZone`) is at or after `wallMs` (a local time
 * written as if it were UTC). See the module comment for repeated and skipped local times.
 */
export function instantOfLocal(timeZone: string, wallMs: number): number {
  // A transition is at least days away from any other in every real zone, so the offsets a day
  // before and a day after are the two offsets that can apply around wallMs.
  const before = zoneOffsetMs(timeZone, wallMs - MS_PER_DAY);
  const after = zoneOffsetMs(timeZone, wallMs + MS_PER_DAY);
  let best = Number.POSITIVE_INFINITY;
  for (const offset of [before, after]) {
    const candidate = wallMs - offset;
    if (candidate + zoneOffsetMs(timeZone, candidate) === wallMs && candidate < best) best = candidate;
  }
  if (best !== Number.POSITIVE_INFINITY) return best;
  // A skipped local time: wallMs − larger offset is before the transition (its local time is
  // earlier than wallMs), wallMs − smaller offset is after it. Bisect to the millisecond for the
  // first instant whose local time is at or after wallMs: the transition.
  let low = wallMs - Math.max(before, after);
  let high = wallMs - Math.min(before, after);
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (mid + zoneOffsetMs(timeZone, mid) >= wallMs) high = mid;
    else low = mid;
  }
  return high;
}

/**
 * The periods of one unit in one zone with one bill cycle day. Calendars are shared (see
 * `periodCalendar`) and remember recent periods; they are otherwise pure.
 */
export class PeriodCalendar {
  readonly unit: PeriodUnit;
  readonly timeZone: string;
  readonly billCycleDay: number;
  private readonly cacheIndex = new Float64Array(CACHE_ENTRIES).fill(Number.NaN);
  private readonly cacheStart = new Float64Array(CACHE_ENTRIES);
  private readonly cacheEnd = new Float64Array(CACHE_ENTRIES);
  private cacheNext = 0;
  private readonly starts = new Map<number, number>();
  /** The start of the period the last indexAt found (read it right after indexAt). */
  lastStartMs = 0;

  constructor(unit: PeriodUnit, timeZone: string, billCycleDay: number) {
    this.unit = unit;
    this.timeZone = timeZone;
    this.billCycleDay = billCycleDay;
  }

  /** The index of the period that contains instant `ms`. */
  indexAt(ms: number): number {
    const start = this.cacheStart;
    const end = this.cacheEnd;
    for (let i = 0; i < CACHE_ENTRIES; i++) {
      const from = start[i] as number;
      if (ms >= from && ms < (end[i] as number)) {
        this.lastStartMs = from;
        return this.cacheIndex[i] as number;
      }
    }
    const index = this.find(ms);
    this.lastStartMs = this.startOf(index);
    return index;
  }

  /** The start of the period that contains `ms`; call right after indexAt (it is then cached). */
  startAt(ms: number): number {
    const start = this.cacheStart;
    const end = this.cacheEnd;
    for (let i = 0; i < CACHE_ENTRIES; i++) {
      if (ms >= (start[i] as number) && ms < (end[i] as number)) return start[i] as number;
    }
    return this.startOf(this.find(ms));
  }

  periodAt(ms: number): Period {
    const index = this.indexAt(ms);
    return { index, startMs: this.startOf(index), endMs: this.startOf(index + 1) };
  }

  /**
   * The first instant of period `index`. Finding it takes Intl calls (microseconds), and opening a
   * counter asks for its period's end, so starts are remembered (a few thousand per calendar).
   */
  startOf(index: number): number {
    for (let i = 0; i < CACHE_ENTRIES; i++) {
      if (this.cacheIndex[i] === index) return this.cacheStart[i] as number;
      if (this.cacheIndex[i] === index - 1) return this.cacheEnd[i] as number;
    }
    let start = this.starts.get(index);
    if (start === undefined) {
      start = instantOfLocal(this.timeZone, this.localStartDay(index) * MS_PER_DAY);
      if (this.starts.size >= START_MEMO_ENTRIES) this.starts.clear();
      this.starts.set(index, start);
    }
    return start;
  }

  endOf(index: number): number {
    return this.startOf(index + 1);
  }

  /** The local day number on which period `index` starts. */
  private localStartDay(index: number): number {
    switch (this.unit) {
      case 'day':
        return index;
      case 'week':
        return index * 7 - 3;
      case 'month': {
        const year = Math.floor(index / 12);
        return Date.UTC(year, index - year * 12, this.billCycleDay) / MS_PER_DAY;
      }
      case 'year':
        return Date.UTC(index, 0, this.billCycleDay) / MS_PER_DAY;
    }
  }

  /** The period index from the local date of `ms`, then its bounds, remembered. */
  private find(ms: number): number {
    const localDay = Math.floor((ms + zoneOffsetMs(this.timeZone, ms)) / MS_PER_DAY);
    let index: number;
    switch (this.unit) {
      case 'day':
        index = localDay;
        break;
      case 'week':
        index = Math.floor((localDay + 3) / 7);
        break;
      case 'month': {
        const date = new Date(localDay * MS_PER_DAY);
        index = date.getUTCFullYear() * 12 + date.getUTCMonth();
        if (date.getUTCDate() < this.billCycleDay) index -= 1;
        break;
      }
      case 'year': {
        const date = new Date(localDay * MS_PER_DAY);
        index = date.getUTCFullYear();
        if (date.getUTCMonth() === 0 && date.getUTCDate() < this.billCycleDay) index -= 1;
        break;
      }
    }
    // The local date can sit in a period whose start instant is later than ms only inside a
    // skipped midnight, which cannot contain an instant; but a repeated hour can put ms before
    // the first occurrence of its own period's midnight, so check the bounds and step.
    let startMs = instantOfLocal(this.timeZone, this.localStartDay(index) * MS_PER_DAY);
    if (ms < startMs) {
      index -= 1;
      startMs = instantOfLocal(this.timeZone, this.localStartDay(index) * MS_PER_DAY);
    }
    const endMs = instantOfLocal(this.timeZone, this.localStartDay(index + 1) * MS_PER_DAY);
    const slot = this.cacheNext;
    this.cacheNext = (slot + 1) % CACHE_ENTRIES;
    this.cacheIndex[slot] = index;
    this.cacheStart[slot] = startMs;
    this.cacheEnd[slot] = endMs;
    return index;
  }
}

const calendars = new Map<string, PeriodCalendar>();

/** The shared calendar of a unit, zone and bill cycle day (one object per combination). */
export function periodCalendar(unit: PeriodUnit, timeZone: string, billCycleDay: number): PeriodCalendar {
  const key = `${unit}\u0000${timeZone}\u0000${billCycleDay}`;
  let calendar = calendars.get(key);
  if (calendar === undefined) {
    calendar = new PeriodCalendar(unit, timeZone, billCycleDay);
    calendars.set(key, calendar);
  }
  return calendar;
}
