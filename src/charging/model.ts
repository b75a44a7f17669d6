/**
 * The charging model: balances, the movements that change them, reservations that hold part of
 * them for online sessions, and the outcomes the operations return.
 *
 * Everything here is plain data (objects, arrays, Maps, bigints, strings and numbers; no classes,
 * no functions), so a store can persist each piece as rows and rebuild the state, and
 * `structuredClone` copies a whole state for a simulation or a dry run.
 *
 * Amounts. A money balance counts pico-units of its currency (10^-12 of the major unit, the
 * kernel's RATED_SCALE): online charging debits rated amounts such as 125 s × 0.000166666667 EUR/s
 * = 0.020833333375 EUR, and rounding each debit to the cent would lose or invent money on every
 * commit. A top-up of booked money converts exactly (12.34 EUR = 1234 cents × 10^10 pico). The
 * balance becomes booked money again only at a named boundary (`balanceAsMoney`, rounding mode
 * passed by the caller). A unit bucket counts base units (seconds, bytes, messages, events,
 * generic units), as bigints like the kernel's quantities.
 *
 * Instants are ms since the epoch (numbers), as in the rating core.
 */
import type { BaseUnit } from '../kernel/quantity.js';
import type { ChargingCode, ChargingFailureCode } from './errors.js';

// ------------------------------------------------------------------------------------------------
// Balances

/** What a balance counts: money (pico-units of the state's currency) or one base unit. */
export type BalanceUnit = 'money' | BaseUnit;

/** Who owns a balance: one subscription, or an account whose subscriptions all draw from it. */
export type OwnerKind = 'account' | 'subscription';

/**
 * A spending cap against bill shock: the charges to a money balance in one period may not exceed
 * `limitPico`. The period is set by the caller (`rollSpendingPeriod`), which knows the account's
 * calendar; until the caller rolls it, the cap keeps counting, which errs on the side of the
 * subscriber.
 */
export interface SpendingCap {
  readonly limitPico: bigint;
  periodStartMs: number;
  periodEndMs: number;
  /** Charged in the period so far, in pico-units. Holds count against the cap too (see availableOf). */
  spentPico: bigint;
}

/** How to open a balance (`openBalance`). Optional fields default as documented. */
export interface BalanceDefinition {
  readonly id: string;
  readonly ownerKind: OwnerKind;
  readonly ownerId: string;
  readonly unit: BalanceUnit;
  /** Inclusive, ms; null (the default) for "since ever". */
  readonly validFromMs?: number | null;
  /** Exclusive, ms; null (the default) for "never expires". */
  readonly validUntilMs?: number | null;
  /** Lower draws first; default 100. */
  readonly priority?: number;
  /** Only usage of these services may draw (undefined: any). */
  readonly services?: readonly string[];
  /** Only usage of these rating groups may draw (undefined: any). */
  readonly ratingGroups?: readonly number[];
  /** Only usage in these zones may draw (undefined: any; usage without a zone never matches a list). */
  readonly zones?: readonly string[];
  /** Money only: how far below zero the balance may go, in pico-units; default 0 (prepaid). */
  readonly creditLimitPico?: bigint;
  /** Money only. */
  readonly spendingCap?: {
    readonly limitPico: bigint;
    readonly periodStartMs: number;
    readonly periodEndMs: number;
  };
  /** Money only: report `low_balance` when the balance falls below this many pico-units. */
  readonly lowBalancePico?: bigint;
  /** Money only: report `credit_limit_near` when this percent of the credit limit is used; default 90. */
  readonly creditNearPercent?: number;
  /** Buckets only: report `allowance_used` when these percents of the credited units are used; default [80, 100]. */
  readonly allowancePercents?: readonly number[];
}

/**
 * A balance: a money balance or a unit bucket. The definition fields never change; `amount`,
 * `held`, `version`, `creditedTotal` and the cap's counters change with each operation.
 */
export interface Balance {
  readonly id: string;
  readonly ownerKind: OwnerKind;
  readonly ownerId: string;
  readonly unit: BalanceUnit;
  readonly validFromMs: number | null;
  readonly validUntilMs: number | null;
  readonly priority: number;
  readonly services: readonly string[] | undefined;
  readonly ratingGroups: readonly number[] | undefined;
  readonly zones: readonly string[] | undefined;
  readonly creditLimitPico: bigint;
  readonly spendingCap: SpendingCap | undefined;
  readonly lowBalancePico: bigint | undefined;
  readonly creditNearPercent: number;
  readonly allowancePercents: readonly number[];
  /** The running balance: the sum of every movement's amount. Pico-units or base units. */
  amount: bigint;
  /** The sum of the active reservations' holds on this balance (see checkHolds). */
  held: bigint;
  /** The number of movements posted; the last movement's `seq`. */
  version: number;
  /** The sum of the positive movements (what was ever credited): the base of allowance percentages. */
  creditedTotal: bigint;
}

// ------------------------------------------------------------------------------------------------
// Movements and thresholds

/**
 * Why a balance changed. `charge` is a commit of used units; the others are the balance's life:
 * top-ups, operator adjustments (either sign), voucher redemptions, scheduled allowance grants and
 * the expiry of what was left when the validity ended.
 */
export type MovementKind = 'top_up' | 'adjustment' | 'voucher' | 'grant' | 'charge' | 'expiry';

/** One change of one balance. A balance is exactly the sum of its movements (`recompute`). */
export interface Movement {
  readonly balanceId: string;
  /** 1, 2, 3… per balance: the balance's version after this movement. */
  readonly seq: number;
  readonly kind: MovementKind;
  /** Signed, in the balance's unit (pico-units or base units). */
  readonly amount: bigint;
  readonly balanceAfter: bigint;
  readonly atMs: number;
  /** What caused it: the reservation id, voucher id, payment reference, grant period; '' when none. */
  readonly reference: string;
}

export type ThresholdKind = 'low_balance' | 'allowance_used' | 'credit_limit_near';

/** A threshold a movement crossed, downward; the caller turns it into a domain event. */
export interface ThresholdCrossing {
  readonly balanceId: string;
  readonly kind: ThresholdKind;
  /** allowance_used: the percent crossed (80, 100); credit_limit_near: the configured percent; else 0. */
  readonly percent: number;
  readonly amountAfter: bigint;
  readonly atMs: number;
}

/** What a movement operation (top-up, adjustment, voucher, grant, expiry) returns. */
export interface MovementOutcome {
  readonly code:
    'ok' | Extract<ChargingFailureCode, 'balance_not_found' | 'insufficient_balance' | 'invalid_request'>;
  readonly movements: readonly Movement[];
  readonly thresholds: readonly ThresholdCrossing[];
}

// ------------------------------------------------------------------------------------------------
// Pricing and policy

/**
 * How the caller prices the units of one rating group that money pays for (the core never rates):
 * a unit price in pico-units per base unit, or a function from units to the amount in pico-units
 * for those units. The function must be non-decreasing (more units never cost less) and may
 * return undefined when rating fails. The caller builds either from the rating core (src/rating).
 */
export type Pricing =
  { readonly unitPricePico: bigint } | { readonly price: (units: bigint) => bigint | undefined };

/** How much to grant and for how long. */
export interface ChargingPolicy {
  /** How long a reservation is valid before it expires, ms. */
  readonly validityMs: number;
  /** The grant when a request asks for quota without a number, by service. */
  readonly defaultGrantByService?: Readonly<Record<string, bigint>>;
  /** The grant when the service has no default of its own, by unit. */
  readonly defaultGrantByUnit: Readonly<Record<BaseUnit, bigint>>;
  /** The largest grant, whatever the request asks, by unit; unlimited when absent. */
  readonly maxGrantByUnit?: Readonly<Partial<Record<BaseUnit, bigint>>>;
}

// ------------------------------------------------------------------------------------------------
// Reservations and sessions

export type ReservationStatus = 'active' | 'committed' | 'released' | 'expired';

/**
 * Units of one rating group held for one session, two-phase: reserved, then committed (the used
 * units charged, the rest released), released, or expired. `holdBalanceIds[i]` holds
 * `holdAmounts[i]` (base units on a bucket, pico-units on a money balance) while active.
 * Invariant once closed: committedUnits + releasedUnits = grantedUnits.
 */
export interface Reservation {
  /** `${sessionId}/${requestNumber}/${ratingGroup}`: unique, and names the request that made it. */
  readonly id: string;
  readonly sessionId: string;
  readonly subscriptionId: string;
  readonly ratingGroup: number;
  readonly service: string;
  readonly zone: string | undefined;
  readonly unit: BaseUnit;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  readonly requestedUnits: bigint;
  readonly grantedUnits: bigint;
  /** Of grantedUnits, the units money pays for (the rest is held on buckets). */
  readonly moneyUnits: bigint;
  /** The money held for moneyUnits, pico-units. */
  readonly heldPico: bigint;
  readonly holdBalanceIds: readonly string[];
  readonly holdAmounts: readonly bigint[];
  status: ReservationStatus;
  closedAtMs: number | undefined;
  /** Units the network reported used (0 until committed). */
  usedUnits: bigint;
  /** min(usedUnits, grantedUnits). */
  committedUnits: bigint;
  /** grantedUnits − committedUnits once closed. */
  releasedUnits: bigint;
  /** Used units beyond the grant that the balances could not pay for (not charged). */
  unchargedUnits: bigint;
  /** Money charged at commit, pico-units. */
  chargedPico: bigint;
}

/**
 * One online charging session (a Diameter Session-Id, an Nchf charging data reference). It keeps
 * the latest reservation of each rating group, open or closed, and the last request's number,
 * fingerprint and outcome, which is what makes a repeated request harmless.
 */
export interface Session {
  readonly sessionId: string;
  readonly subscriptionId: string;
  lastRequestNumber: number;
  lastFingerprint: string;
  lastOutcome: ChargingOutcome | undefined;
  readonly reservations: Reservation[];
  terminated: boolean;
}

/**
 * The in-memory charging state of one set of balances: usually one account with its
 * subscriptions. The store loads it, the core changes it synchronously, the store writes back the
 * movements and rows the outcomes name; serialising access per state is the store's job.
 */
export interface ChargingState {
  /** The currency of every money balance and of every price. */
  readonly currency: string;
  /** Subscription id → its account id: who may draw from which balances. */
  readonly subscriptions: Map<string, string>;
  readonly balances: Map<string, Balance>;
  /** The balances in consumption order (priority, then earliest expiry, then id); kept by addBalance. */
  order: Balance[];
  readonly sessions: Map<string, Session>;
}

// ------------------------------------------------------------------------------------------------
// Requests and outcomes

/** What one rating group of a request asks. */
export interface RatingGroupRequest {
  readonly ratingGroup: number;
  readonly service: string;
  readonly zone?: string;
  readonly unit: BaseUnit;
  /** Report usage: commit the rating group's reservation with these used units. */
  readonly usedUnits?: bigint;
  /** Release the rating group's reservation without usage (ignored with usedUnits). */
  readonly release?: boolean;
  /** Ask for a new grant: a number of units, or 'default' for the policy's default grant. */
  readonly requestedUnits?: bigint | 'default';
  readonly pricing: Pricing;
}

/** One request of a session, carrying its idempotency key (sessionId, requestNumber). */
export interface ChargingRequest {
  readonly sessionId: string;
  /** Increases with each request of the session (Diameter CC-Request-Number, Nchf invocation number). */
  readonly requestNumber: number;
  readonly subscriptionId: string;
  readonly atMs: number;
  readonly items: readonly RatingGroupRequest[];
  /** End the session: commit the reported usage and release every other open reservation. */
  readonly terminate?: boolean;
}

export type CommitCode = Extract<
  ChargingCode,
  | 'committed'
  | 'released'
  | 'rating_failed'
  | 'reservation_not_found'
  | 'reservation_expired'
  | 'already_committed'
  | 'already_released'
>;

export type GrantCode = Extract<
  ChargingCode,
  | 'granted'
  | 'partially_granted'
  | 'quota_limit_reached'
  | 'spending_cap_reached'
  | 'no_balance'
  | 'rating_failed'
>;

/** What happened to one rating group of a request. */
export interface RatingGroupOutcome {
  readonly ratingGroup: number;
  /** The usage report or release; undefined when the item had neither. */
  commitCode: CommitCode | undefined;
  /** The reservation that was committed or released. */
  closedReservationId: string | undefined;
  /** Units charged (from buckets and money). */
  chargedUnits: bigint;
  chargedPico: bigint;
  releasedUnits: bigint;
  unchargedUnits: bigint;
  /** The grant; undefined when the item asked for none. */
  grantCode: GrantCode | undefined;
  reservationId: string | undefined;
  grantedUnits: bigint;
  /** True when the balances could not fund the full request: the network should end the service after these units. */
  finalUnits: boolean;
  expiresAtMs: number;
}

export type RequestCode = Extract<
  ChargingCode,
  'ok' | 'user_unknown' | 'invalid_request' | 'stale_request' | 'request_mismatch' | 'session_terminated'
>;

/** What one request did. For a repeated request, the first outcome with `replayed: true`. */
export interface ChargingOutcome {
  readonly sessionId: string;
  readonly requestNumber: number;
  readonly code: RequestCode;
  /** A sentence for a refused request, naming the field at fault. */
  readonly message: string;
  readonly replayed: boolean;
  /** One per request item, in order. */
  readonly items: readonly RatingGroupOutcome[];
  /** Every movement posted (the store appends them). */
  readonly movements: readonly Movement[];
  readonly thresholds: readonly ThresholdCrossing[];
}

/** What an expiry sweep did. */
export interface ExpiryOutcome {
  readonly expiredReservations: readonly Reservation[];
  readonly movements: readonly Movement[];
  readonly thresholds: readonly ThresholdCrossing[];
}
