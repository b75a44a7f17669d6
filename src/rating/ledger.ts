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
 *
 * Layout (AllowanceLedger). Rating reads a counter for nearly every event, in random subscriber
 * order, so the ledger keeps counters where one read finds them: each counter (an allowance of an
 * owner, or a tier counter of a subscription) has an integer id, and its two most recent periods
 * sit in one 64-byte block of a Float64Array (period index, granted, used, carried out, twice).
 * A plan is bound to the ledger once (its counters get ids, written to a slot table at the plan's
 * slotBase), so finding a counter is `slots[plan.slotBase + counterIndex]`: no string is built
 * and no map is searched per event. Older periods (late events, rollover look-back) live in a map
 * by (counter id, period) as objects: the slow path. Exported records are the same as before.
 */
import {
  ownerOf,
  tierKeyOf,
  type PlanAllowance,
  type RatingPlan,
  type TierCounterRef,
  type WritableRatingState,
} from './model.js';
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

/** A period cell off the fast path: periods older than a counter's two most recent. */
interface Cell {
  periodIndex: number;
  periodStartMs: number;
  periodEndMs: number;
  ownUnits: number;
  rolledOverIn: RolloverLayer[];
  grantedUnits: number;
  usedUnits: number;
  carriedOutUnits: number;
  dirty: boolean;
}

const KIND_ALLOWANCE = 0;
const KIND_TIER = 1;
/** Doubles per counter in `hot`: two ways of (period, granted, used, carried out). */
const HOT_STRIDE = 8;
const WAY_STRIDE = 4;
/** Doubles per way in `cold`: own units, period start, period end. */
const COLD_STRIDE = 3;
/** Period indexes must fit the overflow map's number key: |index| < 2^21 (days: 5 700 years). */
const PERIOD_LIMIT = 1 << 21;

/**
 * Counters in memory: a RatingState rating reads and applyRating writes; see the module comment
 * for the layout. Load stored counters, rate a batch, then `takeDirty` for the ones to persist.
 */
export class AllowanceLedger implements WritableRatingState {
  /** Counter id → two ways of [periodIndex (NaN when empty), granted, used, carried out]. */
  private hot = new Float64Array(64 * HOT_STRIDE);
  /** Counter id × 2 + way → [own units, period start, period end]. */
  private cold = new Float64Array(64 * 2 * COLD_STRIDE);
  /** Counter id × 2 + way → rolled-over layers (undefined: none). */
  private layers: Array<RolloverLayer[] | undefined> = [];
  /** Counter id × 2 + way → 1 when changed since takeDirty. */
  private dirtyWay = new Uint8Array(64 * 2);
  private readonly dirtyList: number[] = [];
  private counters = 0;
  private readonly kindOf: number[] = [];
  private readonly ownerOfCounter: string[] = [];
  /** Allowance code, or the tier key. */
  private readonly codeOf: string[] = [];
  private readonly unitOf: Array<PlanAllowance['unit']> = [];
  /** `a\0owner\0code` or `t\0key` → counter id. */
  private readonly idOf = new Map<string, number>();
  /** (counter id, period) → cell, for periods older than the two in `hot`. */
  private readonly overflow = new Map<number, Cell>();
  private readonly dirtyOverflow = new Set<Cell>();
  /** Slot table: plan.slotBase + counter index → counter id. */
  private slots = new Int32Array(256);
  private slotCount = 0;
  private readonly bases = new Map<RatingPlan, number>();
  /** Where prefetch writes what it read. */
  private readonly prefetched = new Float64Array(1);

  /** Loads stored counters (before rating a batch). */
  load(allowances: readonly AllowanceCounterRecord[], tiers: readonly TierCounterRecord[] = []): void {
    for (const record of allowances) {
      const id = this.counterId(KIND_ALLOWANCE, record.ownerId, record.allowanceCode, record.unit);
      this.place(id, {
        periodIndex: record.periodIndex,
        periodStartMs: record.periodStartMs,
        periodEndMs: record.periodEndMs,
        ownUnits: record.ownUnits,
        rolledOverIn: record.rolledOverIn.map((layer) => ({ ...layer })),
        grantedUnits: record.grantedUnits,
        usedUnits: record.usedUnits,
        carriedOutUnits: record.carriedOutUnits,
        dirty: false,
      });
    }
    for (const record of tiers) {
      const id = this.counterId(KIND_TIER, record.ownerId, record.key, 'unit');
      this.place(id, tierCell(record.periodIndex, record.units, false));
    }
  }

  // ----------------------------------------------------------------------------------------------
  // RatingState

  /**
   * Reads the counter's block without using it (see RatingState.prefetch): a plan not bound here
   * yet is left alone, since binding is the slow path that allowanceLeft takes anyway.
   */
  prefetch(plan: RatingPlan, counterIndex: number): void {
    if (plan.ledger !== this) return;
    const id = this.slots[plan.slotBase + counterIndex] as number;
    // Stored so that the optimiser cannot drop the read as unused.
    this.prefetched[0] = this.hot[id * HOT_STRIDE] as number;
  }

  allowanceLeft(plan: RatingPlan, allowance: PlanAllowance, periodIndex: number): number {
    const id = this.idAt(plan, allowance.priority);
    const hot = this.hot;
    const at = id * HOT_STRIDE;
    if (hot[at] === periodIndex)
      return (hot[at + 1] as number) - (hot[at + 2] as number) - (hot[at + 3] as number);
    if (hot[at + WAY_STRIDE] === periodIndex)
      return (hot[at + 5] as number) - (hot[at + 6] as number) - (hot[at + 7] as number);
    return this.leftSlow(plan, allowance, id, periodIndex);
  }

  tierPriorUnits(plan: RatingPlan, counter: TierCounterRef, periodIndex: number): number {
    const id = this.idAt(plan, counter.counterIndex);
    const hot = this.hot;
    const at = id * HOT_STRIDE;
    if (hot[at] === periodIndex) return hot[at + 2] as number;
    if (hot[at + WAY_STRIDE] === periodIndex) return hot[at + 6] as number;
    return this.overflow.get(overflowKey(id, periodIndex))?.usedUnits ?? 0;
  }

  addAllowanceUsage(plan: RatingPlan, allowance: PlanAllowance, periodIndex: number, units: number): number {
    const id = this.idAt(plan, allowance.priority);
    let way = this.wayOf(id, periodIndex);
    if (way < 0) {
      const cell = this.overflow.get(overflowKey(id, periodIndex));
      if (cell !== undefined) return this.addToCell(cell, units);
      this.open(plan, allowance, id, periodIndex);
      way = this.wayOf(id, periodIndex);
      if (way < 0) return this.addToCell(this.overflow.get(overflowKey(id, periodIndex)) as Cell, units);
    }
    return this.addToWay(id, way, units);
  }

  addTierUnits(plan: RatingPlan, counter: TierCounterRef, periodIndex: number, units: number): void {
    const id = this.idAt(plan, counter.counterIndex);
    this.addTier(id, periodIndex, units, true);
  }

  // ----------------------------------------------------------------------------------------------
  // By counter identity (re-rating, tests, persistence)

  /** Gives back (or takes again, sign −1) units by counter identity: for re-rating stored charges. */
  adjustAllowance(ownerId: string, allowanceCode: string, periodIndex: number, units: number): number {
    const id = this.idOf.get(allowanceKey(ownerId, allowanceCode));
    if (id === undefined) return 0;
    const way = this.wayOf(id, periodIndex);
    if (way >= 0) return this.addToWay(id, way, units);
    const cell = this.overflow.get(overflowKey(id, periodIndex));
    return cell === undefined ? 0 : this.addToCell(cell, units);
  }

  adjustTier(key: string, periodIndex: number, units: number): void {
    const id = this.idOf.get(`t\u0000${key}`);
    if (id === undefined) return;
    this.addTier(id, periodIndex, units, false);
  }

  /** The counter of an allowance in a period, when open. */
  allowanceCounter(
    ownerId: string,
    allowanceCode: string,
    periodIndex: number,
  ): AllowanceCounterRecord | undefined {
    const id = this.idOf.get(allowanceKey(ownerId, allowanceCode));
    if (id === undefined) return undefined;
    const cell = this.cellOf(id, periodIndex);
    return cell === undefined ? undefined : this.allowanceRecord(id, cell);
  }

  tierCounter(key: string, periodIndex: number): TierCounterRecord | undefined {
    const id = this.idOf.get(`t\u0000${key}`);
    if (id === undefined) return undefined;
    const cell = this.cellOf(id, periodIndex);
    return cell === undefined ? undefined : this.tierRecord(id, cell);
  }

  /** Every counter changed since the last call, for persistence; clears the dirty marks. */
  takeDirty(): { allowances: AllowanceCounterRecord[]; tiers: TierCounterRecord[] } {
    const allowances: AllowanceCounterRecord[] = [];
    const tiers: TierCounterRecord[] = [];
    const emit = (id: number, cell: Cell): void => {
      if (this.kindOf[id] === KIND_TIER) tiers.push(this.tierRecord(id, cell));
      else allowances.push(this.allowanceRecord(id, cell));
    };
    for (const handle of this.dirtyList) {
      if (this.dirtyWay[handle] !== 1) continue;
      this.dirtyWay[handle] = 0;
      emit(handle >> 1, this.wayCell(handle >> 1, handle & 1));
    }
    this.dirtyList.length = 0;
    for (const cell of this.dirtyOverflow) {
      if (!cell.dirty) continue;
      cell.dirty = false;
      emit(this.overflowOwner.get(cell) as number, cell);
    }
    this.dirtyOverflow.clear();
    const byKey = (
      a: { ownerId: string; periodIndex: number },
      b: { ownerId: string; periodIndex: number },
    ): number => (a.ownerId < b.ownerId ? -1 : a.ownerId > b.ownerId ? 1 : a.periodIndex - b.periodIndex);
    return { allowances: allowances.sort(byKey), tiers: tiers.sort(byKey) };
  }

  // ----------------------------------------------------------------------------------------------
  // Binding and ids

  /** The counter id of counter `index` of the plan's template, binding the plan first if needed. */
  private idAt(plan: RatingPlan, index: number): number {
    if (plan.ledger !== this) this.bind(plan);
    return this.slots[plan.slotBase + index] as number;
  }

  /** Gives the plan's counters ids (finding the ones already known) and points the plan here. */
  private bind(plan: RatingPlan): void {
    let base = this.bases.get(plan);
    if (base === undefined) {
      const template = plan.template;
      base = this.slotCount;
      const needed = base + template.counterCount;
      if (needed > this.slots.length) {
        const slots = new Int32Array(Math.max(needed, this.slots.length * 2));
        slots.set(this.slots);
        this.slots = slots;
      }
      for (const allowance of template.allowances) {
        this.slots[base + allowance.priority] = this.counterId(
          KIND_ALLOWANCE,
          ownerOf(plan, allowance),
          allowance.code,
          allowance.unit,
        );
      }
      for (const tier of template.tiers) {
        this.slots[base + tier.counterIndex] = this.counterId(
          KIND_TIER,
          plan.subscriptionId,
          tierKeyOf(plan, tier),
          'unit',
        );
      }
      this.slotCount = needed;
      this.bases.set(plan, base);
    }
    plan.ledger = this;
    plan.slotBase = base;
  }

  private counterId(kind: number, ownerId: string, code: string, unit: PlanAllowance['unit']): number {
    const key = kind === KIND_TIER ? `t\u0000${code}` : allowanceKey(ownerId, code);
    let id = this.idOf.get(key);
    if (id !== undefined) return id;
    id = this.counters++;
    if (id * HOT_STRIDE >= this.hot.length) this.grow();
    const hot = this.hot;
    hot[id * HOT_STRIDE] = Number.NaN;
    hot[id * HOT_STRIDE + WAY_STRIDE] = Number.NaN;
    this.kindOf.push(kind);
    this.ownerOfCounter.push(ownerId);
    this.codeOf.push(code);
    this.unitOf.push(unit);
    this.idOf.set(key, id);
    return id;
  }

  private grow(): void {
    const capacity = (this.hot.length / HOT_STRIDE) * 2;
    const hot = new Float64Array(capacity * HOT_STRIDE);
    hot.set(this.hot);
    this.hot = hot;
    const cold = new Float64Array(capacity * 2 * COLD_STRIDE);
    cold.set(this.cold);
    this.cold = cold;
    const dirty = new Uint8Array(capacity * 2);
    dirty.set(this.dirtyWay);
    this.dirtyWay = dirty;
  }

  // ----------------------------------------------------------------------------------------------
  // Cells

  /** The way (0 or 1) holding period `periodIndex` of counter `id`, or -1. */
  private wayOf(id: number, periodIndex: number): number {
    const at = id * HOT_STRIDE;
    if (this.hot[at] === periodIndex) return 0;
    if (this.hot[at + WAY_STRIDE] === periodIndex) return 1;
    return -1;
  }

  /** A copy of a way as a cell (slow paths only). */
  private wayCell(id: number, way: number): Cell {
    const at = id * HOT_STRIDE + way * WAY_STRIDE;
    const handle = id * 2 + way;
    const cold = handle * COLD_STRIDE;
    const hot = this.hot;
    return {
      periodIndex: hot[at] as number,
      grantedUnits: hot[at + 1] as number,
      usedUnits: hot[at + 2] as number,
      carriedOutUnits: hot[at + 3] as number,
      ownUnits: this.cold[cold] as number,
      periodStartMs: this.cold[cold + 1] as number,
      periodEndMs: this.cold[cold + 2] as number,
      rolledOverIn: this.layers[handle] ?? [],
      dirty: this.dirtyWay[handle] === 1,
    };
  }

  /** Counter `id`'s cell of a period, wherever it is (a copy for a way): slow paths only. */
  private cellOf(id: number, periodIndex: number): Cell | undefined {
    const way = this.wayOf(id, periodIndex);
    if (way >= 0) return this.wayCell(id, way);
    return this.overflow.get(overflowKey(id, periodIndex));
  }

  private readonly overflowOwner = new WeakMap<Cell, number>();

  /**
   * Stores a new cell of counter `id`: in a free way, or in place of the older way when the new
   * period is more recent (that way moves to the overflow map), else in the overflow map.
   */
  private place(id: number, cell: Cell): void {
    const period = cell.periodIndex;
    if (!Number.isSafeInteger(period) || period <= -PERIOD_LIMIT || period >= PERIOD_LIMIT)
      throw new RangeError(`period index ${period} is out of range`);
    const hot = this.hot;
    const at = id * HOT_STRIDE;
    const p0 = hot[at] as number;
    const p1 = hot[at + WAY_STRIDE] as number;
    let way: number;
    if (Number.isNaN(p0)) way = 0;
    else if (Number.isNaN(p1)) way = 1;
    else {
      way = p0 < p1 ? 0 : 1;
      if (period < (way === 0 ? p0 : p1)) {
        this.putOverflow(id, cell);
        return;
      }
      this.putOverflow(id, this.wayCell(id, way));
    }
    const w = at + way * WAY_STRIDE;
    hot[w] = period;
    hot[w + 1] = cell.grantedUnits;
    hot[w + 2] = cell.usedUnits;
    hot[w + 3] = cell.carriedOutUnits;
    const handle = id * 2 + way;
    const cold = handle * COLD_STRIDE;
    this.cold[cold] = cell.ownUnits;
    this.cold[cold + 1] = cell.periodStartMs;
    this.cold[cold + 2] = cell.periodEndMs;
    this.layers[handle] = cell.rolledOverIn.length === 0 ? undefined : cell.rolledOverIn;
    this.dirtyWay[handle] = 0;
    if (cell.dirty) this.markWay(handle);
  }

  private putOverflow(id: number, cell: Cell): void {
    this.overflow.set(overflowKey(id, cell.periodIndex), cell);
    this.overflowOwner.set(cell, id);
    if (cell.dirty) this.dirtyOverflow.add(cell);
  }

  private markWay(handle: number): void {
    if (this.dirtyWay[handle] === 0) {
      this.dirtyWay[handle] = 1;
      this.dirtyList.push(handle);
    }
  }

  private markCell(cell: Cell): void {
    cell.dirty = true;
    this.dirtyOverflow.add(cell);
  }

  /** Adds units to a way, clamped to [0, granted − carried out]; returns what was added. */
  private addToWay(id: number, way: number, units: number): number {
    const hot = this.hot;
    const at = id * HOT_STRIDE + way * WAY_STRIDE;
    const used = hot[at + 2] as number;
    // Never below zero, never above granted (carried-out units count as gone).
    const room = (hot[at + 1] as number) - (hot[at + 3] as number) - used;
    const applied = units > room ? room : units < -used ? -used : units;
    if (applied !== 0) {
      hot[at + 2] = used + applied;
      this.markWay(id * 2 + way);
    }
    return applied;
  }

  private addToCell(cell: Cell, units: number): number {
    const room = cell.grantedUnits - cell.carriedOutUnits - cell.usedUnits;
    const applied = units > room ? room : units < -cell.usedUnits ? -cell.usedUnits : units;
    if (applied !== 0) {
      cell.usedUnits += applied;
      this.markCell(cell);
    }
    return applied;
  }

  /** Adds to a tier counter (never below 0); `create` opens the period when it is not there. */
  private addTier(id: number, periodIndex: number, units: number, create: boolean): void {
    const way = this.wayOf(id, periodIndex);
    if (way >= 0) {
      const at = id * HOT_STRIDE + way * WAY_STRIDE + 2;
      const next = (this.hot[at] as number) + units;
      this.hot[at] = next < 0 ? 0 : next;
      this.markWay(id * 2 + way);
      return;
    }
    const cell = this.overflow.get(overflowKey(id, periodIndex));
    if (cell !== undefined) {
      const next = cell.usedUnits + units;
      cell.usedUnits = next < 0 ? 0 : next;
      this.markCell(cell);
      return;
    }
    if (!create) return;
    this.place(id, tierCell(periodIndex, units < 0 ? 0 : units, true));
  }

  private allowanceRecord(id: number, cell: Cell): AllowanceCounterRecord {
    return {
      ownerId: this.ownerOfCounter[id] as string,
      allowanceCode: this.codeOf[id] as string,
      unit: this.unitOf[id] as PlanAllowance['unit'],
      periodIndex: cell.periodIndex,
      periodStartMs: cell.periodStartMs,
      periodEndMs: cell.periodEndMs,
      ownUnits: cell.ownUnits,
      rolledOverIn: cell.rolledOverIn.map((layer) => ({ ...layer })),
      grantedUnits: cell.grantedUnits,
      usedUnits: cell.usedUnits,
      carriedOutUnits: cell.carriedOutUnits,
    };
  }

  private tierRecord(id: number, cell: Cell): TierCounterRecord {
    return {
      key: this.codeOf[id] as string,
      ownerId: this.ownerOfCounter[id] as string,
      periodIndex: cell.periodIndex,
      units: cell.usedUnits,
    };
  }

  // ----------------------------------------------------------------------------------------------
  // Opening periods and rollover (slow path)

  /** Units left in a period that is not in a way: an older cell, or what an unopened period would have. */
  private leftSlow(plan: RatingPlan, allowance: PlanAllowance, id: number, periodIndex: number): number {
    const stored = this.overflow.get(overflowKey(id, periodIndex));
    if (stored !== undefined) return stored.grantedUnits - stored.usedUnits - stored.carriedOutUnits;
    // Not open yet: what it would be granted, without opening it (reads change nothing).
    let granted = allowance.quantity;
    for (const layer of this.incomingLayers(plan, allowance, id, periodIndex, false)) granted += layer.units;
    return granted;
  }

  /** Opens period `periodIndex` of an allowance: own grant plus what rolls over from the period before. */
  private open(plan: RatingPlan, allowance: PlanAllowance, id: number, periodIndex: number): void {
    const layers = this.incomingLayers(plan, allowance, id, periodIndex, true);
    let granted = allowance.quantity;
    for (const layer of layers) granted += layer.units;
    this.place(id, {
      periodIndex,
      periodStartMs: allowance.calendar.startOf(periodIndex),
      periodEndMs: allowance.calendar.endOf(periodIndex),
      ownUnits: allowance.quantity,
      rolledOverIn: layers,
      grantedUnits: granted,
      usedUnits: 0,
      carriedOutUnits: 0,
      dirty: true,
    });
  }

  /**
   * The layers rolling into `periodIndex` from the period before. With `commit`, missing earlier
   * periods are opened (nothing used) and the predecessor's carried-out units are recorded;
   * without, nothing changes and the same layers are computed.
   */
  private incomingLayers(
    plan: RatingPlan,
    allowance: PlanAllowance,
    id: number,
    periodIndex: number,
    commit: boolean,
  ): RolloverLayer[] {
    const rollover = allowance.rollover;
    if (rollover === undefined) return [];
    // Units of period q can be used up to q + maxPeriods, so nothing older than
    // periodIndex − maxPeriods matters; and nothing before the allowance started exists.
    const fromMs = plan.sourceFromMs[allowance.sourceIndex] as number;
    const firstIndex = Number.isFinite(fromMs) ? allowance.calendar.indexAt(fromMs) : -Infinity;
    return this.incomingLayersBounded(
      allowance,
      id,
      periodIndex,
      commit,
      Math.max(firstIndex, periodIndex - rollover.maxPeriods),
    );
  }

  private incomingLayersBounded(
    allowance: PlanAllowance,
    id: number,
    periodIndex: number,
    commit: boolean,
    floor: number,
  ): RolloverLayer[] {
    const rollover = allowance.rollover as NonNullable<PlanAllowance['rollover']>;
    const previousIndex = periodIndex - 1;
    if (previousIndex < floor) return [];
    const way = this.wayOf(id, previousIndex);
    const stored = way >= 0 ? this.wayCell(id, way) : this.overflow.get(overflowKey(id, previousIndex));
    if (stored !== undefined) {
      const layers = rolloverLayers(stored, periodIndex, rollover);
      if (commit) {
        let carried = 0;
        for (const layer of layers) carried += layer.units;
        if (way >= 0) {
          this.hot[id * HOT_STRIDE + way * WAY_STRIDE + 3] = carried;
          this.markWay(id * 2 + way);
        } else {
          stored.carriedOutUnits = carried;
          this.markCell(stored);
        }
      }
      return layers;
    }
    const earlier = this.incomingLayersBounded(allowance, id, previousIndex, commit, floor);
    let granted = allowance.quantity;
    for (const layer of earlier) granted += layer.units;
    const synthetic: Cell = {
      periodIndex: previousIndex,
      periodStartMs: allowance.calendar.startOf(previousIndex),
      periodEndMs: allowance.calendar.startOf(periodIndex),
      ownUnits: allowance.quantity,
      rolledOverIn: earlier,
      grantedUnits: granted,
      usedUnits: 0,
      carriedOutUnits: 0,
      dirty: false,
    };
    const layers = rolloverLayers(synthetic, periodIndex, rollover);
    if (commit) {
      let carried = 0;
      for (const layer of layers) carried += layer.units;
      synthetic.carriedOutUnits = carried;
      synthetic.dirty = true;
      this.place(id, synthetic);
    }
    return layers;
  }
}

function tierCell(periodIndex: number, units: number, dirty: boolean): Cell {
  return {
    periodIndex,
    periodStartMs: 0,
    periodEndMs: 0,
    ownUnits: 0,
    rolledOverIn: [],
    grantedUnits: 0,
    usedUnits: units,
    carriedOutUnits: 0,
    dirty,
  };
}

function allowanceKey(ownerId: string, code: string): string {
  return `a\u0000${ownerId}\u0000${code}`;
}

/** (counter id, period index) as one number: id × 2^22 + period + 2^21 (see PERIOD_LIMIT). */
function overflowKey(id: number, periodIndex: number): number {
  return id * (PERIOD_LIMIT * 2) + periodIndex + PERIOD_LIMIT;
}
