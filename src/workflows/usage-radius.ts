/**
 * Session accounting: reports of cumulative counters (RADIUS Interim-Update and Stop) become usage
 * slices, each stored exactly once. The RADIUS face (`src/protocols/radius/sink.ts`) decodes the
 * packet and says what it means given the session's previous counters; this use case keeps those
 * counters and runs the slice through mediation and rating (usage-pipeline.ts).
 *
 * One transaction per report. The slice (rated, rejected or duplicate), its control counts and the
 * session's new counters commit together, so a crash leaves either all of them or none. The two
 * alternatives were weighed and refused:
 * - `ingestRecords`, then a second transaction for the counters: a crash between the two leaves
 *   the slice rated and the counters behind. The NAS, unanswered, retransmits, and that copy is a
 *   duplicate by its record id; but if the session's next Interim-Update is handled first, its
 *   delta is measured from the old counters and bills the first slice a second time.
 * - A hook inside the pipeline for the counter write: the pipeline is shared by every way usage
 *   comes in, and it already calls one thing inside its transaction, the rater's `commit(tx)`
 *   ("inside the same transaction, after rating: write the counters that changed"). The session
 *   counters are counters of the same kind, so the rater is wrapped and its commit also writes
 *   them (`withSessionWrite`); the pipeline is unchanged.
 *
 * The counter write is a compare-and-set on the row's version. The RADIUS server hands one
 * session's reports to the sink one at a time, but two Tollgate processes behind one NAS address
 * could each get a report of the same session: the slower one finds the version moved, its whole
 * transaction rolls back, the NAS gets no answer and retransmits, and the copy is measured from
 * the counters the faster one stored.
 *
 * Retransmissions. A copy of the session's last stored report (same record id: the id is built
 * from the report's cumulative counters) measured against the counters it itself stored would be
 * an empty slice, and its start (event time − 0 s) could fall on another day than the original's,
 * out of reach of mediation's per-day deduplication. So a copy of the last report is sent through
 * mediation as the very slice the first copy produced (kept in the session row): mediation finds
 * it a duplicate by record id and stores it as one, and nothing is charged twice. (If the first
 * copy was rejected, say for an unknown subscriber, the copy is rejected again: two rejects of one
 * slice, and reprocessing rates the first and finds the second its duplicate.) Copies of older
 * reports are stale (no usage) by the counter comparison itself.
 *
 * Every outcome the pipeline reaches (rated, rejected for an unknown subscriber or a missing
 * offer, duplicate) moves the counters: the slice is accounted for, with its raw packet, and a
 * reject reprocessed later is that slice, not one to be billed again in the next report.
 */
import type { Instant } from '../kernel/clock.js';
import { CommonErrors, fail } from '../kernel/errors.js';
import { UsageErrors, type ReadItem, type RejectReason, type UsageInput } from '../usage/index.js';
import * as store from '../usage/store.js';
import type { Tx } from '../storage/database.js';
import { inTransaction } from '../storage/database.js';
import type { Caller, WorkflowDeps } from './context.js';
import { getSource, streamImportOf } from './usage.js';
import { SubscriberDirectory } from './usage-directory.js';
import { UsagePipeline, type BatchRater, type ItemResult } from './usage-pipeline.js';
import { createBatchRater } from './usage-rating.js';

/** The cumulative counters of a session's last stored report (RADIUS `SessionCounters`). */
export interface CumulativeCounters {
  readonly sessionTimeSec: number;
  readonly inputOctets: bigint;
  readonly outputOctets: bigint;
  readonly eventTimestampSec?: number;
  readonly stopped: boolean;
}

/** What a report means given the previous counters (RADIUS `AccountingOutcome`, structurally). */
export type SessionReportOutcome =
  | {
      readonly kind: 'usage';
      readonly sessionKey: string;
      readonly usage: UsageInput;
      readonly counters: CumulativeCounters;
    }
  | { readonly kind: 'session-start'; readonly sessionKey: string; readonly counters: CumulativeCounters }
  | { readonly kind: 'stale'; readonly sessionKey: string; readonly message: string }
  | { readonly kind: 'nas-restart'; readonly nas: string }
  | {
      readonly kind: 'reject';
      readonly reason: RejectReason;
      readonly field?: string;
      readonly message: string;
    };

export interface SessionReport {
  /** The session the report belongs to; undefined when the report names none (it will be a reject). */
  readonly sessionKey: string | undefined;
  /** The NAS of the session, so Accounting-On/Off can close its sessions. */
  readonly nas: string;
  /** The report as received, hex; stored with rejects and rated rows. */
  readonly rawHex: string;
  /** Converts the report given the session's stored counters (undefined for its first report). */
  convert(previous: CumulativeCounters | undefined): SessionReportOutcome;
}

/** Where a report ended. Every kind but a thrown error means "stored, answer the NAS". */
export type SessionReportResult =
  | { readonly kind: 'rated' | 'reject' | 'duplicate'; readonly item: ItemResult; readonly repeat: boolean }
  | { readonly kind: 'session-start' }
  | { readonly kind: 'stale'; readonly message: string }
  | { readonly kind: 'nas-restart'; readonly sessionsStopped: number };

/** The session row's state (JSON): the counters, and the last slice for retransmitted copies. */
interface StoredState {
  readonly sessionTimeSec: number;
  readonly inputOctets: string;
  readonly outputOctets: string;
  readonly eventTimestampSec?: number;
  readonly last?: LastSlice;
}

interface LastSlice {
  readonly recordId: string;
  readonly startMs: number;
  readonly durationSec: number;
  readonly volumeUpBytes: number;
  readonly volumeDownBytes: number;
}

interface StoredSession {
  readonly counters: CumulativeCounters;
  readonly last: LastSlice | undefined;
  readonly version: number;
}

function decodeState(row: store.RadiusSessionRecord): StoredSession {
  const state = JSON.parse(row.state) as StoredState;
  return {
    counters: {
      sessionTimeSec: state.sessionTimeSec,
      inputOctets: BigInt(state.inputOctets),
      outputOctets: BigInt(state.outputOctets),
      ...(state.eventTimestampSec !== undefined ? { eventTimestampSec: state.eventTimestampSec } : {}),
      stopped: row.stopped,
    },
    last: state.last,
    version: row.version,
  };
}

function encodeState(counters: CumulativeCounters, last: LastSlice | undefined): string {
  const state: StoredState = {
    sessionTimeSec: counters.sessionTimeSec,
    inputOctets: counters.inputOctets.toString(),
    outputOctets: counters.outputOctets.toString(),
    ...(counters.eventTimestampSec !== undefined ? { eventTimestampSec: counters.eventTimestampSec } : {}),
    ...(last !== undefined ? { last } : {}),
  };
  return JSON.stringify(state);
}

/** Wraps a rater so that its commit, inside the batch's transaction, also runs `write`. */
function withSessionWrite(rater: BatchRater, write: (tx: Tx) => Promise<void>): BatchRater {
  return {
    begin: (tx, owners) => rater.begin(tx, owners),
    rate: (owner, input, out, traceSink) => rater.rate(owner, input, out, traceSink),
    async commit(tx) {
      await rater.commit(tx);
      await write(tx);
    },
    abort: () => rater.abort(),
  };
}

export interface SessionAccounting {
  /** Stores one report; resolves once it is stored (rejects included), throws when storing failed. */
  record(report: SessionReport): Promise<SessionReportResult>;
}

/**
 * The session accounting of one usage source (format 'radius'). Checks the source now, so a
 * server is not started for a source that does not exist.
 */
export async function sessionAccounting(
  deps: WorkflowDeps,
  caller: Caller,
  sourceName: string,
): Promise<SessionAccounting> {
  const tenantId = caller.tenantId;
  const checked = (await getSource(deps, tenantId, sourceName)).definition;
  if (checked.format !== 'radius') {
    throw fail(
      UsageErrors.invalid_source,
      `source ${sourceName} has the format ${checked.format}; RADIUS accounting needs a source of format radius`,
      { field: 'format', record: sourceName },
    );
  }

  // The stream import of each UTC day, as ingestRecords keeps it (same checksum, so RADIUS and any
  // other single-record ingestion of the source share it); created once per day by this process.
  const imports = new Map<string, Promise<string>>();
  function streamImport(day: string): Promise<string> {
    let found = imports.get(day);
    if (found === undefined) {
      found = streamImportOf(deps, caller, sourceName, day);
      imports.set(day, found);
      // A failed creation is tried again by the next report.
      found.catch(() => imports.delete(day));
      for (const key of imports.keys()) if (key < day) imports.delete(key);
    }
    return found;
  }

  /** Runs one item through mediation and rating; `write` runs inside the same transaction. */
  async function mediate(item: ReadItem, write?: (tx: Tx) => Promise<void>): Promise<ItemResult> {
    // Read per report, so a changed source definition (bounds, dedup window) applies at once.
    const source = (await getSource(deps, tenantId, sourceName)).definition;
    const importId = await streamImport(deps.clock.now().slice(0, 10));
    const rater = createBatchRater(deps, tenantId);
    const pipeline = new UsagePipeline({
      database: deps.database,
      clock: deps.clock,
      tenantId,
      source,
      importId,
      directory: new SubscriberDirectory(deps.database, tenantId),
      rater: write === undefined ? rater : withSessionWrite(rater, write),
    });
    const outcome = await pipeline.processBatch([item], { byteOffset: 0, line: 1 });
    return outcome.results[0] as ItemResult;
  }

  function saveSession(
    sessionKey: string,
    nas: string,
    counters: CumulativeCounters,
    last: LastSlice | undefined,
    expectedVersion: number,
  ): (tx: Tx) => Promise<void> {
    return async (tx) => {
      const saved = await store.saveRadiusSession(tx, tenantId, {
        source: sourceName,
        sessionKey,
        nas,
        state: encodeState(counters, last),
        stopped: counters.stopped,
        expectedVersion,
        now: deps.clock.now(),
      });
      if (!saved) {
        throw fail(
          CommonErrors.conflict,
          `the counters of session ${sessionKey} were written by another process meanwhile; the report is not stored (the NAS retransmits it)`,
          { record: sessionKey },
        );
      }
    };
  }

  const position = { line: 1, byteOffset: 0 };

  return {
    async record(report: SessionReport): Promise<SessionReportResult> {
      const row =
        report.sessionKey === undefined
          ? undefined
          : await store.findRadiusSession(deps.database.db, tenantId, sourceName, report.sessionKey);
      const stored = row === undefined ? undefined : decodeState(row);
      const outcome = report.convert(stored?.counters);
      switch (outcome.kind) {
        case 'stale':
          return { kind: 'stale', message: outcome.message };
        case 'nas-restart': {
          const sessionsStopped = await inTransaction(deps.database, (tx) =>
            store.stopRadiusSessionsOfNas(tx, tenantId, sourceName, outcome.nas, deps.clock.now()),
          );
          return { kind: 'nas-restart', sessionsStopped };
        }
        case 'session-start': {
          await inTransaction(deps.database, (tx) =>
            saveSession(outcome.sessionKey, report.nas, outcome.counters, undefined, 0)(tx),
          );
          return { kind: 'session-start' };
        }
        case 'reject': {
          const item = await mediate({
            kind: 'reject',
            position,
            raw: report.rawHex,
            reason: outcome.reason,
            ...(outcome.field !== undefined ? { field: outcome.field } : {}),
            message: `${sourceName}: ${outcome.message}`,
          });
          return { kind: 'reject', item, repeat: false };
        }
        case 'usage': {
          const last = stored?.last;
          const repeat = last !== undefined && last.recordId === outcome.usage.sourceRecordId;
          if (repeat) {
            // A copy of the last stored report: mediation sees the slice the first copy produced,
            // finds its record id, and stores a duplicate. The counters are already this report's.
            const input: UsageInput = {
              ...outcome.usage,
              startMs: last.startMs,
              durationSec: last.durationSec,
              volumeUpBytes: last.volumeUpBytes,
              volumeDownBytes: last.volumeDownBytes,
            };
            const item = await mediate({ kind: 'record', position, raw: report.rawHex, input });
            return { kind: item.kind, item, repeat: true };
          }
          const slice: LastSlice = {
            recordId: outcome.usage.sourceRecordId ?? '',
            startMs: outcome.usage.startMs,
            durationSec: outcome.usage.durationSec,
            volumeUpBytes: outcome.usage.volumeUpBytes,
            volumeDownBytes: outcome.usage.volumeDownBytes,
          };
          const item = await mediate(
            { kind: 'record', position, raw: report.rawHex, input: outcome.usage },
            saveSession(outcome.sessionKey, report.nas, outcome.counters, slice, stored?.version ?? 0),
          );
          return { kind: item.kind, item, repeat: false };
        }
      }
    },
  };
}

/**
 * Deletes the stopped sessions of the tenant not written since `olderThan` (their counters are
 * only needed while a NAS may still send a late report of them).
 */
export function purgeStoppedSessions(
  deps: WorkflowDeps,
  tenantId: string,
  olderThan: Instant,
): Promise<number> {
  return inTransaction(deps.database, (tx) => store.purgeRadiusSessions(tx, tenantId, olderThan));
}
