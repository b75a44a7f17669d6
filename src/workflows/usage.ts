/**
 * Usage use cases: sources, file imports (CLI, watched inbox, HTTP upload), single records
 * (TMF635, RADIUS, FreeSWITCH JSON), rejects and their reprocessing, controls.
 *
 * A file import is resumable. The import row holds the file's checksum and the position after the
 * last committed batch; a batch's rows, rejects, dedup keys, counters, control counts and the new
 * position commit in one transaction (usage-pipeline.ts). Run the same import again after a crash
 * and it goes on from that position: nothing is lost and nothing is counted twice. A file whose
 * checksum was already imported completely is refused unless forced.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { fail, isTollgateError } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import {
  parseSourceDefinition,
  readerSettingsOf,
  UsageErrors,
  READ_FROM_START,
  type ReadItem,
  type ReadStart,
  type SourceDefinition,
  type UsageInput,
  type UsageReader,
} from '../usage/index.js';
import * as store from '../usage/store.js';
import type { ControlRow, ImportRecord, RejectFilter, RejectRecord, SourceRecord } from '../usage/store.js';
import { TEXT_FORMATS, readerFor, readerForSource, validateSourceMapping } from '../usage/formats.js';
import { freeswitchJsonToItem, jsonLineToItem } from '../usage/readers/index.js';
import { findStoredResponse } from '../idempotency/index.js';
import { readExecutor, recordChange, runChange, type Caller, type WorkflowDeps } from './context.js';
import { SubscriberDirectory } from './usage-directory.js';
import { UsagePipeline, type BatchOutcome, type RejectOrigin } from './usage-pipeline.js';
import { createBatchRater } from './usage-rating.js';

export type { ControlRow, ImportRecord, RejectRecord, SourceRecord } from '../usage/store.js';

// ---------------------------------------------------------------------------------------------
// Sources

/** Creates or replaces a source definition (validated, mapping included). */
export async function defineSource(
  deps: WorkflowDeps,
  caller: Caller,
  input: unknown,
): Promise<{ source: SourceRecord; created: boolean }> {
  const definition = parseSourceDefinition(input);
  validateSourceMapping(definition);
  return runChange(deps, caller, async (ctx) => {
    const before = await store.findSource(ctx.tx, ctx.tenantId, definition.name);
    const now = ctx.clock.now();
    if (before === undefined) {
      await store.insertSource(ctx.tx, ctx.tenantId, newId('src', ctx.clock), definition, now);
    } else {
      await store.replaceSource(ctx.tx, ctx.tenantId, definition, now);
    }
    const after = (await store.findSource(ctx.tx, ctx.tenantId, definition.name)) as SourceRecord;
    await recordChange(ctx, {
      action: before === undefined ? 'usage_source.created' : 'usage_source.updated',
      entityType: 'usage_source',
      entityId: after.id,
      before: before?.definition,
      after: after.definition,
    });
    return { source: after, created: before === undefined };
  });
}

export async function getSource(deps: WorkflowDeps, tenantId: string, name: string): Promise<SourceRecord> {
  const found = await store.findSource(readExecutor(deps), tenantId, name);
  if (found === undefined) {
    throw fail(
      UsageErrors.source_not_found,
      `no usage source named ${name}; define it with \`tollgate usage sources set\``,
      {
        field: 'source',
        record: name,
      },
    );
  }
  return found;
}

export function listSources(deps: WorkflowDeps, tenantId: string): Promise<SourceRecord[]> {
  return store.listSources(readExecutor(deps), tenantId);
}

// ---------------------------------------------------------------------------------------------
// File imports

export interface ImportProgress {
  readonly bytesRead: number;
  readonly totalBytes: number;
  /** The import's counts so far, batches of earlier runs included. */
  readonly recordsIn: number;
  readonly rated: number;
  readonly rejected: number;
  readonly duplicates: number;
  /** Records accounted for by earlier runs of a resumed import (0 for a new one): a rate is of the others. */
  readonly recordsBefore: number;
}

export interface ImportFileInput {
  readonly source: string;
  readonly path: string;
  /** Import even when a file with the same checksum was imported before (a new import, counted again). */
  readonly force?: boolean;
  /** Records per transaction (default 10 000). */
  readonly batchRecords?: number;
  readonly onProgress?: (progress: ImportProgress) => void;
  /** The name recorded for the file (default: the path's base name). */
  readonly fileName?: string;
}

export interface ImportFileResult {
  readonly import: ImportRecord;
  /** True when an interrupted import of the same file was continued. */
  readonly resumed: boolean;
  readonly controls: ControlRow[];
}

const DEFAULT_BATCH_RECORDS = 10_000;

/** SHA-256 of a file, streamed. */
export async function fileChecksum(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function importUsageFile(
  deps: WorkflowDeps,
  caller: Caller,
  input: ImportFileInput,
): Promise<ImportFileResult> {
  const tenantId = caller.tenantId;
  const source = (await getSource(deps, tenantId, input.source)).definition;
  // Messages name the file as the caller knows it: an upload's temporary path means nothing to the
  // client (and says how the server is laid out).
  const shownName = input.fileName ?? input.path;
  let size: number;
  let checksum: string;
  try {
    const info = await stat(input.path);
    if (!info.isFile()) throw new Error('not a regular file');
    size = info.size;
    checksum = await fileChecksum(input.path);
  } catch (error) {
    // "ENOENT: no such file or directory, open '/tmp/…'": the path is said once, as the caller knows it.
    const cause = (error as Error).message.replace(/, \w+ '.*'$/, '');
    throw fail(UsageErrors.file_unreadable, `cannot read ${shownName}: ${cause}`, {
      field: 'path',
      record: shownName,
    });
  }
  const earlier = await store.importsByChecksum(deps.database.db, tenantId, source.name, checksum);
  const running = earlier.find((e) => e.status === 'running');
  const done = earlier.find((e) => e.status === 'completed');
  let importRecord: ImportRecord;
  let resumed = false;
  if (running !== undefined && input.force !== true) {
    importRecord = running;
    resumed = true;
  } else if (done !== undefined && input.force !== true) {
    throw fail(
      UsageErrors.already_imported,
      `${shownName} (sha256 ${checksum.slice(0, 12)}…) was imported already as ${done.id} on ${done.finishedAt ?? done.startedAt}; ` +
        'use --force (force=true on an upload) to import it again',
      { record: done.id },
    );
  } else {
    if (input.force !== true) {
      const problem = await sniffFormat(input.path, source);
      if (problem !== undefined) {
        throw fail(
          UsageErrors.file_unreadable,
          `${shownName} does not read as a ${source.format} file of source ${source.name}: ${problem} ` +
            '(nothing was imported; use --force, or force=true on an upload, to import it anyway, every bad record as a reject)',
          { field: 'path', record: shownName },
        );
      }
    }
    const id = newId('imp', deps.clock);
    await runChange(deps, caller, async (ctx) => {
      await store.insertImport(ctx.tx, tenantId, {
        id,
        source: source.name,
        fileName: input.fileName ?? basename(input.path),
        checksum,
        sizeBytes: size,
        forced: input.force === true && (done !== undefined || running !== undefined),
        now: ctx.clock.now(),
      });
      await recordChange(ctx, {
        action: 'usage_import.started',
        entityType: 'usage_import',
        entityId: id,
        after: {
          source: source.name,
          file: input.fileName ?? basename(input.path),
          checksum,
          sizeBytes: size,
        },
      });
    });
    importRecord = (await store.findImport(deps.database.db, tenantId, id)) as ImportRecord;
  }

  const start: ReadStart = { byteOffset: importRecord.nextByteOffset, line: importRecord.nextLine };
  const reader = readerForSource(source);
  const pipeline = newPipeline(deps, tenantId, source, importRecord.id, false, true);
  const totals = {
    recordsIn: importRecord.recordsIn,
    rated: importRecord.rated,
    rejected: importRecord.rejected,
    duplicates: importRecord.duplicates,
  };
  let bytesRead = start.byteOffset;
  const recordsBefore = importRecord.recordsIn;
  const report = (): void => input.onProgress?.({ bytesRead, totalBytes: size, ...totals, recordsBefore });
  /** Where the import resumes: after the last committed batch. */
  let committed: ReadStart = start;
  try {
    let committedOffset = start.byteOffset;
    const commit = async (items: ReadItem[], next: ReadStart): Promise<void> => {
      const outcome: BatchOutcome = await pipeline.processBatch(items, next, undefined, committedOffset);
      committed = next;
      committedOffset = next.byteOffset;
      bytesRead = next.byteOffset;
      totals.recordsIn += outcome.recordsIn;
      totals.rated += outcome.rated;
      totals.rejected += outcome.rejected;
      totals.duplicates += outcome.duplicates;
      report();
    };
    const batchRecords = Math.max(1, input.batchRecords ?? DEFAULT_BATCH_RECORDS);
    let pending: ReadItem[] = [];
    let lastLine = start.line - 1;
    const chunks = createReadStream(input.path, { start: start.byteOffset, highWaterMark: 1 << 20 });
    for await (const batch of reader(chunks, readerSettingsOf(source), start)) {
      for (const item of batch) {
        // A full batch is committed once the item after it is read: its position is where the
        // import resumes.
        if (pending.length >= batchRecords) {
          await commit(pending, item.position);
          pending = [];
        }
        pending.push(item);
      }
    }
    if (pending.length > 0) lastLine = (pending[pending.length - 1] as ReadItem).position.line;
    else lastLine = Math.max(lastLine, importRecord.nextLine - 1);
    // The last batch (possibly empty: the position still moves to the end of the file).
    await commit(pending, { byteOffset: size, line: lastLine + 1 });
  } catch (error) {
    if (!isTollgateError(error) || error.definition !== UsageErrors.import_running) {
      try {
        await store.noteImportError(
          deps.database.db,
          tenantId,
          importRecord.id,
          error instanceof Error ? error.message : String(error),
          deps.clock.now(),
        );
      } catch {
        // The database is what failed (busy, full, gone): the error below says what happened.
      }
    }
    throw interrupted(error, importRecord.id, shownName, committed, totals.recordsIn);
  }

  const finished = await runChange(deps, caller, async (ctx) => {
    const current = (await store.findImport(ctx.tx, tenantId, importRecord.id)) as ImportRecord;
    // Paired assertion: the stored rows add up to the import's counts, and so do its control rows.
    const stored = await store.countStoredOfImport(ctx.tx, tenantId, importRecord.id);
    const controls = await store.listControls(ctx.tx, tenantId, { importId: importRecord.id });
    const sum = controls.reduce(
      (acc, c) => ({
        recordsIn: acc.recordsIn + c.recordsIn,
        rated: acc.rated + c.rated,
        rejected: acc.rejected + c.rejected,
        duplicates: acc.duplicates + c.duplicates,
      }),
      { recordsIn: 0, rated: 0, rejected: 0, duplicates: 0 },
    );
    const balanced =
      current.recordsIn === current.rated + current.rejected + current.duplicates &&
      stored.rated === current.rated &&
      stored.rejected === current.rejected &&
      stored.duplicates === current.duplicates &&
      sum.recordsIn === current.recordsIn &&
      sum.rated === current.rated &&
      sum.rejected === current.rejected &&
      sum.duplicates === current.duplicates;
    const status = balanced ? 'completed' : 'failed';
    const error = balanced
      ? undefined
      : `controls do not balance: import ${JSON.stringify(current)}, stored ${JSON.stringify(stored)}, per day ${JSON.stringify(sum)}`;
    await store.finishImport(ctx.tx, tenantId, importRecord.id, status, error, ctx.clock.now());
    const summary = {
      importId: importRecord.id,
      source: source.name,
      file: current.fileName,
      recordsIn: current.recordsIn,
      rated: current.rated,
      rejected: current.rejected,
      duplicates: current.duplicates,
      balanced,
    };
    await recordChange(ctx, {
      action: balanced ? 'usage_import.completed' : 'usage_import.failed',
      entityType: 'usage_import',
      entityId: importRecord.id,
      after: summary,
      event: { type: balanced ? 'usage_import.completed' : 'usage_import.failed', payload: summary },
    });
    return { record: (await store.findImport(ctx.tx, tenantId, importRecord.id)) as ImportRecord, controls };
  });
  return { import: finished.record, resumed, controls: finished.controls };
}

/**
 * An error of the database, the disk or the network in the middle of an import (SQLite busy past
 * its timeout, a full disk, a lost PostgreSQL connection: errors with a `code`) becomes
 * `usage.import_interrupted`, retryable, saying where the import stopped and that running it again
 * resumes there; the code of the cause is named, its text (which may describe the server) is only
 * in the import's `error` and the logs. Anything else is passed on as it is.
 */
function interrupted(
  error: unknown,
  importId: string,
  shownName: string,
  committed: ReadStart,
  recordsIn: number,
): unknown {
  if (isTollgateError(error) || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return error;
  return fail(
    UsageErrors.import_interrupted,
    `import ${importId} of ${shownName} was interrupted (${code}) with ${recordsIn} records accounted for, ` +
      `before line ${committed.line} (byte ${committed.byteOffset}); those are kept: run the same import again to resume there`,
    { record: importId },
  );
}

const SNIFF_RECORDS = 50;

/**
 * A file of another format (an Asterisk Master.csv dropped into a CSV inbox) would import as a
 * file of nothing but rejects. Before a new import starts, its first records (at most 50, in its
 * first MiB) are read: when there are some and not one of them has the right structure, the file
 * is refused and nothing is written. Returns the first record's problem then.
 */
async function sniffFormat(path: string, source: SourceDefinition): Promise<string | undefined> {
  const reader = readerForSource(source);
  const items: ReadItem[] = [];
  const head = createReadStream(path, { start: 0, end: (1 << 20) - 1, highWaterMark: 1 << 20 });
  try {
    for await (const batch of reader(head, readerSettingsOf(source), READ_FROM_START)) {
      items.push(...batch);
      if (items.length >= SNIFF_RECORDS) break;
    }
  } finally {
    head.destroy();
  }
  // The last item may be a record the 1 MiB cut in two: judge by the others when there are others.
  const judged = items.length > 1 ? items.slice(0, Math.min(items.length - 1, SNIFF_RECORDS)) : items;
  if (judged.length === 0) return undefined;
  const unreadable = judged.every((item) => item.kind === 'reject' && item.reason === 'malformed_record');
  return unreadable ? (judged[0] as Extract<ReadItem, { kind: 'reject' }>).message : undefined;
}

function newPipeline(
  deps: WorkflowDeps,
  tenantId: string,
  source: SourceDefinition,
  importId: string,
  keepResults = true,
  packTraces = false,
): UsagePipeline {
  return new UsagePipeline({
    keepResults,
    packTraces,
    database: deps.database,
    clock: deps.clock,
    tenantId,
    source,
    importId,
    directory: new SubscriberDirectory(deps.database, tenantId),
    rater: createBatchRater(deps, tenantId),
  });
}

export async function getImport(deps: WorkflowDeps, tenantId: string, id: string): Promise<ImportRecord> {
  const found = await store.findImport(readExecutor(deps), tenantId, id);
  if (found === undefined) throw fail(UsageErrors.import_not_found, `no usage import ${id}`, { record: id });
  return found;
}

export function listImports(
  deps: WorkflowDeps,
  tenantId: string,
  filter: { readonly source?: string; readonly after?: string; readonly limit: number },
): Promise<ImportRecord[]> {
  return store.listImports(readExecutor(deps), tenantId, filter);
}

export function listControls(
  deps: WorkflowDeps,
  tenantId: string,
  filter: { readonly importId?: string; readonly fromDay?: string; readonly toDay?: string },
): Promise<ControlRow[]> {
  return store.listControls(readExecutor(deps), tenantId, filter);
}

/** Control counts per event day over all imports: records in = rated + rejected + duplicates. */
export async function dailyControls(
  deps: WorkflowDeps,
  tenantId: string,
  filter: { readonly fromDay?: string; readonly toDay?: string },
): Promise<Array<store.ControlCounts & { eventDay: string; balanced: boolean }>> {
  const rows = await store.listControls(readExecutor(deps), tenantId, filter);
  const byDay = new Map<string, store.ControlCounts>();
  for (const row of rows) {
    const day = byDay.get(row.eventDay) ?? { recordsIn: 0, rated: 0, rejected: 0, duplicates: 0 };
    day.recordsIn += row.recordsIn;
    day.rated += row.rated;
    day.rejected += row.rejected;
    day.duplicates += row.duplicates;
    byDay.set(row.eventDay, day);
  }
  return [...byDay.entries()].map(([eventDay, c]) => ({
    eventDay,
    ...c,
    balanced: c.recordsIn === c.rated + c.rejected + c.duplicates,
  }));
}

// ---------------------------------------------------------------------------------------------
// Records that arrive one by one or in small groups (TMF635, RADIUS, FreeSWITCH JSON)

/**
 * Processes records that did not come in a file: each call is one batch of the source's
 * "stream import", an import row per source and UTC day that collects such records, so they
 * have controls like files. Returns where each record ended.
 */
export async function ingestRecords(
  deps: WorkflowDeps,
  caller: Caller,
  sourceName: string,
  items: readonly ReadItem[],
): Promise<BatchOutcome> {
  const tenantId = caller.tenantId;
  const source = (await getSource(deps, tenantId, sourceName)).definition;
  const importId = await streamImportOf(deps, caller, source.name, deps.clock.now().slice(0, 10));
  const pipeline = newPipeline(deps, tenantId, source, importId);
  return pipeline.processBatch(items, { byteOffset: 0, line: 1 });
}

/**
 * The id of the source's stream import of a UTC day ("YYYY-MM-DD"), the import row that collects
 * the records arriving one by one that day (TMF635, RADIUS, FreeSWITCH JSON); created on first use.
 */
export async function streamImportOf(
  deps: WorkflowDeps,
  caller: Caller,
  sourceName: string,
  day: string,
): Promise<string> {
  const checksum = `stream:${day}`;
  const existing = await store.importsByChecksum(deps.database.db, caller.tenantId, sourceName, checksum);
  if (existing[0] !== undefined) return existing[0].id;
  return runChange(deps, caller, async (ctx) => {
    // Again inside the write transaction: two first requests of the day may both have found none
    // above, and the second must take the first one's import, not open another. SQLite runs one
    // write transaction at a time, so the second sees the first's import; PostgreSQL (read
    // committed) would let both look at once and both insert, so there they queue on the tenant's
    // row first, and the second's read, a new statement, sees what the first committed.
    if (ctx.dialect === 'postgres') {
      await ctx.tx.selectFrom('tenants').select('id').where('id', '=', caller.tenantId).forUpdate().execute();
    }
    const found = await store.importsByChecksum(ctx.tx, caller.tenantId, sourceName, checksum);
    if (found[0] !== undefined) return found[0].id;
    const id = newId('imp', ctx.clock);
    await store.insertImport(ctx.tx, caller.tenantId, {
      id,
      source: sourceName,
      fileName: `${sourceName} records of ${day}`,
      checksum,
      sizeBytes: 0,
      forced: false,
      now: ctx.clock.now(),
    });
    return id;
  });
}

/** A record given as a normalised input (API callers), wrapped as a read item. */
export function recordItem(input: UsageInput, raw: string, line = 1): ReadItem {
  return { kind: 'record', position: { line, byteOffset: 0 }, raw, input };
}

// ---------------------------------------------------------------------------------------------
// Rejects

export function listRejects(
  deps: WorkflowDeps,
  tenantId: string,
  filter: RejectFilter,
): Promise<RejectRecord[]> {
  return store.listRejects(readExecutor(deps), tenantId, filter);
}

export async function getReject(deps: WorkflowDeps, tenantId: string, id: bigint): Promise<RejectRecord> {
  const [found] = await store.listRejects(readExecutor(deps), tenantId, { ids: [id], limit: 1 });
  if (found === undefined)
    throw fail(UsageErrors.reject_not_found, `no reject ${id}`, { record: String(id) });
  return found;
}

/** Replaces an open reject's raw record with a corrected one (reprocess it next). */
export async function correctReject(
  deps: WorkflowDeps,
  caller: Caller,
  id: bigint,
  raw: string,
): Promise<RejectRecord> {
  return runChange(deps, caller, async (ctx) => {
    const [before] = await store.listRejects(ctx.tx, ctx.tenantId, { ids: [id], limit: 1 });
    if (before === undefined)
      throw fail(UsageErrors.reject_not_found, `no reject ${id}`, { record: String(id) });
    if (before.status !== 'open') {
      throw fail(
        UsageErrors.reject_closed,
        `reject ${id} is ${before.status}; only open rejects can be corrected`,
        {
          record: String(id),
        },
      );
    }
    await store.updateReject(ctx.tx, ctx.tenantId, id, { raw }, ctx.clock.now());
    await recordChange(ctx, {
      action: 'usage_reject.corrected',
      entityType: 'usage_reject',
      entityId: String(id),
      before: { raw: before.raw },
      after: { raw },
    });
    const [after] = await store.listRejects(ctx.tx, ctx.tenantId, { ids: [id], limit: 1 });
    return after as RejectRecord;
  });
}

/** Closes an open reject without rating it (e.g. test traffic); it stays counted as a reject. */
export async function discardReject(
  deps: WorkflowDeps,
  caller: Caller,
  id: bigint,
  reason: string,
): Promise<void> {
  await runChange(deps, caller, async (ctx) => {
    const [before] = await store.listRejects(ctx.tx, ctx.tenantId, { ids: [id], limit: 1 });
    if (before === undefined)
      throw fail(UsageErrors.reject_not_found, `no reject ${id}`, { record: String(id) });
    if (before.status !== 'open') {
      throw fail(UsageErrors.reject_closed, `reject ${id} is ${before.status}`, { record: String(id) });
    }
    await store.updateReject(ctx.tx, ctx.tenantId, id, { status: 'discarded' }, ctx.clock.now());
    await recordChange(ctx, {
      action: 'usage_reject.discarded',
      entityType: 'usage_reject',
      entityId: String(id),
      after: { reason },
    });
  });
}

export interface ReprocessResult {
  readonly attempted: number;
  readonly rated: number;
  readonly stillRejected: number;
  readonly duplicates: number;
}

/**
 * Runs open rejects (and duplicates, when asked) through mediation and rating again, from their
 * stored (possibly corrected) raw record. A reject that is rated now is marked reprocessed and
 * its rated record belongs to the import it came in with: the counts move from rejected to rated,
 * so a reprocessed record counts once.
 */
export async function reprocessRejects(
  deps: WorkflowDeps,
  caller: Caller,
  filter: Omit<RejectFilter, 'status' | 'limit' | 'after'> & { readonly limit?: number },
): Promise<ReprocessResult> {
  const tenantId = caller.tenantId;
  const result = { attempted: 0, rated: 0, stillRejected: 0, duplicates: 0 };
  let after: bigint | undefined;
  const limit = filter.limit ?? Number.MAX_SAFE_INTEGER;
  const sources = new Map<string, SourceDefinition>();
  while (result.attempted < limit) {
    const page = await store.listRejects(deps.database.db, tenantId, {
      ...filter,
      status: 'open',
      limit: Math.min(1000, limit - result.attempted),
      ...(after === undefined ? {} : { after }),
    });
    if (page.length === 0) break;
    after = (page[page.length - 1] as RejectRecord).id;
    const bySource = new Map<string, RejectRecord[]>();
    for (const reject of page) {
      const list = bySource.get(reject.source) ?? [];
      list.push(reject);
      bySource.set(reject.source, list);
    }
    for (const [sourceName, rejects] of bySource) {
      let source = sources.get(sourceName);
      if (source === undefined) {
        source = (await getSource(deps, tenantId, sourceName)).definition;
        sources.set(sourceName, source);
      }
      const reader = rereader(source);
      const items: ReadItem[] = [];
      const origins: RejectOrigin[] = [];
      for (const reject of rejects) {
        const item = await rereadOne(reader, source, reject);
        items.push(item);
        origins.push({
          rejectId: reject.id,
          importId: reject.importId,
          kind: reject.kind,
          eventDay: reject.eventDay,
        });
      }
      const pipeline = newPipeline(deps, tenantId, source, rejects[0]!.importId);
      const outcome = await pipeline.processBatch(items, undefined, origins);
      for (const r of outcome.results) {
        result.attempted++;
        if (r.kind === 'rated') result.rated++;
        else if (r.kind === 'duplicate') result.duplicates++;
        else result.stillRejected++;
      }
    }
  }
  if (result.attempted > 0) {
    await runChange(deps, caller, (ctx) =>
      recordChange(ctx, {
        action: 'usage_rejects.reprocessed',
        entityType: 'usage_reject',
        entityId: '*',
        after: result,
      }),
    );
  }
  return result;
}

/** Formats whose records arrive one by one (RADIUS, the API, FreeSWITCH JSON) have no file reader. */
const FILE_FORMATS: ReadonlySet<string> = new Set([...TEXT_FORMATS, '3gpp-ber']);

/**
 * The reader that reads a stored reject again: the source's own for file formats. A reject of a
 * source whose records arrive one by one (a RADIUS packet, an API call) is read as a JSON line
 * (docs/usage-formats.md, "JSON lines"): correct it by replacing its raw record with the usage as
 * one JSON line; until then it stays rejected, with a message saying so.
 */
function rereader(source: SourceDefinition): UsageReader {
  return FILE_FORMATS.has(source.format) ? readerForSource(source) : readerFor('jsonl');
}

/** Whether the source's files are Latin-1 (`mapping.encoding` of a CSV or TSV source). */
function readsLatin1(source: SourceDefinition): boolean {
  const mapping = source.mapping;
  return (
    (source.format === 'csv' || source.format === 'tsv') &&
    typeof mapping === 'object' &&
    mapping !== null &&
    (mapping as { encoding?: unknown }).encoding === 'latin1'
  );
}

/** Reads one stored raw record again with its source's reader, at its original position. */
async function rereadOne(
  reader: UsageReader,
  source: SourceDefinition,
  reject: RejectRecord,
): Promise<ReadItem> {
  // The raw record is stored as text; it goes back to the reader in the file's own encoding, or a
  // Latin-1 record would come back with "é" read as "Ã©" (and a record id that no longer matches
  // the same record delivered again).
  const bytes =
    source.format === '3gpp-ber'
      ? Buffer.from(reject.raw, 'hex')
      : Buffer.from(`${reject.raw}\n`, readsLatin1(source) ? 'latin1' : 'utf8');
  async function* one(): AsyncIterable<Uint8Array> {
    yield bytes;
  }
  // A position past the start, so readers do not expect a file header before the record.
  const start: ReadStart = { byteOffset: Math.max(1, reject.byteOffset), line: Math.max(2, reject.line) };
  const items: ReadItem[] = [];
  for await (const batch of reader(one(), readerSettingsOf(source), start)) items.push(...batch);
  const item = items[0];
  if (item === undefined) {
    return {
      kind: 'reject',
      position: { line: reject.line, byteOffset: reject.byteOffset },
      raw: reject.raw,
      reason: 'malformed_record',
      message: `${source.name} line ${reject.line}: the stored record is empty`,
    };
  }
  // Keep the original place in the file, whatever position the reader gave the lone record.
  return { ...item, position: { line: reject.line, byteOffset: reject.byteOffset } } as ReadItem;
}

export { READ_FROM_START };

// ---------------------------------------------------------------------------------------------
// Records given over HTTP (added for the API face, which may not reach the readers itself)

/** Where one record given over HTTP ended: the batch outcome of `ingestRecords`. */
export type IngestOutcome = BatchOutcome;

function requireFormat(source: SourceDefinition, formats: readonly string[], what: string): void {
  if (!formats.includes(source.format)) {
    throw fail(
      UsageErrors.invalid_source,
      `source ${source.name} has the format ${source.format}; ${what} need a source of the format ${formats.join(' or ')}`,
      { field: 'source', record: source.name },
    );
  }
}

/**
 * Records given as objects in the JSON-lines schema (docs/usage-formats.md), one read item each,
 * read with the source's numbering plan and identity type exactly as a `jsonl` file line would be,
 * then ingested as one batch. `formats` names the source formats the caller accepts (TMF635 POSTs
 * take an `api` source). Item i of the outcome is record i.
 */
export async function ingestJsonRecords(
  deps: WorkflowDeps,
  caller: Caller,
  sourceName: string,
  records: readonly Record<string, unknown>[],
  formats: readonly string[] = ['api', 'jsonl'],
): Promise<IngestOutcome> {
  const source = (await getSource(deps, caller.tenantId, sourceName)).definition;
  requireFormat(source, formats, 'records in the JSON-lines schema');
  const settings = readerSettingsOf(source);
  const items = records.map((record, i) =>
    jsonLineToItem(JSON.stringify(record), settings, { line: i + 1, byteOffset: 0 }),
  );
  return ingestRecords(deps, caller, source.name, items);
}

/** One FreeSWITCH mod_json_cdr document (as posted), read and ingested into a `freeswitch-json` source. */
export async function ingestFreeswitchJsonCdr(
  deps: WorkflowDeps,
  caller: Caller,
  sourceName: string,
  document: unknown,
): Promise<IngestOutcome> {
  const source = (await getSource(deps, caller.tenantId, sourceName)).definition;
  requireFormat(source, ['freeswitch-json'], 'FreeSWITCH JSON CDRs');
  const item = freeswitchJsonToItem(document, readerSettingsOf(source));
  return ingestRecords(deps, caller, source.name, [item]);
}

/**
 * Whether an Idempotency-Key already has a stored response in the tenant. The usage ingestion
 * routes ingest before the server's idempotent transaction opens (the pipeline commits its own
 * batches, and inside that transaction it would wait for the connection the transaction holds),
 * so they ask first and skip the work when the key was used: the server then replays or refuses.
 */
export async function idempotencyKeyUsed(
  deps: WorkflowDeps,
  tenantId: string,
  key: string,
): Promise<boolean> {
  return (await findStoredResponse(readExecutor(deps), tenantId, key)) !== undefined;
}
