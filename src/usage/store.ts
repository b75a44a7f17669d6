/**
 * The usage tables: the only code that reads or writes them. Every function takes the tenant and
 * filters by it.
 *
 * Bulk writes (rated usage, rejects) go through `BulkInserter`: Kysely compiles one multi-row
 * INSERT per row count, once, and each batch runs that compiled statement with its own bound
 * parameters. Building and compiling a query of 1 000 rows × 40 columns on every batch would cost
 * more than the insert itself, and the SQL text is the same each time.
 */
import { sql, type CompiledQuery } from 'kysely';
import { BulkInserter, placeholderStyle, type BulkInsertOptions } from '../storage/bulk-insert.js';
import { QueryTemplate } from '../storage/query-template.js';
import type { Executor } from '../storage/database.js';
import { toBigInt, toSafeNumber } from '../storage/values.js';
import type { Instant } from '../kernel/clock.js';
import type { SourceDefinition } from './source.js';
import type { RejectReason } from './model.js';
import { storedTraceWordIds, unpackStoredTrace } from './trace-words.js';

export interface UsageSourcesTable {
  id: string;
  tenant_id: string;
  name: string;
  format: string;
  definition: string;
  created_at: string;
  updated_at: string;
}

export interface UsageImportsTable {
  id: string;
  tenant_id: string;
  source: string;
  file_name: string;
  checksum: string;
  size_bytes: bigint | number;
  status: string;
  forced: bigint | number;
  records_in: bigint | number;
  rated: bigint | number;
  rejected: bigint | number;
  duplicates: bigint | number;
  next_byte_offset: bigint | number;
  next_line: bigint | number;
  error: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface UsageControlsTable {
  tenant_id: string;
  import_id: string;
  event_day: string;
  source: string;
  records_in: bigint | number;
  rated: bigint | number;
  rejected: bigint | number;
  duplicates: bigint | number;
}

export interface UsageRejectsTable {
  id: bigint | number;
  tenant_id: string;
  import_id: string;
  source: string;
  line: bigint | number;
  byte_offset: bigint | number;
  kind: string;
  reason: string;
  field: string | null;
  message: string;
  raw: string;
  event_day: string;
  status: string;
  attempts: bigint | number;
  resolved_usage_id: bigint | number | null;
  created_at: string;
  updated_at: string;
}

export interface RatedUsageTable {
  id: bigint | number;
  tenant_id: string;
  import_id: string;
  source: string;
  line: bigint | number;
  source_record_id: string | null;
  subscription_id: string;
  account_id: string;
  service: string;
  identity: string;
  start_at: string;
  duration_sec: bigint | number;
  volume_up_bytes: bigint | number;
  volume_down_bytes: bigint | number;
  event_count: bigint | number;
  called_number: string | null;
  detail: string | null;
  charged_units: bigint | number;
  allowance_units: bigint | number;
  amount_pico: bigint | number;
  currency: string;
  status: string;
  kind: string;
  corrects_id: bigint | number | null;
  trace: string;
  raw: string;
  rated_at: string;
}

export interface UsageDedupChunksTable {
  id: bigint | number;
  tenant_id: string;
  source: string;
  event_day: string;
  import_id: string;
  key_count: bigint | number;
  keys: string;
}

export interface RatingCountersTable {
  tenant_id: string;
  owner_id: string;
  counter: string;
  period_index: bigint | number;
  used: bigint | number;
  state: string;
  updated_at: string;
}

export interface RatingCounterGenerationsTable {
  tenant_id: string;
  generation: bigint | number;
}

export interface UsageTraceWordsTable {
  tenant_id: string;
  id: bigint | number;
  word: string;
}

export interface UsageIdBlocksTable {
  name: string;
  next_id: bigint | number;
}

declare module '../storage/schema.js' {
  interface DatabaseSchema {
    usage_sources: UsageSourcesTable;
    usage_imports: UsageImportsTable;
    usage_controls: UsageControlsTable;
    usage_rejects: UsageRejectsTable;
    rated_usage: RatedUsageTable;
    usage_dedup_chunks: UsageDedupChunksTable;
    rating_counters: RatingCountersTable;
    rating_counter_generations: RatingCounterGenerationsTable;
    usage_id_blocks: UsageIdBlocksTable;
    usage_trace_words: UsageTraceWordsTable;
  }
}

// ---------------------------------------------------------------------------------------------
// Bulk inserts

export { BulkInserter };

export const RATED_USAGE_COLUMNS = [
  'id',
  'tenant_id',
  'import_id',
  'source',
  'line',
  'source_record_id',
  'subscription_id',
  'account_id',
  'service',
  'identity',
  'start_at',
  'duration_sec',
  'volume_up_bytes',
  'volume_down_bytes',
  'event_count',
  'called_number',
  'detail',
  'charged_units',
  'allowance_units',
  'amount_pico',
  'currency',
  'status',
  'kind',
  'corrects_id',
  'trace',
  'raw',
  'rated_at',
] as const satisfies ReadonlyArray<keyof RatedUsageTable>;

export const REJECT_COLUMNS = [
  'id',
  'tenant_id',
  'import_id',
  'source',
  'line',
  'byte_offset',
  'kind',
  'reason',
  'field',
  'message',
  'raw',
  'event_day',
  'status',
  'attempts',
  'resolved_usage_id',
  'created_at',
  'updated_at',
] as const satisfies ReadonlyArray<keyof UsageRejectsTable>;

/**
 * Every writer of rated rows runs its inserts in a transaction rolled back whole on any failure
 * (a batch of an import, a re-rating, a group commit of online charging): see BulkInsertOptions.
 * On SQLite, with no foreign key on the table (migration 0053), that spares the statement journal.
 */
const WHOLE: BulkInsertOptions = { rolledBackWhole: true };

export const ratedUsageInserter = (): BulkInserter =>
  new BulkInserter('rated_usage', RATED_USAGE_COLUMNS, undefined, {}, WHOLE);

/** The columns of a rated record as rating first writes it: unbilled, original, correcting nothing. */
export const ORIGINAL_USAGE_COLUMNS = RATED_USAGE_COLUMNS.filter(
  (column) => column !== 'status' && column !== 'kind' && column !== 'corrects_id',
);

/** Inserts original rated records (ORIGINAL_USAGE_COLUMNS); the constant columns are literals. */
export const originalUsageInserter = (): BulkInserter =>
  new BulkInserter(
    'rated_usage',
    ORIGINAL_USAGE_COLUMNS,
    undefined,
    { status: 'unbilled', kind: 'original', corrects_id: null },
    WHOLE,
  );
export const rejectInserter = (): BulkInserter => new BulkInserter('usage_rejects', REJECT_COLUMNS);

/**
 * Takes `count` consecutive ids of `name` ('rated_usage', 'usage_rejects', 'usage_dedup_chunks')
 * and returns the first. Inside the caller's transaction: the block is the caller's once it
 * commits, and a rolled-back batch gives its block back.
 */
export async function allocateIds(db: Executor, name: string, count: number): Promise<bigint> {
  const { rows } = await db.executeQuery<{ next_id: unknown }>(allocateIdsQuery(db, name, count));
  const row = rows[0];
  if (row === undefined) throw new Error(`usage_id_blocks has no row ${name}`);
  return firstAllocatedId(row, count);
}

/**
 * allocateIds' statement, compiled but not run, for a writer that runs it elsewhere (the charging
 * engine's writer thread); firstAllocatedId reads its row.
 */
export function allocateIdsQuery(db: Executor, name: string, count: number): CompiledQuery {
  return db
    .updateTable('usage_id_blocks')
    .set((eb) => ({ next_id: eb('next_id', '+', count) }))
    .where('name', '=', name)
    .returning('next_id')
    .compile();
}

export function firstAllocatedId(row: { readonly next_id: unknown }, count: number): bigint {
  return toBigInt(row.next_id as bigint, 'usage_id_blocks.next_id') - BigInt(count);
}

// ---------------------------------------------------------------------------------------------
// Trace words (packed charge traces, trace-words.ts)

/** Every trace word of the tenant (an importer loads them once). */
export async function loadTraceWords(
  db: Executor,
  tenantId: string,
): Promise<Array<{ id: number; word: string }>> {
  const rows = await db
    .selectFrom('usage_trace_words')
    .select(['id', 'word'])
    .where('tenant_id', '=', tenantId)
    .execute();
  return rows.map((row) => ({ id: toSafeNumber(row.id, 'usage_trace_words.id'), word: row.word }));
}

const traceWordInserter = new BulkInserter('usage_trace_words', ['tenant_id', 'id', 'word']);

export async function insertTraceWords(
  db: Executor,
  tenantId: string,
  words: ReadonlyArray<{ readonly id: number; readonly word: string }>,
): Promise<void> {
  if (words.length === 0) return;
  const values: unknown[] = [];
  for (const { id, word } of words) values.push(tenantId, id, word);
  await traceWordInserter.insert(db, values);
}

/** Rows as read, with packed traces replaced by the traces they stand for. */
async function withTraces<T extends { trace: string; subscription_id: string; account_id: string }>(
  db: Executor,
  tenantId: string,
  rows: T[],
): Promise<T[]> {
  const ids = new Set<number>();
  for (const row of rows) storedTraceWordIds(row.trace, ids);
  const words = new Map<number, string>();
  const wanted = [...ids];
  for (let i = 0; i < wanted.length; i += 500) {
    const found = await db
      .selectFrom('usage_trace_words')
      .select(['id', 'word'])
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', wanted.slice(i, i + 500))
      .execute();
    for (const row of found) words.set(toSafeNumber(row.id, 'usage_trace_words.id'), row.word);
  }
  for (const row of rows) {
    row.trace = unpackStoredTrace(row.trace, row.subscription_id, row.account_id, (id) => words.get(id));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Sources

export interface SourceRecord {
  readonly id: string;
  readonly definition: SourceDefinition;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

function toSource(row: UsageSourcesTable): SourceRecord {
  return {
    id: row.id,
    definition: JSON.parse(row.definition) as SourceDefinition,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function findSource(
  db: Executor,
  tenantId: string,
  name: string,
): Promise<SourceRecord | undefined> {
  const row = await db
    .selectFrom('usage_sources')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .executeTakeFirst();
  return row === undefined ? undefined : toSource(row);
}

export async function listSources(db: Executor, tenantId: string): Promise<SourceRecord[]> {
  const rows = await db
    .selectFrom('usage_sources')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('name')
    .execute();
  return rows.map(toSource);
}

export async function insertSource(
  db: Executor,
  tenantId: string,
  id: string,
  definition: SourceDefinition,
  now: Instant,
): Promise<void> {
  await db
    .insertInto('usage_sources')
    .values({
      id,
      tenant_id: tenantId,
      name: definition.name,
      format: definition.format,
      definition: JSON.stringify(definition),
      created_at: now,
      updated_at: now,
    })
    .execute();
}

export async function replaceSource(
  db: Executor,
  tenantId: string,
  definition: SourceDefinition,
  now: Instant,
): Promise<void> {
  await db
    .updateTable('usage_sources')
    .set({ format: definition.format, definition: JSON.stringify(definition), updated_at: now })
    .where('tenant_id', '=', tenantId)
    .where('name', '=', definition.name)
    .execute();
}

// ---------------------------------------------------------------------------------------------
// Imports and controls

export type ImportStatus = 'running' | 'completed' | 'failed';

export interface ControlCounts {
  recordsIn: number;
  rated: number;
  rejected: number;
  duplicates: number;
}

export interface ImportRecord extends ControlCounts {
  readonly id: string;
  readonly source: string;
  readonly fileName: string;
  readonly checksum: string;
  readonly sizeBytes: number;
  readonly status: ImportStatus;
  readonly forced: boolean;
  readonly nextByteOffset: number;
  readonly nextLine: number;
  readonly error: string | undefined;
  readonly startedAt: Instant;
  readonly updatedAt: Instant;
  readonly finishedAt: Instant | undefined;
}

function toImport(row: UsageImportsTable): ImportRecord {
  return {
    id: row.id,
    source: row.source,
    fileName: row.file_name,
    checksum: row.checksum,
    sizeBytes: toSafeNumber(row.size_bytes, 'size_bytes'),
    status: row.status as ImportStatus,
    forced: toSafeNumber(row.forced, 'forced') === 1,
    recordsIn: toSafeNumber(row.records_in, 'records_in'),
    rated: toSafeNumber(row.rated, 'rated'),
    rejected: toSafeNumber(row.rejected, 'rejected'),
    duplicates: toSafeNumber(row.duplicates, 'duplicates'),
    nextByteOffset: toSafeNumber(row.next_byte_offset, 'next_byte_offset'),
    nextLine: toSafeNumber(row.next_line, 'next_line'),
    error: row.error ?? undefined,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at ?? undefined,
  };
}

export interface NewImport {
  readonly id: string;
  readonly source: string;
  readonly fileName: string;
  readonly checksum: string;
  readonly sizeBytes: number;
  readonly forced: boolean;
  readonly now: Instant;
}

export async function insertImport(db: Executor, tenantId: string, input: NewImport): Promise<void> {
  await db
    .insertInto('usage_imports')
    .values({
      id: input.id,
      tenant_id: tenantId,
      source: input.source,
      file_name: input.fileName,
      checksum: input.checksum,
      size_bytes: input.sizeBytes,
      status: 'running',
      forced: input.forced ? 1 : 0,
      records_in: 0,
      rated: 0,
      rejected: 0,
      duplicates: 0,
      next_byte_offset: 0,
      next_line: 1,
      error: null,
      started_at: input.now,
      updated_at: input.now,
      finished_at: null,
    })
    .execute();
}

export async function findImport(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<ImportRecord | undefined> {
  const row = await db
    .selectFrom('usage_imports')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row === undefined ? undefined : toImport(row);
}

/** Imports of a file with this checksum from this source, newest first. */
export async function importsByChecksum(
  db: Executor,
  tenantId: string,
  source: string,
  checksum: string,
): Promise<ImportRecord[]> {
  const rows = await db
    .selectFrom('usage_imports')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('source', '=', source)
    .where('checksum', '=', checksum)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map(toImport);
}

export async function listImports(
  db: Executor,
  tenantId: string,
  filter: { readonly source?: string; readonly after?: string; readonly limit: number },
): Promise<ImportRecord[]> {
  const rows = await db
    .selectFrom('usage_imports')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(filter.source !== undefined, (q) => q.where('source', '=', filter.source!))
    .$if(filter.after !== undefined, (q) => q.where('id', '<', filter.after!))
    .orderBy('id', 'desc')
    .limit(filter.limit)
    .execute();
  return rows.map(toImport);
}

/** Adds one batch's counts to the import and moves its resume point past the batch. */
export async function advanceImport(
  db: Executor,
  tenantId: string,
  id: string,
  delta: ControlCounts,
  next: { readonly byteOffset: number; readonly line: number } | undefined,
  now: Instant,
  expectedOffset?: number,
): Promise<boolean> {
  const result = await db
    .updateTable('usage_imports')
    .set((eb) => ({
      records_in: eb('records_in', '+', delta.recordsIn),
      rated: eb('rated', '+', delta.rated),
      rejected: eb('rejected', '+', delta.rejected),
      duplicates: eb('duplicates', '+', delta.duplicates),
      ...(next === undefined ? {} : { next_byte_offset: next.byteOffset, next_line: next.line }),
      updated_at: now,
    }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    // A compare-and-set on the resume point: two processes resuming one import cannot both
    // commit the same batch; the second finds the offset moved and rolls back.
    .$if(expectedOffset !== undefined, (q) => q.where('next_byte_offset', '=', expectedOffset!))
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function finishImport(
  db: Executor,
  tenantId: string,
  id: string,
  status: ImportStatus,
  error: string | undefined,
  now: Instant,
): Promise<void> {
  await db
    .updateTable('usage_imports')
    .set({ status, error: error ?? null, finished_at: now, updated_at: now })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

/** Notes why an import stopped; it stays 'running', to be resumed by running it again. */
export async function noteImportError(
  db: Executor,
  tenantId: string,
  id: string,
  error: string,
  now: Instant,
): Promise<void> {
  await db
    .updateTable('usage_imports')
    .set({ error, updated_at: now })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

/** Adds counts to the control rows of (import, event day), creating them as needed. */
export async function addControls(
  db: Executor,
  tenantId: string,
  importId: string,
  source: string,
  perDay: ReadonlyMap<string, ControlCounts>,
): Promise<void> {
  for (const query of addControlsQueries(db, tenantId, importId, source, perDay))
    await db.executeQuery(query);
}

/** addControls' statements, compiled but not run (see allocateIdsQuery). */
export function addControlsQueries(
  db: Executor,
  tenantId: string,
  importId: string,
  source: string,
  perDay: ReadonlyMap<string, ControlCounts>,
): CompiledQuery[] {
  const queries: CompiledQuery[] = [];
  for (const [day, counts] of perDay) {
    queries.push(
      addControlsTemplate.compile(db, {
        tenantId,
        importId,
        day,
        source,
        recordsIn: counts.recordsIn,
        rated: counts.rated,
        rejected: counts.rejected,
        duplicates: counts.duplicates,
      }),
    );
  }
  return queries;
}

// Compiled once: online charging writes these in every group commit.
const addControlsTemplate = new QueryTemplate(
  ['tenantId', 'importId', 'day', 'source', 'recordsIn', 'rated', 'rejected', 'duplicates'],
  (db, v) => {
    const n = (marker: string): number => marker as unknown as number;
    return db
      .insertInto('usage_controls')
      .values({
        tenant_id: v.tenantId,
        import_id: v.importId,
        event_day: v.day,
        source: v.source,
        records_in: n(v.recordsIn),
        rated: n(v.rated),
        rejected: n(v.rejected),
        duplicates: n(v.duplicates),
      })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'import_id', 'event_day']).doUpdateSet((eb) => ({
          records_in: eb('usage_controls.records_in', '+', n(v.recordsIn)),
          rated: eb('usage_controls.rated', '+', n(v.rated)),
          rejected: eb('usage_controls.rejected', '+', n(v.rejected)),
          duplicates: eb('usage_controls.duplicates', '+', n(v.duplicates)),
        })),
      );
  },
);

/** The counts of a stream import (one that is never finished) moved by `delta`, compiled. */
export function addToImportQuery(
  db: Executor,
  tenantId: string,
  id: string,
  delta: ControlCounts,
  now: Instant,
): CompiledQuery {
  return addToImportTemplate.compile(db, {
    tenantId,
    id,
    recordsIn: delta.recordsIn,
    rated: delta.rated,
    rejected: delta.rejected,
    duplicates: delta.duplicates,
    now,
  });
}

const addToImportTemplate = new QueryTemplate(
  ['tenantId', 'id', 'recordsIn', 'rated', 'rejected', 'duplicates', 'now'],
  (db, v) => {
    const n = (marker: string): number => marker as unknown as number;
    return db
      .updateTable('usage_imports')
      .set((eb) => ({
        records_in: eb('records_in', '+', n(v.recordsIn)),
        rated: eb('rated', '+', n(v.rated)),
        rejected: eb('rejected', '+', n(v.rejected)),
        duplicates: eb('duplicates', '+', n(v.duplicates)),
        updated_at: v.now,
      }))
      .where('tenant_id', '=', v.tenantId)
      .where('id', '=', v.id);
  },
);

export interface ControlRow extends ControlCounts {
  readonly importId: string;
  readonly source: string;
  readonly eventDay: string;
}

export async function listControls(
  db: Executor,
  tenantId: string,
  filter: { readonly importId?: string; readonly fromDay?: string; readonly toDay?: string },
): Promise<ControlRow[]> {
  const rows = await db
    .selectFrom('usage_controls')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(filter.importId !== undefined, (q) => q.where('import_id', '=', filter.importId!))
    .$if(filter.fromDay !== undefined, (q) => q.where('event_day', '>=', filter.fromDay!))
    .$if(filter.toDay !== undefined, (q) => q.where('event_day', '<=', filter.toDay!))
    .orderBy('event_day')
    .orderBy('import_id')
    .execute();
  return rows.map((row) => ({
    importId: row.import_id,
    source: row.source,
    eventDay: row.event_day,
    recordsIn: toSafeNumber(row.records_in, 'records_in'),
    rated: toSafeNumber(row.rated, 'rated'),
    rejected: toSafeNumber(row.rejected, 'rejected'),
    duplicates: toSafeNumber(row.duplicates, 'duplicates'),
  }));
}

/** Counts of rated usage and of reject rows of one import, for the control check. */
export async function countStoredOfImport(
  db: Executor,
  tenantId: string,
  importId: string,
): Promise<{ rated: number; rejected: number; duplicates: number }> {
  const rated = await db
    .selectFrom('rated_usage')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('import_id', '=', importId)
    .where('kind', '=', 'original')
    .executeTakeFirstOrThrow();
  const rejects = await db
    .selectFrom('usage_rejects')
    .select(['kind', (eb) => eb.fn.countAll().as('n')])
    .where('tenant_id', '=', tenantId)
    .where('import_id', '=', importId)
    .groupBy('kind')
    .execute();
  const of = (kind: string): number => {
    const row = rejects.find((r) => r.kind === kind);
    return row === undefined ? 0 : toSafeNumber(row.n, 'count');
  };
  return { rated: toSafeNumber(rated.n, 'count'), rejected: of('reject'), duplicates: of('duplicate') };
}

// ---------------------------------------------------------------------------------------------
// Deduplication chunks

export async function insertDedupChunk(
  db: Executor,
  tenantId: string,
  chunk: {
    readonly id: bigint;
    readonly source: string;
    readonly eventDay: string;
    readonly importId: string;
    readonly keyCount: number;
    readonly keys: string;
  },
): Promise<void> {
  await db
    .insertInto('usage_dedup_chunks')
    .values({
      id: chunk.id,
      tenant_id: tenantId,
      source: chunk.source,
      event_day: chunk.eventDay,
      import_id: chunk.importId,
      key_count: chunk.keyCount,
      keys: chunk.keys,
    })
    .execute();
}

/** The dedup chunks of (source, day), oldest first; only those after `afterId` when given. */
export async function loadDedupChunks(
  db: Executor,
  tenantId: string,
  source: string,
  eventDay: string,
  afterId?: bigint,
): Promise<Array<{ id: bigint; keys: string }>> {
  const rows = await db
    .selectFrom('usage_dedup_chunks')
    .select(['id', 'keys'])
    .where('tenant_id', '=', tenantId)
    .where('source', '=', source)
    .where('event_day', '=', eventDay)
    .$if(afterId !== undefined, (q) => q.where('id', '>', afterId!))
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ id: toBigInt(row.id, 'id'), keys: row.keys }));
}

/** Locks a source's row until the transaction ends (PostgreSQL), serialising its batches. */
export async function lockSource(db: Executor, tenantId: string, source: string): Promise<void> {
  await db
    .selectFrom('usage_sources')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('name', '=', source)
    .forUpdate()
    .execute();
}

// ---------------------------------------------------------------------------------------------
// Rating counters

/** One counter as stored: `counter` is 'a:' + allowance code or 't:' + tier key; state is the ledger's JSON. */
export interface CounterRow {
  readonly ownerId: string;
  readonly counter: string;
  readonly periodIndex: number;
  readonly used: number;
  readonly state: string;
}

/** Every counter of the owners (all periods; a subscription has a handful). */
export async function loadCounters(
  db: Executor,
  tenantId: string,
  ownerIds: readonly string[],
  options: { readonly forUpdate?: boolean } = {},
): Promise<CounterRow[]> {
  const out: CounterRow[] = [];
  const unique = [...new Set(ownerIds)].sort();
  for (let i = 0; i < unique.length; i += 500) {
    const part = unique.slice(i, i + 500);
    const rows = await db
      .selectFrom('rating_counters')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('owner_id', 'in', part)
      .orderBy('owner_id')
      .orderBy('counter')
      .orderBy('period_index')
      .$if(options.forUpdate === true, (q) => q.forUpdate())
      .execute();
    for (const row of rows) {
      out.push({
        ownerId: row.owner_id,
        counter: row.counter,
        periodIndex: toSafeNumber(row.period_index, 'period_index'),
        used: toSafeNumber(row.used, 'used'),
        state: row.state,
      });
    }
  }
  return out;
}

/**
 * The tenant's counter generation on SQLite (0 before any counter was written): it changes
 * whenever any writer saves counters, so a reader that holds counters in memory can tell whether
 * they are still current.
 */
export async function counterGeneration(db: Executor, tenantId: string): Promise<number> {
  const row = await db
    .selectFrom('rating_counter_generations')
    .select('generation')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return row === undefined ? 0 : toSafeNumber(row.generation, 'generation');
}

/** Increases the tenant's counter generation by one, in the caller's transaction; returns it. */
async function bumpCounterGeneration(db: Executor, tenantId: string): Promise<number> {
  const row = await db
    .insertInto('rating_counter_generations')
    .values({ tenant_id: tenantId, generation: 1 })
    .onConflict((oc) =>
      oc
        .column('tenant_id')
        .doUpdateSet((eb) => ({ generation: eb('rating_counter_generations.generation', '+', 1) })),
    )
    .returning('generation')
    .executeTakeFirstOrThrow();
  return toSafeNumber(row.generation, 'generation');
}

const counterUpserter = new BulkInserter(
  'rating_counters',
  ['tenant_id', 'owner_id', 'counter', 'period_index', 'used', 'state', 'updated_at'],
  { key: ['tenant_id', 'owner_id', 'counter', 'period_index'], update: ['used', 'state', 'updated_at'] },
);

/**
 * Writes counters' new values, many rows per statement (one writer per batch transaction, so the
 * last write is the truth).
 */
export async function saveCounters(
  db: Executor,
  tenantId: string,
  rows: readonly CounterRow[],
  now: Instant,
): Promise<number | undefined> {
  if (rows.length === 0) return undefined;
  // Only SQLite keeps the generation: there every write transaction holds the database's one
  // write lock anyway, while on PostgreSQL one row bumped by every writer would serialise
  // writers that otherwise lock only their own counters (and raters there read counters afresh).
  const generation =
    placeholderStyle(db) === 'question' ? await bumpCounterGeneration(db, tenantId) : undefined;
  const values: unknown[] = [];
  for (const row of rows)
    values.push(tenantId, row.ownerId, row.counter, row.periodIndex, row.used, row.state, now);
  await counterUpserter.insert(db, values);
  return generation;
}

// ---------------------------------------------------------------------------------------------
// Rejects

export type RejectKind = 'reject' | 'duplicate';
export type RejectStatus = 'open' | 'reprocessed' | 'discarded';

export interface RejectRecord {
  readonly id: bigint;
  readonly importId: string;
  readonly source: string;
  readonly line: number;
  readonly byteOffset: number;
  readonly kind: RejectKind;
  readonly reason: RejectReason | 'duplicate';
  readonly field: string | undefined;
  readonly message: string;
  readonly raw: string;
  readonly eventDay: string;
  readonly status: RejectStatus;
  readonly attempts: number;
  readonly resolvedUsageId: bigint | undefined;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

function toReject(row: UsageRejectsTable): RejectRecord {
  return {
    id: toBigInt(row.id, 'id'),
    importId: row.import_id,
    source: row.source,
    line: toSafeNumber(row.line, 'line'),
    byteOffset: toSafeNumber(row.byte_offset, 'byte_offset'),
    kind: row.kind as RejectKind,
    reason: row.reason as RejectReason,
    field: row.field ?? undefined,
    message: row.message,
    raw: row.raw,
    eventDay: row.event_day,
    status: row.status as RejectStatus,
    attempts: toSafeNumber(row.attempts, 'attempts'),
    resolvedUsageId:
      row.resolved_usage_id === null ? undefined : toBigInt(row.resolved_usage_id, 'resolved_usage_id'),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface RejectFilter {
  readonly status?: RejectStatus;
  readonly kind?: RejectKind;
  readonly reason?: string;
  readonly source?: string;
  readonly importId?: string;
  readonly ids?: readonly bigint[];
  readonly after?: bigint;
  readonly limit: number;
}

export async function listRejects(
  db: Executor,
  tenantId: string,
  filter: RejectFilter,
): Promise<RejectRecord[]> {
  const rows = await db
    .selectFrom('usage_rejects')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
    .$if(filter.kind !== undefined, (q) => q.where('kind', '=', filter.kind!))
    .$if(filter.reason !== undefined, (q) => q.where('reason', '=', filter.reason!))
    .$if(filter.source !== undefined, (q) => q.where('source', '=', filter.source!))
    .$if(filter.importId !== undefined, (q) => q.where('import_id', '=', filter.importId!))
    .$if(filter.ids !== undefined, (q) => q.where('id', 'in', filter.ids!.length === 0 ? [-1n] : filter.ids!))
    .$if(filter.after !== undefined, (q) => q.where('id', '>', filter.after!))
    .orderBy('id')
    .limit(filter.limit)
    .execute();
  return rows.map(toReject);
}

export async function updateReject(
  db: Executor,
  tenantId: string,
  id: bigint,
  change: {
    readonly status?: RejectStatus;
    readonly kind?: RejectKind;
    readonly raw?: string;
    readonly reason?: string;
    readonly field?: string | null;
    readonly message?: string;
    readonly attemptsDelta?: number;
    readonly resolvedUsageId?: bigint;
  },
  now: Instant,
): Promise<void> {
  await db
    .updateTable('usage_rejects')
    .set((eb) => ({
      ...(change.status === undefined ? {} : { status: change.status }),
      ...(change.kind === undefined ? {} : { kind: change.kind }),
      ...(change.raw === undefined ? {} : { raw: change.raw }),
      ...(change.reason === undefined ? {} : { reason: change.reason }),
      ...(change.field === undefined ? {} : { field: change.field }),
      ...(change.message === undefined ? {} : { message: change.message }),
      ...(change.resolvedUsageId === undefined ? {} : { resolved_usage_id: change.resolvedUsageId }),
      attempts: eb('attempts', '+', change.attemptsDelta ?? 0),
      updated_at: now,
    }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

// ---------------------------------------------------------------------------------------------
// Rated usage

export interface RatedUsageFilter {
  readonly subscriptionId?: string;
  readonly accountId?: string;
  readonly service?: string;
  readonly importId?: string;
  readonly status?: string;
  readonly kind?: 'original' | 'rerate';
  /**
   * false: leave out online charging's records (sources `online:...`), which balances and buckets
   * priced and which re-rating against the allowance counters must not touch; true: only those.
   */
  readonly online?: boolean;
  readonly from?: Instant;
  readonly to?: Instant;
  readonly after?: bigint;
  readonly limit: number;
}

export async function listRatedUsage(
  db: Executor,
  tenantId: string,
  filter: RatedUsageFilter,
): Promise<RatedUsageTable[]> {
  const rows = await db
    .selectFrom('rated_usage')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(filter.subscriptionId !== undefined, (q) => q.where('subscription_id', '=', filter.subscriptionId!))
    .$if(filter.accountId !== undefined, (q) => q.where('account_id', '=', filter.accountId!))
    .$if(filter.service !== undefined, (q) => q.where('service', '=', filter.service!))
    .$if(filter.importId !== undefined, (q) => q.where('import_id', '=', filter.importId!))
    .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
    .$if(filter.kind !== undefined, (q) => q.where('kind', '=', filter.kind!))
    .$if(filter.online === false, (q) => q.where('source', 'not like', 'online:%'))
    .$if(filter.online === true, (q) => q.where('source', 'like', 'online:%'))
    .$if(filter.from !== undefined, (q) => q.where('start_at', '>=', filter.from!))
    .$if(filter.to !== undefined, (q) => q.where('start_at', '<', filter.to!))
    .$if(filter.after !== undefined, (q) => q.where('id', '>', filter.after!))
    .orderBy('id')
    .limit(filter.limit)
    .execute();
  return withTraces(db, tenantId, rows);
}

export async function findRatedUsage(
  db: Executor,
  tenantId: string,
  id: bigint,
): Promise<RatedUsageTable | undefined> {
  const row = await db
    .selectFrom('rated_usage')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row === undefined ? undefined : (await withTraces(db, tenantId, [row]))[0];
}

/**
 * Every record that corrects one of `originals` (re-rating deltas), in id order, for computing the
 * current net charge. A delta has its original's start (rerateUsage copies it), so the originals
 * are looked up in groups of up to 500 by (tenant, start range of the group, ids): each query
 * stays within the bound-parameter limits (SQLite 32 766, PostgreSQL 65 535) and walks the
 * rated_usage_start index over the group's time span, not the whole table (there is no index on
 * corrects_id). Groups are cut from the originals sorted by start, so their spans do not overlap
 * and a month re-rated reads each index entry of the month about once.
 */
export async function listCorrections(
  db: Executor,
  tenantId: string,
  originals: ReadonlyArray<{ readonly id: bigint; readonly startAt: string }>,
): Promise<RatedUsageTable[]> {
  if (originals.length === 0) return [];
  const sorted = [...originals].sort((a, b) =>
    a.startAt < b.startAt ? -1 : a.startAt > b.startAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  const rows: RatedUsageTable[] = [];
  for (let i = 0; i < sorted.length; i += CORRECTION_GROUP) {
    const group = sorted.slice(i, i + CORRECTION_GROUP);
    const part = await db
      .selectFrom('rated_usage')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('start_at', '>=', (group[0] as { startAt: string }).startAt)
      .where('start_at', '<=', (group[group.length - 1] as { startAt: string }).startAt)
      .where(
        'corrects_id',
        'in',
        group.map((o) => o.id),
      )
      .execute();
    rows.push(...part);
  }
  rows.sort((a, b) => {
    const x = BigInt(a.id);
    const y = BigInt(b.id);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return withTraces(db, tenantId, rows);
}

/** Originals per listCorrections query (well under every database's bound-parameter limit). */
const CORRECTION_GROUP = 500;

/** Sums of rated amounts per currency, for reports and tests. */
export async function sumRatedUsage(
  db: Executor,
  tenantId: string,
  filter: { readonly importId?: string; readonly subscriptionId?: string },
): Promise<Array<{ currency: string; amountPico: bigint; records: number }>> {
  const rows = await db
    .selectFrom('rated_usage')
    .select([
      'currency',
      sql<string>`cast(sum(amount_pico) as text)`.as('total'),
      (eb) => eb.fn.countAll().as('n'),
    ])
    .where('tenant_id', '=', tenantId)
    .$if(filter.importId !== undefined, (q) => q.where('import_id', '=', filter.importId!))
    .$if(filter.subscriptionId !== undefined, (q) => q.where('subscription_id', '=', filter.subscriptionId!))
    .groupBy('currency')
    .orderBy('currency')
    .execute();
  return rows.map((row) => ({
    currency: row.currency,
    amountPico: BigInt(row.total ?? '0'),
    records: toSafeNumber(row.n, 'count'),
  }));
}

// =============================================================================================
// RADIUS accounting sessions (migration 0041_radius_sessions; used by workflows/usage-radius.ts)
//
// The counters of each session's last stored report. `state` is JSON the workflow writes and
// reads back (this store does not interpret it); `version` makes every write a compare-and-set.

export interface RadiusSessionsTable {
  tenant_id: string;
  source: string;
  session_key: string;
  nas: string;
  state: string;
  stopped: bigint | number;
  version: bigint | number;
  created_at: string;
  updated_at: string;
}

declare module '../storage/schema.js' {
  interface DatabaseSchema {
    radius_sessions: RadiusSessionsTable;
  }
}

export interface RadiusSessionRecord {
  readonly sessionKey: string;
  readonly nas: string;
  /** JSON, as the workflow wrote it. */
  readonly state: string;
  readonly stopped: boolean;
  /** 1 after the first write, one more per update. */
  readonly version: number;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

export async function findRadiusSession(
  db: Executor,
  tenantId: string,
  source: string,
  sessionKey: string,
): Promise<RadiusSessionRecord | undefined> {
  const row = await db
    .selectFrom('radius_sessions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('source', '=', source)
    .where('session_key', '=', sessionKey)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    sessionKey: row.session_key,
    nas: row.nas,
    state: row.state,
    stopped: toSafeNumber(row.stopped, 'radius_sessions.stopped') !== 0,
    version: toSafeNumber(row.version, 'radius_sessions.version'),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Writes a session's counters if nobody else did since they were read: inserts the row (version 1)
 * when `expectedVersion` is 0, else updates it only while its version is still `expectedVersion`.
 * Returns false, writing nothing, when the row moved on (or already exists, for an insert).
 */
export async function saveRadiusSession(
  db: Executor,
  tenantId: string,
  input: {
    readonly source: string;
    readonly sessionKey: string;
    readonly nas: string;
    readonly state: string;
    readonly stopped: boolean;
    readonly expectedVersion: number;
    readonly now: Instant;
  },
): Promise<boolean> {
  if (input.expectedVersion === 0) {
    const result = await db
      .insertInto('radius_sessions')
      .values({
        tenant_id: tenantId,
        source: input.source,
        session_key: input.sessionKey,
        nas: input.nas,
        state: input.state,
        stopped: input.stopped ? 1 : 0,
        version: 1,
        created_at: input.now,
        updated_at: input.now,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'source', 'session_key']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
  const result = await db
    .updateTable('radius_sessions')
    .set({
      state: input.state,
      stopped: input.stopped ? 1 : 0,
      version: input.expectedVersion + 1,
      updated_at: input.now,
    })
    .where('tenant_id', '=', tenantId)
    .where('source', '=', input.source)
    .where('session_key', '=', input.sessionKey)
    .where('version', '=', input.expectedVersion)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Marks every open session of `nas` stopped (Accounting-On/Off); returns how many. */
export async function stopRadiusSessionsOfNas(
  db: Executor,
  tenantId: string,
  source: string,
  nas: string,
  now: Instant,
): Promise<number> {
  const result = await db
    .updateTable('radius_sessions')
    .set((eb) => ({ stopped: 1, version: eb('version', '+', 1), updated_at: now }))
    .where('tenant_id', '=', tenantId)
    .where('source', '=', source)
    .where('nas', '=', nas)
    .where('stopped', '=', 0)
    .executeTakeFirst();
  return toSafeNumber(result.numUpdatedRows, 'radius_sessions updated');
}

/**
 * Deletes stopped sessions last written before `before`. A report for a deleted session would be
 * taken as its first (and billed from zero), so `before` must be older than any report a NAS can
 * still send late: days, not minutes.
 */
export async function purgeRadiusSessions(db: Executor, tenantId: string, before: Instant): Promise<number> {
  const result = await db
    .deleteFrom('radius_sessions')
    .where('tenant_id', '=', tenantId)
    .where('stopped', '=', 1)
    .where('updated_at', '<', before)
    .executeTakeFirst();
  return toSafeNumber(result.numDeletedRows, 'radius_sessions deleted');
}
// End of RADIUS accounting sessions.
// =============================================================================================
