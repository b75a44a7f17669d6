/**
 * Rating one usage event: the one pure rating core that batch rating and online charging share.
 *
 *     rateUsage(plan, usage, state, out)   plan + event + counters in → charge + draws out
 *
 * It reads counters through `state` and never writes them: the allowance draws and the tier
 * counter update are in `out`, and applyRating (or the caller) writes them. Same plan, same
 * usage, same counters → the same result, always.
 *
 * Order of operations (docs/rating.md has the long form):
 *   1. the service's price: the plan prices the usage service, the event is inside the plan's
 *      range and a tariff version is in force at the event's start (else reject 'no_offer' or
 *      'rating_failed');
 *   2. the zone: voice by longest prefix of the called number; when roaming (visitedMccMnc), the
 *      roaming zone of the visited network prices the event instead (and selects allowances);
 *   3. allowances, in the plan's priority order, each in its period at the event's start:
 *      an allowance covers the event when its zones include the rated zone (home data and events
 *      have no zone: only allowances without zones cover them); it gives min(units left in the
 *      event, units left in the counter). A call is drawn per second, data per byte, events per
 *      event, before any increment or block rounding;
 *   4. the tariff prices the rest (the chargeable part):
 *      voice: the chargeable part starts at startMs + covered seconds (that instant picks the
 *      band), increments apply to the chargeable seconds only, then the band price, the connect
 *      fee, minimum and maximum (a fully covered call costs nothing, not even a connect fee);
 *      data: chargeable bytes rounded up to whole blocks, blocks priced by the tiers, with the
 *      blocks counted earlier in the billing month (tier counter) as the prior units;
 *      events: chargeable events priced by the tiers (counted likewise), or by the event's own
 *      price (content purchases priced in the event).
 *
 * Speed. Nothing is allocated on the common path: the result object is reused, the prefix match
 * and the call charge write into module scratch objects (the tariff core's matchCalledNumber and
 * chargeRoutedCallInto, which is given the match so the number is matched once), tier amounts are
 * numbers checked against the safe-integer bounds precomputed in fast-tariff.ts, and strings are
 * only built for rejects and traces. When a number could be inexact, bigint takes over (the
 * tariff core's own fallback, priceUnits and chargeEvent): same rules, same result, slower.
 *
 * With many subscriptions, what costs most is reading a random subscription's data from memory:
 * its plan and its counters. So the plan's range is checked on small integers held in the plan
 * object itself (RatingPlan.fastFromMinute), and the counters an event will draw from are asked
 * for early (RatingState.prefetch), so that their cache misses overlap the checks and the prefix
 * lookup instead of following them.
 */
import {
  chargeEvent,
  chargeRoutedCallInto,
  matchCalledNumber,
  newCallChargeScratch,
  priceUnits,
  type BandPart,
  type CallChargeScratch,
  type CompiledTariff,
  type PrefixMatch,
} from '../catalog/index.js';
import type { UsageInput } from '../usage/index.js';
import { PRICING_FLAT, PRICING_GRADUATED, type FastPricing } from './fast-tariff.js';
import {
  KIND_DATA,
  KIND_EVENT,
  KIND_VOICE,
  type PlanAllowance,
  type PlanTariffVersion,
  type RatingFailure,
  type RatingPlan,
  type RatingState,
  type RatingResult,
  type RatingTemplate,
  type ServicePlan,
  type TierCounterRef,
  type WritableRatingState,
} from './model.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MS_PER_MINUTE = 60_000;

/** Module scratch objects: the prefix match and the call charge write into them. */
const match: PrefixMatch = { zone: -1, length: 0 };
const scratch: CallChargeScratch = newCallChargeScratch();

/** The plan's price for a usage service. */
function servicePlanOf(plan: RatingTemplate, service: string): ServicePlan | undefined {
  switch (service) {
    case 'voice':
      return plan.voice;
    case 'data':
      return plan.data;
    case 'sms':
      return plan.sms;
    case 'mms':
      return plan.mms;
    case 'content':
      return plan.content;
    case 'iot':
      return plan.iot;
    default:
      return undefined;
  }
}

/** Rates one event into `out` (reset first) and returns it. See the module comment. */
export function rateUsage(
  plan: RatingPlan,
  usage: UsageInput,
  state: RatingState,
  out: RatingResult,
): RatingResult {
  out.reset();
  out.plan = plan;
  const template = plan.template;
  out.currency = template.currency;
  const service = servicePlanOf(template, usage.service);
  if (service === undefined) {
    return reject(
      out,
      'no_offer',
      'service_not_priced',
      `the plan ${template.planOfferCode} prices no ${String(usage.service)} usage`,
    );
  }
  out.servicePlan = service;
  const ms = usage.startMs;
  if (!Number.isSafeInteger(ms))
    return reject(out, 'rating_failed', 'invalid_usage', `startMs ${ms} is not an instant`);
  const source = service.sourceIndex;
  if (
    // Inside the plan's whole minutes it is inside the plan; only otherwise are the exact bounds
    // read (RatingPlan.fastFromMinute says why).
    ((ms < plan.fastFromMinute * MS_PER_MINUTE || ms >= plan.fastToMinute * MS_PER_MINUTE) &&
      (ms < plan.fromMs || ms >= plan.toMs)) ||
    (source !== 0 &&
      (ms < (plan.sourceFromMs[source] as number) || ms >= (plan.sourceToMs[source] as number)))
  ) {
    return reject(
      out,
      'no_offer',
      'outside_plan',
      `the event at ${new Date(ms).toISOString()} is outside the range of ${service.offerCode} version ${service.offerVersionId}`,
    );
  }
  const version = versionAt(service, usage);
  if (version === undefined) {
    return reject(
      out,
      'rating_failed',
      'no_tariff_version',
      `tariff ${service.tariffCode} has no version in force at ${new Date(ms).toISOString()}`,
    );
  }
  out.tariffVersion = version;
  switch (usage.service) {
    case 'voice':
      return rateVoice(service, version, usage, state, out);
    case 'data':
      return rateData(service, version, usage, state, out);
    case 'iot':
      // An IoT record is an event when it names its event type, or counts events and carries no
      // volume; otherwise it is a data session (readers default count to 1 for iot records).
      return usage.eventType !== undefined ||
        (usage.count > 0 && usage.volumeUpBytes === 0 && usage.volumeDownBytes === 0)
        ? rateEvent(service, version, usage, state, out)
        : rateData(service, version, usage, state, out);
    default:
      return rateEvent(service, version, usage, state, out);
  }
}

/** (Functions on the hot path take the usage, not its startMs: a double argument would be boxed.) */
function versionAt(service: ServicePlan, usage: UsageInput): PlanTariffVersion | undefined {
  const ms = usage.startMs;
  const versions = service.versions;
  for (let i = 0; i < versions.length; i++) {
    const version = versions[i] as PlanTariffVersion;
    if (ms >= version.fromMs && ms < version.toMs) return version;
  }
  return undefined;
}

/**
 * Marks `out` rejected. The message is built at the call site, on the reject path only: a closure
 * here would make V8 allocate a context for the captured variables on every call, rejected or not.
 */
function reject(
  out: RatingResult,
  reason: 'no_offer' | 'rating_failed',
  failure: RatingFailure,
  message: string,
): RatingResult {
  out.outcome = 'reject';
  out.rejectReason = reason;
  out.failure = failure;
  out.failureMessage = message;
  out.drawCount = 0;
  out.tierCounter = undefined;
  out.amountPico = 0;
  out.amountIsBig = false;
  out.amountPicoBig = undefined;
  return out;
}

/** The roaming zone of the event: -1 at home, -2 for an unknown network (out is rejected). */
function roamingZoneOf(version: PlanTariffVersion, usage: UsageInput, out: RatingResult): number {
  const network = usage.visitedMccMnc;
  if (network === undefined) {
    if (usage.roaming) {
      reject(
        out,
        'rating_failed',
        'roaming_without_network',
        'the event is marked roaming but names no visited network (visitedMccMnc)',
      );
      return -2;
    }
    return -1;
  }
  const zone = version.view.compiled.roamingZoneOf.get(network);
  if (zone === undefined) {
    reject(
      out,
      'rating_failed',
      'unknown_network',
      `visited network ${network} is in no roaming zone of tariff ${out.servicePlan?.tariffCode}`,
    );
    return -2;
  }
  out.roamingZone = zone;
  return zone;
}

/**
 * Draws `units` from the allowances in priority order; returns the units left uncovered.
 * `covers[a × stride + zone + 1]` says whether allowance a covers the rated zone.
 */
function drawAllowances(
  plan: RatingPlan,
  list: readonly PlanAllowance[],
  covers: Uint8Array,
  stride: number,
  zonePlusOne: number,
  usage: UsageInput,
  units: number,
  state: RatingState,
  out: RatingResult,
): number {
  const ms = usage.startMs;
  let left = units;
  for (let a = 0; a < list.length && left > 0; a++) {
    const allowance = list[a] as PlanAllowance;
    const source = allowance.sourceIndex;
    if (
      source !== 0 &&
      (ms < (plan.sourceFromMs[source] as number) || ms >= (plan.sourceToMs[source] as number))
    )
      continue;
    if (covers[a * stride + zonePlusOne] !== 1) continue;
    const calendar = allowance.calendar;
    const periodIndex = calendar.indexAt(ms);
    const remaining = state.allowanceLeft(plan, allowance, periodIndex);
    if (remaining <= 0) continue;
    const take = remaining < left ? remaining : left;
    // out.addDraw, written out: the period start is a double, and passing it would box it.
    const i = out.drawCount++;
    out.drawAllowance[i] = allowance;
    out.drawPeriodIndex[i] = periodIndex;
    out.drawPeriodStartMs[i] = calendar.lastStartMs;
    out.drawUnits[i] = take;
    left -= take;
  }
  out.coveredUnits = units - left;
  out.chargeableUnits = left;
  return left;
}

/**
 * Asks the state to start loading the first counter in `list` (RatingState.prefetch), the one
 * drawAllowances will read first. Counters of a random subscription are usually a cache miss, and
 * asked for here, before the checks and the tariff work that do not need them, the miss overlaps
 * that work instead of stalling drawAllowances.
 */
function prefetchFirst(plan: RatingPlan, list: readonly PlanAllowance[], state: RatingState): void {
  if (list.length > 0 && state.prefetch !== undefined)
    state.prefetch(plan, (list[0] as PlanAllowance).priority);
}

/** RatingState.prefetch for a tier counter (see prefetchFirst). */
function prefetchTier(plan: RatingPlan, counter: TierCounterRef | undefined, state: RatingState): void {
  if (counter !== undefined && state.prefetch !== undefined) state.prefetch(plan, counter.counterIndex);
}

// ------------------------------------------------------------------------------------------------
// Voice

function rateVoice(
  service: ServicePlan,
  version: PlanTariffVersion,
  usage: UsageInput,
  state: RatingState,
  out: RatingResult,
): RatingResult {
  out.kind = KIND_VOICE;
  out.unit = 'second';
  prefetchFirst(out.plan as RatingPlan, service.allowancesSeconds, state);
  const view = version.view;
  const tariff = view.compiled;
  const voice = tariff.voice;
  if (voice === undefined) {
    return reject(out, 'rating_failed', 'no_rate', `tariff ${service.tariffCode} has no voice rates`);
  }
  const number = usage.calledNumber;
  // Checks the number (1 to 15 digits) and matches its longest prefix in one pass over it; the
  // match is passed on to the tariff core (chargeRoutedCallInto), which would otherwise repeat it.
  if (number === undefined || !matchCalledNumber(voice.trie, number, match)) {
    return reject(
      out,
      'rating_failed',
      'invalid_usage',
      `calledNumber ${JSON.stringify(number)} is not 1 to 15 E.164 digits`,
    );
  }
  const duration = usage.durationSec;
  if (!Number.isSafeInteger(duration) || duration < 0) {
    return reject(
      out,
      'rating_failed',
      'invalid_usage',
      `durationSec ${duration} is not a whole number of seconds ≥ 0`,
    );
  }
  out.calledNumber = number;
  if (match.zone < 0) {
    return reject(
      out,
      'rating_failed',
      'no_route',
      `no prefix of tariff ${service.tariffCode} matches ${number}`,
    );
  }
  out.zone = match.zone;
  out.matchedPrefixLength = match.length;
  const roaming = roamingZoneOf(version, usage, out);
  if (roaming === -2) return out;
  const rated = roaming >= 0 ? roaming : match.zone;
  const slot = rated * tariff.currencies.length + view.currencyIndex;
  if (voice.hasRate[slot] !== 1) {
    return reject(
      out,
      'rating_failed',
      'no_rate',
      `tariff ${service.tariffCode} has no ${view.currency} voice rate for zone ${tariff.zones[rated]}`,
    );
  }
  out.slot = slot;
  out.units = duration;
  const first = voice.firstSec[slot] as number;
  const next = voice.nextSec[slot] as number;
  out.firstSec = first;
  out.nextSec = next;

  const left =
    duration > 0 && service.allowancesSeconds.length > 0
      ? drawAllowances(
          out.plan as RatingPlan,
          service.allowancesSeconds,
          version.coversSeconds,
          version.zoneStride,
          rated + 1,
          usage,
          duration,
          state,
          out,
        )
      : setChargeable(out, duration);
  if (left === 0) return out;

  // The chargeable part is priced by the tariff core as a call of its own that starts where the
  // allowance stopped covering: its band, increments, connect fee and limits are the tariff's.
  let charge: CallChargeScratch;
  try {
    charge = chargeRoutedCallInto(
      tariff,
      number,
      match.zone,
      match.length,
      rated,
      usage,
      duration - left,
      left,
      view.currencyIndex,
      scratch,
    );
  } catch (error) {
    return reject(
      out,
      'rating_failed',
      'charge_error',
      `tariff ${service.tariffCode}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  out.band = charge.band;
  out.chargedUnits = charge.chargedSec;
  out.limit = charge.limit;
  if (charge.amountsAreBig) {
    out.connectFeePico = Number(charge.connectFeePicoBig);
    setAmount(out, charge.amountPicoBig);
  } else {
    out.connectFeePico = charge.connectFeePico;
    out.amountPico = charge.amountPico;
  }
  if (charge.partCount > 1) out.callParts = bandParts(tariff, charge);
  return out;
}

/** The band parts of a call that crossed bands ('split'): only these calls allocate, for the trace. */
function bandParts(tariff: CompiledTariff, charge: CallChargeScratch): BandPart[] {
  const parts: BandPart[] = [];
  for (let k = 0; k < charge.partCount; k++) {
    parts.push({
      band: tariff.bands.names[charge.partBand[k] as number] as string,
      seconds: charge.partSeconds[k] as number,
      amountPico: charge.amountsAreBig
        ? (charge.partAmountPicoBig[k] as bigint)
        : BigInt(charge.partAmountPico[k] as number),
    });
  }
  return parts;
}

function setChargeable(out: RatingResult, units: number): number {
  out.coveredUnits = 0;
  out.chargeableUnits = units;
  return units;
}

function setAmount(out: RatingResult, amount: bigint): void {
  if (amount >= -9007199254740991n && amount <= 9007199254740991n) {
    out.amountPico = Number(amount);
    out.amountIsBig = false;
    out.amountPicoBig = undefined;
  } else {
    out.amountPico = 0;
    out.amountIsBig = true;
    out.amountPicoBig = amount;
  }
}

// ------------------------------------------------------------------------------------------------
// Data

function rateData(
  service: ServicePlan,
  version: PlanTariffVersion,
  usage: UsageInput,
  state: RatingState,
  out: RatingResult,
): RatingResult {
  out.kind = KIND_DATA;
  out.unit = 'byte';
  prefetchFirst(out.plan as RatingPlan, service.allowancesBytes, state);
  const bytes = usage.volumeUpBytes + usage.volumeDownBytes;
  if (!Number.isSafeInteger(bytes) || usage.volumeUpBytes < 0 || usage.volumeDownBytes < 0) {
    return reject(
      out,
      'rating_failed',
      'invalid_usage',
      `volumes ${usage.volumeUpBytes} + ${usage.volumeDownBytes} bytes are not whole bytes ≥ 0 below 2^53`,
    );
  }
  const zone = roamingZoneOf(version, usage, out);
  if (zone === -2) return out;
  prefetchTier(out.plan as RatingPlan, version.dataTier[zone + 1], state);
  const rate = version.view.dataByZone[zone + 1];
  if (rate === undefined) {
    return reject(
      out,
      'rating_failed',
      'no_rate',
      `tariff ${service.tariffCode} has no ${out.currency} data rate ${zone < 0 ? 'at home' : `in roaming zone ${version.view.compiled.zones[zone]}`}`,
    );
  }
  out.units = bytes;
  out.blockBytes = rate.blockBytes;
  const left =
    bytes > 0 && service.allowancesBytes.length > 0
      ? drawAllowances(
          out.plan as RatingPlan,
          service.allowancesBytes,
          version.coversBytes,
          version.zoneStride,
          zone + 1,
          usage,
          bytes,
          state,
          out,
        )
      : setChargeable(out, bytes);
  if (left === 0) return out;
  // Whole blocks, rounded up: ceil(left / blockBytes), exactly in safe integers.
  const block = rate.blockBytes;
  // (A float quotient can be one off for huge values: the remainder check corrects it.)
  let blocks = Math.floor(left / block);
  let rest = left - blocks * block;
  if (rest < 0) {
    blocks -= 1;
    rest += block;
  } else if (rest >= block) {
    blocks += 1;
    rest -= block;
  }
  if (rest > 0) blocks += 1;
  out.chargedUnits = blocks * block;
  return priceTiered(rate.pricing, blocks, version.dataTier[zone + 1], usage, state, out);
}

// ------------------------------------------------------------------------------------------------
// Events

function rateEvent(
  service: ServicePlan,
  version: PlanTariffVersion,
  usage: UsageInput,
  state: RatingState,
  out: RatingResult,
): RatingResult {
  out.kind = KIND_EVENT;
  out.unit = 'event';
  prefetchFirst(out.plan as RatingPlan, service.allowancesCount, state);
  const count = usage.count;
  if (!Number.isSafeInteger(count) || count < 0) {
    return reject(out, 'rating_failed', 'invalid_usage', `count ${count} is not a whole number ≥ 0`);
  }
  const eventType = usage.eventType ?? usage.service;
  out.eventType = eventType;
  const zone = roamingZoneOf(version, usage, out);
  if (zone === -2) return out;
  const rates = eventType === 'sms' ? version.smsRates : version.events.get(eventType);
  const price = rates === undefined ? undefined : rates.prices[zone + 1];
  if (rates === undefined || price === undefined) {
    return reject(
      out,
      'rating_failed',
      'no_rate',
      `tariff ${service.tariffCode} has no ${out.currency} price for event ${JSON.stringify(eventType)} ${zone < 0 ? 'at home' : `in roaming zone ${version.view.compiled.zones[zone]}`}`,
    );
  }
  out.units = count;
  const left =
    count > 0 && service.allowancesCount.length > 0
      ? drawAllowances(
          out.plan as RatingPlan,
          service.allowancesCount,
          version.coversCount,
          version.zoneStride,
          zone + 1,
          usage,
          count,
          state,
          out,
        )
      : setChargeable(out, count);
  out.chargedUnits = left;
  if (left === 0) return out;
  if (price.pricing === undefined) {
    out.pricedInEvent = true;
    try {
      const charge = chargeEvent(version.view.compiled, {
        eventType,
        count: BigInt(left),
        currency: out.currency,
        ...(usage.visitedMccMnc === undefined ? {} : { visitedMccMnc: usage.visitedMccMnc }),
        ...(usage.price === undefined ? {} : { price: usage.price }),
      });
      setAmount(out, charge.amountPico);
      return out;
    } catch (error) {
      return reject(
        out,
        'rating_failed',
        'currency',
        `event ${eventType}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return priceTiered(price.pricing, left, rates.tiers[zone + 1], usage, state, out);
}

// ------------------------------------------------------------------------------------------------
// Tiers

/**
 * Prices `units` (blocks or events) by flat or tiered prices; tiered prices count the units of
 * the billing month in `counter` (read as the prior units, updated by applyRating).
 */
function priceTiered(
  pricing: FastPricing,
  units: number,
  counter: TierCounterRef | undefined,
  usage: UsageInput,
  state: RatingState,
  out: RatingResult,
): RatingResult {
  const price = pricing.price;
  if (pricing.mode === PRICING_FLAT) {
    out.tierFirst = 0;
    out.tierLast = 0;
    if (pricing.safe && units <= (pricing.maxUnits[0] as number))
      out.amountPico = units * (price[0] as number);
    else setAmount(out, priceUnits(pricing.compiled, BigInt(units), 0n).amountPico);
    return out;
  }
  let prior = 0;
  if (counter !== undefined) {
    const periodIndex = counter.calendar.indexAt(usage.startMs);
    prior = state.tierPriorUnits(out.plan as RatingPlan, counter, periodIndex);
    out.tierCounter = counter;
    out.tierPeriodIndex = periodIndex;
    out.tierPriorUnits = prior;
    out.tierUnits = units;
  }
  const upTo = pricing.upTo;
  const end = prior + units;
  const tiers = upTo.length;
  if (pricing.safe && Number.isSafeInteger(end)) {
    if (pricing.mode === PRICING_GRADUATED) {
      let amount = 0;
      let low = 0;
      let ok = true;
      for (let k = 0; k < tiers; k++) {
        const limit = upTo[k] as number;
        const high = limit < 0 || end < limit ? end : limit;
        const from = prior > low ? prior : low;
        if (high > from) {
          const inTier = high - from;
          if (inTier > (pricing.maxUnits[k] as number)) {
            ok = false;
            break;
          }
          const part = inTier * (price[k] as number);
          if (amount > MAX_SAFE - part) {
            ok = false;
            break;
          }
          amount += part;
          if (out.tierFirst < 0) out.tierFirst = k;
          out.tierLast = k;
        }
        if (limit < 0 || limit >= end) break;
        low = limit;
      }
      if (ok) {
        out.amountPico = amount;
        return out;
      }
    } else {
      // Volume: V(x) = x × price(tier of x); the charge is V(prior + units) − V(prior).
      const before = tierOf(upTo, prior);
      const after = tierOf(upTo, end);
      if (end <= (pricing.maxUnits[after] as number) && prior <= (pricing.maxUnits[before] as number)) {
        out.tierFirst = after;
        out.tierLast = after;
        out.amountPico = end * (price[after] as number) - prior * (price[before] as number);
        return out;
      }
    }
  }
  // The bigint path: the tariff core's priceUnits, same rules.
  const priced = priceUnits(pricing.compiled, BigInt(units), BigInt(prior));
  out.tierFirst = -1;
  out.tierLast = -1;
  for (const part of priced.parts) {
    if (out.tierFirst < 0) out.tierFirst = part.tier;
    out.tierLast = part.tier;
  }
  setAmount(out, priced.amountPico);
  return out;
}

function tierOf(upTo: Float64Array, count: number): number {
  const n = upTo.length;
  for (let k = 0; k < n; k++) {
    const limit = upTo[k] as number;
    if (limit < 0 || count <= limit) return k;
  }
  return n - 1;
}

// ------------------------------------------------------------------------------------------------
// Applying

/**
 * Writes a result's allowance draws and tier update into `state`. Returns false when a counter
 * could not take the whole draw (it changed since the event was rated; the clamped part is not
 * applied): the caller should re-rate the event. A reject applies nothing.
 */
export function applyRating(state: WritableRatingState, out: RatingResult): boolean {
  if (out.outcome !== 'ok') return true;
  const plan = out.plan as RatingPlan;
  let complete = true;
  for (let i = 0; i < out.drawCount; i++) {
    const units = out.drawUnits[i] as number;
    const applied = state.addAllowanceUsage(
      plan,
      out.drawAllowance[i] as PlanAllowance,
      out.drawPeriodIndex[i] as number,
      units,
    );
    if (applied !== units) complete = false;
  }
  if (out.tierCounter !== undefined && out.tierUnits !== 0) {
    state.addTierUnits(plan, out.tierCounter, out.tierPeriodIndex, out.tierUnits);
  }
  return complete;
}
