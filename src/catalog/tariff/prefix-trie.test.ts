import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildPrefixTrie,
  longestPrefix,
  longestPrefixBatch,
  matchCalledNumber,
  type PrefixConflict,
  type PrefixTrie,
} from './prefix-trie.js';

/** The obvious reference: try every prefix, keep the longest that the number starts with. */
function naive(
  table: ReadonlyArray<{ prefix: string; zone: number }>,
  digits: string,
): { zone: number; length: number } {
  let best = { zone: -1, length: 0 };
  for (const { prefix, zone } of table) {
    if (prefix.length > best.length && digits.startsWith(prefix)) best = { zone, length: prefix.length };
  }
  return best;
}

function trieOf(table: ReadonlyArray<{ prefix: string; zone: number }>) {
  return buildPrefixTrie(
    table.map((e) => e.prefix),
    (i) => (table[i] as { zone: number }).zone,
  );
}

const digit = fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9');
/** Digit strings from a small alphabet at the front, so random prefixes and numbers overlap a lot. */
const digits = (min: number, max: number) =>
  fc
    .array(fc.oneof(fc.constantFrom('4', '9'), digit), { minLength: min, maxLength: max })
    .map((a) => a.join(''));

/** A table of distinct prefixes (1 to 10 digits) with zones 0..20. */
const table = (maxEntries: number) =>
  fc
    .uniqueArray(fc.record({ prefix: digits(1, 10), zone: fc.integer({ min: 0, max: 20 }) }), {
      maxLength: maxEntries,
      selector: (e) => e.prefix,
    })
    .map((entries) => entries);

/**
 * longestPrefixBatch over `numbers`, checked against longestPrefix number by number: the same
 * match, and `read` covers only digits and at least the matched prefix.
 */
function checkBatch(trie: PrefixTrie, numbers: readonly string[]): void {
  const n = numbers.length;
  const zone = new Int32Array(n).fill(99);
  const length = new Int32Array(n).fill(99);
  const read = new Int32Array(n).fill(99);
  // Scratch left over from an earlier batch must not matter.
  const entry = new Int32Array(n).fill(-7);
  longestPrefixBatch(trie, numbers, n, zone, length, read, entry);
  numbers.forEach((number, k) => {
    const one = longestPrefix(trie, number);
    assert.deepEqual({ zone: zone[k], length: length[k] }, one, number);
    const r = read[k] as number;
    assert.ok(r >= one.length && r <= number.length, `${number}: read ${r}`);
    assert.match(number.slice(0, r), /^[0-9]*$/, `${number}: read ${r}`);
    // The walk stops only at the end, at a non-digit, or where the trie has nothing longer.
    if (r < number.length && /^[0-9]$/.test(number[r] as string)) {
      assert.deepEqual(longestPrefix(trie, number.slice(0, r + 1)), one, `${number}: stopped at ${r}`);
    }
  });
}

describe('longestPrefixBatch', () => {
  /** Numbers that are mostly digits, with some characters that are not, anywhere. */
  const numberLike = fc.oneof(
    { weight: 4, arbitrary: digits(0, 16) },
    { weight: 1, arbitrary: fc.stringMatching(/^[0-9+ a#]{0,16}$/) },
  );

  it('matches what longestPrefix matches, number by number, on small tables', () => {
    fc.assert(
      fc.property(table(60), fc.array(numberLike, { minLength: 1, maxLength: 40 }), (entries, numbers) => {
        checkBatch(trieOf(entries), numbers);
      }),
      { numRuns: 300 },
    );
  });

  it('matches what longestPrefix matches with a 6-digit jump table', () => {
    const filler = Array.from({ length: 100_001 }, (_, i) => ({
      prefix: `3${String(i).padStart(6, '0')}`,
      zone: 21,
    }));
    fc.assert(
      fc.property(table(200), fc.array(numberLike, { minLength: 1, maxLength: 60 }), (entries, numbers) => {
        const trie = trieOf([...entries.filter((e) => !e.prefix.startsWith('3')), ...filler]);
        assert.equal(trie.jumpDigits, 6);
        checkBatch(trie, [...numbers, '3000042999', '30000', '300004x', '3000042999123']);
      }),
      { numRuns: 10 },
    );
  });
});

describe('longestPrefix', () => {
  it('matches the longest prefix: 49 fixed, 4915 mobile', () => {
    const trie = trieOf([
      { prefix: '49', zone: 0 },
      { prefix: '4915', zone: 1 },
      { prefix: '1', zone: 2 },
    ]);
    assert.deepEqual(longestPrefix(trie, '4915112345678'), { zone: 1, length: 4 });
    assert.deepEqual(longestPrefix(trie, '4930123456'), { zone: 0, length: 2 });
    assert.deepEqual(longestPrefix(trie, '4916'), { zone: 0, length: 2 });
    assert.deepEqual(longestPrefix(trie, '12125551234'), { zone: 2, length: 1 });
    assert.deepEqual(longestPrefix(trie, '331234'), { zone: -1, length: 0 });
    assert.deepEqual(longestPrefix(trie, ''), { zone: -1, length: 0 });
    assert.deepEqual(longestPrefix(trie, '4'), { zone: -1, length: 0 });
  });

  it('writes into the object it is given, so a hot loop allocates nothing', () => {
    const trie = trieOf([{ prefix: '49', zone: 3 }]);
    const out = { zone: -1, length: 0 };
    const result = longestPrefix(trie, '4930', out);
    assert.equal(result, out);
    assert.deepEqual(out, { zone: 3, length: 2 });
  });

  it('stops at the first non-digit, as if the number ended there', () => {
    const trie = trieOf([
      { prefix: '49', zone: 0 },
      { prefix: '491', zone: 1 },
    ]);
    assert.deepEqual(longestPrefix(trie, '49x1'), { zone: 0, length: 2 });
    assert.deepEqual(longestPrefix(trie, '+491'), { zone: -1, length: 0 });
  });

  it('agrees with the naive reference on random tables and numbers (small tables)', () => {
    fc.assert(
      fc.property(table(60), fc.array(digits(0, 16), { minLength: 1, maxLength: 30 }), (entries, numbers) => {
        const trie = trieOf(entries);
        for (const number of numbers)
          assert.deepEqual(longestPrefix(trie, number), naive(entries, number), number);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with the naive reference with a 6-digit jump table (large tables)', () => {
    // 200k+ prefixes would make the naive reference slow; a jump table of 6 digits needs more
    // than 10^5 prefixes, so pad a random table with filler prefixes under 3xxxxx.
    const filler = Array.from({ length: 100_001 }, (_, i) => ({
      prefix: `3${String(i).padStart(6, '0')}`,
      zone: 21,
    }));
    fc.assert(
      fc.property(
        table(200),
        fc.array(digits(0, 16), { minLength: 1, maxLength: 50 }),
        (entries, numbers) => {
          const all = [...entries.filter((e) => !e.prefix.startsWith('3')), ...filler];
          const trie = trieOf(all);
          assert.equal(trie.jumpDigits, 6);
          for (const number of numbers)
            assert.deepEqual(longestPrefix(trie, number), naive(all, number), number);
          assert.deepEqual(longestPrefix(trie, '3000042999'), { zone: 21, length: 7 });
        },
      ),
      { numRuns: 10 },
    );
  });

  it('packs a node as its digit map, its answer and only the slots of digits with a child', () => {
    // The module comment's example: 49 → zone 0, 4915 → zone 1. Nodes in order: root, "4", "49",
    // "491" (c); c stores one slot, for digit 5, holding the leaf "4915"'s answer 1 × 32 + 4 = 36.
    const trie = trieOf([
      { prefix: '49', zone: 0 },
      { prefix: '4915', zone: 1 },
    ]);
    assert.deepEqual([...trie.nodes], [1 << 4, -1, 3, 1 << 9, -1, 6, 1 << 1, 2, 9, 1 << 5, 2, -38]);
    assert.equal(trie.nodeCount, 4);
    assert.deepEqual(longestPrefix(trie, '4915112345'), { zone: 1, length: 4 });
    assert.deepEqual(longestPrefix(trie, '4916'), { zone: 0, length: 2 });
  });

  it('agrees with the naive reference on dense tables, where nodes store many of their ten slots', () => {
    // Prefixes over all ten digits and up to 15 digits long, numbers made by extending prefixes of
    // the table, so walks go deep and nodes have every mix of children, leaves and empty digits.
    const dense = fc
      .uniqueArray(
        fc.record({
          prefix: fc
            .stringMatching(/^[0-9]{1,4}$/)
            .chain((head) => fc.stringMatching(/^[0-9]{0,11}$/).map((tail) => head + tail)),
          zone: fc.integer({ min: 0, max: 5000 }),
        }),
        { minLength: 1, maxLength: 400, selector: (e) => e.prefix },
      )
      .chain((entries) =>
        fc.tuple(
          fc.constant(entries),
          fc.array(
            fc
              .tuple(fc.constantFrom(...entries), fc.stringMatching(/^[0-9]{0,8}$/))
              .map(([entry, tail]) => (entry.prefix + tail).slice(0, 15)),
            { minLength: 1, maxLength: 60 },
          ),
        ),
      );
    fc.assert(
      fc.property(dense, ([entries, numbers]) => {
        const trie = trieOf(entries);
        for (const number of numbers) {
          const expected = naive(entries, number);
          assert.deepEqual(longestPrefix(trie, number), expected, number);
          const out = { zone: -9, length: -9 };
          assert.equal(matchCalledNumber(trie, number, out), true, number);
          assert.deepEqual(out, expected, number);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reports a repeated prefix and keeps the first', () => {
    const conflicts: PrefixConflict[] = [];
    const trie = buildPrefixTrie(
      ['49', '4915', '49'],
      (i) => i,
      (c) => conflicts.push(c),
    );
    assert.deepEqual(conflicts, [{ prefix: '49', firstIndex: 0, index: 2 }]);
    assert.deepEqual(longestPrefix(trie, '4930'), { zone: 0, length: 2 });
  });

  it('refuses a prefix that is empty, too long or not digits', () => {
    assert.throws(() => buildPrefixTrie([''], () => 0), RangeError);
    assert.throws(() => buildPrefixTrie(['4a'], () => 0), RangeError);
    assert.throws(() => buildPrefixTrie(['1234567890123456'], () => 0), RangeError);
  });
});
