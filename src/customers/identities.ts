/**
 * Service identities (pure): the names the network knows a subscription by, how each type is
 * written in canonical form, and the time-range rule that keeps one identity on at most one
 * subscription at any instant.
 *
 * Canonical forms (what is stored and compared; `displayIdentity` gives the human form):
 * - `msisdn`: E.164 digits without the plus, 7 to 15 digits, no leading 0. Accepts `+44 7700
 *   900123`, `0044 7700 900123`, `(+44) 7700-900.123` and bare international digits. National
 *   forms (`07700 900123`) are refused: without a country code the number is ambiguous.
 * - `imsi`: exactly 15 digits (MCC + MNC + MSIN).
 * - `iccid`: 19 or 20 digits starting with the telecom prefix 89, whose last digit is the Luhn
 *   check digit of the others (ITU-T E.118). Spaces and dashes are ignored.
 * - `sip-uri`: `sip:` or `sips:` address of record `user@host[:port]`; scheme and host are
 *   lower-cased (they are case-insensitive), the user part is kept as written (it is not), and
 *   URI parameters and headers are dropped (`;user=phone`, `?subject=x`): they do not name a
 *   different subscriber.
 * - `nai`: RFC 7542 network access identifier `username[@realm]`; the realm is lower-cased.
 * - `line-id`: a line or circuit id (DSL/FTTH line, DHCP option 82 circuit id) kept as written,
 *   trimmed, with runs of white space reduced to one space.
 * - `device-id`: an IoT device id (IMEI, DevEUI, serial) kept as written, trimmed, no spaces.
 *
 * Time ranges are half-open, [from, to), `to` undefined meaning open-ended. Two ranges overlap
 * when each starts before the other ends. An empty range [t, t) (an assignment cancelled before
 * it began) overlaps nothing and contains no instant.
 */
import type { Instant } from '../kernel/clock.js';
import { fail } from '../kernel/errors.js';
import { CustomersErrors } from './errors.js';

export const IDENTITY_TYPES = ['msisdn', 'imsi', 'iccid', 'sip-uri', 'nai', 'line-id', 'device-id'] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];

export function isIdentityType(value: unknown): value is IdentityType {
  return typeof value === 'string' && (IDENTITY_TYPES as readonly string[]).includes(value);
}

/** What a user would call the type in a message. */
export const IDENTITY_LABELS: Readonly<Record<IdentityType, string>> = {
  msisdn: 'MSISDN',
  imsi: 'IMSI',
  iccid: 'ICCID',
  'sip-uri': 'SIP URI',
  nai: 'NAI',
  'line-id': 'line id',
  'device-id': 'device id',
};

const MAX_IDENTITY_LENGTH = 256;

/** The outcome of normalising: the canonical value, or why the input is not one. */
export type Normalised = { ok: true; value: string } | { ok: false; reason: string };

/** True when `digits` passes the Luhn (mod 10) check, its last digit being the check digit. */
export function luhnValid(digits: string): boolean {
  if (!/^\d{2,}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** The Luhn check digit to append to `digits`. */
export function luhnCheckDigit(digits: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(`${digits}${d}`)) return String(d);
  throw new RangeError(`no Luhn check digit for ${digits}`);
}

function normaliseMsisdn(raw: string): Normalised {
  const compact = raw.replace(/[\s\-.()/]/g, '');
  let digits: string;
  if (compact.startsWith('+')) digits = compact.slice(1);
  else if (compact.startsWith('00')) digits = compact.slice(2);
  else if (compact.startsWith('0'))
    return {
      ok: false,
      reason: 'is a national number; write it in international form, e.g. +44 7700 900123',
    };
  else digits = compact;
  if (!/^\d+$/.test(digits)) return { ok: false, reason: 'must hold digits only, after an optional + or 00' };
  if (digits.startsWith('0'))
    return { ok: false, reason: 'has no country code (it starts with 0 after the +)' };
  if (digits.length < 7 || digits.length > 15)
    return { ok: false, reason: `has ${digits.length} digits; an E.164 number has 7 to 15` };
  return { ok: true, value: digits };
}

function normaliseImsi(raw: string): Normalised {
  const digits = raw.replace(/\s/g, '');
  if (!/^\d+$/.test(digits)) return { ok: false, reason: 'must hold digits only' };
  if (digits.length !== 15) return { ok: false, reason: `has ${digits.length} digits; an IMSI has 15` };
  return { ok: true, value: digits };
}

function normaliseIccid(raw: string): Normalised {
  const digits = raw.replace(/[\s-]/g, '');
  if (!/^\d+$/.test(digits)) return { ok: false, reason: 'must hold digits only' };
  if (digits.length < 19 || digits.length > 20)
    return { ok: false, reason: `has ${digits.length} digits; an ICCID has 19 or 20` };
  if (!digits.startsWith('89'))
    return { ok: false, reason: 'must start with 89, the telecom industry prefix' };
  if (!luhnValid(digits)) return { ok: false, reason: 'fails its Luhn check digit (a digit is mistyped)' };
  return { ok: true, value: digits };
}

const HOST_PATTERN =
  /^(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/;

function normaliseSipUri(raw: string): Normalised {
  const text = raw.trim();
  const match = /^(sips?):([^@;?\s]+)@([^;?\s]+?)(?::(\d{1,5}))?(?:[;?].*)?$/i.exec(text);
  if (!match) return { ok: false, reason: 'must read sip:user@host or sips:user@host' };
  const scheme = match[1]!.toLowerCase();
  const user = match[2]!;
  const host = match[3]!.toLowerCase();
  const port = match[4];
  if (!HOST_PATTERN.test(host)) return { ok: false, reason: `has an invalid host "${host}"` };
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    return { ok: false, reason: `has an invalid port ${port}` };
  return { ok: true, value: `${scheme}:${user}@${host}${port !== undefined ? `:${port}` : ''}` };
}

function normaliseNai(raw: string): Normalised {
  const text = raw.trim();
  if (/\s/.test(text)) return { ok: false, reason: 'must not contain white space' };
  const at = text.lastIndexOf('@');
  const username = at < 0 ? text : text.slice(0, at);
  const realm = at < 0 ? undefined : text.slice(at + 1).toLowerCase();
  if (username === '') return { ok: false, reason: 'needs a username before the @' };
  if (realm !== undefined && !HOST_PATTERN.test(realm))
    return { ok: false, reason: `has an invalid realm "${realm}"` };
  if (new TextEncoder().encode(text).length > 253) return { ok: false, reason: 'is longer than 253 bytes' };
  return { ok: true, value: realm === undefined ? username : `${username}@${realm}` };
}

function normaliseLineId(raw: string): Normalised {
  const text = raw.trim().replace(/\s+/g, ' ');
  if (text === '') return { ok: false, reason: 'is empty' };
  if (text.length > 100) return { ok: false, reason: 'is longer than 100 characters' };
  return { ok: true, value: text };
}

function normaliseDeviceId(raw: string): Normalised {
  const text = raw.trim();
  if (text === '') return { ok: false, reason: 'is empty' };
  if (/\s/.test(text)) return { ok: false, reason: 'must not contain white space' };
  if (text.length > 128) return { ok: false, reason: 'is longer than 128 characters' };
  return { ok: true, value: text };
}

const NORMALISERS: Readonly<Record<IdentityType, (raw: string) => Normalised>> = {
  msisdn: normaliseMsisdn,
  imsi: normaliseImsi,
  iccid: normaliseIccid,
  'sip-uri': normaliseSipUri,
  nai: normaliseNai,
  'line-id': normaliseLineId,
  'device-id': normaliseDeviceId,
};

/** Normalises `raw` as an identity of `type`; never throws. */
export function tryNormaliseIdentity(type: IdentityType, raw: string): Normalised {
  if (typeof raw !== 'string') return { ok: false, reason: 'must be a text' };
  if (raw.length > MAX_IDENTITY_LENGTH)
    return { ok: false, reason: `is longer than ${MAX_IDENTITY_LENGTH} characters` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) return { ok: false, reason: 'must not contain control characters' };
  return NORMALISERS[type](raw);
}

/** Normalises `raw` as an identity of `type`, or throws `customers.invalid_identity` naming `field`. */
export function normaliseIdentity(
  type: string,
  raw: string,
  field = 'value',
): { type: IdentityType; value: string } {
  if (!isIdentityType(type)) {
    throw fail(
      CustomersErrors.invalid_identity,
      `"${String(type)}" is not a service identity type; use one of ${IDENTITY_TYPES.join(', ')}`,
      { field: field === 'value' ? 'type' : field },
    );
  }
  const result = tryNormaliseIdentity(type, raw);
  if (!result.ok) {
    const shown =
      typeof raw === 'string' ? JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw) : '';
    throw fail(CustomersErrors.invalid_identity, `${IDENTITY_LABELS[type]} ${shown} ${result.reason}`, {
      field,
    });
  }
  return { type, value: result.value };
}

/** The human form of a canonical value: an MSISDN gets its plus back. */
export function displayIdentity(type: IdentityType, value: string): string {
  return type === 'msisdn' ? `+${value}` : value;
}

/** "MSISDN +447700900123", for messages. */
export function describeIdentity(type: IdentityType, value: string): string {
  return `${IDENTITY_LABELS[type]} ${displayIdentity(type, value)}`;
}

// ---------------------------------------------------------------------------------------------
// Time ranges

export interface TimeRange {
  readonly from: Instant;
  /** Exclusive end; undefined means open-ended. */
  readonly to?: Instant | undefined;
}

export function isEmptyRange(range: TimeRange): boolean {
  return range.to !== undefined && range.to <= range.from;
}

/** True when the half-open ranges share at least one instant. */
export function rangesOverlap(a: TimeRange, b: TimeRange): boolean {
  if (isEmptyRange(a) || isEmptyRange(b)) return false;
  const aStartsBeforeBEnds = b.to === undefined || a.from < b.to;
  const bStartsBeforeAEnds = a.to === undefined || b.from < a.to;
  return aStartsBeforeBEnds && bStartsBeforeAEnds;
}

/** True when `instant` is inside the half-open range. */
export function rangeContains(range: TimeRange, instant: Instant): boolean {
  return range.from <= instant && (range.to === undefined || instant < range.to);
}

/** The first of `existing` that overlaps `candidate`, if any: the reason it may not be added. */
export function findOverlap<T extends TimeRange>(
  existing: readonly T[],
  candidate: TimeRange,
): T | undefined {
  return existing.find((range) => rangesOverlap(range, candidate));
}

/**
 * The most of `existing` in force at one instant inside `candidate`: how many a new range over
 * `candidate` would stand beside at its busiest. Two packs [Jan, Feb) and [Feb, Mar) never meet,
 * so a candidate [Jan, Mar) meets at most 1 of them at a time.
 */
export function peakOverlap(existing: readonly TimeRange[], candidate: TimeRange): number {
  // Each overlapping range, clipped to the candidate, starts (+1) and ends (-1); at one instant
  // ends come first, since the ranges are half-open.
  const steps: Array<{ at: Instant; step: 1 | -1 }> = [];
  for (const range of existing) {
    if (!rangesOverlap(range, candidate)) continue;
    steps.push({ at: range.from > candidate.from ? range.from : candidate.from, step: 1 });
    const end =
      range.to === undefined
        ? candidate.to
        : candidate.to === undefined
          ? range.to
          : range.to < candidate.to
            ? range.to
            : candidate.to;
    if (end !== undefined) steps.push({ at: end, step: -1 });
  }
  steps.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.step - b.step));
  let inForce = 0;
  let peak = 0;
  for (const { step } of steps) {
    inForce += step;
    if (inForce > peak) peak = inForce;
  }
  return peak;
}

/** The ranges that contain `instant`; under the overlap rule there is at most one. */
export function rangesAt<T extends TimeRange>(ranges: readonly T[], instant: Instant): T[] {
  return ranges.filter((range) => rangeContains(range, instant));
}

/**
 * The range that results from ending `range` at `at`: `at` must lie inside the range or at its
 * start (ending at the start cancels it, leaving an empty range). Returns undefined when `at` is
 * outside, i.e. the range was not in force then.
 */
export function endRangeAt<T extends TimeRange>(range: T, at: Instant): (T & { to: Instant }) | undefined {
  if (at < range.from) return undefined;
  if (range.to !== undefined && at >= range.to) return undefined;
  return { ...range, to: at };
}

/** "from 2026-01-01T00:00:00.000Z (open-ended)" / "from ... until ...", for messages. */
export function describeRange(range: TimeRange): string {
  return range.to === undefined ? `from ${range.from} (open-ended)` : `from ${range.from} until ${range.to}`;
}
