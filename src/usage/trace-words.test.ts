import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JsonTraceSink, type TraceSink } from '../rating/index.js';
import {
  isPackedTrace,
  isTokenTrace,
  PACKED_TRACE_MARK,
  storedTraceWordIds,
  TraceTokenWriter,
  traceWordIds,
  TraceWords,
  unpackStoredTrace,
  unpackTokenTrace,
  unpackTrace,
} from './trace-words.js';

const SUBSCRIPTION = 'sub_01M8KJT9G0H5YDC2T2JDEQ4QTT';
const ACCOUNT = 'acct_01M8KJT9G0H5YDC2T2JDEQ4QTR';

// A compact trace as rating writes it (layout T1).
const TRACE =
  '["T1",0,null,null,null,"sub_01M8KJT9G0H5YDC2T2JDEQ4QTT","MOBILE-POSTPAID-M","ofv_01M8KJT9G0H5YDC2T2JDEQ4KPQ",' +
  '"voice","MOBILE-STANDARD","trv_01M8KJT9G0H5YDC2T2JDEQ4KNM","EUR",0,1,"second",115,115,0,0,null,null,' +
  '["minutes","MOBILE-POSTPAID-M","ofv_01M8KJT9G0H5YDC2T2JDEQ4KPQ","sub_01M8KJT9G0H5YDC2T2JDEQ4QTT","subscription","month",24322,115],' +
  '["49","DE-fixed",null,null,60,1,60,null,0,null],null,"Europe/Berlin",1]';

/**
 * The packed form rows were written in before token traces (the module comment): every JSON
 * string of six characters or more without escapes becomes `$s`, `$a` or `#n` when it has a word.
 * Importers no longer write it; the tests write it to check that it still reads.
 */
function packTrace(trace: string, subscriptionId: string, accountId: string, words: TraceWords): string {
  const packed = trace.replace(/"((?:[^"\\]|\\.)*)"/g, (token, text: string) => {
    if (text.length < 6 || text.includes('\\')) return token;
    if (text === subscriptionId) return '$s';
    if (text === accountId) return '$a';
    const id = words.idFor(text);
    return id < 0 ? token : `#${id}`;
  });
  return `${PACKED_TRACE_MARK}${packed}`;
}

function reserved(count = 64): TraceWords {
  const words = new TraceWords();
  words.load([]);
  words.reserve(1, count);
  return words;
}

function roundTrip(trace: string, words: TraceWords, subscription = SUBSCRIPTION, account = ACCOUNT): string {
  const packed = packTrace(trace, subscription, account, words);
  const stored = new Map(words.takeAdded().map(({ id, word }) => [id, word]));
  return unpackTrace(packed, subscription, account, (id) => stored.get(id));
}

describe('packed charge traces', () => {
  it('stores a trace in about a third of its length and gives it back exactly', () => {
    const words = reserved();
    const packed = packTrace(TRACE, SUBSCRIPTION, ACCOUNT, words);
    assert.ok(isPackedTrace(packed));
    assert.ok(packed.length * 2 < TRACE.length, `${packed.length} of ${TRACE.length}`);
    assert.ok(packed.includes('$s'));
    const added = words.takeAdded();
    const ids = new Set<number>();
    traceWordIds(packed, ids);
    assert.deepEqual(
      [...ids].sort((a, b) => a - b),
      added.map((a) => a.id).sort((a, b) => a - b),
    );
    const stored = new Map(added.map(({ id, word }) => [id, word]));
    assert.equal(
      unpackTrace(packed, SUBSCRIPTION, ACCOUNT, (id) => stored.get(id)),
      TRACE,
    );
    // The second record of the plan adds no word.
    packTrace(TRACE, SUBSCRIPTION, ACCOUNT, words);
    assert.equal(words.takeAdded().length, 0);
  });

  it('leaves strings inline when no id is left, and escaped strings always', () => {
    const words = reserved(0);
    const trace = '["T1","a \\"quoted\\" name","MOBILE-STANDARD",{"key":"Europe/Berlin"}]';
    const packed = packTrace(trace, SUBSCRIPTION, ACCOUNT, words);
    assert.equal(packed, `~${trace}`);
    assert.equal(roundTrip(trace, reserved()), trace);
  });

  it('refuses a trace whose word is not stored', () => {
    const packed = packTrace(TRACE, SUBSCRIPTION, ACCOUNT, reserved());
    assert.throws(() => unpackTrace(packed, SUBSCRIPTION, ACCOUNT, () => undefined), /trace word 1/);
  });

  it('round-trips any JSON value', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.constantFrom(SUBSCRIPTION, 'x$s#1"', ''),
        fc.constantFrom(ACCOUNT, 'acct-#2'),
        (value, subscription, account) => {
          const trace = JSON.stringify(value);
          assert.equal(roundTrip(trace, reserved(8), subscription, account), trace);
        },
      ),
      { numRuns: 300 },
    );
  });
});

type Value = null | boolean | number | string | Value[];

/** Writes a trace (an array) to a sink value by value, as compactTrace does. */
function write(trace: Value[], sink: TraceSink): string {
  const emit = (value: Value): void => {
    if (value === null) sink.nil();
    else if (typeof value === 'boolean') sink.bool(value);
    else if (typeof value === 'number') sink.number(value);
    else if (typeof value === 'string') sink.string(value);
    else {
      sink.open();
      for (const item of value) emit(item);
      sink.close();
    }
  };
  sink.begin();
  emit(trace);
  return sink.finish();
}

describe('token charge traces', () => {
  const trace = JSON.parse(TRACE) as Value[];

  it('stores a trace in under a third of its JSON length and gives the JSON back exactly', () => {
    const words = reserved();
    const writer = new TraceTokenWriter(words).forRow(SUBSCRIPTION, ACCOUNT);
    const tokens = write(trace, writer);
    assert.ok(isTokenTrace(tokens));
    assert.ok(tokens.length * 3 < TRACE.length, `${tokens.length} of ${TRACE.length}: ${tokens}`);
    const added = words.takeAdded();
    const ids = new Set<number>();
    storedTraceWordIds(tokens, ids);
    assert.deepEqual(
      [...ids].sort((a, b) => a - b),
      added.map((a) => a.id).sort((a, b) => a - b),
    );
    const stored = new Map(added.map(({ id, word }) => [id, word]));
    assert.equal(
      unpackStoredTrace(tokens, SUBSCRIPTION, ACCOUNT, (id) => stored.get(id)),
      TRACE,
    );
    // The next record of the plan adds no word and writes the same tokens.
    assert.equal(write(trace, writer), tokens);
    assert.equal(words.takeAdded().length, 0);
  });

  it('keeps strings of digits (matched prefixes) in the trace, never as words', () => {
    const words = reserved();
    const tokens = write(
      ['4930123456', '0049', '', 'DE-fixed'],
      new TraceTokenWriter(words).forRow(SUBSCRIPTION, ACCOUNT),
    );
    assert.equal(tokens, "^['4930123456'0049'#1]");
    assert.deepEqual(words.takeAdded(), [{ id: 1, word: 'DE-fixed' }]);
    assert.equal(
      unpackTokenTrace(tokens, SUBSCRIPTION, ACCOUNT, () => 'DE-fixed'),
      '["4930123456","0049","","DE-fixed"]',
    );
  });

  it('reads all three stored forms', () => {
    const words = reserved();
    const packed = packTrace(TRACE, SUBSCRIPTION, ACCOUNT, words);
    const tokens = write(trace, new TraceTokenWriter(words).forRow(SUBSCRIPTION, ACCOUNT));
    const stored = new Map(words.takeAdded().map(({ id, word }) => [id, word]));
    for (const form of [TRACE, packed, tokens]) {
      assert.equal(
        unpackStoredTrace(form, SUBSCRIPTION, ACCOUNT, (id) => stored.get(id)),
        TRACE,
      );
    }
  });

  it('refuses a trace whose word is not stored, and text that is not a token trace', () => {
    const tokens = write(trace, new TraceTokenWriter(reserved()).forRow(SUBSCRIPTION, ACCOUNT));
    assert.throws(() => unpackTokenTrace(tokens, SUBSCRIPTION, ACCOUNT, () => undefined), /trace word 1/);
    assert.throws(() => unpackTokenTrace('^[0x]', SUBSCRIPTION, ACCOUNT, () => 'w'), /unexpected "x" at 3/);
    assert.throws(() => unpackTokenTrace('^["open', SUBSCRIPTION, ACCOUNT, () => 'w'), /unexpected/);
    assert.throws(() => unpackTokenTrace('^[#]', SUBSCRIPTION, ACCOUNT, () => 'w'), /unexpected "#"/);
  });

  it('unpacks to exactly what the JSON sink writes, for any values', () => {
    // Strings from a small pool, so words repeat within and across records and ordinals match.
    const pool = [
      SUBSCRIPTION,
      ACCOUNT,
      'MOBILE-POSTPAID-M',
      'Europe/Berlin',
      'EUR',
      'second',
      '49',
      '4930123',
      '',
      'a "quoted" name',
      'back\\slash',
      'Köln-Bonn 😀',
      'lone \ud800 surrogate',
      '123456789012345678901',
      'T1',
    ];
    const text = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...pool) },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
      { weight: 1, arbitrary: fc.stringMatching(/^[0-9]{0,8}$/) },
    );
    const number = fc.oneof(
      fc.integer({ min: -1000, max: 100_000 }),
      fc.maxSafeInteger(),
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    const { value } = fc.letrec<{ value: Value; array: Value[] }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant(null),
        fc.boolean(),
        number,
        text,
        tie('array'),
      ),
      array: fc.array(tie('value'), { maxLength: 8 }),
    }));
    const record = fc.record({
      subscription: fc.constantFrom(SUBSCRIPTION, 'sub_other_000000000000000000'),
      account: fc.constantFrom(ACCOUNT, 'acct_other_00000000000000000'),
      values: fc.array(value, { maxLength: 12 }),
    });
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 0, max: 8 }),
        (records, ids) => {
          const words = reserved(ids);
          const writer = new TraceTokenWriter(words);
          const json = new JsonTraceSink();
          const stored = new Map<number, string>();
          for (const { subscription, account, values } of records) {
            const expected = write(values, json);
            assert.equal(expected, JSON.stringify(values));
            const tokens = write(values, writer.forRow(subscription, account));
            assert.match(tokens, /^\^[\x20-\x7e]*$/, 'a token trace is printable ASCII');
            for (const { id, word } of words.takeAdded()) stored.set(id, word);
            const unpacked = unpackTokenTrace(tokens, subscription, account, (id) => stored.get(id));
            // Characters beyond ASCII come back escaped (\uXXXX): the same JSON value.
            if (/^[\x20-\x7e]*$/.test(expected)) assert.equal(unpacked, expected);
            else assert.deepEqual(JSON.parse(unpacked), JSON.parse(expected));
            const referenced = new Set<number>();
            storedTraceWordIds(tokens, referenced);
            for (const id of referenced) assert.ok(stored.has(id), `word ${id} was added`);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
