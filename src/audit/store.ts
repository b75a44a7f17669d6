/**
 * The audit_records and audit_heads tables: the only code that reads or writes them.
 *
 * Records are only ever appended, in the transaction of the change they describe, so a change and
 * its audit record commit together or not at all. Nothing here updates or deletes a record; the
 * chain (chain.ts) is what shows when something else did.
 */
import { parseInstant, type Instant } from '../kernel/clock.js';
import { fail } from '../kernel/errors.js';
import type { DialectName, Executor, Tx } from '../storage/database.js';
import { fromJson, isUniqueViolation, toBigInt } from '../storage/values.js';
import {
  ChainVerifier,
  GENESIS_HASH,
  auditRecordId,
  computeHash,
  type AuditHead,
  type AuditRecord,
  type AuditRecordContent,
  type ChainProblem,
} from './chain.js';
import { AuditErrors } from './errors.js';

export interface AuditRecordsTable {
  tenant_id: string;
  seq: bigint;
  id: string;
  occurred_at: string;
  actor_type: string;
  actor_id: string;
  action: string;
  entity_type: string;
  entity_id: string;
  before: string | null;
  after: string | null;
  request_id: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadsTable {
  tenant_id: string;
  last_seq: bigint;
  last_hash: string;
}

declare module '../storage/schema.js' {
  interface DatabaseSchema {
    audit_records: AuditRecordsTable;
    audit_heads: AuditHeadsTable;
  }
}

/** What a change hands in; the store adds the seq, the id and the hashes. */
export interface AuditInput {
  readonly tenantId: string;
  readonly occurredAt: Instant;
  readonly actorType: string;
  readonly actorId: string;
  readonly action: string;
  readonly entityType: string;
  readonly entityId: string;
  /** Any JSON-serialisable value; null or undefined when there is no before (or after) state. */
  readonly before: unknown;
  readonly after: unknown;
  readonly requestId: string | null;
}

/** A stored JSON column: the text as written and the value a reader parses back from it. */
interface StoredJson {
  readonly text: string | null;
  readonly value: unknown;
}

/**
 * Writes the value as it will be stored and reads it straight back, so the record hashed and
 * returned here is exactly the record a later reader (and the verifier) sees: bigints become
 * decimal strings, undefined members vanish, dates become their ISO text.
 */
function storedJson(value: unknown): StoredJson {
  if (value === null || value === undefined) return { text: null, value: null };
  const text = fromJson(value) as string | undefined;
  // JSON.stringify gives undefined for a bare function or symbol: there is nothing to record.
  if (text === undefined) return { text: null, value: null };
  const parsed: unknown = JSON.parse(text);
  return parsed === null ? { text: null, value: null } : { text, value: parsed };
}

type ParsedJson = { ok: true; value: unknown } | { ok: false; detail: string };

function parseStoredJson(text: string | null, column: string): ParsedJson {
  if (text === null) return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, detail: `${column} is not valid JSON` };
  }
}

function validateInput(input: AuditInput): void {
  const required = ['tenantId', 'actorType', 'actorId', 'action', 'entityType', 'entityId'] as const;
  for (const field of required) {
    const value = input[field];
    if (typeof value !== 'string' || value === '') {
      throw fail(AuditErrors.invalid_record, `${field} must be a non-empty string`, { field });
    }
  }
  for (const field of [...required, 'requestId'] as const) {
    const value = input[field];
    // Text columns must store exactly the characters that were hashed. PostgreSQL rejects NUL and
    // both drivers replace a lone surrogate when encoding UTF-8, which would later read back as a
    // record edited after the fact; refusing such text here keeps the chain honest.
    if (typeof value === 'string' && (value.includes('\u0000') || /\p{Cs}/u.test(value))) {
      throw fail(AuditErrors.invalid_record, `${field} contains a NUL or an unpaired surrogate`, { field });
    }
  }
  if (input.requestId !== null && typeof input.requestId !== 'string') {
    throw fail(AuditErrors.invalid_record, 'requestId must be a string or null', { field: 'requestId' });
  }
  if (typeof input.occurredAt !== 'string' || parseInstant(input.occurredAt) !== input.occurredAt) {
    // Only the stored form sorts like the instants it names, which the time filters rely on.
    throw fail(AuditErrors.invalid_record, 'occurredAt must be an ISO-8601 UTC instant with milliseconds', {
      field: 'occurredAt',
    });
  }
}

/**
 * Reads the tenant's head and, on PostgreSQL, locks its row until the transaction ends, so
 * concurrent appends for one tenant take turns (SQLite has a single writer, so they already do).
 * A tenant's first append creates the head row at seq 0 first: with no row there is nothing to
 * lock, and two first appends would both pick seq 1. With the row inserted under ON CONFLICT DO
 * NOTHING, the second waits on the first's insert and then reads the head it committed.
 */
async function lockHead(tx: Tx, dialect: DialectName, tenantId: string): Promise<AuditHead> {
  const read = () =>
    tx
      .selectFrom('audit_heads')
      .select(['last_seq', 'last_hash'])
      .where('tenant_id', '=', tenantId)
      .$if(dialect === 'postgres', (query) => query.forUpdate())
      .executeTakeFirst();
  let row = await read();
  if (!row) {
    await tx
      .insertInto('audit_heads')
      .values({ tenant_id: tenantId, last_seq: 0n, last_hash: GENESIS_HASH })
      .onConflict((conflict) => conflict.column('tenant_id').doNothing())
      .execute();
    row = await read();
    if (!row) throw new Error(`audit head of tenant ${tenantId} vanished while it was being created`);
  }
  return { tenantId, lastSeq: toBigInt(row.last_seq, 'audit_heads.last_seq'), lastHash: row.last_hash };
}

/**
 * Appends one record to the tenant's chain in the caller's transaction: reads (and on PostgreSQL
 * locks) the head, takes the next seq, hashes the record onto the previous hash, inserts it and
 * moves the head. Returns the record as stored. The id is `${tenantId}:${seq}` (see AuditRecord).
 */
export async function appendAuditRecord(
  tx: Tx,
  dialect: DialectName,
  input: AuditInput,
): Promise<AuditRecord> {
  validateInput(input);
  const before = storedJson(input.before);
  const after = storedJson(input.after);
  const head = await lockHead(tx, dialect, input.tenantId);
  const seq = head.lastSeq + 1n;
  const content: AuditRecordContent = {
    id: auditRecordId(input.tenantId, seq),
    tenantId: input.tenantId,
    seq,
    occurredAt: input.occurredAt,
    actorType: input.actorType,
    actorId: input.actorId,
    action: input.action,
    entityType: input.entityType,
    entityId: input.entityId,
    before: before.value,
    after: after.value,
    requestId: input.requestId,
  };
  const record: AuditRecord = {
    ...content,
    prevHash: head.lastHash,
    hash: computeHash(head.lastHash, content),
  };
  try {
    await tx
      .insertInto('audit_records')
      .values({
        tenant_id: record.tenantId,
        seq: record.seq,
        id: record.id,
        occurred_at: record.occurredAt,
        actor_type: record.actorType,
        actor_id: record.actorId,
        action: record.action,
        entity_type: record.entityType,
        entity_id: record.entityId,
        before: before.text,
        after: after.text,
        request_id: record.requestId,
        prev_hash: record.prevHash,
        hash: record.hash,
      })
      .execute();
  } catch (error) {
    // The head is locked, so the next seq can only be taken already if the head was moved back
    // or deleted by hand: appending on would fork the chain.
    if (isUniqueViolation(error)) {
      throw fail(
        AuditErrors.chain_broken,
        `audit record ${seq} of tenant ${input.tenantId} already exists: the tenant's audit head is behind its chain`,
        { record: record.id, cause: error },
      );
    }
    throw error;
  }
  await tx
    .updateTable('audit_heads')
    .set({ last_seq: record.seq, last_hash: record.hash })
    .where('tenant_id', '=', input.tenantId)
    .execute();
  return record;
}

type RowReading =
  { ok: true; record: AuditRecord } | { ok: false; seq: bigint; id: string; hash: string; detail: string };

function readRow(row: AuditRecordsTable): RowReading {
  const seq = toBigInt(row.seq, 'audit_records.seq');
  const before = parseStoredJson(row.before, 'before');
  const after = parseStoredJson(row.after, 'after');
  if (!before.ok || !after.ok) {
    const detail = [before, after].flatMap((p) => (p.ok ? [] : [p.detail])).join(', ');
    return { ok: false, seq, id: row.id, hash: row.hash, detail };
  }
  return {
    ok: true,
    record: {
      id: row.id,
      tenantId: row.tenant_id,
      seq,
      occurredAt: row.occurred_at,
      actorType: row.actor_type,
      actorId: row.actor_id,
      action: row.action,
      entityType: row.entity_type,
      entityId: row.entity_id,
      before: before.value,
      after: after.value,
      requestId: row.request_id,
      prevHash: row.prev_hash,
      hash: row.hash,
    },
  };
}

/** The largest page `listAuditRecords` returns. */
export const MAX_AUDIT_PAGE = 1000;

export interface AuditFilters {
  readonly entityType?: string;
  readonly entityId?: string;
  readonly action?: string;
  readonly actorId?: string;
  /** Records that occurred at or after this instant (any RFC 3339 offset is accepted). */
  readonly from?: Instant;
  /** Records that occurred before this instant (exclusive, so consecutive windows do not overlap). */
  readonly to?: Instant;
  /** Records with a seq greater than this: the cursor when listing oldest first. */
  readonly afterSeq?: bigint;
  /** Records with a seq less than this: the cursor when listing newest first. */
  readonly beforeSeq?: bigint;
  /** `desc` (the default) lists newest first, as a person reads a trail; `asc` suits exports. */
  readonly order?: 'asc' | 'desc';
  /** 1 to MAX_AUDIT_PAGE. */
  readonly limit: number;
}

export interface AuditPage {
  readonly records: AuditRecord[];
  /**
   * The seq to pass for the next page, as `beforeSeq` when listing newest first or `afterSeq`
   * when oldest first, with the other filters unchanged; null when this page is the last.
   */
  readonly nextCursor: bigint | null;
}

function filterInstant(value: string | undefined, field: 'from' | 'to'): Instant | undefined {
  if (value === undefined) return undefined;
  const instant = typeof value === 'string' ? parseInstant(value) : undefined;
  if (instant === undefined) {
    throw fail(
      AuditErrors.invalid_filter,
      `${field} must be an RFC 3339 date-time, e.g. 2026-01-31T00:00:00Z`,
      {
        field,
      },
    );
  }
  return instant;
}

function filterSeq(value: bigint | undefined, field: 'afterSeq' | 'beforeSeq'): bigint | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'bigint' || value < 0n) {
    throw fail(AuditErrors.invalid_filter, `${field} must be a non-negative integer`, { field });
  }
  return value;
}

/**
 * One page of a tenant's audit records matching every given filter, newest first unless
 * `order: 'asc'`. Page with `nextCursor` (keyset on seq, so pages stay stable while records are
 * appended). Throws audit.invalid_filter for a bad filter.
 */
export async function listAuditRecords(
  db: Executor,
  tenantId: string,
  filters: AuditFilters,
): Promise<AuditPage> {
  const { limit } = filters;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
    throw fail(AuditErrors.invalid_filter, `limit must be an integer from 1 to ${MAX_AUDIT_PAGE}`, {
      field: 'limit',
    });
  }
  const order = filters.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    throw fail(AuditErrors.invalid_filter, 'order must be asc or desc', { field: 'order' });
  }
  const from = filterInstant(filters.from, 'from');
  const to = filterInstant(filters.to, 'to');
  if (from !== undefined && to !== undefined && from > to) {
    throw fail(AuditErrors.invalid_filter, 'from must not be later than to', { field: 'from' });
  }
  const afterSeq = filterSeq(filters.afterSeq, 'afterSeq');
  const beforeSeq = filterSeq(filters.beforeSeq, 'beforeSeq');
  const { entityType, entityId, action, actorId } = filters;

  const rows = await db
    .selectFrom('audit_records')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(entityType !== undefined, (q) => q.where('entity_type', '=', entityType!))
    .$if(entityId !== undefined, (q) => q.where('entity_id', '=', entityId!))
    .$if(action !== undefined, (q) => q.where('action', '=', action!))
    .$if(actorId !== undefined, (q) => q.where('actor_id', '=', actorId!))
    .$if(from !== undefined, (q) => q.where('occurred_at', '>=', from!))
    .$if(to !== undefined, (q) => q.where('occurred_at', '<', to!))
    .$if(afterSeq !== undefined, (q) => q.where('seq', '>', afterSeq!))
    .$if(beforeSeq !== undefined, (q) => q.where('seq', '<', beforeSeq!))
    .orderBy('seq', order)
    // One extra row says whether another page follows, without a count query.
    .limit(limit + 1)
    .execute();

  const records = rows.slice(0, limit).map((row) => {
    const reading = readRow(row);
    if (!reading.ok) {
      throw fail(AuditErrors.chain_broken, `audit record ${row.id} cannot be read: ${reading.detail}`, {
        record: row.id,
      });
    }
    return reading.record;
  });
  const last = records.at(-1);
  return { records, nextCursor: rows.length > limit && last ? last.seq : null };
}

export interface TenantChainReport {
  readonly tenantId: string;
  /** How many records were checked. */
  readonly records: number;
  readonly ok: boolean;
  /** The first problems found (at most `maxProblems`), in chain order. */
  readonly problems: ChainProblem[];
  /** All problems found, including any beyond `problems`. */
  readonly problemCount: number;
  /** The head as stored when the check ended; null when the tenant has none. */
  readonly head: { readonly lastSeq: bigint; readonly lastHash: string } | null;
}

export interface AuditVerifyReport {
  readonly ok: boolean;
  readonly tenants: TenantChainReport[];
}

export interface VerifyOptions {
  /** Records read per query; the chain is never held in memory whole. */
  readonly pageSize?: number;
  /** Problems kept per tenant. */
  readonly maxProblems?: number;
}

async function readHead(db: Executor, tenantId: string): Promise<AuditHead | null> {
  const row = await db
    .selectFrom('audit_heads')
    .select(['last_seq', 'last_hash'])
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return row
    ? { tenantId, lastSeq: toBigInt(row.last_seq, 'audit_heads.last_seq'), lastHash: row.last_hash }
    : null;
}

async function verifyTenant(
  db: Executor,
  tenantId: string,
  pageSize: number,
  maxProblems: number,
): Promise<TenantChainReport> {
  const verifier = new ChainVerifier({ maxProblems });
  let cursor: bigint | undefined;

  // Reads every record after the cursor, a page at a time; returns how many it read.
  const drain = async (): Promise<number> => {
    let read = 0;
    for (;;) {
      const rows = await db
        .selectFrom('audit_records')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .$if(cursor !== undefined, (q) => q.where('seq', '>', cursor!))
        .orderBy('seq', 'asc')
        .limit(pageSize)
        .execute();
      for (const row of rows) {
        const reading = readRow(row);
        if (reading.ok) verifier.add(reading.record);
        else verifier.addMalformed(reading, reading.detail);
        cursor = toBigInt(row.seq, 'audit_records.seq');
      }
      read += rows.length;
      if (rows.length < pageSize) return read;
    }
  };

  // The scan takes no lock and no snapshot, so appends may commit while it runs. A record and its
  // head commit together and the head is read after the records, so a head ahead of the last
  // record read means either appends committed meanwhile or the tail was deleted. Reading on
  // tells them apart: once a read started after the head was read finds nothing new, every
  // record that head was written with would have been seen, and the difference is real.
  await drain();
  let head = await readHead(db, tenantId);
  while (head !== null && head.lastSeq > verifier.lastSeqSeen) {
    if ((await drain()) === 0) break;
    head = await readHead(db, tenantId);
  }

  const verdict = verifier.finish(head);
  return {
    tenantId,
    records: verdict.records,
    ok: verdict.ok,
    problems: verdict.problems,
    problemCount: verdict.problemCount,
    head: head && { lastSeq: head.lastSeq, lastHash: head.lastHash },
  };
}

/**
 * Checks the audit chain of one tenant, or of every tenant that has audit records or a head when
 * none is given, reading each chain in pages. Returns a report; it does not throw for a broken
 * chain (see assertAuditChainOk). Run it on the database rather than inside a long transaction:
 * on SQLite a transaction would hold the single writer for the whole scan.
 */
export async function verifyAuditChain(
  db: Executor,
  tenantId?: string,
  options: VerifyOptions = {},
): Promise<AuditVerifyReport> {
  const pageSize = options.pageSize ?? 1000;
  const maxProblems = options.maxProblems ?? 1000;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1)
    throw new RangeError('pageSize must be a positive integer');
  let tenantIds: string[];
  if (tenantId !== undefined) {
    tenantIds = [tenantId];
  } else {
    // Heads are included so a tenant whose records were all deleted still shows up.
    const rows = await db
      .selectFrom('audit_heads')
      .select('tenant_id')
      .union(db.selectFrom('audit_records').select('tenant_id'))
      .execute();
    tenantIds = rows.map((row) => row.tenant_id).sort();
  }
  const tenants: TenantChainReport[] = [];
  for (const id of tenantIds) tenants.push(await verifyTenant(db, id, pageSize, maxProblems));
  return { ok: tenants.every((t) => t.ok), tenants };
}

/** Throws audit.chain_broken (an integrity error: HTTP 500, exit code 70) unless the report is ok. */
export function assertAuditChainOk(report: AuditVerifyReport): void {
  const broken = report.tenants.filter((t) => !t.ok);
  if (broken.length === 0) return;
  const first = broken[0]!;
  throw fail(
    AuditErrors.chain_broken,
    `the audit chain of ${broken.length === 1 ? 'tenant' : `${broken.length} tenants, first`} ${first.tenantId} ` +
      `has ${first.problemCount} problem${first.problemCount === 1 ? '' : 's'}: ${first.problems[0]?.message ?? ''}`,
    {
      extra: {
        tenants: broken.map((t) => ({
          tenantId: t.tenantId,
          problemCount: t.problemCount,
          problems: t.problems.map((p) => p.message),
        })),
      },
    },
  );
}
