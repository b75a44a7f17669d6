/**
 * The mediation and rating pipeline of one source: batches of read items in, one transaction per
 * batch out. Every way usage comes in (a file import, an upload, a watched inbox, TMF635 POSTs,
 * RADIUS accounting, reprocessed rejects) runs through `UsagePipeline.processBatch`, so every
 * record meets the same checks and lands in exactly one place: rated, rejected (with its reason)
 * or duplicate.
 *
 * One batch, in order:
 * 1. the subscriber directory loads the identities the batch names (one query per few hundred);
 * 2. the deduplication sets load the (source, event day) partitions the batch touches;
 * 3. inside one transaction: the rater loads the counters of the owners in the batch, then each
 *    item is checked (bounds, future, late), deduplicated, matched to its subscriber at the event
 *    instant and rated; the rated rows, rejects, duplicates, new dedup keys, counters, control
 *    counts and the import's resume point are written; the transaction commits.
 *
 * A crash at any point leaves either the whole batch or none of it, and the import's resume point
 * says where to go on; re-running the import continues from there. In-memory state (dedup sets,
 * caches) is only trusted for the life of one pipeline: a pipeline whose batch failed is thrown
 * away, never reused.
 */
import { InstantFormatter, instantFromMs, type Clock } from '../kernel/clock.js';
import { fail } from '../kernel/errors.js';
import { UsageErrors } from '../usage/errors.js';
import type { Database, Executor, Tx } from '../storage/database.js';
import { inTransaction } from '../storage/database.js';
import type { ReadItem, ReadStart, RejectReason, UsageInput } from '../usage/model.js';
import { checkRecordBounds, dedupKeyOf, type SourceDefinition } from '../usage/source.js';
import { detailOf } from '../usage/detail.js';
import { hashKey, KeyHashSet, packKeyHashes, unpackKeyHashesInto, type KeyHash } from '../usage/dedup.js';
import {
  addControls,
  advanceImport,
  allocateIds,
  insertDedupChunk,
  insertTraceWords,
  loadDedupChunks,
  loadTraceWords,
  lockSource,
  originalUsageInserter,
  ORIGINAL_USAGE_COLUMNS,
  rejectInserter,
  updateReject,
  type BulkInserter,
  type ControlCounts,
} from '../usage/store.js';
import { TraceTokenWriter, TraceWords, TRACE_WORD_RESERVE } from '../usage/trace-words.js';
import type { SubscriberDirectory, Owner } from './usage-directory.js';
import type { TraceSink } from '../rating/index.js';

/** What rating writes about one record, filled in by the rater (reused across records). */
export interface RatedFields {
  chargedUnits: number;
  allowanceUnits: number;
  /** Pico-units (10^-12 of the major unit) of `currency`. */
  amountPico: bigint;
  currency: string;
  /** The compact charge trace (offer and tariff versions, prefix, zone, band... are in it). */
  trace: string;
}

/** A blank RatedFields, for a rater to fill. */
export function emptyRatedFields(): RatedFields {
  return { chargedUnits: 0, allowanceUnits: 0, amountPico: 0n, currency: '', trace: '' };
}

export interface RatingFailure {
  readonly reason: Extract<RejectReason, 'no_offer' | 'rating_failed' | 'unknown_subscriber'>;
  readonly field?: string;
  readonly message: string;
}

/** Rating as the pipeline sees it; implemented over the rating core in usage-rating.ts. */
export interface BatchRater {
  /** Inside the batch's transaction, before rating: load the counters of these owners. */
  begin(tx: Tx, owners: readonly Owner[]): Promise<void>;
  /**
   * Rates one record for `owner`, filling `out`; returns a failure instead when it cannot. The
   * trace is written to `traceSink` when given (rating's TraceSink: a file import writes it as
   * tokens, usage/trace-words.ts TraceTokenWriter), else as JSON.
   */
  rate(owner: Owner, input: UsageInput, out: RatedFields, traceSink?: TraceSink): RatingFailure | undefined;
  /** Inside the same transaction, after rating: write the counters that changed. */
  commit(tx: Tx): Promise<void>;
  /** After a failed batch: forget everything begin() loaded. */
  abort(): void;
}

/**
 * An item that is a stored reject being reprocessed: where it was counted, so the counts move
 * (rejected − 1, rated + 1) instead of growing, and a reprocessed record counts once.
 */
export interface RejectOrigin {
  readonly rejectId: bigint;
  readonly importId: string;
  readonly kind: 'reject' | 'duplicate';
  readonly eventDay: string;
}

export interface BatchOutcome extends ControlCounts {
  /** Ids of the first rated row and reject row of the batch, for callers that answer per record. */
  readonly results: ReadonlyArray<ItemResult>;
}

/** Where one item of the batch ended, in batch order. */
export type ItemResult =
  | {
      readonly kind: 'rated';
      readonly usageId: bigint;
      readonly amountPico: bigint;
      readonly currency: string;
    }
  | {
      readonly kind: 'reject' | 'duplicate';
      readonly rejectId: bigint;
      readonly reason: string;
      readonly message: string;
    };

const MS_PER_DAY = 86_400_000;

/** Values per rated row: ORIGINAL_USAGE_COLUMNS. */
const RATED_WIDTH = ORIGINAL_USAGE_COLUMNS.length;

/** "YYYY-MM-DD" (UTC) of an instant; cached per day since a batch has few distinct days. */
class DayNames {
  private lastDay = Number.NaN;
  private lastName = '';
  of(ms: number): string {
    const day = Math.floor(ms / MS_PER_DAY);
    if (day !== this.lastDay) {
      this.lastDay = day;
      this.lastName = instantFromMs(day * MS_PER_DAY).slice(0, 10);
    }
    return this.lastName;
  }
}

export interface PipelineOptions {
  readonly database: Database;
  readonly clock: Clock;
  readonly tenantId: string;
  readonly source: SourceDefinition;
  readonly importId: string;
  readonly directory: SubscriberDirectory;
  readonly rater: BatchRater;
  /**
   * Whether processBatch says where each item ended (BatchOutcome.results), for callers that
   * answer per record (the API, RADIUS). File imports only need the counts and say false: on a
   * million-record file the per-item objects are pure garbage-collector work. Default true.
   */
  readonly keepResults?: boolean;
  /**
   * Whether rated rows store their charge traces as tokens with trace words (usage/trace-words.ts
   * TraceTokenWriter): about 100 characters a trace instead of 360, for file imports; records that
   * come one by one keep them plain JSON, so a pipeline made for one call does not load the
   * tenant's trace words. Default false.
   */
  readonly packTraces?: boolean;
}

export class UsagePipeline {
  private readonly dedupSets = new Map<string, KeyHashSet>();
  /** The highest dedup chunk id read into each (source, day) set. */
  private readonly dedupSeen = new Map<string, bigint>();
  private readonly ratedInserter: BulkInserter = originalUsageInserter();
  /** The rated rows of the batch, RATED_WIDTH values each; kept across batches (no regrowth). */
  private readonly ratedValues: unknown[] = [];
  private readonly rejectsInserter: BulkInserter = rejectInserter();
  private readonly days = new DayNames();
  private readonly instants = new InstantFormatter();
  private readonly hash: KeyHash = { hi: 0, lo: 0 };
  private readonly traceWords = new TraceWords();
  private readonly traceWriter = new TraceTokenWriter(this.traceWords);
  private broken = false;

  constructor(private readonly options: PipelineOptions) {}

  /**
   * Processes one batch and commits it together with the import's new resume point `next` (the
   * position after the batch's last item). Returns the batch's counts and where each item ended.
   */
  async processBatch(
    items: readonly ReadItem[],
    next: ReadStart | undefined,
    origins?: ReadonlyArray<RejectOrigin | undefined>,
    expectedOffset?: number,
  ): Promise<BatchOutcome> {
    if (this.broken) throw new Error('a usage pipeline whose batch failed cannot be reused');
    const { database, clock, tenantId, source, importId, directory, rater } = this.options;
    const keepResults = this.options.keepResults !== false;
    const nowMs = clock.nowMs();
    const now = instantFromMs(nowMs);

    // Loads outside the write transaction: the identities and dedup partitions the batch needs.
    const batchDays = this.daysOf(items);
    for (const day of batchDays) await this.ensureDedupDay(day);
    await directory.preload(items);

    try {
      return await inTransaction(database, async (tx) => {
        // Batches of one source are serialised (SQLite has one writer; on PostgreSQL the source's
        // row is locked), and each reads the dedup keys other pipelines committed since it last
        // looked: two imports of one source at once still never rate the same record twice.
        if (database.dialect === 'postgres') await lockSource(tx, tenantId, source.name);
        for (const day of batchDays) await this.catchUpDedupDay(tx, day);
        const owners = new Map<string, Owner>();
        const ownerOf: Array<Owner | undefined> = new Array(items.length);
        for (let i = 0; i < items.length; i++) {
          const item = items[i] as ReadItem;
          if (item.kind !== 'record') continue;
          const owner = directory.ownerAt(item.input.identityType, item.input.identity, item.input.startMs);
          ownerOf[i] = owner;
          if (owner !== undefined) owners.set(owner.subscription.id, owner);
        }
        await rater.begin(tx, [...owners.values()]);
        const packTraces = this.options.packTraces === true;
        if (packTraces) await this.prepareTraceWords(tx);
        const traceWords = this.traceWords;
        const packer = packTraces ? this.traceWriter : undefined;

        const rated = this.ratedValues;
        let ratedLength = 0;
        const rejects: unknown[] = [];
        const results: ItemResult[] = [];
        const perDay = new Map<string, ControlCounts>();
        const newKeys = new Map<string, number[]>();
        const reprocessing = origins?.filter((origin) => origin !== undefined).length ?? 0;
        // recordsIn counts records new to the system; reprocessed rejects were counted when they came in.
        const counts: ControlCounts = {
          recordsIn: items.length - reprocessing,
          rated: 0,
          rejected: 0,
          duplicates: 0,
        };
        // Ids are allocated after the loop, when the counts are known; rows hold placeholders.
        const ratedIdSlots: number[] = [];
        const rejectIdSlots: number[] = [];
        const fields = emptyRatedFields();

        const reprocessed: Array<{ origin: RejectOrigin; usageSlot: number }> = [];
        const stillRejected: Array<{
          origin: RejectOrigin;
          kind: 'reject' | 'duplicate';
          reason: string;
          field: string | undefined;
          message: string;
        }> = [];
        // The per-day state of the day the last record fell in: a file's records come in time
        // order, so this saves three map lookups (and their string keys) on almost every record.
        let memoDay = '';
        let memoSet: KeyHashSet | undefined;
        let memoKeys: number[] | undefined;
        let memoCounts: ControlCounts | undefined;
        const selectDay = (day: string): void => {
          if (day === memoDay) return;
          memoDay = day;
          memoSet = this.dedupSets.get(`${source.name}\u0000${day}`) as KeyHashSet;
          memoKeys = undefined;
          memoCounts = undefined;
        };
        let current = 0;
        const reject = (
          item: ReadItem,
          kind: 'reject' | 'duplicate',
          reason: string,
          field: string | undefined,
          message: string,
          day: string,
        ): void => {
          const origin = origins?.[current];
          if (origin !== undefined) {
            // A reprocessed reject that fails again stays one reject row: its reason is brought
            // up to date, its attempts counted, and the counts move only if it turned into a
            // duplicate (or back).
            stillRejected.push({ origin, kind, reason, field, message });
            if (keepResults) results.push({ kind, rejectId: origin.rejectId, reason, message });
            if (kind !== origin.kind) {
              const dayCounts = countsOf(perDay, origin.eventDay, origin.importId);
              if (kind === 'duplicate') {
                dayCounts.duplicates++;
                dayCounts.rejected--;
              } else {
                dayCounts.rejected++;
                dayCounts.duplicates--;
              }
            }
            return;
          }
          rejectIdSlots.push(rejects.length);
          rejects.push(
            0n,
            tenantId,
            importId,
            source.name,
            item.position.line,
            item.position.byteOffset,
            kind,
            reason,
            field ?? null,
            message,
            item.raw,
            day,
            'open',
            0,
            null,
            now,
            now,
          );
          if (keepResults) results.push({ kind, rejectId: 0n, reason, message });
          const dayCounts = countsOf(perDay, day, importId);
          dayCounts.recordsIn++;
          if (kind === 'duplicate') {
            counts.duplicates++;
            dayCounts.duplicates++;
          } else {
            counts.rejected++;
            dayCounts.rejected++;
          }
        };

        for (let i = 0; i < items.length; i++) {
          current = i;
          const item = items[i] as ReadItem;
          if (item.kind === 'reject') {
            reject(item, 'reject', item.reason, item.field, item.message, this.days.of(nowMs));
            continue;
          }
          const input = item.input;
          const day = this.days.of(input.startMs);
          const bounds = checkRecordBounds(input, source, nowMs);
          if (bounds !== undefined) {
            reject(
              item,
              'reject',
              bounds.reason,
              bounds.field,
              `${where(source.name, item)}: ${bounds.message}`,
              day,
            );
            continue;
          }
          const owner = ownerOf[i];
          if (owner === undefined) {
            reject(
              item,
              'reject',
              'unknown_subscriber',
              'identity',
              `${where(source.name, item)}: no subscription held ${input.identityType} ${input.identity} at ${instantFromMs(input.startMs)}`,
              day,
            );
            continue;
          }
          // Deduplicate before rating, so a duplicate never draws an allowance. The key is only
          // remembered once the record has a place (rated or rejected by rating): a record refused
          // for a fault that a correction can fix must not block its corrected twin.
          const key = dedupKeyOf(input, source.dedup);
          hashKey(key, this.hash);
          selectDay(day);
          const set = memoSet as KeyHashSet;
          if (set.has(this.hash)) {
            reject(
              item,
              'duplicate',
              'duplicate',
              input.sourceRecordId !== undefined && source.dedup.mode === 'record-id'
                ? 'sourceRecordId'
                : 'fingerprint',
              `${where(source.name, item)}: duplicate of a record already accounted for (${key.startsWith('r|') ? `record id ${input.sourceRecordId}` : 'same fingerprint'})`,
              day,
            );
            continue;
          }
          const failure = rater.rate(
            owner,
            input,
            fields,
            packer?.forRow(owner.subscription.id, owner.account.id),
          );
          if (failure !== undefined) {
            reject(
              item,
              'reject',
              failure.reason,
              failure.field,
              `${where(source.name, item)}: ${failure.message}`,
              day,
            );
            continue;
          }
          set.add(this.hash);
          if (memoKeys === undefined) {
            memoKeys = newKeys.get(day);
            if (memoKeys === undefined) newKeys.set(day, (memoKeys = []));
          }
          memoKeys.push(this.hash.hi, this.hash.lo);

          const origin = origins?.[i];
          const at = ratedLength;
          if (origin !== undefined) reprocessed.push({ origin, usageSlot: at });
          ratedIdSlots.push(at);
          // Written in place (ORIGINAL_USAGE_COLUMNS order) into the array kept across batches.
          rated[at] = 0n;
          rated[at + 1] = tenantId;
          rated[at + 2] = origin?.importId ?? importId;
          rated[at + 3] = source.name;
          rated[at + 4] = item.position.line;
          rated[at + 5] = input.sourceRecordId ?? null;
          rated[at + 6] = owner.subscription.id;
          rated[at + 7] = owner.account.id;
          rated[at + 8] = input.service;
          rated[at + 9] = input.identity;
          rated[at + 10] = this.instants.format(input.startMs);
          rated[at + 11] = input.durationSec;
          rated[at + 12] = input.volumeUpBytes;
          rated[at + 13] = input.volumeDownBytes;
          rated[at + 14] = input.count;
          rated[at + 15] = input.calledNumber ?? null;
          rated[at + 16] = detailOf(input);
          rated[at + 17] = fields.chargedUnits;
          rated[at + 18] = fields.allowanceUnits;
          rated[at + 19] = fields.amountPico;
          rated[at + 20] = fields.currency;
          rated[at + 21] = fields.trace;
          rated[at + 22] = item.raw;
          rated[at + 23] = now;
          ratedLength += RATED_WIDTH;
          if (keepResults) {
            results.push({
              kind: 'rated',
              usageId: 0n,
              amountPico: fields.amountPico,
              currency: fields.currency,
            });
          }
          if (origin !== undefined) {
            // Counted once: it was counted as a reject (or duplicate) of its import and day.
            const dayCounts = countsOf(perDay, origin.eventDay, origin.importId);
            dayCounts.rated++;
            if (origin.kind === 'duplicate') dayCounts.duplicates--;
            else dayCounts.rejected--;
            continue;
          }
          counts.rated++;
          memoCounts ??= countsOf(perDay, day, importId);
          memoCounts.recordsIn++;
          memoCounts.rated++;
        }

        // Number the rows from blocks taken in this transaction, then write everything.
        if (packTraces) await insertTraceWords(tx, tenantId, traceWords.takeAdded());
        if (ratedIdSlots.length > 0) {
          let id = await allocateIds(tx, 'rated_usage', ratedIdSlots.length);
          let r = 0;
          for (const slot of ratedIdSlots) {
            rated[slot] = id;
            if (keepResults) {
              while ((results[r] as ItemResult).kind !== 'rated') r++;
              results[r] = { ...(results[r] as Extract<ItemResult, { kind: 'rated' }>), usageId: id };
              r++;
            }
            id++;
          }
          await this.ratedInserter.insert(tx, rated, ratedLength);
        }
        if (rejectIdSlots.length > 0) {
          let id = await allocateIds(tx, 'usage_rejects', rejectIdSlots.length);
          let r = 0;
          for (const slot of rejectIdSlots) {
            rejects[slot] = id;
            if (keepResults) {
              while ((results[r] as ItemResult).kind === 'rated') r++;
              results[r] = {
                ...(results[r] as Extract<ItemResult, { kind: 'reject' | 'duplicate' }>),
                rejectId: id,
              };
              r++;
            }
            id++;
          }
          await this.rejectsInserter.insert(tx, rejects);
        }
        if (newKeys.size > 0) {
          let chunkId = await allocateIds(tx, 'usage_dedup_chunks', newKeys.size);
          for (const [day, keys] of newKeys) {
            await insertDedupChunk(tx, tenantId, {
              id: chunkId,
              source: source.name,
              eventDay: day,
              importId,
              keyCount: keys.length / 2,
              keys: packKeyHashes(Uint32Array.from(keys)),
            });
            // Every earlier chunk of this source is committed (batches of a source are
            // serialised), so the set holds everything up to this id once the batch commits; a
            // failed batch breaks the pipeline, so a wrong mark is never used.
            this.dedupSeen.set(`${source.name}\u0000${day}`, chunkId);
            chunkId++;
          }
        }
        for (const { origin, usageSlot } of reprocessed) {
          await updateReject(
            tx,
            tenantId,
            origin.rejectId,
            { status: 'reprocessed', attemptsDelta: 1, resolvedUsageId: rated[usageSlot] as bigint },
            now,
          );
        }
        for (const again of stillRejected) {
          await updateReject(
            tx,
            tenantId,
            again.origin.rejectId,
            {
              kind: again.kind,
              reason: again.reason,
              field: again.field ?? null,
              message: again.message,
              attemptsDelta: 1,
            },
            now,
          );
        }
        // Let the batch's rows go now: held until the next batch overwrites them, their strings
        // would outlive a few young-generation collections and end as old-generation garbage.
        rated.fill(null, 0, ratedLength);
        await rater.commit(tx);
        const byImport = new Map<string, Map<string, ControlCounts>>();
        for (const [key, dayCounts] of perDay) {
          const [forImport, day] = key.split('\u0000') as [string, string];
          let days = byImport.get(forImport);
          if (days === undefined) byImport.set(forImport, (days = new Map()));
          days.set(day, dayCounts);
        }
        for (const [forImport, days] of byImport) {
          await addControls(tx, tenantId, forImport, source.name, days);
          if (forImport !== importId || next === undefined) {
            // Reprocessed items move between the counts of the import they came in with.
            const moved: ControlCounts = { recordsIn: 0, rated: 0, rejected: 0, duplicates: 0 };
            for (const c of days.values()) {
              moved.rated += c.rated;
              moved.rejected += c.rejected;
              moved.duplicates += c.duplicates;
            }
            await advanceImport(tx, tenantId, forImport, moved, undefined, now);
          }
        }
        if (next !== undefined) {
          const advanced = await advanceImport(tx, tenantId, importId, counts, next, now, expectedOffset);
          if (!advanced) {
            throw fail(
              UsageErrors.import_running,
              `import ${importId} moved on while this batch ran: another process is importing the same file`,
              { record: importId },
            );
          }
        }
        // Paired assertion: every new item of the batch is in exactly one place.
        if (counts.rated + counts.rejected + counts.duplicates !== counts.recordsIn) {
          throw new Error(`batch control failed: ${JSON.stringify(counts)}`);
        }
        return { ...counts, results };
      });
    } catch (error) {
      this.broken = true;
      rater.abort();
      throw error;
    }
  }

  /**
   * Loads the tenant's trace words (first batch) and tops up the ids reserved for new ones. The
   * reservation commits with the batch, so the ids left over are this pipeline's for its next
   * batches; a failed batch breaks the pipeline, so a rolled-back reservation is never used.
   */
  private async prepareTraceWords(tx: Tx): Promise<void> {
    const words = this.traceWords;
    if (!words.loaded) words.load(await loadTraceWords(tx, this.options.tenantId));
    if (words.reserved < TRACE_WORD_RESERVE / 4) {
      const first = await allocateIds(tx, 'usage_trace_words', TRACE_WORD_RESERVE);
      words.reserve(Number(first), TRACE_WORD_RESERVE);
    }
  }

  /** The distinct event days (UTC) of the batch's records, in order of first appearance. */
  private daysOf(items: readonly ReadItem[]): string[] {
    const days: string[] = [];
    let last = '';
    for (const item of items) {
      if (item.kind !== 'record') continue;
      // DayNames hands out one string per day, so most checks are one comparison.
      const day = this.days.of(item.input.startMs);
      if (day !== last && !days.includes(day)) days.push(day);
      last = day;
    }
    return days;
  }

  private async ensureDedupDay(day: string): Promise<void> {
    const name = `${this.options.source.name}\u0000${day}`;
    if (this.dedupSets.has(name)) return;
    this.dedupSets.set(name, new KeyHashSet(4096));
    await this.catchUpDedupDay(this.options.database.db, day);
  }

  /** Reads the dedup chunks of (source, day) committed since this pipeline last read them. */
  private async catchUpDedupDay(db: Executor, day: string): Promise<void> {
    const name = `${this.options.source.name}\u0000${day}`;
    const set = this.dedupSets.get(name) as KeyHashSet;
    const chunks = await loadDedupChunks(
      db,
      this.options.tenantId,
      this.options.source.name,
      day,
      this.dedupSeen.get(name),
    );
    for (const chunk of chunks) {
      unpackKeyHashesInto(chunk.keys, set);
      this.dedupSeen.set(name, chunk.id);
    }
  }
}

/** The counts of (import, event day), keyed "import\u0000day". */
function countsOf(perDay: Map<string, ControlCounts>, day: string, importId: string): ControlCounts {
  const key = `${importId}\u0000${day}`;
  let counts = perDay.get(key);
  if (counts === undefined) {
    counts = { recordsIn: 0, rated: 0, rejected: 0, duplicates: 0 };
    perDay.set(key, counts);
  }
  return counts;
}

function where(source: string, item: ReadItem): string {
  return `${source} line ${item.position.line}`;
}
