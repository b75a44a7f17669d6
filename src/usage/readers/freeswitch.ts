/**
 * FreeSWITCH call records: mod_cdr_csv files and mod_json_cdr documents.
 *
 * mod_cdr_csv writes one line per call through a template; the stock configuration's default
 * template ("example") has these 15 columns, every value quoted:
 *
 *   caller_id_name, caller_id_number, destination_number, context, start_stamp, answer_stamp,
 *   end_stamp, duration, billsec, hangup_cause, uuid, bleg_uuid, accountcode, read_codec, write_codec
 *
 * A source with its own template lists the variable names of its columns in `columns`; the reader
 * needs caller_id_number, destination_number, start_stamp, answer_stamp, billsec and uuid (and uses
 * hangup_cause and accountcode when present). Stamps are local times ("2026-03-29 03:00:10") in the
 * source's time zone. A call is answered when answer_stamp is set.
 *
 * mod_json_cdr POSTs one JSON document per call: `variables` (values URL-encoded by default,
 * encode-values=true), `callflow` (caller profiles and times). `freeswitchJsonToItem` turns one into
 * a read item for the HTTP endpoint: times come from answer_uepoch / start_uepoch (microseconds
 * since the epoch, UTC, so no time zone is involved), falling back to the *_epoch seconds.
 */
import type { ReadItem, ReaderSettings, ReadStart, RecordPosition, UsageReader } from '../model.js';
import { parseEpoch, parseLocalDateTime, ParseFailure, timeZoneNamed } from '../normalise.js';
import { readDelimited, rejectItem, type RecordView } from './delimited.js';
import { callItem, type UnansweredPolicy } from './voice.js';

export const FREESWITCH_DEFAULT_COLUMNS = [
  'caller_id_name',
  'caller_id_number',
  'destination_number',
  'context',
  'start_stamp',
  'answer_stamp',
  'end_stamp',
  'duration',
  'billsec',
  'hangup_cause',
  'uuid',
  'bleg_uuid',
  'accountcode',
  'read_codec',
  'write_codec',
] as const;

const NEEDED = [
  'caller_id_number',
  'destination_number',
  'start_stamp',
  'answer_stamp',
  'billsec',
  'uuid',
] as const;

export interface FreeswitchCsvOptions {
  /** The variable names of the template's columns, in order (default: the stock "example" template). */
  readonly columns?: readonly string[];
  readonly unanswered?: UnansweredPolicy;
  readonly maxRecordBytes?: number;
}

/** Checks the options (throws a RangeError naming what is missing) and returns the reader. */
export function createFreeswitchCsvReader(options: FreeswitchCsvOptions = {}): UsageReader {
  const columns = options.columns ?? FREESWITCH_DEFAULT_COLUMNS;
  const missing = NEEDED.filter((name) => !columns.includes(name));
  if (missing.length > 0) {
    throw new RangeError(`the FreeSWITCH template columns lack ${missing.join(', ')}`);
  }
  const unanswered = options.unanswered ?? 'record';
  return (chunks, settings, start) =>
    readFreeswitchCsv(chunks, settings, start, columns, unanswered, options.maxRecordBytes);
}

async function* readFreeswitchCsv(
  chunks: AsyncIterable<Uint8Array>,
  settings: ReaderSettings,
  start: ReadStart,
  columns: readonly string[],
  unanswered: UnansweredPolicy,
  maxRecordBytes: number | undefined,
): AsyncGenerator<ReadItem[]> {
  const zone = timeZoneNamed(settings.timeZone);
  const parseTime = (text: string) => parseLocalDateTime(text, zone);
  const source = settings.source;
  const at = (name: string): number => columns.indexOf(name);
  const calling = at('caller_id_number');
  const called = at('destination_number');
  const started = at('start_stamp');
  const answeredAt = at('answer_stamp');
  const billsec = at('billsec');
  const uuid = at('uuid');
  const cause = at('hangup_cause');
  const account = at('accountcode');
  const label = (index: number): string => `column ${index + 1} (${columns[index]})`;

  const handle = (view: RecordView, position: RecordPosition): ReadItem => {
    if (view.fieldCount !== columns.length) {
      return rejectItem(
        source,
        position,
        view.line,
        'malformed_record',
        `has ${view.fieldCount} columns; the template has ${columns.length} (${
          view.fieldCount > columns.length ? 'too many' : 'too few'
        })`,
      );
    }
    const text = (index: number): string | undefined => (index < 0 ? '' : view.fieldText(index)?.trim());
    const values = [calling, called, started, answeredAt, billsec, uuid, cause, account].map(text);
    const bad = values.indexOf(undefined);
    if (bad >= 0) {
      const index = [calling, called, started, answeredAt, billsec, uuid, cause, account][bad] as number;
      return rejectItem(
        source,
        position,
        view.line,
        'unparseable',
        `${label(index)} is not valid UTF-8`,
        `column ${index + 1}`,
      );
    }
    const [callingText, calledText, startText, answerText, billsecText, uuidText, causeText, accountText] =
      values as string[];
    const answered = answerText !== '';
    const extra: Record<string, string> = {};
    if (causeText !== '') extra.hangupCause = causeText as string;
    if (accountText !== '') extra.accountcode = accountText as string;
    return callItem(
      {
        calling: callingText as string,
        callingLabel: label(calling),
        called: calledText as string,
        calledLabel: label(called),
        answered,
        time: (answered ? answerText : startText) as string,
        timeLabel: label(answered ? answeredAt : started),
        billsec: billsecText as string,
        billsecLabel: label(billsec),
        recordId: uuidText as string,
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

export interface FreeswitchJsonOptions {
  /** Where the document sits, for rejects (default line 1, byte 0). */
  readonly position?: RecordPosition;
  /** mod_json_cdr's encode-values setting (default true): variable values are URL-encoded. */
  readonly urlEncodedValues?: boolean;
  readonly unanswered?: UnansweredPolicy;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One mod_json_cdr document (the parsed body, or its text) as a read item. Never throws: a body
 * that is not a CDR becomes a reject naming what is wrong. The raw record is the document's JSON.
 *
 * Fields: identity and callingNumber = variables.caller_id_number (or the first callflow's
 * caller_profile.caller_id_number), calledNumber = variables.destination_number (or the caller
 * profile's), startMs = answer_uepoch (start_uepoch when unanswered), durationSec = billsec,
 * sourceRecordId = variables.uuid (or the caller profile's uuid), extra = hangup cause, direction
 * and accountcode when present.
 */
export function freeswitchJsonToItem(
  document: unknown,
  settings: ReaderSettings,
  options: FreeswitchJsonOptions = {},
): ReadItem {
  const position = options.position ?? { line: 1, byteOffset: 0 };
  const source = settings.source;
  let body = document;
  let raw: string;
  if (typeof document === 'string') {
    raw = document;
    try {
      body = JSON.parse(document);
    } catch {
      return rejectItem(
        source,
        position,
        raw,
        'malformed_record',
        'the FreeSWITCH JSON CDR is not valid JSON',
      );
    }
  } else {
    raw = JSON.stringify(document) ?? '';
  }
  if (!isObject(body) || !isObject(body.variables)) {
    return rejectItem(
      source,
      position,
      raw,
      'malformed_record',
      'the FreeSWITCH JSON CDR has no "variables" object',
      'variables',
    );
  }
  const variables = body.variables;
  const decode = options.urlEncodedValues ?? true;
  const callflow = Array.isArray(body.callflow)
    ? body.callflow
    : isObject(body.callflow)
      ? [body.callflow]
      : [];
  const firstFlow: unknown = callflow[0];
  const profile = isObject(firstFlow) && isObject(firstFlow.caller_profile) ? firstFlow.caller_profile : {};
  const read = (name: string, fromProfile?: string): string | ParseFailure => {
    let value = variables[name];
    if ((value === undefined || value === '') && fromProfile !== undefined) value = profile[fromProfile];
    if (value === undefined || value === null) return '';
    if (typeof value === 'number') return String(value);
    if (typeof value !== 'string') return new ParseFailure('is not a text');
    if (decode && value.includes('%')) {
      try {
        return decodeURIComponent(value).trim();
      } catch {
        return new ParseFailure('is not valid URL-encoded text');
      }
    }
    return value.trim();
  };
  const names = {
    calling: ['caller_id_number', 'caller_id_number'],
    called: ['destination_number', 'destination_number'],
    uuid: ['uuid', 'uuid'],
  } as const;
  const texts: Record<string, string> = {};
  for (const [key, name, fromProfile] of [
    ['calling', ...names.calling],
    ['called', ...names.called],
    ['uuid', ...names.uuid],
    ['answerUs', 'answer_uepoch', undefined],
    ['startUs', 'start_uepoch', undefined],
    ['answerS', 'answer_epoch', undefined],
    ['startS', 'start_epoch', undefined],
    ['billsec', 'billsec', undefined],
    ['cause', 'hangup_cause', undefined],
    ['direction', 'direction', undefined],
    ['account', 'accountcode', undefined],
  ] as const) {
    const value = read(name, fromProfile);
    if (value instanceof ParseFailure) {
      return rejectItem(
        source,
        position,
        raw,
        'unparseable',
        `variables.${name} ${value.reason}`,
        `variables.${name}`,
      );
    }
    texts[key] = value;
  }
  const set = (text: string | undefined): boolean => text !== undefined && text !== '' && text !== '0';
  const answered = set(texts.answerUs) || set(texts.answerS);
  const useMicro = answered ? set(texts.answerUs) : set(texts.startUs);
  const timeName = answered
    ? useMicro
      ? 'answer_uepoch'
      : 'answer_epoch'
    : useMicro
      ? 'start_uepoch'
      : 'start_epoch';
  const timeText = (
    answered ? (useMicro ? texts.answerUs : texts.answerS) : useMicro ? texts.startUs : texts.startS
  ) as string;
  const extra: Record<string, string> = {};
  if (texts.cause !== '') extra.hangupCause = texts.cause as string;
  if (texts.direction !== '') extra.direction = texts.direction as string;
  if (texts.account !== '') extra.accountcode = texts.account as string;
  const item = callItem(
    {
      calling: texts.calling as string,
      callingLabel: 'variables.caller_id_number',
      called: texts.called as string,
      calledLabel: 'variables.destination_number',
      answered,
      time: timeText === '0' ? '' : timeText,
      timeLabel: `variables.${timeName}`,
      billsec: texts.billsec as string,
      billsecLabel: 'variables.billsec',
      recordId: texts.uuid as string,
      extra,
    },
    (text) => parseEpoch(text, useMicro ? 'us' : 's'),
    settings,
    position,
    raw,
    options.unanswered ?? 'record',
  );
  if (item.kind === 'record' && texts.uuid === '') {
    return rejectItem(
      source,
      position,
      raw,
      'missing_field',
      'variables.uuid is empty (the call id)',
      'variables.uuid',
    );
  }
  return item;
}
