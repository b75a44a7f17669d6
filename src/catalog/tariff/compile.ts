/**
 * Compiling a tariff definition into the in-memory form the rating engine charges against.
 *
 * Everything that can be worked out once is worked out here, so charging a call does no parsing,
 * no string keys and no time zone database calls in the common case:
 *
 * - money text becomes bigint pico-units (RATED_SCALE = 12 decimals) once;
 * - zones, currencies and bands become small integer indexes, and voice rates live in flat arrays
 *   indexed by slot = zoneIndex × currencyCount + currencyIndex (and slot × bandCount + band for
 *   per-band prices);
 * - the voice prefix table becomes a typed-array trie (prefix-trie.ts);
 * - the bands become a table of the band of every minute of the week, in local time, plus a
 *   per-hour cache of the zone's UTC offsets (calendar.ts) and the holidays as a bitmap of local
 *   day numbers.
 *
 * compileTariff validates first and compiles nothing when any problem is found: it throws one
 * `tariff.invalid_tariff` error listing every problem with its JSON pointer. There is no partial
 * result, so a bad definition can never be half applied.
 */
import { divideRounded, parseDecimal } from '../../kernel/decimal.js';
import { fail } from '../../kernel/errors.js';
import { RATED_SCALE } from '../../kernel/money.js';
import {
  MINUTES_PER_DAY,
  MINUTES_PER_WEEK,
  OffsetCache,
  parseClock,
  parseLocalDate,
  windowRanges,
} from './calendar.js';
import { TariffErrors } from './errors.js';
import {
  STANDARD_BAND,
  WEEKDAYS,
  type Pricing,
  type TariffDefinition,
  type Weekday,
  type ZoneRate,
} from './model.js';
import { buildPrefixTrie, type PrefixTrie } from './prefix-trie.js';
import { validateTariff } from './validate.js';

/** The largest U' (see CompiledVoice.reducedPricePico) with a precomputed remainder table. */
const MAX_REMAINDER_TABLE = 3600n;

/**
 * Hours in CompiledBands.bandByHour: 16 384, about 22 months of distinct hours, 128 kB. A power of
 * two, so the slot is a mask of the hour number.
 */
export const BAND_CACHE_HOURS = 1 << 14;
/** No hour: the key of an empty bandByHour slot (hours of 1900-2199 are far from -2^31). */
const NO_HOUR = -0x80000000;

/** 2^53 − 1: every whole number up to it, and no further, is exact in a JavaScript number. */
const MAX_SAFE_PICO = BigInt(Number.MAX_SAFE_INTEGER);

/** Which band each instant is in: see `bandAt` in charge.ts for how it is read. */
export interface CompiledBands {
  /** Band names by index; index 0 is the default band. */
  readonly names: readonly string[];
  /** True when there is one band and no holiday, so no instant needs converting to local time. */
  readonly constant: boolean;
  readonly offsets: OffsetCache;
  /** Band index of each minute of the week, Monday 00:00 = 0, in local time. Length 10080. */
  readonly weekBand: Uint8Array;
  /**
   * For each minute of the week, the minute of the same day (1 to 1440) at which its band's run
   * ends: the next minute with another band, or midnight. Split charging jumps run to run.
   */
  readonly runEnd: Uint16Array;
  /**
   * A cache of the band of whole UTC hours, filled by bandAt (charge.ts) as it meets them: hour h
   * lives in slot s = h mod BAND_CACHE_HOURS as the pair [2s] = h, [2s + 1] = its band, or -1 when
   * the band may change within the hour. Like the offset cache, it changes no result, only how
   * fast it is found.
   */
  readonly bandByHour: Int32Array;
  /** Band index of holidays, -1 without a holiday band. */
  readonly holidayBand: number;
  /** holidayBits[day - holidayFirstDay] is 1 when local day number `day` is a holiday. */
  readonly holidayFirstDay: number;
  readonly holidayBits: Uint8Array;
}

/** Voice rates in flat arrays; see the module comment for the slot numbering. */
export interface CompiledVoice {
  readonly prefixTableId: string;
  readonly trie: PrefixTrie;
  readonly bandCrossing: 'start' | 'split';
  /** By slot: 1 when the zone has a rate in the currency. */
  readonly hasRate: Uint8Array;
  readonly firstSec: Int32Array;
  readonly nextSec: Int32Array;
  readonly unitSeconds: readonly bigint[];
  readonly connectFeePico: readonly bigint[];
  /** By slot: -1n when the rate has no minimum (maximum); charges are never negative, so -1n is free. */
  readonly minimumPico: readonly bigint[];
  readonly maximumPico: readonly bigint[];
  /** By slot × bandCount + band: the unit price in effect in that band. */
  readonly unitPricePico: readonly bigint[];
  /**
   * The price reduced by g = gcd(unitPricePico, unitSeconds), so that the usage amount needs one
   * multiplication and at most one addition. With U' = unitSeconds / g, p' = unitPricePico / g
   * and seconds = q × U' + r (0 ≤ r < U'):
   *
   *     price × seconds / unitSeconds = p' × seconds / U' = p' × q + p' × r / U'
   *
   * p' × q is a whole number, and rounding half-up is unchanged by adding a whole number to a
   * non-negative value (the fraction stays the same), so the rounded amount is
   * p' × q + round(p' × r / U'). The second term depends only on r, so it is computed once here,
   * with the kernel's divideRounded, for every r below U' (`remainderPico`). Example: 0.07 per
   * 60 s is p = 70 000 000 000, g = 20, U' = 3, p' = 3 500 000 000; 61 s = 20 × 3 + 1, so the
   * amount is 3 500 000 000 × 20 + round(3 500 000 000 / 3) = 70 000 000 000 + 1 166 666 667
   * = 71 166 666 667, the same as round(70 000 000 000 × 61 / 60).
   */
  readonly reducedPricePico: readonly bigint[];
  /** U' per slot × band (always ≥ 1). */
  readonly exactEverySec: Int32Array;
  /**
   * round(p' × r / U') for r = 0 … U' − 1 per slot × band, or undefined when U' is above 3600
   * (a price per more than an hour with an awkward amount), where charging calls divideRounded.
   */
  readonly remainderPico: ReadonlyArray<readonly bigint[] | undefined>;
  /** The same prices as safe-integer numbers, for charging without bigint (see VoiceNumbers). */
  readonly numbers: VoiceNumbers;
}

/**
 * Number copies of the voice price tables, with the bounds below which charging in JavaScript
 * numbers gives exactly the bigint result.
 *
 * Why. A bigint multiplication allocates and costs about as much as the whole rest of a call's
 * charge, yet almost every amount is far below 2^53 − 1 pico-units (9 007.199254740991 major
 * units). A number holds every whole number up to 2^53 − 1 exactly, and +, −, × of whole numbers
 * are exact as long as the true result stays within that range. So charging works in numbers
 * when every intermediate provably stays below 2^53 − 1, and in bigint otherwise (chargeCallInto
 * in charge.ts); the two give the same amounts, which the tests check on random tariffs.
 *
 * The bound for 'start' pricing. The amount is p' × q + R[r] (+ connect fee), with p', q, R[r]
 * as in CompiledVoice.reducedPricePico. Every term is non-negative, so when
 *
 *     q ≤ maxWholeUnits = floor((2^53 − 1 − max R − connectFee) / p')
 *
 * then p' × q ≤ 2^53 − 1 − max R − connectFee and every partial sum is at most 2^53 − 1: exact.
 * Example: 0.07 per 60 s has p' = 3 500 000 000, max R = round(3 500 000 000 × 2 / 3) =
 * 2 333 333 333; with no fee, q ≤ (9 007 199 254 740 991 − 2 333 333 333) / 3 500 000 000
 * = 2 573 484.83…, so calls up to 2 573 484 × 3 s + 2 s (about 89 days) are charged in numbers.
 *
 * 'split' pricing checks its running sums as it goes instead (charge.ts), since the parts'
 * seconds are only known per call.
 */
export interface VoiceNumbers {
  /**
   * One record of SLOT_FIELDS numbers per slot (slot × SLOT_FIELDS + field). Records rather than
   * one array per field, because a call reads most fields of one slot: in one array they are
   * one or two cache lines and one base pointer, where ten arrays were ten of each.
   */
  readonly bySlot: Float64Array;
  /** One record of PRICE_FIELDS numbers per slot × bandCount + band, the same way. */
  readonly byPrice: Float64Array;
  /** Every remainder table (remainderPico) as numbers, one after another; see PRICE_REMAINDER_START. */
  readonly remainderPico: Float64Array;
}

/** 1 when the zone has a rate in the currency (CompiledVoice.hasRate), else 0. */
export const SLOT_HAS_RATE = 0;
export const SLOT_FIRST_SEC = 1;
export const SLOT_NEXT_SEC = 2;
/** unitSeconds (validation keeps it a safe integer). */
export const SLOT_UNIT_SECONDS = 3;
/** connectFeePico, or -1 when it is not a safe integer. */
export const SLOT_CONNECT_FEE_PICO = 4;
/**
 * minimumPico, -1 for no minimum. When the minimum is not a safe integer, SLOT_LIMITS_SAFE is 0:
 * every answered call would cost at least that much, beyond 2^53 − 1.
 */
export const SLOT_MINIMUM_PICO = 5;
/**
 * maximumPico, -1 for no maximum. A maximum above 2^53 − 1 is also -1 here: an amount computed
 * in numbers is at most 2^53 − 1, so it can never reach that maximum.
 */
export const SLOT_MAXIMUM_PICO = 6;
/** 1 when the connect fee and the minimum are safe integers, so numbers may be used at all. */
export const SLOT_LIMITS_SAFE = 7;
export const SLOT_FIELDS = 8;

/** U' (exactEverySec). */
export const PRICE_EVERY_SEC = 0;
/**
 * The largest whole-part multiplier q charged in numbers, or -1 where the price is always
 * charged in bigint: p', R or the connect fee is not a safe integer, the minimum is not, or U' is
 * above 3600 and has no remainder table.
 */
export const PRICE_MAX_WHOLE_UNITS = 1;
/** p' (reducedPricePico) where PRICE_MAX_WHOLE_UNITS ≥ 0, else 0. */
export const PRICE_REDUCED_PICO = 2;
/** Where R[0] of this price's remainder table is in VoiceNumbers.remainderPico (R[r] at start + r). */
export const PRICE_REMAINDER_START = 3;
/** unitPricePico, or -1 when it is not a safe integer ('split' pricing multiplies it out). */
export const PRICE_UNIT_PICO = 4;
export const PRICE_FIELDS = 5;

/** Tiered or flat unit prices; a flat price is one open-ended tier. */
export interface CompiledPricing {
  readonly mode: Pricing['mode'];
  /** Inclusive upper limits; the last tier's is -1n (open-ended). */
  readonly upTo: readonly bigint[];
  readonly unitPricePico: readonly bigint[];
}

export interface CompiledDataRate {
  readonly currency: string;
  /** Roaming zone index, -1 for the home network. */
  readonly zone: number;
  readonly blockBytes: bigint;
  readonly pricing: CompiledPricing;
}

export interface CompiledEventPrice {
  readonly eventType: string;
  readonly currency: string;
  readonly zone: number;
  /** undefined when the event carries its own price. */
  readonly pricing: CompiledPricing | undefined;
}

export interface CompiledTariff {
  readonly id: string;
  readonly name: string;
  readonly timeZone: string;
  /** Currencies by index; index 0 is the default. */
  readonly currencies: readonly string[];
  /** Zone ids by index. */
  readonly zones: readonly string[];
  readonly bands: CompiledBands;
  readonly voice: CompiledVoice | undefined;
  /** MCC-MNC → roaming zone index. */
  readonly roamingZoneOf: ReadonlyMap<string, number>;
  /** Key `${zone}:${currencyIndex}`, zone -1 for home. */
  readonly data: ReadonlyMap<string, CompiledDataRate>;
  /** Key `${eventType}\u0000${zone}:${currencyIndex}`. */
  readonly events: ReadonlyMap<string, CompiledEventPrice>;
}

/**
 * Validates and compiles a definition. Throws `tariff.invalid_tariff` with every problem (as
 * `errors: [{ field: JSON pointer, message }]`) and compiles nothing when the definition has any.
 */
export function compileTariff(definition: TariffDefinition): CompiledTariff {
  const problems = validateTariff(definition);
  if (problems.length > 0) {
    const first = problems[0] as { path: string; message: string };
    throw fail(
      TariffErrors.invalid_tariff,
      `tariff ${JSON.stringify(String((definition as { id?: unknown } | null)?.id ?? ''))} has ` +
        `${problems.length} problem${problems.length === 1 ? '' : 's'}, first at ${first.path || '/'}: ${first.message}`,
      { errors: problems.map((p) => ({ field: p.path, message: p.message })) },
    );
  }
  const currencies = [...definition.currencies];
  const zones = definition.zones.map((z) => z.id);
  const zoneIndex = new Map(zones.map((id, i) => [id, i]));
  const bands = compileBands(definition);
  const bandIndex = new Map(bands.names.map((name, i) => [name, i]));
  const roamingZoneOf = new Map<string, number>();
  for (const network of definition.roaming?.networks ?? []) {
    roamingZoneOf.set(network.mccMnc, zoneIndex.get(network.zone) as number);
  }
  const voice =
    definition.voice === undefined
      ? undefined
      : compileVoice(definition, zoneIndex, currencies, bandIndex, bands.names.length);

  const data = new Map<string, CompiledDataRate>();
  for (const rate of definition.data ?? []) {
    const zone = rate.roamingZone === undefined ? -1 : (zoneIndex.get(rate.roamingZone) as number);
    data.set(`${zone}:${currencies.indexOf(rate.currency)}`, {
      currency: rate.currency,
      zone,
      blockBytes: BigInt(rate.blockBytes),
      pricing: compilePricing(rate.pricing),
    });
  }
  const events = new Map<string, CompiledEventPrice>();
  for (const price of definition.events ?? []) {
    const zone = price.roamingZone === undefined ? -1 : (zoneIndex.get(price.roamingZone) as number);
    events.set(`${price.eventType}\u0000${zone}:${currencies.indexOf(price.currency)}`, {
      eventType: price.eventType,
      currency: price.currency,
      zone,
      pricing: price.pricing === undefined ? undefined : compilePricing(price.pricing),
    });
  }
  return {
    id: definition.id,
    name: definition.name,
    timeZone: definition.timeZone,
    currencies,
    zones,
    bands,
    voice,
    roamingZoneOf,
    data,
    events,
  };
}

function compileVoice(
  definition: TariffDefinition,
  zoneIndex: ReadonlyMap<string, number>,
  currencies: readonly string[],
  bandIndex: ReadonlyMap<string, number>,
  bandCount: number,
): CompiledVoice {
  const voice = definition.voice as NonNullable<TariffDefinition['voice']>;
  const table = definition.prefixTables.find((t) => t.id === voice.prefixTableId);
  if (table === undefined) throw new Error('unreachable: validation checks the prefix table id');
  const entries = table.entries;
  const prefixes = new Array<string>(entries.length);
  const zoneOfEntry = new Int32Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as (typeof entries)[number];
    prefixes[i] = entry.prefix;
    zoneOfEntry[i] = zoneIndex.get(entry.zone) as number;
  }
  const trie = buildPrefixTrie(prefixes, (i) => zoneOfEntry[i] as number);

  const slots = zoneIndex.size * currencies.length;
  const hasRate = new Uint8Array(slots);
  const firstSec = new Int32Array(slots);
  const nextSec = new Int32Array(slots);
  const unitSeconds = new Array<bigint>(slots).fill(1n);
  const connectFeePico = new Array<bigint>(slots).fill(0n);
  const minimumPico = new Array<bigint>(slots).fill(-1n);
  const maximumPico = new Array<bigint>(slots).fill(-1n);
  const unitPricePico = new Array<bigint>(slots * bandCount).fill(0n);
  const reducedPricePico = new Array<bigint>(slots * bandCount).fill(0n);
  const exactEverySec = new Int32Array(slots * bandCount).fill(1);
  const remainderPico = new Array<readonly bigint[] | undefined>(slots * bandCount).fill(undefined);
  // One table per distinct (p', U'): most rates share a few unit lengths and prices.
  const remainderTables = new Map<string, readonly bigint[]>();
  // Where each distinct remainder table starts in the concatenated number table.
  const remainderStarts = new Map<readonly bigint[], number>();
  const remainderNumbers: number[] = [];
  const bySlot = new Float64Array(slots * SLOT_FIELDS);
  const byPrice = new Float64Array(slots * bandCount * PRICE_FIELDS);
  for (let slot = 0; slot < slots; slot++) {
    bySlot[slot * SLOT_FIELDS + SLOT_UNIT_SECONDS] = 1;
    bySlot[slot * SLOT_FIELDS + SLOT_MINIMUM_PICO] = -1;
    bySlot[slot * SLOT_FIELDS + SLOT_MAXIMUM_PICO] = -1;
    for (let band = 0; band < bandCount; band++) {
      const record = (slot * bandCount + band) * PRICE_FIELDS;
      byPrice[record + PRICE_EVERY_SEC] = 1;
      byPrice[record + PRICE_MAX_WHOLE_UNITS] = -1;
      byPrice[record + PRICE_UNIT_PICO] = -1;
    }
  }

  for (const rate of voice.rates) {
    const slot = (zoneIndex.get(rate.zone) as number) * currencies.length + currencies.indexOf(rate.currency);
    hasRate[slot] = 1;
    firstSec[slot] = rate.increments.firstSec;
    nextSec[slot] = rate.increments.nextSec;
    const seconds = BigInt(rate.unitSeconds);
    unitSeconds[slot] = seconds;
    connectFeePico[slot] = pico(rate.connectFee);
    if (rate.minimumCharge !== undefined) minimumPico[slot] = pico(rate.minimumCharge);
    if (rate.maximumCharge !== undefined) maximumPico[slot] = pico(rate.maximumCharge);
    const fee = connectFeePico[slot] as bigint;
    const minimum = minimumPico[slot] as bigint;
    const maximum = maximumPico[slot] as bigint;
    const limitsSafe = fee <= MAX_SAFE_PICO && minimum <= MAX_SAFE_PICO;
    const slotRecord = slot * SLOT_FIELDS;
    bySlot[slotRecord + SLOT_HAS_RATE] = 1;
    bySlot[slotRecord + SLOT_FIRST_SEC] = rate.increments.firstSec;
    bySlot[slotRecord + SLOT_NEXT_SEC] = rate.increments.nextSec;
    bySlot[slotRecord + SLOT_UNIT_SECONDS] = rate.unitSeconds;
    bySlot[slotRecord + SLOT_CONNECT_FEE_PICO] = safeNumber(fee);
    bySlot[slotRecord + SLOT_MINIMUM_PICO] = safeNumber(minimum);
    bySlot[slotRecord + SLOT_MAXIMUM_PICO] = safeNumber(maximum);
    bySlot[slotRecord + SLOT_LIMITS_SAFE] = limitsSafe ? 1 : 0;
    for (let band = 0; band < bandCount; band++) {
      const price = pico(bandPrice(rate, band, bandIndex));
      const g = gcd(price, seconds);
      const index = slot * bandCount + band;
      unitPricePico[index] = price;
      const reduced = price / g;
      const every = seconds / g;
      reducedPricePico[index] = reduced;
      exactEverySec[index] = Number(every);
      if (every <= MAX_REMAINDER_TABLE) {
        const key = `${reduced}/${every}`;
        let table = remainderTables.get(key);
        if (table === undefined) {
          table = Array.from({ length: Number(every) }, (_, r) =>
            divideRounded(reduced * BigInt(r), every, 'half-up'),
          );
          remainderTables.set(key, table);
        }
        remainderPico[index] = table;
      }
      const record = index * PRICE_FIELDS;
      byPrice[record + PRICE_EVERY_SEC] = Number(every);
      byPrice[record + PRICE_UNIT_PICO] = safeNumber(price);
      const remainders = remainderPico[index];
      if (!limitsSafe || remainders === undefined || reduced > MAX_SAFE_PICO) continue;
      // The largest R is the last one: p' × r / U' grows with r. R[r] ≤ p' (it is p' × r / U'
      // rounded, with r < U'), so a safe p' makes the whole table safe.
      const largestRemainder = remainders[remainders.length - 1] as bigint;
      const headroom = MAX_SAFE_PICO - largestRemainder - fee;
      if (headroom < 0n) continue;
      let start = remainderStarts.get(remainders);
      if (start === undefined) {
        start = remainderNumbers.length;
        for (const value of remainders) remainderNumbers.push(Number(value));
        remainderStarts.set(remainders, start);
      }
      byPrice[record + PRICE_MAX_WHOLE_UNITS] =
        reduced === 0n ? Number.MAX_SAFE_INTEGER : Number(headroom / reduced);
      byPrice[record + PRICE_REDUCED_PICO] = Number(reduced);
      byPrice[record + PRICE_REMAINDER_START] = start;
    }
  }
  return {
    prefixTableId: voice.prefixTableId,
    trie,
    bandCrossing: voice.bandCrossing,
    hasRate,
    firstSec,
    nextSec,
    unitSeconds,
    connectFeePico,
    minimumPico,
    maximumPico,
    unitPricePico,
    reducedPricePico,
    exactEverySec,
    remainderPico,
    numbers: { bySlot, byPrice, remainderPico: Float64Array.from(remainderNumbers) },
  };
}

/** The rate's price text in band `band`: its band override, else its base unit price. */
function bandPrice(rate: ZoneRate, band: number, bandIndex: ReadonlyMap<string, number>): string {
  for (const override of rate.bandPrices ?? []) {
    if (bandIndex.get(override.band) === band) return override.unitPrice;
  }
  return rate.unitPrice;
}

/**
 * The band of every minute of the week. The default band fills the table, then each window
 * paints its minutes (validation guarantees windows do not overlap, so the order does not
 * matter). Band indexes follow the definition's order, except that the default band is moved to
 * index 0 so that an all-default table is all zeros.
 */
function compileBands(definition: TariffDefinition): CompiledBands {
  const offsets = new OffsetCache(definition.timeZone);
  const weekBand = new Uint8Array(MINUTES_PER_WEEK);
  const runEnd = new Uint16Array(MINUTES_PER_WEEK);
  const spec = definition.timeBands;
  if (spec === undefined) {
    fillRunEnds(weekBand, runEnd);
    return {
      names: [STANDARD_BAND],
      constant: true,
      offsets,
      weekBand,
      runEnd,
      bandByHour: emptyBandCache(),
      holidayBand: -1,
      holidayFirstDay: 0,
      holidayBits: new Uint8Array(0),
    };
  }
  if (spec.bands.length > 255) throw new RangeError('at most 255 time bands');
  const names = [spec.defaultBand, ...spec.bands.map((b) => b.name).filter((n) => n !== spec.defaultBand)];
  const index = new Map(names.map((name, i) => [name, i]));
  for (const band of spec.bands) {
    const b = index.get(band.name) as number;
    for (const window of band.windows) {
      const days = window.days.map((d: Weekday) => WEEKDAYS.indexOf(d));
      const ranges = windowRanges(
        days,
        parseClock(window.from, false) as number,
        parseClock(window.to, true) as number,
      );
      for (const [start, end] of ranges) weekBand.fill(b, start, end);
    }
  }
  fillRunEnds(weekBand, runEnd);

  const holidayDays = (spec.holidayCalendar?.dates ?? []).map((d) => parseLocalDate(d) as number);
  const holidayBand = spec.holidayBand === undefined ? -1 : (index.get(spec.holidayBand) as number);
  let holidayFirstDay = 0;
  let holidayBits = new Uint8Array(0);
  if (holidayDays.length > 0 && holidayBand >= 0) {
    holidayFirstDay = Math.min(...holidayDays);
    holidayBits = new Uint8Array(Math.max(...holidayDays) - holidayFirstDay + 1);
    for (const day of holidayDays) holidayBits[day - holidayFirstDay] = 1;
  }
  return {
    names,
    constant: names.length === 1 && holidayBits.length === 0,
    offsets,
    weekBand,
    runEnd,
    bandByHour: emptyBandCache(),
    holidayBand,
    holidayFirstDay,
    holidayBits,
  };
}

function emptyBandCache(): Int32Array {
  const cache = new Int32Array(2 * BAND_CACHE_HOURS);
  for (let slot = 0; slot < cache.length; slot += 2) cache[slot] = NO_HOUR;
  return cache;
}

/** runEnd[m] for each day, filled backwards: the run ends where the next minute's band differs. */
function fillRunEnds(weekBand: Uint8Array, runEnd: Uint16Array): void {
  for (let day = 0; day < 7; day++) {
    const base = day * MINUTES_PER_DAY;
    runEnd[base + MINUTES_PER_DAY - 1] = MINUTES_PER_DAY;
    for (let m = MINUTES_PER_DAY - 2; m >= 0; m--) {
      runEnd[base + m] =
        weekBand[base + m] === weekBand[base + m + 1] ? (runEnd[base + m + 1] as number) : m + 1;
    }
  }
}

function compilePricing(pricing: Pricing): CompiledPricing {
  if (pricing.mode === 'flat') {
    return { mode: 'flat', upTo: [-1n], unitPricePico: [pico(pricing.unitPrice)] };
  }
  return {
    mode: pricing.mode,
    upTo: pricing.tiers.map((t) => (t.upTo === undefined ? -1n : BigInt(t.upTo))),
    unitPricePico: pricing.tiers.map((t) => pico(t.unitPrice)),
  };
}

/** Validated money text in pico-units: "0.0125" → 12 500 000 000n. */
function pico(text: string): bigint {
  return parseDecimal(text, RATED_SCALE);
}

/** `value` as a number when it is a safe integer (so exact), else -1 (prices are never negative). */
function safeNumber(value: bigint): number {
  return value >= 0n && value <= MAX_SAFE_PICO ? Number(value) : -1;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}
