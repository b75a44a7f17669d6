/**
 * The charge trace: everything support needs to explain a charge in one read, built from a
 * RatingResult only when asked (rating itself builds no strings).
 *
 * `compactTrace(out)` is what to store with a rated record: a short JSON array of the trace's
 * facts (names, ids and numbers, no formula, no decimal text), cheap enough to build for every
 * record. `expandTrace(compact)` turns it back into the full ChargeTrace (decimal amounts, period
 * starts, the formula) when someone reads it; `explainRating(out)` is expandTrace(compactTrace(out)),
 * so the stored and the immediate explanation are the same by construction.
 * `formatFormula(out)` writes the arithmetic as one line, e.g.
 *
 *     300 s − 120 s allowance VOICE-100 = 180 s; increments 60/60 → 180 s; band peak:
 *     180 s × 0.07 EUR per 60 s = 0.21 EUR; connect fee 0.01 EUR; total 0.22 EUR
 */
import { formatDecimal } from '../kernel/decimal.js';
import { jsonString } from '../kernel/json-text.js';
import { RATED_SCALE } from '../kernel/money.js';
import { KIND_DATA, KIND_EVENT, KIND_VOICE, ownerOf, type RatingResult } from './model.js';
import { periodCalendar } from './periods.js';
import type { PeriodUnit } from '../catalog/index.js';

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

/** A compact trace's first element: the layout version. */
const COMPACT_VERSION = 'T1';
/** Fields per draw in a compact trace's draw list. */
const DRAW_FIELDS = 8;

/**
 * The compact trace of a result: a JSON array, built without decimal formatting or dates, to be
 * stored with the rated record and expanded by expandTrace when read. Layout (version T1):
 *
 *   0 'T1', 1 outcome (0 ok, 1 reject), 2 reject reason, 3 failure, 4 message, 5 subscription id,
 *   6 offer code, 7 offer version id, 8 price code, 9 tariff code, 10 tariff version id,
 *   11 currency, 12 amount pico (number, or decimal text beyond 2^53), 13 kind (1 voice, 2 data,
 *   3 events), 14 unit, 15 units, 16 covered, 17 chargeable, 18 charged, 19 roaming zone,
 *   20 tier [rate, zone, period index, prior units, units, first, last] or null,
 *   21 draws, 8 fields each: code, offer code, offer version id, owner id, sharing, period unit,
 *      period index, units (the period start is rebuilt from the unit, 24 and 25),
 *   22 voice [matched prefix, zone, band, band parts [band, seconds, amount pico]…, first sec,
 *      next sec, unit seconds, unit price pico, connect fee pico, limit] or null,
 *   23 data block bytes, or events [event type, priced in event], or null,
 *   24 time zone, 25 bill cycle day.
 *
 * Absent values are null. Names are stored as names, so expanding needs nothing but the string.
 *
 * The values go to `sink` one by one, in the order of the array: the default writes the JSON
 * text; a file import writes the same values as packed tokens (usage/trace-words.ts
 * TraceTokenWriter), which unpack to this JSON.
 */
export function compactTrace(out: RatingResult, sink: TraceSink = jsonTraceSink): string {
  const s = sink;
  const plan = out.plan;
  const service = out.servicePlan;
  const version = out.tariffVersion;
  const tariff = version?.view.compiled;
  s.begin();
  s.open();
  s.string(COMPACT_VERSION);
  s.number(out.outcome === 'ok' ? 0 : 1);
  str(s, out.rejectReason);
  str(s, out.failure);
  if (out.failure === undefined) s.nil();
  else str(s, out.failureMessage);
  if (plan === undefined) s.nil();
  else s.string(plan.subscriptionId);
  if (service === undefined) {
    s.nil();
    s.nil();
    s.nil();
    s.nil();
  } else {
    str(s, service.offerCode);
    str(s, service.offerVersionId);
    str(s, service.priceCode);
    str(s, service.tariffCode);
  }
  if (version === undefined) s.nil();
  else s.string(version.versionId);
  str(s, out.currency);
  if (out.amountIsBig) s.string(String(out.amountPicoBig));
  else s.number(out.amountPico);
  s.number(out.kind);
  str(s, out.unit);
  s.number(out.units);
  s.number(out.coveredUnits);
  s.number(out.chargeableUnits);
  s.number(out.chargedUnits);
  if (tariff !== undefined && out.roamingZone >= 0) str(s, tariff.zones[out.roamingZone]);
  else s.nil();
  const counter = out.tierCounter;
  if (tariff !== undefined && counter !== undefined) {
    s.open();
    str(s, counter.rate);
    str(s, counter.zoneId);
    s.number(out.tierPeriodIndex);
    s.number(out.tierPriorUnits);
    s.number(out.tierUnits);
    s.number(out.tierFirst);
    s.number(out.tierLast);
    s.close();
  } else s.nil();
  s.open();
  if (plan !== undefined) {
    for (let i = 0; i < out.drawCount; i++) {
      const a = out.drawAllowance[i];
      if (a === undefined) continue;
      str(s, a.code);
      str(s, a.offerCode);
      str(s, a.offerVersionId);
      str(s, ownerOf(plan, a));
      str(s, a.sharing);
      str(s, a.period);
      s.number(out.drawPeriodIndex[i] as number);
      s.number(out.drawUnits[i] as number);
    }
  }
  s.close();
  const voice = tariff?.voice;
  if (tariff !== undefined && voice !== undefined && out.kind === KIND_VOICE) {
    const bands = tariff.bands.names;
    s.open();
    if (out.calledNumber === undefined) s.nil();
    else s.string(out.calledNumber.slice(0, out.matchedPrefixLength));
    if (out.zone >= 0) str(s, tariff.zones[out.zone]);
    else s.nil();
    if (out.band >= 0) str(s, bands[out.band]);
    else s.nil();
    const parts = out.callParts;
    if (parts === undefined) s.nil();
    else {
      s.open();
      for (let k = 0; k < parts.length; k++) {
        const part = parts[k] as (typeof parts)[number];
        str(s, part.band);
        s.number(part.seconds);
        bigNumber(s, part.amountPico);
      }
      s.close();
    }
    if (out.slot >= 0) {
      s.number(out.firstSec);
      s.number(out.nextSec);
      bigNumber(s, voice.unitSeconds[out.slot] as bigint);
      if (out.band >= 0) bigNumber(s, voice.unitPricePico[out.slot * bands.length + out.band] as bigint);
      else s.nil();
    } else {
      s.nil();
      s.nil();
      s.nil();
      s.nil();
    }
    s.number(out.connectFeePico);
    str(s, out.limit);
    s.close();
  } else s.nil();
  if (tariff !== undefined && out.kind === KIND_DATA) s.number(out.blockBytes);
  else if (tariff !== undefined && out.kind === KIND_EVENT) {
    s.open();
    str(s, out.eventType);
    s.bool(out.pricedInEvent);
    s.close();
  } else s.nil();
  if (plan === undefined) {
    s.nil();
    s.nil();
  } else {
    str(s, plan.timeZone);
    s.number(plan.billCycleDay);
  }
  s.close();
  return s.finish();
}

/**
 * Where compactTrace writes a trace, value by value in the order of its JSON text: arrays as
 * open() … close(), and in them null, booleans, numbers (written as String(value) in JSON; every
 * number rating writes is a safe integer) and strings. begin() starts a trace and finish()
 * returns its text; a sink holds one trace at a time.
 */
export interface TraceSink {
  begin(): void;
  open(): void;
  close(): void;
  nil(): void;
  bool(value: boolean): void;
  number(value: number): void;
  string(value: string): void;
  finish(): string;
}

/**
 * The JSON text of a trace, written by hand rather than by JSON.stringify([...]) (about a
 * microsecond for this array on Node 20; this takes a few hundred nanoseconds).
 *
 * The pieces are joined at the end rather than concatenated as they come: a concatenation is a
 * rope of a few dozen small strings, and a batch holds thousands of rows until it writes them, so
 * the ropes would outlive several young-generation collections. The pieces array is reused and
 * never shortened (setting an array's length to 0 gives its storage back, and growing it again
 * for every trace allocated more than the trace itself); pieces past the trace's are emptied
 * before the join.
 */
export class JsonTraceSink implements TraceSink {
  private readonly pieces: string[] = [];
  private count = 0;
  private used = 0;
  /** No value yet in the innermost open array: the next value takes no comma. */
  private first = true;

  begin(): void {
    this.count = 0;
    this.first = true;
  }

  private value(text: string): void {
    if (this.first) this.first = false;
    else this.pieces[this.count++] = ',';
    this.pieces[this.count++] = text;
  }

  open(): void {
    this.value('[');
    this.first = true;
  }

  close(): void {
    this.pieces[this.count++] = ']';
    this.first = false;
  }

  nil(): void {
    this.value('null');
  }

  bool(value: boolean): void {
    this.value(value ? 'true' : 'false');
  }

  number(value: number): void {
    this.value(String(value));
  }

  string(value: string): void {
    this.value(jsonString(value));
  }

  finish(): string {
    const count = this.count;
    const pieces = this.pieces;
    for (let i = count; i < this.used; i++) pieces[i] = '';
    this.used = count;
    return pieces.join('');
  }
}

const jsonTraceSink = new JsonTraceSink();

/** A string, or null for undefined. */
function str(s: TraceSink, value: string | undefined): void {
  if (value === undefined) s.nil();
  else s.string(value);
}

/** A bigint as a JSON number when it is a safe integer, else as decimal text in a JSON string. */
function bigNumber(s: TraceSink, value: bigint): void {
  if (value >= -9007199254740991n && value <= 9007199254740991n) s.number(Number(value));
  else s.string(String(value));
}

/** True when `text` is a compact trace (a stored trace may also be an older JSON object). */
export function isCompactTrace(text: string): boolean {
  return text.startsWith(`["${COMPACT_VERSION}"`);
}

type Compact = unknown[];

const big = (value: unknown): bigint => BigInt(value as number | string);

/**
 * The full trace from a compact one (see compactTrace): decimal amounts, period starts and the
 * formula are rebuilt here, at read time. Throws a TypeError for text that is not a compact trace.
 */
export function expandTrace(compact: string): ChargeTrace {
  const c = JSON.parse(compact) as Compact;
  if (!Array.isArray(c) || c[0] !== COMPACT_VERSION) throw new TypeError('not a compact charge trace');
  const str = (i: number): string | undefined => (c[i] === null ? undefined : (c[i] as string));
  const num = (i: number): number => c[i] as number;
  const ok = c[1] === 0;
  const timeZone = str(24);
  const billCycleDay = c[25] as number | null;
  const amountPico = big(c[12]);
  const currency = c[11] as string;
  const allowances: TraceDraw[] = [];
  const draws = c[21] as Array<string | number>;
  for (let k = 0; k + DRAW_FIELDS <= draws.length; k += DRAW_FIELDS) {
    const periodIndex = draws[k + 6] as number;
    const startMs =
      timeZone === undefined || billCycleDay === null
        ? Number.NaN
        : periodCalendar(draws[k + 5] as PeriodUnit, timeZone, billCycleDay).startOf(periodIndex);
    allowances.push({
      allowanceCode: draws[k] as string,
      offerCode: draws[k + 1] as string,
      offerVersionId: draws[k + 2] as string,
      ownerId: draws[k + 3] as string,
      sharing: draws[k + 4] as string,
      periodIndex,
      periodStart: Number.isNaN(startMs) ? '' : new Date(startMs).toISOString(),
      units: draws[k + 7] as number,
    });
  }
  const trace: Record<string, unknown> = {
    outcome: ok ? 'ok' : 'reject',
    ...(c[2] === null ? {} : { rejectReason: c[2] }),
    ...(c[3] === null ? {} : { failure: c[3], message: str(4) }),
    ...(c[5] === null ? {} : { subscriptionId: c[5] }),
    ...(c[6] === null ? {} : { offerCode: c[6], offerVersionId: c[7], priceCode: c[8], tariffCode: c[9] }),
    ...(c[10] === null ? {} : { tariffVersionId: c[10] }),
    currency,
    amount: picoText(ok ? amountPico : 0n),
    unit: c[14],
    units: num(15),
    coveredUnits: num(16),
    chargeableUnits: num(17),
    chargedUnits: num(18),
    allowances,
  };
  const kind = num(13);
  const voice = c[22] as unknown[] | null;
  const tier = c[20] as unknown[] | null;
  let parts: Array<{ band: string; seconds: number; amount: string; pico: bigint }> | undefined;
  if (c[10] !== null) {
    if (c[19] !== null) trace.roamingZone = c[19];
    if (voice !== null) {
      if (voice[0] !== null) trace.matchedPrefix = voice[0];
      if (voice[1] !== null) trace.zone = voice[1];
      if (voice[2] !== null) trace.band = voice[2];
      const flat = voice[3] as Array<string | number> | null;
      if (flat !== null) {
        parts = [];
        for (let k = 0; k + 3 <= flat.length; k += 3) {
          const pico = big(flat[k + 2]);
          parts.push({
            band: flat[k] as string,
            seconds: flat[k + 1] as number,
            amount: picoText(pico),
            pico,
          });
        }
        trace.bandParts = parts.map(({ band, seconds, amount }) => ({ band, seconds, amount }));
      }
      if (voice[4] !== null) {
        trace.increments = { firstSec: voice[4], nextSec: voice[5] };
        trace.unitSeconds = Number(voice[6]);
        if (voice[7] !== null) trace.unitPrice = picoText(big(voice[7]));
        trace.connectFee = picoText(big(voice[8]));
        if (voice[9] !== null) trace.limit = voice[9];
      }
    }
    if (kind === KIND_DATA) trace.blockBytes = c[23];
    if (kind === KIND_EVENT) {
      const event = c[23] as [string | null, boolean];
      trace.eventType = event[0] ?? undefined;
      trace.pricedInEvent = event[1];
    }
    if (tier !== null) {
      trace.tiers = {
        counter: [c[5], c[9], tier[0], tier[1]].join('/'),
        periodIndex: tier[2],
        priorUnits: tier[3],
        units: tier[4],
        first: tier[5],
        last: tier[6],
      };
    }
  }
  trace.formula = formulaOf({
    reject: !ok,
    rejectReason: str(2),
    message: str(4),
    currency,
    unit: c[14] as string,
    units: num(15),
    chargeableUnits: num(17),
    chargedUnits: num(18),
    draws: allowances,
    hasTariff: c[10] !== null,
    kind,
    voice: voice === null || voice[4] === null ? undefined : voice,
    parts,
    blockBytes: kind === KIND_DATA ? (c[23] as number) : 0,
    tier: tier ?? undefined,
    pricedInEvent: kind === KIND_EVENT && (c[23] as [unknown, boolean])[1],
    amountPico,
  });
  return trace as unknown as ChargeTrace;
}

/** The structured trace of a result (allocates; call it when showing a charge, compactTrace to store one). */
export function explainRating(out: RatingResult): ChargeTrace {
  return expandTrace(compactTrace(out));
}

/** The charge's arithmetic on one line (see the module comment). */
export function formatFormula(out: RatingResult): string {
  return explainRating(out).formula;
}

interface FormulaFacts {
  readonly reject: boolean;
  readonly rejectReason: string | undefined;
  readonly message: string | undefined;
  readonly currency: string;
  readonly unit: string;
  readonly units: number;
  readonly chargeableUnits: number;
  readonly chargedUnits: number;
  readonly draws: readonly TraceDraw[];
  readonly hasTariff: boolean;
  readonly kind: number;
  /** The compact voice facts, when a voice rate applied. */
  readonly voice: readonly unknown[] | undefined;
  readonly parts: ReadonlyArray<{ band: string; seconds: number; pico: bigint }> | undefined;
  readonly blockBytes: number;
  readonly tier: readonly unknown[] | undefined;
  readonly pricedInEvent: boolean;
  readonly amountPico: bigint;
}

function formulaOf(f: FormulaFacts): string {
  if (f.reject) return `rejected (${f.rejectReason}): ${f.message ?? ''}`;
  const c = f.currency;
  const symbol = unitSymbol(f.unit);
  const steps: string[] = [];
  let quantity = `${f.units} ${symbol}`;
  for (const draw of f.draws) quantity += ` − ${draw.units} ${symbol} allowance ${draw.allowanceCode}`;
  steps.push(f.draws.length > 0 ? `${quantity} = ${f.chargeableUnits} ${symbol}` : quantity);
  if (f.chargeableUnits === 0) {
    steps.push(`nothing to charge; total 0 ${c}`);
    return steps.join('; ');
  }
  const voice = f.voice;
  if (f.kind === KIND_VOICE && f.hasTariff && voice !== undefined) {
    const [, , band, , firstSec, nextSec, unitSeconds, unitPrice, connectFee, limit] = voice;
    steps.push(`increments ${String(firstSec)}/${String(nextSec)} → ${f.chargedUnits} s`);
    const connectFeePico = big(connectFee);
    if (f.parts !== undefined && f.parts.length > 1) {
      for (const part of f.parts)
        steps.push(`band ${part.band}: ${part.seconds} s = ${picoText(part.pico)} ${c}`);
    } else if (band !== null && unitPrice !== null) {
      const usage = f.amountPico - (limit === null ? connectFeePico : 0n);
      steps.push(
        `band ${String(band)}: ${f.chargedUnits} s × ${picoText(big(unitPrice))} ${c} per ${String(unitSeconds)} s` +
          (limit === null ? ` = ${picoText(usage)} ${c} (half-up to 12 decimals)` : ''),
      );
    }
    if (connectFeePico !== 0n) steps.push(`connect fee ${picoText(connectFeePico)} ${c}`);
    if (limit !== null) steps.push(`${String(limit)} charge applies`);
  } else if (f.kind === KIND_DATA) {
    steps.push(`${f.chargedUnits / f.blockBytes} blocks of ${f.blockBytes} B`);
  }
  if (f.tier !== undefined) {
    steps.push(
      `tiers ${String(f.tier[5])}..${String(f.tier[6])} after ${String(f.tier[3])} units this month`,
    );
  }
  if (f.pricedInEvent) steps.push(`${f.chargeableUnits} × the event's own price`);
  steps.push(`total ${picoText(f.amountPico)} ${c}`);
  return steps.join('; ');
}
