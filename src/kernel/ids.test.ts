import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './clock.js';
import { idPattern, isId, newId, randomToken } from './ids.js';

describe('ids', () => {
  it('carry their prefix and a 26-character Crockford base32 body', () => {
    const id = newId('acct', new FakeClock());
    assert.match(id, new RegExp(idPattern('acct')));
    assert.ok(isId(id, 'acct'));
    assert.ok(!isId(id, 'key'));
    assert.ok(!isId('acct_0000000000000000000000000I'), 'I is not in the alphabet');
  });

  it('sort by creation time, and strictly within one millisecond', () => {
    const clock = new FakeClock('2026-01-01T00:00:00.000Z');
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      ids.push(newId('evt', clock));
      if (i % 100 === 99) clock.advanceMs(1);
    }
    const sorted = [...ids].sort();
    assert.deepEqual(ids, sorted);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('encode the time so that a later instant sorts later', () => {
    const a = newId('x1', new FakeClock('2026-01-01T00:00:00.000Z'));
    const b = newId('x1', new FakeClock('2030-06-01T00:00:00.000Z'));
    assert.ok(a < b);
  });

  it('refuses bad prefixes', () => {
    assert.throws(() => newId('Bad', new FakeClock()), /invalid id prefix/);
  });

  it('makes unguessable tokens', () => {
    const a = randomToken();
    assert.equal(a.length, 43);
    assert.notEqual(a, randomToken());
  });
});
