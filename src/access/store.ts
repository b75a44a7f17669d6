/** The api_keys table: the only code that reads or writes it. */
import type { Executor } from '../storage/database.js';
import { fromJson, toJson } from '../storage/values.js';
import type { StoredApiKey, ApiKeyStatus } from './model.js';
import type { Role } from './roles.js';

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  display_prefix: string;
  secret_digest: string;
  roles: string;
  account_id: string | null;
  status: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

declare module '../storage/schema.js' {
  interface DatabaseSchema {
    api_keys: ApiKeysTable;
  }
}

function toKey(row: ApiKeysTable): StoredApiKey {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    displayPrefix: row.display_prefix,
    secretDigest: row.secret_digest,
    roles: toJson<Role[]>(row.roles, 'api_keys.roles'),
    accountId: row.account_id ?? undefined,
    status: row.status as ApiKeyStatus,
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.expires_at ?? undefined,
    revokedAt: row.revoked_at ?? undefined,
    lastUsedAt: row.last_used_at ?? undefined,
  };
}

export async function insertApiKey(db: Executor, key: StoredApiKey): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({
      id: key.id,
      tenant_id: key.tenantId,
      name: key.name,
      display_prefix: key.displayPrefix,
      secret_digest: key.secretDigest,
      roles: fromJson(key.roles),
      account_id: key.accountId ?? null,
      status: key.status,
      created_at: key.createdAt,
      created_by: key.createdBy,
      expires_at: key.expiresAt ?? null,
      revoked_at: null,
      last_used_at: null,
    })
    .execute();
}

/** Looks a key up by id alone: authentication does not know the tenant until the key is found. */
export async function findApiKeyForAuthentication(
  db: Executor,
  id: string,
): Promise<StoredApiKey | undefined> {
  const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toKey(row) : undefined;
}

export async function findApiKey(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<StoredApiKey | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toKey(row) : undefined;
}

export async function listApiKeys(
  db: Executor,
  tenantId: string,
  options: { status?: ApiKeyStatus; after?: string; limit: number },
): Promise<StoredApiKey[]> {
  let query = db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId);
  if (options.status) query = query.where('status', '=', options.status);
  if (options.after) query = query.where('id', '>', options.after);
  const rows = await query.orderBy('id').limit(options.limit).execute();
  return rows.map(toKey);
}

export async function markApiKeyRevoked(
  db: Executor,
  tenantId: string,
  id: string,
  at: string,
): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ status: 'revoked', revoked_at: at })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

export async function touchApiKey(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}
