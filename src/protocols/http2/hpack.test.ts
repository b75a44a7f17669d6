/**
 * HPACK (RFC 7541): integers and requests from the RFC's Appendix C, the encoder's choices
 * (static index, literal with a static name, strings raw) decoded back by our
 * decoder, the header list size bound, and random input that may only ever raise HpackError.
 * The Huffman code against codes printed in RFC 7541 Appendix B, and the request examples of
 * Appendix C.4 with their dynamic table.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  HUFFMAN_CODES,
  HUFFMAN_CODE_LENGTHS,
  HpackDecoder,
  HpackError,
  decodeHuffman,
  encodeField,
  encodeHuffman,
  fieldBound,
  writeField,
  writeInteger,
  writeStatus,
} from './hpack.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

function decodeAll(decoder: HpackDecoder, block: Buffer, maxListSize?: number): [string, string][] {
  const fields: [string, string][] = [];
  decoder.decode(block, (name, value) => fields.push([name, value]), maxListSize);
  return fields;
}

function encodeBlock(fields: readonly (readonly [string, string])[]): Buffer {
  let bound = 0;
  for (const [name, value] of fields) bound += fieldBound(name, value);
  const target = Buffer.alloc(bound);
  let at = 0;
  for (const [name, value] of fields) at = writeField(target, at, name, value);
  return target.subarray(0, at);
}

describe('HPACK integers', () => {
  it('encodes and decodes the examples of RFC 7541 C.1', () => {
    // C.1.1: 10 with a 5-bit prefix; C.1.2: 1337 with a 5-bit prefix; C.1.3: 42 at an octet boundary.
    const cases: [number, number, string][] = [
      [5, 10, '0a'],
      [5, 1337, '1f 9a 0a'],
      [8, 42, '2a'],
    ];
    for (const [prefix, value, expected] of cases) {
      const target = Buffer.alloc(8);
      assert.equal(writeInteger(target, 0, prefix, 0, value), hex(expected).length);
      assert.deepEqual(target.subarray(0, hex(expected).length), hex(expected));
    }
  });

  it('refuses integers longer than four continuation octets', () => {
    const decoder = new HpackDecoder();
    // Indexed field, 7-bit prefix full, then five continuation octets.
    assert.throws(() => decodeAll(decoder, hex('ff ff ff ff ff 7f')), HpackError);
    // Runs past the block.
    assert.throws(() => decodeAll(decoder, hex('ff ff')), HpackError);
  });
});

describe('HPACK decoding', () => {
  it('decodes the requests of RFC 7541 C.3 (no Huffman) with their dynamic table', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeAll(decoder, hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    assert.deepEqual(decoder.table, { entries: 1, size: 57, maxSize: 4096 });
    assert.deepEqual(decodeAll(decoder, hex('8286 84be 5808 6e6f 2d63 6163 6865')), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    assert.deepEqual(
      decodeAll(decoder, hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65')),
      [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/index.html'],
        [':authority', 'www.example.com'],
        ['custom-key', 'custom-value'],
      ],
    );
    assert.deepEqual(decoder.table, { entries: 3, size: 164, maxSize: 4096 });
  });

  it('enforces the table size updates: within the limit, only at the start of a block', () => {
    const decoder = new HpackDecoder();
    // 3f e1 1f = size update to 4096 (31 + 4065): allowed. 3f e2 1f = 4097: above the limit.
    assert.deepEqual(decodeAll(decoder, hex('3fe11f 82')), [[':method', 'GET']]);
    assert.throws(() => decodeAll(decoder, hex('3fe21f 82')), HpackError);
    assert.throws(() => decodeAll(decoder, hex('82 20')), HpackError);
    // Two updates in a row at the start (shrink, then grow back) are allowed (section 4.2).
    assert.deepEqual(decodeAll(decoder, hex('20 3fe11f 82')), [[':method', 'GET']]);
  });

  it('stops reporting fields past the list size bound but keeps the table in step', () => {
    const decoder = new HpackDecoder();
    // Literal with incremental indexing, new name "x-a", value of 100 'v' (raw), then index 62.
    const value = 'v'.repeat(100);
    const block = Buffer.concat([
      hex('40 03'),
      Buffer.from('x-a'),
      Buffer.from([100]),
      Buffer.from(value),
      hex('be be be'),
    ]);
    const fields: [string, string][] = [];
    // Each field counts 3 + 100 + 32 = 135: two fit in 300, the third and fourth do not.
    const size = decoder.decode(block, (name, v) => fields.push([name, v]), 300);
    assert.equal(size, 4 * 135);
    assert.equal(fields.length, 2);
    assert.deepEqual(decoder.table, { entries: 1, size: 135, maxSize: 4096 });
    // The entry is there for the next block.
    assert.deepEqual(decodeAll(decoder, hex('be')), [['x-a', value]]);
  });

  it('only ever throws HpackError on random or mutated input', () => {
    const valid = encodeBlock([
      [':status', '200'],
      ['content-type', 'application/json'],
      ['location', '/nchf-convergedcharging/v3/chargingdata/abc'],
      ['x-custom', 'a value'],
    ]);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (random, mutations) => {
          for (const block of [Buffer.from(random), Buffer.from(valid)]) {
            for (const [at, byte] of mutations) block[at % block.length] = byte;
            try {
              new HpackDecoder().decode(block, () => undefined, 16_384);
            } catch (error) {
              if (!(error instanceof HpackError)) throw error;
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('HPACK encoding without the dynamic table', () => {
  it('uses a static index when the table has the field, else a literal with the static name', () => {
    assert.deepEqual(encodeBlock([[':status', '200']]), hex('88'));
    assert.deepEqual(encodeBlock([['accept-encoding', 'gzip, deflate']]), hex('90'));
    // content-type (31) without indexing: 0000 1111 0001 0000 (15 + 16), then the value.
    const block = encodeBlock([['content-type', 'application/json']]);
    assert.deepEqual(block.subarray(0, 2), hex('0f 10'));
    assert.deepEqual(decodeAll(new HpackDecoder(), block), [['content-type', 'application/json']]);
    // encodeField (the bench client's) agrees on fields that Huffman cannot shorten.
    assert.deepEqual(encodeField(':method', 'POST'), hex('83'));
    assert.deepEqual(encodeField('x', '%'), encodeBlock([['x', '%']]));
  });

  it('writes strings raw, never Huffman-coded (the response path saves the CPU)', () => {
    const coded = encodeBlock([['x-host', 'www.example.com']]);
    assert.ok(coded.includes(Buffer.from('\x0fwww.example.com', 'latin1')));
    assert.ok(!coded.includes(encodeHuffman('www.example.com')));
    assert.deepEqual(decodeAll(new HpackDecoder(), coded), [['x-host', 'www.example.com']]);
  });

  it('writes statuses outside the static table as a literal with the :status name', () => {
    const target = Buffer.alloc(8);
    for (const status of [100, 200, 201, 204, 413, 431, 500, 503, 999]) {
      const end = writeStatus(target, 0, status);
      assert.deepEqual(decodeAll(new HpackDecoder(), target.subarray(0, end)), [[':status', String(status)]]);
    }
  });

  it('round-trips any latin1 fields within fieldBound', () => {
    const text = fc.string({
      unit: fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code)),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text), { maxLength: 8 }), (fields) => {
        const block = encodeBlock(fields);
        assert.deepEqual(decodeAll(new HpackDecoder(), block), fields);
        for (const [name, value] of fields) {
          const one = encodeBlock([[name, value]]);
          assert.ok(one.length <= fieldBound(name, value));
        }
      }),
      { numRuns: 500 },
    );
    const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    assert.equal(decodeHuffman(encodeHuffman(all), 0, encodeHuffman(all).length), all);
  });
});

describe('HPACK Huffman code and the RFC 7541 C.4 examples', () => {
  it('rebuilds the Huffman codes RFC 7541 Appendix B prints', () => {
    // [symbol, code as hex, length] copied from the RFC's table, spread over every code length.
    const printed: [number, number, number][] = [
      [0, 0x1ff8, 13],
      [9, 0xffffea, 24],
      [10, 0x3ffffffc, 30],
      [32, 0x14, 6],
      [48, 0x0, 5],
      [58, 0x5c, 7],
      [92, 0x7fff0, 19],
      [97, 0x3, 5],
      [116, 0x9, 5],
      [124, 0x7fc, 11],
      [127, 0xffffffc, 28],
      [128, 0xfffe6, 20],
      [142, 0xffffeb, 24],
      [153, 0x1fffdc, 21],
      [199, 0x1ffffec, 25],
      [203, 0x7ffffde, 27],
      [220, 0xffffffd, 28],
      [255, 0x3ffffee, 26],
      [256, 0x3fffffff, 30],
    ];
    for (const [symbol, code, length] of printed) {
      assert.equal(HUFFMAN_CODE_LENGTHS[symbol], length, `length of ${symbol}`);
      assert.equal(HUFFMAN_CODES[symbol], code, `code of ${symbol}`);
    }
  });

  it('decodes every octet value Huffman-coded, and refuses EOS and over-long padding', () => {
    const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    const encoded = encodeHuffman(all);
    assert.equal(decodeHuffman(encoded, 0, encoded.length), all);
    // "www.example.com" as RFC 7541 C.4.1 encodes it.
    const www = hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff');
    assert.deepEqual(encodeHuffman('www.example.com'), www);
    assert.equal(decodeHuffman(www, 0, www.length), 'www.example.com');
    // 'a' (00011) then eight bits of padding: more than seven is an error (section 5.2).
    assert.throws(() => decodeHuffman(hex('1f ff'), 0, 2), HpackError);
    // 30 ones: EOS itself.
    assert.throws(() => decodeHuffman(hex('ff ff ff ff'), 0, 4), HpackError);
    // Padding that is not all ones: 'a' followed by 000.
    assert.throws(() => decodeHuffman(hex('18'), 0, 1), HpackError);
  });

  it('decodes the request examples of RFC 7541 C.4 with their dynamic table', () => {
    const decoder = new HpackDecoder(
      new Set([':method', ':scheme', ':path', ':authority', 'cache-control', 'custom-key']),
    );
    const read = (block: string): [string, string][] => {
      const fields: [string, string][] = [];
      decoder.decode(hex(block), (name, value) => fields.push([name, value]));
      return fields;
    };
    assert.deepEqual(read('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    assert.deepEqual(decoder.table, { entries: 1, size: 57, maxSize: 4096 });
    assert.deepEqual(read('8286 84be 5886 a8eb 1064 9cbf'), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    assert.deepEqual(decoder.table, { entries: 2, size: 110, maxSize: 4096 });
    assert.deepEqual(read('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'), [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
    assert.deepEqual(decoder.table, { entries: 3, size: 164, maxSize: 4096 });
    // Our HEADER_TABLE_SIZE 0 acknowledged: the next block must shrink the table to 0 first.
    decoder.setLimit(0);
    assert.throws(() => read('82'), HpackError);
    assert.deepEqual(read('20 82'), [[':method', 'GET']]);
    assert.deepEqual(decoder.table, { entries: 0, size: 0, maxSize: 0 });
    // With a table of 0, an entry "added" is evicted at once, and an index past the table fails.
    assert.deepEqual(read('418c f1e3 c2e5 f23a 6ba0 ab90 f4ff'), [[':authority', 'www.example.com']]);
    assert.throws(() => read('be'), HpackError);
    assert.throws(() => read('82 20'), HpackError, 'a size update after a field');
  });
});
