/**
 * Identifiers: a short type prefix and a 26-character Crockford base32 body (48 bits of
 * milliseconds, then 80 bits: random for a process's first id of a millisecond, counted up by one
 * for its next ids of that millisecond), so ids sort by creation time, say what they name
 * (`acct_01J...`), and cannot be guessed from ids of other milliseconds. Ids made in the same
 * millisecond follow each other: nothing may rely on an id being secret.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const PREFIX_PATTERN = /^[a-z][a-z0-9]{1,11}$/;
const BODY_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

let lastMs = -1;
let lastRandom = new Uint8Array(10);

function encodeTime(ms: number): string {
  let out = '';
  let value = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits -> 16 base32 characters, 5 bits at a time from the most significant end.
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

/**
 * A new id. Within one millisecond the random part is incremented instead of redrawn, so ids
 * made by one process are strictly increasing (monotonic ULID).
 */
export function newId(prefix: string, clock: Clock): string {
  if (!PREFIX_PATTERN.test(prefix)) throw new RangeError(`invalid id prefix "${prefix}"`);
  const ms = clock.nowMs();
  if (ms === lastMs) {
    const next = new Uint8Array(lastRandom);
    for (let i = next.length - 1; i >= 0; i--) {
      next[i] = (next[i]! + 1) & 0xff;
      if (next[i] !== 0) break;
    }
    lastRandom = next;
  } else {
    lastMs = ms;
    lastRandom = new Uint8Array(randomBytes(10));
  }
  return `${prefix}_${encodeTime(ms)}${encodeRandom(lastRandom)}`;
}

/** True when `value` is an id with the given prefix (or any prefix when none is given). */
export function isId(value: string, prefix?: string): boolean {
  const at = value.indexOf('_');
  if (at < 0) return false;
  const head = value.slice(0, at);
  if (prefix !== undefined ? head !== prefix : !PREFIX_PATTERN.test(head)) return false;
  return BODY_PATTERN.test(value.slice(at + 1));
}

/** JSON Schema pattern for ids of a prefix, for route validation. */
export function idPattern(prefix: string): string {
  return `^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`;
}

/** Random secret material, URL-safe base64, for API keys and webhook secrets. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
