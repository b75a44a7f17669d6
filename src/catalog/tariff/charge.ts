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
 * Voice amounts are computed in JavaScript numbers instead of bigint whenever every intermediate
 * provably stays at or below 2^53 − 1 pico-units (about 9 007 major units), where numbers are
 * exact; otherwise in bigint. The two give the same amounts to the pico-unit (VoiceNumbers in
 * compile.ts has the bounds; the tests compare both paths and divideRounded on random tariffs).
 * chargeCallInto writes a call's charge into a reused CallChargeScratch and allocates nothing;
 * chargeCall is built on it and returns the usual object of strings and bigints.
 *
 * Data and events multiply whole units by unit prices and never round.
 */
import { formatDecimal, parseDecimal, divideRounded } from '../../kernel/decimal.js';
import { fail, isTollgateError } from '../../kernel/errors.js';
import { RATED_SCALE } from '../../kernel/money.js';
import * as calendar from './calendar.js';
import { weekdayOf } from './calendar.js';
import * as layout from './compile.js';
import type { CompiledBands, CompiledPricing, CompiledTariff, CompiledVoice } from './compile.js';
import { TariffErrors } from './errors.js';
import { longestPrefixBatch, matchCalledNumber, type PrefixMatch } from './prefix-trie.js';

/*
 * The numbers the hot path uses, as const enums: TypeScript (tsc and esbuild alike) writes a
 * const enum member into the code as its literal, while V8 (Node 20) does not fold a module-level
 * `const`, imported or not, into optimised code: every use is a load and a check that the binding
 * is initialised, about 1.5 ns each, and chargeCallInto used some twenty of them per call. The
 * values are the calendar's and compile.ts's; the checks after the enums make a mismatch fail at
 * import instead of charging wrongly.
 */
const enum Time {
  MS_PER_SECOND = 1000,
  MS_PER_MINUTE = 60_000,
  MS_PER_HOUR = 3_600_000,
  MS_PER_DAY = 86_400_000,
  MINUTES_PER_DAY = 1440,
  MIN_INSTANT_MS = -2_208_988_800_000,
  MAX_INSTANT_MS = 7_258_118_399_999,
  BAND_CACHE_HOURS = 16_384,
  /** Charged seconds above this (2^52, 142 million years) are priced in bigint; see startInNumbers. */
  MAX_EXACT_SECONDS = 4_503_599_627_370_496,
}

/** Field offsets of VoiceNumbers.bySlot records (compile.ts SLOT_*). */
const enum Slot {
  HAS_RATE = 0,
  FIRST_SEC = 1,
  NEXT_SEC = 2,
  UNIT_SECONDS = 3,
  CONNECT_FEE_PICO = 4,
  MINIMUM_PICO = 5,
  MAXIMUM_PICO = 6,
  LIMITS_SAFE = 7,
  FIELDS = 8,
}

/** Field offsets of VoiceNumbers.byPrice records (compile.ts PRICE_*). */
const enum Price {
  EVERY_SEC = 0,
  MAX_WHOLE_UNITS = 1,
  REDUCED_PICO = 2,
  REMAINDER_START = 3,
  UNIT_PICO = 4,
  FIELDS = 5,
}

const MIRRORED: ReadonlyArray<readonly [number, number, string]> = [
  [Time.MS_PER_SECOND, calendar.MS_PER_SECOND, 'MS_PER_SECOND'],
  [Time.MS_PER_MINUTE, calendar.MS_PER_MINUTE, 'MS_PER_MINUTE'],
  [Time.MS_PER_HOUR, calendar.MS_PER_HOUR, 'MS_PER_HOUR'],
  [Time.MS_PER_DAY, calendar.MS_PER_DAY, 'MS_PER_DAY'],
  [Time.MINUTES_PER_DAY, calendar.MINUTES_PER_DAY, 'MINUTES_PER_DAY'],
  [Time.MIN_INSTANT_MS, calendar.MIN_INSTANT_MS, 'MIN_INSTANT_MS'],
  [Time.MAX_INSTANT_MS, calendar.MAX_INSTANT_MS, 'MAX_INSTANT_MS'],
  [Time.BAND_CACHE_HOURS, layout.BAND_CACHE_HOURS, 'BAND_CACHE_HOURS'],
  [Slot.HAS_RATE, layout.SLOT_HAS_RATE, 'SLOT_HAS_RATE'],
  [Slot.FIRST_SEC, layout.SLOT_FIRST_SEC, 'SLOT_FIRST_SEC'],
  [Slot.NEXT_SEC, layout.SLOT_NEXT_SEC, 'SLOT_NEXT_SEC'],
  [Slot.UNIT_SECONDS, layout.SLOT_UNIT_SECONDS, 'SLOT_UNIT_SECONDS'],
  [Slot.CONNECT_FEE_PICO, layout.SLOT_CONNECT_FEE_PICO, 'SLOT_CONNECT_FEE_PICO'],
  [Slot.MINIMUM_PICO, layout.SLOT_MINIMUM_PICO, 'SLOT_MINIMUM_PICO'],
  [Slot.MAXIMUM_PICO, layout.SLOT_MAXIMUM_PICO, 'SLOT_MAXIMUM_PICO'],
  [Slot.LIMITS_SAFE, layout.SLOT_LIMITS_SAFE, 'SLOT_LIMITS_SAFE'],
  [Slot.FIELDS, layout.SLOT_FIELDS, 'SLOT_FIELDS'],
  [Price.EVERY_SEC, layout.PRICE_EVERY_SEC, 'PRICE_EVERY_SEC'],
  [Price.MAX_WHOLE_UNITS, layout.PRICE_MAX_WHOLE_UNITS, 'PRICE_MAX_WHOLE_UNITS'],
  [Price.REDUCED_PICO, layout.PRICE_REDUCED_PICO, 'PRICE_REDUCED_PICO'],
  [Price.REMAINDER_START, layout.PRICE_REMAINDER_START, 'PRICE_REMAINDER_START'],
  [Price.UNIT_PICO, layout.PRICE_UNIT_PICO, 'PRICE_UNIT_PICO'],
  [Price.FIELDS, layout.PRICE_FIELDS, 'PRICE_FIELDS'],
];
if (Time.MAX_EXACT_SECONDS !== 2 ** 52) throw new Error('MAX_EXACT_SECONDS must be 2^52');
for (const [mine, theirs, name] of MIRRORED) {
  if (mine !== theirs) throw new Error(`charge.ts has ${name} = ${mine}, its source says ${theirs}`);
}

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
/** Reused for the prefix lookup, so the lookup allocates nothing. */
const lookup: PrefixMatch = { zone: -1, length: 0 };

/**
 * A voice call's charge written into a reusable object by chargeCallInto: the same figures as
 * CallCharge, as indexes and numbers instead of strings and bigints, so that charging a call on a
 * hot path allocates nothing. Make one with newCallChargeScratch and pass it to every call; each
 * call overwrites every field (the part arrays up to partCount).
 *
 * Amounts are pico-units (10^-12 of the major unit) in one of two forms, told apart by
 * `amountsAreBig`:
 *
 * - false (nearly every call): connectFeePico, usagePico, amountPico and partAmountPico are
 *   numbers holding the exact amounts, every one a safe integer (≤ 2^53 − 1, about 9 007 major
 *   units); the *Big fields are left as they were and mean nothing.
 * - true: some intermediate could have passed 2^53 − 1 (a huge price, fee or duration), so the
 *   amounts were computed in bigint and are in connectFeePicoBig, usagePicoBig, amountPicoBig and
 *   partAmountPicoBig; the number amounts are NaN, so a careless reader sees NaN, never a wrong figure.
 *
 * callAmountPico(scratch) reads the amount as a bigint in either form. Both forms give exactly
 * the amounts chargeCall gives (the tests check it on random tariffs and calls).
 */
export interface CallChargeScratch {
  /** Zone index (CompiledTariff.zones) of the called number's longest prefix: the destination. */
  destinationZone: number;
  /** Digits of the called number covered by the matching prefix (its length). */
  matchedLength: number;
  /** Zone index the rate came from: the roaming zone when visitedMccMnc was given, else destinationZone. */
  ratedZone: number;
  /** Index of the currency charged in (CompiledTariff.currencies). */
  currencyIndex: number;
  /** Band index (CompiledBands.names) in effect at startMs. */
  band: number;
  durationSec: number;
  /** durationSec after the increments. */
  chargedSec: number;
  /** Which form the amounts are in; see the interface comment. */
  amountsAreBig: boolean;
  connectFeePico: number;
  usagePico: number;
  amountPico: number;
  connectFeePicoBig: bigint;
  usagePicoBig: bigint;
  amountPicoBig: bigint;
  /** Which limit replaced connectFee + usage, if any. */
  limit: 'minimum' | 'maximum' | undefined;
  /**
   * The band parts, in call order: part k is partSeconds[k] charged seconds in band partBand[k]
   * costing partAmountPico[k] (or partAmountPicoBig[k]). 0 parts for an unanswered call, 1 with
   * bandCrossing 'start'. Entries at partCount and beyond are left over from earlier calls.
   */
  partCount: number;
  readonly partBand: number[];
  readonly partSeconds: number[];
  readonly partAmountPico: number[];
  readonly partAmountPicoBig: bigint[];
}

/** A fresh scratch for chargeCallInto; keep one per loop (or per worker) and reuse it. */
export function newCallChargeScratch(): CallChargeScratch {
  return {
    destinationZone: -1,
    matchedLength: 0,
    ratedZone: -1,
    currencyIndex: 0,
    band: 0,
    durationSec: 0,
    chargedSec: 0,
    amountsAreBig: false,
    // 0.5 rather than 0 so that V8 keeps these fields as doubles from the start: amounts pass
    // 2^31 (2 milli-units), and a field that changes representation later costs a deoptimisation.
    connectFeePico: 0.5,
    usagePico: 0.5,
    amountPico: 0.5,
    connectFeePicoBig: 0n,
    usagePicoBig: 0n,
    amountPicoBig: 0n,
    limit: undefined,
    partCount: 0,
    partBand: [],
    partSeconds: [],
    partAmountPico: [0.5],
    partAmountPicoBig: [],
  };
}

/** The charged amount (connect fee, usage and limits) as bigint pico-units, in either form. */
export function callAmountPico(charge: CallChargeScratch): bigint {
  return charge.amountsAreBig ? charge.amountPicoBig : BigInt(charge.amountPico);
}

/**
 * The index of `currency` in the tariff's currencies, for chargeCallInto: the first (0) when
 * undefined. Throws tariff.invalid_usage when the tariff does not price in it. Resolve it once
 * per batch or per subscriber, not per call.
 */
export function tariffCurrencyIndex(tariff: CompiledTariff, currency: string | undefined): number {
  return currencyIndex(tariff, currency);
}

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
 *
 * This is chargeCallInto with a result object of strings and bigints; a hot path should call
 * chargeCallInto with a reused scratch instead, which allocates nothing.
 */
export function chargeCall(tariff: CompiledTariff, usage: CallUsage, options?: ChargeOptions): CallCharge {
  const voice = voiceOf(tariff);
  const number = usage.calledNumber;
  routeCall(voice, number, usage.durationSec, usage.startMs);
  const currency = currencyIndex(tariff, usage.currency);
  const destination = routedZone(tariff, number);
  const out = priceCall(
    tariff,
    voice,
    hourOf(usage.startMs),
    msInHourOf(usage.startMs),
    usage.durationSec,
    currency,
    destination,
    lookup.length,
    ratedZoneOf(tariff, destination, usage.visitedMccMnc),
    callScratch,
    true,
  );
  const names = tariff.bands.names;
  const big = out.amountsAreBig;
  // Each BigInt(number) allocates, so equal amounts share one bigint: with one part its amount is
  // the usage, and without a fee or a limit the amount is the usage too.
  const usagePico = big ? out.usagePicoBig : BigInt(out.usagePico);
  const connectFeePico = big
    ? out.connectFeePicoBig
    : out.connectFeePico === 0
      ? 0n
      : BigInt(out.connectFeePico);
  const amountPico = big
    ? out.amountPicoBig
    : out.amountPico === out.usagePico
      ? usagePico
      : BigInt(out.amountPico);
  let parts: readonly BandPart[] = NO_PARTS;
  if (out.partCount === 1) {
    parts = [
      { band: names[out.partBand[0] as number] as string, seconds: out.chargedSec, amountPico: usagePico },
    ];
  } else if (out.partCount > 1) {
    const list: BandPart[] = [];
    for (let k = 0; k < out.partCount; k++) {
      list.push({
        band: names[out.partBand[k] as number] as string,
        seconds: out.partSeconds[k] as number,
        amountPico: big ? (out.partAmountPicoBig[k] as bigint) : BigInt(out.partAmountPico[k] as number),
      });
    }
    parts = list;
  }
  const charge: CallCharge = {
    zone: tariff.zones[out.destinationZone] as string,
    matchedPrefix: number.slice(0, out.matchedLength),
    roamingZone: usage.visitedMccMnc === undefined ? undefined : tariff.zones[out.ratedZone],
    currency: tariff.currencies[currency] as string,
    band: names[out.band] as string,
    parts,
    durationSec: out.durationSec,
    chargedSec: out.chargedSec,
    connectFeePico,
    usagePico,
    limit: out.limit,
    amountPico,
    trace: undefined,
  };
  if (options?.trace !== true) return charge;
  const slot = out.ratedZone * tariff.currencies.length + currency;
  return { ...charge, trace: traceCall(tariff, voice, slot, charge) };
}

/** chargeCall's own scratch; chargeCall copies everything out of it before returning. */
const callScratch = newCallChargeScratch();

/**
 * Charges one voice call into `out`, allocation-free: the same rules, checks, errors and amounts
 * as chargeCall (see there), with the usage passed as arguments and the result written into a
 * reused CallChargeScratch, which is returned. Amounts are computed in numbers whenever that is
 * provably exact, else in bigint (CallChargeScratch says how to read them).
 *
 * `currencyIndex` is an index into tariff.currencies (tariffCurrencyIndex resolves a code);
 * `visitedMccMnc` is undefined at home.
 *
 * Charging part of a call. A rating engine whose allowance covered the first c seconds of a call
 * charges the rest by passing startMs + c × 1000 and durationSec − c: the band is then the one in
 * effect when the chargeable part starts, and the increments, connect fee and limits apply to the
 * chargeable part as if it were a call of its own. Whether the connect fee should be charged for
 * a call an allowance partly covered is the rating engine's policy, not the tariff's; it can
 * subtract connectFeePico (before the limits, which include it) where its contract says so.
 *
 * Throws what chargeCall throws, and tariff.invalid_usage for a currencyIndex out of range.
 */
export function chargeCallInto(
  tariff: CompiledTariff,
  calledNumber: string,
  startMs: number,
  durationSec: number,
  currencyIndex: number,
  visitedMccMnc: string | undefined,
  out: CallChargeScratch,
): CallChargeScratch {
  const voice = voiceOf(tariff);
  routeCall(voice, calledNumber, durationSec, startMs);
  checkCurrencyIndex(tariff, currencyIndex);
  const destination = routedZone(tariff, calledNumber);
  return priceCall(
    tariff,
    voice,
    hourOf(startMs),
    msInHourOf(startMs),
    durationSec,
    currencyIndex,
    destination,
    lookup.length,
    ratedZoneOf(tariff, destination, visitedMccMnc),
    out,
    true,
  );
}

/**
 * chargeCallInto computing every amount in bigint, never in numbers: the reference the number
 * path is checked against (the tests, and the benchmark before it measures). Slower; not for
 * hot paths. Its results always have amountsAreBig = true.
 */
export function chargeCallIntoBigInt(
  tariff: CompiledTariff,
  calledNumber: string,
  startMs: number,
  durationSec: number,
  currencyIndex: number,
  visitedMccMnc: string | undefined,
  out: CallChargeScratch,
): CallChargeScratch {
  const voice = voiceOf(tariff);
  routeCall(voice, calledNumber, durationSec, startMs);
  checkCurrencyIndex(tariff, currencyIndex);
  const destination = routedZone(tariff, calledNumber);
  return priceCall(
    tariff,
    voice,
    hourOf(startMs),
    msInHourOf(startMs),
    durationSec,
    currencyIndex,
    destination,
    lookup.length,
    ratedZoneOf(tariff, destination, visitedMccMnc),
    out,
    false,
  );
}

/**
 * chargeCallInto for a call the caller has already routed, charging `durationSec` seconds of it
 * from `offsetSec` seconds after `call.startMs` (the chargeable part, after what an allowance
 * covered; see chargeCallInto). `destinationZone` and `matchedLength` must be what the
 * longest-prefix match of `calledNumber` in the tariff's voice trie gives (longestPrefix or
 * matchCalledNumber, with a zone ≥ 0), and `ratedZone` the zone the rate comes from (the roaming
 * zone of the visited network, else destinationZone). The charge is then exactly
 * chargeCallInto(tariff, calledNumber, call.startMs + offsetSec × 1000, durationSec, …)'s, with
 * the same checks and errors for the rest of the call (duration, instant, currency, rate); the
 * number is not read again, it only names the call in error messages.
 *
 * Why. A rating engine matches the number itself first, since the zone picks the allowances that
 * cover the call, and passing the match on saves matching it a second time here. The start comes
 * as the record and a whole number of seconds, not as one instant, because an instant is a
 * double beyond 2^31 ms, and a computed double passed to a function that is not inlined is boxed
 * in a new heap object: one allocation per call for nothing.
 */
export function chargeRoutedCallInto(
  tariff: CompiledTariff,
  calledNumber: string,
  destinationZone: number,
  matchedLength: number,
  ratedZone: number,
  call: { readonly startMs: number },
  offsetSec: number,
  durationSec: number,
  currencyIndex: number,
  out: CallChargeScratch,
): CallChargeScratch {
  const voice = voiceOf(tariff);
  const startMs = call.startMs + offsetSec * Time.MS_PER_SECOND;
  if (!callInRange(durationSec, startMs)) {
    checkCall(calledNumber, durationSec, startMs);
    throw new Error(`unreachable: checkCall accepted a call chargeRoutedCallInto refused (${calledNumber})`);
  }
  checkCurrencyIndex(tariff, currencyIndex);
  if (destinationZone < 0) throw noRoute(tariff, calledNumber);
  return priceCall(
    tariff,
    voice,
    hourOf(startMs),
    msInHourOf(startMs),
    durationSec,
    currencyIndex,
    destinationZone,
    matchedLength,
    ratedZone,
    out,
    true,
  );
}

/**
 * The called numbers of a batch of calls, routed ahead of pricing by routeCallBatch, for
 * chargeBatchedCallInto. Make one with newRoutedCallBatch and reuse it for every batch.
 *
 * Why route a batch first. Matching a number costs one or more reads from the prefix trie's
 * tables, megabytes in size for a large rate deck, so each read is a cache miss. Charged one call
 * at a time, a call's reads wait for the previous call's pricing and nothing overlaps; routed
 * together (prefix-trie.ts longestPrefixBatch), the reads of many numbers are in flight at once.
 * Measured in `npm run bench:tariff` on 200k prefixes: routing 256 calls, then pricing each one,
 * charges 20-30 % more calls per second than chargeCallInto call by call on random numbers, and
 * 40-60 % more on numbers that walk deep into the trie, with the same results.
 */
export interface RoutedCallBatch {
  /** The tariff the batch was routed in; chargeBatchedCallInto refuses another. */
  tariff: CompiledTariff | undefined;
  /** Calls routed by the last routeCallBatch (entries 0 to count − 1 of the arrays). */
  count: number;
  /** The capacity: the most calls one routeCallBatch can route. */
  readonly capacity: number;
  /**
   * Per call: the destination zone of the number's longest prefix, or -1 when none matches (or
   * the number is not a string). The walk stops at the first character that is not a digit, so a
   * number with one may still have a zone here: chargeBatchedCallInto checks the characters the
   * walk did not read.
   */
  readonly zone: Int32Array;
  /** Per call: the digits the matching prefix covers (0 when there is no match). */
  readonly matchedLength: Int32Array;
  /** Per call: the leading characters the walk read, all digits (longestPrefixBatch). */
  readonly read: Int32Array;
  /** Per call: the number routed ('' for one that is not a string). */
  readonly numbers: string[];
  /** Scratch for longestPrefixBatch. */
  readonly entry: Int32Array;
}

/** An empty batch that can route up to `capacity` calls at a time. */
export function newRoutedCallBatch(capacity: number): RoutedCallBatch {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new Error(`a routed call batch needs a capacity of at least 1, not ${capacity}`);
  }
  return {
    tariff: undefined,
    count: 0,
    capacity,
    zone: new Int32Array(capacity),
    matchedLength: new Int32Array(capacity),
    read: new Int32Array(capacity),
    numbers: new Array<string>(capacity).fill(''),
    entry: new Int32Array(capacity),
  };
}

/**
 * Matches the called numbers of `calls[from]` to `calls[from + count − 1]` in the tariff's voice
 * prefixes, into `batch` (entry k for calls[from + k]); then charge each call with
 * chargeBatchedCallInto. Nothing is thrown for a bad or unrouted number here:
 * chargeBatchedCallInto throws for that call what chargeCallInto would. Throws tariff.no_rate
 * when the tariff has no voice rates (as chargeCallInto does for every call).
 */
export function routeCallBatch(
  tariff: CompiledTariff,
  calls: ReadonlyArray<{ readonly calledNumber: string }>,
  from: number,
  count: number,
  batch: RoutedCallBatch,
): RoutedCallBatch {
  const voice = voiceOf(tariff);
  if (!Number.isSafeInteger(count) || count < 0 || count > batch.capacity) {
    throw new Error(`cannot route ${count} calls in a batch of capacity ${batch.capacity}`);
  }
  if (!Number.isSafeInteger(from) || from < 0 || from + count > calls.length) {
    throw new Error(`calls ${from} to ${from + count - 1} are not all among the ${calls.length} given`);
  }
  const numbers = batch.numbers;
  for (let k = 0; k < count; k++) {
    const number = (calls[from + k] as { readonly calledNumber: string }).calledNumber;
    // Not a string: looked up as an empty number (no match); chargeBatchedCallInto then lets
    // chargeCallInto throw for it.
    numbers[k] = typeof number === 'string' ? number : '';
  }
  // The rest of each number's characters (after those the walk read) are checked by
  // chargeBatchedCallInto, not here as matchCalledNumber does: here, the check's branches would
  // wait on the trie's answers and hold back the next numbers' reads.
  longestPrefixBatch(voice.trie, numbers, count, batch.zone, batch.matchedLength, batch.read, batch.entry);
  batch.tariff = tariff;
  batch.count = count;
  return batch;
}

/**
 * Charges call k of a batch routed by routeCallBatch (`call` is the call routed as entry k) into
 * `out`: exactly what chargeCallInto(tariff, call.calledNumber, call.startMs, call.durationSec,
 * currencyIndex, visitedMccMnc, out) gives, with the same checks and errors (the tests compare
 * them on random tariffs and calls), without matching the number again. A call whose number is
 * not the one routed as entry k is charged by chargeCallInto, routed on its own.
 */
export function chargeBatchedCallInto(
  tariff: CompiledTariff,
  batch: RoutedCallBatch,
  k: number,
  call: CallUsage,
  currencyIndex: number,
  visitedMccMnc: string | undefined,
  out: CallChargeScratch,
): CallChargeScratch {
  if (batch.tariff !== tariff || !(k >= 0 && k < batch.count)) {
    throw new Error(`call ${k} is not in the batch routed in tariff ${tariff.id}`);
  }
  const zone = batch.zone[k] as number;
  const startMs = call.startMs;
  const durationSec = call.durationSec;
  const number = call.calledNumber;
  if (
    zone < 0 ||
    number !== batch.numbers[k] ||
    !digitsFrom(number, batch.read[k] as number) ||
    !callInRange(durationSec, startMs)
  ) {
    // The rare call with a problem: chargeCallInto finds and throws it, in its order.
    return chargeCallInto(tariff, number, startMs, durationSec, currencyIndex, visitedMccMnc, out);
  }
  checkCurrencyIndex(tariff, currencyIndex);
  return priceCall(
    tariff,
    voiceOf(tariff),
    hourOf(startMs),
    msInHourOf(startMs),
    durationSec,
    currencyIndex,
    zone,
    batch.matchedLength[k] as number,
    ratedZoneOf(tariff, zone, visitedMccMnc),
    out,
    true,
  );
}

/**
 * Whether `number` has 1 to 15 characters and those from `from` on are ASCII digits. With `from`
 * the characters longestPrefixBatch's walk read (all digits), it says whether the whole number is
 * 1 to 15 digits, as checkCall requires.
 */
function digitsFrom(number: string, from: number): boolean {
  const n = number.length;
  if (n === 0 || n > 15) return false;
  for (let i = from; i < n; i++) if ((number.charCodeAt(i) - 48) >>> 0 > 9) return false;
  return true;
}

// The errors of priceCall, built out of line: their message templates would otherwise make
// priceCall too large for V8 to inline into its callers.

function noRoute(tariff: CompiledTariff, number: string): Error {
  return fail(TariffErrors.no_route, `no prefix of tariff ${tariff.id} matches ${number}`, {
    field: 'calledNumber',
  });
}

function noVoiceRate(tariff: CompiledTariff, currency: number, zone: number): Error {
  return fail(
    TariffErrors.no_rate,
    `tariff ${tariff.id} has no ${tariff.currencies[currency]} voice rate for zone ${tariff.zones[zone]}`,
  );
}

/** The roaming zone of a visited network; throws tariff.no_rate for a network in none. */
function roamingZoneOfCall(tariff: CompiledTariff, visitedMccMnc: string): number {
  const roaming = tariff.roamingZoneOf.get(visitedMccMnc);
  if (roaming === undefined) {
    throw fail(
      TariffErrors.no_rate,
      `visited network ${visitedMccMnc} is in no roaming zone of tariff ${tariff.id}`,
      { field: 'visitedMccMnc' },
    );
  }
  return roaming;
}

/** The destination zone routeCall found (in `lookup`); throws tariff.no_route when none. */
function routedZone(tariff: CompiledTariff, number: string): number {
  const zone = lookup.zone;
  if (zone < 0) throw noRoute(tariff, number);
  return zone;
}

/** The zone the rate comes from: the visited network's roaming zone when roaming, else the destination. */
function ratedZoneOf(tariff: CompiledTariff, destination: number, visitedMccMnc: string | undefined): number {
  return visitedMccMnc === undefined ? destination : roamingZoneOfCall(tariff, visitedMccMnc);
}

function voiceOf(tariff: CompiledTariff): CompiledVoice {
  const voice = tariff.voice;
  if (voice === undefined) throw fail(TariffErrors.no_rate, `tariff ${tariff.id} has no voice rates`);
  return voice;
}

/**
 * Whether a call's duration (whole seconds ≥ 0) and its span from `startMs` are what checkCall
 * accepts: the quick test the entry points make before pricing; checkCall says what is wrong.
 */
function callInRange(durationSec: number, startMs: number): boolean {
  return (
    Number.isSafeInteger(durationSec) &&
    durationSec >= 0 &&
    Number.isSafeInteger(startMs) &&
    startMs >= Time.MIN_INSTANT_MS &&
    startMs + durationSec * Time.MS_PER_SECOND <= Time.MAX_INSTANT_MS
  );
}

/**
 * Checks the call (checkCall's rules) and looks up its called number into `lookup`, reading each
 * character of the number once (matchCalledNumber). When anything is wrong, checkCall runs to
 * throw the first problem in its order, so the errors are the same as checking first.
 */
function routeCall(voice: CompiledVoice, number: string, durationSec: number, startMs: number): void {
  if (
    !callInRange(durationSec, startMs) ||
    typeof number !== 'string' ||
    !matchCalledNumber(voice.trie, number, lookup)
  ) {
    checkCall(number, durationSec, startMs);
    throw new Error(`unreachable: checkCall accepted a call routeCall refused (${number})`);
  }
}

/**
 * Everything after the input checks and the routing (destination ≥ 0 and the rated zone known):
 * rate, increments, band, amounts. `inNumbers` false forces the bigint path
 * (chargeCallIntoBigInt); true tries numbers first.
 */
function priceCall(
  tariff: CompiledTariff,
  voice: CompiledVoice,
  startHour: number,
  startMsInHour: number,
  durationSec: number,
  currency: number,
  destination: number,
  matchedLength: number,
  ratedZone: number,
  out: CallChargeScratch,
  inNumbers: boolean,
): CallChargeScratch {
  const slot = ratedZone * tariff.currencies.length + currency;
  const bySlot = voice.numbers.bySlot;
  const slotRecord = slot * Slot.FIELDS;
  if (bySlot[slotRecord + Slot.HAS_RATE] !== 1) throw noVoiceRate(tariff, currency, ratedZone);

  const chargedSec = chargedSeconds(
    durationSec,
    bySlot[slotRecord + Slot.FIRST_SEC] as number,
    bySlot[slotRecord + Slot.NEXT_SEC] as number,
  );
  const bands = tariff.bands;
  const bandCount = bands.names.length;
  const startBand = bands.constant ? 0 : bandInHour(bands, startHour, startMsInHour);
  out.destinationZone = destination;
  out.matchedLength = matchedLength;
  out.ratedZone = ratedZone;
  out.currencyIndex = currency;
  out.band = startBand;
  out.durationSec = durationSec;
  out.chargedSec = chargedSec;
  out.limit = undefined;
  if (chargedSec === 0) {
    // Unanswered: free, no connect fee and no minimum.
    out.partCount = 0;
    out.amountsAreBig = !inNumbers;
    out.connectFeePico = inNumbers ? 0 : Number.NaN;
    out.usagePico = out.connectFeePico;
    out.amountPico = out.connectFeePico;
    out.connectFeePicoBig = 0n;
    out.usagePicoBig = 0n;
    out.amountPicoBig = 0n;
  } else if (voice.bandCrossing === 'start' || bands.constant) {
    out.partCount = 1;
    out.partBand[0] = startBand;
    out.partSeconds[0] = chargedSec;
    if (!inNumbers || !startInNumbers(voice, slot, slot * bandCount + startBand, chargedSec, out)) {
      const usagePico = usageAmount(voice, slot, bandCount, startBand, chargedSec);
      out.partAmountPicoBig[0] = usagePico;
      finishInBigInt(voice, slot, usagePico, out);
    }
  } else {
    splitSeconds(bands, startHour * Time.MS_PER_HOUR + startMsInHour, durationSec, chargedSec, out);
    if (!inNumbers || !splitInNumbers(voice, slot, bandCount, out))
      splitInBigInt(voice, slot, bandCount, out);
  }
  return out;
}

/**
 * The 'start' amount in numbers, when Price.MAX_WHOLE_UNITS proves it exact (compile.ts):
 * p' × q + R[r], then the connect fee and the limits. Returns false, having written nothing
 * that matters, when the bigint path must run instead.
 */
function startInNumbers(
  voice: CompiledVoice,
  slot: number,
  index: number,
  chargedSec: number,
  out: CallChargeScratch,
): boolean {
  const numbers = voice.numbers;
  const byPrice = numbers.byPrice;
  const record = index * Price.FIELDS;
  const every = byPrice[record + Price.EVERY_SEC] as number;
  // chargedSec = whole × every + remainder. Not `%`: chargedSec is a double (it comes out of
  // Math.floor), and `%` of doubles is a C library call. The floating-point quotient's floor is
  // the true one: it is off by at most half a unit in the last place, (whole + 1) × 2^-53, which
  // is less than the true quotient's distance 1 / every to the next whole number as long as
  // (whole + 1) × every < 2^53. chargedSec ≤ 2^52 keeps it so, since every ≤ 3600 wherever
  // numbers apply; longer charges (142 million years) take the bigint path.
  if (chargedSec > Time.MAX_EXACT_SECONDS) return false;
  const whole = Math.floor(chargedSec / every);
  // Price.MAX_WHOLE_UNITS is -1 where numbers never apply, and whole ≥ 0: one comparison for both.
  if (whole > (byPrice[record + Price.MAX_WHOLE_UNITS] as number)) return false;
  const remainder = chargedSec - whole * every;
  const usagePico =
    (byPrice[record + Price.REDUCED_PICO] as number) * whole +
    (numbers.remainderPico[(byPrice[record + Price.REMAINDER_START] as number) + remainder] as number);
  out.partAmountPico[0] = usagePico;
  finishInNumbers(numbers.bySlot, slot * Slot.FIELDS, usagePico, out);
  return true;
}

/**
 * Connect fee and limits in numbers. The caller has proved usagePico + connect fee ≤ 2^53 − 1, so
 * the sum is exact; minimum and maximum are only compared (Slot.MAXIMUM_PICO says why an unsafe
 * maximum may be read as none).
 */
function finishInNumbers(
  bySlot: Float64Array,
  slotRecord: number,
  usagePico: number,
  out: CallChargeScratch,
): void {
  const connectFeePico = bySlot[slotRecord + Slot.CONNECT_FEE_PICO] as number;
  let amountPico = usagePico + connectFeePico;
  const minimum = bySlot[slotRecord + Slot.MINIMUM_PICO] as number;
  const maximum = bySlot[slotRecord + Slot.MAXIMUM_PICO] as number;
  if (minimum >= 0 && amountPico < minimum) {
    amountPico = minimum;
    out.limit = 'minimum';
  } else if (maximum >= 0 && amountPico > maximum) {
    amountPico = maximum;
    out.limit = 'maximum';
  }
  out.amountsAreBig = false;
  out.connectFeePico = connectFeePico;
  out.usagePico = usagePico;
  out.amountPico = amountPico;
}

/** Connect fee and limits in bigint; the number amounts become NaN (see CallChargeScratch). */
function finishInBigInt(voice: CompiledVoice, slot: number, usagePico: bigint, out: CallChargeScratch): void {
  const connectFeePico = voice.connectFeePico[slot] as bigint;
  let amountPico = connectFeePico === 0n ? usagePico : usagePico + connectFeePico;
  const minimum = voice.minimumPico[slot] as bigint;
  const maximum = voice.maximumPico[slot] as bigint;
  if (minimum >= 0n && amountPico < minimum) {
    amountPico = minimum;
    out.limit = 'minimum';
  } else if (maximum >= 0n && amountPico > maximum) {
    amountPico = maximum;
    out.limit = 'maximum';
  }
  out.amountsAreBig = true;
  out.connectFeePicoBig = connectFeePico;
  out.usagePicoBig = usagePico;
  out.amountPicoBig = amountPico;
  out.connectFeePico = Number.NaN;
  out.usagePico = Number.NaN;
  out.amountPico = Number.NaN;
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
 * The UTC hour of a checked instant (1900-2199, so within ±2^31) as an int32, and the
 * milliseconds into it. priceCall takes the start as these two rather than as one instant: an
 * instant is a double beyond 2^31 ms, and a double passed to a function that is not inlined is
 * boxed in a new heap object, one allocation per call (about 100 MB/s of garbage at 7M calls/s),
 * while int32s are passed as they are.
 */
function hourOf(ms: number): number {
  return Math.floor(ms / Time.MS_PER_HOUR) | 0;
}

function msInHourOf(ms: number): number {
  return (ms - Math.floor(ms / Time.MS_PER_HOUR) * Time.MS_PER_HOUR) | 0;
}

/** bandAt for the instant `msInHour` ms into UTC hour `hour` (bands not constant). */
function bandInHour(bands: CompiledBands, hour: number, msInHour: number): number {
  const slot = (hour & (Time.BAND_CACHE_HOURS - 1)) << 1;
  const cache = bands.bandByHour;
  if (cache[slot] !== hour) {
    cache[slot + 1] = hourBand(bands, hour);
    cache[slot] = hour;
  }
  const band = cache[slot + 1] as number;
  return band >= 0 ? band : bandAtInstant(bands, hour * Time.MS_PER_HOUR + msInHour);
}

/**
 * The band of instant `ms`. Most UTC hours lie wholly in one band (windows usually start and end
 * on the hour, and offsets change only a few times a year), so the band of each such hour is
 * cached (CompiledBands.bandByHour) and a lookup is one division and two reads from one cache
 * line. Hours that are not in one band (a window edge at :30, a DST change or a local midnight
 * inside the hour under a :30 or :45 offset) are cached as -1 and each instant in them is looked
 * up in full by bandAtInstant.
 */
export function bandAt(bands: CompiledBands, ms: number): number {
  if (bands.constant) return 0;
  // Instants are bounded to 1900-2199 (checkCall), so hour numbers fit in 32 bits.
  return bandInHour(bands, hourOf(ms), msInHourOf(ms));
}

/**
 * The band of instant `ms` without the hour cache: convert to local time with the cached offset,
 * then read the holiday bitmap (a holiday's whole local day is in the holiday band) or the week
 * table.
 */
export function bandAtInstant(bands: CompiledBands, ms: number): number {
  if (bands.constant) return 0;
  const local = ms + bands.offsets.offsetMs(ms);
  const day = Math.floor(local / Time.MS_PER_DAY);
  if (bands.holidayBand >= 0) {
    const h = day - bands.holidayFirstDay;
    if (h >= 0 && h < bands.holidayBits.length && bands.holidayBits[h] === 1) return bands.holidayBand;
  }
  const minute = Math.floor((local - day * Time.MS_PER_DAY) / Time.MS_PER_MINUTE);
  return bands.weekBand[weekdayOf(day) * Time.MINUTES_PER_DAY + minute] as number;
}

/**
 * The band every instant of UTC hour `hour` is in, or -1 when the band may change within it. The
 * hour is in one band when (1) the UTC offset does not change inside it, so its instants map to
 * one run of local time, (2) that run lies in one local day, so one holiday flag and one weekday
 * apply, and (3) its last local minute is before the end of the first minute's band run (runEnd:
 * every minute from a minute up to its runEnd is in the same band). Example, Europe/Berlin in
 * winter (UTC+1) with peak from 08:00: 07:00Z is 08:00-08:59 local, all peak; with a window ending
 * at 08:30 instead, runEnd is 08:30 and the hour is -1.
 */
function hourBand(bands: CompiledBands, hour: number): number {
  const startMs = hour * Time.MS_PER_HOUR;
  const lastMs = startMs + Time.MS_PER_HOUR - 1;
  if (bands.offsets.nextCheckMs(startMs) <= lastMs) return -1;
  const offset = bands.offsets.offsetMs(startMs);
  const day = Math.floor((startMs + offset) / Time.MS_PER_DAY);
  if (Math.floor((lastMs + offset) / Time.MS_PER_DAY) !== day) return -1;
  if (bands.holidayBand >= 0) {
    const h = day - bands.holidayFirstDay;
    if (h >= 0 && h < bands.holidayBits.length && bands.holidayBits[h] === 1) return bands.holidayBand;
  }
  const firstMinute = Math.floor((startMs + offset - day * Time.MS_PER_DAY) / Time.MS_PER_MINUTE);
  const lastMinute = Math.floor((lastMs + offset - day * Time.MS_PER_DAY) / Time.MS_PER_MINUTE);
  const index = weekdayOf(day) * Time.MINUTES_PER_DAY + firstMinute;
  return lastMinute < (bands.runEnd[index] as number) ? (bands.weekBand[index] as number) : -1;
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
 * The band parts of a call in 'split' mode, seconds only, into out.partBand / out.partSeconds.
 * Walks the call from its start in pieces that each lie in one band and under one UTC offset: a
 * piece ends at the end of its band's run that local day (runEnd), at the next possible offset
 * change (the end of the UTC hour, or a DST transition inside it), or at the end of the call.
 * Consecutive pieces of the same band are merged.
 */
function splitSeconds(
  bands: CompiledBands,
  startMs: number,
  durationSec: number,
  chargedSec: number,
  out: CallChargeScratch,
): void {
  const endMs = startMs + durationSec * Time.MS_PER_SECOND;
  const bandOrder = out.partBand;
  const seconds = out.partSeconds;
  let count = 0;
  let t = startMs;
  let countedSec = 0;
  while (t < endMs) {
    const offset = bands.offsets.offsetMs(t);
    const local = t + offset;
    const day = Math.floor(local / Time.MS_PER_DAY);
    let band: number;
    let runEndLocal: number;
    const h = day - bands.holidayFirstDay;
    if (bands.holidayBand >= 0 && h >= 0 && h < bands.holidayBits.length && bands.holidayBits[h] === 1) {
      band = bands.holidayBand;
      runEndLocal = (day + 1) * Time.MS_PER_DAY;
    } else {
      const minute = Math.floor((local - day * Time.MS_PER_DAY) / Time.MS_PER_MINUTE);
      const index = weekdayOf(day) * Time.MINUTES_PER_DAY + minute;
      band = bands.weekBand[index] as number;
      runEndLocal = day * Time.MS_PER_DAY + (bands.runEnd[index] as number) * Time.MS_PER_MINUTE;
    }
    const pieceEnd = Math.min(t + (runEndLocal - local), bands.offsets.nextCheckMs(t), endMs);
    // Second i of the call starts at startMs + 1000·i; the seconds starting before pieceEnd are
    // ceil((pieceEnd − startMs) / 1000), so each second is counted once, in the piece it starts in.
    const upTo = Math.ceil((pieceEnd - startMs) / Time.MS_PER_SECOND);
    const pieceSec = upTo - countedSec;
    countedSec = upTo;
    if (pieceSec > 0) {
      if (count > 0 && bandOrder[count - 1] === band) {
        seconds[count - 1] = (seconds[count - 1] as number) + pieceSec;
      } else {
        bandOrder[count] = band;
        seconds[count] = pieceSec;
        count++;
      }
    }
    t = pieceEnd;
  }
  // The increments' extra seconds go to the band the call ended in.
  seconds[count - 1] = (seconds[count - 1] as number) + (chargedSec - durationSec);
  out.partCount = count;
}

/**
 * The 'split' amounts in numbers: N_k = Σ_{j ≤ k} price_j × seconds_j, part k = round(N_k / U) −
 * round(N_{k−1} / U) (chargeCall's step 4). Exact while N_k ≤ 2^53 − 1 − U − connect fee, which
 * is checked after each step: a product or sum whose true value is 2^53 or more rounds to a
 * number ≥ 2^53 (rounding is monotonic and 2^53 is a number), so it fails the check, and one that
 * passes was exact. The bound leaves room for the division (divideHalfUpExact needs N + U ≤
 * 2^53 − 1) and for adding the fee: round(N / U) ≤ N. Returns false when the bigint path must run.
 */
function splitInNumbers(
  voice: CompiledVoice,
  slot: number,
  bandCount: number,
  out: CallChargeScratch,
): boolean {
  const numbers = voice.numbers;
  const slotRecord = slot * Slot.FIELDS;
  if (numbers.bySlot[slotRecord + Slot.LIMITS_SAFE] !== 1) return false;
  const unitSeconds = numbers.bySlot[slotRecord + Slot.UNIT_SECONDS] as number;
  const largestSum =
    Number.MAX_SAFE_INTEGER - unitSeconds - (numbers.bySlot[slotRecord + Slot.CONNECT_FEE_PICO] as number);
  let cumulative = 0;
  let roundedSoFar = 0;
  for (let k = 0; k < out.partCount; k++) {
    const index = slot * bandCount + (out.partBand[k] as number);
    const price = numbers.byPrice[index * Price.FIELDS + Price.UNIT_PICO] as number;
    if (price < 0) return false;
    cumulative += price * (out.partSeconds[k] as number);
    if (!(cumulative <= largestSum)) return false;
    const rounded = divideHalfUpExact(cumulative, unitSeconds);
    out.partAmountPico[k] = rounded - roundedSoFar;
    roundedSoFar = rounded;
  }
  finishInNumbers(numbers.bySlot, slotRecord, roundedSoFar, out);
  return true;
}

/** The 'split' amounts in bigint, the same formula as splitInNumbers. */
function splitInBigInt(voice: CompiledVoice, slot: number, bandCount: number, out: CallChargeScratch): void {
  const unitSeconds = voice.unitSeconds[slot] as bigint;
  let cumulative = 0n;
  let roundedSoFar = 0n;
  for (let k = 0; k < out.partCount; k++) {
    const band = out.partBand[k] as number;
    cumulative +=
      (voice.unitPricePico[slot * bandCount + band] as bigint) * big(out.partSeconds[k] as number);
    const rounded = divideRounded(cumulative, unitSeconds, 'half-up');
    out.partAmountPicoBig[k] = rounded - roundedSoFar;
    roundedSoFar = rounded;
  }
  finishInBigInt(voice, slot, roundedSoFar, out);
}

/**
 * round(numerator / denominator) half-up, for whole numbers numerator ≥ 0 and denominator ≥ 1
 * with numerator + denominator ≤ 2^53 − 1: the same as divideRounded(…, 'half-up') on bigints.
 *
 * The floating-point quotient is within one of the true one (its error is below half a unit in
 * the last place of a number < 2^53, so below 1), so its floor q is the true quotient or one off.
 * q × denominator ≤ numerator + denominator ≤ 2^53 − 1 is exact, so the remainder is exact and
 * moves q to the true quotient when it was off. Then half-up: round up when 2 × remainder ≥
 * denominator. Example: 71 / 60: q = 1, remainder 11, 22 < 60: 1. 90 / 60: remainder 30, 60 ≥ 60: 2.
 */
function divideHalfUpExact(numerator: number, denominator: number): number {
  let quotient = Math.floor(numerator / denominator);
  let remainder = numerator - quotient * denominator;
  if (remainder < 0) {
    quotient -= 1;
    remainder += denominator;
  } else if (remainder >= denominator) {
    quotient += 1;
    remainder -= denominator;
  }
  return 2 * remainder >= denominator ? quotient + 1 : quotient;
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
  if (!Number.isSafeInteger(startMs) || startMs < Time.MIN_INSTANT_MS || startMs > Time.MAX_INSTANT_MS) {
    throw fail(
      TariffErrors.invalid_usage,
      `startMs must be an instant between 1900 and 2199, got ${startMs}`,
      {
        field: 'startMs',
      },
    );
  }
  // The call's end must be an instant too: 2199 is the last year, and durations stay safe integers.
  if (startMs + durationSec * Time.MS_PER_SECOND > Time.MAX_INSTANT_MS) {
    throw fail(TariffErrors.invalid_usage, `the call ends after 2199 (durationSec ${durationSec})`, {
      field: 'durationSec',
    });
  }
}

function checkCurrencyIndex(tariff: CompiledTariff, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= tariff.currencies.length) {
    throw fail(
      TariffErrors.invalid_usage,
      `currency index ${index} is not one of tariff ${tariff.id}'s ${tariff.currencies.length} currencies`,
      { field: 'currency' },
    );
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
