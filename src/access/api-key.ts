/**
 * API key format and verification (pure).
 *
 * A key reads `tgk_<26-char id body>_<43-char secret>`. The id part is the key's row id (`key_...`)
 * so a presented key is found by primary key, and the secret is 256 random bits of which only a
 * SHA-256 digest is stored. A salted slow hash would add nothing: the secret is random and long,
 * so it cannot be guessed from its digest, and a fast hash keeps authentication off the hot path.
 * Digests are compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../kernel/ids.js';

const KEY_PATTERN = /^tgk_([0-9A-HJKMNP-TV-Z]{26})_([A-Za-z0-9_-]{43})$/;

export interface IssuedKey {
  /** The full key: shown once, never stored. */
  readonly plaintext: string;
  readonly secretDigest: string;
  /** The first characters, kept to help people recognise a key in lists. */
  readonly displayPrefix: string;
}

export function issueKey(keyId: string): IssuedKey {
  const body = keyId.slice('key_'.length);
  const secret = randomToken(32);
  const plaintext = `tgk_${body}_${secret}`;
  return { plaintext, secretDigest: digestSecret(secret), displayPrefix: plaintext.slice(0, 12) };
}

export function parseKey(presented: string): { keyId: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(presented);
  if (!match) return undefined;
  return { keyId: `key_${match[1]}`, secret: match[2]! };
}

export function digestSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedDigest: string): boolean {
  const presented = Buffer.from(digestSecret(secret), 'hex');
  const stored = Buffer.from(storedDigest, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
