/**
 * The record of one call from a switch's CDR (Asterisk, FreeSWITCH): the parts every switch writes
 * under its own names, checked and normalised the same way.
 *
 * Unanswered calls (busy, no answer, failed) are valid records, not rejects: the switch did log
 * them, and controls should count them. They carry durationSec 0, start at the call's start time
 * (there is no answer time) and have `extra.answered = "false"`; the tariff prices 0 seconds (no
 * setup fee is due for an unanswered call, see docs/usage-formats.md). A source that wants them
 * out of the rated stream sets `unanswered: 'reject'` and they become `unsupported_record` rejects.
 */
import type { ReadItem, ReaderSettings, RecordPosition } from '../model.js';
import { normaliseE164, ParseFailure, parseQuantity } from '../normalise.js';
import { rejectItem } from './delimited.js';
import { buildInput, emptyParts, normaliseIdentityValue, shown } from './values.js';

export type UnansweredPolicy = 'record' | 'reject';

/** One call as a switch wrote it: texts, with the names of their columns for messages. */
export interface CallTexts {
  readonly calling: string;
  readonly callingLabel: string;
  readonly called: string;
  readonly calledLabel: string;
  readonly answered: boolean;
  /** The answer time when answered, else the start time. */
  readonly time: string;
  readonly timeLabel: string;
  readonly billsec: string;
  readonly billsecLabel: string;
  readonly recordId: string;
  readonly extra: Record<string, string>;
}

export function callItem(
  call: CallTexts,
  parseTime: (text: string) => number | ParseFailure,
  settings: ReaderSettings,
  position: RecordPosition,
  raw: string,
  unanswered: UnansweredPolicy,
): ReadItem {
  const source = settings.source;
  const missing = (label: string, why: string): ReadItem =>
    rejectItem(source, position, raw, 'missing_field', `${label} is empty${why}`, label);
  const unparseable = (label: string, text: string, failure: ParseFailure): ReadItem =>
    rejectItem(source, position, raw, 'unparseable', `${label} ${shown(text)} ${failure.reason}`, label);

  if (!call.answered && unanswered === 'reject') {
    return rejectItem(
      source,
      position,
      raw,
      'unsupported_record',
      'the call was not answered; this source rates answered calls only',
    );
  }
  if (call.calling === '') return missing(call.callingLabel, ' (the calling subscriber)');
  const identity = normaliseIdentityValue(settings.identityType, call.calling, settings);
  if (identity instanceof ParseFailure) return unparseable(call.callingLabel, call.calling, identity);
  if (call.called === '') return missing(call.calledLabel, '');
  const called = normaliseE164(call.called, settings.numbering);
  if (called instanceof ParseFailure) return unparseable(call.calledLabel, call.called, called);
  if (call.time === '') return missing(call.timeLabel, call.answered ? ' on an answered call' : '');
  const startMs = parseTime(call.time);
  if (startMs instanceof ParseFailure) return unparseable(call.timeLabel, call.time, startMs);
  let durationSec = 0;
  if (call.answered) {
    if (call.billsec === '') return missing(call.billsecLabel, ' on an answered call');
    const seconds = parseQuantity(call.billsec, 'second');
    if (seconds instanceof ParseFailure) return unparseable(call.billsecLabel, call.billsec, seconds);
    durationSec = seconds;
  }
  const parts = emptyParts(settings);
  parts.service = 'voice';
  parts.identity = identity;
  parts.startMs = startMs;
  parts.durationSec = durationSec;
  parts.count = 0;
  const calling =
    settings.identityType === 'msisdn' ? identity : normaliseE164(call.calling, settings.numbering);
  if (typeof calling === 'string') parts.callingNumber = calling;
  parts.calledNumber = called;
  if (call.recordId !== '') parts.sourceRecordId = call.recordId;
  parts.extra = call.extra;
  return { kind: 'record', position, raw, input: buildInput(parts) };
}
