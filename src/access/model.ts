import type { Role } from './roles.js';

export type ApiKeyStatus = 'active' | 'revoked';

export interface ApiKey {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly displayPrefix: string;
  readonly roles: readonly Role[];
  /** For subscriber keys: the billing account the key is scoped to. */
  readonly accountId: string | undefined;
  readonly status: ApiKeyStatus;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly expiresAt: string | undefined;
  readonly revokedAt: string | undefined;
  readonly lastUsedAt: string | undefined;
}

/** A key as the store holds it, with the digest of its secret. Never leaves the access domain. */
export interface StoredApiKey extends ApiKey {
  readonly secretDigest: string;
}

/** The public view of a key: everything but the digest. */
export function publicKey(key: StoredApiKey): ApiKey {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { secretDigest, ...rest } = key;
  return rest;
}
