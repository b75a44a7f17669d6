/**
 * Local calendar arithmetic for time bands: wall-clock times and dates in a tariff's IANA time
 * zone, computed from UTC instants.
 *
 * Instants (milliseconds since the Unix epoch, UTC) are the only input: they always exist and are
 * never ambiguous. Local wall-clock time is derived from them with the zone's UTC offset, which
 * the runtime's time zone database (Intl.DateTimeFormat) provides. A local time such as 02:30 on
 * the spring-forward day in Europe/Berlin names no instant at all; it is never an input here, so
 * there is nothing to resolve. In autumn 02:30 happens twice, at two different instants, and each
 * is given the band of 02:30.
 *
 * Local days are counted like Unix days: local day n starts at local midnight of 1970-01-01 + n
 * days. localDay = floor((utcMs + offsetMs) / 86 400 000). Day 0 (1970-01-01) was a Thursday, so
 * with Monday = 0 the weekday of day n is (n + 3) mod 7.
 */

export const MS_PER_SECOND = 1000;
export const MS_PER_MINUTE = 60_000;
export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;
export const MINUTES_PER_DAY = 1440;
export const MINUTES_PER_WEEK = 10_080;

/**
 * The instants a tariff can charge: 1900-01-01T00:00:00Z to 2199-12-31T23:59:59.999Z. A start
 * outside is a corrupt record, not a call; the bound also keeps hour numbers in an Int32Array.
 */
export const MIN_INSTANT_MS = -2_208_988_800_000;
export const MAX_INSTANT_MS = 7_258_118_399_999;

/** Minutes since midnight of "HH:MM" (24-hour); "24:00" only when `allowEndOfDay`. */
export function parseClock(text: unknown, allowEndOfDay: boolean): number | undefined {
  if (typeof text !== 'string' || !/^[0-9]{2}:[0-9]{2}$/.test(text)) return undefined;
  const hours = (text.charCodeAt(0) - 48) * 10 + (text.charCodeAt(1) - 48);
  const minutes = (text.charCodeAt(3) - 48) * 10 + (text.charCodeAt(4) - 48);
  if (minutes > 59) return undefined;
  if (hours === 24 && minutes === 0 && allowEndOfDay) return MINUTES_PER_DAY;
  if (hours > 23) return undefined;
  return hours * 60 + minutes;
}

/** Day number (days since 1970-01-01) of a real calendar date "YYYY-MM-DD", or undefined. */
export function parseLocalDate(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(text);
  if (match === null) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const ms = Date.UTC(year, month - 1, day);
  // Date.UTC rolls 2026-02-30 over to 2026-03-02; a date that does not survive the round trip is not real.
  const check = new Date(ms);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return undefined;
  }
  return ms / MS_PER_DAY;
}

/** "YYYY-MM-DD" of a day number. */
export function formatLocalDate(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/**
 * Monday = 0 ... Sunday = 6 of a local day number (day 0, 1970-01-01, was a Thursday = 3):
 * (day + 3) mod 7, never negative. Written with Math.floor rather than `%`: a day number comes
 * out of Math.floor as a double, and `%` of doubles is a call into the C library's fmod in V8
 * (tens of nanoseconds, twice per band lookup), while floor, × and − are single instructions.
 * The quotient is exact: |day + 3| < 2^31, far too small for the division to round across a
 * whole number. Day −1 (1969-12-31): 2 − floor(2 / 7) × 7 = 2, a Wednesday.
 */
export function weekdayOf(day: number): number {
  const shifted = day + 3;
  return shifted - Math.floor(shifted / 7) * 7;
}

/** True when the runtime knows the IANA time zone `name` (Intl.DateTimeFormat throws otherwise). */
export function isTimeZone(name: unknown): boolean {
  if (typeof name !== 'string' || name === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** "Mon 08:00" for messages: a minute of the week (Monday 00:00 = 0). */
export function describeMinuteOfWeek(minuteOfWeek: number): string {
  const names = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const day = Math.floor(minuteOfWeek / MINUTES_PER_DAY);
  const minute = minuteOfWeek - day * MINUTES_PER_DAY;
  return `${names[day] ?? '?'} ${formatClock(minute)}`;
}

export function formatClock(minuteOfDay: number): string {
  const h = Math.floor(minuteOfDay / 60);
  const m = minuteOfDay - h * 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

/**
 * The minutes of the week a window covers, as half-open ranges [start, end) of minute-of-week,
 * Monday 00:00 = 0. `days` are weekday indexes (Monday = 0). A window whose end is not after its
 * start crosses midnight: Friday (4) 22:00-06:00 is [4·1440 + 1320, 5·1440) and [5·1440, 5·1440 + 360),
 * i.e. [7080, 7200) and [7200, 7560); Sunday's crosses into Monday, at the start of the week.
 */
export function windowRanges(
  days: readonly number[],
  fromMinute: number,
  toMinute: number,
): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const day of days) {
    const base = day * MINUTES_PER_DAY;
    if (toMinute > fromMinute) {
      ranges.push([base + fromMinute, base + toMinute]);
    } else {
      ranges.push([base + fromMinute, base + MINUTES_PER_DAY]);
      const nextBase = ((day + 1) % 7) * MINUTES_PER_DAY;
      if (toMinute > 0) ranges.push([nextBase, nextBase + toMinute]);
    }
  }
  return ranges;
}

const CACHE_BITS = 14;
const CACHE_SIZE = 1 << CACHE_BITS; // 16384 hours, about 22 months of distinct hours
const CACHE_MASK = CACHE_SIZE - 1;
const NO_HOUR = -0x80000000;

/**
 * UTC offsets of one time zone, cached per UTC hour.
 *
 * Intl.DateTimeFormat takes microseconds per call, far too slow to run for every call record, but
 * an offset only changes at a transition, a few times a year. So the cache keeps, per UTC hour,
 * the offset at the start of the hour and, when a transition falls inside that hour, the instant
 * of the transition and the offset after it (found by bisection to the second, once). Transitions
 * are not always on a UTC hour boundary (Australia/Lord_Howe switches at 15:30 UTC), which is why
 * the instant is kept rather than assumed. The cache is direct-mapped: hour h lives in slot
 * h mod 16384 and a different hour in that slot is simply recomputed.
 *
 * The cache is an implementation detail of a compiled tariff: it changes no result, only how fast
 * it is found, so a compiled tariff still behaves as a pure value.
 */
export class OffsetCache {
  readonly timeZone: string;
  private readonly formatter: Intl.DateTimeFormat;
  private readonly hourOf = new Int32Array(CACHE_SIZE).fill(NO_HOUR);
  private readonly offsetBefore = new Int32Array(CACHE_SIZE);
  private readonly offsetAfter = new Int32Array(CACHE_SIZE);
  private readonly switchAtMs = new Float64Array(CACHE_SIZE);

  constructor(timeZone: string) {
    this.timeZone = timeZone;
    this.formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The zone's offset from UTC in milliseconds at instant `ms` (local = UTC + offset). */
  offsetMs(ms: number): number {
    const hour = Math.floor(ms / MS_PER_HOUR);
    const slot = hour & CACHE_MASK;
    if (this.hourOf[slot] !== hour) this.fill(slot, hour);
    return ms < (this.switchAtMs[slot] as number)
      ? (this.offsetBefore[slot] as number)
      : (this.offsetAfter[slot] as number);
  }

  /**
   * The first instant after `ms` and no later than the end of its UTC hour at which the offset may
   * differ from the one at `ms`: the transition inside the hour when there is one after `ms`, else
   * the start of the next hour. Split charging cuts a call there so every piece has one offset.
   */
  nextCheckMs(ms: number): number {
    const hour = Math.floor(ms / MS_PER_HOUR);
    const slot = hour & CACHE_MASK;
    if (this.hourOf[slot] !== hour) this.fill(slot, hour);
    const switchAt = this.switchAtMs[slot] as number;
    return switchAt > ms && switchAt !== Infinity ? switchAt : (hour + 1) * MS_PER_HOUR;
  }

  private fill(slot: number, hour: number): void {
    const startMs = hour * MS_PER_HOUR;
    const before = this.exactOffsetMs(startMs);
    const after = this.exactOffsetMs(startMs + MS_PER_HOUR - MS_PER_SECOND);
    this.hourOf[slot] = hour;
    this.offsetBefore[slot] = before;
    this.offsetAfter[slot] = after;
    if (before === after) {
      this.switchAtMs[slot] = Infinity;
      return;
    }
    // Bisection over the 3600 seconds of the hour: `low` has the old offset, `high` the new one.
    // Twelve steps (2^12 = 4096 > 3600) find the first second with the new offset.
    let low = 0;
    let high = 3599;
    while (high - low > 1) {
      const mid = (low + high) >> 1;
      if (this.exactOffsetMs(startMs + mid * MS_PER_SECOND) === before) low = mid;
      else high = mid;
    }
    this.switchAtMs[slot] = startMs + high * MS_PER_SECOND;
  }

  /**
   * The offset at `ms` straight from Intl: format the instant as local wall time, read that wall
   * time back as if it were UTC, and subtract. Intl shows whole seconds, so the instant is first
   * truncated to its second: 2026-03-29T01:00:00.000Z formats as 03:00:00 in Berlin, read back as
   * 03:00:00Z, minus 01:00:00Z = +2 h = 7 200 000 ms.
   */
  private exactOffsetMs(ms: number): number {
    const second = Math.floor(ms / MS_PER_SECOND) * MS_PER_SECOND;
    let year = 0;
    let month = 0;
    let day = 0;
    let hour = 0;
    let minute = 0;
    let sec = 0;
    for (const part of this.formatter.formatToParts(second)) {
      switch (part.type) {
        case 'year':
          year = Number(part.value);
          break;
        case 'month':
          month = Number(part.value);
          break;
        case 'day':
          day = Number(part.value);
          break;
        case 'hour':
          hour = Number(part.value);
          break;
        case 'minute':
          minute = Number(part.value);
          break;
        case 'second':
          sec = Number(part.value);
          break;
        default:
          break;
      }
    }
    const wall = Date.UTC(year, month - 1, day, hour, minute, sec);
    // Date.UTC maps years 0-99 to 1900-1999; instants are bounded to 1900-2199, where that never bites.
    return wall - second;
  }
}
