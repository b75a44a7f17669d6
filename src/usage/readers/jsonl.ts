/**
 * JSON lines: one JSON object per line, each a usage record in the fields of UsageInput. For
 * systems that can write JSON but not a CDR format (application servers, IoT platforms, scripts).
 *
 * Schema (docs/usage-formats.md has an example):
 * - service (required): voice, sms, mms, data, content or iot;
 * - identity (required) and identityType (default: the source's);
 * - start (ISO-8601 with offset or Z) or startMs (ms since the epoch): exactly one is required;
 * - durationSec, volumeUpBytes, volumeDownBytes, count, ratingGroup: whole numbers, as JSON
 *   integers or integer strings ("1048576"); never fractions;
 * - callingNumber, calledNumber (normalised to E.164 with the numbering plan), apn, cellId,
 *   visitedMccMnc, snssai, qos, eventType, sourceRecordId: texts;
 * - roaming: true or false;
 * - price: { "amount": "0.99", "currency": "EUR" } with the amount as decimal text (a JSON number
 *   is refused: it would have gone through binary floating point);
 * - extra: an object of texts.
 * Unknown fields are refused, so a misspelt field is not silently ignored. Each problem is a reject
 * naming the field.
 */
import { isIdentityType, IDENTITY_TYPES, type IdentityType } from '../../customers/index.js';
import {
  isUsageService,
  USAGE_SERVICES,
  type ReadItem,
  type ReaderSettings,
  type ReadStart,
  type RecordPosition,
  type UsageReader,
} from '../model.js';
import {
  MAX_EVENT_MS,
  MIN_EVENT_MS,
  normaliseE164,
  parseCurrencyCode,
  parseDecimalText,
  parseIsoInstant,
  parseQuantity,
  ParseFailure,
} from '../normalise.js';
import { readDelimited, rejectItem, type RecordView } from './delimited.js';
import { buildInput, emptyParts, normaliseIdentityValue, shown, type InputParts } from './values.js';

const QUANTITY_FIELDS = ['durationSec', 'volumeUpBytes', 'volumeDownBytes', 'count', 'ratingGroup'] as const;
const NUMBER_FIELDS = ['callingNumber', 'calledNumber'] as const;
const TEXT_FIELDS = [
  'apn',
  'cellId',
  'visitedMccMnc',
  'snssai',
  'qos',
  'eventType',
  'sourceRecordId',
] as const;
const KNOWN = new Set<string>([
  'service',
  'identityType',
  'identity',
  'start',
  'startMs',
  'roaming',
  'price',
  'extra',
  ...QUANTITY_FIELDS,
  ...NUMBER_FIELDS,
  ...TEXT_FIELDS,
]);

export interface JsonLinesOptions {
  readonly maxRecordBytes?: number;
}

export function createJsonLinesReader(options: JsonLinesOptions = {}): UsageReader {
  return (chunks, settings, start) => readJsonLines(chunks, settings, start, options);
}

async function* readJsonLines(
  chunks: AsyncIterable<Uint8Array>,
  settings: ReaderSettings,
  start: ReadStart,
  options: JsonLinesOptions,
): AsyncGenerator<ReadItem[]> {
  const handle = (view: RecordView, position: RecordPosition): ReadItem => {
    const text = view.fieldText(0);
    if (text === undefined) {
      return rejectItem(settings.source, position, view.line, 'unparseable', 'the line is not valid UTF-8');
    }
    return jsonLineToItem(text, settings, position);
  };
  yield* readDelimited(
    chunks,
    {
      source: settings.source,
      delimiter: -1,
      quote: -1,
      encoding: 'utf8',
      ...(options.maxRecordBytes === undefined ? {} : { maxRecordBytes: options.maxRecordBytes }),
    },
    start,
    handle,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One JSON line (its text) as a read item; exported for single records given the same way. */
export function jsonLineToItem(line: string, settings: ReaderSettings, position: RecordPosition): ReadItem {
  const source = settings.source;
  let body: unknown;
  try {
    body = JSON.parse(line);
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'invalid JSON';
    return rejectItem(source, position, line, 'malformed_record', `the line is not valid JSON (${reason})`);
  }
  if (!isObject(body))
    return rejectItem(source, position, line, 'malformed_record', 'the line is not a JSON object');
  const missing = (field: string, detail = 'is missing'): ReadItem =>
    rejectItem(source, position, line, 'missing_field', `${field} ${detail}`, field);
  const bad = (field: string, detail: string): ReadItem =>
    rejectItem(source, position, line, 'unparseable', `${field} ${detail}`, field);

  for (const key of Object.keys(body)) if (!KNOWN.has(key)) return bad(key, 'is not a usage field');
  const parts = emptyParts(settings);

  const service = body.service;
  if (service === undefined || service === '') return missing('service');
  if (!isUsageService(service))
    return bad('service', `${shown(String(service))} is not one of ${USAGE_SERVICES.join(', ')}`);
  parts.service = service;

  if (body.identityType !== undefined) {
    if (!isIdentityType(body.identityType))
      return bad('identityType', `is not one of ${IDENTITY_TYPES.join(', ')}`);
    parts.identityType = body.identityType as IdentityType;
  }
  if (body.identity === undefined || body.identity === '') return missing('identity');
  if (typeof body.identity !== 'string') return bad('identity', 'must be a text');
  const identity = normaliseIdentityValue(parts.identityType, body.identity, settings);
  if (identity instanceof ParseFailure) return bad('identity', `${shown(body.identity)} ${identity.reason}`);
  parts.identity = identity;

  if ((body.start === undefined) === (body.startMs === undefined)) {
    return body.start === undefined
      ? missing('start', 'is missing (or give startMs)')
      : bad('start', 'and startMs are both given; give one');
  }
  if (body.start !== undefined) {
    if (typeof body.start !== 'string') return bad('start', 'must be an ISO-8601 text');
    const startMs = parseIsoInstant(body.start);
    if (startMs instanceof ParseFailure) return bad('start', `${shown(body.start)} ${startMs.reason}`);
    parts.startMs = startMs;
  } else {
    const startMs = body.startMs;
    if (
      typeof startMs !== 'number' ||
      !Number.isSafeInteger(startMs) ||
      startMs < MIN_EVENT_MS ||
      startMs > MAX_EVENT_MS
    ) {
      return bad('startMs', 'must be whole milliseconds since 1970 between 1900 and 2199');
    }
    parts.startMs = startMs;
  }

  for (const field of QUANTITY_FIELDS) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    let quantity: number | ParseFailure;
    if (typeof value === 'number') {
      quantity = Number.isSafeInteger(value)
        ? value
        : new ParseFailure('is not a whole number in the safe integer range');
    } else if (typeof value === 'string') {
      quantity = parseQuantity(value.trim(), 'event');
    } else quantity = new ParseFailure('must be a whole number or an integer string');
    if (quantity instanceof ParseFailure) return bad(field, `${shown(String(value))} ${quantity.reason}`);
    (parts as unknown as Record<string, unknown>)[field] = quantity;
  }
  for (const field of NUMBER_FIELDS) {
    const value = body[field];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') return bad(field, 'must be a text');
    const digits = normaliseE164(value, settings.numbering);
    if (digits instanceof ParseFailure) return bad(field, `${shown(value)} ${digits.reason}`);
    parts[field] = digits;
  }
  for (const field of TEXT_FIELDS) {
    const value = body[field];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') return bad(field, 'must be a text');
    (parts as InputParts)[field] = value;
  }
  if (parts.visitedMccMnc !== undefined && !/^\d{5,6}$/.test(parts.visitedMccMnc)) {
    return bad('visitedMccMnc', `${shown(parts.visitedMccMnc)} is not an MCC-MNC of 5 or 6 digits`);
  }
  if (body.roaming !== undefined) {
    if (typeof body.roaming !== 'boolean') return bad('roaming', 'must be true or false');
    parts.roaming = body.roaming;
  }
  if (body.price !== undefined) {
    const price = body.price;
    if (!isObject(price))
      return bad('price', 'must be an object with "amount" (decimal text) and "currency"');
    if (typeof price.amount !== 'string')
      return bad('price.amount', 'must be decimal text such as "0.99", not a JSON number');
    const amount = parseDecimalText(price.amount);
    if (amount instanceof ParseFailure) return bad('price.amount', `${shown(price.amount)} ${amount.reason}`);
    if (typeof price.currency !== 'string') return missing('price.currency');
    const currency = parseCurrencyCode(price.currency);
    if (currency instanceof ParseFailure)
      return bad('price.currency', `${shown(price.currency)} ${currency.reason}`);
    parts.priceAmount = amount;
    parts.priceCurrency = currency;
  }
  if (body.extra !== undefined) {
    if (!isObject(body.extra) || Object.values(body.extra).some((v) => typeof v !== 'string')) {
      return bad('extra', 'must be an object of texts');
    }
    parts.extra = body.extra as Record<string, string>;
  }
  return { kind: 'record', position, raw: line, input: buildInput(parts) };
}
