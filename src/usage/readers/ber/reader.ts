/**
 * The usage reader of 3GPP TS 32.297 CDR files holding BER-encoded TS 32.298 records: the framer
 * (file-format.ts) finds each CDR, the mapper (records.ts) turns its record into usage, and this
 * module numbers them, builds the rejects' messages and batches the items per chunk read.
 *
 * Positions: `line` is the record number in the file, 1-based, counting every CDR and every
 * broken stretch the framer reports (filler is not counted); `byteOffset` is the offset of the
 * CDR header. All usage records of one CDR (one per service data container) share its position.
 * To resume, pass a CDR header's offset and its number: the chunks then start at that CDR header
 * and there is no file header.
 */
import type { ReadItem, ReadStart, ReaderSettings, UsageReader } from '../../model.js';
import { BER_FORMAT, CdrFramer, DATA_RECORD_FORMATS, TS_NUMBERS, type CdrFrame } from './file-format.js';
import { toHex } from './fields.js';
import { mapBerRecord, type MappingOptions } from './records.js';

export interface BerReaderOptions {
  /** MCC-MNCs of the home network(s) (5 or 6 digits): a serving PLMN outside them means roaming. */
  readonly homeMccMncs?: readonly string[];
}

function itemsOfFrame(frame: CdrFrame, line: number, options: MappingOptions, source: string): ReadItem[] {
  const position = { line, byteOffset: frame.offset };
  const raw = toHex(frame.bytes);
  const where = `${source}: record ${line} at byte ${frame.offset}`;
  if (frame.kind === 'broken') {
    const covered =
      frame.length > frame.bytes.length
        ? ` (${frame.length} octets; the first ${frame.bytes.length} kept)`
        : '';
    return [
      {
        kind: 'reject',
        position,
        raw,
        reason: 'malformed_record',
        field: frame.field,
        message: `${where}: ${frame.field} ${frame.reason}${covered}`,
      },
    ];
  }
  const { header } = frame;
  if (header.dataRecordFormat !== BER_FORMAT) {
    return [
      {
        kind: 'reject',
        position,
        raw,
        reason: 'unsupported_record',
        field: 'data record format',
        message: `${where}: data record format is ${DATA_RECORD_FORMATS[header.dataRecordFormat]} (${header.dataRecordFormat}); this reader decodes BER (1) only`,
      },
    ];
  }
  const mapped = mapBerRecord(frame.bytes.subarray(header.headerLength), options);
  if (!mapped.ok) {
    const ts = TS_NUMBERS[header.tsNumber];
    const spec = ts !== undefined ? ` (TS ${ts} record)` : '';
    return [
      {
        kind: 'reject',
        position,
        raw,
        reason: mapped.reason,
        ...(mapped.field !== undefined ? { field: mapped.field } : {}),
        message: `${where}${spec}: ${mapped.detail}`,
      },
    ];
  }
  return mapped.inputs.map((input) => ({ kind: 'record', position, raw, input }));
}

/**
 * A reader of 32.297 files of BER records, with options the `UsageReader` settings do not carry.
 * It holds at most one chunk, one partial CDR and the items of one chunk at a time.
 */
export function createBerReader(readerOptions: BerReaderOptions = {}): UsageReader {
  const homeMccMncs =
    readerOptions.homeMccMncs !== undefined && readerOptions.homeMccMncs.length > 0
      ? new Set(readerOptions.homeMccMncs)
      : undefined;
  return async function* readBer(
    chunks: AsyncIterable<Uint8Array>,
    settings: ReaderSettings,
    start: ReadStart,
  ): AsyncIterable<ReadItem[]> {
    const options: MappingOptions = {
      numbering: settings.numbering,
      ...(homeMccMncs ? { homeMccMncs } : {}),
    };
    const framer = new CdrFramer(start.byteOffset);
    let line = start.line;
    const itemsOf = (frames: CdrFrame[]): ReadItem[] => {
      const items: ReadItem[] = [];
      for (const frame of frames) items.push(...itemsOfFrame(frame, line++, options, settings.source));
      return items;
    };
    for await (const chunk of chunks) {
      const items = itemsOf(framer.push(chunk));
      if (items.length > 0) yield items;
    }
    const last = itemsOf(framer.finish());
    if (last.length > 0) yield last;
  };
}

/** The reader with default options (roaming judged from each record's own home PLMN hints). */
export const readBerCdrFile: UsageReader = createBerReader();
