/**
 * The charge trace: everything support needs to explain a charge in one read, built from a
 * RatingResult only when asked (rating itself builds no strings).
 *
 * `explainRating(out)` returns a plain JSON-friendly object (store it with the rated usage);
 * `formatFormula(out)` writes the arithmetic as one line, e.g.
 *
 *     300 s − 120 s allowance VOICE-100 = 180 s; increments 60/60 → 180 s; band peak:
 *     180 s × 0.07 EUR per 60 s = 0.21 EUR; connect fee 0.01 EUR; total 0.22 EUR
 */
import { formatDecimal } from '../kernel/decimal.js';
import { RATED_SCALE } from '../kernel/money.js';
import { KIND_DATA, KIND_EVENT, KIND_VOICE, amountPicoOf, type RatingResult } from './model.js';

export interface TraceDraw {
  readonly allowanceCode: string;
  readonly offerCode: string;
  readonly offerVersionId: string;
  readonly ownerId: string;
  readonly sharing: string;
  readonly periodIndex: number;
  readonly periodStart: string;
  readonly units: number;
}

export interface ChargeTrace {
  readonly outcome: 'ok' | 'reject';
  readonly rejectReason?: string;
  readonly failure?: string;
  readonly message?: string;
  readonly subscriptionId?: string;
  readonly offerCode?: string;
  readonly offerVersionId?: string;
  readonly priceCode?: string;
  readonly tariffCode?: string;
  readonly tariffVersionId?: string;
  readonly currency: string;
  /** Decimal text at 12 decimals. */
  readonly amount: string;
  readonly unit: string;
  readonly units: number;
  readonly coveredUnits: number;
  readonly chargeableUnits: number;
  readonly chargedUnits: number;
  readonly allowances: readonly TraceDraw[];
  readonly matchedPrefix?: string;
  readonly zone?: string;
  readonly roamingZone?: string;
  readonly band?: string;
  readonly bandParts?: ReadonlyArray<{ band: string; seconds: number; amount: string }>;
  readonly increments?: { readonly firstSec: number; readonly nextSec: number };
  readonly unitPrice?: string;
  readonly unitSeconds?: number;
  readonly connectFee?: string;
  readonly limit?: string;
  readonly blockBytes?: number;
  readonly eventType?: string;
  readonly pricedInEvent?: boolean;
  readonly tiers?: {
    readonly counter: string;
    readonly periodIndex: number;
    readonly priorUnits: number;
    readonly units: number;
    readonly first: number;
    readonly last: number;
  };
  readonly formula: string;
}

/** Pico-units as decimal text without trailing zeros: 71166666667 → "0.071166666667". */
export function picoText(pico: bigint | number): string {
  const text = formatDecimal(typeof pico === 'bigint' ? pico : BigInt(pico), RATED_SCALE);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

function unitSymbol(unit: string): string {
  return unit === 'second' ? 's' : unit === 'byte' ? 'B' : unit === 'event' ? 'events' : unit;
}

/** The structured trace of a result (allocates; call it when storing or showing a charge). */
export function explainRating(out: RatingResult): ChargeTrace {
  const service = out.servicePlan;
  const version = out.tariffVersion;
  const tariff = version?.view.compiled;
  const allowances: TraceDraw[] = [];
  for (let i = 0; i < out.drawCount; i++) {
    const allowance = out.drawAllowance[i];
    if (allowance === undefined) continue;
    allowances.push({
      allowanceCode: allowance.code,
      offerCode: allowance.offerCode,
      offerVersionId: allowance.offerVersionId,
      ownerId: allowance.ownerId,
      sharing: allowance.sharing,
      periodIndex: out.drawPeriodIndex[i] as number,
      periodStart: new Date(out.drawPeriodStartMs[i] as number).toISOString(),
      units: out.drawUnits[i] as number,
    });
  }
  const trace: Record<string, unknown> = {
    outcome: out.outcome,
    ...(out.rejectReason === undefined ? {} : { rejectReason: out.rejectReason }),
    ...(out.failure === undefined ? {} : { failure: out.failure, message: out.failureMessage }),
    ...(out.plan === undefined ? {} : { subscriptionId: out.plan.subscriptionId }),
    ...(service === undefined
      ? {}
      : {
          offerCode: service.offerCode,
          offerVersionId: service.offerVersionId,
          priceCode: service.priceCode,
          tariffCode: service.tariffCode,
        }),
    ...(version === undefined ? {} : { tariffVersionId: version.versionId }),
    currency: out.currency,
    amount: picoText(amountPicoOf(out)),
    unit: out.unit,
    units: out.units,
    coveredUnits: out.coveredUnits,
    chargeableUnits: out.chargeableUnits,
    chargedUnits: out.chargedUnits,
    allowances,
  };
  if (tariff !== undefined) {
    if (out.roamingZone >= 0) trace.roamingZone = tariff.zones[out.roamingZone];
    if (out.kind === KIND_VOICE && tariff.voice !== undefined) {
      const voice = tariff.voice;
      if (out.calledNumber !== undefined)
        trace.matchedPrefix = out.calledNumber.slice(0, out.matchedPrefixLength);
      if (out.zone >= 0) trace.zone = tariff.zones[out.zone];
      if (out.band >= 0) trace.band = tariff.bands.names[out.band];
      if (out.callParts !== undefined) {
        trace.bandParts = out.callParts.map((part) => ({
          band: part.band,
          seconds: part.seconds,
          amount: picoText(part.amountPico),
        }));
      }
      if (out.slot >= 0) {
        trace.increments = { firstSec: out.firstSec, nextSec: out.nextSec };
        trace.unitSeconds = Number(voice.unitSeconds[out.slot]);
        if (out.band >= 0)
          trace.unitPrice = picoText(
            voice.unitPricePico[out.slot * tariff.bands.names.length + out.band] as bigint,
          );
        trace.connectFee = picoText(out.connectFeePico);
        if (out.limit !== undefined) trace.limit = out.limit;
      }
    }
    if (out.kind === KIND_DATA) trace.blockBytes = out.blockBytes;
    if (out.kind === KIND_EVENT) {
      trace.eventType = out.eventType;
      trace.pricedInEvent = out.pricedInEvent;
    }
    if (out.tierCounter !== undefined) {
      trace.tiers = {
        counter: out.tierCounter.key.split('\u0000').join('/'),
        periodIndex: out.tierPeriodIndex,
        priorUnits: out.tierPriorUnits,
        units: out.tierUnits,
        first: out.tierFirst,
        last: out.tierLast,
      };
    }
  }
  trace.formula = formatFormula(out);
  return trace as unknown as ChargeTrace;
}

/** The charge's arithmetic on one line (see the module comment). */
export function formatFormula(out: RatingResult): string {
  if (out.outcome === 'reject') return `rejected (${out.rejectReason}): ${out.failureMessage ?? ''}`;
  const c = out.currency;
  const symbol = unitSymbol(out.unit);
  const steps: string[] = [];
  let quantity = `${out.units} ${symbol}`;
  for (let i = 0; i < out.drawCount; i++) {
    quantity += ` − ${out.drawUnits[i]} ${symbol} allowance ${out.drawAllowance[i]?.code}`;
  }
  steps.push(out.drawCount > 0 ? `${quantity} = ${out.chargeableUnits} ${symbol}` : quantity);
  const tariff = out.tariffVersion?.view.compiled;
  if (out.chargeableUnits === 0) {
    steps.push(`nothing to charge; total 0 ${c}`);
    return steps.join('; ');
  }
  if (out.kind === KIND_VOICE && tariff?.voice !== undefined && out.slot >= 0) {
    const voice = tariff.voice;
    steps.push(`increments ${out.firstSec}/${out.nextSec} → ${out.chargedUnits} s`);
    const unitSeconds = voice.unitSeconds[out.slot];
    if (out.callParts !== undefined && out.callParts.length > 1) {
      for (const part of out.callParts)
        steps.push(`band ${part.band}: ${part.seconds} s = ${picoText(part.amountPico)} ${c}`);
    } else if (out.band >= 0) {
      const price = voice.unitPricePico[out.slot * tariff.bands.names.length + out.band] as bigint;
      const usage = amountPicoOf(out) - BigInt(out.limit === undefined ? out.connectFeePico : 0);
      steps.push(
        `band ${tariff.bands.names[out.band]}: ${out.chargedUnits} s × ${picoText(price)} ${c} per ${unitSeconds} s` +
          (out.limit === undefined ? ` = ${picoText(usage)} ${c} (half-up to 12 decimals)` : ''),
      );
    }
    if (out.connectFeePico !== 0) steps.push(`connect fee ${picoText(out.connectFeePico)} ${c}`);
    if (out.limit !== undefined) steps.push(`${out.limit} charge applies`);
  } else if (out.kind === KIND_DATA) {
    steps.push(`${out.chargedUnits / out.blockBytes} blocks of ${out.blockBytes} B`);
  }
  if (out.tierCounter !== undefined) {
    steps.push(`tiers ${out.tierFirst}..${out.tierLast} after ${out.tierPriorUnits} units this month`);
  }
  if (out.pricedInEvent) steps.push(`${out.chargeableUnits} × the event's own price`);
  steps.push(`total ${picoText(amountPicoOf(out))} ${c}`);
  return steps.join('; ');
}
