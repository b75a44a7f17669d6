/**
 * The rating model: what `compileRatingPlan` builds (a RatingPlan), what `rateUsage` reads
 * (RatingState) and what it writes (RatingResult).
 *
 * Units. Every quantity on the hot path is a JavaScript number holding a safe integer of a base
 * unit: seconds (voice), bytes (data), events (SMS, MMS, content, IoT events). Amounts are
 * pico-units (10^-12 of the currency's major unit, the kernel's RATED_SCALE): a number when the
 * amount is a safe integer (the fast path: 2^53 pico is about 9 000 major units), else a bigint.
 * `amountPicoOf(result)` always gives the bigint.
 */
import type {
  AllowanceSharing,
  BandPart,
  CompiledTariff,
  OfferVersionContent,
  PeriodUnit,
  RolloverDefinition,
  Service,
} from '../catalog/index.js';
import type { BaseUnit } from '../kernel/quantity.js';
import type { RejectReason, UsageService } from '../usage/index.js';
import type { FastTariffView, FastPricing, FastDataRate, FastEventPrice } from './fast-tariff.js';
import type { PeriodCalendar } from './periods.js';

// ------------------------------------------------------------------------------------------------
// Compiling a plan

/** One offer version the subscription holds: its plan, or one of its active add-ons. */
export interface OfferVersionInput {
  readonly offerCode: string;
  readonly versionId: string;
  /** The version's content (prices and allowances), as the catalog stores it. */
  readonly content: Pick<OfferVersionContent, 'prices' | 'allowances'>;
  /**
   * When the subscription holds it, in ms since the epoch (inclusive / exclusive): the
   * intersection of the version's effective range with the plan period or the add-on's validity.
   * Open-ended when absent. Usage outside the plan's range is refused ('no_offer'); an add-on's
   * allowances and prices apply only inside its range.
   */
  readonly fromMs?: number;
  readonly toMs?: number;
}

/** One version of a tariff the usage prices name, compiled by the catalog's compileTariff. */
export interface TariffVersionInput {
  readonly versionId: string;
  /** Inclusive, ms since the epoch. */
  readonly fromMs: number;
  /** Exclusive; open-ended when absent. */
  readonly toMs?: number;
  readonly compiled: CompiledTariff;
}

export interface RatingPlanInput {
  readonly subscriptionId: string;
  readonly accountId: string;
  /** The account's preferences: the currency usage is rated in, its zone and bill cycle day. */
  readonly account: { readonly currency: string; readonly timeZone: string; readonly billCycleDay: number };
  readonly plan: OfferVersionInput;
  readonly addOns?: readonly OfferVersionInput[];
  /** Product code → the service it delivers, for every product the usage prices name. */
  readonly products: ReadonlyMap<string, Service>;
  /** Tariff code → its versions, for every tariff the usage prices name. */
  readonly tariffs: ReadonlyMap<string, readonly TariffVersionInput[]>;
}

/** Why a plan cannot be compiled; `compileRatingPlan` returns every problem it finds. */
export const PLAN_PROBLEM_CODES = [
  'invalid_account',
  'unknown_product',
  'unknown_tariff',
  'ambiguous_usage_price',
  'currency_not_priced',
  'service_not_priced_by_tariff',
  'invalid_allowance',
] as const;
export type PlanProblemCode = (typeof PLAN_PROBLEM_CODES)[number];

export interface PlanProblem {
  readonly code: PlanProblemCode;
  /** Where: "plan MOBILE-M version v1 /prices/2" or "account". */
  readonly where: string;
  readonly message: string;
}

export type CompilePlanResult =
  | { readonly ok: true; readonly plan: RatingPlan }
  | { readonly ok: false; readonly problems: readonly PlanProblem[] };

/** What an allowance measures: 0 seconds, 1 bytes, 2 events (messages, events, units). */
export const MEASURE_SECONDS = 0;
export const MEASURE_BYTES = 1;
export const MEASURE_COUNT = 2;
export type Measure = typeof MEASURE_SECONDS | typeof MEASURE_BYTES | typeof MEASURE_COUNT;

/**
 * An allowance of a plan template, compiled: its code, quantity in base units, period and counter
 * index. It names no owner: the owner (the subscription, or the account for 'account-pool') comes
 * from the RatingPlan it is used through (`ownerOf(plan, allowance)`).
 */
export interface PlanAllowance {
  readonly code: string;
  readonly offerCode: string;
  readonly offerVersionId: string;
  /** 'add-on' or 'plan': where it came from (add-ons are drawn first). */
  readonly source: 'plan' | 'add-on';
  /** The offer version it came from: 0 the plan, 1… the add-ons (RatingPlan.sourceFromMs/ToMs). */
  readonly sourceIndex: number;
  readonly service: Service;
  readonly measure: Measure;
  readonly unit: BaseUnit;
  /** The units granted per period, in base units (safe integer). */
  readonly quantity: number;
  readonly zones: readonly string[] | undefined;
  readonly sharing: AllowanceSharing;
  /** True for 'account-pool': the account owns the counter. */
  readonly pooled: boolean;
  readonly period: PeriodUnit;
  readonly calendar: PeriodCalendar;
  readonly rollover: { readonly maxPeriods: number; readonly maxQuantity: number | undefined } | undefined;
  readonly rolloverDefinition: RolloverDefinition | undefined;
  /** Position in the plan's priority order (0 first); also its counter index in the template. */
  readonly priority: number;
}

/**
 * A tier counter of a template: units (blocks, events) counted per billing month, per
 * subscription, tariff, rate (data or event type) and roaming zone. Its stored key is
 * `${subscriptionId}\u0000${tariffCode}\u0000${rate}\u0000${zoneId}` (`tierKeyOf`).
 */
export interface TierCounterRef {
  /** Counter index in the template: allowances first, then tiers (allowances.length + i). */
  readonly counterIndex: number;
  readonly tariffCode: string;
  readonly rate: string;
  /** The roaming zone id, '' at home. */
  readonly zoneId: string;
  readonly calendar: PeriodCalendar;
}

/** One tariff version as a service of the plan uses it. */
export interface PlanTariffVersion {
  readonly versionId: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly view: FastTariffView;
  /**
   * allowanceCovers[a × (zoneCount + 1) + zone + 1] is 1 when allowance a (index in the service's
   * allowance list of that measure) covers zone `zone` (-1 = home, no zone) of this version.
   */
  readonly coversSeconds: Uint8Array;
  readonly coversBytes: Uint8Array;
  readonly coversCount: Uint8Array;
  /** zones.length + 1: the stride of the covers tables. */
  readonly zoneStride: number;
  /** Tier counters of the data rates, by roaming zone + 1. */
  readonly dataTier: ReadonlyArray<TierCounterRef | undefined>;
  /** Event prices and their tier counters, by event type. */
  readonly events: ReadonlyMap<string, PlanEventRates>;
  /** The 'sms' entry of `events`, found without a map lookup (the common event). */
  readonly smsRates: PlanEventRates | undefined;
}

/** The prices of one event type and their tier counters, by roaming zone + 1 (0 = home). */
export interface PlanEventRates {
  readonly prices: ReadonlyArray<FastEventPrice | undefined>;
  readonly tiers: ReadonlyArray<TierCounterRef | undefined>;
}

/** How one usage service is priced in the plan. */
export interface ServicePlan {
  readonly service: UsageService;
  readonly offerCode: string;
  readonly offerVersionId: string;
  readonly priceCode: string;
  readonly tariffCode: string;
  /** The offer version the price came from: 0 the plan, 1… the add-ons. */
  readonly sourceIndex: number;
  /** Sorted by fromMs. */
  readonly versions: readonly PlanTariffVersion[];
  /** Allowances that can draw for this service, by measure, in priority order. */
  readonly allowancesSeconds: readonly PlanAllowance[];
  readonly allowancesBytes: readonly PlanAllowance[];
  readonly allowancesCount: readonly PlanAllowance[];
}

/**
 * The shared, compiled part of a plan: everything that depends only on the offer versions held
 * (plan and add-ons), the account's currency, time zone and bill cycle day, and the catalog. Every
 * subscription on the same offer versions shares one template (RatingPlanCache), so rating touches
 * the same few objects for all of them and they stay in the CPU caches.
 */
export interface RatingTemplate {
  readonly currency: string;
  readonly timeZone: string;
  readonly billCycleDay: number;
  readonly planOfferCode: string;
  readonly planVersionId: string;
  /** By usage service; undefined when the plan prices no such usage. */
  readonly voice: ServicePlan | undefined;
  readonly sms: ServicePlan | undefined;
  readonly mms: ServicePlan | undefined;
  readonly data: ServicePlan | undefined;
  readonly content: ServicePlan | undefined;
  readonly iot: ServicePlan | undefined;
  /** Every allowance of the plan and its add-ons, in priority order (counter indexes 0…). */
  readonly allowances: readonly PlanAllowance[];
  /** Every tier counter (counter indexes allowances.length…). */
  readonly tiers: readonly TierCounterRef[];
  /** allowances.length + tiers.length. */
  readonly counterCount: number;
  /** The offer versions (0 the plan, then the add-ons in code order): what a binding gives ranges for. */
  readonly sourceCount: number;
  /** The billing-month calendar tiers are counted in. */
  readonly tierCalendar: PeriodCalendar;
}

/**
 * A subscription's rating plan: a shared template and the little that is the subscription's own
 * (ids and the ranges in which it holds each offer version). compileRatingPlan builds it.
 *
 * `ledger` and `slotBase` are the binding to the counters a RatingState last used for it: the
 * state owns them (AllowanceLedger sets them the first time it sees the plan), so counter lookups
 * on the hot path are one comparison and an array read instead of a map lookup by string.
 */
export class RatingPlan {
  readonly template: RatingTemplate;
  readonly subscriptionId: string;
  readonly accountId: string;
  /** The plan's range (ms, [from, to)); -Infinity / +Infinity when open. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Range of each offer version held, by source index (0 = the plan's range). */
  readonly sourceFromMs: readonly number[];
  readonly sourceToMs: readonly number[];
  /**
   * The plan's range in whole minutes, inside it: every instant from fastFromMinute × 60 000 up
   * to (not including) fastToMinute × 60 000 is in [fromMs, toMs). Small integers, so that rating
   * checks the range without reading fromMs and toMs, which V8 keeps in separate heap numbers
   * (one more cache miss per event on a random subscription); only an instant in the minute of a
   * bound (or a bound beyond ±2^30 minutes) needs them. See rangeMinutes.
   */
  readonly fastFromMinute: number;
  readonly fastToMinute: number;
  /** The state this plan is bound to, and where its counter slots start there (see the class comment). */
  ledger: object | undefined = undefined;
  slotBase = 0;

  constructor(
    template: RatingTemplate,
    subscriptionId: string,
    accountId: string,
    sourceFromMs: readonly number[],
    sourceToMs: readonly number[],
  ) {
    this.template = template;
    this.subscriptionId = subscriptionId;
    this.accountId = accountId;
    this.fromMs = sourceFromMs[0] as number;
    this.toMs = sourceToMs[0] as number;
    this.sourceFromMs = sourceFromMs;
    this.sourceToMs = sourceToMs;
    const [fastFrom, fastTo] = rangeMinutes(this.fromMs, this.toMs);
    this.fastFromMinute = fastFrom;
    this.fastToMinute = fastTo;
  }

  get currency(): string {
    return this.template.currency;
  }
  get timeZone(): string {
    return this.template.timeZone;
  }
  get billCycleDay(): number {
    return this.template.billCycleDay;
  }
  get planOfferCode(): string {
    return this.template.planOfferCode;
  }
  get planVersionId(): string {
    return this.template.planVersionId;
  }
  get allowances(): readonly PlanAllowance[] {
    return this.template.allowances;
  }
}

/** Bounds of RatingPlan's fast range check: small integers (V8 Smis), never ±2^30 or beyond. */
const LOWEST_MINUTE = -(2 ** 30);
const HIGHEST_MINUTE = 2 ** 30 - 1;

/**
 * [fastFromMinute, fastToMinute] for the range [fromMs, toMs) (see RatingPlan): the first whole
 * minute at or after fromMs and the last whole minute at or before toMs, so every instant of
 * [from × 60 000, to × 60 000) is in the range. Clamped to ±2^30 minutes (year 4010) to stay
 * small integers; a clamp never lets an instant outside the range pass: raising `from` or
 * lowering `to` only shrinks the fast range, and where a clamp would widen it (a bound beyond
 * year 4010 on the far side) the fast range comes out empty, since from ≥ 2^30 − 1 ≥ to or from
 * ≥ −2^30 ≥ to. An empty fast range is always safe: rating then compares with fromMs and toMs.
 */
export function rangeMinutes(fromMs: number, toMs: number): [number, number] {
  if (Number.isNaN(fromMs) || Number.isNaN(toMs)) return [HIGHEST_MINUTE, LOWEST_MINUTE];
  const from = Math.min(Math.max(Math.ceil(fromMs / 60_000), LOWEST_MINUTE), HIGHEST_MINUTE);
  const to = Math.min(Math.max(Math.floor(toMs / 60_000), LOWEST_MINUTE), HIGHEST_MINUTE);
  return [from, to];
}

/** The owner of an allowance's counter in a plan: the subscription, or the account for a pool. */
export function ownerOf(plan: RatingPlan, allowance: PlanAllowance): string {
  return allowance.pooled ? plan.accountId : plan.subscriptionId;
}

/** The stored key of a tier counter of a plan. */
export function tierKeyOf(plan: RatingPlan, counter: TierCounterRef): string {
  return `${plan.subscriptionId}\u0000${counter.tariffCode}\u0000${counter.rate}\u0000${counter.zoneId}`;
}

// ------------------------------------------------------------------------------------------------
// State: the caller's counters

/**
 * The counters rating reads. The caller implements it over its storage (AllowanceLedger in
 * memory, a store later). Rating never writes through it: it returns draws, and applyRating (or
 * the caller) writes them. Reads must not fail for an unopened counter: an allowance never used
 * in a period has its grant (with rollover) and nothing used.
 */
export interface RatingState {
  /**
   * Units left in the plan's counter of `allowance` in period `periodIndex` (of
   * allowance.calendar): granted (with rollover) − used − carried out; may be ≤ 0.
   */
  allowanceLeft(plan: RatingPlan, allowance: PlanAllowance, periodIndex: number): number;
  /** Units counted in the tier counter in the period before this event; 0 when none. */
  tierPriorUnits(plan: RatingPlan, counter: TierCounterRef, periodIndex: number): number;
  /**
   * Optional, a hint that changes no result: start loading the plan's counter `counterIndex`
   * (an allowance's priority or a tier counter's counterIndex), which rating will read soon.
   * rateUsage calls it as early as it knows the counter, before the work that does not need it
   * (checks, the prefix lookup), so that the memory read of a counter of a random subscription
   * overlaps that work instead of stalling rating when the counter is read.
   */
  prefetch?(plan: RatingPlan, counterIndex: number): void;
}

/** A state that draws can be applied to. */
export interface WritableRatingState extends RatingState {
  /**
   * Adds `units` (negative to give back) to the counter's used units, clamped so used stays in
   * [0, granted]; returns the units actually added.
   */
  addAllowanceUsage(plan: RatingPlan, allowance: PlanAllowance, periodIndex: number, units: number): number;
  /** Adds `units` (negative to take back, never below 0) to the tier counter. */
  addTierUnits(plan: RatingPlan, counter: TierCounterRef, periodIndex: number, units: number): void;
}

// ------------------------------------------------------------------------------------------------
// Result

/** Why rating refused an event, more precisely than the reject reason. */
export type RatingFailure =
  | 'service_not_priced'
  | 'outside_plan'
  | 'no_tariff_version'
  | 'no_route'
  | 'no_rate'
  | 'unknown_network'
  | 'roaming_without_network'
  | 'invalid_usage'
  | 'currency'
  | 'charge_error';

export const KIND_NONE = 0;
export const KIND_VOICE = 1;
export const KIND_DATA = 2;
export const KIND_EVENT = 3;

/** No band, zone or tier: the -1 of the index fields below. */
export const NONE = -1;

/**
 * What rateUsage writes. One object is reused for every event (no allocation per event); copy
 * what you keep (snapshotRating, explainRating) before rating the next event.
 */
export class RatingResult {
  outcome: 'ok' | 'reject' = 'ok';
  rejectReason: Extract<RejectReason, 'no_offer' | 'rating_failed'> | undefined = undefined;
  failure: RatingFailure | undefined = undefined;
  /** A sentence for a reject, naming the field and the reason. */
  failureMessage: string | undefined = undefined;

  plan: RatingPlan | undefined = undefined;
  servicePlan: ServicePlan | undefined = undefined;
  tariffVersion: PlanTariffVersion | undefined = undefined;
  kind = KIND_NONE;
  currency = '';

  /** The amount in pico-units when `amountIsBig` is false (a safe integer). */
  amountPico = 0;
  /** The amount when it is not a safe integer number. */
  amountPicoBig: bigint | undefined = undefined;
  amountIsBig = false;

  /** The event's units in `unit`: seconds, bytes (up + down) or events. */
  units = 0;
  unit: BaseUnit = 'unit';
  /** Units drawn from allowances. */
  coveredUnits = 0;
  /** units − coveredUnits: what the tariff prices. */
  chargeableUnits = 0;
  /** Chargeable units after increments (voice, seconds) or whole blocks (data, bytes); = chargeable for events. */
  chargedUnits = 0;

  /** Allowance draws, parallel arrays of drawCount entries. */
  drawCount = 0;
  drawAllowance: PlanAllowance[] = [];
  drawPeriodIndex: number[] = [];
  drawPeriodStartMs: number[] = [];
  drawUnits: number[] = [];

  /** The tier counter update, when the price is tiered (tierCounter undefined otherwise). */
  tierCounter: TierCounterRef | undefined = undefined;
  tierPeriodIndex = 0;
  tierPriorUnits = 0;
  tierUnits = 0;
  /** First and last tier index the charge fell in; -1 when none. */
  tierFirst = NONE;
  tierLast = NONE;

  // Trace (voice)
  calledNumber: string | undefined = undefined;
  matchedPrefixLength = 0;
  /** Destination zone index (voice), -1 when none. */
  zone = NONE;
  /** Roaming zone index, -1 at home. */
  roamingZone = NONE;
  /** Band index at the start of the chargeable part, -1 when nothing was charged or no band applies. */
  band = NONE;
  /** The band parts of a call charged by the tariff core (bandCrossing 'split', or the bigint path). */
  callParts: readonly BandPart[] | undefined = undefined;
  firstSec = 0;
  nextSec = 0;
  /** Voice rate slot (zone × currencies + currency), for the trace's unit price. */
  slot = NONE;
  connectFeePico = 0;
  limit: 'minimum' | 'maximum' | undefined = undefined;
  /** Data: bytes per block. */
  blockBytes = 0;
  /** Event priced by the event's own price. */
  pricedInEvent = false;
  eventType: string | undefined = undefined;

  /** Sets every field back to its empty value; rateUsage calls it first. */
  reset(): void {
    this.outcome = 'ok';
    this.rejectReason = undefined;
    this.failure = undefined;
    this.failureMessage = undefined;
    this.plan = undefined;
    this.servicePlan = undefined;
    this.tariffVersion = undefined;
    this.kind = KIND_NONE;
    this.currency = '';
    this.amountPico = 0;
    this.amountPicoBig = undefined;
    this.amountIsBig = false;
    this.units = 0;
    this.unit = 'unit';
    this.coveredUnits = 0;
    this.chargeableUnits = 0;
    this.chargedUnits = 0;
    this.drawCount = 0;
    this.tierCounter = undefined;
    this.tierPeriodIndex = 0;
    this.tierPriorUnits = 0;
    this.tierUnits = 0;
    this.tierFirst = NONE;
    this.tierLast = NONE;
    this.calledNumber = undefined;
    this.matchedPrefixLength = 0;
    this.zone = NONE;
    this.roamingZone = NONE;
    this.band = NONE;
    this.callParts = undefined;
    this.firstSec = 0;
    this.nextSec = 0;
    this.slot = NONE;
    this.connectFeePico = 0;
    this.limit = undefined;
    this.blockBytes = 0;
    this.pricedInEvent = false;
    this.eventType = undefined;
  }

  /** Records one allowance draw (the arrays grow only when a plan has more allowances than ever before). */
  addDraw(allowance: PlanAllowance, periodIndex: number, periodStartMs: number, units: number): void {
    const i = this.drawCount++;
    this.drawAllowance[i] = allowance;
    this.drawPeriodIndex[i] = periodIndex;
    this.drawPeriodStartMs[i] = periodStartMs;
    this.drawUnits[i] = units;
  }
}

/** The amount of a result as a bigint, whichever way it was computed. */
export function amountPicoOf(result: RatingResult): bigint {
  return result.amountIsBig ? (result.amountPicoBig as bigint) : BigInt(result.amountPico);
}

export type { FastTariffView, FastPricing, FastDataRate, FastEventPrice };
