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
  it('refuses a record longer than the limit the same way whether or not a chunk holds it whole', async () => {
    // Limit 5000 bytes, above the 4096 bytes of raw a reject keeps; records of 6000 bytes.
    const long = `1,${'x'.repeat(6000)}`;
    const bytes = Buffer.from(`a,b\r\n${long}\r\n2,ok\n${long}\n3,end\n`);
    const read = async (sizes: readonly number[]): Promise<ReadItem[]> => {
      const items: ReadItem[] = [];
      const handle = (view: RecordView, position: { line: number; byteOffset: number }): ReadItem => ({
        kind: 'record',
        position,
        raw: view.line,
        input: undefined as never,
      });
      for await (const batch of readDelimited(
        chunked(bytes, sizes),
        { source: 's', delimiter: 44, quote: 34, encoding: 'utf8', maxRecordBytes: 5000 },
        { byteOffset: 0, line: 1 },
        handle,
      )) {
        items.push(...batch);
      }
      return items;
    };
    const whole = await read([]);
    assert.deepEqual(
      whole.map((item) => [item.kind, item.position.line, item.raw.length]),
      [
        ['record', 1, 3],
        ['reject', 2, 4096],
        ['record', 3, 4],
        ['reject', 4, 4096],
        ['record', 5, 5],
      ],
    );
    assert.match(
      (whole[1] as Extract<ReadItem, { kind: 'reject' }>).message,
      /^s line 2: the record is longer than 5000 bytes/,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 7000 }), { minLength: 1, maxLength: 6 }),
        async (sizes) => {
          assert.deepEqual(await read(sizes), whole);
        },
      ),
      { numRuns: 100 },
    );
  });
  it('rejects every record of a UTF-16 or UTF-32 file as malformed, naming the encoding', async () => {
    const text = 'id,name\r\n1,ok\r\n2,fine\r\n';
    const utf16be = Buffer.from(text, 'utf16le').swap16();
    const utf32le = Buffer.concat([...text].map((c) => Buffer.from([c.charCodeAt(0), 0, 0, 0])));
    const files: Array<[string, Buffer]> = [
      ['UTF-16LE', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
      ['UTF-16BE', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be])],
      ['UTF-32LE', Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), utf32le])],
    ];
    for (const [encoding, bytes] of files) {
      const whole = await fields(bytes);
      // One reject per line of text: the NUL half of the last line break is no record.
      assert.equal(whole.length, 3, encoding);
      for (const item of whole) {
        assert.equal(item.kind, 'reject');
        const reject = item as Extract<ReadItem, { kind: 'reject' }>;
        assert.equal(reject.reason, 'malformed_record');
        assert.equal(reject.field, 'encoding');
        assert.match(
          reject.message,
          new RegExp(
            `^s line \\d: the file is ${encoding} text \\(it starts with the byte order mark [0-9A-F ]+\\); source s reads UTF-8 text`,
          ),
        );
      }
      assert.deepEqual(
        whole.map((item) => [item.position.line, item.raw]),
        [
          [1, 'id,name'],
          [2, '1,ok'],
          [3, '2,fine'],
        ],
        encoding,
      );
      // The mark is found whatever the chunks: even one octet at a time.
      assert.deepEqual(await fields(bytes, [1]), whole, encoding);
      assert.deepEqual(await fields(bytes, [3, 1]), whole, encoding);
    }
    // A UTF-8 mark is still skipped, and a file of three octets is still read.
    assert.deepEqual(values(await fields(Buffer.from('\ufeffa,b\n'), [1])), ['["a","b"]']);
    assert.deepEqual(values(await fields(Buffer.from('a,b'))), ['["a","b"]']);
  });
  it('reports invalid UTF-8 in a field as undefined (the reader rejects it)', async () => {
    const bytes = Buffer.concat([Buffer.from('1,'), Buffer.from([0xc3, 0x28]), Buffer.from(',ok\n')]);
    const items = await fields(bytes);
    assert.deepEqual(values(items), ['["1",null,"ok"]']);
  });
});
