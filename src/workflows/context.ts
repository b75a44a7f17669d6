/**
 * The context of one change: the transaction it runs in, the tenant, who is acting, the request
 * it came from and the clock. Every use case that changes configuration, customer or financial
 * data takes one, and records the change with `recordChange`, which appends the audit record and
 * the domain event inside the same transaction: either the change, its audit record and its
 * event all commit, or none does.
 */
import type { Clock } from '../kernel/clock.js';
import type { Database, DialectName, Tx } from '../storage/database.js';
import { inTransaction } from '../storage/database.js';
import type { Principal } from '../access/index.js';
import { appendAuditRecord } from '../audit/index.js';
import { enqueueEvent } from '../events/index.js';
import { newId } from '../kernel/ids.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { sql } from 'kysely';
import type { Executor } from '../storage/database.js';

/**
 * The transaction a request already runs in, if any. An Idempotency-Key request opens one
 * transaction around the whole use case so that the change and its stored response commit
 * together; use cases called inside it join that transaction instead of opening their own.
 */
const ambientTransaction = new AsyncLocalStorage<Tx>();

/**
 * Runs `work` with `tx` as the ambient transaction, and switches the storage off again once no
 * such run is open. While any AsyncLocalStorage is enabled, Node 20 calls a hook at every promise
 * the process creates, anywhere (measured: about 4 % of the charging server's event loop, whose
 * requests never run a change); a storage turned off costs nothing. `disable` exits every context
 * of the storage, hence only when the count of open runs is back to zero: what a run started and
 * left running after it settled has no transaction to join by then anyway.
 */
let openRuns = 0;
async function runAmbient<T>(tx: Tx, work: () => Promise<T>): Promise<T> {
  openRuns += 1;
  try {
    return await ambientTransaction.run(tx, work);
  } finally {
    openRuns -= 1;
    if (openRuns === 0) ambientTransaction.disable();
  }
}

let savepointCounter = 0;

/**
 * A use case run inside another's transaction is still a unit: a savepoint lets it fail and undo
 * only its own writes (a rejected row of a bulk import, say) while the outer transaction goes on.
 * Savepoint names are generated, never taken from input.
 */
async function withSavepoint<T>(tx: Tx, work: () => Promise<T>): Promise<T> {
  savepointCounter = (savepointCounter + 1) % 1_000_000_000;
  const name = sql.raw(`tollgate_sp_${savepointCounter}`);
  await sql`savepoint ${name}`.execute(tx);
  try {
    const result = await work();
    await sql`release savepoint ${name}`.execute(tx);
    return result;
  } catch (error) {
    await sql`rollback to savepoint ${name}`.execute(tx);
    await sql`release savepoint ${name}`.execute(tx);
    throw error;
  }
}

/** Runs `work` with `tx` as the ambient transaction. */
export function withAmbientTransaction<T>(tx: Tx, work: () => Promise<T>): Promise<T> {
  return runAmbient(tx, work);
}

/**
 * Where reads should go: the ambient transaction when there is one (SQLite and PGlite have a
 * single connection, so a read outside it would wait for the transaction to finish), else the
 * database.
 */
export function readExecutor(deps: WorkflowDeps): Executor {
  return ambientTransaction.getStore() ?? deps.database.db;
}

export interface Actor {
  readonly type: 'api-key' | 'token' | 'system' | 'cli';
  readonly id: string;
}

export function actorOf(principal: Principal): Actor {
  return { type: principal.kind === 'system' ? 'system' : principal.kind, id: principal.subject };
}

export interface ChangeContext {
  readonly tx: Tx;
  readonly dialect: DialectName;
  readonly tenantId: string;
  readonly actor: Actor;
  readonly requestId: string | undefined;
  readonly clock: Clock;
}

/** What use cases need from the application to run: the database and the clock. */
export interface WorkflowDeps {
  readonly database: Database;
  readonly clock: Clock;
}

export interface Caller {
  readonly tenantId: string;
  readonly actor: Actor;
  readonly requestId?: string;
}

/** Runs `work` as one unit of work for `caller`. */
export function runChange<T>(
  deps: WorkflowDeps,
  caller: Caller,
  work: (ctx: ChangeContext) => Promise<T>,
): Promise<T> {
  const contextFor = (tx: Tx): ChangeContext => ({
    tx,
    dialect: deps.database.dialect,
    tenantId: caller.tenantId,
    actor: caller.actor,
    requestId: caller.requestId,
    clock: deps.clock,
  });
  const ambient = ambientTransaction.getStore();
  if (ambient) return withSavepoint(ambient, () => work(contextFor(ambient)));
  return inTransaction(deps.database, (tx) => runAmbient(tx, () => work(contextFor(tx))));
}

export interface ChangeRecord {
  /** What happened, `entity.verb`: `api_key.created`, `webhook_subscription.updated`. */
  readonly action: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly before?: unknown;
  readonly after?: unknown;
  /**
   * The domain event to publish, if the change is one that outside systems care about. Its type is
   * usually the action; its payload is what subscribers receive.
   */
  readonly event?: { readonly type: string; readonly payload: unknown };
}

/** Appends the audit record (hash-chained) and, when given, the outbox event, in ctx's transaction. */
export async function recordChange(ctx: ChangeContext, change: ChangeRecord): Promise<void> {
  const occurredAt = ctx.clock.now();
  await appendAuditRecord(ctx.tx, ctx.dialect, {
    tenantId: ctx.tenantId,
    occurredAt,
    actorType: ctx.actor.type,
    actorId: ctx.actor.id,
    action: change.action,
    entityType: change.entityType,
    entityId: change.entityId,
    before: change.before ?? null,
    after: change.after ?? null,
    requestId: ctx.requestId ?? null,
  });
  if (change.event) {
    await enqueueEvent(ctx.tx, {
      id: newId('evt', ctx.clock),
      tenantId: ctx.tenantId,
      type: change.event.type,
      entityType: change.entityType,
      entityId: change.entityId,
      payload: change.event.payload,
      occurredAt,
    });
  }
}
