/**
 * The operator's side of prepaid balances: opening balances, top-ups, adjustments, history,
 * recomputation, reservations and vouchers. The API (src/api/routes/charging.ts) and the CLI
 * (src/cli/charging.ts) are thin adapters over these functions.
 *
 * Ordering of writes. Balances belong to the charging engine (workflows/charging.ts): it holds
 * each account's state in memory and writes every change of an event-loop turn in its own group
 * commit. So an operator's change runs in two transactions, in this order:
 * 1. the engine call (open, move, release) resolves once its group has committed;
 * 2. right after, `recordChange` writes the audit record and the domain event (`balance.topped_up`,
 *    `balance.adjusted`, `reservation.released`, `balance.threshold_crossed`...) in a transaction
 *    of its own.
 * The engine's write cannot join the audit transaction (it is shared by concurrent network
 * requests, and SQLite has one connection), and the audit must not come first (it would record a
 * change that may still fail). A crash between 1 and 2 leaves a movement without its audit record:
 * the movement itself, with its reference, is the record of what happened, and recompute and the
 * history show it. No caller may run these functions inside another transaction.
 *
 * Idempotency. A top-up carries a payment reference, and one reference credits once: before
 * crediting, the top-up movements of the tenant are searched for it (an index covers them); the
 * same reference, balance and amount again is answered with the first movement (`replayed`), a
 * different balance or amount is refused (`balance.reference_reused`). Top-ups of one reference are
 * serialised in this process so two concurrent attempts cannot both pass the check; the engine is
 * one per process and owns the accounts it serves, so that is where the race could be.
 * A voucher is claimed in the database with one conditional UPDATE (`status = 'unused'`) before
 * its value is credited, so of two concurrent redemptions exactly one credits.
 */
import { fail, isTollgateError, CommonErrors } from '../kernel/errors.js';
import { Money } from '../kernel/money.js';
import { formatDecimal } from '../kernel/decimal.js';
import { baseUnitOf, isDisplayUnit, parseQuantity, type BaseUnit } from '../kernel/quantity.js';
import { instantFromMs, msFromInstant, parseInstant, type Instant } from '../kernel/clock.js';
import { isCurrency } from '../kernel/currencies.js';
import { newId } from '../kernel/ids.js';
import { inTransaction } from '../storage/database.js';
import { isUniqueViolation } from '../storage/values.js';
import { CustomersErrors } from '../customers/index.js';
import { findAccount, findSubscription } from '../customers/store.js';
import {
  BalanceAdminErrors,
  ChargingErrors,
  VoucherErrors,
  amountView,
  availableOf,
  bonusOf,
  isWellFormedPin,
  newPin,
  normalisePin,
  picoOfMoney,
  pinHash,
  recompute,
  thresholdCrossedPayload,
  type AmountView,
  type BalanceDefinition,
  type BalanceUnit,
  type Movement,
  type OwnerKind,
  type Reservation,
  type ThresholdCrossing,
  type VoucherBonus,
} from '../charging/index.js';
import * as store from '../charging/store.js';
import * as vouchers from '../charging/voucher-store.js';
import type { ChargingEngine } from './charging.js';
import {
  readExecutor,
  recordChange,
  runChange,
  type Caller,
  type ChangeRecord,
  type WorkflowDeps,
} from './context.js';

/** What these use cases need: the database, the clock and the process's charging engine. */
export interface ChargingAdminDeps extends WorkflowDeps {
  readonly charging: ChargingEngine;
}

export const BALANCE_UNITS: readonly BalanceUnit[] = ['money', 'second', 'byte', 'message', 'event', 'unit'];

// ---------------------------------------------------------------------------------------------
// Amounts in and out

/**
 * An amount as the operator writes it: decimal text and its units, which is a currency code for
 * money ("15.00", "EUR") or a display unit for a bucket ("5", "GB"; "90", "minute").
 */
export interface AmountInput {
  readonly amount: string;
  readonly units: string;
}

export { amountView, type AmountView };

/**
 * Converts an operator's amount into a balance's unit, exactly: money through Money.parse (at most
 * the currency's decimals, never a float) and picoOfMoney (12.34 EUR = 1234 cents × 10^10 pico);
 * units through parseQuantity (5 GB = 5 000 000 000 bytes; a fraction of a base unit is refused).
 */
export function amountIn(
  unit: BalanceUnit,
  currency: string,
  input: AmountInput,
  field: string,
  sign: 'positive' | 'nonzero' | 'nonnegative',
): bigint {
  let value: bigint;
  if (unit === 'money') {
    if (input.units !== currency) {
      throw fail(
        BalanceAdminErrors.unit_mismatch,
        `${field}/units: the balance counts ${currency}, not ${JSON.stringify(input.units)}`,
        { field: `${field}/units` },
      );
    }
    value = picoOfMoney(Money.parse(input.amount, currency, { field: `${field}/amount` }));
  } else {
    if (!isDisplayUnit(input.units) || baseUnitOf(input.units) !== unit) {
      throw fail(
        BalanceAdminErrors.unit_mismatch,
        `${field}/units: the balance counts ${unit}s; ${JSON.stringify(input.units)} is not a unit of ${unit}s`,
        { field: `${field}/units` },
      );
    }
    const negative = input.amount.startsWith('-');
    const magnitude = parseQuantity(negative ? input.amount.slice(1) : input.amount, input.units, {
      field: `${field}/amount`,
    }).amount;
    value = negative ? -magnitude : magnitude;
  }
  const bad =
    (sign === 'positive' && value <= 0n) ||
    (sign === 'nonzero' && value === 0n) ||
    (sign === 'nonnegative' && value < 0n);
  if (bad) {
    const want = sign === 'positive' ? 'more than zero' : sign === 'nonzero' ? 'not zero' : 'zero or more';
    throw fail(CommonErrors.invalid_input, `${field}/amount must be ${want}, got ${input.amount}`, {
      field: `${field}/amount`,
    });
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Views

export interface BalanceView {
  readonly id: string;
  readonly accountId: string;
  readonly ownerKind: OwnerKind;
  readonly ownerId: string;
  readonly unit: BalanceUnit;
  readonly currency: string;
  readonly amount: AmountView;
  readonly held: AmountView;
  readonly available: AmountView;
  readonly validFrom: Instant | null;
  readonly validUntil: Instant | null;
  readonly priority: number;
  readonly services: readonly string[] | null;
  readonly ratingGroups: readonly number[] | null;
  readonly zones: readonly string[] | null;
  readonly creditLimit: AmountView | null;
  readonly spendingCap: {
    readonly limit: AmountView;
    readonly spent: AmountView;
    readonly periodStart: Instant;
    readonly periodEnd: Instant;
  } | null;
  readonly lowBalanceThreshold: AmountView | null;
  readonly creditNearPercent: number;
  readonly allowancePercents: readonly number[];
  /** The number of movements posted. */
  readonly version: number;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

export function balanceView(row: store.BalanceRow): BalanceView {
  const b = row.balance;
  const v = (value: bigint) => amountView(b.unit, row.currency, value);
  const money = b.unit === 'money';
  return {
    id: b.id,
    accountId: row.accountId,
    ownerKind: b.ownerKind,
    ownerId: b.ownerId,
    unit: b.unit,
    currency: row.currency,
    amount: v(b.amount),
    held: v(b.held),
    available: v(availableOf(b)),
    validFrom: b.validFromMs === null ? null : instantFromMs(b.validFromMs),
    validUntil: b.validUntilMs === null ? null : instantFromMs(b.validUntilMs),
    priority: b.priority,
    services: b.services ?? null,
    ratingGroups: b.ratingGroups ?? null,
    zones: b.zones ?? null,
    creditLimit: money ? v(b.creditLimitPico) : null,
    spendingCap:
      b.spendingCap === undefined
        ? null
        : {
            limit: v(b.spendingCap.limitPico),
            spent: v(b.spendingCap.spentPico),
            periodStart: instantFromMs(b.spendingCap.periodStartMs),
            periodEnd: instantFromMs(b.spendingCap.periodEndMs),
          },
    lowBalanceThreshold: b.lowBalancePico === undefined ? null : v(b.lowBalancePico),
    creditNearPercent: b.creditNearPercent,
    allowancePercents: b.allowancePercents,
    version: b.version,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export interface MovementView {
  readonly balanceId: string;
  readonly seq: number;
  readonly kind: Movement['kind'];
  readonly amount: AmountView;
  readonly balanceAfter: AmountView;
  readonly at: Instant;
  readonly reference: string;
}

export function movementView(unit: BalanceUnit, currency: string, m: Movement): MovementView {
  return {
    balanceId: m.balanceId,
    seq: m.seq,
    kind: m.kind,
    amount: amountView(unit, currency, m.amount),
    balanceAfter: amountView(unit, currency, m.balanceAfter),
    at: instantFromMs(m.atMs),
    reference: m.reference,
  };
}

export interface ReservationView {
  readonly id: string;
  readonly accountId: string;
  readonly sessionId: string;
  readonly subscriptionId: string;
  readonly status: Reservation['status'];
  readonly ratingGroup: number;
  readonly service: string;
  readonly unit: BaseUnit;
  readonly createdAt: Instant;
  readonly expiresAt: Instant;
  readonly closedAt: Instant | null;
  readonly requestedUnits: string;
  readonly grantedUnits: string;
  readonly usedUnits: string;
  readonly committedUnits: string;
  readonly releasedUnits: string;
  /** Money held, 12 decimals (pico-units as text); '0.000000000000' when buckets hold it all. */
  readonly heldMoney: string;
  readonly holds: ReadonlyArray<{ balanceId: string; amount: string }>;
}

export function reservationView(r: Reservation, accountId: string): ReservationView {
  return {
    id: r.id,
    accountId,
    sessionId: r.sessionId,
    subscriptionId: r.subscriptionId,
    status: r.status,
    ratingGroup: r.ratingGroup,
    service: r.service,
    unit: r.unit,
    createdAt: instantFromMs(r.createdAtMs),
    expiresAt: instantFromMs(r.expiresAtMs),
    closedAt: r.closedAtMs === undefined ? null : instantFromMs(r.closedAtMs),
    requestedUnits: r.requestedUnits.toString(),
    grantedUnits: r.grantedUnits.toString(),
    usedUnits: r.usedUnits.toString(),
    committedUnits: r.committedUnits.toString(),
    releasedUnits: r.releasedUnits.toString(),
    heldMoney: formatDecimal(r.heldPico, 12),
    holds: r.holdBalanceIds.map((balanceId, i) => ({
      balanceId,
      amount: (r.holdAmounts[i] ?? 0n).toString(),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Audit and events

function thresholdChange(row: store.BalanceRow, t: ThresholdCrossing): ChangeRecord {
  const payload = thresholdCrossedPayload(t, {
    unit: row.balance.unit,
    accountId: row.accountId,
    currency: row.currency,
  });
  return {
    action: 'balance.threshold_crossed',
    entityType: 'balance',
    entityId: t.balanceId,
    after: payload,
    event: { type: 'balance.threshold_crossed', payload },
  };
}

/**
 * The audit record and event of a change the engine has already committed (see the header: its
 * own transaction, right after the engine call), with one `balance.threshold_crossed` per crossing.
 */
async function recordAfterEngine(
  deps: WorkflowDeps,
  caller: Caller,
  change: ChangeRecord,
  thresholds: readonly ThresholdCrossing[] = [],
  rowOf?: (balanceId: string) => Promise<store.BalanceRow | undefined>,
): Promise<void> {
  const crossings: ChangeRecord[] = [];
  for (const t of thresholds) {
    const row = await rowOf?.(t.balanceId);
    if (row !== undefined) crossings.push(thresholdChange(row, t));
  }
  await runChange(deps, caller, async (ctx) => {
    await recordChange(ctx, change);
    for (const crossing of crossings) await recordChange(ctx, crossing);
  });
}

const rowReader = (deps: WorkflowDeps, tenantId: string) => (balanceId: string) =>
  store.findBalanceRow(deps.database.db, tenantId, balanceId);

// ---------------------------------------------------------------------------------------------
// Balances

export interface NewBalanceInput {
  readonly ownerKind: OwnerKind;
  readonly ownerId: string;
  readonly unit: BalanceUnit;
  /** Optional; must be the account's currency (a balance is always in its account's currency). */
  readonly currency?: string;
  readonly validFrom?: string;
  readonly validUntil?: string;
  readonly priority?: number;
  readonly services?: readonly string[];
  readonly ratingGroups?: readonly number[];
  readonly zones?: readonly string[];
  /** Money only: decimal text in the currency ("50.00"). */
  readonly creditLimit?: string;
  readonly spendingCap?: { readonly limit: string; readonly periodStart: string; readonly periodEnd: string };
  /** Money only: decimal text; `balance.threshold_crossed` (low_balance) when the balance falls below it. */
  readonly lowBalanceThreshold?: string;
  readonly creditNearPercent?: number;
  readonly allowancePercents?: readonly number[];
}

function instantIn(text: string, field: string): number {
  const instant = parseInstant(text);
  if (instant === undefined) {
    throw fail(CommonErrors.invalid_input, `${field} is not an RFC 3339 date-time: ${JSON.stringify(text)}`, {
      field,
    });
  }
  return msFromInstant(instant);
}

/** Opens a balance at zero for an account or one of its subscriptions, in the account's currency. */
export async function createBalance(
  deps: ChargingAdminDeps,
  caller: Caller,
  input: NewBalanceInput,
): Promise<BalanceView> {
  // What needs no database first, so a malformed request is refused before anything is looked up.
  if (!BALANCE_UNITS.includes(input.unit)) {
    throw fail(CommonErrors.invalid_input, `unit must be one of ${BALANCE_UNITS.join(', ')}`, {
      field: 'unit',
    });
  }
  const validFromMs = input.validFrom === undefined ? null : instantIn(input.validFrom, 'validFrom');
  const validUntilMs = input.validUntil === undefined ? null : instantIn(input.validUntil, 'validUntil');
  const capPeriod =
    input.spendingCap === undefined
      ? undefined
      : {
          periodStartMs: instantIn(input.spendingCap.periodStart, 'spendingCap/periodStart'),
          periodEndMs: instantIn(input.spendingCap.periodEnd, 'spendingCap/periodEnd'),
        };
  const db = readExecutor(deps);
  let accountId: string;
  if (input.ownerKind === 'subscription') {
    const subscription = await findSubscription(db, caller.tenantId, input.ownerId);
    if (subscription === undefined) {
      throw fail(CustomersErrors.subscription_not_found, `no subscription ${input.ownerId}`, {
        field: 'ownerId',
        record: input.ownerId,
      });
    }
    accountId = subscription.accountId;
  } else {
    accountId = input.ownerId;
  }
  const account = await findAccount(db, caller.tenantId, accountId);
  if (account === undefined) {
    throw fail(CustomersErrors.account_not_found, `no billing account ${accountId}`, {
      field: 'ownerId',
      record: accountId,
    });
  }
  const currency = account.currency;
  if (input.currency !== undefined && input.currency !== currency) {
    throw fail(
      CommonErrors.invalid_input,
      `currency: account ${accountId} is billed in ${currency}; its balances are in ${currency}, not ${input.currency}`,
      { field: 'currency' },
    );
  }
  const money = input.unit === 'money';
  const moneyOnly = (field: string, text: string | undefined): bigint | undefined => {
    if (text === undefined) return undefined;
    if (!money) {
      throw fail(CommonErrors.invalid_input, `${field} applies to money balances only`, { field });
    }
    return amountIn('money', currency, { amount: text, units: currency }, field, 'nonnegative');
  };
  const id = newId('bal', deps.clock);
  const creditLimitPico = moneyOnly('creditLimit', input.creditLimit);
  const lowBalancePico = moneyOnly('lowBalanceThreshold', input.lowBalanceThreshold);
  const capLimit = moneyOnly('spendingCap/limit', input.spendingCap?.limit);
  const definition: BalanceDefinition = {
    id,
    ownerKind: input.ownerKind,
    ownerId: input.ownerId,
    unit: input.unit,
    validFromMs,
    validUntilMs,
    ...(input.priority === undefined ? {} : { priority: input.priority }),
    ...(input.services === undefined ? {} : { services: input.services }),
    ...(input.ratingGroups === undefined ? {} : { ratingGroups: input.ratingGroups }),
    ...(input.zones === undefined ? {} : { zones: input.zones }),
    ...(creditLimitPico === undefined ? {} : { creditLimitPico }),
    ...(lowBalancePico === undefined ? {} : { lowBalancePico }),
    ...(capPeriod === undefined || capLimit === undefined
      ? {}
      : { spendingCap: { limitPico: capLimit, ...capPeriod } }),
    ...(input.creditNearPercent === undefined ? {} : { creditNearPercent: input.creditNearPercent }),
    ...(input.allowancePercents === undefined ? {} : { allowancePercents: input.allowancePercents }),
  };
  // The engine validates the definition (openBalance) and commits the row in its group.
  await deps.charging.openBalance(caller.tenantId, accountId, currency, definition);
  const row = await mustFindBalance(deps, caller.tenantId, id);
  const view = balanceView(row);
  await recordAfterEngine(deps, caller, {
    action: 'balance.created',
    entityType: 'balance',
    entityId: id,
    after: view,
    event: { type: 'balance.created', payload: view },
  });
  return view;
}

async function mustFindBalance(
  deps: WorkflowDeps,
  tenantId: string,
  id: string,
  field?: string,
): Promise<store.BalanceRow> {
  const row = await store.findBalanceRow(readExecutor(deps), tenantId, id);
  if (row === undefined) {
    throw fail(ChargingErrors.balance_not_found, `no balance ${id}`, {
      record: id,
      ...(field === undefined ? {} : { field }),
    });
  }
  return row;
}

export async function getBalance(deps: WorkflowDeps, tenantId: string, id: string): Promise<BalanceView> {
  return balanceView(await mustFindBalance(deps, tenantId, id));
}

export interface BalanceListFilter {
  readonly accountId?: string;
  readonly subscriptionId?: string;
  readonly after?: string;
  readonly limit: number;
}

/** Balances by id; of one account (all its balances) or owned by one subscription. */
export async function listBalances(
  deps: WorkflowDeps,
  tenantId: string,
  filter: BalanceListFilter,
): Promise<BalanceView[]> {
  const rows = await store.listBalances(readExecutor(deps), tenantId, {
    ...(filter.accountId === undefined ? {} : { accountId: filter.accountId }),
    ...(filter.subscriptionId === undefined ? {} : { ownerId: filter.subscriptionId }),
    ...(filter.after === undefined ? {} : { after: filter.after }),
    limit: filter.limit,
  });
  return rows.map(balanceView);
}

/** A page of a balance's movements, oldest first, after `afterSeq`. */
export async function balanceHistory(
  deps: WorkflowDeps,
  tenantId: string,
  id: string,
  page: { readonly afterSeq?: number; readonly limit: number },
): Promise<{ items: MovementView[]; nextAfterSeq: number | null }> {
  const row = await mustFindBalance(deps, tenantId, id);
  const movements = await store.listMovements(readExecutor(deps), tenantId, id, {
    ...(page.afterSeq === undefined ? {} : { afterSeq: page.afterSeq }),
    limit: page.limit,
  });
  const items = movements.map((m) => movementView(row.balance.unit, row.currency, m));
  return { items, nextAfterSeq: items.length === page.limit ? (items[items.length - 1]?.seq ?? null) : null };
}

// ---------------------------------------------------------------------------------------------
// Top-ups and adjustments

export interface TopUpInput {
  readonly balanceId: string;
  readonly amount: AmountInput;
  /** The payment's reference (PSP transaction id, receipt number): one reference credits once. */
  readonly paymentReference: string;
  readonly channel?: string;
}

export interface MovementResult {
  readonly movement: MovementView;
  readonly balance: BalanceView;
  /** True when an earlier top-up with this reference was found and nothing was credited now. */
  readonly replayed: boolean;
}

/** Top-ups of one reference run one after the other in this process (see the header). */
const referenceQueues = new Map<string, Promise<unknown>>();

async function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = referenceQueues.get(key) ?? Promise.resolve();
  const run = previous.then(work, work);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  referenceQueues.set(key, settled);
  try {
    return await run;
  } finally {
    if (referenceQueues.get(key) === settled) referenceQueues.delete(key);
  }
}

function checkReference(text: string, field: string): void {
  if (text.trim() === '' || text.length > 200 || [...text].some((c) => c.charCodeAt(0) < 0x20)) {
    throw fail(CommonErrors.invalid_input, `${field} must be 1 to 200 visible characters`, { field });
  }
}

/** Credits a balance with a paid top-up, once per payment reference. */
export async function topUpBalance(
  deps: ChargingAdminDeps,
  caller: Caller,
  input: TopUpInput,
): Promise<MovementResult> {
  checkReference(input.paymentReference, 'paymentReference');
  return oneAtATime(`${caller.tenantId}\u0000${input.paymentReference}`, async () => {
    const row = await mustFindBalance(deps, caller.tenantId, input.balanceId, 'balanceId');
    const credit = amountIn(row.balance.unit, row.currency, input.amount, 'amount', 'positive');
    const earlier = await store.findTopUpsByReference(
      deps.database.db,
      caller.tenantId,
      input.paymentReference,
    );
    if (earlier.length > 0) {
      const same = earlier[0]!;
      if (earlier.length === 1 && same.balanceId === input.balanceId && same.amount === credit) {
        return {
          movement: movementView(row.balance.unit, row.currency, same),
          balance: balanceView(row),
          replayed: true,
        };
      }
      throw fail(
        BalanceAdminErrors.reference_reused,
        `paymentReference ${JSON.stringify(input.paymentReference)} already credited balance ${same.balanceId} ` +
          `(movement ${same.seq}) with another amount or balance; one payment credits once`,
        { field: 'paymentReference', record: `${same.balanceId}#${same.seq}` },
      );
    }
    const outcome = await deps.charging.move(caller.tenantId, row.accountId, 'top_up', {
      balanceId: input.balanceId,
      amount: credit,
      reference: input.paymentReference,
    });
    if (outcome.code !== 'ok') {
      throw fail(ChargingErrors[outcome.code], `top-up of ${input.balanceId} refused: ${outcome.code}`, {
        field: 'amount',
      });
    }
    const movement = movementView(row.balance.unit, row.currency, outcome.movements[0]!);
    const balance = balanceView(await mustFindBalance(deps, caller.tenantId, input.balanceId));
    const payload = {
      balanceId: balance.id,
      accountId: balance.accountId,
      amount: movement.amount,
      balanceAfter: movement.balanceAfter,
      paymentReference: input.paymentReference,
      ...(input.channel === undefined ? {} : { channel: input.channel }),
      seq: movement.seq,
    };
    await recordAfterEngine(
      deps,
      caller,
      {
        action: 'balance.topped_up',
        entityType: 'balance',
        entityId: balance.id,
        after: payload,
        event: { type: 'balance.topped_up', payload },
      },
      outcome.thresholds,
      rowReader(deps, caller.tenantId),
    );
    return { movement, balance, replayed: false };
  });
}

export interface AdjustmentInput {
  readonly balanceId: string;
  /** Signed: "-2.50" EUR takes 2.50 off, "1" GB adds a gigabyte. */
  readonly amount: AmountInput;
  readonly reason: string;
}

/**
 * An operator's correction, either sign, with the reason (kept as the movement's reference and in
 * the audit record). A debit may take only what is available (holds and the credit limit are
 * respected): `charging.insufficient_balance` otherwise.
 */
export async function adjustBalance(
  deps: ChargingAdminDeps,
  caller: Caller,
  input: AdjustmentInput,
): Promise<MovementResult> {
  checkReference(input.reason, 'reason');
  const row = await mustFindBalance(deps, caller.tenantId, input.balanceId, 'balanceId');
  const amount = amountIn(row.balance.unit, row.currency, input.amount, 'amount', 'nonzero');
  const outcome = await deps.charging.move(caller.tenantId, row.accountId, 'adjustment', {
    balanceId: input.balanceId,
    amount,
    reference: input.reason,
  });
  if (outcome.code !== 'ok') {
    throw fail(
      ChargingErrors[outcome.code],
      outcome.code === 'insufficient_balance'
        ? `amount: balance ${input.balanceId} has not that much available (holds and the credit limit count)`
        : `adjustment of ${input.balanceId} refused: ${outcome.code}`,
      { field: 'amount', record: input.balanceId },
    );
  }
  const movement = movementView(row.balance.unit, row.currency, outcome.movements[0]!);
  const balance = balanceView(await mustFindBalance(deps, caller.tenantId, input.balanceId));
  const payload = {
    balanceId: balance.id,
    accountId: balance.accountId,
    amount: movement.amount,
    balanceAfter: movement.balanceAfter,
    reason: input.reason,
    seq: movement.seq,
  };
  await recordAfterEngine(
    deps,
    caller,
    {
      action: 'balance.adjusted',
      entityType: 'balance',
      entityId: balance.id,
      after: payload,
      event: { type: 'balance.adjusted', payload },
    },
    outcome.thresholds,
    rowReader(deps, caller.tenantId),
  );
  return { movement, balance, replayed: false };
}

/** The top-ups of one balance or of the tenant, newest first. */
export async function listTopUps(
  deps: WorkflowDeps,
  tenantId: string,
  filter: { readonly balanceId?: string; readonly limit: number },
): Promise<MovementView[]> {
  const movements = await store.listMovementsOfKind(readExecutor(deps), tenantId, {
    kind: 'top_up',
    ...filter,
  });
  const rows = new Map<string, store.BalanceRow>();
  const out: MovementView[] = [];
  for (const m of movements) {
    let row = rows.get(m.balanceId);
    if (row === undefined) {
      row = await mustFindBalance(deps, tenantId, m.balanceId);
      rows.set(m.balanceId, row);
    }
    out.push(movementView(row.balance.unit, row.currency, m));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Recompute

export interface RecomputeReport {
  readonly balanceId: string;
  readonly storedAmount: AmountView;
  readonly recomputedAmount: AmountView;
  readonly storedVersion: number;
  readonly movements: number;
  /** The held amount stored with the balance, and the sum of its active reservations' holds. */
  readonly storedHeld: AmountView;
  readonly activeHolds: AmountView;
  /** The first movement that breaks the history (seq or running balance), if one does. */
  readonly historyProblem: string | null;
  readonly matches: boolean;
}

/**
 * Recomputes a balance from its movements and compares: amount = Σ movements, version = their
 * count, each balanceAfter the running sum, and held = the holds of the account's active
 * reservations on it. A report, not a repair: a mismatch is an integrity problem to investigate
 * (the engine refuses to load such an account). Recorded in the audit trail; a mismatch also
 * publishes `balance.mismatch_found`.
 */
export async function recomputeBalance(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
): Promise<RecomputeReport> {
  const row = await mustFindBalance(deps, caller.tenantId, id);
  const db = readExecutor(deps);
  const movements = await store.listMovements(db, caller.tenantId, id);
  let total = 0n;
  for (const m of movements) total += m.amount;
  let historyProblem: string | null = null;
  try {
    recompute(movements);
  } catch (error) {
    if (!isTollgateError(error)) throw error;
    historyProblem = error.message;
  }
  let holds = 0n;
  let after: string | undefined;
  for (;;) {
    const page = await store.listReservations(db, caller.tenantId, {
      accountId: row.accountId,
      status: 'active',
      ...(after === undefined ? {} : { after }),
      limit: 500,
    });
    for (const { reservation } of page) {
      reservation.holdBalanceIds.forEach((balanceId, i) => {
        if (balanceId === id) holds += reservation.holdAmounts[i] ?? 0n;
      });
    }
    if (page.length < 500) break;
    after = page[page.length - 1]!.reservation.id;
  }
  const b = row.balance;
  const v = (value: bigint) => amountView(b.unit, row.currency, value);
  const matches =
    historyProblem === null && total === b.amount && movements.length === b.version && holds === b.held;
  const report: RecomputeReport = {
    balanceId: id,
    storedAmount: v(b.amount),
    recomputedAmount: v(total),
    storedVersion: b.version,
    movements: movements.length,
    storedHeld: v(b.held),
    activeHolds: v(holds),
    historyProblem,
    matches,
  };
  await runChange(deps, caller, (ctx) =>
    recordChange(ctx, {
      action: 'balance.recomputed',
      entityType: 'balance',
      entityId: id,
      after: report,
      ...(matches ? {} : { event: { type: 'balance.mismatch_found', payload: report } }),
    }),
  );
  return report;
}

// ---------------------------------------------------------------------------------------------
// Reservations

export interface ReservationFilter {
  /** 'active' (the default) or 'all'; or one closed status. */
  readonly status?: 'active' | 'all' | 'committed' | 'released' | 'expired';
  readonly accountId?: string;
  readonly sessionId?: string;
  readonly after?: string;
  readonly limit: number;
}

export async function listReservations(
  deps: WorkflowDeps,
  tenantId: string,
  filter: ReservationFilter,
): Promise<ReservationView[]> {
  const status = filter.status ?? 'active';
  const rows = await store.listReservations(readExecutor(deps), tenantId, {
    ...(status === 'all' ? {} : { status }),
    ...(filter.accountId === undefined ? {} : { accountId: filter.accountId }),
    ...(filter.sessionId === undefined ? {} : { sessionId: filter.sessionId }),
    ...(filter.after === undefined ? {} : { after: filter.after }),
    limit: filter.limit,
  });
  return rows.map((row) => reservationView(row.reservation, row.accountId));
}

/** Force-releases an active reservation (engine.releaseReservation), then audits it. */
export async function releaseReservation(
  deps: ChargingAdminDeps,
  caller: Caller,
  id: string,
): Promise<ReservationView> {
  const outcome = await deps.charging.releaseReservation(caller.tenantId, id);
  if (outcome.code !== 'released' || outcome.reservation === undefined || outcome.accountId === undefined) {
    const code = outcome.code === 'released' ? 'reservation_not_found' : outcome.code;
    throw fail(
      ChargingErrors[code],
      code === 'reservation_not_found'
        ? `no reservation ${id}`
        : `reservation ${id} is closed already (${code})`,
      { record: id },
    );
  }
  const view = reservationView(outcome.reservation, outcome.accountId);
  await recordAfterEngine(deps, caller, {
    action: 'reservation.released',
    entityType: 'reservation',
    entityId: id,
    after: view,
    event: { type: 'reservation.released', payload: view },
  });
  return view;
}

/** Runs the expiry sweep now (engine.expire) and publishes the thresholds it crossed. */
export async function expireReservations(
  deps: ChargingAdminDeps,
  caller: Caller,
): Promise<{ expired: number }> {
  const outcome = await deps.charging.expire(caller.tenantId);
  if (outcome.reservations > 0 || outcome.thresholds.length > 0) {
    await recordAfterEngine(
      deps,
      caller,
      {
        action: 'reservations.expired',
        entityType: 'tenant',
        entityId: caller.tenantId,
        after: { expired: outcome.reservations },
      },
      outcome.thresholds,
      rowReader(deps, caller.tenantId),
    );
  }
  return { expired: outcome.reservations };
}

/**
 * The periodic sweep of `tollgate serve` (TOLLGATE_CHARGING_SWEEP_SECONDS): releases every
 * tenant's reservations whose validity ended, as expireReservations does for one tenant, so an
 * orphaned session (its network element crashed, or this server restarted) gives its holds back
 * on time. Returns how many expired, per tenant that had any.
 */
export async function sweepExpiredReservations(
  deps: ChargingAdminDeps,
): Promise<Array<{ tenantId: string; expired: number }>> {
  const swept: Array<{ tenantId: string; expired: number }> = [];
  for (const tenantId of await deps.charging.tenantsToSweep()) {
    const { expired } = await expireReservations(deps, {
      tenantId,
      actor: { type: 'system', id: 'reservation-sweeper' },
    });
    if (expired > 0) swept.push({ tenantId, expired });
  }
  return swept;
}

// ---------------------------------------------------------------------------------------------
// Vouchers

export interface VoucherBatchInput {
  readonly name?: string;
  /** What each voucher is worth: money ("10.00", "EUR") or units ("1", "GB"). */
  readonly faceValue: AmountInput;
  /** Either a percent of the value (10 = +10 %) or a fixed amount in the value's units. */
  readonly bonus?: { readonly percent: number } | { readonly amount: string };
  readonly expiresAt: string;
  readonly count: number;
}

export interface VoucherBatchView {
  readonly id: string;
  readonly name: string;
  readonly value: AmountView;
  readonly bonus: { percent: number } | { amount: AmountView } | null;
  readonly expiresAt: Instant;
  readonly count: number;
  readonly createdAt: Instant;
}

/** The face value's storage unit: minor units for money, base units for a bucket. */
function storedValue(batch: vouchers.VoucherBatch, value: bigint): AmountView {
  if (batch.unit === 'money') {
    return { amount: Money.ofMinor(value, batch.currency!).toDecimalString(), currency: batch.currency! };
  }
  return { amount: value.toString(), units: batch.unit };
}

export function voucherBatchView(batch: vouchers.VoucherBatch): VoucherBatchView {
  return {
    id: batch.id,
    name: batch.name,
    value: storedValue(batch, batch.faceValue),
    bonus:
      batch.bonus.kind === 'none'
        ? null
        : batch.bonus.kind === 'percent'
          ? { percent: batch.bonus.percent }
          : { amount: storedValue(batch, batch.bonus.amount) },
    expiresAt: batch.expiresAt,
    count: batch.count,
    createdAt: batch.createdAt,
  };
}

function requireSecret(secret: string | undefined): string {
  if (secret === undefined || secret === '') {
    throw fail(
      CommonErrors.invalid_input,
      'vouchers need TOLLGATE_TOKEN_SECRET: their PINs are stored as an HMAC keyed by it',
      { field: 'TOLLGATE_TOKEN_SECRET' },
    );
  }
  return secret;
}

export const MAX_VOUCHERS_PER_BATCH = 10_000;

/**
 * Generates a batch of vouchers. The answer is the only place the PINs ever appear: the tables
 * keep their HMAC (src/charging/vouchers.ts). One transaction writes the batch, its vouchers and
 * the audit record (which names the batch, never a PIN).
 */
export async function generateVoucherBatch(
  deps: WorkflowDeps,
  caller: Caller,
  secret: string | undefined,
  input: VoucherBatchInput,
): Promise<{ batch: VoucherBatchView; vouchers: Array<{ id: string; serial: string; pin: string }> }> {
  const key = requireSecret(secret);
  if (!Number.isSafeInteger(input.count) || input.count < 1 || input.count > MAX_VOUCHERS_PER_BATCH) {
    throw fail(VoucherErrors.invalid_batch, `count must be 1 to ${MAX_VOUCHERS_PER_BATCH}`, {
      field: 'count',
    });
  }
  const expiresAtMs = instantIn(input.expiresAt, 'expiresAt');
  if (expiresAtMs <= deps.clock.nowMs()) {
    throw fail(VoucherErrors.invalid_batch, 'expiresAt must be in the future', { field: 'expiresAt' });
  }
  let unit: BalanceUnit;
  let currency: string | undefined;
  let faceValue: bigint;
  if (isCurrency(input.faceValue.units)) {
    unit = 'money';
    currency = input.faceValue.units;
    faceValue = Money.parse(input.faceValue.amount, currency, { field: 'faceValue/amount' }).amountMinor;
  } else if (isDisplayUnit(input.faceValue.units)) {
    unit = baseUnitOf(input.faceValue.units);
    faceValue = parseQuantity(input.faceValue.amount, input.faceValue.units, {
      field: 'faceValue/amount',
    }).amount;
  } else {
    throw fail(
      VoucherErrors.invalid_batch,
      `faceValue/units must be a currency code (EUR) or a unit (GB, minute, message...), not ${JSON.stringify(input.faceValue.units)}`,
      { field: 'faceValue/units' },
    );
  }
  if (faceValue <= 0n) {
    throw fail(VoucherErrors.invalid_batch, 'faceValue/amount must be more than zero', {
      field: 'faceValue/amount',
    });
  }
  let bonus: VoucherBonus = { kind: 'none' };
  if (input.bonus !== undefined && 'percent' in input.bonus && 'amount' in input.bonus) {
    throw fail(VoucherErrors.invalid_batch, 'bonus is either a percent or an amount, not both', {
      field: 'bonus',
    });
  }
  if (input.bonus !== undefined && 'percent' in input.bonus) {
    if (!Number.isInteger(input.bonus.percent) || input.bonus.percent < 1 || input.bonus.percent > 1000) {
      throw fail(VoucherErrors.invalid_batch, 'bonus/percent must be a whole number 1 to 1000', {
        field: 'bonus/percent',
      });
    }
    bonus = { kind: 'percent', percent: input.bonus.percent };
  } else if (input.bonus !== undefined) {
    const amount =
      unit === 'money'
        ? Money.parse(input.bonus.amount, currency!, { field: 'bonus/amount' }).amountMinor
        : parseQuantity(input.bonus.amount, input.faceValue.units as Parameters<typeof parseQuantity>[1], {
            field: 'bonus/amount',
          }).amount;
    if (amount <= 0n) {
      throw fail(VoucherErrors.invalid_batch, 'bonus/amount must be more than zero', {
        field: 'bonus/amount',
      });
    }
    bonus = { kind: 'fixed', amount };
  }
  const now = deps.clock.now();
  const batch: vouchers.VoucherBatch = {
    id: newId('vbt', deps.clock),
    name: input.name ?? `${input.faceValue.amount} ${input.faceValue.units} × ${input.count}`,
    unit,
    currency,
    faceValue,
    bonus,
    expiresAt: instantFromMs(expiresAtMs),
    count: input.count,
    createdBy: `${caller.actor.type}:${caller.actor.id}`,
    createdAt: now,
  };
  const pins = new Set<string>();
  while (pins.size < input.count) pins.add(newPin());
  const made = [...pins].map((pin, i) => ({
    id: newId('vch', deps.clock),
    serial: `${batch.id.slice(4)}-${String(i + 1).padStart(5, '0')}`,
    pin,
  }));
  const view = voucherBatchView(batch);
  try {
    await runChange(deps, caller, async (ctx) => {
      await vouchers.insertBatch(ctx.tx, caller.tenantId, batch);
      await vouchers.insertVouchers(
        ctx.tx,
        caller.tenantId,
        made.map((v) => ({
          id: v.id,
          batchId: batch.id,
          serial: v.serial,
          pinHash: pinHash(key, caller.tenantId, v.pin),
          createdAt: now,
        })),
      );
      await recordChange(ctx, {
        action: 'voucher_batch.created',
        entityType: 'voucher_batch',
        entityId: batch.id,
        after: view,
        event: { type: 'voucher_batch.created', payload: view },
      });
    });
  } catch (error) {
    // Two PINs of 10^16 colliding with an earlier batch: astronomically rare, and safe to retry.
    if (isUniqueViolation(error)) {
      throw fail(CommonErrors.conflict, 'a generated PIN collided with an existing one; generate again', {
        field: 'count',
      });
    }
    throw error;
  }
  return { batch: view, vouchers: made };
}

export async function listVoucherBatches(
  deps: WorkflowDeps,
  tenantId: string,
  page: { readonly after?: string; readonly limit: number },
): Promise<Array<VoucherBatchView & { vouchers: Record<string, number> }>> {
  const db = readExecutor(deps);
  const batches = await vouchers.listBatches(db, tenantId, page);
  const out = [];
  for (const batch of batches) {
    out.push({ ...voucherBatchView(batch), vouchers: await vouchers.countVouchers(db, tenantId, batch.id) });
  }
  return out;
}

export interface RedemptionResult {
  readonly voucherId: string;
  readonly serial: string;
  readonly batchId: string;
  readonly value: AmountView;
  readonly bonus: AmountView;
  readonly credited: AmountView;
  readonly movement: MovementView;
  readonly balance: BalanceView;
}

/**
 * Redeems a voucher by its PIN into a balance: refused when no voucher has the PIN
 * (`voucher.not_found`), when it was redeemed (`voucher.already_redeemed`), after its batch's
 * expiry (`voucher.expired`) or when the balance counts another unit or currency. The voucher is
 * claimed first (one conditional UPDATE), then its value plus bonus is credited as a `voucher`
 * movement (reference: the voucher id); if the credit fails, the claim is given back.
 */
export async function redeemVoucher(
  deps: ChargingAdminDeps,
  caller: Caller,
  secret: string | undefined,
  input: { readonly pin: string; readonly balanceId: string },
): Promise<RedemptionResult> {
  const key = requireSecret(secret);
  const pin = normalisePin(input.pin);
  if (!isWellFormedPin(pin)) {
    throw fail(CommonErrors.invalid_input, 'pin must be the 16 digits printed on the voucher', {
      field: 'pin',
    });
  }
  const db = deps.database.db;
  const found = await vouchers.findVoucherByPinHash(db, caller.tenantId, pinHash(key, caller.tenantId, pin));
  if (found === undefined) {
    throw fail(VoucherErrors.not_found, 'no voucher has this PIN', { field: 'pin' });
  }
  const { voucher, batch } = found;
  if (voucher.status === 'redeemed') {
    throw fail(
      VoucherErrors.already_redeemed,
      `voucher ${voucher.serial} was redeemed at ${voucher.redeemedAt}`,
      {
        field: 'pin',
        record: voucher.serial,
      },
    );
  }
  const now = deps.clock.now();
  if (voucher.status === 'expired' || batch.expiresAt <= now) {
    throw fail(VoucherErrors.expired, `voucher ${voucher.serial} expired at ${batch.expiresAt}`, {
      field: 'pin',
      record: voucher.serial,
    });
  }
  const row = await mustFindBalance(deps, caller.tenantId, input.balanceId, 'balanceId');
  if (row.balance.unit !== batch.unit || (batch.unit === 'money' && row.currency !== batch.currency)) {
    throw fail(
      VoucherErrors.unit_mismatch,
      `balanceId: the voucher is worth ${batch.unit === 'money' ? batch.currency : `${batch.unit}s`}, ` +
        `the balance counts ${row.balance.unit === 'money' ? row.currency : `${row.balance.unit}s`}`,
      { field: 'balanceId' },
    );
  }
  // Money: 10.00 EUR = 1000 cents × 10^10 pico; a bonus of +10 % adds 10^12 pico (1.00 EUR).
  const toBalanceUnit = (stored: bigint) =>
    batch.unit === 'money' ? picoOfMoney(Money.ofMinor(stored, batch.currency!)) : stored;
  const value = toBalanceUnit(batch.faceValue);
  const bonus = bonusOf(
    value,
    batch.bonus.kind === 'fixed' ? { kind: 'fixed', amount: toBalanceUnit(batch.bonus.amount) } : batch.bonus,
  );
  const claimed = await inTransaction(deps.database, (tx) =>
    vouchers.claimVoucher(tx, caller.tenantId, voucher.id, input.balanceId, now),
  );
  if (!claimed) {
    throw fail(VoucherErrors.already_redeemed, `voucher ${voucher.serial} was redeemed meanwhile`, {
      field: 'pin',
      record: voucher.serial,
    });
  }
  let outcome;
  try {
    outcome = await deps.charging.move(caller.tenantId, row.accountId, 'voucher', {
      balanceId: input.balanceId,
      amount: value + bonus,
      reference: voucher.id,
    });
    if (outcome.code !== 'ok') {
      throw fail(ChargingErrors[outcome.code], `voucher credit refused: ${outcome.code}`, {
        field: 'balanceId',
      });
    }
  } catch (error) {
    await inTransaction(deps.database, (tx) =>
      vouchers.unclaimVoucher(tx, caller.tenantId, voucher.id, input.balanceId),
    );
    throw error;
  }
  const unitOf = (v: bigint) => amountView(row.balance.unit, row.currency, v);
  const result: RedemptionResult = {
    voucherId: voucher.id,
    serial: voucher.serial,
    batchId: batch.id,
    value: unitOf(value),
    bonus: unitOf(bonus),
    credited: unitOf(value + bonus),
    movement: movementView(row.balance.unit, row.currency, outcome.movements[0]!),
    balance: balanceView(await mustFindBalance(deps, caller.tenantId, input.balanceId)),
  };
  const payload = {
    voucherId: result.voucherId,
    serial: result.serial,
    batchId: result.batchId,
    balanceId: input.balanceId,
    accountId: row.accountId,
    value: result.value,
    bonus: result.bonus,
    credited: result.credited,
    seq: result.movement.seq,
  };
  await recordAfterEngine(deps, caller, {
    action: 'voucher.redeemed',
    entityType: 'voucher',
    entityId: voucher.id,
    after: payload,
    event: { type: 'voucher.redeemed', payload },
  });
  return result;
}
