/**
 * Movements: every change of a balance is one movement, and a balance is exactly the sum of its
 * movements. Top-ups, adjustments, vouchers, scheduled grants and expiry live here; charges are
 * posted by commits (reservations.ts) through the same `postMovement`, so thresholds are checked
 * after every movement whatever its cause.
 */
import { fail } from '../kernel/errors.js';
import { ChargingErrors } from './errors.js';
import { availableWithoutCap } from './balances.js';
import type {
  Balance,
  ChargingState,
  Movement,
  MovementKind,
  MovementOutcome,
  ThresholdCrossing,
} from './model.js';

/**
 * Posts one movement: changes the balance, bumps its version, counts credits and capped spending,
 * appends the movement to `movements` and any threshold it crossed to `thresholds`. The caller has
 * already checked that a debit fits what is available; this function only records.
 */
export function postMovement(
  balance: Balance,
  kind: MovementKind,
  amount: bigint,
  atMs: number,
  reference: string,
  movements: Movement[],
  thresholds: ThresholdCrossing[],
): Movement {
  const before = balance.amount;
  const after = before + amount;
  balance.amount = after;
  balance.version += 1;
  if (amount > 0n) balance.creditedTotal += amount;
  if (kind === 'charge' && balance.spendingCap !== undefined) balance.spendingCap.spentPico -= amount;
  const movement: Movement = {
    balanceId: balance.id,
    seq: balance.version,
    kind,
    amount,
    balanceAfter: after,
    atMs,
    reference,
  };
  movements.push(movement);
  if (amount < 0n) reportCrossings(balance, kind, before, after, atMs, thresholds);
  return movement;
}

/**
 * The thresholds a debit crossed, going down. Each is reported once per crossing: a top-up that
 * lifts the balance back over a threshold re-arms it, and the next debit under it reports it again.
 *
 * - low_balance (money): before ≥ lowBalance > after.
 * - credit_limit_near (money with a credit limit): the credit used, max(0, −amount), reaches
 *   creditNearPercent of the limit. Compared as used × 100 ≥ limit × percent so nothing is divided:
 *   limit 50 EUR at 90 % is crossed when the balance reaches −45 EUR (45 × 100 = 4500 ≥ 50 × 90 = 4500).
 * - allowance_used (buckets): used = creditedTotal − amount reaches P % of creditedTotal, compared
 *   the same way: 1000 s credited, 800 s used → 800 × 100 ≥ 1000 × 80 crosses 80 %. Expiry is not
 *   use, so an expiring bucket reports nothing.
 */
function reportCrossings(
  balance: Balance,
  kind: MovementKind,
  before: bigint,
  after: bigint,
  atMs: number,
  thresholds: ThresholdCrossing[],
): void {
  if (balance.unit === 'money') {
    const low = balance.lowBalancePico;
    if (low !== undefined && before >= low && after < low) {
      thresholds.push({ balanceId: balance.id, kind: 'low_balance', percent: 0, amountAfter: after, atMs });
    }
    const limit = balance.creditLimitPico;
    if (limit > 0n) {
      const level = limit * BigInt(balance.creditNearPercent);
      const usedBefore = before < 0n ? -before : 0n;
      const usedAfter = after < 0n ? -after : 0n;
      if (usedBefore * 100n < level && usedAfter * 100n >= level) {
        thresholds.push({
          balanceId: balance.id,
          kind: 'credit_limit_near',
          percent: balance.creditNearPercent,
          amountAfter: after,
          atMs,
        });
      }
    }
    return;
  }
  const credited = balance.creditedTotal;
  if (kind === 'expiry' || credited <= 0n) return;
  const usedBefore = (credited - before) * 100n;
  const usedAfter = (credited - after) * 100n;
  for (const percent of balance.allowancePercents) {
    const level = credited * BigInt(percent);
    if (usedBefore < level && usedAfter >= level) {
      thresholds.push({ balanceId: balance.id, kind: 'allowance_used', percent, amountAfter: after, atMs });
    }
  }
}

export interface CreditInput {
  readonly balanceId: string;
  /** In the balance's unit: pico-units for money (see picoOfMoney), base units for a bucket. */
  readonly amount: bigint;
  readonly atMs: number;
  /** The payment reference, voucher id, grant period or adjustment reason. */
  readonly reference: string;
}

/** Credits a balance: a paid top-up (idempotency by payment reference is the store's, on `reference`). */
export function topUp(state: ChargingState, input: CreditInput): MovementOutcome {
  return credit(state, input, 'top_up');
}

/** Credits the value of a redeemed voucher; `reference` is the voucher id. */
export function redeemVoucher(state: ChargingState, input: CreditInput): MovementOutcome {
  return credit(state, input, 'voucher');
}

/**
 * Credits a scheduled grant: an allowance's units for a period (usually into a bucket opened for
 * that period, valid [periodStart, periodEnd), so what is left expires with it).
 */
export function grantAllowance(state: ChargingState, input: CreditInput): MovementOutcome {
  return credit(state, input, 'grant');
}

function credit(state: ChargingState, input: CreditInput, kind: MovementKind): MovementOutcome {
  const balance = state.balances.get(input.balanceId);
  if (balance === undefined) return refused('balance_not_found');
  if (input.amount <= 0n) return refused('invalid_request');
  const movements: Movement[] = [];
  const thresholds: ThresholdCrossing[] = [];
  postMovement(balance, kind, input.amount, input.atMs, input.reference, movements, thresholds);
  return { code: 'ok', movements, thresholds };
}

/**
 * An operator's correction, either sign. A debit may use only what is available (amount + credit
 * limit − holds, the spending cap aside: a correction is not spending), so no adjustment can break
 * another session's reservation or push the balance under its credit limit; a larger correction
 * is refused with `insufficient_balance`.
 */
export function adjust(state: ChargingState, input: CreditInput): MovementOutcome {
  const balance = state.balances.get(input.balanceId);
  if (balance === undefined) return refused('balance_not_found');
  if (input.amount === 0n) return refused('invalid_request');
  if (input.amount < 0n && -input.amount > availableWithoutCap(balance))
    return refused('insufficient_balance');
  const movements: Movement[] = [];
  const thresholds: ThresholdCrossing[] = [];
  postMovement(balance, 'adjustment', input.amount, input.atMs, input.reference, movements, thresholds);
  return { code: 'ok', movements, thresholds };
}

/**
 * Expires what is left of every balance whose validity ended at or before `atMs`. Units held by
 * an active reservation are not expired: they were promised before the end and the commit may still
 * draw them; what the commit releases is expired by the next sweep. A debt (a negative money
 * balance) never expires. Example: a bucket of 500 MB ends with 120 MB left of which a session
 * holds 20 MB: the sweep posts −100 MB; the session uses 5 MB and releases 15 MB; the next sweep
 * posts −15 MB.
 */
export function expireBalances(state: ChargingState, atMs: number): MovementOutcome {
  const movements: Movement[] = [];
  const thresholds: ThresholdCrossing[] = [];
  for (const balance of state.order) {
    if (balance.validUntilMs === null || balance.validUntilMs > atMs) continue;
    const left = balance.amount - balance.held;
    if (left > 0n) postMovement(balance, 'expiry', -left, atMs, 'validity ended', movements, thresholds);
  }
  return { code: 'ok', movements, thresholds };
}

/**
 * A balance recomputed from its full movement history: the sum of the amounts. It also checks the
 * history itself (one balance, seq 1, 2, 3… without gaps, each balanceAfter the running sum) and
 * throws `charging.balance_mismatch` naming the first movement that breaks it.
 */
export function recompute(movements: readonly Movement[]): bigint {
  let sum = 0n;
  const balanceId = movements[0]?.balanceId;
  for (let i = 0; i < movements.length; i++) {
    const movement = movements[i] as Movement;
    sum += movement.amount;
    if (movement.balanceId !== balanceId || movement.seq !== i + 1 || movement.balanceAfter !== sum) {
      throw fail(
        ChargingErrors.balance_mismatch,
        `movement ${i + 1} of balance ${String(balanceId)} breaks the history: expected seq ${i + 1} ` +
          `and balance after ${sum}, found balance ${movement.balanceId} seq ${movement.seq} ` +
          `after ${movement.balanceAfter}`,
        { record: `${movement.balanceId}#${movement.seq}` },
      );
    }
  }
  return sum;
}

/**
 * The paired assertion of `recompute`: the running balance equals the sum of its movements and
 * its version counts them. Run it after reading a balance and its movements back, and in tests.
 */
export function assertBalanceMatchesMovements(balance: Balance, movements: readonly Movement[]): void {
  const recomputed = recompute(movements);
  if (recomputed !== balance.amount || movements.length !== balance.version) {
    throw fail(
      ChargingErrors.balance_mismatch,
      `balance ${balance.id} is ${balance.amount} at version ${balance.version}, but its ` +
        `${movements.length} movements add up to ${recomputed}`,
      { record: balance.id },
    );
  }
}

function refused(code: MovementOutcome['code']): MovementOutcome {
  return { code, movements: [], thresholds: [] };
}
