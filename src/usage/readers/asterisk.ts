/**
 * Asterisk cdr_csv (Master.csv). Columns, in the order cdr_csv writes them:
 *
 *   1 accountcode, 2 src, 3 dst, 4 dcontext, 5 clid, 6 channel, 7 dstchannel, 8 lastapp, 9 lastdata,
 *   10 start, 11 answer, 12 end, 13 duration, 14 billsec, 15 disposition, 16 amaflags,
 *   then, when cdr.conf enables them: uniqueid (loguniqueid), userfield (loguserfield), and with
 *   newcdrcolumns peeraccount, linkedid, sequence.
 *
 * The optional columns are recognised by count (16: none; 17: uniqueid; 18: uniqueid, userfield;
 * 21: all five) unless the source lists them in `extraColumns`. Times are local to the source's
 * time zone (cdr_csv writes local time unless usegmtime is set; then use the zone "UTC").
 *
 * A record: voice; identity = src (normalised with the identity type, an MSISDN through the
 * numbering plan), calledNumber = dst, startMs = answer (start for an unanswered call),
 * durationSec = billsec when the disposition is ANSWERED (0 otherwise; see voice.ts),
 * sourceRecordId = uniqueid when present, extra = disposition, accountcode, userfield.
 */
import type { ReadItem, ReaderSettings, ReadStart, UsageReader } from '../model.js';
import { parseLocalDateTime, timeZoneNamed } from '../normalise.js';
import { readDelimited, rejectItem, type RecordView } from './delimited.js';
import { callItem, type UnansweredPolicy } from './voice.js';

export const ASTERISK_COLUMNS = [
  'accountcode',
  'src',
  'dst',
  'dcontext',
  'clid',
  'channel',
  'dstchannel',
  'lastapp',
  'lastdata',
  'start',
  'answer',
  'end',
  'duration',
  'billsec',
  'disposition',
  'amaflags',
] as const;

export const ASTERISK_OPTIONAL_COLUMNS = [
  'uniqueid',
  'userfield',
  'peeraccount',
  'linkedid',
  'sequence',
] as const;
export type AsteriskOptionalColumn = (typeof ASTERISK_OPTIONAL_COLUMNS)[number];

export interface AsteriskReaderOptions {
  /** The optional columns after amaflags, in file order; by default recognised from the column count. */
  readonly extraColumns?: readonly AsteriskOptionalColumn[];
  /** 'record' (default): unanswered calls are records of 0 seconds; 'reject': unsupported_record rejects. */
  readonly unanswered?: UnansweredPolicy;
  readonly maxRecordBytes?: number;
}

const BASE = ASTERISK_COLUMNS.length;
const BY_COUNT: ReadonlyMap<number, readonly AsteriskOptionalColumn[]> = new Map([
  [BASE, []],
  [BASE + 1, ['uniqueid']],
  [BASE + 2, ['uniqueid', 'userfield']],
  [BASE + 5, ['uniqueid', 'userfield', 'peeraccount', 'linkedid', 'sequence']],
]);

const label = (index: number): string => `column ${index + 1} (${ASTERISK_COLUMNS[index]})`;

export function createAsteriskReader(options: AsteriskReaderOptions = {}): UsageReader {
  const unanswered = options.unanswered ?? 'record';
  const fixed = options.extraColumns;
  return (chunks, settings, start) =>
    readAsterisk(chunks, settings, start, fixed, unanswered, options.maxRecordBytes);
}

async function* readAsterisk(
  chunks: AsyncIterable<Uint8Array>,
  settings: ReaderSettings,
  start: ReadStart,
  fixed: readonly AsteriskOptionalColumn[] | undefined,
  unanswered: UnansweredPolicy,
  maxRecordBytes: number | undefined,
): AsyncGenerator<ReadItem[]> {
  const zone = timeZoneNamed(settings.timeZone);
  const parseTime = (text: string) => parseLocalDateTime(text, zone);
  const source = settings.source;
  const handle = (view: RecordView, position: { line: number; byteOffset: number }): ReadItem => {
    const count = view.fieldCount;
    const extras = fixed ?? BY_COUNT.get(count);
    if (extras === undefined || count !== BASE + extras.length) {
      const expected = fixed === undefined ? '16, 17, 18 or 21' : String(BASE + fixed.length);
      return rejectItem(
        source,
        position,
        view.line,
        'malformed_record',
        `has ${count} columns; an Asterisk Master.csv record has ${expected} (${count < BASE ? 'too few' : 'too many'})`,
      );
    }
    const texts: string[] = [];
    for (let i = 0; i < count; i++) {
      const text = view.fieldText(i);
      if (text === undefined) {
        const name = i < BASE ? ASTERISK_COLUMNS[i] : extras[i - BASE];
        return rejectItem(
          source,
          position,
          view.line,
          'unparseable',
          `column ${i + 1} (${name}) is not valid UTF-8`,
          `column ${i + 1}`,
        );
      }
      texts.push(text.trim());
    }
    const disposition = texts[14] as string;
    const answered = disposition === 'ANSWERED';
    const extra: Record<string, string> = { disposition };
    if (texts[0] !== '') extra.accountcode = texts[0] as string;
    let recordId = '';
    for (let k = 0; k < extras.length; k++) {
      const value = texts[BASE + k] as string;
      if (extras[k] === 'uniqueid') recordId = value;
      else if (extras[k] === 'userfield' && value !== '') extra.userfield = value;
    }
    return callItem(
      {
        calling: texts[1] as string,
        callingLabel: label(1),
        called: texts[2] as string,
        calledLabel: label(2),
        answered,
        time: (answered ? texts[10] : texts[9]) as string,
        timeLabel: label(answered ? 10 : 9),
        billsec: texts[13] as string,
        billsecLabel: label(13),
        recordId,
        extra,
      },
      parseTime,
      settings,
      position,
      view.line,
      unanswered,
    );
  };
  yield* readDelimited(
    chunks,
    {
      source,
      delimiter: 44,
      quote: 34,
      encoding: 'utf8',
      ...(maxRecordBytes === undefined ? {} : { maxRecordBytes }),
    },
    start,
    handle,
  );
}
