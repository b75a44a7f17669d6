/**
 * How charging amounts and threshold crossings are shown to operators and webhook subscribers:
 * the API's views and the `balance.threshold_crossed` event payload, whichever path (an operator's
 * movement or network charging) crossed the threshold.
 */
import { formatDecimal } from '../kernel/decimal.js';
import { instantFromMs, type Instant } from '../kernel/clock.js';
import type { BaseUnit } from '../kernel/quantity.js';
import type { BalanceUnit, ThresholdCrossing, ThresholdKind } from './model.js';

/** An amount as shown: money as { amount, currency } (12 decimals of pico-units), units as { amount, units }. */
export type AmountView = { amount: string; currency: string } | { amount: string; units: BaseUnit };

export function amountView(unit: BalanceUnit, currency: string, value: bigint): AmountView {
  return unit === 'money'
    ? { amount: formatDecimal(value, 12), currency }
    : { amount: value.toString(), units: unit };
}

/** The payload of a `balance.threshold_crossed` event. */
export interface ThresholdCrossedPayload {
  readonly balanceId: string;
  readonly accountId: string;
  readonly kind: ThresholdKind;
  readonly percent: number;
  readonly amountAfter: AmountView;
  readonly at: Instant;
}

export function thresholdCrossedPayload(
  crossing: ThresholdCrossing,
  balance: { readonly unit: BalanceUnit; readonly accountId: string; readonly currency: string },
): ThresholdCrossedPayload {
  return {
    balanceId: crossing.balanceId,
    accountId: balance.accountId,
    kind: crossing.kind,
    percent: crossing.percent,
    amountAfter: amountView(balance.unit, balance.currency, crossing.amountAfter),
    at: instantFromMs(crossing.atMs),
  };
}
