/**
 * The TS 32.297 CDR file framing: a file header, then CDRs, each a CDR header and the encoded
 * record. This module finds the CDRs in a stream of chunks; it knows nothing of ASN.1 beyond the
 * tag and length of a record's outermost TLV, which it uses to find its way back after garbage.
 *
 * File header (TS 32.297 clause 6.1.1), big-endian:
 *
 * | octets | field                                                        |
 * | ------ | ------------------------------------------------------------ |
 * | 0-3    | file length (the whole file, header included)                |
 * | 4-7    | header length                                                |
 * | 8      | high release (bits 8-6) / version (bits 5-1) identifier      |
 * | 9      | low release / version identifier                             |
 * | 10-13  | file opening timestamp (month, day, hour, minute, UTC offset) |
 * | 14-17  | timestamp when the last CDR was appended                     |
 * | 18-21  | number of CDRs in the file                                   |
 * | 22-25  | file sequence number                                         |
 * | 26     | file closure trigger reason                                  |
 * | 27-46  | IP address of the node that generated the file               |
 * | 47     | lost CDR indicator                                           |
 * | 48-49  | length of the CDR routeing filter, then the filter           |
 * | ..     | length of the private extension (2 octets), then it          |
 * | ..     | high / low release identifier extensions (1 octet each)      |
 *
 * The reader skips the header by its header length; the fixed part is 52 octets.
 *
 * CDR header (clause 6.1.2): CDR length (2 octets, the length of the record that follows, the
 * CDR header excluded), release identifier (bits 8-6) and version identifier (bits 5-1), data
 * record format (bits 8-6: 1 BER, 2 unaligned PER, 3 aligned PER, 4 XER) and TS number (bits 5-1),
 * and, when the release identifier is 7 ("beyond Rel-9"), one release identifier extension octet.
 */

export const MIN_FILE_HEADER_LENGTH = 52;
/** The fixed part, two 65 535-octet variable parts and the two release extension octets. */
export const MAX_FILE_HEADER_LENGTH = MIN_FILE_HEADER_LENGTH + 2 * 65_535 + 2;
/** A CDR is at most a 5-octet CDR header and 65 535 octets of record. */
export const MAX_CDR_LENGTH = 5 + 65_535;

export const DATA_RECORD_FORMATS: Readonly<Record<number, string>> = {
  1: 'BER',
  2: 'unaligned PER',
  3: 'aligned PER',
  4: 'XER',
};
export const BER_FORMAT = 1;

/** TS numbers of the CDR header (TS 32.297 table 6.1.2.4). */
export const TS_NUMBERS: Readonly<Record<number, string>> = {
  0: '32.005',
  1: '32.015',
  2: '32.205',
  3: '32.215',
  4: '32.225',
  5: '32.235',
  6: '32.250',
  7: '32.251',
  9: '32.260',
  10: '32.270',
  11: '32.271',
  12: '32.272',
  13: '32.273',
  14: '32.275',
  15: '32.274',
  16: '32.277',
  17: '32.296',
  18: '32.278',
  19: '32.253',
  20: '32.255',
  21: '32.254',
  22: '32.256',
  23: '28.201',
  24: '28.202',
  25: '32.257',
};

export interface CdrHeader {
  /** Octets of the record after the CDR header. */
  readonly recordLength: number;
  /** 4 or 5 octets. */
  readonly headerLength: number;
  /** 3GPP release: 99 for R99 (identifier 0), 4..9 for identifiers 1..6, 10 + extension beyond. */
  readonly release: number;
  readonly version: number;
  readonly dataRecordFormat: number;
  readonly tsNumber: number;
}

/** Reads a CDR header at `at`; undefined when fewer octets than the header needs are there. */
export function readCdrHeader(bytes: Uint8Array, at: number): CdrHeader | undefined {
  if (bytes.length - at < 4) return undefined;
  const releaseId = bytes[at + 2]! >> 5;
  const headerLength = releaseId === 7 ? 5 : 4;
  if (bytes.length - at < headerLength) return undefined;
  return {
    recordLength: (bytes[at]! << 8) | bytes[at + 1]!,
    headerLength,
    release: releaseId === 0 ? 99 : releaseId === 7 ? 10 + bytes[at + 4]! : releaseId + 3,
    version: bytes[at + 2]! & 0x1f,
    dataRecordFormat: bytes[at + 3]! >> 5,
    tsNumber: bytes[at + 3]! & 0x1f,
  };
}

/** The outer tag and total encoded length of a BER TLV at `at`, when its identifier and length are there. */
export function readTlvHeader(
  bytes: Uint8Array,
  at: number,
):
  | { tagClass: number; constructed: boolean; tagNumber: number; totalLength: number | 'indefinite' }
  | undefined {
  let p = at;
  if (p >= bytes.length) return undefined;
  const first = bytes[p++]!;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    for (let i = 0; ; i++) {
      if (p >= bytes.length || i >= 4) return undefined;
      const byte = bytes[p++]!;
      tagNumber = tagNumber * 128 + (byte & 0x7f);
      if ((byte & 0x80) === 0) break;
    }
  }
  if (p >= bytes.length) return undefined;
  const lengthOctet = bytes[p++]!;
  let contentLength: number;
  if (lengthOctet < 0x80) contentLength = lengthOctet;
  else if (lengthOctet === 0x80) {
    return { tagClass: first >> 6, constructed: (first & 0x20) !== 0, tagNumber, totalLength: 'indefinite' };
  } else {
    const count = lengthOctet & 0x7f;
    if (count > 4 || p + count > bytes.length) return undefined;
    contentLength = 0;
    for (let i = 0; i < count; i++) contentLength = contentLength * 256 + bytes[p++]!;
  }
  return {
    tagClass: first >> 6,
    constructed: (first & 0x20) !== 0,
    tagNumber,
    totalLength: p - at + contentLength,
  };
}

/** What the framer found: a whole CDR, or octets that are not one (with the reason). */
export type CdrFrame =
  | {
      readonly kind: 'cdr';
      readonly offset: number;
      readonly header: CdrHeader;
      /** The CDR header and the record, as in the file. */
      readonly bytes: Uint8Array;
    }
  | {
      readonly kind: 'broken';
      readonly offset: number;
      /** The octets concerned (at most MAX_CDR_LENGTH of them). */
      readonly bytes: Uint8Array;
      /** How many octets the broken stretch covers in the file. */
      readonly length: number;
      readonly field: string;
      readonly reason: string;
    };

function isFiller(byte: number): boolean {
  return byte === 0x00 || byte === 0xff;
}

/**
 * True when a CDR header at `at` is followed by a BER record whose outer TLV is a context-specific
 * constructed tag (every TS 32.298 record type is one, e.g. [79] pGWRecord) and ends exactly where
 * the CDR length says: strong evidence of a real CDR after a stretch of garbage. 'more' when the
 * octets to decide are not there yet.
 */
function plausibleCdrAt(bytes: Uint8Array, at: number): boolean | 'more' {
  const header = readCdrHeader(bytes, at);
  if (header === undefined) return 'more';
  if (header.dataRecordFormat !== BER_FORMAT || header.recordLength < 2) return false;
  const check = checkBerFraming(bytes, at, header);
  if (check === 'more') return 'more';
  if (check !== 'ok') return false;
  const tlv = readTlvHeader(bytes, at + header.headerLength)!;
  return tlv.tagClass === 2 && tlv.constructed && tlv.totalLength === header.recordLength;
}

/**
 * Whether the BER record of a CDR ends where its CDR length says: 'ok', 'more' (the octets to
 * decide are not there yet: up to 10, a long tag and a 4-octet length), or what is wrong. A record
 * of indefinite length cannot be checked here and passes.
 */
function checkBerFraming(bytes: Uint8Array, at: number, header: CdrHeader): 'ok' | 'more' | string {
  const start = at + header.headerLength;
  const tlv = readTlvHeader(bytes.subarray(0, start + header.recordLength), start);
  if (tlv === undefined) {
    if (bytes.length - start < Math.min(10, header.recordLength)) return 'more';
    return 'its record does not begin with a BER tag and length';
  }
  if (tlv.totalLength === 'indefinite' || tlv.totalLength === header.recordLength) return 'ok';
  return `its BER record is ${tlv.totalLength} octets long`;
}

type State =
  | { name: 'file-length' }
  | { name: 'file-header'; remaining: number }
  | { name: 'records' }
  | { name: 'resync'; reason: string; field: string };

/**
 * Splits a 32.297 file (or its tail from a CDR header on) into CDRs, chunk by chunk. It holds the
 * unread rest of the last chunk, at most one partial CDR (65 540 octets) or the head of a garbage
 * stretch, so memory stays flat however large the file.
 *
 * Recovery: a CDR whose record is bad is still framed by its CDR length, so the next CDR is found.
 * A CDR header that cannot be one (a data record format outside 1-4, or 0x00/0xFF filler) starts
 * a resynchronisation: octets are skipped until a plausible CDR header (see `plausibleCdrAt`), and
 * the skipped stretch becomes one broken frame, unless it was all filler (padding is not an error).
 */
export class CdrFramer {
  private buffer: Uint8Array = new Uint8Array(0);
  /** File offset of buffer[0]. */
  private bufferOffset: number;
  private state: State;
  private garbage: {
    offset: number;
    length: number;
    head: Uint8Array[];
    headLength: number;
    filler: boolean;
  } = { offset: 0, length: 0, head: [], headLength: 0, filler: true };
  private sawAnything = false;

  constructor(startOffset: number) {
    this.bufferOffset = startOffset;
    this.state = startOffset === 0 ? { name: 'file-length' } : { name: 'records' };
  }

  /** The frames completed by `chunk`, in file order. */
  push(chunk: Uint8Array): CdrFrame[] {
    if (chunk.length === 0) return [];
    this.sawAnything = true;
    if (this.buffer.length === 0) this.buffer = chunk;
    else {
      const joined = new Uint8Array(this.buffer.length + chunk.length);
      joined.set(this.buffer, 0);
      joined.set(chunk, this.buffer.length);
      this.buffer = joined;
    }
    const frames: CdrFrame[] = [];
    const consumed = this.scan(frames);
    // Keep a copy of the unread tail: the caller may reuse its chunk's memory.
    this.buffer = this.buffer.slice(consumed);
    this.bufferOffset += consumed;
    return frames;
  }

  /** The frames of the end of the file: a truncated CDR, a truncated header, trailing garbage. */
  finish(): CdrFrame[] {
    const frames: CdrFrame[] = [];
    const rest = this.buffer;
    const at = this.bufferOffset;
    switch (this.state.name) {
      case 'file-length':
        if (this.sawAnything)
          frames.push(
            this.broken(
              at,
              rest,
              rest.length,
              'file header',
              `ends after ${rest.length} octet(s), before its length`,
            ),
          );
        break;
      case 'file-header':
        frames.push(
          this.broken(
            at,
            rest,
            this.state.remaining,
            'file header',
            `is cut short: ${this.state.remaining} octet(s) of the header length are missing at the end of the file`,
          ),
        );
        break;
      case 'records': {
        // A CDR length running past the end may be garbage that swallowed real CDRs: look for one.
        let next = -1;
        for (let p = 1; p < rest.length && next < 0; p++) if (plausibleCdrAt(rest, p) === true) next = p;
        if (next > 0) {
          const header = readCdrHeader(rest, 0);
          frames.push(
            this.broken(
              at,
              rest.subarray(0, next),
              next,
              'CDR length',
              `is ${header?.recordLength ?? '?'}, past the end of the file; a CDR header follows at byte ${at + next}`,
            ),
          );
          this.buffer = rest.subarray(next);
          this.bufferOffset = at + next;
          const consumed = this.scan(frames);
          this.buffer = this.buffer.subarray(consumed);
          this.bufferOffset += consumed;
          frames.push(...this.finish());
          return frames;
        }
        if (rest.length > 0 && !rest.every(isFiller)) {
          const header = readCdrHeader(rest, 0);
          frames.push(
            header === undefined
              ? this.broken(
                  at,
                  rest,
                  rest.length,
                  'CDR header',
                  `is cut short: the file ends ${rest.length} octet(s) into it`,
                )
              : this.broken(
                  at,
                  rest,
                  rest.length,
                  'CDR length',
                  `is ${header.recordLength} but the file ends ${rest.length - header.headerLength} octet(s) into the record (truncated last record)`,
                ),
          );
        }
        break;
      }
      case 'resync':
        this.addGarbage(rest, 0, rest.length);
        this.flushGarbage(frames);
        break;
    }
    this.buffer = new Uint8Array(0);
    return frames;
  }

  private broken(offset: number, bytes: Uint8Array, length: number, field: string, reason: string): CdrFrame {
    return { kind: 'broken', offset, bytes: bytes.slice(0, MAX_CDR_LENGTH), length, field, reason };
  }

  private addGarbage(bytes: Uint8Array, from: number, to: number): void {
    if (to <= from) return;
    const g = this.garbage;
    if (g.length === 0) g.offset = this.bufferOffset + from;
    g.length += to - from;
    for (let i = from; i < to && g.filler; i++) if (!isFiller(bytes[i]!)) g.filler = false;
    const room = MAX_CDR_LENGTH - g.headLength;
    if (room > 0) {
      const part = bytes.slice(from, Math.min(to, from + room));
      g.head.push(part);
      g.headLength += part.length;
    }
  }

  private flushGarbage(frames: CdrFrame[]): void {
    const g = this.garbage;
    if (g.length > 0 && !g.filler && this.state.name === 'resync') {
      const head = new Uint8Array(g.headLength);
      let p = 0;
      for (const part of g.head) {
        head.set(part, p);
        p += part.length;
      }
      frames.push({
        kind: 'broken',
        offset: g.offset,
        bytes: head,
        length: g.length,
        field: this.state.field,
        reason: `${this.state.reason}; ${g.length} octet(s) were skipped to the next plausible CDR header`,
      });
    }
    this.garbage = { offset: 0, length: 0, head: [], headLength: 0, filler: true };
  }

  /** Reads what it can from `this.buffer`; returns the octets consumed. */
  private scan(frames: CdrFrame[]): number {
    const bytes = this.buffer;
    let pos = 0;
    for (;;) {
      const state = this.state;
      if (state.name === 'file-length') {
        if (bytes.length - pos < 8) return pos;
        const headerLength =
          ((bytes[pos + 4]! << 24) >>> 0) +
          (bytes[pos + 5]! << 16) +
          (bytes[pos + 6]! << 8) +
          bytes[pos + 7]!;
        if (headerLength < MIN_FILE_HEADER_LENGTH || headerLength > MAX_FILE_HEADER_LENGTH) {
          frames.push(
            this.broken(
              this.bufferOffset + pos,
              bytes.subarray(pos, pos + 8),
              8,
              'file header length',
              `is ${headerLength}; a TS 32.297 file header has ${MIN_FILE_HEADER_LENGTH} to ${MAX_FILE_HEADER_LENGTH} octets`,
            ),
          );
          pos += 8;
          this.state = { name: 'resync', field: 'file header', reason: 'cannot be read' };
          continue;
        }
        this.state = { name: 'file-header', remaining: headerLength };
        continue;
      }
      if (state.name === 'file-header') {
        const take = Math.min(state.remaining, bytes.length - pos);
        pos += take;
        const remaining = state.remaining - take;
        if (remaining > 0) {
          this.state = { name: 'file-header', remaining };
          return pos;
        }
        this.state = { name: 'records' };
        continue;
      }
      if (state.name === 'records') {
        const header = readCdrHeader(bytes, pos);
        if (header === undefined) {
          if (bytes.length - pos >= 4 && bytes.subarray(pos, pos + 4).every(isFiller)) {
            this.state = {
              name: 'resync',
              field: 'CDR header',
              reason: `expected at byte ${this.bufferOffset + pos}: the octets there are neither a CDR header nor filler`,
            };
            continue;
          }
          return pos;
        }
        const head = bytes.subarray(pos, pos + header.headerLength);
        if (head.every(isFiller) || DATA_RECORD_FORMATS[header.dataRecordFormat] === undefined) {
          this.state = {
            name: 'resync',
            field: 'CDR header',
            reason: `at byte ${this.bufferOffset + pos} is not valid (data record format ${header.dataRecordFormat}, CDR length ${header.recordLength})`,
          };
          continue;
        }
        if (header.recordLength === 0) {
          frames.push(
            this.broken(
              this.bufferOffset + pos,
              head,
              head.length,
              'CDR length',
              'is 0: the CDR holds no record',
            ),
          );
          pos += header.headerLength;
          continue;
        }
        if (header.dataRecordFormat === BER_FORMAT) {
          const check = checkBerFraming(bytes, pos, header);
          if (check === 'more') return pos;
          if (check !== 'ok') {
            // The CDR length and the record disagree: the framing is lost, not just this record.
            this.state = {
              name: 'resync',
              field: 'CDR length',
              reason: `of the CDR at byte ${this.bufferOffset + pos} is ${header.recordLength} but ${check}`,
            };
            continue;
          }
        }
        const total = header.headerLength + header.recordLength;
        if (bytes.length - pos < total) return pos;
        frames.push({
          kind: 'cdr',
          offset: this.bufferOffset + pos,
          header,
          bytes: bytes.subarray(pos, pos + total),
        });
        pos += total;
        continue;
      }
      // Resynchronising: skip octets until a plausible CDR header starts.
      let p = pos;
      let found = false;
      for (; p < bytes.length; p++) {
        const verdict = plausibleCdrAt(bytes, p);
        if (verdict === 'more') break;
        if (verdict) {
          found = true;
          break;
        }
      }
      this.addGarbage(bytes, pos, p);
      pos = p;
      if (!found) return pos;
      this.flushGarbage(frames);
      this.state = { name: 'records' };
    }
  }
}

/** What the fixed part of a 32.297 file header says; see the table at the top of this file. */
export interface CdrFileHeader {
  readonly fileLength: number;
  readonly headerLength: number;
  readonly highRelease: number;
  readonly lowRelease: number;
  readonly numberOfCdrs: number;
  readonly fileSequenceNumber: number;
  readonly fileClosureReason: number;
  readonly lostCdrIndicator: number;
}

const FILE_CLOSURE_REASONS = new Set([0, 1, 2, 3, 4, 5, 128, 129, 130, 131]);

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}

/** The fixed part of a 32.297 file header, or undefined when `head` is too short to hold it. */
export function readCdrFileHeader(head: Uint8Array): CdrFileHeader | undefined {
  if (head.length < MIN_FILE_HEADER_LENGTH) return undefined;
  const release = (octet: number): number =>
    octet >> 5 === 0 ? 99 : octet >> 5 === 7 ? 10 : (octet >> 5) + 3;
  return {
    fileLength: u32(head, 0),
    headerLength: u32(head, 4),
    highRelease: release(head[8]!),
    lowRelease: release(head[9]!),
    numberOfCdrs: u32(head, 18),
    fileSequenceNumber: u32(head, 22),
    fileClosureReason: head[26]!,
    lostCdrIndicator: head[47]!,
  };
}

/**
 * Whether `head` (the first octets of a file; 4 KiB is plenty) looks like a TS 32.297 CDR file: a
 * header length within bounds, a file length that is unknown (0 or 0xFFFFFFFF, a file still
 * open) or at least the header, a known file closure reason, and, when the head reaches that far,
 * a first CDR header with a known data record format (for BER, a record whose outer tag is a
 * context-specific constructed tag that ends where the CDR length says). An empty file of CDRs
 * (header only) qualifies when the file length equals the header length.
 */
export function looksLike3gppCdrFile(head: Uint8Array): boolean {
  const header = readCdrFileHeader(head);
  if (header === undefined) return false;
  const { fileLength, headerLength } = header;
  if (headerLength < MIN_FILE_HEADER_LENGTH || headerLength > MAX_FILE_HEADER_LENGTH) return false;
  if (fileLength !== 0 && fileLength !== 0xffffffff && fileLength < headerLength) return false;
  if (!FILE_CLOSURE_REASONS.has(header.fileClosureReason)) return false;
  const routeingFilterLength = (head[48]! << 8) | head[49]!;
  if (MIN_FILE_HEADER_LENGTH + routeingFilterLength > headerLength) return false;
  if (fileLength === headerLength) return true;
  const cdr = readCdrHeader(head, headerLength);
  if (cdr === undefined) return head.length <= headerLength + 4;
  if (DATA_RECORD_FORMATS[cdr.dataRecordFormat] === undefined || cdr.recordLength === 0) return false;
  if (cdr.dataRecordFormat !== BER_FORMAT) return true;
  const verdict = plausibleCdrAt(head, headerLength);
  return verdict === 'more' || verdict;
}
