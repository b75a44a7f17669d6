/**
 * Packed charge traces: how a rated record's trace is stored by file imports.
 *
 * A compact charge trace (rating's compactTrace) is a JSON array of about 360 characters, and most
 * of them are names and ids that repeat on every record of a subscription: the subscription id
 * twice, the offer code and version id twice, the tariff code and version id, the allowance code,
 * the zone, the time zone. Stored as they are they make up half of a rated row, and on a load of
 * millions of rows the bytes written are most of what storing costs. So an importer stores the
 * trace as tokens (TraceTokenWriter, written as compactTrace builds the trace):
 *
 *   ^["T1"0nnns#3#4#5#6#7"EUR"0,1#8,115,115,0,0nn[#9#3#4s#10#11,24322,115]['49#12nn60,1,60n0n]n#13,1]
 *
 * - a leading `^` marks the token form (a plain trace starts with `[` or `{`);
 * - `s` and `a` stand for the row's own subscription id and account id;
 * - `#n` stands for word n of the tenant's trace words (usage_trace_words);
 * - `n`, `t`, `f` are null, true and false, and values need no commas between them (the grammar
 *   is at TOKEN_TRACE_MARK).
 *
 * Unpacking writes the JSON text of the same values (unpackTokenTrace): that trace is 97 characters
 * stored instead of 411. Words are added as they first occur and never change; the dictionary
 * stays small, since it holds catalog names (offers, versions, tariffs, zones, bands, allowances,
 * time zones) and the few owners of shared allowances, not one entry per subscriber; strings of
 * digits (matched prefixes, amounts beyond 2^53) stay in the trace.
 *
 * Rows written before the token form hold the older packed JSON text, which is still read:
 *
 *   ~["T1",0,null,null,null,$s,#3,#4,"voice",#5,#6,"EUR",0,1,#7,115,115,0,0,null,null,[#8,#3,#4,$s,…
 *
 * where `$s`, `$a` and `#n` replace whole JSON strings of six characters or more without escapes
 * (the row's subscription id, its account id, word n). unpackStoredTrace reads all three forms.
 */

import { jsonString } from '../kernel/json-text.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DOLLAR = 0x24;
const HASH = 0x23;

/** The first character of a packed trace. */
export const PACKED_TRACE_MARK = '~';

/**
 * Strings shorter than this stay in a token trace: a reference would not be shorter ('voice' is
 * 7 characters inline and about 3 as a word). Strings of digits never become words: a large rate
 * deck has as many distinct matched prefixes as prefixes, and every importer loads the tenant's
 * whole dictionary.
 */
const MIN_TOKEN_WORD_LENGTH = 4;

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
  /** TraceTokenWriter's memory: the last word at each string ordinal, and its id. */
  readonly lastTokenWords: Array<string | undefined> = [];
  readonly lastIds: number[] = [];

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

// ---------------------------------------------------------------------------------------------
// Token traces: the form file imports write

/** The first character of a token trace. */
export const TOKEN_TRACE_MARK = '^';

/*
 * The characters of a token trace (all ASCII). A trace is the mark and one value; a value is
 *
 *   [ values ]      an array                 n t f   null, true, false
 *   digits          an integer ≥ 0           - digits  a negative integer
 *   # digits        trace word (a string)    s a     the row's subscription id, account id
 *   ' digits        a string of digits       " … "   any other string, as JSON with only ASCII
 *   = text ;        a number that is not a safe integer, as String(number) writes it
 *
 * Values follow each other with nothing between them, except that a ',' separates a number from
 * a value before it that ends in a digit. Unpacking writes the JSON text of the same values.
 */
const enum Token {
  OPEN = 0x5b, // [
  CLOSE = 0x5d, // ]
  NULL = 0x6e, // n
  TRUE = 0x74, // t
  FALSE = 0x66, // f
  SEPARATOR = 0x2c, // ,
  MINUS = 0x2d, // -
  WORD = 0x23, // #
  SUBSCRIPTION = 0x73, // s
  ACCOUNT = 0x61, // a
  DIGIT_STRING = 0x27, // '
  QUOTE = 0x22, // "
  RAW_NUMBER = 0x3d, // =
  RAW_END = 0x3b, // ;
  ZERO = 0x30,
  NINE = 0x39,
}

const isDigit = (c: number): boolean => c >= Token.ZERO && c <= Token.NINE;

/** Whether every character of `text` is an ASCII digit ('' included). */
function allDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

/**
 * Writes a charge trace as tokens as rating's compactTrace builds it: the TraceSink compactTrace
 * takes (rating/explain.ts, matched structurally), giving about a third of the length of the JSON
 * text. Names and ids of four characters or more, but not strings of digits, become trace words
 * (TraceWords); the row's own subscription and account ids are one character each. Call forRow()
 * with the row's owner before each trace; the bytes go into one reused buffer, read out as a
 * one-byte string at the end.
 */
export class TraceTokenWriter {
  private buffer = Buffer.allocUnsafe(1024);
  private at = 0;
  /** The last character written is a digit: a number after it needs a separator. */
  private digitLast = false;
  private ordinal = 0;
  private subscriptionId = '';
  private accountId = '';

  constructor(private readonly words: TraceWords) {}

  /** The owner of the next trace's row: its ids are written as `s` and `a`. */
  forRow(subscriptionId: string, accountId: string): this {
    this.subscriptionId = subscriptionId;
    this.accountId = accountId;
    return this;
  }

  begin(): void {
    this.at = 0;
    this.ordinal = 0;
    this.room(1);
    this.buffer[this.at++] = TOKEN_TRACE_MARK.charCodeAt(0);
    this.digitLast = false;
  }

  open(): void {
    this.token(Token.OPEN);
  }

  close(): void {
    this.token(Token.CLOSE);
  }

  nil(): void {
    this.token(Token.NULL);
  }

  bool(value: boolean): void {
    this.token(value ? Token.TRUE : Token.FALSE);
  }

  number(value: number): void {
    if (!Number.isSafeInteger(value)) {
      const text = String(value);
      this.room(text.length + 2);
      this.buffer[this.at++] = Token.RAW_NUMBER;
      this.ascii(text);
      this.buffer[this.at++] = Token.RAW_END;
      this.digitLast = false;
      return;
    }
    this.room(18);
    if (value < 0) {
      this.buffer[this.at++] = Token.MINUS;
      this.digits(-value);
    } else {
      if (this.digitLast) this.buffer[this.at++] = Token.SEPARATOR;
      this.digits(value);
    }
    this.digitLast = true;
  }

  string(value: string): void {
    const ordinal = this.ordinal++;
    if (allDigits(value)) {
      this.room(value.length + 1);
      this.buffer[this.at++] = Token.DIGIT_STRING;
      this.ascii(value);
      this.digitLast = true;
      return;
    }
    if (value.length >= MIN_TOKEN_WORD_LENGTH) {
      const words = this.words;
      if (words.lastTokenWords[ordinal] === value) return this.word(words.lastIds[ordinal] as number);
      if (value === this.subscriptionId) return this.token(Token.SUBSCRIPTION);
      if (value === this.accountId) return this.token(Token.ACCOUNT);
      const id = words.idFor(value);
      if (id >= 0) {
        words.lastTokenWords[ordinal] = value;
        words.lastIds[ordinal] = id;
        return this.word(id);
      }
    }
    // JSON, with every character beyond ASCII escaped, so the trace stays one byte a character.
    const json = jsonString(value);
    this.room(json.length * 6);
    for (let i = 0; i < json.length; i++) {
      const c = json.charCodeAt(i);
      if (c < 0x7f) this.buffer[this.at++] = c;
      else this.ascii(`\\u${c.toString(16).padStart(4, '0')}`);
    }
    this.digitLast = false;
  }

  finish(): string {
    return this.buffer.toString('latin1', 0, this.at);
  }

  private token(code: number): void {
    this.room(1);
    this.buffer[this.at++] = code;
    this.digitLast = false;
  }

  private word(id: number): void {
    this.room(18);
    this.buffer[this.at++] = Token.WORD;
    this.digits(id);
    this.digitLast = true;
  }

  /** The decimal digits of a safe integer ≥ 0 (room made by the caller). */
  private digits(value: number): void {
    const buffer = this.buffer;
    if (value < 10) {
      buffer[this.at++] = Token.ZERO + value;
      return;
    }
    if (value > 0x7fffffff) {
      this.ascii(String(value));
      return;
    }
    let length = 1;
    for (let p = 10; p <= value; p *= 10) length++;
    let i = this.at + length;
    this.at = i;
    let n = value;
    do {
      const q = (n / 10) | 0;
      buffer[--i] = Token.ZERO + n - q * 10;
      n = q;
    } while (n > 0);
  }

  /** ASCII text (room made by the caller). */
  private ascii(text: string): void {
    const buffer = this.buffer;
    for (let i = 0; i < text.length; i++) buffer[this.at++] = text.charCodeAt(i);
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }
}

export function isTokenTrace(text: string): boolean {
  return text.startsWith(TOKEN_TRACE_MARK);
}

/** The end of the run of digits at `from`. */
function digitsEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  return i;
}

function badToken(packed: string, at: number): Error {
  return new Error(
    `a stored charge trace is not a token trace: unexpected ${JSON.stringify(packed.charAt(at))} at ${at}`,
  );
}

/**
 * Walks a token trace: `visit` gets each value's JSON text (words by `word`, the owner ids by
 * `subscription` and `account`), with the array brackets, and says nothing of commas.
 */
function walkTokens(
  packed: string,
  value: (json: string, opens: boolean, closes: boolean) => void,
  word: (id: number) => string,
  subscription: () => string,
  account: () => string,
): void {
  let i = TOKEN_TRACE_MARK.length;
  const length = packed.length;
  while (i < length) {
    const c = packed.charCodeAt(i);
    if (isDigit(c)) {
      const end = digitsEnd(packed, i);
      value(packed.slice(i, end), false, false);
      i = end;
      continue;
    }
    switch (c) {
      case Token.SEPARATOR:
        i++;
        break;
      case Token.OPEN:
        value('[', true, false);
        i++;
        break;
      case Token.CLOSE:
        value(']', false, true);
        i++;
        break;
      case Token.NULL:
        value('null', false, false);
        i++;
        break;
      case Token.TRUE:
        value('true', false, false);
        i++;
        break;
      case Token.FALSE:
        value('false', false, false);
        i++;
        break;
      case Token.SUBSCRIPTION:
        value(subscription(), false, false);
        i++;
        break;
      case Token.ACCOUNT:
        value(account(), false, false);
        i++;
        break;
      case Token.MINUS:
      case Token.WORD:
      case Token.DIGIT_STRING: {
        const end = digitsEnd(packed, i + 1);
        const digits = packed.slice(i + 1, end);
        if (c === Token.MINUS) {
          if (digits === '') throw badToken(packed, i);
          value(`-${digits}`, false, false);
        } else if (c === Token.WORD) {
          if (digits === '') throw badToken(packed, i);
          value(word(Number(digits)), false, false);
        } else value(`"${digits}"`, false, false);
        i = end;
        break;
      }
      case Token.QUOTE: {
        const close = closingQuote(packed, i);
        if (close < 0) throw badToken(packed, i);
        value(packed.slice(i, close + 1), false, false);
        i = close + 1;
        break;
      }
      case Token.RAW_NUMBER: {
        const end = packed.indexOf(';', i);
        if (end < 0) throw badToken(packed, i);
        value(packed.slice(i + 1, end), false, false);
        i = end + 1;
        break;
      }
      default:
        throw badToken(packed, i);
    }
  }
}

/** Adds the word ids a token trace refers to into `into`. */
export function tokenTraceWordIds(packed: string, into: Set<number>): void {
  walkTokens(
    packed,
    () => undefined,
    (id) => {
      into.add(id);
      return '';
    },
    () => '',
    () => '',
  );
}

/**
 * The JSON trace a token trace stands for. `wordOf` gives a word by id; a missing word (a broken
 * database) throws, naming it.
 */
export function unpackTokenTrace(
  packed: string,
  subscriptionId: string,
  accountId: string,
  wordOf: (id: number) => string | undefined,
): string {
  const pieces: string[] = [];
  let first = true;
  walkTokens(
    packed,
    (json, opens, closes) => {
      if (closes) {
        pieces.push(json);
        first = false;
        return;
      }
      if (!first) pieces.push(',');
      pieces.push(json);
      first = opens;
    },
    (id) => {
      const word = wordOf(id);
      if (word === undefined)
        throw new Error(`a packed charge trace refers to trace word ${id}, which is not stored`);
      return JSON.stringify(word);
    },
    () => JSON.stringify(subscriptionId),
    () => JSON.stringify(accountId),
  );
  return pieces.join('');
}

/** Adds the word ids of a stored trace (token, packed or plain) into `into`. */
export function storedTraceWordIds(trace: string, into: Set<number>): void {
  if (isTokenTrace(trace)) tokenTraceWordIds(trace, into);
  else if (isPackedTrace(trace)) traceWordIds(trace, into);
}

/** A stored trace (token, packed or plain) as its JSON text. */
export function unpackStoredTrace(
  trace: string,
  subscriptionId: string,
  accountId: string,
  wordOf: (id: number) => string | undefined,
): string {
  if (isTokenTrace(trace)) return unpackTokenTrace(trace, subscriptionId, accountId, wordOf);
  if (isPackedTrace(trace)) return unpackTrace(trace, subscriptionId, accountId, wordOf);
  return trace;
}
