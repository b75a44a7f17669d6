/**
 * Balances: opening them, the consumption order, which balances a usage may draw from, and how
 * much of a balance is available.
 */
import { fail } from '../kernel/errors.js';
import { RatedAmount, type Money, type RoundingMode } from '../kernel/money.js';
import { ChargingErrors } from './errors.js';
import type { Balance, BalanceDefinition, ChargingState, Session } from './model.js';

const DEFAULT_PRIORITY = 100;
const DEFAULT_CREDIT_NEAR_PERCENT = 90;
const DEFAULT_ALLOWANCE_PERCENTS: readonly number[] = Object.freeze([80, 100]);

/**
 * A new balance at zero, from its definition. Money arrives only through movements (a top-up, a
 * grant), so even the first credit is in the history that `recompute` adds up. Throws
 * `charging.invalid_balance` for a definition that cannot work (a programming or catalog error).
 */
export function openBalance(definition: BalanceDefinition): Balance {
  const money = definition.unit === 'money';
  const invalid = (detail: string, field: string) =>
    fail(ChargingErrors.invalid_balance, `balance ${definition.id}: ${detail}`, {
      field,
      record: definition.id,
    });
  if (definition.id === '') throw invalid('the id is empty', 'id');
  const creditLimitPico = definition.creditLimitPico ?? 0n;
  if (creditLimitPico < 0n) throw invalid('the credit limit is negative', 'creditLimitPico');
  if (!money && (creditLimitPico !== 0n || definition.spendingCap !== undefined)) {
    throw invalid('only a money balance has a credit limit or a spending cap', 'unit');
  }
  const from = definition.validFromMs ?? null;
  const until = definition.validUntilMs ?? null;
  if (from !== null && until !== null && until <= from) {
    throw invalid('the validity ends before it starts', 'validUntilMs');
  }
  const cap = definition.spendingCap;
  if (cap !== undefined && (cap.limitPico < 0n || cap.periodEndMs <= cap.periodStartMs)) {
    throw invalid('the spending cap needs a limit ≥ 0 and a period that ends after it starts', 'spendingCap');
  }
  const creditNearPercent = definition.creditNearPercent ?? DEFAULT_CREDIT_NEAR_PERCENT;
  const allowancePercents = definition.allowancePercents ?? DEFAULT_ALLOWANCE_PERCENTS;
  for (const percent of [creditNearPercent, ...allowancePercents]) {
    if (!Number.isInteger(percent) || percent < 1 || percent > 100) {
      throw invalid(`threshold percent ${percent} is not an integer in 1…100`, 'allowancePercents');
    }
  }
  return {
    id: definition.id,
    ownerKind: definition.ownerKind,
    ownerId: definition.ownerId,
    unit: definition.unit,
    validFromMs: from,
    validUntilMs: until,
    priority: definition.priority ?? DEFAULT_PRIORITY,
    services: definition.services,
    ratingGroups: definition.ratingGroups,
    zones: definition.zones,
    creditLimitPico,
    spendingCap:
      cap === undefined
        ? undefined
        : {
            limitPico: cap.limitPico,
            periodStartMs: cap.periodStartMs,
            periodEndMs: cap.periodEndMs,
            spentPico: 0n,
          },
    lowBalancePico: definition.lowBalancePico,
    creditNearPercent,
    allowancePercents: [...allowancePercents].sort((a, b) => a - b),
    amount: 0n,
    held: 0n,
    version: 0,
    creditedTotal: 0n,
  };
}

export interface ChargingStateInput {
  readonly currency: string;
  /** Subscription id → account id. */
  readonly subscriptions: Iterable<readonly [string, string]>;
  /** Balances as opened (openBalance) or as the store read them back. */
  readonly balances?: Iterable<Balance>;
  readonly sessions?: Iterable<Session>;
}

/** A state from its parts; the consumption order is computed once here. */
export function createChargingState(input: ChargingStateInput): ChargingState {
  const state: ChargingState = {
    currency: input.currency,
    subscriptions: new Map(input.subscriptions),
    balances: new Map(),
    order: [],
    sessions: new Map(),
  };
  for (const balance of input.balances ?? []) addBalance(state, balance);
  for (const session of input.sessions ?? []) state.sessions.set(session.sessionId, session);
  return state;
}

/**
 * Adds a balance and puts it in its place in the consumption order. Insertion keeps the array
 * sorted without re-sorting it: a state holds a handful of balances, and adding one is rare next
 * to the charging operations that walk the order.
 */
export function addBalance(state: ChargingState, balance: Balance): void {
  if (state.balances.has(balance.id)) {
    throw fail(ChargingErrors.invalid_balance, `balance ${balance.id} already exists`, {
      record: balance.id,
    });
  }
  state.balances.set(balance.id, balance);
  let index = state.order.length;
  while (index > 0 && compareConsumptionOrder(state.order[index - 1] as Balance, balance) > 0) index--;
  state.order.splice(index, 0, balance);
}

/**
 * The consumption order: lower priority first; at equal priority the one that expires first (so
 * fewer units are lost to expiry; a balance that never expires comes last); then the one that
 * became valid first; then by id, so the order is total and every run draws the same way.
 */
export function compareConsumptionOrder(a: Balance, b: Balance): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const aUntil = a.validUntilMs ?? Number.POSITIVE_INFINITY;
  const bUntil = b.validUntilMs ?? Number.POSITIVE_INFINITY;
  if (aUntil !== bUntil) return aUntil < bUntil ? -1 : 1;
  const aFrom = a.validFromMs ?? Number.NEGATIVE_INFINITY;
  const bFrom = b.validFromMs ?? Number.NEGATIVE_INFINITY;
  if (aFrom !== bFrom) return aFrom < bFrom ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Valid at `atMs`: validFrom ≤ atMs < validUntil. */
export function isValidAt(balance: Balance, atMs: number): boolean {
  return (
    (balance.validFromMs === null || balance.validFromMs <= atMs) &&
    (balance.validUntilMs === null || atMs < balance.validUntilMs)
  );
}

/** The usage a balance is matched against. */
export interface UsageScope {
  readonly subscriptionId: string;
  readonly accountId: string;
  readonly service: string;
  readonly ratingGroup: number;
  readonly zone: string | undefined;
}

/**
 * True when usage in `scope` may draw from `balance`, whatever the time and the unit: the balance
 * belongs to the subscription or to its account (a shared pool, a family plan) and its filters
 * admit the service, the rating group and the zone.
 */
export function matchesScope(balance: Balance, scope: UsageScope): boolean {
  if (
    balance.ownerKind === 'subscription'
      ? balance.ownerId !== scope.subscriptionId
      : balance.ownerId !== scope.accountId
  ) {
    return false;
  }
  if (balance.services !== undefined && !balance.services.includes(scope.service)) return false;
  if (balance.ratingGroups !== undefined && !balance.ratingGroups.includes(scope.ratingGroup)) return false;
  if (balance.zones !== undefined && (scope.zone === undefined || !balance.zones.includes(scope.zone)))
    return false;
  return true;
}

/**
 * What can still be drawn from a balance, never below 0.
 *
 * A bucket: amount − held. A money balance: amount + creditLimit − held, and with a spending cap
 * at most limit − spent − held, because a hold is money about to be spent in this period. Example:
 * amount −20 EUR, credit limit 50 EUR, holds 10 EUR: −20 + 50 − 10 = 20 EUR; with a cap of 100 EUR
 * of which 85 are spent, min(20, 100 − 85 − 10) = 5 EUR.
 */
export function availableOf(balance: Balance): bigint {
  let available = balance.amount + balance.creditLimitPico - balance.held;
  const cap = balance.spendingCap;
  if (cap !== undefined) {
    const underCap = cap.limitPico - cap.spentPico - balance.held;
    if (underCap < available) available = underCap;
  }
  return available > 0n ? available : 0n;
}

/** What a money balance could give without its spending cap: amount + creditLimit − held, ≥ 0. */
export function availableWithoutCap(balance: Balance): bigint {
  const available = balance.amount + balance.creditLimitPico - balance.held;
  return available > 0n ? available : 0n;
}

/**
 * Starts a new spending period of a money balance's cap (the caller computes the bounds from the
 * account's calendar, e.g. the bill cycle). Spending counted so far is dropped: it belonged to the
 * previous period. Returns false when the balance has no cap.
 */
export function rollSpendingPeriod(balance: Balance, periodStartMs: number, periodEndMs: number): boolean {
  const cap = balance.spendingCap;
  if (cap === undefined) return false;
  if (periodEndMs <= periodStartMs) {
    throw fail(
      ChargingErrors.invalid_balance,
      `balance ${balance.id}: the spending period ends before it starts`,
      {
        record: balance.id,
      },
    );
  }
  cap.periodStartMs = periodStartMs;
  cap.periodEndMs = periodEndMs;
  cap.spentPico = 0n;
  return true;
}

/** Booked money in pico-units, exactly: 12.34 EUR = 1234 cents × 10^(12−2) = 12 340 000 000 000 pico. */
export function picoOfMoney(money: Money): bigint {
  return RatedAmount.fromMoney(money).amountPico;
}

/**
 * A money balance as booked money, rounded by `mode` (the caller's choice: 'down' shows a
 * prepaid subscriber no more than is really there).
 */
export function balanceAsMoney(balance: Balance, currency: string, mode: RoundingMode): Money {
  return RatedAmount.ofPico(balance.amount, currency).roundToMoney(mode);
}

/** The balance or undefined. */
export function findBalance(state: ChargingState, balanceId: string): Balance | undefined {
  return state.balances.get(balanceId);
}
