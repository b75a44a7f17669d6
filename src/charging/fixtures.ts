/**
 * Builders for the charging tests: a state with one account and its subscriptions, balances opened
 * and credited through movements, and a default policy. Test-only; nothing else imports it.
 */
import { addBalance, createChargingState, openBalance } from './balances.js';
import { grantAllowance, topUp } from './movements.js';
import type { Balance, BalanceDefinition, ChargingPolicy, ChargingState, Movement } from './model.js';

export const T0 = Date.parse('2026-03-02T09:00:00.000Z');
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** Pico-units of a decimal amount of the major unit: pico('0.18') = 180 000 000 000. */
export function pico(text: string): bigint {
  const negative = text.startsWith('-');
  const [whole, fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const value = BigInt(whole as string) * 10n ** 12n + BigInt(fraction.padEnd(12, '0'));
  return negative ? -value : value;
}

export const POLICY: ChargingPolicy = {
  validityMs: 15 * 60_000,
  defaultGrantByService: { voice: 300n },
  defaultGrantByUnit: { second: 600n, byte: 10_000_000n, message: 1n, event: 1n, unit: 1n },
};

/** An account ACC with subscriptions SUB1 and SUB2 and no balances. */
export function emptyState(): ChargingState {
  return createChargingState({
    currency: 'EUR',
    subscriptions: [
      ['SUB1', 'ACC'],
      ['SUB2', 'ACC'],
    ],
  });
}

/**
 * Opens a balance in `state` and credits `initial` (a top-up for money, a grant for a bucket), so
 * every unit in it is in its movement history. Returns the balance; the movements go to `log`.
 */
export function withBalance(
  state: ChargingState,
  definition: Partial<BalanceDefinition> & Pick<BalanceDefinition, 'id' | 'unit'>,
  initial: bigint,
  log?: Map<string, Movement[]>,
): Balance {
  const balance = openBalance({ ownerKind: 'account', ownerId: 'ACC', ...definition });
  addBalance(state, balance);
  if (initial > 0n) {
    const credit = definition.unit === 'money' ? topUp : grantAllowance;
    const outcome = credit(state, {
      balanceId: balance.id,
      amount: initial,
      atMs: T0 - DAY,
      reference: 'opening',
    });
    if (log !== undefined) record(log, outcome.movements);
  }
  return balance;
}

/** Appends movements to a per-balance log. */
export function record(log: Map<string, Movement[]>, movements: readonly Movement[]): void {
  for (const movement of movements) {
    let list = log.get(movement.balanceId);
    if (list === undefined) log.set(movement.balanceId, (list = []));
    list.push(movement);
  }
}
