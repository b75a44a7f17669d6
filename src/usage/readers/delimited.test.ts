import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ReadItem } from '../model.js';
import { readDelimited, RecordScanner, type RecordView } from './delimited.js';
import { chunked } from './text-fixtures.js';

/** Reads `bytes` with a handler that returns each record's fields as the raw of a record item. */
async function fields(
  bytes: Uint8Array,
  sizes: readonly number[] = [],
  byteOffset = 0,
  line = 1,
): Promise<ReadItem[]> {
  const items: ReadItem[] = [];
  const handle = (view: RecordView, position: { line: number; byteOffset: number }): ReadItem => {
    const values: Array<string | null> = [];
    for (let i = 0; i < view.fieldCount; i++) values.push(view.fieldText(i) ?? null);
    return {
      kind: 'reject',
      position,
      raw: view.line,
      reason: 'unsupported_record',
      message: JSON.stringify(values),
    };
  };
  for await (const batch of readDelimited(
    chunked(bytes, sizes),
    { source: 's', delimiter: 44, quote: 34, encoding: 'utf8', maxRecordBytes: 256 },
    { byteOffset, line },
    handle,
  )) {
    items.push(...batch);
  }
  return items;
}

const values = (items: ReadItem[]) => items.map((item) => (item.kind === 'reject' ? item.message : ''));

describe('RecordScanner', () => {
  it('finds fields of plain, quoted and escaped records', () => {
    const scanner = new RecordScanner(44, 34);
    const buffer = Buffer.from('a,"b,c","d""e",,"x\ny"\r\nnext');
    const next = scanner.scan(buffer, 0, buffer.length, false);
    assert.equal(scanner.fieldCount, 5);
    assert.equal(scanner.lineBreaks, 1);
    assert.equal(buffer.subarray(next).toString(), 'next');
    assert.equal(scanner.scan(buffer, next, buffer.length, false), -1);
    assert.equal(scanner.scan(buffer, next, buffer.length, true), buffer.length);
  });
});

describe('readDelimited', () => {
  const sample =
    '\ufeffid,name,note\r\n' +
    '1,plain,"with, comma"\n' +
    '\n' +
    '2,"multi\nline","say ""hi"""\r\n' +
    '3,"",ünïcödé\n' +
    '4,last,no newline';
  it('reads RFC 4180 records with positions and line numbers', async () => {
    const items = await fields(Buffer.from(sample));
    assert.deepEqual(values(items), [
      '["id","name","note"]',
      '["1","plain","with, comma"]',
      '["2","multi\\nline","say \\"hi\\""]',
      '["3","","ünïcödé"]',
      '["4","last","no newline"]',
    ]);
    assert.deepEqual(
      items.map((item) => item.position.line),
      [1, 2, 4, 6, 7],
    );
    const bytes = Buffer.from(sample);
    for (const item of items) {
      // Each position points at the record's first byte, so a resumed read can seek there.
      assert.equal(
        bytes.subarray(item.position.byteOffset).toString().startsWith(item.raw.slice(0, 1)),
        true,
      );
    }
  });
  it('gives the same items whatever the chunk boundaries (every single byte, and random sizes)', async () => {
    const bytes = Buffer.from(sample);
    const whole = await fields(bytes);
    assert.deepEqual(await fields(bytes, [1]), whole);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
        async (sizes) => {
          assert.deepEqual(await fields(bytes, sizes), whole);
        },
      ),
      { numRuns: 200 },
    );
  });
  it('is chunking-independent on generated CSV (property)', async () => {
    const cell = fc
      .stringMatching(/^[a-z0-9 ,"\n]{0,6}$/)
      .map((text) => (/[,"\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text));
    const file = fc
      .array(fc.array(cell, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 })
      .map((rows) => rows.map((row) => row.join(',')).join('\r\n'));
    await fc.assert(
      fc.asyncProperty(
        file,
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1 }),
        async (text, sizes) => {
          const bytes = Buffer.from(text);
          assert.deepEqual(await fields(bytes, sizes), await fields(bytes));
        },
      ),
      { numRuns: 300 },
    );
  });
  it('resumes from a record start mid-file', async () => {
    const bytes = Buffer.from(sample);
    const whole = await fields(bytes);
    const third = whole[2] as ReadItem;
    const resumed = await fields(
      bytes.subarray(third.position.byteOffset),
      [5],
      third.position.byteOffset,
      third.position.line,
    );
    assert.deepEqual(resumed, whole.slice(2));
  });
  it('rejects an unterminated quote at the end of a truncated file, and text after a closing quote', async () => {
    const items = await fields(Buffer.from('1,ok\n2,"open\n3,x\n'));
    assert.equal(items.length, 2);
    const last = items[1] as Extract<ReadItem, { kind: 'reject' }>;
    assert.equal(last.reason, 'malformed_record');
    assert.match(last.message, /^s line 2: column 2 opens a quote that is never closed/);
    const after = await fields(Buffer.from('1,"a"b,c\n2,d\n'));
    assert.equal((after[0] as Extract<ReadItem, { kind: 'reject' }>).reason, 'malformed_record');
    assert.match((after[0] as Extract<ReadItem, { kind: 'reject' }>).message, /text after its closing quote/);
    assert.deepEqual(values(after.slice(1)), ['["2","d"]']);
  });
  it('cuts an overlong record (an unterminated quote mid-file) at its first line break and goes on', async () => {
    const text = `1,"never closed\n${'2,x\n'.repeat(100)}`;
    const items = await fields(Buffer.from(text), [64]);
    const first = items[0] as Extract<ReadItem, { kind: 'reject' }>;
    assert.equal(first.reason, 'malformed_record');
    assert.match(first.message, /longer than 256 bytes/);
    assert.equal(items.length, 101);
    assert.equal(items[1]?.position.line, 2);
  });
  it('reports invalid UTF-8 in a field as undefined (the reader rejects it)', async () => {
    const bytes = Buffer.concat([Buffer.from('1,'), Buffer.from([0xc3, 0x28]), Buffer.from(',ok\n')]);
    const items = await fields(bytes);
    assert.deepEqual(values(items), ['["1",null,"ok"]']);
  });
});
