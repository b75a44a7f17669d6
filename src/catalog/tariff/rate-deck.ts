/**
 * Rate-deck import: a carrier's CSV price list becomes a prefix table, zones and voice rates, the
 * fragment of a tariff definition that a workflow merges into a tariff (and then validates and
 * compiles as a whole).
 *
 * The format, one header line and one row per prefix (RFC 4180 CSV: fields containing a comma,
 * a quote or a line break are quoted, and a quote inside is doubled):
 *
 *     prefix,description,rate,connect_fee,increments,currency,effective_date
 *     4915,"Germany, mobile",0.0125,0,60/60,EUR,2026-01-01
 *
 * - prefix: E.164 digits (no '+', no 00); each prefix once per currency.
 * - description: the destination's name; rows are grouped into zones by it (see `zoneBy`).
 * - rate: decimal major units per minute (60 s), 0 or more, at most 12 decimals.
 * - connect_fee: decimal major units per answered call; empty means 0.
 * - increments: "first/next" seconds, such as 60/60, 30/6 or 1/1.
 * - currency: ISO 4217 code.
 * - effective_date: YYYY-MM-DD, the local date the row's price starts.
 * Columns may come in any order; their names are matched case-insensitively; extra columns are
 * ignored. A UTF-8 byte-order mark and CRLF line ends are accepted; blank lines are skipped.
 *
 * Every bad row is reported with its line (the physical line its record starts on, the header
 * being line 1), the column and why, and nothing is produced when there is any: the fragment is
 * undefined, so a deck with errors can never be half imported. A whole deck is checked, not just
 * up to the first error, so one round of fixes is enough.
 *
 * The reader is streaming: it takes the deck as one string or buffer, or as an async iterable of
 * chunks (a file or HTTP body stream), splits records as they arrive and keeps only the current
 * partial record between chunks. The rows themselves are kept (the zones can only be formed once
 * the whole deck is known); 200k rows take a few tens of megabytes.
 */
import { isCurrency } from '../../kernel/currencies.js';
import { fail } from '../../kernel/errors.js';
import { parseLocalDate } from './calendar.js';
import { TariffErrors } from './errors.js';
import type { PrefixTable, ZoneDefinition, ZoneRate } from './model.js';
import { MAX_PREFIX_DIGITS } from './prefix-trie.js';
import { isDigits } from './validate.js';

export interface RateDeckOptions {
  /** Id and name of the prefix table produced ('rate-deck' when absent). */
  readonly tableId?: string;
  readonly tableName?: string;
  /**
   * 'description' (default): prefixes with the same description and the same prices form one
   * zone named by the description. When one description has prefixes at different prices, each
   * price gets its own zone: the first keeps the description, the next are "<description> #2",
   * "#3" and so on in order of first appearance. 'prefix': every prefix is its own zone, named by
   * the prefix (for decks whose descriptions are not meant as zones).
   */
  readonly zoneBy?: 'description' | 'prefix';
  /**
   * A local date "YYYY-MM-DD". When given, rows effective after it are left out (counted in
   * `futureRows`), and when a prefix has several rows in one currency, the one with the latest
   * effective date on or before `asOf` is used. Without it, a prefix listed twice in one currency
   * is an error, because the reader has no clock to decide which row is current.
   */
  readonly asOf?: string;
}

export interface RateDeckRowError {
  /** Physical line number where the record starts; the header is line 1. */
  readonly line: number;
  /** The column at fault ('prefix', 'rate', ...), 'row' for the record as a whole, 'header' for the header. */
  readonly field: string;
  readonly message: string;
}

/** The part of a tariff definition a deck describes. */
export interface RateDeckFragment {
  readonly prefixTable: PrefixTable;
  readonly zones: readonly ZoneDefinition[];
  /** Voice rates, one per zone and currency, unitSeconds 60 (deck rates are per minute). */
  readonly rates: readonly ZoneRate[];
  /** The currencies of the rows, in order of first appearance. */
  readonly currencies: readonly string[];
  /** The latest effective date among the rows used, undefined for an empty deck. */
  readonly effectiveFrom: string | undefined;
}

export interface RateDeckResult {
  /** Data records read (blank lines and the header not counted). */
  readonly rows: number;
  /** Rows left out because they take effect after `asOf`. */
  readonly futureRows: number;
  readonly errors: readonly RateDeckRowError[];
  /** undefined whenever `errors` is not empty. */
  readonly fragment: RateDeckFragment | undefined;
}

const COLUMNS = [
  'prefix',
  'description',
  'rate',
  'connect_fee',
  'increments',
  'currency',
  'effective_date',
] as const;
type Column = (typeof COLUMNS)[number];

/** Reads a whole deck held in memory. */
export function parseRateDeck(input: string | Uint8Array, options: RateDeckOptions = {}): RateDeckResult {
  const reader = new RateDeckReader(options);
  reader.push(input);
  return reader.finish();
}

/** Reads a deck from a stream of chunks (strings, or bytes decoded as UTF-8). */
export async function readRateDeck(
  chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  options: RateDeckOptions = {},
): Promise<RateDeckResult> {
  const reader = new RateDeckReader(options);
  for await (const chunk of chunks) reader.push(chunk);
  return reader.finish();
}

/** The fragment of a result, or a `tariff.invalid_rate_deck` error listing every row error. */
export function requireRateDeckFragment(result: RateDeckResult): RateDeckFragment {
  if (result.fragment !== undefined) return result.fragment;
  const count = result.errors.length;
  const first = result.errors[0];
  throw fail(
    TariffErrors.invalid_rate_deck,
    `the rate deck has ${count} error${count === 1 ? '' : 's'}` +
      (first === undefined ? '' : `, first on line ${first.line} (${first.field}): ${first.message}`),
    { errors: result.errors.map((e) => ({ field: `line ${e.line}/${e.field}`, message: e.message })) },
  );
}

/** One accepted row, kept until the deck is complete. */
interface Row {
  readonly line: number;
  readonly prefix: string;
  readonly description: string;
  /** Canonical decimal text (no redundant zeros), so "0.0100" and "0.01" price alike. */
  readonly rate: string;
  readonly connectFee: string;
  readonly firstSec: number;
  readonly nextSec: number;
  readonly currency: string;
  readonly effectiveDate: string;
}

/** The incremental reader behind parseRateDeck and readRateDeck: push chunks, then finish. */
export class RateDeckReader {
  private readonly options: RateDeckOptions;
  private readonly asOfDay: number | undefined;
  private readonly decoder = new TextDecoder('utf-8');
  private readonly splitter = new CsvSplitter();
  private readonly errors: RateDeckRowError[] = [];
  /** Column positions once the header is read; -1 until then. */
  private readonly position: Record<Column, number> = {
    prefix: -1,
    description: -1,
    rate: -1,
    connect_fee: -1,
    increments: -1,
    currency: -1,
    effective_date: -1,
  };
  private headerSeen = false;
  private headerOk = false;
  private columnCount = 0;
  private rowCount = 0;
  private futureRows = 0;
  /** The rows in use, in the order their prefix (and currency) first appeared. */
  private readonly rows: Row[] = [];
  /** Prefix → index in `rows`, for rows in the deck's first currency (almost always all of them). */
  private readonly rowOfPrefix = new DigitIndex();
  /** "prefix\0currency" → index in `rows`, for rows in any other currency. */
  private readonly rowOfOtherCurrency = new Map<string, number>();
  private firstCurrency: string | undefined;
  private finished = false;

  constructor(options: RateDeckOptions = {}) {
    this.options = options;
    if (options.asOf !== undefined) {
      this.asOfDay = parseLocalDate(options.asOf);
      if (this.asOfDay === undefined) {
        throw fail(
          TariffErrors.invalid_rate_deck,
          `asOf ${JSON.stringify(options.asOf)} is not a date YYYY-MM-DD`,
          {
            field: 'asOf',
          },
        );
      }
    }
  }

  push(chunk: string | Uint8Array): void {
    if (this.finished) throw new Error('RateDeckReader: push after finish');
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    this.splitter.feed(text, false, this.onRecord, this.onCsvError);
  }

  finish(): RateDeckResult {
    if (this.finished) throw new Error('RateDeckReader: finish called twice');
    this.finished = true;
    const tail = this.decoder.decode();
    this.splitter.feed(tail, true, this.onRecord, this.onCsvError);
    if (!this.headerSeen)
      this.error(1, 'header', `the deck is empty; expected the header ${COLUMNS.join(',')}`);
    const errors = [...this.errors].sort((a, b) => a.line - b.line);
    return {
      rows: this.rowCount,
      futureRows: this.futureRows,
      errors,
      fragment: errors.length === 0 ? this.fragment() : undefined,
    };
  }

  private error(line: number, field: string, message: string): void {
    this.errors.push({ line, field, message });
  }

  private readonly onCsvError = (line: number, message: string): void => {
    this.error(line, 'row', message);
  };

  private readonly onRecord = (fields: string[], line: number): void => {
    if (fields.length === 1 && (fields[0] as string).trim() === '') return; // a blank line
    if (!this.headerSeen) {
      this.header(fields, line);
      return;
    }
    this.rowCount++;
    if (!this.headerOk) return;
    if (fields.length !== this.columnCount) {
      this.error(
        line,
        'row',
        `${fields.length} fields, but the header has ${this.columnCount}` +
          (fields.length > this.columnCount ? '; quote fields that contain a comma' : ''),
      );
      return;
    }
    this.row(fields, line);
  };

  private header(fields: string[], line: number): void {
    this.headerSeen = true;
    this.columnCount = fields.length;
    const names = fields.map((f) => f.trim().toLowerCase());
    if (names[0]?.startsWith('\ufeff')) names[0] = names[0].slice(1);
    let ok = true;
    for (const column of COLUMNS) {
      const at = names.indexOf(column);
      if (at < 0) {
        this.error(line, 'header', `column "${column}" is missing; the header needs ${COLUMNS.join(',')}`);
        ok = false;
      } else if (names.indexOf(column, at + 1) >= 0) {
        this.error(line, 'header', `column "${column}" appears twice`);
        ok = false;
      }
      this.position[column] = at;
    }
    this.headerOk = ok;
  }

  /**
   * Checks one row and keeps it. Every column is checked even after one fails, so a row with two
   * mistakes reports both. Cheap checks (character loops, one small regular expression for the
   * increments) keep 200k rows well under a second.
   */
  private row(fields: string[], line: number): void {
    const p = this.position;
    const prefix = (fields[p.prefix] as string).trim();
    const description = (fields[p.description] as string).trim();
    const rateText = (fields[p.rate] as string).trim();
    const feeText = (fields[p.connect_fee] as string).trim();
    const incrementsText = (fields[p.increments] as string).trim();
    const currency = (fields[p.currency] as string).trim();
    const dateText = (fields[p.effective_date] as string).trim();
    let ok = true;

    if (!isDigits(prefix, MAX_PREFIX_DIGITS) || prefix.charCodeAt(0) === 48) {
      this.error(line, 'prefix', prefixProblem(prefix));
      ok = false;
    }
    const zoneBy = this.options.zoneBy ?? 'description';
    if (zoneBy === 'description' && description === '') {
      this.error(line, 'description', 'the description is empty; zones are formed from descriptions');
      ok = false;
    }
    const rate = canonicalDecimal(rateText);
    if (typeof rate !== 'string') {
      this.error(line, 'rate', `rate ${JSON.stringify(rateText)} ${rate.problem}`);
      ok = false;
    }
    const fee = feeText === '' ? '0' : canonicalDecimal(feeText);
    if (typeof fee !== 'string') {
      this.error(line, 'connect_fee', `connect fee ${JSON.stringify(feeText)} ${fee.problem}`);
      ok = false;
    }
    const increments = this.increments(incrementsText);
    const firstSec = increments?.[0] ?? 0;
    const nextSec = increments?.[1] ?? 0;
    if (increments === undefined) {
      this.error(
        line,
        'increments',
        `increments ${JSON.stringify(incrementsText)} must be "first/next" whole seconds of at least 1, like 60/60 or 30/6`,
      );
      ok = false;
    }
    const upper = currency.toUpperCase();
    if (!isCurrency(currency)) {
      const hint = isCurrency(upper) ? '; codes are upper case' : '';
      this.error(line, 'currency', `${JSON.stringify(currency)} is not an ISO 4217 currency code${hint}`);
      ok = false;
    }
    const day = this.date(dateText);
    if (day === undefined) {
      this.error(line, 'effective_date', `${JSON.stringify(dateText)} is not a date YYYY-MM-DD`);
      ok = false;
    }
    if (!ok) return;
    if (this.asOfDay !== undefined && (day as number) > this.asOfDay) {
      this.futureRows++;
      return;
    }

    const row: Row = {
      line,
      prefix,
      description: this.intern(description),
      rate: this.intern(rate as string),
      connectFee: this.intern(fee as string),
      firstSec,
      nextSec,
      currency: this.intern(currency),
      effectiveDate: this.intern(dateText),
    };
    // Rows in the deck's first currency are found by prefix in a digit index (no hashing of 200k
    // distinct strings); rows in other currencies by "prefix\0currency" in a map.
    this.firstCurrency ??= currency;
    const next = this.rows.length;
    let at: number;
    if (currency === this.firstCurrency) {
      at = this.rowOfPrefix.getOrAdd(prefix, next);
    } else {
      const key = `${prefix}\u0000${currency}`;
      at = this.rowOfOtherCurrency.get(key) ?? -1;
      if (at < 0) this.rowOfOtherCurrency.set(key, next);
    }
    if (at < 0) {
      this.rows.push(row);
      return;
    }
    const earlier = this.rows[at] as Row;
    if (this.asOfDay === undefined) {
      this.error(
        line,
        'prefix',
        `prefix ${prefix} already has a ${currency} rate on line ${earlier.line}; list each prefix once per ` +
          'currency, or pass asOf to pick among rows with different effective dates',
      );
    } else if (earlier.effectiveDate === dateText) {
      this.error(
        line,
        'prefix',
        `prefix ${prefix} already has a ${currency} rate effective ${dateText} on line ${earlier.line}`,
      );
    } else if (dateText > earlier.effectiveDate) {
      // "YYYY-MM-DD" text compares like the dates it names. The later row replaces the earlier one
      // but keeps its place, so zones are still ordered by first appearance.
      this.rows[at] = row;
    }
  }

  /**
   * A deck repeats a handful of increments and dates in every row, so each distinct text is
   * parsed once. Without this, building a Date for each of 200k rows is a tenth of the parse.
   */
  private readonly incrementsCache = new Map<string, readonly [number, number] | undefined>();
  private readonly dateCache = new Map<string, number | undefined>();

  /**
   * One string object per distinct text among the repetitive columns (descriptions, prices,
   * currencies, dates). Each row's fields are fresh strings cut from its line; keeping those would
   * make the garbage collector copy five strings per row from the young generation to the old
   * one, while the interned copy is one string per distinct value. Bounded, so a deck of unique
   * descriptions does not grow the table without limit (it then just keeps the row's own strings).
   */
  private readonly interned = new Map<string, string>();

  private intern(text: string): string {
    const known = this.interned.get(text);
    if (known !== undefined) return known;
    if (this.interned.size < 100_000) this.interned.set(text, text);
    return text;
  }

  /** [first, next] seconds of "first/next", both 1 or more; undefined when malformed. */
  private increments(text: string): readonly [number, number] | undefined {
    if (this.incrementsCache.has(text)) return this.incrementsCache.get(text);
    const match = /^([0-9]{1,5})\/([0-9]{1,5})$/.exec(text);
    const first = match === null ? 0 : Number(match[1]);
    const next = match === null ? 0 : Number(match[2]);
    const parsed = first >= 1 && next >= 1 ? ([first, next] as const) : undefined;
    if (this.incrementsCache.size < 1000) this.incrementsCache.set(text, parsed);
    return parsed;
  }

  private date(text: string): number | undefined {
    if (this.dateCache.has(text)) return this.dateCache.get(text);
    const day = parseLocalDate(text);
    if (this.dateCache.size < 10_000) this.dateCache.set(text, day);
    return day;
  }

  /** Groups the rows into zones and rates; only called when every row was good. */
  private fragment(): RateDeckFragment {
    const zoneBy = this.options.zoneBy ?? 'description';
    let single: string | undefined;
    let several = false;
    for (const row of this.rows) {
      if (single === undefined) single = row.currency;
      else if (row.currency !== single) {
        several = true;
        break;
      }
    }
    return several ? this.multiCurrencyFragment(zoneBy) : this.singleCurrencyFragment(zoneBy);
  }

  /**
   * The common case, every row in one currency: each row is its prefix's only row, and a zone is
   * a description with one set of prices.
   */
  private singleCurrencyFragment(zoneBy: 'description' | 'prefix'): RateDeckFragment {
    const zones: ZoneDefinition[] = [];
    const rates: ZoneRate[] = [];
    // Description → the zones made of it so far, each with the row that set its prices. A
    // description almost always has one price level, so the list is scanned, not keyed; that
    // avoids building and hashing a "description + prices" string for each of 200k rows.
    const groups = new Map<string, Array<{ zone: string; row: Row }>>();
    const usedIds = new Set<string>();
    const variants = new Map<string, number>();
    const entries = new Array<{ prefix: string; zone: string }>(this.rows.length);
    let currency: string | undefined;
    let effectiveFrom: string | undefined;
    for (let i = 0; i < this.rows.length; i++) {
      const row = this.rows[i] as Row;
      currency = row.currency;
      if (effectiveFrom === undefined || row.effectiveDate > effectiveFrom) effectiveFrom = row.effectiveDate;
      let zone: string | undefined;
      if (zoneBy === 'prefix') {
        zone = row.prefix;
      } else {
        let list = groups.get(row.description);
        if (list === undefined) {
          list = [];
          groups.set(row.description, list);
        }
        for (const group of list) {
          if (samePrices(group.row, row)) {
            zone = group.zone;
            break;
          }
        }
        if (zone === undefined) {
          zone = this.zoneId(row.description, usedIds, variants);
          list.push({ zone, row });
        }
      }
      if (!usedIds.has(zone) || zoneBy === 'prefix') {
        usedIds.add(zone);
        zones.push(row.description === '' ? { id: zone } : { id: zone, description: row.description });
        rates.push(this.rateOf(zone, row));
      }
      entries[i] = { prefix: row.prefix, zone };
    }
    return {
      prefixTable: this.table(entries),
      zones,
      rates,
      currencies: currency === undefined ? [] : [currency],
      effectiveFrom,
    };
  }

  private rateOf(zone: string, row: Row): ZoneRate {
    return {
      zone,
      currency: row.currency,
      connectFee: row.connectFee,
      unitSeconds: 60,
      unitPrice: row.rate,
      increments: { firstSec: row.firstSec, nextSec: row.nextSec },
    };
  }

  private table(entries: Array<{ prefix: string; zone: string }>): PrefixTable {
    return {
      id: this.options.tableId ?? 'rate-deck',
      name: this.options.tableName ?? this.options.tableId ?? 'rate deck',
      entries,
    };
  }

  /**
   * Several currencies: a prefix may have one row per currency, and a zone is a description with
   * the same prices in every currency, so the rows are first gathered per prefix.
   */
  private multiCurrencyFragment(zoneBy: 'description' | 'prefix'): RateDeckFragment {
    const currencies: string[] = [];
    // Prefix → its rows, one per currency (most decks have one currency, so mostly one row).
    const byPrefix = new Map<string, Row[]>();
    let effectiveFrom: string | undefined;
    for (const row of this.rows) {
      if (!currencies.includes(row.currency)) currencies.push(row.currency);
      const list = byPrefix.get(row.prefix);
      if (list === undefined) byPrefix.set(row.prefix, [row]);
      else list.push(row);
      if (effectiveFrom === undefined || row.effectiveDate > effectiveFrom) effectiveFrom = row.effectiveDate;
    }

    const zones: ZoneDefinition[] = [];
    const rates: ZoneRate[] = [];
    const zoneOfKey = new Map<string, string>();
    const usedIds = new Set<string>();
    const variants = new Map<string, number>();
    const entries: Array<{ prefix: string; zone: string }> = [];
    for (const [prefix, list] of byPrefix) {
      if (list.length > 1) list.sort((a, b) => (a.currency < b.currency ? -1 : 1));
      const first = list[0] as Row;
      // A zone is a description plus the same prices in every currency.
      const terms = list
        .map((r) => `${r.currency}:${r.rate}:${r.connectFee}:${r.firstSec}/${r.nextSec}`)
        .join('|');
      const key = zoneBy === 'prefix' ? prefix : `${first.description}\u0000${terms}`;
      let zone = zoneOfKey.get(key);
      if (zone === undefined) {
        zone = zoneBy === 'prefix' ? prefix : this.zoneId(first.description, usedIds, variants);
        usedIds.add(zone);
        zoneOfKey.set(key, zone);
        zones.push(first.description === '' ? { id: zone } : { id: zone, description: first.description });
        for (const r of list) rates.push(this.rateOf(zone, r));
      }
      entries.push({ prefix, zone });
    }
    return {
      prefixTable: this.table(entries),
      zones,
      rates,
      currencies,
      effectiveFrom,
    };
  }

  /** The description itself, or "<description> #n" for its n-th price level (never an id in use). */
  private zoneId(description: string, used: Set<string>, variants: Map<string, number>): string {
    if (!used.has(description)) return description;
    let n = variants.get(description) ?? 1;
    let id: string;
    do {
      n++;
      id = `${description} #${n}`;
    } while (used.has(id));
    variants.set(description, n);
    return id;
  }
}

/** Same prices, increments and currency (the rate text is canonical, so equal prices are equal text). */
function samePrices(a: Row, b: Row): boolean {
  return (
    a.rate === b.rate &&
    a.connectFee === b.connectFee &&
    a.firstSec === b.firstSec &&
    a.nextSec === b.nextSec &&
    a.currency === b.currency
  );
}

/**
 * A map from digit strings (1 to 15 digits) to non-negative numbers, as a growable typed-array
 * digit trie: node n's child for digit d is children[n × 10 + d] (0 for none; node 0 is the
 * root), and value[n] is the number stored for the digits that lead to n, or -1. A lookup or
 * insert walks one node per digit and hashes nothing, which for 200k distinct prefixes is
 * several times faster than a Map of strings.
 */
class DigitIndex {
  private children = new Int32Array(10 * 1024);
  private value = new Int32Array(1024).fill(-1);
  private count = 1;

  /** The value stored for `digits`; when there is none, stores `value` and returns -1. */
  getOrAdd(digits: string, value: number): number {
    let node = 0;
    for (let i = 0; i < digits.length; i++) {
      const slot = node * 10 + (digits.charCodeAt(i) - 48);
      let child = this.children[slot] as number;
      if (child === 0) {
        child = this.newNode();
        this.children[slot] = child;
      }
      node = child;
    }
    const found = this.value[node] as number;
    if (found < 0) this.value[node] = value;
    return found;
  }

  private newNode(): number {
    if (this.count === this.value.length) {
      const children = new Int32Array(this.children.length * 2);
      children.set(this.children);
      this.children = children;
      const value = new Int32Array(this.value.length * 2).fill(-1);
      value.set(this.value);
      this.value = value;
    }
    return this.count++;
  }
}

/**
 * Decimal text of 0 or more with at most 12 decimals, in canonical form: leading zeros of the
 * whole part and trailing zeros of the fraction dropped ("007.50" → "7.5", "0.0100" → "0.01",
 * "1.000" → "1"). Or the reason it is not one.
 */
function canonicalDecimal(text: string): string | { problem: string } {
  if (text === '') return { problem: 'is empty' };
  let dot = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 && dot < 0 && i > 0) dot = i;
    else if (c - 48 < 0 || c - 48 > 9) {
      if (i === 0 && c === 45) return { problem: 'is negative; rates and fees are 0 or more' };
      return { problem: 'is not a decimal number like 0.0125 (digits, one "." and no exponent)' };
    }
  }
  if (dot === text.length - 1) return { problem: 'has no digit after the decimal point' };
  if (dot >= 0 && text.length - dot - 1 > 12) return { problem: 'has more than 12 decimal places' };
  // Leading zeros end at `start` (keeping one digit before the point); trailing zeros of the
  // fraction start at `end`. Text already canonical ("0.0125") is returned as it is, uncopied.
  const wholeEnd = dot < 0 ? text.length : dot;
  let start = 0;
  while (start < wholeEnd - 1 && text.charCodeAt(start) === 48) start++;
  let end = text.length;
  if (dot >= 0) {
    while (end > dot + 1 && text.charCodeAt(end - 1) === 48) end--;
    if (end === dot + 1) end = dot; // "1.000" -> "1"
  }
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function prefixProblem(prefix: string): string {
  if (prefix === '') return 'the prefix is empty';
  if (prefix.startsWith('+') || prefix.startsWith('0')) {
    return `prefix ${JSON.stringify(prefix)} must be E.164 digits without "+", 00 or a trunk 0 (4930, not +4930)`;
  }
  if (prefix.length > MAX_PREFIX_DIGITS)
    return `prefix ${JSON.stringify(prefix)} is longer than ${MAX_PREFIX_DIGITS} digits`;
  return `prefix ${JSON.stringify(prefix)} has a character that is not a digit 0-9`;
}

/**
 * Splits CSV text into records, chunk by chunk. A record normally ends at a line break; inside a
 * quoted field a line break is data. The fast path handles a record without any quote with one
 * indexOf and one split; records with quotes go through a small state machine.
 *
 * Between chunks it keeps the unfinished last record (and its line number) and nothing else.
 */
class CsvSplitter {
  private rest = '';
  private line = 1;
  private first = true;

  feed(
    chunk: string,
    final: boolean,
    onRecord: (fields: string[], line: number) => void,
    onError: (line: number, message: string) => void,
  ): void {
    let text = this.rest === '' ? chunk : this.rest + chunk;
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const n = text.length;
    let pos = 0;
    // Position of the next quote at or after pos, or n when there is none: found once and reused,
    // so a deck without quotes is scanned for them once, not once per line.
    let nextQuote = text.indexOf('"');
    if (nextQuote < 0) nextQuote = n;
    while (pos < n) {
      let newline = text.indexOf('\n', pos);
      if (newline < 0) {
        if (!final) break;
        newline = n;
      }
      if (nextQuote < pos) {
        nextQuote = text.indexOf('"', pos);
        if (nextQuote < 0) nextQuote = n;
      }
      if (nextQuote >= newline) {
        const end = newline > pos && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
        onRecord(text.slice(pos, end).split(','), this.line);
        this.line++;
        pos = newline + 1;
        continue;
      }
      const parsed = this.quoted(text, pos, final);
      if (parsed === undefined) break; // the record continues in the next chunk
      if (parsed.error !== undefined) onError(this.line, parsed.error);
      else onRecord(parsed.fields, this.line);
      this.line += parsed.lines;
      pos = parsed.next;
    }
    this.rest = pos < n ? text.slice(pos) : '';
  }

  /**
   * Parses one record that has a quote, from `start`. Returns undefined when the text ends inside
   * the record and more may come; otherwise the fields (or an error), the position after the
   * record and how many physical lines it took.
   */
  private quoted(
    text: string,
    start: number,
    final: boolean,
  ): { fields: string[]; error?: string; next: number; lines: number } | undefined {
    const n = text.length;
    const fields: string[] = [];
    let field = '';
    let pos = start;
    let lines = 1;
    for (;;) {
      // At the start of a field.
      if (pos < n && text.charCodeAt(pos) === 34) {
        pos++;
        let closed = false;
        while (pos < n) {
          const q = text.indexOf('"', pos);
          if (q < 0) {
            pos = n;
            break;
          }
          const piece = text.slice(pos, q);
          for (let i = piece.indexOf('\n'); i >= 0; i = piece.indexOf('\n', i + 1)) lines++;
          field += piece;
          if (q + 1 < n && text.charCodeAt(q + 1) === 34) {
            field += '"';
            pos = q + 2;
            continue;
          }
          if (q + 1 >= n && !final) return undefined; // "" may be split across chunks
          pos = q + 1;
          closed = true;
          break;
        }
        if (!closed) {
          if (!final) return undefined;
          return { fields, error: 'a quoted field is not closed before the end of the deck', next: n, lines };
        }
        const c = pos < n ? text.charCodeAt(pos) : -1;
        if (c !== 44 && c !== 10 && c !== 13 && c !== -1) {
          const end = text.indexOf('\n', pos);
          if (end < 0 && !final) return undefined; // report it once the whole record is here
          return {
            fields,
            error: 'text after a closing quote; a quote inside a quoted field is written twice ("")',
            next: end < 0 ? n : end + 1,
            lines,
          };
        }
      } else {
        // An unquoted field runs to the next comma or line break; a quote inside it is an error.
        let end = pos;
        while (end < n) {
          const c = text.charCodeAt(end);
          if (c === 44 || c === 10) break;
          if (c === 34) {
            const lineEnd = text.indexOf('\n', end);
            if (lineEnd < 0 && !final) return undefined;
            return {
              fields,
              error: 'a quote inside an unquoted field; quote the whole field and double the inner quote',
              next: lineEnd < 0 ? n : lineEnd + 1,
              lines,
            };
          }
          end++;
        }
        if (end >= n && !final) return undefined;
        // A CR right before the line break belongs to the CRLF, not to the field.
        const cr = end > pos && text.charCodeAt(end - 1) === 13 && (end >= n || text.charCodeAt(end) === 10);
        field = text.slice(pos, cr ? end - 1 : end);
        pos = end;
      }
      fields.push(field);
      field = '';
      const c = pos < n ? text.charCodeAt(pos) : -1;
      if (c === 44) {
        pos++;
        continue;
      }
      if (c === 13) pos++;
      if (pos < n && text.charCodeAt(pos) === 10) pos++;
      else if (pos >= n && !final) return undefined;
      return { fields, next: pos, lines };
    }
  }
}
