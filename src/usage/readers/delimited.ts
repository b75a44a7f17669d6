/**
 * The byte-level engine under every text reader: a CSV/TSV record scanner (RFC 4180 quoting) and
 * the streaming driver that feeds it chunks, keeps positions and turns structural faults into
 * rejects.
 *
 * Speed is the point of this file. The scanner walks the bytes of a Buffer once, records where each
 * field starts and ends in two preallocated Int32Arrays, and decodes nothing; a reader then decodes
 * the one line (one native call) and takes the fields it needs as substrings of it. Nothing is
 * allocated per field. Memory is one chunk plus the partial record carried into the next one, and
 * a record longer than `maxRecordBytes` (an unterminated quote swallowing the file) is cut at its
 * first line break and rejected, so memory stays flat whatever the input.
 *
 * Dialect (RFC 4180 with the usual leniencies of CDR files):
 * - records end with LF or CRLF; the last one may lack its line break;
 * - a field that starts with the quote character is quoted: it may hold delimiters, line breaks and
 *   doubled quotes (""), and must be followed by a delimiter or the end of the record;
 * - a quote inside an unquoted field is data (`5" screen`), as most exporters write it;
 * - empty lines are skipped (they still count as lines); a UTF-8 byte order mark at the start of
 *   the file is skipped. A UTF-16 or UTF-32 byte order mark makes every record of the file a
 *   `malformed_record` reject saying so (see `byteOrderMark`).
 */
import { isUtf8 } from 'node:buffer';
import type { ReadItem, ReadStart, RecordPosition, RejectReason } from '../model.js';

export const NEED_MORE = -1;

/** Structural faults the scanner finds; 0 means none. */
export const SCAN_OK = 0;
export const SCAN_TEXT_AFTER_QUOTE = 1;
export const SCAN_UNTERMINATED_QUOTE = 2;

/** Fields past this many are counted (for the "too many columns" reject) but their bounds not kept. */
const FIELD_CAPACITY = 1024;

const LF = 10;
const CR = 13;

/**
 * Finds the fields of one record. After `scan` returns a position, `fieldCount`, `starts`/`ends`
 * (byte offsets in the buffer, quotes excluded), `escaped` (1 when a quoted field holds doubled
 * quotes), `recordEnd` (end of the record's bytes, line break excluded), `lineBreaks` (line breaks
 * inside quoted fields), `highBytes` (a byte ≥ 0x80 somewhere) and `fault` describe the record.
 */
export class RecordScanner {
  readonly delimiter: number;
  /** The quote byte, or -1 when the dialect has no quoting (TSV as most tools write it, JSON lines). */
  readonly quote: number;
  readonly starts = new Int32Array(FIELD_CAPACITY);
  readonly ends = new Int32Array(FIELD_CAPACITY);
  readonly escaped = new Uint8Array(FIELD_CAPACITY);
  fieldCount = 0;
  recordEnd = 0;
  lineBreaks = 0;
  highBytes = false;
  fault = SCAN_OK;
  /** 0-based index of the field at fault. */
  faultField = 0;

  /** `delimiter` and `quote` are byte values; a delimiter of -1 makes every line one field. */
  constructor(delimiter: number, quote: number) {
    this.delimiter = delimiter;
    this.quote = quote;
  }

  /**
   * Scans the record that starts at `position`. Returns the position after it (past its line
   * break), or NEED_MORE when the buffer ends before the record does and `final` is false. With
   * `final` true the buffer's end is the end of the file: the record ends there, and an open quote
   * becomes SCAN_UNTERMINATED_QUOTE.
   */
  scan(buffer: Uint8Array, position: number, length: number, final: boolean): number {
    const delimiter = this.delimiter;
    const quote = this.quote;
    const starts = this.starts;
    const ends = this.ends;
    const escaped = this.escaped;
    let index = position;
    let field = 0;
    let high = 0;
    let lineBreaks = 0;
    this.fault = SCAN_OK;
    for (;;) {
      if (index < length && buffer[index] === quote) {
        index++;
        const fieldStart = index;
        let doubled = 0;
        let closed = false;
        while (index < length) {
          const byte = buffer[index] as number;
          if (byte === quote) {
            if (index + 1 >= length) {
              if (!final) return NEED_MORE;
              index++;
              closed = true;
              break;
            }
            if (buffer[index + 1] === quote) {
              doubled = 1;
              index += 2;
              continue;
            }
            index++;
            closed = true;
            break;
          }
          if (byte === LF) lineBreaks++;
          high |= byte;
          index++;
        }
        if (!closed) {
          if (!final) return NEED_MORE;
          if (field < FIELD_CAPACITY) {
            starts[field] = fieldStart;
            ends[field] = length;
            escaped[field] = doubled;
          }
          this.fault = SCAN_UNTERMINATED_QUOTE;
          this.faultField = field;
          return this.finish(field + 1, length, high, lineBreaks, length);
        }
        if (field < FIELD_CAPACITY) {
          starts[field] = fieldStart;
          ends[field] = index - 1;
          escaped[field] = doubled;
        }
        field++;
        if (index >= length) return this.finish(field, length, high, lineBreaks, length);
        const next = buffer[index] as number;
        if (next === delimiter) {
          index++;
          continue;
        }
        if (next === LF) return this.finish(field, index, high, lineBreaks, index + 1);
        if (next === CR) {
          if (index + 1 >= length) {
            if (!final) return NEED_MORE;
            return this.finish(field, index, high, lineBreaks, length);
          }
          if (buffer[index + 1] === LF) return this.finish(field, index, high, lineBreaks, index + 2);
        }
        // Text between a closing quote and the next delimiter: the record's structure is unclear.
        this.fault = SCAN_TEXT_AFTER_QUOTE;
        this.faultField = field - 1;
        let lineEnd = index;
        while (lineEnd < length && buffer[lineEnd] !== LF) high |= buffer[lineEnd++] as number;
        if (lineEnd >= length) {
          if (!final) return NEED_MORE;
          return this.finish(field, length, high, lineBreaks, length);
        }
        const end = lineEnd > index && buffer[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
        return this.finish(field, end, high, lineBreaks, lineEnd + 1);
      }
      const fieldStart = index;
      while (index < length) {
        const byte = buffer[index] as number;
        if (byte === delimiter || byte === LF) break;
        high |= byte;
        index++;
      }
      if (index >= length) {
        if (!final) return NEED_MORE;
        const end = index > fieldStart && buffer[index - 1] === CR ? index - 1 : index;
        if (field < FIELD_CAPACITY) {
          starts[field] = fieldStart;
          ends[field] = end;
          escaped[field] = 0;
        }
        return this.finish(field + 1, end, high, lineBreaks, length);
      }
      if (buffer[index] === delimiter) {
        if (field < FIELD_CAPACITY) {
          starts[field] = fieldStart;
          ends[field] = index;
          escaped[field] = 0;
        }
        field++;
        index++;
        continue;
      }
      const end = index > fieldStart && buffer[index - 1] === CR ? index - 1 : index;
      if (field < FIELD_CAPACITY) {
        starts[field] = fieldStart;
        ends[field] = end;
        escaped[field] = 0;
      }
      return this.finish(field + 1, end, high, lineBreaks, index + 1);
    }
  }

  private finish(fields: number, recordEnd: number, high: number, lineBreaks: number, next: number): number {
    this.fieldCount = fields;
    this.recordEnd = recordEnd;
    this.highBytes = high >= 0x80;
    this.lineBreaks = lineBreaks;
    return next;
  }
}

export type TextEncoding = 'utf8' | 'latin1';

interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/**
 * One record handed to a reader, valid only during the call: the buffer and the scanner's field
 * bounds, plus the record decoded once as `line` (see `fieldText`).
 */
export class RecordView {
  buffer: Buffer = Buffer.alloc(0);
  /** Byte offset of the record in `buffer`. */
  start = 0;
  /** The record's text, line break excluded: the `raw` of its read item. */
  line = '';
  /** True when `line` is the record's bytes one character per byte (ASCII, or latin1), so field offsets map to it. */
  lineIsBytes = true;
  /** Set when a field to be read is not valid UTF-8 (by `fieldText`). */
  invalidEncoding = false;
  readonly scanner: RecordScanner;
  readonly encoding: TextEncoding;
  private readonly quoteText: string;

  constructor(scanner: RecordScanner, encoding: TextEncoding) {
    this.scanner = scanner;
    this.encoding = encoding;
    this.quoteText = scanner.quote >= 0 ? String.fromCharCode(scanner.quote) : '';
  }

  get fieldCount(): number {
    return this.scanner.fieldCount;
  }

  /**
   * The text of field `index` (0-based), quotes removed and doubled quotes undone, or undefined
   * when the field is not valid UTF-8 in a UTF-8 source. Fields past the end give ''.
   */
  fieldText(index: number): string | undefined {
    const scanner = this.scanner;
    if (index >= scanner.fieldCount || index >= FIELD_CAPACITY) return '';
    const start = scanner.starts[index] as number;
    const end = scanner.ends[index] as number;
    let text: string;
    if (this.lineIsBytes) {
      text = this.line.substring(start - this.start, end - this.start);
    } else {
      const slice = this.buffer.subarray(start, end);
      if (!isUtf8(slice)) return undefined;
      text = (this.buffer as FastBuffer).utf8Slice(start, end);
    }
    return scanner.escaped[index] === 1
      ? text.replaceAll(this.quoteText + this.quoteText, this.quoteText)
      : text;
  }
}

/** Decodes bytes for messages and raw records: latin1 as is, UTF-8 with U+FFFD for invalid bytes. */
export function decodeText(
  buffer: Buffer,
  start: number,
  end: number,
  ascii: boolean,
  encoding: TextEncoding,
): string {
  const fast = buffer as FastBuffer;
  return ascii || encoding === 'latin1' ? fast.latin1Slice(start, end) : fast.utf8Slice(start, end);
}

/**
 * Turns one well-formed record into a read item, or undefined to skip it (a header line). Called
 * with the view of the current record; must not keep the view.
 */
export type RecordHandler = (view: RecordView, position: RecordPosition) => ReadItem | undefined;

export interface DelimitedOptions {
  /** The source's name, for messages. */
  readonly source: string;
  /** Byte value of the delimiter (44 ','; 9 tab), or -1 for one field per line. */
  readonly delimiter: number;
  /** Byte value of the quote character, or -1 for none. */
  readonly quote: number;
  readonly encoding: TextEncoding;
  /** A record longer than this is cut at its first line break and rejected (default 1 MiB). */
  readonly maxRecordBytes?: number;
}

export const DEFAULT_MAX_RECORD_BYTES = 1 << 20;

function asBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (Buffer.isBuffer(chunk)) return chunk;
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** A reject of a whole record, with the message naming source, line and reason. */
export function rejectItem(
  source: string,
  position: RecordPosition,
  raw: string,
  reason: RejectReason,
  detail: string,
  field?: string,
): ReadItem {
  const message = `${source} line ${position.line}: ${detail}`;
  return field === undefined
    ? { kind: 'reject', position, raw, reason, message }
    : { kind: 'reject', position, raw, reason, field, message };
}

const SHOWN_RAW_BYTES = 4096;

/** What the byte order mark at the start of a file says. */
export interface ByteOrderMark {
  /** Octets to skip (0 when there is no mark). */
  readonly length: number;
  /** The encoding a UTF-16 or UTF-32 mark names: text readers cannot read such a file. */
  readonly foreign?: string;
}

/**
 * Reads the byte order mark at the start of `buffer` (its first 4 octets are enough). A UTF-8 mark
 * is skipped. A UTF-16 or UTF-32 mark means the file is in an encoding no reader here decodes: its
 * ASCII characters come with NUL octets between them, so each record would otherwise be rejected
 * for a field full of NULs ("a telephone number holds digits only"), which says nothing of the
 * cause. Checked before UTF-16 LE: FF FE 00 00 is UTF-32 LE.
 */
export function byteOrderMark(buffer: Uint8Array): ByteOrderMark {
  const [b0, b1, b2, b3] = buffer;
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return { length: 3 };
  if (b0 === 0xff && b1 === 0xfe && b2 === 0 && b3 === 0) {
    return { length: 4, foreign: 'UTF-32LE' };
  }
  if (b0 === 0 && b1 === 0 && b2 === 0xfe && b3 === 0xff) {
    return { length: 4, foreign: 'UTF-32BE' };
  }
  if (b0 === 0xff && b1 === 0xfe) return { length: 2, foreign: 'UTF-16LE' };
  if (b0 === 0xfe && b1 === 0xff) return { length: 2, foreign: 'UTF-16BE' };
  return { length: 0 };
}

/** "UTF-16LE text (it starts with the byte order mark FF FE)", or undefined for a readable file. */
function foreignText(mark: ByteOrderMark, buffer: Uint8Array): string | undefined {
  if (mark.foreign === undefined) return undefined;
  const octets = [...buffer.subarray(0, mark.length)].map((b) =>
    b.toString(16).toUpperCase().padStart(2, '0'),
  );
  return `${mark.foreign} text (it starts with the byte order mark ${octets.join(' ')})`;
}

/** True when the first octets of a file may still turn out to be a byte order mark. */
function mayBeByteOrderMark(buffer: Uint8Array): boolean {
  const first = buffer[0];
  return buffer.length < 4 && (first === 0xef || first === 0xff || first === 0xfe || first === 0);
}

/** True when every octet of `buffer[start, end)` is NUL. */
function onlyNul(buffer: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buffer[i] !== 0) return false;
  return true;
}

/**
 * The streaming driver: reads `chunks` (the file from `start.byteOffset`, which is a record start),
 * finds records, and yields per chunk the items `handle` makes of them, with structural faults
 * (unterminated quote, text after a closing quote, an overlong record) turned into rejects here.
 */
export async function* readDelimited(
  chunks: AsyncIterable<Uint8Array | string>,
  options: DelimitedOptions,
  start: ReadStart,
  handle: RecordHandler,
): AsyncGenerator<ReadItem[]> {
  const scanner = new RecordScanner(options.delimiter, options.quote);
  const view = new RecordView(scanner, options.encoding);
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const source = options.source;
  let pending: Buffer | undefined;
  /** Absolute file offset of byte 0 of the current buffer. */
  let bufferOffset = start.byteOffset;
  let line = start.line;
  let atFileStart = start.byteOffset === 0;
  /** Skipping the rest of an overlong record up to its first line break. */
  let discarding = false;
  /** What a UTF-16 or UTF-32 byte order mark at the start of the file says it is. */
  let foreignEncoding: string | undefined;
  const readsAs = options.encoding === 'latin1' ? 'Latin-1 (ISO 8859-1)' : 'UTF-8';

  const emit = (buffer: Buffer, position: number, items: ReadItem[]): void => {
    const recordPosition: RecordPosition = { line, byteOffset: bufferOffset + position };
    const end = scanner.recordEnd;
    line += 1 + scanner.lineBreaks;
    // An empty line is no record (a lone quoted empty field "" is one: its end is past its start).
    if (end === position && scanner.fault === SCAN_OK) return;
    const ascii = !scanner.highBytes;
    if (foreignEncoding !== undefined) {
      // The NUL half of a UTF-16 or UTF-32 line break, left at the start of the next "line".
      if (onlyNul(buffer, position, end)) return;
      // Shown without the NUL octets (and the carriage return before the line break), so the raw
      // record reads as text: corrected or not, it can be reprocessed once the cause is known.
      const shown = decodeText(buffer, position, end, ascii, options.encoding)
        .replaceAll('\u0000', '')
        .replace(/\r$/, '');
      items.push(
        rejectItem(
          source,
          recordPosition,
          shown,
          'malformed_record',
          `the file is ${foreignEncoding}; source ${source} reads ${readsAs} text: convert the file ` +
            '(e.g. iconv -f UTF-16 -t UTF-8) and import it again',
          'encoding',
        ),
      );
      return;
    }
    const raw = decodeText(buffer, position, end, ascii, options.encoding);
    if (scanner.fault !== SCAN_OK) {
      const column = scanner.faultField + 1;
      items.push(
        scanner.fault === SCAN_UNTERMINATED_QUOTE
          ? rejectItem(
              source,
              recordPosition,
              raw,
              'malformed_record',
              `column ${column} opens a quote that is never closed before the end of the file (truncated file?)`,
              `column ${column}`,
            )
          : rejectItem(
              source,
              recordPosition,
              raw,
              'malformed_record',
              `column ${column} has text after its closing quote`,
              `column ${column}`,
            ),
      );
      return;
    }
    view.buffer = buffer;
    view.start = position;
    view.line = raw;
    view.lineIsBytes = ascii || options.encoding === 'latin1';
    view.invalidEncoding = false;
    const item = handle(view, recordPosition);
    if (item !== undefined) items.push(item);
  };

  const rejectOverlong = (buffer: Buffer, position: number, items: ReadItem[]): number => {
    const recordPosition: RecordPosition = { line, byteOffset: bufferOffset + position };
    line++;
    const lineBreak = buffer.indexOf(LF, position);
    const shownEnd = Math.min(lineBreak < 0 ? buffer.length : lineBreak, position + SHOWN_RAW_BYTES);
    items.push(
      rejectItem(
        source,
        recordPosition,
        decodeText(buffer, position, shownEnd, false, options.encoding),
        'malformed_record',
        `the record is longer than ${maxRecordBytes} bytes${options.quote >= 0 ? ' (an unterminated quote?)' : ''}; it is cut at its first line break`,
      ),
    );
    if (lineBreak < 0) {
      discarding = true;
      return buffer.length;
    }
    return lineBreak + 1;
  };

  for await (const chunk of chunks) {
    const incoming = asBuffer(chunk);
    if (incoming.length === 0) continue;
    const buffer: Buffer = pending === undefined ? incoming : Buffer.concat([pending, incoming]);
    let position = 0;
    const items: ReadItem[] = [];
    if (atFileStart) {
      if (mayBeByteOrderMark(buffer)) {
        pending = buffer;
        continue;
      }
      atFileStart = false;
      const mark = byteOrderMark(buffer);
      position = mark.length;
      foreignEncoding = foreignText(mark, buffer);
    }
    if (discarding) {
      const lineBreak = buffer.indexOf(LF, position);
      if (lineBreak < 0) position = buffer.length;
      else {
        position = lineBreak + 1;
        discarding = false;
      }
    }
    const length = buffer.length;
    while (position < length) {
      const next = scanner.scan(buffer, position, length, false);
      if (next === NEED_MORE) {
        if (length - position > maxRecordBytes) {
          position = rejectOverlong(buffer, position, items);
          continue;
        }
        break;
      }
      // A one-line record longer than the limit is refused however the chunks fell: whole in this
      // buffer, it gets the reject it would get had it spanned chunks (and the same raw, cut short).
      if (scanner.recordEnd - position > maxRecordBytes && scanner.lineBreaks === 0) {
        position = rejectOverlong(buffer, position, items);
        continue;
      }
      emit(buffer, position, items);
      position = next;
    }
    bufferOffset += position;
    // Copy the partial record so the chunk it came from can be collected.
    pending = position < length ? Buffer.from(buffer.subarray(position)) : undefined;
    if (items.length > 0) yield items;
  }
  if (pending !== undefined && !discarding) {
    const items: ReadItem[] = [];
    const buffer = pending;
    let position = 0;
    if (atFileStart) {
      const mark = byteOrderMark(buffer);
      position = mark.length;
      foreignEncoding = foreignText(mark, buffer);
    }
    while (position < buffer.length) {
      const next = scanner.scan(buffer, position, buffer.length, true);
      emit(buffer, position, items);
      position = next;
    }
    if (items.length > 0) yield items;
  }
}
