/**
 * Helpers the text readers share: the subscriber identity in its canonical form, booleans, the
 * default event count, and the small record builder that keeps every UsageInput the same shape.
 */
import { tryNormaliseIdentity, type IdentityType } from '../../customers/index.js';
import type { ReaderSettings, UsageInput, UsageService } from '../model.js';
import { normaliseMsisdn, ParseFailure } from '../normalise.js';

/** Services counted in events: one record is one event unless the source says how many. */
export const EVENT_SERVICES: ReadonlySet<UsageService> = new Set<UsageService>([
  'sms',
  'mms',
  'content',
  'iot',
]);

/**
 * The canonical identity of `text` for `type`: an MSISDN through the source's numbering plan
 * (national forms allowed, unlike an operator typing one in), the rest as customers/identities.ts
 * writes them.
 */
export function normaliseIdentityValue(
  type: IdentityType,
  text: string,
  settings: ReaderSettings,
): string | ParseFailure {
  if (type === 'msisdn') return normaliseMsisdn(text, settings.numbering);
  const result = tryNormaliseIdentity(type, text);
  return result.ok ? result.value : new ParseFailure(result.reason);
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'y', 't']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'n', 'f']);

/** "1", "true", "yes", "y" (any case) are true; "0", "false", "no", "n" false. */
export function parseBooleanWord(text: string): boolean | ParseFailure {
  const lower = text.toLowerCase();
  if (TRUE_WORDS.has(lower)) return true;
  if (FALSE_WORDS.has(lower)) return false;
  return new ParseFailure('is not a yes/no value (1/0, true/false, yes/no)');
}

/** Fields of a usage input as readers collect them, before the object is made. */
export interface InputParts {
  service: UsageService;
  identityType: IdentityType;
  identity: string;
  startMs: number;
  durationSec: number;
  volumeUpBytes: number;
  volumeDownBytes: number;
  count: number | undefined;
  roaming: boolean;
  callingNumber: string | undefined;
  calledNumber: string | undefined;
  apn: string | undefined;
  ratingGroup: number | undefined;
  cellId: string | undefined;
  visitedMccMnc: string | undefined;
  snssai: string | undefined;
  qos: string | undefined;
  eventType: string | undefined;
  priceAmount: string | undefined;
  priceCurrency: string | undefined;
  sourceRecordId: string | undefined;
  extra: Record<string, string> | undefined;
}

/** Clears `parts` for the next record (readers reuse one object rather than allocate one per record). */
export function resetParts(parts: InputParts, settings: ReaderSettings): InputParts {
  parts.service = 'voice';
  parts.identityType = settings.identityType;
  parts.identity = '';
  parts.startMs = 0;
  parts.durationSec = 0;
  parts.volumeUpBytes = 0;
  parts.volumeDownBytes = 0;
  parts.count = undefined;
  parts.roaming = false;
  parts.callingNumber = undefined;
  parts.calledNumber = undefined;
  parts.apn = undefined;
  parts.ratingGroup = undefined;
  parts.cellId = undefined;
  parts.visitedMccMnc = undefined;
  parts.snssai = undefined;
  parts.qos = undefined;
  parts.eventType = undefined;
  parts.priceAmount = undefined;
  parts.priceCurrency = undefined;
  parts.sourceRecordId = undefined;
  parts.extra = undefined;
  return parts;
}

export function emptyParts(settings: ReaderSettings): InputParts {
  return {
    service: 'voice',
    identityType: settings.identityType,
    identity: '',
    startMs: 0,
    durationSec: 0,
    volumeUpBytes: 0,
    volumeDownBytes: 0,
    count: undefined,
    roaming: false,
    callingNumber: undefined,
    calledNumber: undefined,
    apn: undefined,
    ratingGroup: undefined,
    cellId: undefined,
    visitedMccMnc: undefined,
    snssai: undefined,
    qos: undefined,
    eventType: undefined,
    priceAmount: undefined,
    priceCurrency: undefined,
    sourceRecordId: undefined,
    extra: undefined,
  };
}

/**
 * The UsageInput of collected parts. Optional fields are present only when they have a value, so
 * records compare and serialise cleanly; the count defaults to 1 for event services and 0 else.
 */
export function buildInput(parts: InputParts): UsageInput {
  const input: {
    -readonly [K in keyof UsageInput]: UsageInput[K];
  } = {
    service: parts.service,
    identityType: parts.identityType,
    identity: parts.identity,
    startMs: parts.startMs,
    durationSec: parts.durationSec,
    volumeUpBytes: parts.volumeUpBytes,
    volumeDownBytes: parts.volumeDownBytes,
    count: parts.count ?? (EVENT_SERVICES.has(parts.service) ? 1 : 0),
    roaming: parts.roaming,
  };
  if (parts.callingNumber !== undefined) input.callingNumber = parts.callingNumber;
  if (parts.calledNumber !== undefined) input.calledNumber = parts.calledNumber;
  if (parts.apn !== undefined) input.apn = parts.apn;
  if (parts.ratingGroup !== undefined) input.ratingGroup = parts.ratingGroup;
  if (parts.cellId !== undefined) input.cellId = parts.cellId;
  if (parts.visitedMccMnc !== undefined) input.visitedMccMnc = parts.visitedMccMnc;
  if (parts.snssai !== undefined) input.snssai = parts.snssai;
  if (parts.qos !== undefined) input.qos = parts.qos;
  if (parts.eventType !== undefined) input.eventType = parts.eventType;
  if (parts.priceAmount !== undefined && parts.priceCurrency !== undefined) {
    input.price = { amount: parts.priceAmount, currency: parts.priceCurrency };
  }
  if (parts.sourceRecordId !== undefined) input.sourceRecordId = parts.sourceRecordId;
  if (parts.extra !== undefined) input.extra = parts.extra;
  return input;
}

/** Shortens a value for a message: at most 60 characters, JSON-quoted. */
export function shown(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}
