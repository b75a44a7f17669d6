/**
 * Number mirrors of a compiled tariff, for rating's fast path.
 *
 * The tariff core (catalog/tariff) keeps tier prices as bigint pico-units. A bigint multiplication
 * allocates, which is most of the cost of rating an event. Almost every real amount is far below
 * 2^53 pico-units (9 007 major units), so rating computes in numbers and falls back to the tariff
 * core's bigint functions only when a result could leave the safe-integer range.
 *
 * Every number here is derived from the compiled tariff, once per (tariff, currency), and
 * remembered in a WeakMap: nothing of the tariff's rules is decided here, only represented.
 *
 * Voice is not mirrored here: the tariff core's chargeCallInto already charges calls in exact
 * safe-integer numbers without allocating. For tiers, `maxUnits[k]` = floor((2^53 − 1) / |price_k|)
 * bounds each product, and rating checks the sum before each addition.
 */
import type {
  CompiledDataRate,
  CompiledEventPrice,
  CompiledPricing,
  CompiledTariff,
} from '../catalog/index.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export const PRICING_FLAT = 0;
export const PRICING_GRADUATED = 1;
export const PRICING_VOLUME = 2;

export interface FastPricing {
  readonly compiled: CompiledPricing;
  readonly mode: number;
  /** Inclusive upper limits, -1 for the open last tier. */
  readonly upTo: Float64Array;
  readonly price: Float64Array;
  /** floor(MAX_SAFE / price), Infinity for a zero price. */
  readonly maxUnits: Float64Array;
  /** False when a price or a limit is not a safe integer: always the bigint path. */
  readonly safe: boolean;
}

export interface FastDataRate {
  readonly rate: CompiledDataRate;
  readonly zone: number;
  readonly blockBytes: number;
  readonly pricing: FastPricing;
}

export interface FastEventPrice {
  readonly price: CompiledEventPrice;
  readonly zone: number;
  /** undefined when the event carries its own price. */
  readonly pricing: FastPricing | undefined;
}

/** A compiled tariff seen in one currency. */
export interface FastTariffView {
  readonly compiled: CompiledTariff;
  readonly currencyIndex: number;
  readonly currency: string;
  /** By roaming zone + 1 (index 0 = home). */
  readonly dataByZone: ReadonlyArray<FastDataRate | undefined>;
  /** By event type, then roaming zone + 1. */
  readonly eventsByType: ReadonlyMap<string, ReadonlyArray<FastEventPrice | undefined>>;
}

const views = new WeakMap<CompiledTariff, Map<number, FastTariffView>>();

/** The number mirror of `tariff` in currency index `currencyIndex` (remembered per tariff). */
export function fastTariffView(tariff: CompiledTariff, currencyIndex: number): FastTariffView {
  let byCurrency = views.get(tariff);
  if (byCurrency === undefined) {
    byCurrency = new Map();
    views.set(tariff, byCurrency);
  }
  let view = byCurrency.get(currencyIndex);
  if (view === undefined) {
    view = buildView(tariff, currencyIndex);
    byCurrency.set(currencyIndex, view);
  }
  return view;
}

function safeNumber(value: bigint): number {
  return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : Number.NaN;
}

export function fastPricing(compiled: CompiledPricing): FastPricing {
  const n = compiled.unitPricePico.length;
  const upTo = new Float64Array(n);
  const price = new Float64Array(n);
  const maxUnits = new Float64Array(n);
  let safe = true;
  for (let k = 0; k < n; k++) {
    const limit = compiled.upTo[k] as bigint;
    const unitPrice = compiled.unitPricePico[k] as bigint;
    upTo[k] = safeNumber(limit);
    price[k] = safeNumber(unitPrice);
    const magnitude = unitPrice < 0n ? -unitPrice : unitPrice;
    maxUnits[k] = magnitude === 0n ? Number.POSITIVE_INFINITY : Number(MAX_SAFE / magnitude);
    if (Number.isNaN(upTo[k]) || Number.isNaN(price[k])) safe = false;
  }
  const mode =
    compiled.mode === 'flat'
      ? PRICING_FLAT
      : compiled.mode === 'graduated'
        ? PRICING_GRADUATED
        : PRICING_VOLUME;
  return { compiled, mode, upTo, price, maxUnits, safe };
}

function buildView(tariff: CompiledTariff, currencyIndex: number): FastTariffView {
  const zoneCount = tariff.zones.length;
  const dataByZone = new Array<FastDataRate | undefined>(zoneCount + 1).fill(undefined);
  for (const rate of tariff.data.values()) {
    if (rate.currency !== tariff.currencies[currencyIndex]) continue;
    dataByZone[rate.zone + 1] = {
      rate,
      zone: rate.zone,
      blockBytes: Number(rate.blockBytes),
      pricing: fastPricing(rate.pricing),
    };
  }
  const eventsByType = new Map<string, Array<FastEventPrice | undefined>>();
  for (const price of tariff.events.values()) {
    if (price.currency !== tariff.currencies[currencyIndex]) continue;
    let byZone = eventsByType.get(price.eventType);
    if (byZone === undefined) {
      byZone = new Array<FastEventPrice | undefined>(zoneCount + 1).fill(undefined);
      eventsByType.set(price.eventType, byZone);
    }
    byZone[price.zone + 1] = {
      price,
      zone: price.zone,
      pricing: price.pricing === undefined ? undefined : fastPricing(price.pricing),
    };
  }
  return {
    compiled: tariff,
    currencyIndex,
    currency: tariff.currencies[currencyIndex] as string,
    dataByZone,
    eventsByType,
  };
}
