/**
 * The rated usage of online charging: every commit of used units (an Nchf update or release, a
 * Diameter CCR-U/T, a one-time event) becomes a rated usage record, in the same table as the batch
 * path's, so a hybrid subscriber's online and offline usage meet on one invoice.
 *
 * The record is written in the charging engine's group transaction, with the debit it records:
 * both commit or neither does, and a repeated request (answered from the session's last outcome)
 * writes nothing. What it holds:
 * - source `online:<protocol>` (`online:nchf`, `online:diameter`, `online:api`): a source name no
 *   operator can define (source names have no colon), under a stream import per source and day
 *   (checksum `stream:<day>`, as RADIUS accounting has) whose counts and controls move with each
 *   group, so `tollgate usage controls` counts online records like any other;
 * - line = the request number, source record id = the reservation committed
 *   (`<session>/<request>/<rating group>`), which names the commit exactly;
 * - the quantities used (voice seconds, data bytes as downlink, events), the units the buckets paid
 *   (allowance_units), the units money paid (charged_units) and the money charged (amount_pico), in
 *   the account's currency;
 * - the charge trace of the money part: the rating core's compact trace of pricing those units
 *   with the tariff in force (offer, tariff version, zone, band, increments, prices), so
 *   `tollgate usage explain` explains an online record as it explains a batch one;
 * - the rating group, protocol, session and reservation in `detail`, and a JSON summary of the
 *   commit as `raw`.
 *
 * Ids come in blocks from usage_id_blocks ('rated_usage'), taken ahead of need (a crash leaves a
 * gap in the ids, never a duplicate).
 */
import { InstantFormatter, type Instant } from '../kernel/clock.js';
import { jsonString } from '../kernel/json-text.js';
import type { BaseUnit } from '../kernel/quantity.js';
import * as usageStore from '../usage/store.js';
import type { Executor } from '../storage/database.js';
import type { UsageService } from '../usage/index.js';
import type { WorkflowDeps } from './context.js';
import { streamImportOf } from './usage.js';

/** The sources online records are filed under: `online:` and the protocol. */
export const ONLINE_SOURCE_PREFIX = 'online:';

/** One committed use, as the engine captures it when it commits. */
export interface OnlineUsage {
  readonly tenantId: string;
  readonly accountId: string;
  readonly subscriptionId: string;
  readonly protocol: string;
  readonly identity: string;
  readonly sessionId: string;
  readonly requestNumber: number;
  readonly ratingGroup: number;
  readonly reservationId: string;
  readonly service: UsageService;
  readonly unit: BaseUnit;
  /** When the quota was granted (the reservation's start). */
  readonly startMs: number;
  /** When the use was reported. */
  readonly reportedAtMs: number;
  /** Units charged: paid by buckets and by money. */
  readonly units: bigint;
  /** Of `units`, those unit buckets paid. */
  readonly bucketUnits: bigint;
  /** Money charged, pico-units of `currency`. */
  readonly amountPico: bigint;
  readonly currency: string;
  readonly calledNumber: string | undefined;
  readonly visitedMccMnc: string | undefined;
  /** The compact charge trace of pricing the money part (rating/explain.ts). */
  readonly trace: string;
}

/** What a group's records need from outside before they can be written. */
export interface PreparedUsage {
  readonly usages: readonly OnlineUsage[];
  /** One id per usage, in order. */
  readonly ids: readonly bigint[];
  /** tenant, source, day → the stream import. */
  readonly importIds: ReadonlyMap<string, string>;
}

// One formatter per kind of instant: a group's records are mostly reported in the same millisecond
// (and their reservations made in the same one), and each record needs the instant it was reported
// four times (its day twice, detail and raw).
const reported = new InstantFormatter();
const started = new InstantFormatter();
const reportedInstant = (ms: number): Instant => reported.format(ms);
const startInstant = (ms: number): Instant => started.format(ms);

const dayOf = (ms: number): string => reportedInstant(ms).slice(0, 10);
const importKey = (tenantId: string, source: string, day: string): string =>
  `${tenantId}\u0000${source}\u0000${day}`;

export class OnlineUsageRecorder {
  private nextId = 0n;
  private endId = 0n;
  private readonly imports = new Map<string, Promise<string>>();

  constructor(
    private readonly deps: WorkflowDeps,
    /** Takes `count` ids of rated_usage and returns the first (in its own transaction). */
    private readonly allocate: (count: number) => Promise<bigint>,
  ) {}

  /** The ids and stream imports the records need; usually both are at hand and nothing waits. */
  async prepare(usages: readonly OnlineUsage[]): Promise<PreparedUsage> {
    const importIds = new Map<string, string>();
    for (const usage of usages) {
      const source = ONLINE_SOURCE_PREFIX + usage.protocol;
      const day = dayOf(usage.reportedAtMs);
      const key = importKey(usage.tenantId, source, day);
      if (importIds.has(key)) continue;
      importIds.set(key, await this.importOf(usage.tenantId, source, day, key));
    }
    if (this.endId - this.nextId < BigInt(usages.length)) {
      const count = Math.max(1_000, usages.length);
      this.nextId = await this.allocate(count);
      this.endId = this.nextId + BigInt(count);
    }
    const ids: bigint[] = [];
    for (let i = 0; i < usages.length; i++) ids.push(this.nextId++);
    return { usages, ids, importIds };
  }

  private importOf(tenantId: string, source: string, day: string, key: string): Promise<string> {
    let pending = this.imports.get(key);
    if (pending === undefined) {
      pending = streamImportOf(
        this.deps,
        { tenantId, actor: { type: 'system', id: 'charging-engine' } },
        source,
        day,
      );
      this.imports.set(key, pending);
      pending.catch(() => this.imports.delete(key));
      // Yesterday's imports are not needed again; keep the map small.
      if (this.imports.size > 1_000) this.imports.delete(this.imports.keys().next().value as string);
    }
    return pending;
  }

  /** The statements that write the records, their controls and their imports' counts. */
  statements(
    db: Executor,
    prepared: PreparedUsage,
    now: Instant,
  ): Array<{ sql: string; parameters: readonly unknown[] }> {
    if (prepared.usages.length === 0) return [];
    const values: unknown[] = [];
    const counts = new Map<string, { tenantId: string; source: string; day: string; n: number }>();
    prepared.usages.forEach((usage, i) => {
      const source = ONLINE_SOURCE_PREFIX + usage.protocol;
      const day = dayOf(usage.reportedAtMs);
      const key = importKey(usage.tenantId, source, day);
      const importId = prepared.importIds.get(key) as string;
      pushRow(values, prepared.ids[i] as bigint, importId, source, usage, now);
      const count = counts.get(key);
      if (count === undefined) counts.set(key, { tenantId: usage.tenantId, source, day, n: 1 });
      else count.n++;
    });
    const statements: Array<{ sql: string; parameters: readonly unknown[] }> = [
      ...inserter.statements(db, values),
    ];
    for (const [key, { tenantId, source, day, n }] of counts) {
      const importId = prepared.importIds.get(key) as string;
      const delta = { recordsIn: n, rated: n, rejected: 0, duplicates: 0 };
      statements.push(
        ...usageStore.addControlsQueries(db, tenantId, importId, source, new Map([[day, delta]])),
        usageStore.addToImportQuery(db, tenantId, importId, delta, now),
      );
    }
    return statements;
  }
}

const inserter = usageStore.originalUsageInserter();

/**
 * One record's values, pushed straight into the statement's parameters in the inserter's column
 * order (usage/store.ts ORIGINAL_USAGE_COLUMNS): an object per row and two JSON.stringify calls
 * cost about 3 µs of the engine's event loop per record. charging-usage.test.ts holds the values
 * and the JSON to the object form, mapped by column name, so a change of the column list fails it.
 */
export function pushRow(
  values: unknown[],
  id: bigint,
  importId: string,
  source: string,
  usage: OnlineUsage,
  now: Instant,
): void {
  const units = usage.units;
  const unit = usage.unit;
  const reportedAt = reportedInstant(usage.reportedAtMs);
  const session = jsonString(usage.sessionId);
  const reservation = jsonString(usage.reservationId);
  const protocol = jsonString(usage.protocol);
  // The same text JSON.stringify gave for these objects, key order included.
  const roaming =
    usage.visitedMccMnc === undefined
      ? ''
      : `,"roaming":true,"visitedMccMnc":${jsonString(usage.visitedMccMnc)}`;
  const detail =
    `{"ratingGroup":${usage.ratingGroup}${roaming},"extra":{"protocol":${protocol},"session":${session}` +
    `,"reservation":${reservation},"reportedAt":"${reportedAt}"}}`;
  const raw =
    `{"online":${protocol},"session":${session},"requestNumber":${usage.requestNumber}` +
    `,"ratingGroup":${usage.ratingGroup},"used":"${units}","unit":"${unit}","reportedAt":"${reportedAt}"}`;
  values.push(
    id,
    usage.tenantId,
    importId,
    source,
    usage.requestNumber,
    usage.reservationId,
    usage.subscriptionId,
    usage.accountId,
    usage.service,
    usage.identity,
    startInstant(usage.startMs),
    unit === 'second' ? units : 0n,
    0n,
    unit === 'byte' ? units : 0n,
    unit !== 'second' && unit !== 'byte' ? units : 0n,
    usage.calledNumber ?? null,
    detail,
    units - usage.bucketUnits,
    usage.bucketUnits,
    usage.amountPico,
    usage.currency,
    usage.trace,
    raw,
    now,
  );
}
