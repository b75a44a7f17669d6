/**
 * Charging one usage event against a compiled tariff: a voice call, a data session, an SMS, MMS or
 * content purchase. Pure functions of (compiled tariff, usage): the same input always gives the
 * same charge, and nothing is read from a clock or stored.
 *
 * Arithmetic. Seconds are safe integers (JavaScript numbers never beyond 2^53, checked on input);
 * amounts are bigint pico-units (10^-12 of the major unit, the kernel's RATED_SCALE). The one
 * rounding in voice charging is
 *
 *     usagePico = unitPricePico × chargedSec / unitSeconds, rounded half-up (half away from zero)
 *                 to a whole pico-unit, by the kernel's divideRounded.
 *
 * Example: 0.07 EUR per 60 s with 1/1 increments, 61 s: 70 000 000 000 × 61 / 60 =
 * 71 166 666 666.67 → 71 166 666 667 pico = 0.071166666667 EUR. When the division is exact (it
 * always is for 60/60 increments on a per-minute price) no rounding happens at all. So that a
 * call costs one bigint multiplication and at most one addition, compile.ts splits the quotient
 * into a whole part and a remainder part and rounds the remainder part ahead of time, with
 * divideRounded, for every possible remainder (CompiledVoice.reducedPricePico explains why the
 * result is the same number); the tests check it against divideRounded on random prices. Rounding
 * to the currency's minor unit is not done here: a charge is a rated amount, booked later through
 * RatedAmount.roundToMoney with the mode the contract names.
 *
 * Data and events multiply whole units by unit prices and never round.
 */
import { formatDecimal, parseDecimal, divideRounded } from '../../kernel/decimal.js';
import { fail, isTollgateError } from '../../kernel/errors.js';
import { RATED_SCALE } from '../../kernel/money.js';
import {
  MAX_INSTANT_MS,
  MIN_INSTANT_MS,
  MINUTES_PER_DAY,
  MS_PER_DAY,
  MS_PER_MINUTE,
  MS_PER_SECOND,
} from './calendar.js';
import type { CompiledBands, CompiledPricing, CompiledTariff, CompiledVoice } from './compile.js';
import { TariffErrors } from './errors.js';
import { longestPrefix, type PrefixMatch } from './prefix-trie.js';

// ---------------------------------------------------------------------------------------------
// Voice
// ---------------------------------------------------------------------------------------------

export interface CallUsage {
  /** Normalised E.164 digits of the called number, 1 to 15, no '+' (see prefix-trie.ts). */
  readonly calledNumber: string;
  /** When the call was answered: milliseconds since the Unix epoch, UTC. */
  readonly startMs: number;
  /** Answered duration in whole seconds (a non-negative safe integer). 0 is an unanswered call. */
  readonly durationSec: number;
  /** One of the tariff's currencies; the tariff's first currency when absent. */
  readonly currency?: string;
  /** The visited network's MCC-MNC when the caller is roaming; absent at home. */
  readonly visitedMccMnc?: string;
}

export interface ChargeOptions {
  /** Add `trace`, the calculation written out line by line (costs microseconds per call). */
  readonly trace?: boolean;
}

/** The charged seconds of a call that fall in one band, and what they cost. */
export interface BandPart {
  readonly band: string;
  readonly seconds: number;
  readonly amountPico: bigint;
}

export interface CallCharge {
  /** The destination zone of the called number. */
  readonly zone: string;
  /** The prefix that matched (the longest one). */
  readonly matchedPrefix: string;
  /** The roaming zone the call was priced in, when `visitedMccMnc` was given; else undefined. */
  readonly roamingZone: string | undefined;
  readonly currency: string;
  /** The band in effect when the call started. */
  readonly band: string;
  /** Charged seconds and usage amount per band, in call order; empty for an unanswered call. */
  readonly parts: readonly BandPart[];
  readonly durationSec: number;
  /** durationSec after the increments (first, then whole next increments). */
  readonly chargedSec: number;
  readonly connectFeePico: bigint;
  /** The sum of the parts' amounts. */
  readonly usagePico: bigint;
  /** Which limit replaced connectFee + usage, if any. */
  readonly limit: 'minimum' | 'maximum' | undefined;
  /** The charge: connectFee + usage, then raised to the minimum or cut to the maximum. */
  readonly amountPico: bigint;
  /** The calculation line by line, when ChargeOptions.trace was set. */
  readonly trace: readonly string[] | undefined;
}

const NO_PARTS: readonly BandPart[] = Object.freeze([]);
/** Reused by chargeCall for the prefix lookup, so the lookup allocates nothing. */
const scratch: PrefixMatch = { zone: -1, length: 0 };

/**
 * Charges one voice call.
 *
 * 1. Route: longest-prefix match of `calledNumber` gives the destination zone. When roaming
 *    (`visitedMccMnc`), the visited network's roaming zone gives the rate instead; the destination
 *    zone is still reported.
 * 2. Increments, applied once to the whole call: an answered call is charged at least firstSec,
 *    and the rest in whole nextSec blocks, rounded up. 60/60: 61 s → 60 + 60 = 120 s. 30/6:
 *    31 s → 30 + 6 = 36 s, 5 s → 30 s. 1/1: 61 s → 61 s. 0 s (unanswered) → 0 s.
 * 3. Bands. bandCrossing 'start': all charged seconds at the price of the band in effect at the
 *    start. 'split': each real second of the call (second i runs from start + i s) is in the band
 *    in effect at its beginning; the seconds the increments added (chargedSec - durationSec) are
 *    added to the last band the call was in. So the split only moves seconds between bands and
 *    never changes chargedSec.
 * 4. Amount per band part. Parts are priced so they add up exactly to the rounded total: with
 *    N_k = Σ_{j ≤ k} price_j × seconds_j, part k is round(N_k / unitSeconds) − round(N_{k−1} /
 *    unitSeconds), rounding half-up. The total is round(N_last / unitSeconds): one rounding per
 *    call, whatever the number of bands.
 * 5. connectFee is added; then minimumCharge raises and maximumCharge caps the sum (both include
 *    the connect fee). An unanswered call (0 s) is free: no connect fee, no minimum.
 *
 * Throws tariff.invalid_usage (bad number, duration, instant or currency), tariff.no_route (no
 * prefix matches) or tariff.no_rate (no voice rates, no rate for the zone, unknown visited network).
 */
export function chargeCall(tariff: CompiledTariff, usage: CallUsage, options?: ChargeOptions): CallCharge {
  const voice = voiceOf(tariff);
  checkCall(usage.calledNumber, usage.durationSec, usage.startMs);
  const match = longestPrefix(voice.trie, usage.calledNumber, scratch);
  return priceRoutedCall(tariff, voice, usage, match.zone, match.length, options);
}

function voiceOf(tariff: CompiledTariff): CompiledVoice {
  const voice = tariff.voice;
  if (voice === undefined) throw fail(TariffErrors.no_rate, `tariff ${tariff.id} has no voice rates`);
  return voice;
}

/** Everything chargeCall does after the prefix lookup; `destination` is -1 when nothing matched. */
function priceRoutedCall(
  tariff: CompiledTariff,
  voice: CompiledVoice,
  usage: CallUsage,
  destination: number,
  matchedLength: number,
  options: ChargeOptions | undefined,
): CallCharge {
  const number = usage.calledNumber;
  const durationSec = usage.durationSec;
  const startMs = usage.startMs;
  const currency = currencyIndex(tariff, usage.currency);
  if (destination < 0) {
    throw fail(TariffErrors.no_route, `no prefix of tariff ${tariff.id} matches ${number}`, {
      field: 'calledNumber',
    });
  }
  let ratedZone = destination;
  if (usage.visitedMccMnc !== undefined) {
    const roaming = tariff.roamingZoneOf.get(usage.visitedMccMnc);
    if (roaming === undefined) {
      throw fail(
        TariffErrors.no_rate,
        `visited network ${usage.visitedMccMnc} is in no roaming zone of tariff ${tariff.id}`,
        { field: 'visitedMccMnc' },
      );
    }
    ratedZone = roaming;
  }
  const slot = ratedZone * tariff.currencies.length + currency;
  if (voice.hasRate[slot] !== 1) {
    throw fail(
      TariffErrors.no_rate,
      `tariff ${tariff.id} has no ${tariff.currencies[currency]} voice rate for zone ${tariff.zones[ratedZone]}`,
    );
  }

  const chargedSec = chargedSeconds(
    durationSec,
    voice.firstSec[slot] as number,
    voice.nextSec[slot] as number,
  );
  const bands = tariff.bands;
  const startBand = bands.constant ? 0 : bandAt(bands, startMs);
  let parts: readonly BandPart[];
  let usagePico: bigint;
  if (chargedSec === 0) {
    parts = NO_PARTS;
    usagePico = 0n;
  } else if (voice.bandCrossing === 'start' || bands.constant) {
    usagePico = usageAmount(voice, slot, bands.names.length, startBand, chargedSec);
    parts = [{ band: bands.names[startBand] as string, seconds: chargedSec, amountPico: usagePico }];
  } else {
    parts = splitParts(voice, bands, slot, startMs, durationSec, chargedSec);
    usagePico = 0n;
    for (const part of parts) usagePico += part.amountPico;
  }

  const connectFeePico = chargedSec === 0 ? 0n : (voice.connectFeePico[slot] as bigint);
  let amountPico = connectFeePico === 0n ? usagePico : usagePico + connectFeePico;
  let limit: CallCharge['limit'];
  if (chargedSec !== 0) {
    const minimum = voice.minimumPico[slot] as bigint;
    const maximum = voice.maximumPico[slot] as bigint;
    if (minimum >= 0n && amountPico < minimum) {
      amountPico = minimum;
      limit = 'minimum';
    } else if (maximum >= 0n && amountPico > maximum) {
      amountPico = maximum;
      limit = 'maximum';
    }
  }

  const charge: CallCharge = {
    zone: tariff.zones[destination] as string,
    matchedPrefix: number.slice(0, matchedLength),
    roamingZone:
      ratedZone === destination && usage.visitedMccMnc === undefined ? undefined : tariff.zones[ratedZone],
    currency: tariff.currencies[currency] as string,
    band: bands.names[startBand] as string,
    parts,
    durationSec,
    chargedSec,
    connectFeePico,
    usagePico,
    limit,
    amountPico,
    trace: undefined,
  };
  return options?.trace === true ? { ...charge, trace: traceCall(tariff, voice, slot, charge) } : charge;
}

/**
 * Seconds after increments, in safe-integer arithmetic: first + ceil((d − first) / next) × next.
 * The ceiling of a quotient of positive integers is computed exactly as the truncated quotient of
 * (d − first + next − 1) / next: 31 s at 30/6 → 30 + ceil(1 / 6) × 6 = 30 + 6 = 36. It gives the
 * same result as the kernel's roundToIncrements (bigint), which the tests check on random inputs.
 */
export function chargedSeconds(durationSec: number, firstSec: number, nextSec: number): number {
  if (durationSec === 0) return 0;
  if (durationSec <= firstSec) return firstSec;
  const rest = durationSec - firstSec;
  return firstSec + Math.floor((rest + nextSec - 1) / nextSec) * nextSec;
}

/**
 * The band of instant `ms`: convert to local time with the cached offset, then read the holiday
 * bitmap (a holiday's whole local day is in the holiday band) or the week table.
 */
export function bandAt(bands: CompiledBands, ms: number): number {
  if (bands.constant) return 0;
  const local = ms + bands.offsets.offsetMs(ms);
  const day = Math.floor(local / MS_PER_DAY);
  if (bands.holidayBand >= 0) {
    const h = day - bands.holidayFirstDay;
    if (h >= 0 && h < bands.holidayBits.length && bands.holidayBits[h] === 1) return bands.holidayBand;
  }
  const minute = Math.floor((local - day * MS_PER_DAY) / MS_PER_MINUTE);
  // Weekday with Monday = 0: day 0 (1970-01-01) was a Thursday (3). Days before 1970 are negative.
  const weekday = (((day + 3) % 7) + 7) % 7;
  return bands.weekBand[weekday * MINUTES_PER_DAY + minute] as number;
}

/** The band name at an instant, for callers and tests. */
export function bandNameAt(tariff: CompiledTariff, ms: number): string {
  return tariff.bands.names[bandAt(tariff.bands, ms)] as string;
}

/** Bigints of small whole numbers, so the hot path converts seconds without allocating. */
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: 1 << 15 }, (_, i) => BigInt(i));

function big(n: number): bigint {
  return n < SMALL_BIGINTS.length ? (SMALL_BIGINTS[n] as bigint) : BigInt(n);
}

/**
 * price × seconds / unitSeconds in pico-units, rounded half-up: p' × q + round(p' × r / U') with
 * the remainder term from the table compile.ts built with divideRounded (see
 * CompiledVoice.reducedPricePico for why that is the same number).
 */
function usageAmount(
  voice: CompiledVoice,
  slot: number,
  bandCount: number,
  band: number,
  seconds: number,
): bigint {
  const index = slot * bandCount + band;
  const every = voice.exactEverySec[index] as number;
  const remainder = seconds % every;
  const whole = (voice.reducedPricePico[index] as bigint) * big((seconds - remainder) / every);
  if (remainder === 0) return whole;
  const table = voice.remainderPico[index];
  if (table !== undefined) return whole + (table[remainder] as bigint);
  return divideRounded(
    (voice.unitPricePico[index] as bigint) * big(seconds),
    voice.unitSeconds[slot] as bigint,
    'half-up',
  );
}

/**
 * The parts of a call in 'split' mode. Walks the call from its start in pieces that each lie in
 * one band and under one UTC offset: a piece ends at the end of its band's run that local day
 * (runEnd), at the next possible offset change (the end of the UTC hour, or a DST transition
 * inside it), or at the end of the call. Consecutive pieces of the same band are merged.
 */
function splitParts(
  voice: CompiledVoice,
  bands: CompiledBands,
  slot: number,
  startMs: number,
  durationSec: number,
  chargedSec: number,
): BandPart[] {
  const endMs = startMs + durationSec * MS_PER_SECOND;
  const bandOrder: number[] = [];
  const seconds: number[] = [];
  let t = startMs;
  let countedSec = 0;
  while (t < endMs) {
    const offset = bands.offsets.offsetMs(t);
    const local = t + offset;
    const day = Math.floor(local / MS_PER_DAY);
    let band: number;
    let runEndLocal: number;
    const h = day - bands.holidayFirstDay;
    if (bands.holidayBand >= 0 && h >= 0 && h < bands.holidayBits.length && bands.holidayBits[h] === 1) {
      band = bands.holidayBand;
      runEndLocal = (day + 1) * MS_PER_DAY;
    } else {
      const minute = Math.floor((local - day * MS_PER_DAY) / MS_PER_MINUTE);
      const index = ((((day + 3) % 7) + 7) % 7) * MINUTES_PER_DAY + minute;
      band = bands.weekBand[index] as number;
      runEndLocal = day * MS_PER_DAY + (bands.runEnd[index] as number) * MS_PER_MINUTE;
    }
    const pieceEnd = Math.min(t + (runEndLocal - local), bands.offsets.nextCheckMs(t), endMs);
    // Second i of the call starts at startMs + 1000·i; the seconds starting before pieceEnd are
    // ceil((pieceEnd − startMs) / 1000), so each second is counted once, in the piece it starts in.
    const upTo = Math.ceil((pieceEnd - startMs) / MS_PER_SECOND);
    const pieceSec = upTo - countedSec;
    countedSec = upTo;
    if (pieceSec > 0) {
      const last = bandOrder.length - 1;
      if (last >= 0 && bandOrder[last] === band) seconds[last] = (seconds[last] as number) + pieceSec;
      else {
        bandOrder.push(band);
        seconds.push(pieceSec);
      }
    }
    t = pieceEnd;
  }
  // The increments' extra seconds go to the band the call ended in.
  const lastIndex = seconds.length - 1;
  seconds[lastIndex] = (seconds[lastIndex] as number) + (chargedSec - durationSec);

  const bandCount = bands.names.length;
  const unitSeconds = voice.unitSeconds[slot] as bigint;
  const parts: BandPart[] = [];
  let cumulative = 0n;
  let roundedSoFar = 0n;
  for (let k = 0; k < bandOrder.length; k++) {
    const band = bandOrder[k] as number;
    cumulative += (voice.unitPricePico[slot * bandCount + band] as bigint) * BigInt(seconds[k] as number);
    const rounded = divideRounded(cumulative, unitSeconds, 'half-up');
    parts.push({
      band: bands.names[band] as string,
      seconds: seconds[k] as number,
      amountPico: rounded - roundedSoFar,
    });
    roundedSoFar = rounded;
  }
  return parts;
}

function checkCall(number: string, durationSec: number, startMs: number): void {
  const n = typeof number === 'string' ? number.length : 0;
  let digits = n > 0 && n <= 15;
  for (let i = 0; digits && i < n; i++) digits = (number.charCodeAt(i) - 48) >>> 0 <= 9;
  if (!digits) {
    throw fail(
      TariffErrors.invalid_usage,
      `calledNumber ${JSON.stringify(number)} is not 1 to 15 E.164 digits (no "+", no access code)`,
      { field: 'calledNumber' },
    );
  }
  if (!Number.isSafeInteger(durationSec) || durationSec < 0) {
    throw fail(
      TariffErrors.invalid_usage,
      `durationSec must be a whole number of seconds ≥ 0, got ${durationSec}`,
      {
        field: 'durationSec',
      },
    );
  }
  if (!Number.isSafeInteger(startMs) || startMs < MIN_INSTANT_MS || startMs > MAX_INSTANT_MS) {
    throw fail(
      TariffErrors.invalid_usage,
      `startMs must be an instant between 1900 and 2199, got ${startMs}`,
      {
        field: 'startMs',
      },
    );
  }
  // The call's end must be an instant too: 2199 is the last year, and durations stay safe integers.
  if (startMs + durationSec * MS_PER_SECOND > MAX_INSTANT_MS) {
    throw fail(TariffErrors.invalid_usage, `the call ends after 2199 (durationSec ${durationSec})`, {
      field: 'durationSec',
    });
  }
}

function currencyIndex(tariff: CompiledTariff, currency: string | undefined): number {
  if (currency === undefined) return 0;
  const index = tariff.currencies.indexOf(currency);
  if (index < 0) {
    throw fail(
      TariffErrors.invalid_usage,
      `tariff ${tariff.id} does not price in ${String(currency)}; it prices in ${tariff.currencies.join(', ')}`,
      { field: 'currency' },
    );
  }
  return index;
}

function traceCall(tariff: CompiledTariff, voice: CompiledVoice, slot: number, charge: CallCharge): string[] {
  const c = charge.currency;
  const lines = [`matched prefix ${charge.matchedPrefix}: destination zone ${charge.zone}`];
  if (charge.roamingZone !== undefined) lines.push(`roaming: priced in roaming zone ${charge.roamingZone}`);
  const first = voice.firstSec[slot] as number;
  const next = voice.nextSec[slot] as number;
  lines.push(
    `duration ${charge.durationSec} s at increments ${first}/${next}: charged ${charge.chargedSec} s`,
  );
  const unitSeconds = voice.unitSeconds[slot] as bigint;
  const bandCount = tariff.bands.names.length;
  for (const part of charge.parts) {
    const band = tariff.bands.names.indexOf(part.band);
    const price = voice.unitPricePico[slot * bandCount + band] as bigint;
    lines.push(
      `band ${part.band}: ${part.seconds} s × ${amount(price)} ${c} per ${unitSeconds} s = ${amount(part.amountPico)} ${c}` +
        ' (half-up to 12 decimals)',
    );
  }
  if (charge.connectFeePico !== 0n) lines.push(`connect fee ${amount(charge.connectFeePico)} ${c}`);
  if (charge.limit === 'minimum')
    lines.push(`raised to the minimum charge ${amount(charge.amountPico)} ${c}`);
  if (charge.limit === 'maximum') lines.push(`cut to the maximum charge ${amount(charge.amountPico)} ${c}`);
  lines.push(`total ${amount(charge.amountPico)} ${c}`);
  return lines;
}

/** Pico-units as decimal text without trailing zeros: 71166666667n → "0.071166666667", 10^11 → "0.1". */
function amount(pico: bigint): string {
  return formatDecimal(pico, RATED_SCALE).replace(/\.?0+$/, '');
}

// ---------------------------------------------------------------------------------------------
// Tiers (data and events)
// ---------------------------------------------------------------------------------------------

/** Units charged at one tier's price. */
export interface TierPart {
  /** Tier index in the pricing (0 for a flat price). */
  readonly tier: number;
  readonly units: bigint;
  readonly unitPricePico: bigint;
  readonly amountPico: bigint;
  /**
   * Volume pricing only: true for the part that re-prices the units counted before this charge,
   * because the period total moved into another tier (units = the prior units, unitPricePico =
   * new price − old price, often negative).
   */
  readonly reprice?: true;
}

/**
 * The price of `units` more units when `prior` units were already counted in the period.
 *
 * - flat: units × price.
 * - graduated: each of the units priced in the tier its position prior+1 ... prior+units falls in:
 *   tier k covers (upTo_{k−1}, upTo_k], so the units in it are
 *   max(0, min(upTo_k, prior + units) − max(upTo_{k−1}, prior)).
 * - volume: the whole period is priced at the tier its total reaches, V(x) = x × price(tier of x),
 *   and this charge is V(prior + units) − V(prior), so the charges of a period always add up to
 *   the volume price of its total. Crossing into a cheaper tier re-prices the earlier units and can
 *   make the charge negative: tiers up to 100 at 0.10 then 0.05, prior 100 (V = 10.00), 1 more
 *   unit: V(101) = 5.05, charge 5.05 − 10.00 = −4.95.
 */
export function priceUnits(
  pricing: CompiledPricing,
  units: bigint,
  prior: bigint,
): { amountPico: bigint; parts: TierPart[] } {
  const { upTo, unitPricePico } = pricing;
  if (pricing.mode === 'flat') {
    const price = unitPricePico[0] as bigint;
    return {
      amountPico: units * price,
      parts: [{ tier: 0, units, unitPricePico: price, amountPico: units * price }],
    };
  }
  if (pricing.mode === 'graduated') {
    const parts: TierPart[] = [];
    let amountPico = 0n;
    const end = prior + units;
    let low = 0n;
    for (let k = 0; k < upTo.length; k++) {
      const limit = upTo[k] as bigint;
      const high = limit < 0n || end < limit ? end : limit;
      const from = prior > low ? prior : low;
      if (high > from) {
        const price = unitPricePico[k] as bigint;
        const inTier = high - from;
        parts.push({ tier: k, units: inTier, unitPricePico: price, amountPico: inTier * price });
        amountPico += inTier * price;
      }
      if (limit < 0n || limit >= end) break;
      low = limit;
    }
    return { amountPico, parts };
  }
  const before = tierOf(upTo, prior);
  const after = tierOf(upTo, prior + units);
  const newPrice = unitPricePico[after] as bigint;
  const parts: TierPart[] = [{ tier: after, units, unitPricePico: newPrice, amountPico: units * newPrice }];
  let amountPico = units * newPrice;
  if (before !== after && prior > 0n) {
    const delta = newPrice - (unitPricePico[before] as bigint);
    parts.push({ tier: after, units: prior, unitPricePico: delta, amountPico: prior * delta, reprice: true });
    amountPico += prior * delta;
  }
  return { amountPico, parts };
}

/** The tier a count falls in: the first whose inclusive upTo is ≥ count (0 is in the first tier). */
function tierOf(upTo: readonly bigint[], count: bigint): number {
  for (let k = 0; k < upTo.length; k++) {
    const limit = upTo[k] as bigint;
    if (limit < 0n || count <= limit) return k;
  }
  return upTo.length - 1;
}

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

export interface DataUsage {
  /** Bytes of the session (up and down), a non-negative bigint. */
  readonly bytes: bigint;
  readonly currency?: string;
  /** The visited network's MCC-MNC when roaming; absent at home. */
  readonly visitedMccMnc?: string;
  /** Blocks already charged in the period, for tiers (0n when absent). */
  readonly priorBlocks?: bigint;
}

export interface DataCharge {
  readonly currency: string;
  readonly roamingZone: string | undefined;
  readonly bytes: bigint;
  readonly blockBytes: bigint;
  /** bytes rounded up to whole blocks: ceil(bytes / blockBytes). */
  readonly blocks: bigint;
  /** blocks × blockBytes. */
  readonly chargedBytes: bigint;
  readonly parts: readonly TierPart[];
  readonly amountPico: bigint;
}

/**
 * Charges a data session: blocks = ceil(bytes / blockBytes) (kernel divideRounded, mode 'up'),
 * then the blocks are priced by the rate's pricing (units = blocks). 1001 bytes in 1000-byte
 * blocks are 2 blocks; 0 bytes are 0 blocks and cost nothing.
 */
export function chargeData(tariff: CompiledTariff, usage: DataUsage): DataCharge {
  if (typeof usage.bytes !== 'bigint' || usage.bytes < 0n) {
    throw fail(TariffErrors.invalid_usage, `bytes must be a bigint ≥ 0n, got ${String(usage.bytes)}`, {
      field: 'bytes',
    });
  }
  const prior = nonNegative(usage.priorBlocks, 'priorBlocks');
  const currency = currencyIndex(tariff, usage.currency);
  const zone = roamingZone(tariff, usage.visitedMccMnc);
  const rate = tariff.data.get(`${zone}:${currency}`);
  if (rate === undefined) {
    throw fail(
      TariffErrors.no_rate,
      `tariff ${tariff.id} has no ${tariff.currencies[currency]} data rate ${whereZone(tariff, zone)}`,
    );
  }
  const blocks = divideRounded(usage.bytes, rate.blockBytes, 'up');
  const { amountPico, parts } = priceUnits(rate.pricing, blocks, prior);
  return {
    currency: rate.currency,
    roamingZone: zone < 0 ? undefined : tariff.zones[zone],
    bytes: usage.bytes,
    blockBytes: rate.blockBytes,
    blocks,
    chargedBytes: blocks * rate.blockBytes,
    parts,
    amountPico,
  };
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export interface EventUsage {
  /** 'sms', 'mms', 'content', ... as in the tariff's event prices. */
  readonly eventType: string;
  /** How many events (1n when absent). */
  readonly count?: bigint;
  /** The currency to charge in; for an event with its own price, that price's currency by default. */
  readonly currency?: string;
  readonly visitedMccMnc?: string;
  /** Events already charged in the period, for tiers (0n when absent). */
  readonly priorCount?: bigint;
  /** The event's own price per event, for event types priced in the event (content purchases). */
  readonly price?: { readonly amount: string; readonly currency: string };
}

export interface EventCharge {
  readonly eventType: string;
  readonly currency: string;
  readonly roamingZone: string | undefined;
  readonly count: bigint;
  readonly pricedInEvent: boolean;
  readonly parts: readonly TierPart[];
  readonly amountPico: bigint;
}

/**
 * Charges events: count × the tariff's price (flat or tiered, units = events), or, for event
 * types priced in the event, count × the event's own price (decimal text of at most 12 decimals,
 * in a currency the tariff prices in).
 */
export function chargeEvent(tariff: CompiledTariff, usage: EventUsage): EventCharge {
  const count = usage.count === undefined ? 1n : nonNegative(usage.count, 'count');
  const prior = nonNegative(usage.priorCount, 'priorCount');
  const currency = currencyIndex(tariff, usage.currency ?? usage.price?.currency);
  const zone = roamingZone(tariff, usage.visitedMccMnc);
  const price = tariff.events.get(`${usage.eventType}\u0000${zone}:${currency}`);
  const currencyCode = tariff.currencies[currency] as string;
  if (price === undefined) {
    throw fail(
      TariffErrors.no_rate,
      `tariff ${tariff.id} has no ${currencyCode} price for event ${JSON.stringify(usage.eventType)} ${whereZone(tariff, zone)}`,
      { field: 'eventType' },
    );
  }
  const base = {
    eventType: price.eventType,
    currency: currencyCode,
    roamingZone: zone < 0 ? undefined : tariff.zones[zone],
    count,
  };
  if (price.pricing !== undefined) {
    const { amountPico, parts } = priceUnits(price.pricing, count, prior);
    return { ...base, pricedInEvent: false, parts, amountPico };
  }
  const own = usage.price;
  if (own === undefined) {
    throw fail(
      TariffErrors.invalid_usage,
      `event ${usage.eventType} is priced in the event, but it carries no price`,
      {
        field: 'price',
      },
    );
  }
  if (own.currency !== currencyCode) {
    throw fail(
      TariffErrors.invalid_usage,
      `the event's price is in ${String(own.currency)} but it is charged in ${currencyCode}; convert it first`,
      { field: 'price/currency' },
    );
  }
  let unitPricePico: bigint;
  try {
    unitPricePico = parseDecimal(own.amount, RATED_SCALE, { field: 'price/amount' });
  } catch (error) {
    if (!isTollgateError(error)) throw error;
    throw fail(TariffErrors.invalid_usage, error.message, { field: 'price/amount', cause: error });
  }
  if (unitPricePico < 0n) {
    throw fail(TariffErrors.invalid_usage, `the event's price ${own.amount} is negative`, {
      field: 'price/amount',
    });
  }
  const amountPico = count * unitPricePico;
  return {
    ...base,
    pricedInEvent: true,
    parts: [{ tier: 0, units: count, unitPricePico, amountPico }],
    amountPico,
  };
}

function nonNegative(value: bigint | undefined, field: string): bigint {
  if (value === undefined) return 0n;
  if (typeof value !== 'bigint' || value < 0n) {
    throw fail(TariffErrors.invalid_usage, `${field} must be a bigint ≥ 0n, got ${String(value)}`, { field });
  }
  return value;
}

function roamingZone(tariff: CompiledTariff, mccMnc: string | undefined): number {
  if (mccMnc === undefined) return -1;
  const zone = tariff.roamingZoneOf.get(mccMnc);
  if (zone === undefined) {
    throw fail(
      TariffErrors.no_rate,
      `visited network ${mccMnc} is in no roaming zone of tariff ${tariff.id}`,
      {
        field: 'visitedMccMnc',
      },
    );
  }
  return zone;
}

function whereZone(tariff: CompiledTariff, zone: number): string {
  return zone < 0 ? 'at home' : `in roaming zone ${tariff.zones[zone]}`;
}
