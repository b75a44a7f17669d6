/**
 * Idempotent execution of a creating or money-moving request.
 *
 * The first request with a given Idempotency-Key runs inside one transaction that also stores its
 * response, so the change and the record of it commit together: a crash cannot leave a change
 * without its stored response (which would let a retry apply it twice) or a stored response
 * without its change. A retry with the same key and the same request gets the stored response;
 * the same key with a different request is refused. Two concurrent first attempts race on the
 * table's primary key: the loser rolls back and answers from the winner's stored response.
 * Only successful responses are stored; a request that failed changed nothing and may be retried.
 */
import { fail } from '../kernel/errors.js';
import { inTransaction } from '../storage/database.js';
import { isUniqueViolation } from '../storage/values.js';
import {
  findStoredResponse,
  IdempotencyErrors,
  IDEMPOTENCY_KEY_PATTERN,
  insertStoredResponse,
  requestHash,
  type StoredResponse,
} from '../idempotency/index.js';
import { withAmbientTransaction, type WorkflowDeps } from './context.js';

export interface IdempotentRequest {
  readonly tenantId: string;
  readonly key: string;
  readonly principal: string;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

export interface IdempotentResponse {
  readonly statusCode: number;
  /** The JSON text of the body, identical on the first response and every replay. */
  readonly bodyText: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly replayed: boolean;
}

function replay(stored: StoredResponse, hash: string, request: IdempotentRequest): IdempotentResponse {
  if (stored.requestHash !== hash) {
    throw fail(
      IdempotencyErrors.key_reused,
      `Idempotency-Key "${request.key}" was first used for ${stored.method} ${stored.path} with a different body at ${stored.createdAt}; use a new key for a new request`,
      { field: 'Idempotency-Key' },
    );
  }
  return { statusCode: stored.statusCode, bodyText: stored.body, headers: stored.headers, replayed: true };
}

export function validateIdempotencyKey(key: string): void {
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw fail(IdempotencyErrors.invalid_key, 'Idempotency-Key must be 1 to 255 visible ASCII characters', {
      field: 'Idempotency-Key',
    });
  }
}

export async function executeIdempotently(
  deps: WorkflowDeps,
  request: IdempotentRequest,
  handler: () => Promise<{ statusCode: number; body: unknown; headers: Record<string, string> }>,
): Promise<IdempotentResponse> {
  validateIdempotencyKey(request.key);
  const hash = requestHash(request.method, request.path, request.body);
  const existing = await findStoredResponse(deps.database.db, request.tenantId, request.key);
  if (existing) return replay(existing, hash, request);
  try {
    return await inTransaction(deps.database, (tx) =>
      withAmbientTransaction(tx, async () => {
        const result = await handler();
        const bodyText = JSON.stringify(result.body);
        await insertStoredResponse(tx, {
          tenantId: request.tenantId,
          key: request.key,
          principal: request.principal,
          requestHash: hash,
          method: request.method,
          path: request.path,
          statusCode: result.statusCode,
          body: bodyText,
          headers: result.headers,
          createdAt: deps.clock.now(),
        });
        return { statusCode: result.statusCode, bodyText, headers: result.headers, replayed: false };
      }),
    );
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const winner = await findStoredResponse(deps.database.db, request.tenantId, request.key);
    if (!winner) throw error;
    return replay(winner, hash, request);
  }
}
