/**
 * Rating for the usage pipeline: the catalog as rating needs it (compiled tariffs, offer versions
 * with their ranges), the rating plan of a subscription at an instant, the counters of a batch
 * (loaded and saved in the batch's transaction), and the use cases that read rated usage back:
 * list, explain, re-rate.
 *
 * Plans. A subscription's plan at instant t is its offer period in force at t, that offer's
 * version in force at t, and its add-ons valid at t with their versions. The compiled plan is
 * cached on the owner together with the window [from, to) in which the same plan holds, so the
 * records of one subscription (usually all inside one window) find it without any lookup.
 */
import { msFromInstant, instantFromMs, parseInstant } from '../kernel/clock.js';
import { fail } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import type { Executor, Tx } from '../storage/database.js';
import {
  compileTariff,
  completeTariffDefinition,
  type CompiledTariff,
  type Offer,
  type OfferVersion,
  type Service,
  type TariffDefinition,
} from '../catalog/index.js';
import * as catalogStore from '../catalog/store.js';
import {
  AllowanceLedger,
  RatingPlanCache,
  RatingResult,
  amountPicoOf,
  applyRating,
  compactTrace,
  compileRatingPlan,
  expandTrace,
  isCompactTrace,
  picoText,
  rateUsage,
  type AllowanceCounterRecord,
  type ChargeTrace,
  type OfferVersionInput,
  type RatingPlan,
  type TariffVersionInput,
  type TierCounterRecord,
  type TraceSink,
} from '../rating/index.js';
import {
  UsageErrors,
  detailOf,
  isUsageService,
  parseDetail,
  type UsageInput,
  type UsageService,
} from '../usage/index.js';
import * as store from '../usage/store.js';
import { toSafeNumber } from '../storage/values.js';
import type { RatedUsageTable } from '../usage/store.js';
import { readExecutor, recordChange, runChange, type Caller, type WorkflowDeps } from './context.js';
import { SubscriberDirectory, type Owner } from './usage-directory.js';
import { emptyRatedFields, type BatchRater, type RatedFields, type RatingFailure } from './usage-pipeline.js';

const FOREVER = Number.MAX_SAFE_INTEGER;

interface VersionRange {
  readonly id: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly version: OfferVersion;
}

/** The published catalog, loaded once per rater: offers with their versions, products, compiled tariffs. */
class RatingCatalog {
  readonly offers = new Map<string, { offer: Offer; versions: VersionRange[] }>();
  readonly products = new Map<string, Service>();
  readonly tariffs = new Map<string, TariffVersionInput[]>();
  /** Plan templates, shared by every subscription on the same offer versions (this catalog only). */
  readonly plans = new RatingPlanCache();
  /**
   * Compiled plans per owner, by window. Per catalog: an owner (the directory's object) can
   * outlive a catalog (the online engine keeps its directory when it reloads a changed catalog),
   * and its plans must not.
   */
  readonly plansOf = new WeakMap<Owner, CachedPlan[]>();

  static async load(db: Executor, tenantId: string): Promise<RatingCatalog> {
    const catalog = new RatingCatalog();
    for (const product of await catalogStore.allProducts(db, tenantId))
      catalog.products.set(product.code, product.service);
    for (const offer of await catalogStore.allOffers(db, tenantId)) {
      const versions = (
        await catalogStore.listOfferVersions(db, tenantId, offer.id, { status: 'published' })
      ).map((version) => ({
        id: version.id,
        fromMs: msFromInstant(version.effectiveFrom),
        toMs: version.effectiveTo === undefined ? FOREVER : msFromInstant(version.effectiveTo),
        version,
      }));
      catalog.offers.set(offer.id, { offer, versions });
    }
    for (const tariff of await catalogStore.allTariffs(db, tenantId)) {
      const versions = await catalogStore.listTariffVersions(db, tenantId, tariff.id, {
        status: 'published',
        withDefinitions: true,
      });
      catalog.tariffs.set(
        tariff.code,
        versions.map((version) => ({
          versionId: version.id,
          fromMs: msFromInstant(version.effectiveFrom),
          ...(version.effectiveTo === undefined ? {} : { toMs: msFromInstant(version.effectiveTo) }),
          get compiled(): CompiledTariff {
            return compiledTariff(version.id, () =>
              compileTariff(
                completeTariffDefinition(version.definition, tariff.code, tariff.name) as TariffDefinition,
              ),
            );
          },
        })),
      );
    }
    return catalog;
  }

  versionAt(offerId: string, ms: number): VersionRange | undefined {
    const entry = this.offers.get(offerId);
    if (entry === undefined) return undefined;
    for (const range of entry.versions) if (range.fromMs <= ms && ms < range.toMs) return range;
    return undefined;
  }
}

/** Compiled tariffs are shared by every rater of the process: a published version never changes. */
const compiledTariffs = new Map<string, CompiledTariff>();
function compiledTariff(versionId: string, compile: () => CompiledTariff): CompiledTariff {
  let found = compiledTariffs.get(versionId);
  if (found === undefined) {
    found = compile();
    compiledTariffs.set(versionId, found);
    if (compiledTariffs.size > 200) compiledTariffs.delete(compiledTariffs.keys().next().value as string);
  }
  return found;
}

interface CachedPlan {
  readonly fromMs: number;
  readonly toMs: number;
  readonly plan: RatingPlan | undefined;
  readonly failure: RatingFailure | undefined;
}

function resolvePlan(catalog: RatingCatalog, owner: Owner, ms: number): CachedPlan {
  const plansOf = catalog.plansOf;
  let cached = plansOf.get(owner);
  if (cached !== undefined) {
    for (const entry of cached) if (entry.fromMs <= ms && ms < entry.toMs) return entry;
  } else {
    cached = [];
    plansOf.set(owner, cached);
  }
  const entry = buildPlan(catalog, owner, ms);
  cached.push(entry);
  return entry;
}

function buildPlan(catalog: RatingCatalog, owner: Owner, ms: number): CachedPlan {
  const subscription = owner.subscription;
  let from = -FOREVER;
  let to = FOREVER;
  let periodIndex = -1;
  for (let i = 0; i < owner.offers.length; i++)
    if ((owner.offers[i] as Owner['offers'][number]).fromMs <= ms) periodIndex = i;
  const noOffer = (message: string, windowFrom: number, windowTo: number): CachedPlan => ({
    fromMs: windowFrom,
    toMs: windowTo,
    plan: undefined,
    failure: { reason: 'no_offer', field: 'startMs', message },
  });
  if (periodIndex < 0) {
    const first = owner.offers[0]?.fromMs ?? FOREVER;
    return noOffer(`subscription ${subscription.id} had no offer at ${instantFromMs(ms)}`, -FOREVER, first);
  }
  const period = owner.offers[periodIndex] as Owner['offers'][number];
  from = period.fromMs;
  to = owner.offers[periodIndex + 1]?.fromMs ?? FOREVER;
  const planVersion = catalog.versionAt(period.offerId, ms);
  const offerCode = catalog.offers.get(period.offerId)?.offer.code ?? period.offerCode ?? period.offerId;
  if (planVersion === undefined) {
    return noOffer(
      `offer ${offerCode} has no published version in force at ${instantFromMs(ms)}`,
      ms,
      ms + 1,
    );
  }
  from = Math.max(from, planVersion.fromMs);
  to = Math.min(to, planVersion.toMs);
  const addOns: OfferVersionInput[] = [];
  const addOnIds: string[] = [];
  for (const addOn of owner.addOns) {
    if (ms < addOn.fromMs) {
      to = Math.min(to, addOn.fromMs);
      continue;
    }
    if (ms >= addOn.toMs) {
      from = Math.max(from, addOn.toMs);
      continue;
    }
    const version = catalog.versionAt(addOn.offerId, ms);
    if (version === undefined) continue;
    from = Math.max(from, addOn.fromMs, version.fromMs);
    to = Math.min(to, addOn.toMs, version.toMs);
    addOnIds.push(version.id);
    addOns.push({
      offerCode: catalog.offers.get(addOn.offerId)?.offer.code ?? addOn.offerCode ?? addOn.offerId,
      versionId: version.id,
      content: version.version.content,
      fromMs: Math.max(addOn.fromMs, version.fromMs),
      toMs: Math.min(addOn.toMs, version.toMs),
    });
  }
  const compiled = compileRatingPlan(
    {
      subscriptionId: subscription.id,
      accountId: owner.account.id,
      account: {
        currency: owner.account.currency,
        timeZone: owner.account.timeZone,
        billCycleDay: owner.account.billCycleDay,
      },
      plan: {
        offerCode,
        versionId: planVersion.id,
        content: planVersion.version.content,
        fromMs: Math.max(period.fromMs, planVersion.fromMs),
        toMs: Math.min(owner.offers[periodIndex + 1]?.fromMs ?? FOREVER, planVersion.toMs),
      },
      addOns,
      products: catalog.products,
      tariffs: catalog.tariffs,
    },
    catalog.plans,
  );
  if (!compiled.ok) {
    return {
      fromMs: from,
      toMs: to,
      plan: undefined,
      failure: {
        reason: 'rating_failed',
        field: 'offer',
        message: `the offer ${offerCode} of subscription ${subscription.id} cannot rate: ${compiled.problems
          .map((p) => `${p.where}: ${p.message}`)
          .join('; ')}`,
      },
    };
  }
  return { fromMs: from, toMs: to, plan: compiled.plan, failure: undefined };
}

// ---------------------------------------------------------------------------------------------
// Counters: stored rows <-> the rating ledger

function counterRows(dirty: {
  allowances: AllowanceCounterRecord[];
  tiers: TierCounterRecord[];
}): store.CounterRow[] {
  return [
    ...dirty.allowances.map((record) => ({
      ownerId: record.ownerId,
      counter: `a:${record.allowanceCode}`,
      periodIndex: record.periodIndex,
      used: record.usedUnits,
      state: allowanceState(record),
    })),
    ...dirty.tiers.map((record) => ({
      ownerId: record.ownerId,
      // The tier key separates its parts with NUL, which PostgreSQL text cannot hold: '/' here
      // (codes and ids never contain it); the state JSON keeps the key itself.
      counter: `t:${record.key.split('\u0000').join('/')}`,
      periodIndex: record.periodIndex,
      used: record.units,
      state: JSON.stringify(record),
    })),
  ];
}

/**
 * The state of an allowance counter as stored: what the row's key columns and `used` do not
 * already hold (owner, allowance code, period index, used units), as a JSON array:
 *
 *   [unit, period start ms, period end ms, own units, granted units, carried-out units,
 *    [[from period index, units], …] rolled over in]
 *
 * An import rewrites a few thousand counters per batch, each a whole row, so their size counts:
 * about 55 characters against 150 as a JSON object with the names. Rows written before hold that
 * object, or the whole record; allowanceFields reads all three.
 */
export function allowanceState(record: AllowanceCounterRecord): string {
  let layers = '';
  for (const layer of record.rolledOverIn) {
    layers += `${layers === '' ? '' : ','}[${layer.fromPeriodIndex},${layer.units}]`;
  }
  return (
    `[${JSON.stringify(record.unit)},${record.periodStartMs},${record.periodEndMs},${record.ownUnits},` +
    `${record.grantedUnits},${record.carriedOutUnits},[${layers}]]`
  );
}

type AllowanceFields = Omit<
  AllowanceCounterRecord,
  'ownerId' | 'allowanceCode' | 'periodIndex' | 'usedUnits'
>;

/** The fields a stored allowance state holds (allowanceState), in any of its stored forms. */
export function allowanceFields(state: string): AllowanceFields {
  const parsed = JSON.parse(state) as unknown;
  if (!Array.isArray(parsed)) return parsed as AllowanceFields;
  const [unit, periodStartMs, periodEndMs, ownUnits, grantedUnits, carriedOutUnits, layers] = parsed as [
    AllowanceFields['unit'],
    number,
    number,
    number,
    number,
    number,
    Array<[number, number]>,
  ];
  if (parsed.length !== 7 || !Array.isArray(layers)) {
    throw new Error(
      `a stored allowance counter state is not [unit, start, end, own, granted, carried, layers]: ${state}`,
    );
  }
  return {
    unit,
    periodStartMs,
    periodEndMs,
    ownUnits,
    rolledOverIn: layers.map(([fromPeriodIndex, units]) => ({ fromPeriodIndex, units })),
    grantedUnits,
    carriedOutUnits,
  };
}

function ledgerFrom(rows: readonly store.CounterRow[]): AllowanceLedger {
  const ledger = new AllowanceLedger();
  loadInto(ledger, rows);
  return ledger;
}

function loadInto(ledger: AllowanceLedger, rows: readonly store.CounterRow[]): void {
  const allowances: AllowanceCounterRecord[] = [];
  const tiers: TierCounterRecord[] = [];
  for (const row of rows) {
    if (row.counter.startsWith('a:')) {
      allowances.push({
        ownerId: row.ownerId,
        allowanceCode: row.counter.slice(2),
        periodIndex: row.periodIndex,
        usedUnits: row.used,
        ...allowanceFields(row.state),
      });
    } else tiers.push(JSON.parse(row.state) as TierCounterRecord);
  }
  ledger.load(allowances, tiers);
}

// ---------------------------------------------------------------------------------------------
// The rater of the pipeline

class CatalogRater implements BatchRater {
  private catalog: RatingCatalog | undefined;
  private ledger = new AllowanceLedger();
  private readonly result = new RatingResult();
  /** Owners whose stored counters are in `ledger` (on SQLite, kept between batches). */
  private readonly loaded = new Set<string>();
  /**
   * The counter generation `ledger` matches (SQLite only): the one this rater's last write made,
   * or the one it read before loading. Undefined: nothing in memory can be trusted.
   */
  private generation: number | undefined;

  constructor(
    private readonly deps: WorkflowDeps,
    private readonly tenantId: string,
  ) {}

  async begin(tx: Tx, owners: readonly Owner[]): Promise<void> {
    this.catalog ??= await RatingCatalog.load(tx, this.tenantId);
    const ids = new Set<string>();
    for (const owner of owners) ids.add(owner.subscription.id).add(owner.account.id);
    if (this.deps.database.dialect === 'postgres') {
      // The counters are read afresh in every batch's transaction, so usage of the same
      // subscriptions arriving another way meanwhile (RADIUS, the API, another import, another
      // worker) is never overwritten: the rows are read FOR UPDATE, in a fixed order, so two
      // writers never wait on each other in a circle.
      this.ledger = ledgerFrom(
        await store.loadCounters(tx, this.tenantId, [...ids].sort(), { forUpdate: true }),
      );
      return;
    }
    // SQLite: this transaction holds the database's only write lock, so the counters cannot
    // change under it. If no one wrote counters since this rater last did (same generation), the
    // counters in memory are the stored ones and only owners new to this rater are read; on a
    // file of a few thousand subscribers that turns thousands of counter reads per batch into
    // none. Anyone else's write (another import, the API, a re-rating run) changes the
    // generation, and everything is read again.
    const generation = await store.counterGeneration(tx, this.tenantId);
    if (generation !== this.generation) {
      this.ledger = new AllowanceLedger();
      this.loaded.clear();
      this.generation = generation;
    }
    const missing: string[] = [];
    for (const id of ids) if (!this.loaded.has(id)) missing.push(id);
    if (missing.length === 0) return;
    loadInto(this.ledger, await store.loadCounters(tx, this.tenantId, missing.sort()));
    for (const id of missing) this.loaded.add(id);
  }

  rate(owner: Owner, input: UsageInput, out: RatedFields, traceSink?: TraceSink): RatingFailure | undefined {
    const resolved = resolvePlan(this.catalog as RatingCatalog, owner, input.startMs);
    if (resolved.plan === undefined) return resolved.failure;
    const result = this.result;
    rateUsage(resolved.plan, input, this.ledger, result);
    if (result.outcome !== 'ok') {
      return {
        reason: result.rejectReason ?? 'rating_failed',
        field: failureField(result.failure),
        message: result.failureMessage ?? `rating failed (${result.failure ?? 'unknown'})`,
      };
    }
    applyRating(this.ledger, result);
    fillFields(result, out, traceSink);
    return undefined;
  }

  async commit(tx: Tx): Promise<void> {
    const generation = await store.saveCounters(
      tx,
      this.tenantId,
      counterRows(this.ledger.takeDirty()),
      this.deps.clock.now(),
    );
    // Our own write: the counters in memory are what is now stored, at the new generation.
    if (generation !== undefined) this.generation = generation;
  }

  abort(): void {
    this.ledger = new AllowanceLedger();
    this.loaded.clear();
    this.generation = undefined;
  }
}

/**
 * Prices usage for online charging: the tariff of the subscription's plan in force at the event,
 * with the plan's allowances left out. Online, allowances are unit buckets granted each period
 * into the charging balances (so a reservation can hold them like money); pricing here is what
 * money pays for the units the buckets do not cover. Tier counters are not consulted either: a
 * tiered price is taken at its first tier (docs/charging.md says so).
 */
export class OnlinePricer {
  private readonly result = new RatingResult();

  private constructor(
    private readonly catalog: RatingCatalog,
    /** The tenant's catalogFingerprint read before the catalog was loaded. */
    readonly fingerprint: string,
    private readonly tenantId: string,
  ) {}

  static async load(db: Executor, tenantId: string): Promise<OnlinePricer> {
    // The fingerprint first: a change made while the catalog loads then shows as a difference.
    const fingerprint = await catalogStore.catalogFingerprint(db, tenantId);
    return new OnlinePricer(await RatingCatalog.load(db, tenantId), fingerprint, tenantId);
  }

  /** Whether the tenant's catalog is still the one this pricer loaded (see catalogFingerprint). */
  async isCurrent(db: Executor): Promise<boolean> {
    return (await catalogStore.catalogFingerprint(db, this.tenantId)) === this.fingerprint;
  }

  /**
   * The price of `units` of the usage `template` describes (its quantities are replaced by the
   * units: seconds for voice, bytes for data split as downlink, events otherwise), in pico-units
   * of the plan's currency; a failure when the plan cannot rate it.
   */
  price(
    owner: Owner,
    template: UsageInput,
    units: bigint,
  ): { amountPico: bigint; currency: string } | RatingFailure {
    const resolved = resolvePlan(this.catalog, owner, template.startMs);
    if (resolved.plan === undefined) return resolved.failure as RatingFailure;
    if (units > BigInt(Number.MAX_SAFE_INTEGER)) {
      return {
        reason: 'rating_failed',
        field: 'units',
        message: `${units} units are beyond what can be priced`,
      };
    }
    const n = Number(units);
    const usage: UsageInput =
      template.service === 'voice'
        ? { ...template, durationSec: n, volumeUpBytes: 0, volumeDownBytes: 0, count: 0 }
        : template.service === 'data'
          ? { ...template, volumeUpBytes: 0, volumeDownBytes: n, count: 0 }
          : { ...template, count: n, durationSec: 0, volumeUpBytes: 0, volumeDownBytes: 0 };
    const result = this.result;
    rateUsage(resolved.plan, usage, NO_ALLOWANCES, result);
    if (result.outcome !== 'ok') {
      return {
        reason: result.rejectReason ?? 'rating_failed',
        field: failureField(result.failure),
        message: result.failureMessage ?? `rating failed (${result.failure ?? 'unknown'})`,
      };
    }
    return { amountPico: amountPicoOf(result), currency: result.currency };
  }

  /**
   * The charge trace of the last `price` call that succeeded (compactTrace: offer, tariff
   * version, zone, band, increments, prices), for the rated record of an online commit.
   */
  lastTrace(): string {
    return compactTrace(this.result);
  }

  /**
   * The tariff zone `template` falls in at its instant: the roaming zone of the visited network
   * when roaming, else the zone of the called number; undefined when the tariff has none (data,
   * SMS at one price) or the plan cannot rate it. What zoned buckets (roaming minutes, say) match.
   */
  zoneOf(owner: Owner, template: UsageInput): string | undefined {
    if (!('amountPico' in this.price(owner, template, 1n))) return undefined;
    const result = this.result;
    const zones = result.tariffVersion?.view.compiled.zones;
    if (zones === undefined) return undefined;
    if (result.roamingZone >= 0) return zones[result.roamingZone];
    return result.zone >= 0 ? zones[result.zone] : undefined;
  }
}

/** A rating state with every allowance used up and every tier counter empty (see OnlinePricer). */
const NO_ALLOWANCES = {
  allowanceLeft: (): number => 0,
  tierPriorUnits: (): number => 0,
};

function failureField(failure: string | undefined): string {
  switch (failure) {
    case 'no_route':
      return 'calledNumber';
    case 'unknown_network':
    case 'roaming_without_network':
      return 'visitedMccMnc';
    case 'currency':
      return 'currency';
    case 'outside_plan':
    case 'no_tariff_version':
      return 'startMs';
    default:
      return 'service';
  }
}

/**
 * Copies what a rated record keeps out of the reused result. The trace is stored compact (the
 * core's compactTrace: facts and names, no formula) and expanded when read (readTrace), which
 * keeps the full explanation available at a fraction of the cost per record.
 */
function fillFields(result: RatingResult, out: RatedFields, traceSink?: TraceSink): void {
  out.chargedUnits = result.chargedUnits;
  out.allowanceUnits = result.coveredUnits;
  out.amountPico = amountPicoOf(result);
  out.currency = result.currency;
  out.trace = compactTrace(result, traceSink);
}

/** A stored trace as the full ChargeTrace: compact traces are expanded, older ones are JSON objects. */
export function readTrace(text: string): ChargeTrace {
  return isCompactTrace(text) ? expandTrace(text) : (JSON.parse(text) as ChargeTrace);
}

export function createBatchRater(deps: WorkflowDeps, tenantId: string): BatchRater {
  return new CatalogRater(deps, tenantId);
}

// ---------------------------------------------------------------------------------------------
// Reading rated usage back

export interface RatedUsageView {
  readonly id: bigint;
  readonly kind: 'original' | 'rerate';
  readonly correctsId: bigint | undefined;
  readonly rerateRunId: string | undefined;
  readonly importId: string;
  readonly source: string;
  readonly line: number;
  readonly sourceRecordId: string | undefined;
  readonly subscriptionId: string;
  readonly accountId: string;
  readonly service: UsageService;
  readonly identity: string;
  readonly startAt: string;
  readonly durationSec: number;
  readonly volumeUpBytes: number;
  readonly volumeDownBytes: number;
  readonly eventCount: number;
  readonly callingNumber: string | undefined;
  readonly calledNumber: string | undefined;
  readonly apn: string | undefined;
  readonly ratingGroup: number | undefined;
  readonly visitedMccMnc: string | undefined;
  readonly roaming: boolean;
  readonly eventType: string | undefined;
  readonly chargedUnits: number;
  readonly allowanceUnits: number;
  readonly amountPico: bigint;
  readonly currency: string;
  readonly offerVersionId: string | undefined;
  readonly tariffVersionId: string | undefined;
  readonly matchedPrefix: string | undefined;
  readonly zone: string | undefined;
  readonly band: string | undefined;
  readonly status: string;
  readonly trace: unknown;
  readonly raw: string;
  readonly ratedAt: string;
}

const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

export function toRatedUsageView(row: RatedUsageTable): RatedUsageView {
  // The trace is expanded only when read (lists rarely show it); the charge names come from it.
  let trace: ChargeTrace | undefined;
  const traceOf = (): ChargeTrace => (trace ??= readTrace(row.trace));
  const detail = parseDetail(row.detail);
  return {
    id: BigInt(row.id),
    kind: row.kind as 'original' | 'rerate',
    correctsId: row.corrects_id === null ? undefined : BigInt(row.corrects_id),
    rerateRunId: detail.rerateRunId,
    importId: row.import_id,
    source: row.source,
    line: toSafeNumber(row.line, 'line'),
    sourceRecordId: opt(row.source_record_id),
    subscriptionId: row.subscription_id,
    accountId: row.account_id,
    service: row.service as UsageService,
    identity: row.identity,
    startAt: row.start_at,
    durationSec: toSafeNumber(row.duration_sec, 'duration_sec'),
    volumeUpBytes: toSafeNumber(row.volume_up_bytes, 'volume_up_bytes'),
    volumeDownBytes: toSafeNumber(row.volume_down_bytes, 'volume_down_bytes'),
    eventCount: toSafeNumber(row.event_count, 'event_count'),
    callingNumber: detail.callingNumber,
    calledNumber: opt(row.called_number),
    apn: detail.apn,
    ratingGroup: detail.ratingGroup,
    visitedMccMnc: detail.visitedMccMnc,
    roaming: detail.roaming === true,
    eventType: detail.eventType,
    chargedUnits: toSafeNumber(row.charged_units, 'charged_units'),
    allowanceUnits: toSafeNumber(row.allowance_units, 'allowance_units'),
    amountPico: BigInt(row.amount_pico),
    currency: row.currency,
    get offerVersionId(): string | undefined {
      return traceOf().offerVersionId;
    },
    get tariffVersionId(): string | undefined {
      return traceOf().tariffVersionId;
    },
    get matchedPrefix(): string | undefined {
      return traceOf().matchedPrefix;
    },
    get zone(): string | undefined {
      const t = traceOf();
      return t.zone ?? t.roamingZone;
    },
    get band(): string | undefined {
      return traceOf().band;
    },
    status: row.status,
    get trace(): unknown {
      return traceOf();
    },
    raw: row.raw,
    ratedAt: row.rated_at,
  };
}

export async function listRatedUsage(
  deps: WorkflowDeps,
  tenantId: string,
  filter: store.RatedUsageFilter,
): Promise<RatedUsageView[]> {
  return (await store.listRatedUsage(readExecutor(deps), tenantId, filter)).map(toRatedUsageView);
}

export async function getRatedUsage(
  deps: WorkflowDeps,
  tenantId: string,
  id: bigint,
): Promise<RatedUsageView> {
  const row = await store.findRatedUsage(readExecutor(deps), tenantId, id);
  if (row === undefined)
    throw fail(UsageErrors.usage_not_found, `no rated usage ${id}`, { record: String(id) });
  return toRatedUsageView(row);
}

export interface UsageExplanation {
  readonly usage: RatedUsageView;
  /** Later corrections (re-rating deltas) and the net amount. */
  readonly corrections: readonly RatedUsageView[];
  readonly netAmountPico: bigint;
  readonly lines: readonly string[];
}

/** One read for support: the record, its charge trace and formula, and what re-rating changed since. */
export async function explainUsage(
  deps: WorkflowDeps,
  tenantId: string,
  id: bigint,
): Promise<UsageExplanation> {
  const usage = await getRatedUsage(deps, tenantId, id);
  const corrections = (
    await store.listCorrections(readExecutor(deps), tenantId, [{ id, startAt: usage.startAt }])
  ).map(toRatedUsageView);
  const net = corrections.reduce((sum, c) => sum + c.amountPico, usage.amountPico);
  const trace = (
    corrections.length > 0 ? (corrections[corrections.length - 1] as RatedUsageView).trace : usage.trace
  ) as Record<string, unknown>;
  const lines = [
    `Usage ${usage.id} (${usage.kind}): ${usage.service} of ${usage.identity} at ${usage.startAt}` +
      `${usage.calledNumber === undefined ? '' : ` to ${usage.calledNumber}`}, from ${usage.source} line ${usage.line}`,
    `Subscription ${usage.subscriptionId}, account ${usage.accountId}; offer ${String(trace.offerCode ?? '?')} version ${usage.offerVersionId ?? '?'}, ` +
      `tariff ${String(trace.tariffCode ?? '?')} version ${usage.tariffVersionId ?? '?'}`,
  ];
  if (usage.matchedPrefix !== undefined)
    lines.push(`Matched prefix ${usage.matchedPrefix}: zone ${usage.zone ?? '?'}`);
  if (usage.band !== undefined) lines.push(`Time band ${usage.band}`);
  const draws = (trace.allowances ?? []) as Array<{
    allowanceCode: string;
    units: number;
    periodStart: string;
    ownerId: string;
  }>;
  for (const draw of draws) {
    lines.push(
      `Allowance ${draw.allowanceCode} (period from ${draw.periodStart}, owner ${draw.ownerId}): ${draw.units} ${String(trace.unit)}`,
    );
  }
  lines.push(`Formula: ${String(trace.formula ?? '')}`);
  lines.push(`Charge: ${picoText(usage.amountPico)} ${usage.currency}`);
  for (const correction of corrections) {
    lines.push(
      `Re-rated (${correction.rerateRunId ?? ''}, usage ${correction.id}): ${picoText(correction.amountPico)} ${correction.currency}`,
    );
  }
  if (corrections.length > 0) lines.push(`Net charge: ${picoText(net)} ${usage.currency}`);
  return { usage, corrections, netAmountPico: net, lines };
}

// ---------------------------------------------------------------------------------------------
// Re-rating

export interface RerateInput {
  readonly subscriptionId?: string;
  readonly accountId?: string;
  /** Inclusive instant. */
  readonly from: string;
  /** Exclusive instant. */
  readonly to: string;
}

export interface RerateResult {
  readonly runId: string;
  readonly examined: number;
  readonly deltas: number;
  readonly unchanged: number;
  readonly failed: number;
  readonly netChange: ReadonlyArray<{ currency: string; amountPico: bigint }>;
}

/**
 * Re-rates the usage of a subscription, an account, or (neither given) everyone, in [from, to) against the catalog as it is now,
 * in event order, with the period's allowance counters rebuilt from scratch for the records
 * re-rated: each record's net charge so far (original plus earlier deltas) is compared with its
 * new charge, and a delta record is written where they differ. History is never rewritten, and a
 * second run finds every net charge equal to the new one: it writes nothing.
 *
 * The counters of the subscriptions and accounts touched are replaced by the re-rated ones for
 * the periods the records fall in, so they stay consistent with the rated records. Re-rate whole
 * allowance periods (a bill cycle) so no usage outside the window shares the counters.
 */
export async function rerateUsage(
  deps: WorkflowDeps,
  caller: Caller,
  input: RerateInput,
): Promise<RerateResult> {
  const from = parseInstant(input.from);
  const to = parseInstant(input.to);
  if (from === undefined)
    throw fail(UsageErrors.invalid_rerate, `from ${input.from} is not an instant`, { field: 'from' });
  if (to === undefined || to <= from) {
    throw fail(UsageErrors.invalid_rerate, `to ${input.to} must be an instant after from`, { field: 'to' });
  }
  const tenantId = caller.tenantId;
  return runChange(deps, caller, async (ctx) => {
    const runId = newId('rrr', ctx.clock);
    const rows: RatedUsageTable[] = [];
    let after: bigint | undefined;
    for (;;) {
      const page = await store.listRatedUsage(ctx.tx, tenantId, {
        from,
        to,
        kind: 'original',
        // Online charging's records were priced against balances and buckets, not the counters.
        online: false,
        ...(input.subscriptionId === undefined ? {} : { subscriptionId: input.subscriptionId }),
        ...(input.accountId === undefined ? {} : { accountId: input.accountId }),
        ...(after === undefined ? {} : { after }),
        limit: 5000,
      });
      if (page.length === 0) break;
      rows.push(...page);
      after = BigInt((page[page.length - 1] as RatedUsageTable).id);
    }
    rows.sort((a, b) => a.start_at.localeCompare(b.start_at) || Number(BigInt(a.id) - BigInt(b.id)));
    const corrections = await store.listCorrections(
      ctx.tx,
      tenantId,
      rows.map((r) => ({ id: BigInt(r.id), startAt: r.start_at })),
    );
    // The net charge of each record so far, and the trace of its latest rating (whose allowance
    // draws and tier units are what the counters hold for it now).
    const netOf = new Map<string, bigint>();
    const latestTrace = new Map<string, string>();
    for (const row of rows) {
      netOf.set(String(row.id), BigInt(row.amount_pico));
      latestTrace.set(String(row.id), row.trace);
    }
    for (const c of corrections) {
      const key = String(c.corrects_id);
      netOf.set(key, (netOf.get(key) ?? 0n) + BigInt(c.amount_pico));
      latestTrace.set(key, c.trace);
    }

    const catalog = await RatingCatalog.load(ctx.tx, tenantId);
    const directory = new SubscriberDirectory(deps.database, tenantId);
    const ownerIds = new Set<string>();
    for (const row of rows) ownerIds.add(row.subscription_id).add(row.account_id);
    const ledger = ledgerFrom(await store.loadCounters(ctx.tx, tenantId, [...ownerIds]));
    // Give back what the records drew, so they are rated again from the counters as they were
    // without them; pooled allowances keep what other subscriptions used.
    for (const text of latestTrace.values()) {
      const trace = readTrace(text);
      for (const draw of trace.allowances ?? []) {
        ledger.adjustAllowance(draw.ownerId, draw.allowanceCode, draw.periodIndex, -draw.units);
      }
      if (trace.tiers !== undefined) {
        ledger.adjustTier(
          trace.tiers.counter.split('/').join('\u0000'),
          trace.tiers.periodIndex,
          -trace.tiers.units,
        );
      }
    }
    const result = new RatingResult();
    const ownersBySubscription = new Map<string, Owner>();
    const deltas: unknown[] = [];
    const net = new Map<string, bigint>();
    let deltaCount = 0;
    let unchanged = 0;
    let failed = 0;
    const now = ctx.clock.now();
    const inserter = store.ratedUsageInserter();
    const pending: Array<{ row: RatedUsageTable; fields: RatedFields; delta: bigint }> = [];
    for (const row of rows) {
      let owner = ownersBySubscription.get(row.subscription_id);
      if (owner === undefined) {
        owner = await directory.ownerOfSubscription(ctx.tx, row.subscription_id);
        if (owner === undefined) {
          failed++;
          continue;
        }
        ownersBySubscription.set(row.subscription_id, owner);
      }
      const usage = inputOf(row);
      const resolved = resolvePlan(catalog, owner, usage.startMs);
      if (resolved.plan === undefined) {
        failed++;
        continue;
      }
      rateUsage(resolved.plan, usage, ledger, result);
      if (result.outcome !== 'ok') {
        failed++;
        continue;
      }
      applyRating(ledger, result);
      const fields = emptyRatedFields();
      fillFields(result, fields);
      const delta = fields.amountPico - (netOf.get(String(row.id)) ?? 0n);
      if (delta === 0n) {
        unchanged++;
        continue;
      }
      pending.push({ row, fields, delta });
    }
    if (pending.length > 0) {
      let id = await store.allocateIds(ctx.tx, 'rated_usage', pending.length);
      for (const { row, fields, delta } of pending) {
        deltaCount++;
        net.set(fields.currency, (net.get(fields.currency) ?? 0n) + delta);
        deltas.push(
          id++,
          tenantId,
          row.import_id,
          row.source,
          row.line,
          row.source_record_id,
          row.subscription_id,
          row.account_id,
          row.service,
          row.identity,
          row.start_at,
          row.duration_sec,
          row.volume_up_bytes,
          row.volume_down_bytes,
          row.event_count,
          row.called_number,
          detailOf(inputOf(row), runId),
          fields.chargedUnits,
          fields.allowanceUnits,
          delta,
          fields.currency,
          'unbilled',
          'rerate',
          row.id,
          fields.trace,
          row.raw,
          now,
        );
      }
      await inserter.insert(ctx.tx, deltas);
    }
    // The counters of the re-rated periods become the re-rated ones.
    await store.saveCounters(ctx.tx, tenantId, counterRows(ledger.takeDirty()), now);
    const summary: RerateResult = {
      runId,
      examined: rows.length,
      deltas: deltaCount,
      unchanged,
      failed,
      netChange: [...net.entries()].map(([currency, amountPico]) => ({ currency, amountPico })),
    };
    await recordChange(ctx, {
      action: 'usage.rerated',
      entityType: 'rerate_run',
      entityId: runId,
      after: {
        ...input,
        ...summary,
        netChange: summary.netChange.map((n) => ({ ...n, amountPico: String(n.amountPico) })),
      },
    });
    return summary;
  });
}

/** The normalised record a rated row was rated from. */
function inputOf(row: RatedUsageTable): UsageInput {
  if (!isUsageService(row.service))
    throw new TypeError(`rated usage ${row.id}: unknown service ${row.service}`);
  const detail = parseDetail(row.detail);
  return {
    service: row.service,
    identityType: 'msisdn',
    identity: row.identity,
    startMs: msFromInstant(row.start_at),
    durationSec: toSafeNumber(row.duration_sec, 'duration_sec'),
    volumeUpBytes: toSafeNumber(row.volume_up_bytes, 'volume_up_bytes'),
    volumeDownBytes: toSafeNumber(row.volume_down_bytes, 'volume_down_bytes'),
    count: toSafeNumber(row.event_count, 'event_count'),
    roaming: detail.roaming === true,
    ...(row.called_number === null ? {} : { calledNumber: row.called_number }),
    ...(detail.callingNumber === undefined ? {} : { callingNumber: detail.callingNumber }),
    ...(detail.apn === undefined ? {} : { apn: detail.apn }),
    ...(detail.ratingGroup === undefined ? {} : { ratingGroup: detail.ratingGroup }),
    ...(detail.cellId === undefined ? {} : { cellId: detail.cellId }),
    ...(detail.visitedMccMnc === undefined ? {} : { visitedMccMnc: detail.visitedMccMnc }),
    ...(detail.snssai === undefined ? {} : { snssai: detail.snssai }),
    ...(detail.qos === undefined ? {} : { qos: detail.qos }),
    ...(detail.eventType === undefined ? {} : { eventType: detail.eventType }),
    ...(detail.price === undefined ? {} : { price: detail.price }),
    ...(detail.extra === undefined ? {} : { extra: detail.extra }),
  };
}
