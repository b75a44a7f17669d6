/**
 * HPACK (RFC 7541) for both ends of our HTTP/2 code: the server connection
 * (./server-connection.ts) and the benchmark's client (bench/h2-client.ts).
 *
 * Encoding never uses the dynamic table: fields go out as static-table indexed fields or as literals
 * without indexing (sections 6.1, 6.2.2), so our encoder keeps no table; a peer that lowers
 * SETTINGS_HEADER_TABLE_SIZE is only told the new size once (the connection does that). Response fields are a
 * handful per request, mostly short, so what indexing would save is a few dozen octets.
 *
 * Decoding implements everything, the dynamic table included (sections 2.3.2 and 4): a peer's
 * encoder (node:http2, curl, an SMF's stack) indexes freely within the 4 096 octets it may assume,
 * and a decoder that silently misreads an index would be worse than none.
 *
 * The Huffman code (RFC 7541 Appendix B) is canonical: codes of one length are consecutive in
 * symbol order, and each length's first code follows the previous length's last. So the table below
 * holds only the code length of each symbol; the codes are rebuilt from the lengths (the tests
 * check them against codes printed in the RFC, e.g. 'a' = 00011, EOS = 0x3fffffff).
 */

/** RFC 7541 Appendix A: the static table, index 1..61 (index 0 is unused). */
export const STATIC_TABLE: readonly (readonly [name: string, value: string])[] = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_TABLE.length - 1;

/**
 * RFC 7541 Appendix B: the code length in bits of symbols 0..255 and of EOS (256), sixteen a row.
 */
// prettier-ignore
export const HUFFMAN_CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, //   0..15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, //  16..31
   6, 10, 10, 12, 13,  6,  8, 11, 10, 10,  8, 11,  8,  6,  6,  6, //  ' '..'/'
   5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8, 15,  6, 12, 10, //  '0'..'?'
  13,  6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7, //  '@'..'O'
   7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8, 13, 19, 13, 14,  6, //  'P'..'_'
  15,  5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5, //  '`'..'o'
   6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7, 15, 11, 14, 13, 28, //  'p'..127
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128..143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144..159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160..175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176..191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192..207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208..223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224..239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240..255
  30,                                                             // EOS
];
const EOS = 256;

/** The canonical codes of the lengths above, right-aligned: HUFFMAN_CODES[s] has HUFFMAN_CODE_LENGTHS[s] bits. */
export const HUFFMAN_CODES: Uint32Array = (() => {
  const symbols = HUFFMAN_CODE_LENGTHS.map((_, symbol) => symbol).sort(
    (a, b) => HUFFMAN_CODE_LENGTHS[a]! - HUFFMAN_CODE_LENGTHS[b]! || a - b,
  );
  const codes = new Uint32Array(HUFFMAN_CODE_LENGTHS.length);
  let code = 0;
  let length = HUFFMAN_CODE_LENGTHS[symbols[0]!]!;
  for (const symbol of symbols) {
    const next = HUFFMAN_CODE_LENGTHS[symbol]!;
    code *= 2 ** (next - length);
    length = next;
    codes[symbol] = code;
    code++;
  }
  // A complete prefix code ends on the all-ones code of the longest length (EOS: 30 ones).
  if (code !== 2 ** length) throw new Error('the HPACK Huffman code lengths do not form a complete code');
  return codes;
})();

/**
 * The decoding automaton, four bits at a time (the shortest code has five bits, so a nibble ends at
 * most one symbol). Tree nodes are numbered from the root 0; for node n and nibble v,
 * HUFFMAN_NEXT[n * 16 + v] is the node after those bits and HUFFMAN_EMIT[n * 16 + v] the symbol
 * completed on the way, -1 for none, or -2 when the bits run into EOS (a decoding error, RFC 7541
 * section 5.2). HUFFMAN_CAN_END[n] says whether a string may end at node n: at the root, or after
 * at most seven 1 bits (padding is the most significant bits of EOS, section 5.2).
 */
const { HUFFMAN_NEXT, HUFFMAN_EMIT, HUFFMAN_CAN_END } = (() => {
  const size = 2 * HUFFMAN_CODE_LENGTHS.length;
  const zero = new Int32Array(size).fill(-1);
  const one = new Int32Array(size).fill(-1);
  const leaf = new Int32Array(size).fill(-1);
  let nodes = 1;
  for (let symbol = 0; symbol < HUFFMAN_CODE_LENGTHS.length; symbol++) {
    const length = HUFFMAN_CODE_LENGTHS[symbol]!;
    const code = HUFFMAN_CODES[symbol]!;
    let node = 0;
    for (let bit = length - 1; bit >= 0; bit--) {
      const children = Math.floor(code / 2 ** bit) % 2 === 0 ? zero : one;
      if (children[node] === -1) children[node] = nodes++;
      node = children[node]!;
    }
    leaf[node] = symbol;
  }
  const next = new Int16Array(nodes * 16);
  const emit = new Int16Array(nodes * 16);
  for (let node = 0; node < nodes; node++) {
    if (leaf[node] !== -1) continue;
    for (let nibble = 0; nibble < 16; nibble++) {
      let at = node;
      let symbol = -1;
      for (let bit = 3; bit >= 0; bit--) {
        at = ((nibble >> bit) & 1) === 0 ? zero[at]! : one[at]!;
        if (leaf[at] !== -1) {
          symbol = leaf[at] === EOS ? -2 : leaf[at]!;
          at = 0;
          if (symbol === -2) break;
        }
      }
      next[node * 16 + nibble] = at;
      emit[node * 16 + nibble] = symbol;
    }
  }
  const canEnd = new Uint8Array(nodes);
  for (let node = 0, depth = 0; depth <= 7; depth++, node = one[node]!) canEnd[node] = 1;
  return { HUFFMAN_NEXT: next, HUFFMAN_EMIT: emit, HUFFMAN_CAN_END: canEnd };
})();

/** A header block the decoder cannot read: a COMPRESSION_ERROR of the connection (RFC 9113 section 4.3). */
export class HpackError extends Error {
  override readonly name = 'HpackError';
}

const scratch = Buffer.allocUnsafe(4096);

/** Decodes Huffman-coded octets (RFC 7541 section 5.2) as a latin1 string. */
export function decodeHuffman(bytes: Uint8Array, start: number, end: number): string {
  // Each input octet yields at most 8 / 5 symbols, so 2 output octets per input octet suffice.
  const out = 2 * (end - start) <= scratch.length ? scratch : Buffer.allocUnsafe(2 * (end - start));
  let length = 0;
  let node = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    let at = node * 16 + (byte >> 4);
    let symbol = HUFFMAN_EMIT[at]!;
    if (symbol >= 0) out[length++] = symbol;
    else if (symbol === -2) throw new HpackError('a Huffman-coded string contains EOS');
    node = HUFFMAN_NEXT[at]!;
    at = node * 16 + (byte & 15);
    symbol = HUFFMAN_EMIT[at]!;
    if (symbol >= 0) out[length++] = symbol;
    else if (symbol === -2) throw new HpackError('a Huffman-coded string contains EOS');
    node = HUFFMAN_NEXT[at]!;
  }
  if (HUFFMAN_CAN_END[node] !== 1) {
    throw new HpackError('a Huffman-coded string ends in padding that is not a prefix of EOS');
  }
  return out.toString('latin1', 0, length);
}

/** Huffman-encodes a latin1 string into a new Buffer (tests; the encoder writes in place, see `writeString`). */
export function encodeHuffman(text: string): Buffer {
  const bytes: number[] = [];
  let accumulator = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const symbol = text.charCodeAt(i) & 0xff;
    const code = HUFFMAN_CODES[symbol]!;
    for (let bit = HUFFMAN_CODE_LENGTHS[symbol]! - 1; bit >= 0; bit--) {
      accumulator = (accumulator << 1) | (Math.floor(code / 2 ** bit) % 2);
      if (++bits === 8) {
        bytes.push(accumulator);
        accumulator = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) bytes.push(((accumulator << (8 - bits)) | (0xff >> bits)) & 0xff);
  return Buffer.from(bytes);
}

// ---- Encoding --------------------------------------------------------------------------------------

/**
 * The static index of each name's first entry, and of each name+value pair for the few names the
 * table gives values (:method, :path, :scheme, :status, accept-encoding): a map per name, so a
 * lookup builds no key string.
 */
const STATIC_NAME_INDEX = new Map<string, number>();
const STATIC_FIELD_INDEX = new Map<string, Map<string, number>>();
for (let index = STATIC_COUNT; index >= 1; index--) {
  const [name, value] = STATIC_TABLE[index]!;
  STATIC_NAME_INDEX.set(name, index);
  if (value === '') continue;
  let values = STATIC_FIELD_INDEX.get(name);
  if (values === undefined) STATIC_FIELD_INDEX.set(name, (values = new Map()));
  values.set(value, index);
}

/**
 * One header field as its own Buffer, encoded without touching the dynamic table: a static-table
 * index when the table has the name and value, else a literal without indexing (section 6.2.2)
 * with the name's static index when there is one, else the name as a literal. Strings go raw (no
 * Huffman). The bench client encodes its constant fields once per connection with it.
 */
export function encodeField(name: string, value: string): Buffer {
  const target = Buffer.allocUnsafe(fieldBound(name, value));
  return target.subarray(0, writeField(target, 0, name, value));
}

/** Writes an HPACK integer into `target` at `at`; returns the offset after it. */
export function writeInteger(
  target: Buffer,
  at: number,
  prefixBits: number,
  flags: number,
  value: number,
): number {
  const limit = (1 << prefixBits) - 1;
  if (value < limit) {
    target[at++] = flags | value;
    return at;
  }
  target[at++] = flags | limit;
  let rest = value - limit;
  while (rest >= 128) {
    target[at++] = (rest % 128) | 128;
    rest = Math.floor(rest / 128);
  }
  target[at++] = rest;
  return at;
}

/**
 * Writes a string literal (section 5.2), never Huffman-coded (H = 0). Coding is optional for an
 * encoder, and on the charging server it cost more than it saves: about 5 µs of the event loop per
 * response (mostly the Location URL) to save some 25 octets on a link inside the core network.
 * Characters above U+00FF cannot travel in a header and are cut to their low octet, as latin1
 * encoding does.
 */
function writeString(target: Buffer, at: number, text: string): number {
  at = writeInteger(target, at, 7, 0, text.length);
  return at + target.write(text, at, 'latin1');
}

/**
 * The most octets `writeField` can write for this field: a prefix byte with up to five octets of
 * name index, then each string's length integer (up to five octets) and its octets, written raw.
 */
export function fieldBound(name: string, value: string): number {
  return 16 + name.length + value.length;
}

/**
 * Writes one field without indexing (see `encodeField`), strings raw; returns
 * the offset after it. `target` must have `fieldBound(name, value)` octets free at `at`.
 */
export function writeField(target: Buffer, at: number, name: string, value: string): number {
  const index = STATIC_FIELD_INDEX.get(name)?.get(value);
  if (index !== undefined) return writeInteger(target, at, 7, 0x80, index);
  const nameIndex = STATIC_NAME_INDEX.get(name);
  if (nameIndex !== undefined) {
    at = writeInteger(target, at, 4, 0x00, nameIndex);
  } else {
    target[at++] = 0x00;
    at = writeString(target, at, name);
  }
  return writeString(target, at, value);
}

/** Static indexes of the statuses the table has (Appendix A: 8..14). */
const STATUS_INDEX: Readonly<Record<number, number>> = {
  200: 8,
  204: 9,
  206: 10,
  304: 11,
  400: 12,
  404: 13,
  500: 14,
};

/** Writes `:status` (three digits, 100..999): one octet for the table's statuses, else five. */
export function writeStatus(target: Buffer, at: number, status: number): number {
  const index = STATUS_INDEX[status];
  if (index !== undefined) {
    target[at] = 0x80 | index;
    return at + 1;
  }
  // Literal without indexing, name index 8 (:status), then three raw digits: 0000 1000, 0x03.
  target[at++] = 0x08;
  target[at++] = 0x03;
  target[at++] = 0x30 + Math.floor(status / 100);
  target[at++] = 0x30 + (Math.floor(status / 10) % 10);
  target[at++] = 0x30 + (status % 10);
  return at;
}

// ---- Decoding --------------------------------------------------------------------------------------

/** RFC 7541 section 4.1 (and RFC 9113 section 6.5.2 for header lists): name and value octets plus 32. */
export const ENTRY_OVERHEAD = 32;

/**
 * The decoding context of one connection (RFC 7541 section 2.2): the dynamic table and its size
 * limit. `decode` reports the fields whose names are in `wanted` (every field when `wanted` is not
 * given) and reads past the others, decoding their strings only when the dynamic table needs them.
 */
export class HpackDecoder {
  /** Newest last: dynamic index 62 is the last element. */
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  private size = 0;
  /** The table's current maximum, as the encoder last set it (section 6.3). */
  private maxSize: number;
  /** The most the encoder may set: our SETTINGS_HEADER_TABLE_SIZE once acknowledged, else 4 096. */
  private limit: number;
  private offset = 0;

  constructor(
    private readonly wanted?: ReadonlySet<string>,
    initialLimit = 4096,
  ) {
    this.maxSize = initialLimit;
    this.limit = initialLimit;
  }

  /** The dynamic table's entry count and size (tests). */
  get table(): { readonly entries: number; readonly size: number; readonly maxSize: number } {
    return { entries: this.names.length, size: this.size, maxSize: this.maxSize };
  }

  /**
   * Our SETTINGS_HEADER_TABLE_SIZE was acknowledged: from now on the encoder may not use more. The
   * encoder must then shrink its table with a size update (section 4.2), which `decode` checks.
   */
  setLimit(limit: number): void {
    this.limit = limit;
  }

  /**
   * Decodes one whole header block; calls `onField` for each wanted field, in order, and returns
   * the block's header list size (RFC 9113 section 6.5.2: the octets of every name and value plus
   * 32 per field, wanted or not).
   *
   * Past `maxListSize`, fields are no longer reported but the block is still decoded to its end,
   * because the dynamic table must follow the encoder's whatever we make of the request. That bound
   * matters: one octet can index a 4 KiB table entry, so a 16 KiB block could stand for 64 MiB of
   * fields if we collected them.
   */
  decode(block: Uint8Array, onField: (name: string, value: string) => void, maxListSize = Infinity): number {
    this.offset = 0;
    const end = block.length;
    const wanted = this.wanted;
    let listSize = 0;
    let first = true;
    while (this.offset < end) {
      const byte = block[this.offset]!;
      if ((byte & 0x80) !== 0) {
        // Indexed header field (section 6.1).
        const index = this.integer(block, 7);
        if (index === 0) throw new HpackError('indexed header field with index 0');
        const name = this.nameAt(index);
        const value = this.valueAt(index);
        listSize += name.length + value.length + ENTRY_OVERHEAD;
        if (listSize <= maxListSize && (wanted === undefined || wanted.has(name))) onField(name, value);
      } else if ((byte & 0xc0) === 0x40) {
        // Literal with incremental indexing (section 6.2.1).
        const name = this.literalName(block, 6);
        const value = this.string(block, true);
        this.insert(name, value);
        listSize += name.length + value.length + ENTRY_OVERHEAD;
        if (listSize <= maxListSize && (wanted === undefined || wanted.has(name))) onField(name, value);
      } else if ((byte & 0xe0) === 0x20) {
        // Dynamic table size update (section 6.3): only at the start of a block.
        if (!first) throw new HpackError('a dynamic table size update after the first field');
        const size = this.integer(block, 5);
        if (size > this.limit) throw new HpackError(`table size update to ${size} above ${this.limit}`);
        this.maxSize = size;
        this.evict(0);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001) (sections 6.2.2, 6.2.3). The
        // value's length counts towards the list even when it is skipped; a Huffman-coded one is
        // counted at its coded length, which can only make a skipped field look smaller.
        const name = this.literalName(block, 4);
        const report = listSize <= maxListSize && (wanted === undefined || wanted.has(name));
        const value = this.string(block, report);
        listSize += name.length + (report ? value.length : this.lastStringLength) + ENTRY_OVERHEAD;
        if (report && listSize <= maxListSize) onField(name, value);
      }
      first = false;
    }
    // The encoder may lower the maximum below our limit, but once we lowered the limit it must
    // have shrunk the table to fit (section 4.2).
    if (this.maxSize > this.limit) {
      throw new HpackError(`the encoder did not shrink its table to ${this.limit} octets`);
    }
    return listSize;
  }

  private nameAt(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index]![0];
    const at = this.names.length - 1 - (index - STATIC_COUNT - 1);
    if (at < 0) throw new HpackError(`index ${index} is past the dynamic table`);
    return this.names[at]!;
  }

  private valueAt(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index]![1];
    return this.values[this.names.length - 1 - (index - STATIC_COUNT - 1)]!;
  }

  private literalName(block: Uint8Array, prefixBits: number): string {
    const index = this.integer(block, prefixBits);
    return index === 0 ? this.string(block, true) : this.nameAt(index);
  }

  /** The octet length of the string `string` last read (decoded or not). */
  private lastStringLength = 0;

  /** Reads a string literal (section 5.2); skips it (returning '') unless `decode`. */
  private string(block: Uint8Array, decode: boolean): string {
    if (this.offset >= block.length) throw new HpackError('a string literal runs past the block');
    const huffman = (block[this.offset]! & 0x80) !== 0;
    const length = this.integer(block, 7);
    const start = this.offset;
    const end = start + length;
    if (end > block.length) throw new HpackError('a string literal runs past the block');
    this.offset = end;
    this.lastStringLength = length;
    if (!decode) return '';
    if (huffman) return decodeHuffman(block, start, end);
    return (
      Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength)
    ).toString('latin1', start, end);
  }

  /** Reads an integer with an N-bit prefix (section 5.1) at the current offset. */
  private integer(block: Uint8Array, prefixBits: number): number {
    const limit = (1 << prefixBits) - 1;
    let value = block[this.offset++]! & limit;
    if (value < limit) return value;
    let shift = 0;
    for (;;) {
      if (this.offset >= block.length) throw new HpackError('an integer runs past the block');
      const byte = block[this.offset++]!;
      value += (byte & 127) * 2 ** shift;
      shift += 7;
      if ((byte & 128) === 0) return value;
      // Four continuation octets carry 28 bits, over 2^28 already: no index, length or table
      // size we accept comes near, and a fifth octet is how an overlong encoding would hide.
      if (shift >= 28) throw new HpackError('an integer is too large');
    }
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    // Section 4.4: an entry larger than the table empties it and is not added.
    this.evict(Math.min(size, this.maxSize + 1));
    if (size > this.maxSize) return;
    this.names.push(name);
    this.values.push(value);
    this.size += size;
  }

  /** Evicts the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    let drop = 0;
    while (this.size + room > this.maxSize && drop < this.names.length) {
      this.size -= this.names[drop]!.length + this.values[drop]!.length + ENTRY_OVERHEAD;
      drop++;
    }
    if (drop > 0) {
      this.names.splice(0, drop);
      this.values.splice(0, drop);
    }
  }
}
