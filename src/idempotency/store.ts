/** The idempotency_keys table: the first successful response to each (tenant, key). */
import type { Executor } from '../storage/database.js';
import { toSafeNumber } from '../storage/values.js';

export interface IdempotencyKeysTable {
  tenant_id: string;
  idempotency_key: string;
  request_hash: string;
  method: string;
  path: string;
  principal: string;
  status_code: bigint | number;
  response_body: string;
  response_headers: string;
  created_at: string;
}

declare module '../storage/schema.js' {
  interface DatabaseSchema {
    idempotency_keys: IdempotencyKeysTable;
  }
}

export interface StoredResponse {
  readonly requestHash: string;
  readonly method: string;
  readonly path: string;
  readonly statusCode: number;
  /** The response body exactly as first sent (JSON text). */
  readonly body: string;
  /** Response headers worth replaying (Location), as first sent. */
  readonly headers: Readonly<Record<string, string>>;
  readonly createdAt: string;
}

export async function findStoredResponse(
  db: Executor,
  tenantId: string,
  key: string,
): Promise<StoredResponse | undefined> {
  const row = await db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    requestHash: row.request_hash,
    method: row.method,
    path: row.path,
    statusCode: toSafeNumber(row.status_code, 'idempotency_keys.status_code'),
    body: row.response_body,
    headers: JSON.parse(row.response_headers) as Record<string, string>,
    createdAt: row.created_at,
  };
}

export async function insertStoredResponse(
  db: Executor,
  entry: { tenantId: string; key: string; principal: string } & StoredResponse,
): Promise<void> {
  await db
    .insertInto('idempotency_keys')
    .values({
      tenant_id: entry.tenantId,
      idempotency_key: entry.key,
      request_hash: entry.requestHash,
      method: entry.method,
      path: entry.path,
      principal: entry.principal,
      status_code: BigInt(entry.statusCode),
      response_body: entry.body,
      response_headers: JSON.stringify(entry.headers),
      created_at: entry.createdAt,
    })
    .execute();
}

/** Forgets responses older than the retention; returns how many were removed. */
export async function purgeStoredResponses(db: Executor, createdBefore: string): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', createdBefore)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
