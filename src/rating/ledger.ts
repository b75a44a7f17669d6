/**
 * Allowance and tier counters: the rollover rule (pure) and AllowanceLedger, an in-memory
 * RatingState used by the tests and the batch importer, which loads counters from the store,
 * rates a batch, and writes back the counters it changed (`takeDirty`).
 *
 * An allowance counter belongs to (owner, allowance code, period): owner is the subscription, or
 * the account for 'account-pool' allowances, so every subscription of a family or IoT account
 * draws from one counter. A counter holds its own grant (the allowance's quantity), the units
 * rolled over into it (layers, oldest first, each with the period it came from), the units used,
 * and the units carried out of it into the next period. Rating reads granted = own + rolled over,
 * and used = used + carried out, so used never passes granted and a late event of a closed period
 * can only use what was not carried forward.
 *
 * Rollover (allowance.rollover { maxPeriods, maxQuantity }). Units are used oldest first: the
 * rolled-over layers in order of origin, then the period's own units. When period p opens, what
 * is left of period p − 1 moves into p: each layer that came from a period q with p − q ≤
 * maxPeriods (units of period q can be used in periods q … q + maxPeriods), then the own units
 * left of p − 1. Layers that are too old expire. When the units moved exceed maxQuantity, the
 * oldest are cut first. A period with no usage at all still rolls over: opening p looks back up to
 * maxPeriods periods and opens the missing ones with nothing used, but never before the period the
 * allowance started in.
 *
 * Worked example: 100 minutes a month, rollover { maxPeriods: 1 }. March uses 70 → April opens
 * with own 100 + 30 rolled over from March = 130 granted. April uses 40: the 30 March units go
 * first (oldest), then 10 of April's own. May opens: the March layer is too old (May − March = 2
 * > 1) but it is used up anyway; April's own 90 left move into May: granted 190.
 */
import type { CounterReading, PlanAllowance, TierCounterRef, WritableRatingState } from './model.js';
import type { BaseUnit } from '../kernel/quantity.js';

/** Units rolled over from period `fromPeriodIndex`. */
export interface RolloverLayer {
  readonly fromPeriodIndex: number;
  readonly units: number;
}

/** One allowance counter, as stored (JSON-friendly; units are safe integers). */
export interface AllowanceCounterRecord {
  readonly ownerId: string;
  readonly allowanceCode: string;
  readonly unit: BaseUnit;
  readonly periodIndex: number;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  readonly ownUnits: number;
  readonly rolledOverIn: readonly RolloverLayer[];
  /** ownUnits + Σ rolledOverIn. */
  readonly grantedUnits: number;
  readonly usedUnits: number;
  readonly carriedOutUnits: number;
}

/** One tier counter (units counted in a billing month). */
export interface TierCounterRecord {
  readonly key: string;
  readonly ownerId: string;
  readonly periodIndex: number;
  readonly units: number;
}

/** What rolls from counter `previous` into period `nextPeriodIndex` (see the module comment). */
export function rolloverLayers(
  previous: Pick<AllowanceCounterRecord, 'periodIndex' | 'ownUnits' | 'rolledOverIn' | 'usedUnits'>,
  nextPeriodIndex: number,
  rollover: { readonly maxPeriods: number; readonly maxQuantity: number | undefined },
): RolloverLayer[] {
  let used = previous.usedUnits;
  const layers: RolloverLayer[] = [];
  for (const layer of previous.rolledOverIn) {
    const left = layer.units > used ? layer.units - used : 0;
    used = used > layer.units ? used - layer.units : 0;
    if (left > 0 && nextPeriodIndex - layer.fromPeriodIndex <= rollover.maxPeriods) {
      layers.push({ fromPeriodIndex: layer.fromPeriodIndex, units: left });
    }
  }
  const ownLeft = previous.ownUnits > used ? previous.ownUnits - used : 0;
  if (ownLeft > 0 && nextPeriodIndex - previous.periodIndex <= rollover.maxPeriods) {
    layers.push({ fromPeriodIndex: previous.periodIndex, units: ownLeft });
  }
  if (rollover.maxQuantity !== undefined) {
    let total = 0;
    for (const layer of layers) total += layer.units;
    let excess = total - rollover.maxQuantity;
    while (excess > 0 && layers.length > 0) {
      const oldest = layers[0] as RolloverLayer;
      if (oldest.units <= excess) {
        excess -= oldest.units;
        layers.shift();
      } else {
        layers[0] = { fromPeriodIndex: oldest.fromPeriodIndex, units: oldest.units - excess };
        excess = 0;
      }
    }
  }
  return layers;
}

interface AllowanceCell {
  readonly ownerId: string;
  readonly allowanceCode: string;
  readonly unit: BaseUnit;
  readonly periodIndex: number;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  readonly ownUnits: number;
  readonly rolledOverIn: readonly RolloverLayer[];
  readonly grantedUnits: number;
  usedUnits: number;
  carriedOutUnits: number;
}

interface TierCell {
  readonly key: string;
  readonly ownerId: string;
  readonly periodIndex: number;
  units: number;
}

/**
 * Counters in memory: a RatingState rating reads and applyRating writes. The latest period of
 * each counter is found with one Map lookup by the allowance's precomputed key, without building
 * a string; other periods (late events, rollover look-back) go through a second map.
 */
export class AllowanceLedger implements WritableRatingState {
  private readonly latest = new Map<string, AllowanceCell>();
  private readonly byPeriod = new Map<string, AllowanceCell>();
  private readonly tierLatest = new Map<string, TierCell>();
  private readonly tierByPeriod = new Map<string, TierCell>();
  private readonly dirtyAllowances = new Set<AllowanceCell>();
  private readonly dirtyTiers = new Set<TierCell>();

  /** Loads stored counters (before rating a batch). */
  load(allowances: readonly AllowanceCounterRecord[], tiers: readonly TierCounterRecord[] = []): void {
    for (const record of allowances) {
      const cell: AllowanceCell = { ...record, rolledOverIn: [...record.rolledOverIn] };
      this.remember(`${record.ownerId}\u0000${record.allowanceCode}`, cell);
    }
    for (const record of tiers) this.rememberTier({ ...record });
  }

  readAllowance(
    allowance: PlanAllowance,
    periodIndex: number,
    periodStartMs: number,
    into: CounterReading,
  ): void {
    const cell = this.latest.get(allowance.counterPrefix);
    if (cell !== undefined && cell.periodIndex === periodIndex) {
      into.grantedUnits = cell.grantedUnits;
      into.usedUnits = cell.usedUnits + cell.carriedOutUnits;
      return;
    }
    const stored = this.byPeriod.get(periodKey(allowance.counterPrefix, periodIndex));
    if (stored !== undefined) {
      into.grantedUnits = stored.grantedUnits;
      into.usedUnits = stored.usedUnits + stored.carriedOutUnits;
      return;
    }
    // Not open yet: what it would be granted, without opening it (reads change nothing).
    const layers = this.incomingLayers(allowance, periodIndex, false);
    let granted = allowance.quantity;
    for (const layer of layers) granted += layer.units;
    into.grantedUnits = granted;
    into.usedUnits = 0;
    void periodStartMs;
  }

  tierPriorUnits(counter: TierCounterRef, periodIndex: number): number {
    const cell = this.tierLatest.get(counter.key);
    if (cell !== undefined && cell.periodIndex === periodIndex) return cell.units;
    return this.tierByPeriod.get(periodKey(counter.key, periodIndex))?.units ?? 0;
  }

  addAllowanceUsage(
    allowance: PlanAllowance,
    periodIndex: number,
    periodStartMs: number,
    units: number,
  ): number {
    let cell = this.latest.get(allowance.counterPrefix);
    if (cell === undefined || cell.periodIndex !== periodIndex) {
      cell =
        this.byPeriod.get(periodKey(allowance.counterPrefix, periodIndex)) ??
        this.open(allowance, periodIndex, periodStartMs);
    }
    // Never below zero, never above granted (carried-out units count as gone).
    const room = cell.grantedUnits - cell.carriedOutUnits - cell.usedUnits;
    const applied = units > room ? room : units < -cell.usedUnits ? -cell.usedUnits : units;
    if (applied !== 0) {
      cell.usedUnits += applied;
      this.dirtyAllowances.add(cell);
    }
    return applied;
  }

  addTierUnits(counter: TierCounterRef, periodIndex: number, units: number): void {
    let cell = this.tierLatest.get(counter.key);
    if (cell === undefined || cell.periodIndex !== periodIndex) {
      cell = this.tierByPeriod.get(periodKey(counter.key, periodIndex));
      if (cell === undefined) {
        cell = { key: counter.key, ownerId: counter.ownerId, periodIndex, units: 0 };
        this.rememberTier(cell);
      }
    }
    const next = cell.units + units;
    cell.units = next < 0 ? 0 : next;
    this.dirtyTiers.add(cell);
  }

  /** Gives back (or takes again, sign −1) units by counter identity: for re-rating stored charges. */
  adjustAllowance(ownerId: string, allowanceCode: string, periodIndex: number, units: number): number {
    const cell = this.byPeriod.get(periodKey(`${ownerId}\u0000${allowanceCode}`, periodIndex));
    if (cell === undefined) return 0;
    const room = cell.grantedUnits - cell.carriedOutUnits - cell.usedUnits;
    const applied = units > room ? room : units < -cell.usedUnits ? -cell.usedUnits : units;
    cell.usedUnits += applied;
    if (applied !== 0) this.dirtyAllowances.add(cell);
    return applied;
  }

  adjustTier(key: string, periodIndex: number, units: number): void {
    const cell = this.tierByPeriod.get(periodKey(key, periodIndex));
    if (cell === undefined) return;
    const next = cell.units + units;
    cell.units = next < 0 ? 0 : next;
    this.dirtyTiers.add(cell);
  }

  /** The counter of an allowance in a period, when open. */
  allowanceCounter(
    ownerId: string,
    allowanceCode: string,
    periodIndex: number,
  ): AllowanceCounterRecord | undefined {
    const cell = this.byPeriod.get(periodKey(`${ownerId}\u0000${allowanceCode}`, periodIndex));
    return cell === undefined ? undefined : snapshot(cell);
  }

  tierCounter(key: string, periodIndex: number): TierCounterRecord | undefined {
    const cell = this.tierByPeriod.get(periodKey(key, periodIndex));
    return cell === undefined ? undefined : { ...cell };
  }

  /** Every counter changed since the last call, for persistence; clears the dirty marks. */
  takeDirty(): { allowances: AllowanceCounterRecord[]; tiers: TierCounterRecord[] } {
    const allowances = [...this.dirtyAllowances].map(snapshot);
    const tiers = [...this.dirtyTiers].map((cell) => ({ ...cell }));
    this.dirtyAllowances.clear();
    this.dirtyTiers.clear();
    const byKey = (
      a: { ownerId: string; periodIndex: number },
      b: { ownerId: string; periodIndex: number },
    ): number => (a.ownerId < b.ownerId ? -1 : a.ownerId > b.ownerId ? 1 : a.periodIndex - b.periodIndex);
    return { allowances: allowances.sort(byKey), tiers: tiers.sort(byKey) };
  }

  /** Opens period `periodIndex` of an allowance: own grant plus what rolls over from the period before. */
  private open(allowance: PlanAllowance, periodIndex: number, periodStartMs: number): AllowanceCell {
    const layers = this.incomingLayers(allowance, periodIndex, true);
    let granted = allowance.quantity;
    for (const layer of layers) granted += layer.units;
    const cell: AllowanceCell = {
      ownerId: allowance.ownerId,
      allowanceCode: allowance.code,
      unit: allowance.unit,
      periodIndex,
      periodStartMs,
      periodEndMs: allowance.calendar.endOf(periodIndex),
      ownUnits: allowance.quantity,
      rolledOverIn: layers,
      grantedUnits: granted,
      usedUnits: 0,
      carriedOutUnits: 0,
    };
    this.remember(allowance.counterPrefix, cell);
    this.dirtyAllowances.add(cell);
    return cell;
  }

  /**
   * The layers rolling into `periodIndex` from the period before. With `commit`, missing earlier
   * periods are opened (nothing used) and the predecessor's carried-out units are recorded;
   * without, nothing changes and the same layers are computed.
   */
  private incomingLayers(allowance: PlanAllowance, periodIndex: number, commit: boolean): RolloverLayer[] {
    const rollover = allowance.rollover;
    if (rollover === undefined) return [];
    // Units of period q can be used up to q + maxPeriods, so nothing older than
    // periodIndex − maxPeriods matters; and nothing before the allowance started exists.
    const firstIndex = Number.isFinite(allowance.fromMs)
      ? allowance.calendar.indexAt(allowance.fromMs)
      : -Infinity;
    return this.incomingLayersBounded(
      allowance,
      periodIndex,
      commit,
      Math.max(firstIndex, periodIndex - rollover.maxPeriods),
    );
  }

  private incomingLayersBounded(
    allowance: PlanAllowance,
    periodIndex: number,
    commit: boolean,
    floor: number,
  ): RolloverLayer[] {
    const rollover = allowance.rollover as NonNullable<PlanAllowance['rollover']>;
    const previousIndex = periodIndex - 1;
    if (previousIndex < floor) return [];
    const stored = this.byPeriod.get(periodKey(allowance.counterPrefix, previousIndex));
    if (stored !== undefined) {
      const layers = rolloverLayers(stored, periodIndex, rollover);
      if (commit) {
        let carried = 0;
        for (const layer of layers) carried += layer.units;
        stored.carriedOutUnits = carried;
        this.dirtyAllowances.add(stored);
      }
      return layers;
    }
    const earlier = this.incomingLayersBounded(allowance, previousIndex, commit, floor);
    let granted = allowance.quantity;
    for (const layer of earlier) granted += layer.units;
    const synthetic: AllowanceCell = {
      ownerId: allowance.ownerId,
      allowanceCode: allowance.code,
      unit: allowance.unit,
      periodIndex: previousIndex,
      periodStartMs: allowance.calendar.startOf(previousIndex),
      periodEndMs: allowance.calendar.startOf(periodIndex),
      ownUnits: allowance.quantity,
      rolledOverIn: earlier,
      grantedUnits: granted,
      usedUnits: 0,
      carriedOutUnits: 0,
    };
    const layers = rolloverLayers(synthetic, periodIndex, rollover);
    if (commit) {
      let carried = 0;
      for (const layer of layers) carried += layer.units;
      synthetic.carriedOutUnits = carried;
      this.byPeriod.set(periodKey(allowance.counterPrefix, previousIndex), synthetic);
      this.dirtyAllowances.add(synthetic);
    }
    return layers;
  }

  private remember(prefix: string, cell: AllowanceCell): void {
    this.byPeriod.set(periodKey(prefix, cell.periodIndex), cell);
    const latest = this.latest.get(prefix);
    if (latest === undefined || latest.periodIndex <= cell.periodIndex) this.latest.set(prefix, cell);
  }

  private rememberTier(cell: TierCell): void {
    this.tierByPeriod.set(periodKey(cell.key, cell.periodIndex), cell);
    const latest = this.tierLatest.get(cell.key);
    if (latest === undefined || latest.periodIndex <= cell.periodIndex) this.tierLatest.set(cell.key, cell);
  }
}

function periodKey(prefix: string, periodIndex: number): string {
  return `${prefix}\u0001${periodIndex}`;
}

function snapshot(cell: AllowanceCell): AllowanceCounterRecord {
  return { ...cell, rolledOverIn: cell.rolledOverIn.map((layer) => ({ ...layer })) };
}
