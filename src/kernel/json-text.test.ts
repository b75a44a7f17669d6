import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonString, needsJsonEscape } from './json-text.js';

describe('jsonString', () => {
  it('writes exactly what JSON.stringify writes, for any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          // Any UTF-16 code unit, lone surrogates included.
          fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) }),
        ),
        (value) => {
          assert.equal(jsonString(value), JSON.stringify(value));
          assert.equal(needsJsonEscape(value), JSON.stringify(value) !== `"${value}"`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('escapes quotes, backslashes, control characters and lone surrogates', () => {
    assert.equal(jsonString('a"b\\c\n'), '"a\\"b\\\\c\\n"');
    assert.equal(jsonString('\ud800'), '"\\ud800"');
    assert.equal(jsonString('😀 Köln'), '"😀 Köln"');
  });
});
