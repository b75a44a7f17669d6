/**
 * The usage model: one normalised network event (a call, an SMS, a data session, a content
 * purchase, an IoT event), however it arrived: a CSV line, a 3GPP BER record, a RADIUS Stop, a
 * TMF635 POST. Readers turn their format into `UsageInput` (or into a reject with its reason);
 * mediation then checks bounds, matches the subscriber, deduplicates, and rating prices it.
 *
 * Conventions:
 * - Instants are milliseconds since the Unix epoch, UTC (`startMs`). Readers convert local
 *   timestamps with the source's IANA time zone.
 * - Quantities are whole base units in safe integers: seconds, bytes, events. A record whose
 *   quantity does not fit a safe integer is rejected (`unparseable`), never rounded.
 * - Numbers (calling, called) are E.164 digits without '+' after normalisation with the source's
 *   numbering plan (normalise.ts); the original text stays in the raw record.
 */
import type { IdentityType } from '../customers/index.js';

export const USAGE_SERVICES = ['voice', 'sms', 'mms', 'data', 'content', 'iot'] as const;
export type UsageService = (typeof USAGE_SERVICES)[number];

export function isUsageService(value: unknown): value is UsageService {
  return typeof value === 'string' && (USAGE_SERVICES as readonly string[]).includes(value);
}

/** A usage record as a reader produces it: normalised, not yet matched to a subscriber. */
export interface UsageInput {
  readonly service: UsageService;
  /** Which identity the network names the subscriber by, and its canonical value (customers/identities.ts). */
  readonly identityType: IdentityType;
  readonly identity: string;
  /** Start of the event (answer time of a call, start of a data session), ms since the epoch, UTC. */
  readonly startMs: number;
  /** Seconds: call duration (answered), data session time; 0 when not applicable. */
  readonly durationSec: number;
  /** Bytes sent by the subscriber (uplink); 0 when not applicable. */
  readonly volumeUpBytes: number;
  /** Bytes received by the subscriber (downlink); 0 when not applicable. */
  readonly volumeDownBytes: number;
  /** Events (SMS, MMS, content purchases, IoT events); 1 for a single event, 0 for calls and sessions. */
  readonly count: number;
  /** E.164 digits of the calling party, when the record has one. */
  readonly callingNumber?: string;
  /** E.164 digits of the called party (voice, SMS, MMS). */
  readonly calledNumber?: string;
  /** APN (4G) or DNN (5G) of a data session. */
  readonly apn?: string;
  /** The charging rating group of a data session or online charging container. */
  readonly ratingGroup?: number;
  readonly cellId?: string;
  /** MCC-MNC of the visited network, 5 or 6 digits, when the subscriber was roaming. */
  readonly visitedMccMnc?: string;
  readonly roaming: boolean;
  /** 5G network slice S-NSSAI as "sst" or "sst-sd" (hex SD), when present. */
  readonly snssai?: string;
  /** QoS class (QCI or 5QI) when present. */
  readonly qos?: string;
  /** For event services: 'sms', 'mms', 'content', or an IoT event type, priced by the tariff's event prices. */
  readonly eventType?: string;
  /** An event priced by the network or the shop (content purchase): decimal text and ISO 4217 code. */
  readonly price?: { readonly amount: string; readonly currency: string };
  /** The network's own id of the record (call id, charging id + sequence...), for deduplication. */
  readonly sourceRecordId?: string;
  /** Other fields a reader found worth keeping (small; the raw record holds everything). */
  readonly extra?: Readonly<Record<string, string>>;
}

/** Where a record sits in its file: for rejects, traces and resuming an interrupted import. */
export interface RecordPosition {
  /** 1-based line number (text formats) or record number (binary formats). */
  readonly line: number;
  /** Byte offset of the start of the record in the file. */
  readonly byteOffset: number;
}

/**
 * Why a record was refused. Every reject is stored with its code, a message naming the field and
 * the reason, and the raw record, so it can be corrected and reprocessed.
 */
export const REJECT_REASONS = [
  /** A mandatory field is empty or absent. */
  'missing_field',
  /** A field's value cannot be read (not a number, not a date, bad encoding). */
  'unparseable',
  /** The record's structure is wrong: too many or too few columns, a truncated or garbage binary record. */
  'malformed_record',
  /** A negative or absurd duration, volume or count (bounds are configurable per source). */
  'out_of_bounds',
  /** The event starts after the time of import plus the allowed clock skew. */
  'future_event',
  /** The event is older than the source's late-record limit (its deduplication window). */
  'stale_event',
  /** No subscription held the identity at the event instant. */
  'unknown_subscriber',
  /** The subscription had no offer, or its offer prices no such usage. */
  'no_offer',
  /** The tariff cannot price it: no route for the number, no rate for the zone or currency. */
  'rating_failed',
  /** A record type the reader recognises but Tollgate does not rate (e.g. an unsupported CDR type). */
  'unsupported_record',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export function isRejectReason(value: unknown): value is RejectReason {
  return typeof value === 'string' && (REJECT_REASONS as readonly string[]).includes(value);
}

/** What a reader yields per record: a normalised record, or a reject with its reason. */
export type ReadItem =
  | {
      readonly kind: 'record';
      readonly position: RecordPosition;
      /** The record as it arrived: the text line, or the binary record as hex. */
      readonly raw: string;
      readonly input: UsageInput;
    }
  | {
      readonly kind: 'reject';
      readonly position: RecordPosition;
      readonly raw: string;
      readonly reason: RejectReason;
      /** The field at fault, when one is: 'duration', 'column 7', 'servedIMSI'. */
      readonly field?: string;
      /** A sentence naming the field, the record and the reason. */
      readonly message: string;
    };

/** Where to start reading: the beginning, or where an interrupted import stopped. */
export interface ReadStart {
  /** Byte offset of the first record to read (0 for the beginning of the file). */
  readonly byteOffset: number;
  /** The line (record) number of the record at that offset (1 for the beginning). */
  readonly line: number;
}

export const READ_FROM_START: ReadStart = Object.freeze({ byteOffset: 0, line: 1 });

/**
 * How a source writes numbers: E.164 normalisation turns national and internationally prefixed
 * forms into E.164 digits ("0151 2345678" with country code 49 and national prefix 0 →
 * "491512345678"; "0044 20 7946 0000" with international prefix 00 → "442079460000").
 */
export interface NumberingPlan {
  /** The home country calling code: "49". */
  readonly countryCode: string;
  /** The national trunk prefix: "0" (most of Europe), "1" (NANP), "" for none. */
  readonly nationalPrefix: string;
  /** International access codes, longest first: ["00"], ["011"]. A leading '+' is always international. */
  readonly internationalPrefixes: readonly string[];
}

/** What every reader needs to know about its source. */
export interface ReaderSettings {
  /** The source's name, for messages: "switch-berlin-1". */
  readonly source: string;
  readonly numbering: NumberingPlan;
  /** IANA time zone of local timestamps in the source's records: "Europe/Berlin". */
  readonly timeZone: string;
  /** The identity type of the subscriber field when the format does not say (msisdn for most switches). */
  readonly identityType: IdentityType;
}

/**
 * A reader: the bytes of one file (or upload) from `start.byteOffset` on, in chunks, turned into
 * batches of read items in file order. Readers are streaming: they hold at most one chunk and one
 * partial record, so memory stays flat on multi-GB files. They never throw for bad records (each
 * becomes a reject and reading goes on); they throw only for I/O errors of the stream itself.
 */
export type UsageReader = (
  chunks: AsyncIterable<Uint8Array>,
  settings: ReaderSettings,
  start: ReadStart,
) => AsyncIterable<ReadItem[]>;
