import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hashKey, KeyHashSet, packKeyHashes, unpackKeyHashesInto, type KeyHash } from './dedup.js';

const hashOf = (key: string): KeyHash => hashKey(key, { hi: 0, lo: 0 });

describe('usage dedup keys', () => {
  it('hashes deterministically and tells different keys apart', () => {
    assert.deepEqual(hashOf('r|call-1'), hashOf('r|call-1'));
    assert.notDeepEqual(hashOf('r|call-1'), hashOf('r|call-2'));
    // Anagrams and length changes must not collide either.
    assert.notDeepEqual(hashOf('r|ab'), hashOf('r|ba'));
    assert.notDeepEqual(hashOf('r|a'), hashOf('r|a\u0000'));
  });

  it('finds no collision among 200 000 realistic record ids', () => {
    const seen = new Set<string>();
    const out = { hi: 0, lo: 0 };
    for (let i = 0; i < 200_000; i++) {
      hashKey(`r|msc01-2026112900${i.toString().padStart(7, '0')}`, out);
      const text = `${out.hi}:${out.lo}`;
      assert.ok(!seen.has(text), `collision at ${i}`);
      seen.add(text);
    }
  });

  it('a set answers like a JavaScript Set of the same keys, across growth', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 12 }), { maxLength: 3000 }), (keys) => {
        const set = new KeyHashSet(4);
        const model = new Set<string>();
        for (const key of keys) {
          const added = set.add(hashOf(key));
          assert.equal(added, !model.has(key));
          model.add(key);
        }
        assert.equal(set.size, model.size);
        for (const key of keys) assert.ok(set.has(hashOf(key)));
        assert.ok(!set.has(hashOf('\u0001never-added\u0001')) || model.has('\u0001never-added\u0001'));
      }),
      { numRuns: 50 },
    );
  });

  it('packs and unpacks chunks exactly', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => hashOf(`f|${i}`));
    const pairs = new Uint32Array(keys.flatMap((k) => [k.hi, k.lo]));
    const into = new KeyHashSet();
    assert.equal(unpackKeyHashesInto(packKeyHashes(pairs), into), 1000);
    for (const key of keys) assert.ok(into.has(key));
    assert.throws(() => unpackKeyHashesInto(Buffer.from('abc').toString('base64'), into), /not whole keys/);
  });
});
