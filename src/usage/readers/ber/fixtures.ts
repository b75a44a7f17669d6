/**
 * Test helper (imported by tests only): builds TS 32.297 files of BER-encoded TS 32.298 PGW-CDRs
 * and CHF-CDRs with asn1js, following the ASN.1 of GPRSChargingDataTypes and
 * CHFChargingDataTypes (IMPLICIT TAGS; tagged CHOICEs explicit).
 */
import * as asn1js from 'asn1js';
import { encodePlmnId, encodeTbcd, encodeTimeStamp } from './fields.js';

type Value = asn1js.AsnType;

/** Minimal two's-complement content octets of an INTEGER. */
export function integerOctets(value: number | bigint): Uint8Array {
  let n = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(n & 0xffn);
    out.unshift(byte);
    n >>= 8n;
    if ((n === 0n && (byte & 0x80) === 0) || (n === -1n && (byte & 0x80) !== 0)) break;
  }
  return Uint8Array.from(out);
}

export function primitive(tag: number, content: Uint8Array): Value {
  return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: tag }, valueHex: content });
}

export function constructed(tag: number, value: Value[]): Value {
  return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: tag }, value });
}

function integer(tag: number, value: number | bigint): Value {
  return primitive(tag, integerOctets(value));
}

function text(tag: number, value: string): Value {
  return primitive(tag, new TextEncoder().encode(value));
}

function sequence(value: Value[]): Value {
  return new asn1js.Sequence({ value });
}

function ipv4(address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(Number));
}

function encode(value: Value): Uint8Array {
  return new Uint8Array(value.toBER());
}

export interface TimeSpec {
  readonly utcMs: number;
  /** Minutes east of UTC the TimeStamp's local time is written in (default 0). */
  readonly offsetMinutes?: number;
}

function timeStamp(tag: number, time: TimeSpec): Value {
  return primitive(tag, encodeTimeStamp(time.utcMs, time.offsetMinutes ?? 0));
}

/** The content of a TS 29.274 ULI IE with a TAI and an ECGI. */
export function encodeUli(location: { mccMnc: string; tac: number; eci: number }): Uint8Array {
  const plmn = encodePlmnId(location.mccMnc);
  const { tac, eci } = location;
  return Uint8Array.from([
    0x18, // TAI (bit 4) and ECGI (bit 5)
    ...plmn,
    tac >> 8,
    tac & 0xff,
    ...plmn,
    (eci >>> 24) & 0x0f,
    (eci >>> 16) & 0xff,
    (eci >>> 8) & 0xff,
    eci & 0xff,
  ]);
}

export interface PgwContainerSpec {
  readonly ratingGroup: number;
  readonly uplink?: number | bigint;
  readonly downlink?: number | bigint;
  readonly timeUsage?: number;
  readonly firstUsage?: TimeSpec;
  readonly lastUsage?: TimeSpec;
  readonly qci?: number;
  readonly ratType?: number;
}

export interface PgwRecordSpec {
  readonly imsi?: string;
  /** Raw servedIMSI octets, for broken encodings. */
  readonly imsiOctets?: Uint8Array;
  /** International digits, written with type-of-number octet 0x91 unless `msisdnTypeOctet` says otherwise. */
  readonly msisdn?: string;
  readonly msisdnTypeOctet?: number;
  readonly pgwAddress?: string;
  readonly chargingId?: number;
  readonly apn?: string;
  readonly opening?: TimeSpec;
  readonly duration?: number;
  readonly sequence?: number;
  readonly servingPlmn?: string;
  readonly ratType?: number;
  readonly uli?: Uint8Array;
  readonly pgwPlmn?: string;
  readonly qci?: number;
  readonly services?: readonly PgwContainerSpec[];
  readonly trafficVolumes?: readonly { readonly uplink: number; readonly downlink: number }[];
}

/** A pGWRecord [79] in BER. Mandatory fields not given get harmless defaults. */
export function encodePgwRecord(spec: PgwRecordSpec): Uint8Array {
  const fields: Value[] = [integer(0, 85)];
  if (spec.imsi !== undefined || spec.imsiOctets !== undefined)
    fields.push(primitive(3, spec.imsiOctets ?? encodeTbcd(spec.imsi!)));
  fields.push(constructed(4, [primitive(0, ipv4(spec.pgwAddress ?? '10.0.0.1'))]));
  if (spec.chargingId !== undefined) fields.push(integer(5, spec.chargingId));
  fields.push(constructed(6, [primitive(0, ipv4('10.1.0.1'))]));
  if (spec.apn !== undefined) fields.push(text(7, spec.apn));
  if (spec.trafficVolumes !== undefined) {
    fields.push(
      constructed(
        12,
        spec.trafficVolumes.map((v) =>
          sequence([
            integer(3, v.uplink),
            integer(4, v.downlink),
            integer(5, 2),
            timeStamp(6, spec.opening ?? { utcMs: 0 }),
          ]),
        ),
      ),
    );
  }
  if (spec.opening !== undefined) fields.push(timeStamp(13, spec.opening));
  fields.push(integer(14, spec.duration ?? 0));
  fields.push(integer(15, 0));
  if (spec.sequence !== undefined) fields.push(integer(17, spec.sequence));
  if (spec.msisdn !== undefined)
    fields.push(primitive(22, Uint8Array.from([spec.msisdnTypeOctet ?? 0x91, ...encodeTbcd(spec.msisdn)])));
  fields.push(primitive(23, Uint8Array.from([0x08, 0x00])));
  if (spec.servingPlmn !== undefined) fields.push(primitive(27, encodePlmnId(spec.servingPlmn)));
  if (spec.ratType !== undefined) fields.push(integer(30, spec.ratType));
  if (spec.uli !== undefined) fields.push(primitive(32, spec.uli));
  if (spec.services !== undefined) {
    fields.push(
      constructed(
        34,
        spec.services.map((s) => {
          const c: Value[] = [integer(1, s.ratingGroup)];
          if (s.firstUsage !== undefined) c.push(timeStamp(5, s.firstUsage));
          if (s.lastUsage !== undefined) c.push(timeStamp(6, s.lastUsage));
          if (s.timeUsage !== undefined) c.push(integer(7, s.timeUsage));
          c.push(primitive(8, Uint8Array.from([0x07, 0x00, 0x00, 0x00, 0x80])));
          if (s.qci !== undefined) c.push(constructed(9, [integer(1, s.qci)]));
          if (s.uplink !== undefined) c.push(integer(12, s.uplink));
          if (s.downlink !== undefined) c.push(integer(13, s.downlink));
          c.push(timeStamp(14, s.lastUsage ?? spec.opening ?? { utcMs: 0 }));
          if (s.ratType !== undefined) c.push(integer(30, s.ratType));
          return sequence(c);
        }),
      ),
    );
  }
  fields.push(constructed(35, [new asn1js.Enumerated({ value: 2 })]));
  if (spec.pgwPlmn !== undefined) fields.push(primitive(37, encodePlmnId(spec.pgwPlmn)));
  if (spec.qci !== undefined) fields.push(constructed(55, [integer(1, spec.qci)]));
  return encode(constructed(79, fields));
}

export interface ChfContainerSpec {
  readonly uplink?: number;
  readonly downlink?: number;
  readonly total?: number;
  readonly time?: number;
  readonly firstUsage?: TimeSpec;
  readonly fiveQi?: number;
  readonly ratType?: number;
}

export interface ChfRecordSpec {
  readonly nodeId?: string;
  /** SubscriptionIDType: 0 E.164, 1 IMSI, 2 SIP URI, 3 NAI. */
  readonly subscriber?: { readonly type: number; readonly data: string };
  /** GPSI as InvolvedParty iSDN-E164 [3]. */
  readonly gpsi?: string;
  readonly opening?: TimeSpec;
  readonly duration?: number;
  readonly sequence?: number;
  readonly chargingId?: number;
  readonly userLocationJson?: string;
  readonly roamerInOut?: number;
  readonly snssai?: { readonly sst: number; readonly sd?: string };
  readonly supiPlmn?: string;
  readonly ratType?: number;
  readonly dnn?: string;
  readonly fiveQi?: number;
  readonly servingPlmn?: string;
  readonly usage?: readonly {
    readonly ratingGroup: number;
    readonly containers: readonly ChfContainerSpec[];
  }[];
}

/** A chargingFunctionRecord [200] in BER. */
export function encodeChfRecord(spec: ChfRecordSpec): Uint8Array {
  const fields: Value[] = [integer(0, 200), text(1, spec.nodeId ?? 'chf-1')];
  if (spec.subscriber !== undefined)
    fields.push(constructed(2, [integer(0, spec.subscriber.type), text(1, spec.subscriber.data)]));
  fields.push(constructed(3, [integer(0, 1), text(1, 'smf-1')]));
  if (spec.usage !== undefined) {
    fields.push(
      constructed(
        5,
        spec.usage.map((u) =>
          sequence([
            integer(0, u.ratingGroup),
            constructed(
              1,
              u.containers.map((c) => {
                const parts: Value[] = [];
                if (c.time !== undefined) parts.push(integer(1, c.time));
                if (c.total !== undefined) parts.push(integer(4, c.total));
                if (c.uplink !== undefined) parts.push(integer(5, c.uplink));
                if (c.downlink !== undefined) parts.push(integer(6, c.downlink));
                const pdu: Value[] = [];
                if (c.firstUsage !== undefined) pdu.push(timeStamp(2, c.firstUsage));
                if (c.fiveQi !== undefined) pdu.push(constructed(4, [integer(1, c.fiveQi)]));
                if (c.ratType !== undefined) pdu.push(integer(7, c.ratType));
                if (pdu.length > 0) parts.push(constructed(11, pdu));
                return sequence(parts);
              }),
            ),
          ]),
        ),
      ),
    );
  }
  if (spec.opening !== undefined) fields.push(timeStamp(6, spec.opening));
  fields.push(integer(7, spec.duration ?? 0));
  if (spec.sequence !== undefined) fields.push(integer(8, spec.sequence));
  fields.push(integer(9, 0));
  const session: Value[] = [];
  if (spec.chargingId !== undefined) session.push(integer(0, spec.chargingId));
  if (spec.gpsi !== undefined) session.push(constructed(1, [text(3, spec.gpsi)]));
  if (spec.userLocationJson !== undefined) session.push(text(3, spec.userLocationJson));
  if (spec.roamerInOut !== undefined) session.push(integer(4, spec.roamerInOut));
  session.push(integer(6, 5));
  if (spec.snssai !== undefined) {
    const slice: Value[] = [integer(0, spec.snssai.sst)];
    if (spec.snssai.sd !== undefined)
      slice.push(primitive(1, Uint8Array.from(Buffer.from(spec.snssai.sd, 'hex'))));
    session.push(constructed(7, slice));
  }
  if (spec.supiPlmn !== undefined) session.push(primitive(10, encodePlmnId(spec.supiPlmn)));
  if (spec.ratType !== undefined) session.push(integer(12, spec.ratType));
  if (spec.dnn !== undefined) session.push(text(13, spec.dnn));
  if (spec.fiveQi !== undefined) session.push(constructed(15, [integer(1, spec.fiveQi)]));
  if (spec.servingPlmn !== undefined) session.push(primitive(27, encodePlmnId(spec.servingPlmn)));
  fields.push(constructed(13, session));
  return encode(constructed(200, fields));
}

export interface CdrHeaderSpec {
  /** 1 BER (default), 2 unaligned PER, 3 aligned PER, 4 XER. */
  readonly format?: number;
  /** 3GPP release; 10 and later use the 5-octet header with the release extension (default 17). */
  readonly release?: number;
  /** TS number code (default 7, TS 32.251). */
  readonly tsNumber?: number;
  /** Overrides the CDR length field. */
  readonly length?: number;
}

/** A CDR: the CDR header and the record. */
export function encodeCdr(record: Uint8Array, spec: CdrHeaderSpec = {}): Uint8Array {
  const release = spec.release ?? 17;
  const releaseId = release >= 10 ? 7 : release === 99 ? 0 : release - 3;
  const length = spec.length ?? record.length;
  const header = [
    length >> 8,
    length & 0xff,
    (releaseId << 5) | 3,
    ((spec.format ?? 1) << 5) | (spec.tsNumber ?? 7),
  ];
  if (releaseId === 7) header.push(release - 10);
  return Uint8Array.from([...header, ...record]);
}

export const FILE_HEADER_LENGTH = 54;

/** A whole 32.297 file: a 54-octet file header (Rel-17, no routeing filter or extension) and the CDRs. */
export function encodeCdrFile(
  cdrs: readonly Uint8Array[],
  options: { fileLength?: number } = {},
): Uint8Array {
  const body = cdrs.reduce((n, c) => n + c.length, 0);
  const header = new Uint8Array(FILE_HEADER_LENGTH);
  const view = new DataView(header.buffer);
  view.setUint32(0, options.fileLength ?? FILE_HEADER_LENGTH + body);
  view.setUint32(4, FILE_HEADER_LENGTH);
  header[8] = (7 << 5) | 2; // high release: beyond Rel-9 (extension below), version 2
  header[9] = (7 << 5) | 0;
  // File opening and last append timestamps: 25 March 10:30 +01:00.
  const stamp = (3 << 28) | (25 << 23) | (10 << 18) | (30 << 12) | (1 << 11) | (1 << 6);
  view.setUint32(10, stamp >>> 0);
  view.setUint32(14, stamp >>> 0);
  view.setUint32(18, cdrs.length);
  view.setUint32(22, 42);
  header[26] = 0; // normal closure
  header.set([0xff, 0xff, 0xff, 0xff, 10, 0, 0, 1], 27);
  header[47] = 0; // no lost CDRs
  // Routeing filter length 0 (48-49), private extension length 0 (50-51), release extensions (Rel-17).
  header[52] = 7;
  header[53] = 7;
  const file = new Uint8Array(FILE_HEADER_LENGTH + body);
  file.set(header, 0);
  let at = FILE_HEADER_LENGTH;
  for (const cdr of cdrs) {
    file.set(cdr, at);
    at += cdr.length;
  }
  return file;
}

/** `bytes` as an async stream of chunks of the given sizes, cycling through them. */
export async function* chunked(
  bytes: Uint8Array,
  sizes: readonly number[] = [bytes.length || 1],
): AsyncIterable<Uint8Array> {
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const size = Math.max(1, sizes[i++ % sizes.length]!);
    yield bytes.slice(at, at + size);
    at += size;
  }
}
