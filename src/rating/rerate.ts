/**
 * Re-rating: rated usage is append-only, so a corrected charge is written as a delta record
 * (re-rated − original) pointing at the original. These helpers are pure.
 *
 * The flow for one event: load its original snapshot; give its allowance units and tier units
 * back (reverseSnapshot on the ledger); rate it again with the corrected plan; apply the new
 * result; store ratingDelta(original, snapshotRating(result)) as the delta record.
 */
import { amountPicoOf, ownerOf, tierKeyOf, type RatingPlan, type RatingResult } from './model.js';
import type { AllowanceLedger } from './ledger.js';

export interface RatedDraw {
  readonly ownerId: string;
  readonly allowanceCode: string;
  readonly periodIndex: number;
  readonly periodStartMs: number;
  readonly units: number;
}

export interface RatedTierUpdate {
  readonly key: string;
  readonly periodIndex: number;
  readonly units: number;
}

/** A rating result reduced to what a rated-usage record keeps (and re-rating compares). */
export interface RatedSnapshot {
  readonly outcome: 'ok' | 'reject';
  readonly rejectReason: string | undefined;
  readonly currency: string;
  readonly amountPico: bigint;
  readonly units: number;
  readonly coveredUnits: number;
  readonly chargeableUnits: number;
  readonly chargedUnits: number;
  readonly draws: readonly RatedDraw[];
  readonly tier: RatedTierUpdate | undefined;
}

export function snapshotRating(out: RatingResult): RatedSnapshot {
  const draws: RatedDraw[] = [];
  for (let i = 0; i < out.drawCount; i++) {
    const allowance = out.drawAllowance[i];
    if (allowance === undefined) continue;
    draws.push({
      ownerId: ownerOf(out.plan as RatingPlan, allowance),
      allowanceCode: allowance.code,
      periodIndex: out.drawPeriodIndex[i] as number,
      periodStartMs: out.drawPeriodStartMs[i] as number,
      units: out.drawUnits[i] as number,
    });
  }
  const ok = out.outcome === 'ok';
  return {
    outcome: out.outcome,
    rejectReason: out.rejectReason,
    currency: out.currency,
    amountPico: ok ? amountPicoOf(out) : 0n,
    units: out.units,
    coveredUnits: out.coveredUnits,
    chargeableUnits: out.chargeableUnits,
    chargedUnits: out.chargedUnits,
    draws: ok ? draws : [],
    tier:
      ok && out.tierCounter !== undefined && out.tierUnits !== 0
        ? {
            key: tierKeyOf(out.plan as RatingPlan, out.tierCounter),
            periodIndex: out.tierPeriodIndex,
            units: out.tierUnits,
          }
        : undefined,
  };
}

/** A change of units in one allowance counter (re-rated − original). */
export type AllowanceDelta = RatedDraw;

export interface RatingDelta {
  /** Amount deltas per currency (one entry unless the currency changed), non-zero only. */
  readonly amounts: ReadonlyArray<{ readonly currency: string; readonly amountPico: bigint }>;
  /** Units per allowance counter: re-rated draw − original draw, non-zero only. */
  readonly allowances: readonly AllowanceDelta[];
  readonly tiers: readonly RatedTierUpdate[];
  /** True when anything differs. */
  readonly changed: boolean;
}

/** re-rated − original, per currency and per counter. */
export function ratingDelta(original: RatedSnapshot, rerated: RatedSnapshot): RatingDelta {
  const amounts = new Map<string, bigint>();
  const add = (currency: string, pico: bigint): void => {
    amounts.set(currency, (amounts.get(currency) ?? 0n) + pico);
  };
  add(rerated.currency, rerated.amountPico);
  add(original.currency, -original.amountPico);

  const draws = new Map<string, { draw: RatedDraw; units: number }>();
  const addDraw = (draw: RatedDraw, sign: number): void => {
    const key = `${draw.ownerId}\u0000${draw.allowanceCode}\u0000${draw.periodIndex}`;
    const entry = draws.get(key);
    if (entry === undefined) draws.set(key, { draw, units: sign * draw.units });
    else entry.units += sign * draw.units;
  };
  for (const draw of rerated.draws) addDraw(draw, 1);
  for (const draw of original.draws) addDraw(draw, -1);

  const tiers = new Map<string, RatedTierUpdate>();
  const addTier = (tier: RatedTierUpdate | undefined, sign: number): void => {
    if (tier === undefined) return;
    const key = `${tier.key}\u0001${tier.periodIndex}`;
    const units = (tiers.get(key)?.units ?? 0) + sign * tier.units;
    tiers.set(key, { key: tier.key, periodIndex: tier.periodIndex, units });
  };
  addTier(rerated.tier, 1);
  addTier(original.tier, -1);

  const amountList = [...amounts]
    .filter(([, pico]) => pico !== 0n)
    .map(([currency, amountPico]) => ({ currency, amountPico }));
  const allowanceList = [...draws.values()]
    .filter((entry) => entry.units !== 0)
    .map(({ draw, units }) => ({ ...draw, units }));
  const tierList = [...tiers.values()].filter((tier) => tier.units !== 0);
  return {
    amounts: amountList,
    allowances: allowanceList,
    tiers: tierList,
    changed: amountList.length > 0 || allowanceList.length > 0 || tierList.length > 0,
  };
}

/** Gives back a stored charge's allowance and tier units (sign −1), or takes them again (+1). */
export function reverseSnapshot(ledger: AllowanceLedger, snapshot: RatedSnapshot, sign: 1 | -1 = -1): void {
  for (const draw of snapshot.draws) {
    ledger.adjustAllowance(draw.ownerId, draw.allowanceCode, draw.periodIndex, sign * draw.units);
  }
  if (snapshot.tier !== undefined)
    ledger.adjustTier(snapshot.tier.key, snapshot.tier.periodIndex, sign * snapshot.tier.units);
}
