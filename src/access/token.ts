/**
 * Signed bearer tokens (JWT, HS256, RFC 7519) for the portal and other front ends that sign users
 * in themselves. Claims: `sub` (user), `tid` (tenant id), `roles`, optional `acct` (the billing
 * account a subscriber is scoped to), `exp` and `iat` in seconds. Pure: the secret is passed in.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isRole, type Role } from './roles.js';

export interface TokenClaims {
  readonly sub: string;
  readonly tid: string;
  readonly roles: readonly Role[];
  readonly acct?: string;
  readonly iat: number;
  readonly exp: number;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'bad_claims' };

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

export function signToken(claims: TokenClaims, secret: string): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export function verifyToken(token: string, secret: string, nowSec: number): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [header, payload, signature] = parts as [string, string, string];
  let headerJson: { alg?: unknown };
  try {
    headerJson = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  // Only HS256 is accepted; `alg: none` and algorithm confusion are refused here.
  if (headerJson.alg !== 'HS256') return { ok: false, reason: 'malformed' };
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const presented = Buffer.from(signature, 'base64url');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    return { ok: false, reason: 'bad_signature' };
  }
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const { sub, tid, roles, acct, iat, exp } = claims;
  if (
    typeof sub !== 'string' ||
    typeof tid !== 'string' ||
    !Array.isArray(roles) ||
    roles.length === 0 ||
    !roles.every((r) => typeof r === 'string' && isRole(r)) ||
    (acct !== undefined && typeof acct !== 'string') ||
    typeof iat !== 'number' ||
    typeof exp !== 'number'
  ) {
    return { ok: false, reason: 'bad_claims' };
  }
  if (exp <= nowSec) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    claims: { sub, tid, roles: roles as Role[], iat, exp, ...(acct !== undefined ? { acct } : {}) },
  };
}
