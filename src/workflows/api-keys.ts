/**
 * Use cases on API keys, and authentication of a presented key or bearer token.
 *
 * Authentication sits on every request's path, so verified keys are cached in memory for a few
 * seconds. A revocation through this process clears the cache at once; another node notices
 * within KEY_CACHE_TTL_MS. `last_used_at` is written at most once a minute per key, off the
 * request's path, so reads never queue behind writes on SQLite.
 */
import { hash } from 'node:crypto';
import { fail } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { msFromInstant } from '../kernel/clock.js';
import {
  AccessErrors,
  isRole,
  parseKey,
  publicKey,
  secretMatches,
  verifyToken,
  type ApiKey,
  type Principal,
  type Role,
} from '../access/index.js';
import { issueKey } from '../access/api-key.js';
import {
  findApiKey,
  findApiKeyForAuthentication,
  insertApiKey,
  listApiKeys as listApiKeyRows,
  markApiKeyRevoked,
  touchApiKey,
} from '../access/store.js';
import { findTenantById } from '../tenancy/store.js';
import { TenancyErrors } from '../tenancy/index.js';
import { readExecutor, recordChange, runChange, type Caller, type WorkflowDeps } from './context.js';

export const KEY_CACHE_TTL_MS = 5_000;
const TOUCH_INTERVAL_MS = 60_000;
const KEY_CACHE_MAX = 10_000;

export interface CreateApiKeyInput {
  readonly name: string;
  readonly roles: readonly string[];
  readonly accountId?: string;
  readonly expiresAt?: string;
}

export interface CreatedApiKey {
  readonly key: ApiKey;
  /** The secret key, returned once at creation and never again. */
  readonly secret: string;
}

function checkRoles(roles: readonly string[], accountId: string | undefined): Role[] {
  if (roles.length === 0)
    throw fail(AccessErrors.invalid_role, 'a key needs at least one role', { field: 'roles' });
  roles.forEach((role, i) => {
    if (!isRole(role))
      throw fail(AccessErrors.invalid_role, `"${role}" is not a role`, { field: `roles/${i}` });
  });
  if (roles.includes('subscriber') && !accountId) {
    throw fail(AccessErrors.invalid_role, 'a subscriber key must name the billing account it is scoped to', {
      field: 'accountId',
    });
  }
  if (roles.includes('subscriber') && roles.length > 1) {
    throw fail(AccessErrors.invalid_role, 'a subscriber key cannot hold staff roles', { field: 'roles' });
  }
  return [...new Set(roles)] as Role[];
}

export async function createApiKey(
  deps: WorkflowDeps,
  caller: Caller,
  input: CreateApiKeyInput,
): Promise<CreatedApiKey> {
  const roles = checkRoles(input.roles, input.accountId);
  if (input.expiresAt !== undefined && msFromInstant(input.expiresAt) <= deps.clock.nowMs()) {
    throw fail(AccessErrors.invalid_expiry, `expiresAt ${input.expiresAt} is not in the future`, {
      field: 'expiresAt',
    });
  }
  return runChange(deps, caller, async (ctx) => {
    const id = newId('key', ctx.clock);
    const issued = issueKey(id);
    const stored = {
      id,
      tenantId: ctx.tenantId,
      name: input.name,
      displayPrefix: issued.displayPrefix,
      secretDigest: issued.secretDigest,
      roles,
      accountId: input.accountId,
      status: 'active' as const,
      createdAt: ctx.clock.now(),
      createdBy: `${ctx.actor.type}:${ctx.actor.id}`,
      expiresAt: input.expiresAt,
      revokedAt: undefined,
      lastUsedAt: undefined,
    };
    await insertApiKey(ctx.tx, stored);
    const key = publicKey(stored);
    // The audit record and the event carry the key's description, never its secret or digest.
    await recordChange(ctx, {
      action: 'api_key.created',
      entityType: 'api_key',
      entityId: id,
      after: key,
      event: { type: 'api_key.created', payload: key },
    });
    return { key, secret: issued.plaintext };
  });
}

export async function listApiKeys(
  deps: WorkflowDeps,
  tenantId: string,
  options: { status?: 'active' | 'revoked'; after?: string; limit: number },
): Promise<ApiKey[]> {
  const rows = await listApiKeyRows(readExecutor(deps), tenantId, options);
  return rows.map(publicKey);
}

export async function getApiKey(deps: WorkflowDeps, tenantId: string, id: string): Promise<ApiKey> {
  const row = await findApiKey(readExecutor(deps), tenantId, id);
  if (!row) throw fail(AccessErrors.key_not_found, `API key ${id} does not exist`, { record: id });
  return publicKey(row);
}

export async function revokeApiKey(deps: WorkflowDeps, caller: Caller, id: string): Promise<ApiKey> {
  const revoked = await runChange(deps, caller, async (ctx) => {
    const before = await findApiKey(ctx.tx, ctx.tenantId, id);
    if (!before) throw fail(AccessErrors.key_not_found, `API key ${id} does not exist`, { record: id });
    if (before.status === 'revoked') return publicKey(before);
    const at = ctx.clock.now();
    await markApiKeyRevoked(ctx.tx, ctx.tenantId, id, at);
    const after = { ...publicKey(before), status: 'revoked' as const, revokedAt: at };
    await recordChange(ctx, {
      action: 'api_key.revoked',
      entityType: 'api_key',
      entityId: id,
      before: publicKey(before),
      after,
      event: { type: 'api_key.revoked', payload: after },
    });
    return after;
  });
  authCache.forgetKey(id);
  return revoked;
}

interface CachedPrincipal {
  readonly principal: Principal;
  readonly keyId: string;
  readonly cachedUntilMs: number;
  readonly expiresAtMs: number | undefined;
}

class AuthCache {
  private readonly entries = new Map<string, CachedPrincipal>();
  private readonly touchedAtMs = new Map<string, number>();

  get(fingerprint: string, nowMs: number): CachedPrincipal | undefined {
    const entry = this.entries.get(fingerprint);
    if (!entry) return undefined;
    if (entry.cachedUntilMs <= nowMs || (entry.expiresAtMs !== undefined && entry.expiresAtMs <= nowMs)) {
      this.entries.delete(fingerprint);
      return undefined;
    }
    return entry;
  }
  set(fingerprint: string, entry: CachedPrincipal): void {
    if (this.entries.size >= KEY_CACHE_MAX) this.entries.clear();
    this.entries.set(fingerprint, entry);
  }
  forgetKey(keyId: string): void {
    for (const [fingerprint, entry] of this.entries)
      if (entry.keyId === keyId) this.entries.delete(fingerprint);
  }
  shouldTouch(keyId: string, nowMs: number): boolean {
    const last = this.touchedAtMs.get(keyId);
    if (last !== undefined && nowMs - last < TOUCH_INTERVAL_MS) return false;
    this.touchedAtMs.set(keyId, nowMs);
    return true;
  }
  clear(): void {
    this.entries.clear();
    this.touchedAtMs.clear();
  }
}

const authCache = new AuthCache();

/** Forgets every cached credential (tests; after bulk changes made outside this process). */
export function clearAuthenticationCache(): void {
  authCache.clear();
}

/** Resolves a presented API key to its principal, or throws an `unauthenticated` error. */
export async function authenticateApiKey(deps: WorkflowDeps, presented: string): Promise<Principal> {
  const nowMs = deps.clock.nowMs();
  // One-shot hash: a Hash object per request cost more than the digest itself on the charging path.
  const fingerprint = hash('sha256', presented, 'base64');
  const cached = authCache.get(fingerprint, nowMs);
  if (cached) return cached.principal;

  const parsed = parseKey(presented);
  if (!parsed) throw fail(AccessErrors.invalid_credentials, 'the API key is malformed');
  const key = await findApiKeyForAuthentication(deps.database.db, parsed.keyId);
  if (!key || !secretMatches(parsed.secret, key.secretDigest)) {
    throw fail(AccessErrors.invalid_credentials, 'the API key is not valid');
  }
  if (key.status === 'revoked') throw fail(AccessErrors.key_revoked, 'the API key has been revoked');
  const expiresAtMs = key.expiresAt ? msFromInstant(key.expiresAt) : undefined;
  if (expiresAtMs !== undefined && expiresAtMs <= nowMs)
    throw fail(AccessErrors.key_expired, 'the API key has expired');
  const tenant = await findTenantById(deps.database.db, key.tenantId);
  if (!tenant || tenant.status !== 'active') {
    throw fail(TenancyErrors.tenant_suspended, 'the tenant of this API key is not active');
  }
  const principal: Principal = {
    tenantId: key.tenantId,
    kind: 'api-key',
    subject: key.id,
    roles: key.roles,
    ...(key.accountId ? { accountId: key.accountId } : {}),
  };
  authCache.set(fingerprint, {
    principal,
    keyId: key.id,
    cachedUntilMs: nowMs + KEY_CACHE_TTL_MS,
    expiresAtMs,
  });
  if (authCache.shouldTouch(key.id, nowMs)) {
    // Best effort, off the request's path: a lost update of last_used_at harms nothing.
    touchApiKey(deps.database.db, key.id, deps.clock.now()).catch(() => undefined);
  }
  return principal;
}

/** Resolves a signed bearer token (see access/token.ts) to its principal. */
export async function authenticateToken(
  deps: WorkflowDeps,
  token: string,
  secret: string | undefined,
): Promise<Principal> {
  if (!secret) throw fail(AccessErrors.token_invalid, 'bearer tokens are not enabled on this server');
  const check = verifyToken(token, secret, Math.floor(deps.clock.nowMs() / 1000));
  if (!check.ok) {
    if (check.reason === 'expired') throw fail(AccessErrors.token_expired, 'the bearer token has expired');
    throw fail(
      AccessErrors.token_invalid,
      `the bearer token is not valid (${check.reason.replace('_', ' ')})`,
    );
  }
  const { claims } = check;
  if (claims.roles.includes('subscriber') && !claims.acct) {
    throw fail(
      AccessErrors.token_invalid,
      'a subscriber token must carry the account it is scoped to (acct)',
    );
  }
  const tenant = await findTenantById(deps.database.db, claims.tid);
  if (!tenant || tenant.status !== 'active')
    throw fail(AccessErrors.token_invalid, 'the token names no active tenant');
  return {
    tenantId: claims.tid,
    kind: 'token',
    subject: claims.sub,
    roles: claims.roles,
    ...(claims.acct ? { accountId: claims.acct } : {}),
  };
}
