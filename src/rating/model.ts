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

/** An allowance of the plan, compiled: its counter key parts, quantity in base units, period. */
export interface PlanAllowance {
  readonly code: string;
  readonly offerCode: string;
  readonly offerVersionId: string;
  /** 'add-on' or 'plan': where it came from (add-ons are drawn first). */
  readonly source: 'plan' | 'add-on';
  readonly service: Service;
  readonly measure: Measure;
  readonly unit: BaseUnit;
  /** The units granted per period, in base units (safe integer). */
  readonly quantity: number;
  readonly zones: readonly string[] | undefined;
  readonly sharing: AllowanceSharing;
  /** The subscription id ('subscription') or the account id ('account-pool'). */
  readonly ownerId: string;
  /** `${ownerId}\u0000${code}`: the counter key without the period; precomputed, never built per event. */
  readonly counterPrefix: string;
  readonly period: PeriodUnit;
  readonly calendar: PeriodCalendar;
  readonly rollover: { readonly maxPeriods: number; readonly maxQuantity: number | undefined } | undefined;
  readonly rolloverDefinition: RolloverDefinition | undefined;
  /** When the allowance applies (the add-on's or plan's range), ms; -Infinity / +Infinity when open. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Position in the plan's priority order (0 first). */
  readonly priority: number;
}

/** A tier counter: units (blocks, events) counted per billing month, per subscription and rate. */
export interface TierCounterRef {
  /** `${subscriptionId}\u0000${tariffCode}\u0000${'data' | eventType}\u0000${roaming zone or ''}`. */
  readonly key: string;
  readonly ownerId: string;
  readonly tariffCode: string;
  readonly rate: string;
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
  /** Tier counters of the data rates, by roaming zone + 1. */
  readonly dataTier: ReadonlyArray<TierCounterRef | undefined>;
  /** Event prices and their tier counters, by event type. */
  readonly events: ReadonlyMap<string, PlanEventRates>;
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
  /** Price valid from/to (the add-on's range for an add-on price). */
  readonly fromMs: number;
  readonly toMs: number;
  /** Sorted by fromMs. */
  readonly versions: readonly PlanTariffVersion[];
  /** Allowances that can draw for this service, by measure, in priority order. */
  readonly allowancesSeconds: readonly PlanAllowance[];
  readonly allowancesBytes: readonly PlanAllowance[];
  readonly allowancesCount: readonly PlanAllowance[];
}

export interface RatingPlan {
  readonly subscriptionId: string;
  readonly accountId: string;
  readonly currency: string;
  readonly timeZone: string;
  readonly billCycleDay: number;
  readonly planOfferCode: string;
  readonly planVersionId: string;
  readonly fromMs: number;
  readonly toMs: number;
  /** By usage service; undefined when the plan prices no such usage. */
  readonly voice: ServicePlan | undefined;
  readonly sms: ServicePlan | undefined;
  readonly mms: ServicePlan | undefined;
  readonly data: ServicePlan | undefined;
  readonly content: ServicePlan | undefined;
  readonly iot: ServicePlan | undefined;
  /** Every allowance of the plan and its add-ons, in priority order. */
  readonly allowances: readonly PlanAllowance[];
  /** The billing-month calendar tiers are counted in. */
  readonly tierCalendar: PeriodCalendar;
}

// ------------------------------------------------------------------------------------------------
// State: the caller's counters

/** Filled by RatingState.readAllowance; one object reused for every read. */
export interface CounterReading {
  /** Units granted in the period: the allowance's quantity plus units rolled over into it. */
  grantedUnits: number;
  /** Units used so far, plus units carried out of it into a later period. */
  usedUnits: number;
}

/**
 * The counters rating reads. The caller implements it over its storage (AllowanceLedger in
 * memory, a store later). Rating never writes through it: it returns draws, and applyRating (or
 * the caller) writes them. Reads must not fail for an unopened counter: an allowance never used
 * in a period has its grant (with rollover) and nothing used.
 */
export interface RatingState {
  readAllowance(
    allowance: PlanAllowance,
    periodIndex: number,
    periodStartMs: number,
    into: CounterReading,
  ): void;
  /** Units counted in the tier counter in the period before this event; 0 when none. */
  tierPriorUnits(counter: TierCounterRef, periodIndex: number): number;
}

/** A state that draws can be applied to. */
export interface WritableRatingState extends RatingState {
  /**
   * Adds `units` (negative to give back) to the counter's used units, clamped so used stays in
   * [0, granted]; returns the units actually added.
   */
  addAllowanceUsage(
    allowance: PlanAllowance,
    periodIndex: number,
    periodStartMs: number,
    units: number,
  ): number;
  /** Adds `units` (negative to take back, never below 0) to the tier counter. */
  addTierUnits(counter: TierCounterRef, periodIndex: number, units: number): void;
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
