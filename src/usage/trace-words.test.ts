import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  isPackedTrace,
  packTrace,
  TracePacker,
  traceWordIds,
  TraceWords,
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

  it('packs as it is built exactly what packTrace makes of the JSON trace', () => {
    // Strings from a small pool, so words repeat within and across records and ordinals match.
    const pool = [
      SUBSCRIPTION,
      ACCOUNT,
      'MOBILE-POSTPAID-M',
      'Europe/Berlin',
      'EUR',
      'second',
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
    );
    const record = fc.record({
      subscription: fc.constantFrom(SUBSCRIPTION, 'sub_other_000000000000000000'),
      account: fc.constantFrom(ACCOUNT, 'acct_other_00000000000000000'),
      strings: fc.array(text, { maxLength: 16 }),
    });
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 8 }),
        (records, ids) => {
          const scanned = reserved(ids);
          const built = reserved(ids);
          const packer = new TracePacker(built);
          for (const { subscription, account, strings } of records) {
            const json = `[${strings.map((v) => JSON.stringify(v)).join(',')}]`;
            packer.begin(subscription, account);
            const direct = `${packer.mark}[${strings.map((v) => packer.string(v)).join(',')}]`;
            assert.equal(direct, packTrace(json, subscription, account, scanned));
            assert.deepEqual(built.takeAdded(), scanned.takeAdded());
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
