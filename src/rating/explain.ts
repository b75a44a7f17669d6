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
 */
export function compactTrace(out: RatingResult, strings: TraceStringWriter = JSON_STRINGS): string {
  // Written out by hand rather than JSON.stringify([...]): that takes about a microsecond for this
  // array on Node 20, this a few hundred nanoseconds. Every string goes through str() and the
  // writer, in the order it appears in the text (see TraceStringWriter). The pieces are joined at
  // the end rather than concatenated as they come: a concatenation is a rope of a few dozen small
  // strings, and a batch importer holds thousands of rows until it writes them, so the ropes
  // would outlive several young-generation collections before SQLite flattened them.
  const w = strings;
  pieceCount = 0;
  const plan = out.plan;
  const service = out.servicePlan;
  const version = out.tariffVersion;
  const tariff = version?.view.compiled;
  put(w.mark);
  put('[');
  put(str(w, COMPACT_VERSION));
  put(out.outcome === 'ok' ? ',0,' : ',1,');
  put(str(w, out.rejectReason));
  put(',');
  put(str(w, out.failure));
  put(',');
  put(out.failure === undefined ? 'null' : str(w, out.failureMessage));
  put(',');
  put(plan === undefined ? 'null' : str(w, plan.subscriptionId));
  put(',');
  if (service === undefined) put('null,null,null,null,');
  else {
    put(str(w, service.offerCode));
    put(',');
    put(str(w, service.offerVersionId));
    put(',');
    put(str(w, service.priceCode));
    put(',');
    put(str(w, service.tariffCode));
    put(',');
  }
  put(version === undefined ? 'null' : str(w, version.versionId));
  put(',');
  put(str(w, out.currency));
  put(',');
  put(out.amountIsBig ? str(w, String(out.amountPicoBig)) : String(out.amountPico));
  put(',');
  put(String(out.kind));
  put(',');
  put(str(w, out.unit));
  put(',');
  put(`${out.units},${out.coveredUnits},${out.chargeableUnits},${out.chargedUnits},`);
  put(tariff !== undefined && out.roamingZone >= 0 ? str(w, tariff.zones[out.roamingZone]) : 'null');
  put(',');
  const counter = out.tierCounter;
  if (tariff !== undefined && counter !== undefined) {
    put('[');
    put(str(w, counter.rate));
    put(',');
    put(str(w, counter.zoneId));
    put(',');
    put(`${out.tierPeriodIndex},${out.tierPriorUnits},${out.tierUnits},${out.tierFirst},${out.tierLast}],[`);
  } else put('null,[');
  if (plan !== undefined) {
    for (let i = 0; i < out.drawCount; i++) {
      const a = out.drawAllowance[i];
      if (a === undefined) continue;
      if (i > 0) put(',');
      put(str(w, a.code));
      put(',');
      put(str(w, a.offerCode));
      put(',');
      put(str(w, a.offerVersionId));
      put(',');
      put(str(w, ownerOf(plan, a)));
      put(',');
      put(str(w, a.sharing));
      put(',');
      put(str(w, a.period));
      put(',');
      put(`${out.drawPeriodIndex[i] as number},${out.drawUnits[i] as number}`);
    }
  }
  put('],');
  const voice = tariff?.voice;
  if (tariff !== undefined && voice !== undefined && out.kind === KIND_VOICE) {
    const bands = tariff.bands.names;
    put('[');
    put(out.calledNumber === undefined ? 'null' : str(w, out.calledNumber.slice(0, out.matchedPrefixLength)));
    put(',');
    put(out.zone >= 0 ? str(w, tariff.zones[out.zone]) : 'null');
    put(',');
    put(out.band >= 0 ? str(w, bands[out.band]) : 'null');
    put(',');
    const parts = out.callParts;
    if (parts === undefined) put('null,');
    else {
      put('[');
      for (let k = 0; k < parts.length; k++) {
        const part = parts[k] as (typeof parts)[number];
        if (k > 0) put(',');
        put(str(w, part.band));
        put(',');
        put(String(part.seconds));
        put(',');
        put(numberText(w, part.amountPico));
      }
      put('],');
    }
    if (out.slot >= 0) {
      put(`${out.firstSec},${out.nextSec},`);
      put(numberText(w, voice.unitSeconds[out.slot] as bigint));
      put(',');
      put(
        out.band >= 0
          ? numberText(w, voice.unitPricePico[out.slot * bands.length + out.band] as bigint)
          : 'null',
      );
      put(',');
    } else put('null,null,null,null,');
    put(String(out.connectFeePico));
    put(',');
    put(out.limit === undefined ? 'null' : str(w, out.limit));
    put('],');
  } else put('null,');
  if (tariff !== undefined && out.kind === KIND_DATA) {
    put(String(out.blockBytes));
    put(',');
  } else if (tariff !== undefined && out.kind === KIND_EVENT) {
    put('[');
    put(str(w, out.eventType));
    put(out.pricedInEvent ? ',true],' : ',false],');
  } else put('null,');
  if (plan === undefined) put('null,null]');
  else {
    put(str(w, plan.timeZone));
    put(',');
    put(String(plan.billCycleDay));
    put(']');
  }
  return joinPieces();
}

/**
 * compactTrace's pieces, one trace at a time: the array is reused and never shortened (setting
 * an array's length to 0 gives its storage back, and growing it again for every trace allocated
 * more than the trace itself); pieces past the trace's are emptied before the join.
 */
const PIECES: string[] = [];
let pieceCount = 0;
let piecesUsed = 0;

function put(piece: string): void {
  PIECES[pieceCount++] = piece;
}

function joinPieces(): string {
  const count = pieceCount;
  for (let i = count; i < piecesUsed; i++) PIECES[i] = '';
  piecesUsed = count;
  return PIECES.join('');
}

/**
 * How compactTrace writes the strings of a trace. The default writes each as JSON; a file import
 * packs names and ids into references to a word table as it goes (usage/trace-words.ts
 * TracePacker), which is exactly packTrace of the JSON trace without writing and scanning it.
 * `string` is called once per string of the trace, in the order of the text, numbers written as
 * strings included; what it returns stands in the text for the string.
 */
export interface TraceStringWriter {
  /** Written before the trace: '' for the JSON form. */
  readonly mark: string;
  string(value: string): string;
}

const JSON_STRINGS: TraceStringWriter = { mark: '', string: jsonString };

/** A string through the writer; undefined as null (not a string, so not the writer's). */
function str(w: TraceStringWriter, value: string | undefined): string {
  return value === undefined ? 'null' : w.string(value);
}

/** A bigint as a JSON number when it is a safe integer, else as decimal text in a JSON string. */
function numberText(w: TraceStringWriter, value: bigint): string {
  return value >= -9007199254740991n && value <= 9007199254740991n ? String(value) : w.string(String(value));
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
