/**
 * Time is read in one place. Production code receives a Clock; tests pass a FakeClock and move it.
 * Instants are UTC and stored as fixed-width ISO-8601 strings with millisecond precision
 * (`2026-11-25T18:30:00.000Z`), which sort the same as the instants they name on every database.
 */

export interface Clock {
  /** Milliseconds since the Unix epoch, UTC. */
  nowMs(): number;
  /** The current instant as a stored timestamp (ISO-8601 UTC, millisecond precision). */
  now(): Instant;
}

/** An instant as stored: ISO-8601 UTC with milliseconds, e.g. `2026-11-25T18:30:00.000Z`. */
export type Instant = string;

const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function instantFromMs(ms: number): Instant {
  return new Date(ms).toISOString();
}

const DAY_MS = 86_400_000;

/**
 * instantFromMs for hot paths, the same text for years 0000 to 9999 without a Date object: the date
 * part is cached per day and the time of day is computed from the milliseconds in the day.
 */
export class InstantFormatter {
  private day = Number.NaN;
  private prefix = '';
  private lastMs = Number.NaN;
  private last: Instant = '';
  format(ms: number): Instant {
    // Callers format instants in time order, many in the same millisecond (a switch's records, a
    // group of online reports): the last one is often the next one.
    if (ms === this.lastMs) return this.last;
    this.lastMs = ms;
    this.last = this.formatNew(ms);
    return this.last;
  }

  private formatNew(ms: number): Instant {
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.prefix = instantFromMs(day * DAY_MS).slice(0, 11);
    }
    let rest = ms - day * DAY_MS;
    const hours = Math.floor(rest / 3_600_000);
    rest -= hours * 3_600_000;
    const minutes = Math.floor(rest / 60_000);
    rest -= minutes * 60_000;
    const seconds = Math.floor(rest / 1000);
    const millis = rest - seconds * 1000;
    return `${this.prefix}${two(hours)}:${two(minutes)}:${two(seconds)}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
  }
}

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

export function msFromInstant(instant: Instant): number {
  return Date.parse(instant);
}

export function isInstant(value: string): boolean {
  return INSTANT_PATTERN.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * Parses an RFC 3339 date-time with any offset into the stored form. Returns undefined when the
 * text is not a valid date-time, so callers can name the field in their error.
 */
export function parseInstant(text: string): Instant | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(text))
    return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return undefined;
  return instantFromMs(ms);
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  now: () => new Date(Date.now()).toISOString(),
};

/** A clock that stands still until told to move; for tests and simulations. */
export class FakeClock implements Clock {
  private currentMs: number;
  constructor(start: Instant | number = '2026-01-01T00:00:00.000Z') {
    this.currentMs = typeof start === 'number' ? start : Date.parse(start);
  }
  nowMs(): number {
    return this.currentMs;
  }
  now(): Instant {
    return instantFromMs(this.currentMs);
  }
  advanceMs(deltaMs: number): void {
    if (deltaMs < 0) throw new RangeError('a fake clock only moves forward');
    this.currentMs += deltaMs;
  }
  set(instant: Instant | number): void {
    this.currentMs = typeof instant === 'number' ? instant : Date.parse(instant);
  }
}
