/**
 * Packed charge traces: how a rated record's trace is stored by file imports.
 *
 * A compact charge trace (rating's compactTrace) is a JSON array of about 360 characters, and most
 * of them are names and ids that repeat on every record of a subscription: the subscription id
 * twice, the offer code and version id twice, the tariff code and version id, the allowance code,
 * the zone, the time zone. Stored as they are they make up half of a rated row, and on a load of
 * millions of rows the bytes written are most of what storing costs. So an importer stores the
 * trace packed:
 *
 *   ~["T1",0,null,null,null,$s,#3,#4,"voice",#5,#6,"EUR",0,1,#7,115,115,0,0,null,null,[#8,#3,#4,$s,…
 *
 * - a leading `~` marks the packed form (a plain trace starts with `[` or `{`);
 * - `$s` and `$a` stand for the row's own subscription id and account id (JSON strings);
 * - `#n` stands for word n of the tenant's trace words (usage_trace_words), a JSON string.
 *
 * Only whole JSON string tokens without escapes are replaced, and `$` and `#` never occur outside
 * strings in JSON text, so unpacking gives back exactly the trace that was packed (about 130
 * characters stored instead of 360). Words are added as they first occur and never change; the
 * dictionary stays small, since it holds catalog names (offers, versions, tariffs, zones, bands,
 * allowances, time zones) and the few owners of shared allowances, not one entry per subscriber.
 *
 * Two writers give the same packed text: packTrace packs a JSON trace after the fact (the
 * reference), and TracePacker packs each string as rating's compactTrace writes it, which the
 * importer uses since it spares writing the long strings and scanning them again.
 */

import { jsonString, needsJsonEscape } from '../kernel/json-text.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DOLLAR = 0x24;
const HASH = 0x23;

/** The first character of a packed trace. */
export const PACKED_TRACE_MARK = '~';

/** Strings shorter than this stay in the trace: a reference would not be much shorter. */
const MIN_WORD_LENGTH = 6;

/** Beyond this many words a tenant's new strings stay inline (a safety bound, never reached by a catalog). */
const MAX_WORDS = 100_000;

/** Ids taken from the id block at a time; a batch tops them up before rating. */
export const TRACE_WORD_RESERVE = 64;

/** The index of the quote that closes the JSON string opening at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  let i = open + 1;
  for (;;) {
    const close = text.indexOf('"', i);
    if (close < 0) return -1;
    // A quote preceded by an odd number of backslashes is escaped.
    let slashes = 0;
    for (let k = close - 1; k > open && text.charCodeAt(k) === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return close;
    i = close + 1;
  }
}

/**
 * The tenant's trace words as one importer sees them: the stored ones, and the ones it adds, with
 * ids from a block it reserved in an earlier transaction of its own (so they are its alone).
 */
export class TraceWords {
  private readonly idOf = new Map<string, number>();
  private nextId = 0;
  private endId = 0;
  private added: Array<{ id: number; word: string }> = [];
  loaded = false;
  /** packTrace's memory: the last dictionary word at each string ordinal, and its reference. */
  readonly lastWords: Array<string | undefined> = [];
  readonly lastReferences: string[] = [];
  /** packTrace's scratch list of pieces. */
  readonly pieces: string[] = [];

  /** Adds stored words (first load). */
  load(rows: ReadonlyArray<{ readonly id: number; readonly word: string }>): void {
    for (const row of rows) if (!this.idOf.has(row.word)) this.idOf.set(row.word, row.id);
    this.loaded = true;
  }

  /** How many reserved ids are left. */
  get reserved(): number {
    return this.endId - this.nextId;
  }

  /** Makes ids [first, first + count) available for new words. */
  reserve(first: number, count: number): void {
    this.nextId = first;
    this.endId = first + count;
  }

  /** The word's id, adding it when there is an id left for it; -1 when it stays inline. */
  idFor(word: string): number {
    const id = this.idOf.get(word);
    if (id !== undefined) return id;
    if (this.nextId >= this.endId || this.idOf.size >= MAX_WORDS) return -1;
    const fresh = this.nextId++;
    this.idOf.set(word, fresh);
    this.added.push({ id: fresh, word });
    return fresh;
  }

  /** The words added since the last call, to be stored in the same transaction as the rows using them. */
  takeAdded(): Array<{ id: number; word: string }> {
    const added = this.added;
    this.added = [];
    return added;
  }
}

/**
 * Packs a JSON trace for a row of `subscriptionId` and `accountId` (see the module comment).
 *
 * The k-th string of one trace is most often the k-th string of the trace before (traces of a
 * plan share their layout), so each ordinal remembers its last word and reference: a string is
 * compared in place with that word before it is cut out and looked up, which spares most records
 * a dozen substrings and hash lookups. Quotes are found with indexOf (measured: several times
 * faster than a loop over the characters).
 *
 * The result is joined from its pieces rather than concatenated: a concatenation would be a rope
 * of a few dozen strings holding on to the whole unpacked trace, and an importer keeps a batch of
 * rows in memory until they are written, so each rope would live through several collections.
 */
export function packTrace(
  trace: string,
  subscriptionId: string,
  accountId: string,
  words: TraceWords,
): string {
  const pieces = words.pieces;
  pieces.length = 0;
  pieces.push(PACKED_TRACE_MARK);
  let copied = 0;
  let ordinal = 0;
  const lastWords = words.lastWords;
  const lastReferences = words.lastReferences;
  let open = trace.indexOf('"');
  while (open >= 0) {
    const close = closingQuote(trace, open);
    if (close < 0) break;
    const length = close - open - 1;
    if (length >= MIN_WORD_LENGTH) {
      let replacement: string | undefined;
      const last = lastWords[ordinal];
      if (last !== undefined && last.length === length && trace.startsWith(last, open + 1)) {
        replacement = lastReferences[ordinal];
      } else if (length === subscriptionId.length && trace.startsWith(subscriptionId, open + 1)) {
        replacement = '$s';
      } else if (length === accountId.length && trace.startsWith(accountId, open + 1)) {
        replacement = '$a';
      } else {
        const word = trace.slice(open + 1, close);
        if (!word.includes('\\')) {
          const id = words.idFor(word);
          if (id >= 0) {
            replacement = `#${id}`;
            lastWords[ordinal] = word;
            lastReferences[ordinal] = replacement;
          }
        }
      }
      if (replacement !== undefined) {
        pieces.push(trace.slice(copied, open), replacement);
        copied = close + 1;
      }
    }
    ordinal++;
    open = trace.indexOf('"', close + 1);
  }
  pieces.push(copied === 0 ? trace : trace.slice(copied));
  return pieces.join('');
}

/**
 * Writes a trace packed as it is built: the string writer rating's compactTrace takes
 * (TraceStringWriter, matched structurally), giving exactly packTrace(compactTrace(result), …)
 * without writing the long strings and scanning them again. Call begin() with the row's owner
 * before each trace; the tests hold it to packTrace on random strings.
 */
export class TracePacker {
  readonly mark = PACKED_TRACE_MARK;
  private subscriptionId = '';
  private accountId = '';
  private ordinal = 0;

  constructor(private readonly words: TraceWords) {}

  /** Starts the trace of a row of `subscriptionId` and `accountId`. */
  begin(subscriptionId: string, accountId: string): this {
    this.subscriptionId = subscriptionId;
    this.accountId = accountId;
    this.ordinal = 0;
    return this;
  }

  /** The text for the next string of the trace: a reference, or the string as JSON (packTrace's rules). */
  string(value: string): string {
    const ordinal = this.ordinal++;
    // packTrace sees the JSON text: a string JSON escapes has a backslash there, and stays.
    if (value.length < MIN_WORD_LENGTH || needsJsonEscape(value)) return jsonString(value);
    const words = this.words;
    const last = words.lastWords[ordinal];
    if (last === value) return words.lastReferences[ordinal] as string;
    if (value === this.subscriptionId) return '$s';
    if (value === this.accountId) return '$a';
    const id = words.idFor(value);
    if (id < 0) return `"${value}"`;
    const reference = `#${id}`;
    words.lastWords[ordinal] = value;
    words.lastReferences[ordinal] = reference;
    return reference;
  }
}

export function isPackedTrace(text: string): boolean {
  return text.startsWith(PACKED_TRACE_MARK);
}

/** Adds the word ids a packed trace refers to into `into`. */
export function traceWordIds(packed: string, into: Set<number>): void {
  walk(packed, (id) => {
    into.add(id);
    return '';
  });
}

/**
 * The trace a packed one stands for. `wordOf` gives a word by id; a missing word (a broken
 * database) throws, naming it.
 */
export function unpackTrace(
  packed: string,
  subscriptionId: string,
  accountId: string,
  wordOf: (id: number) => string | undefined,
): string {
  return walk(
    packed,
    (id) => {
      const word = wordOf(id);
      if (word === undefined)
        throw new Error(`a packed charge trace refers to trace word ${id}, which is not stored`);
      return JSON.stringify(word);
    },
    subscriptionId,
    accountId,
  );
}

/** Walks a packed trace outside its strings, replacing references; returns the unpacked text. */
function walk(packed: string, word: (id: number) => string, subscriptionId = '', accountId = ''): string {
  let out = '';
  let copied = PACKED_TRACE_MARK.length;
  let i = copied;
  const length = packed.length;
  while (i < length) {
    const c = packed.charCodeAt(i);
    if (c === QUOTE) {
      const close = closingQuote(packed, i);
      i = close < 0 ? length : close + 1;
      continue;
    }
    if (c === DOLLAR) {
      const which = packed[i + 1];
      out += packed.slice(copied, i) + JSON.stringify(which === 'a' ? accountId : subscriptionId);
      i += 2;
      copied = i;
      continue;
    }
    if (c === HASH) {
      let end = i + 1;
      while (end < length && packed.charCodeAt(end) >= 0x30 && packed.charCodeAt(end) <= 0x39) end++;
      out += packed.slice(copied, i) + word(Number(packed.slice(i + 1, end)));
      i = end;
      copied = i;
      continue;
    }
    i++;
  }
  return out + packed.slice(copied);
}
