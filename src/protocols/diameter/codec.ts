/**
 * The Diameter message codec (pure): RFC 6733 section 3 (header), 4.1 (AVP header) and 4.2-4.4
 * (data formats), plus a stream framer that cuts TCP bytes into whole messages.
 *
 * A message on the wire:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |    Version    |                 Message Length                |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | command flags |                  Command Code                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                         Application-ID                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      Hop-by-Hop Identifier                    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      End-to-End Identifier                    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  AVPs ...
 *
 * Command flags are R(equest) 0x80, P(roxiable) 0x40, E(rror) 0x20, T (potentially
 * retransmitted) 0x10; the low four bits are reserved. Each AVP is
 *
 *   | AVP Code (32) | flags V M P r r r r r (8) | AVP Length (24) | [Vendor-ID (32)] | Data ...
 *
 * where AVP Length counts the header and the data but not the padding that brings the next AVP
 * to a 4-octet boundary. A Grouped AVP's data is a sequence of AVPs, padding included.
 *
 * Decoding is defensive. `decodeMessage` either returns the message or throws a
 * `DiameterDecodeError` carrying the Result-Code the answer must carry (RFC 6733 section 7.1) and,
 * where the RFC asks for one, the AVP to put in Failed-AVP. It throws nothing else: an unexpected
 * failure inside is converted to 5012 DIAMETER_UNABLE_TO_COMPLY rather than escaping.
 *
 * Encoding of values we build ourselves throws RangeError or TypeError for a value that does not
 * fit its type: that is a bug in our code (or a handler's), not bad input from the network.
 */
import { isUtf8 } from 'node:buffer';
import { isIPv4, isIPv6 } from 'node:net';
import {
  defaultDictionary,
  type AvpDefinition,
  type AvpType,
  type DiameterDictionary,
} from './dictionary.js';
import { ResultCode } from './result-codes.js';

export const DIAMETER_VERSION = 1;
export const DIAMETER_HEADER_LENGTH = 20;
/** The largest message the framer accepts unless told otherwise (1 MiB). */
export const DEFAULT_MAX_MESSAGE_LENGTH = 1 << 20;
/** Grouped AVPs nest at most this deep; deeper nesting is refused, so recursion stays bounded. */
export const MAX_GROUPED_DEPTH = 16;

/** Command flags (RFC 6733 section 3). */
export const CommandFlag = {
  Request: 0x80,
  Proxiable: 0x40,
  Error: 0x20,
  Retransmitted: 0x10,
} as const;
const COMMAND_RESERVED_BITS = 0x0f;

/** AVP flags (RFC 6733 section 4.1). */
export const AvpFlag = {
  Vendor: 0x80,
  Mandatory: 0x40,
  Protected: 0x20,
} as const;
const AVP_RESERVED_BITS = 0x1f;

/**
 * An Address value (RFC 6733 section 4.3.1): IPv4 and IPv6 addresses as text (IPv6 in the RFC 5952
 * canonical form), any other address family as its family number and raw octets.
 */
export type DiameterAddress = string | { readonly family: number; readonly bytes: Uint8Array };

/**
 * A typed AVP value. By type: OctetString → Uint8Array; UTF8String, DiameterIdentity, DiameterURI
 * → string; Integer32, Unsigned32, Enumerated, Float32, Float64 → number; Integer64, Unsigned64 →
 * bigint; Time → number of milliseconds since the Unix epoch (whole seconds on the wire); Address
 * → DiameterAddress; Grouped → the child AVPs.
 */
export type AvpValue = Uint8Array | string | number | bigint | DiameterAddress | readonly DiameterAvp[];

export interface DiameterAvp {
  readonly code: number;
  /** 0 when the V bit is clear. */
  readonly vendorId: number;
  /** The flag octet as on the wire (V 0x80, M 0x40, P 0x20). The encoder derives V from vendorId. */
  readonly flags: number;
  /** The dictionary name, or `AVP-<vendor>-<code>` for an AVP the dictionary does not know. */
  readonly name: string;
  /** How `value` is typed; unknown AVPs are OctetString. */
  readonly type: AvpType;
  readonly value: AvpValue;
}

export interface DiameterHeader {
  readonly flags: number;
  readonly commandCode: number;
  readonly applicationId: number;
  readonly hopByHopId: number;
  readonly endToEndId: number;
}

/** A decoded (or to-be-encoded) message: the header fields and the top-level AVPs in wire order. */
export interface DiameterMessage extends DiameterHeader {
  readonly avps: readonly DiameterAvp[];
}

export interface DiameterDecodeErrorOptions {
  /** The AVP for Failed-AVP (RFC 6733 section 7.5), already wrapped in its enclosing groups. */
  readonly failedAvp?: DiameterAvp;
  /** The header, when it could be read: needed to answer the request at all. */
  readonly header?: DiameterHeader;
  /** True when the byte stream cannot be resynchronised, so the connection must be closed. */
  readonly fatal?: boolean;
}

/** Why bytes are not an acceptable Diameter message, as the Result-Code that says so. */
export class DiameterDecodeError extends Error {
  override readonly name = 'DiameterDecodeError';
  readonly resultCode: number;
  readonly failedAvp: DiameterAvp | undefined;
  readonly header: DiameterHeader | undefined;
  readonly fatal: boolean;

  constructor(resultCode: number, message: string, options: DiameterDecodeErrorOptions = {}) {
    super(message);
    this.resultCode = resultCode;
    this.failedAvp = options.failedAvp;
    this.header = options.header;
    this.fatal = options.fatal ?? false;
  }

  /** The same error, with the header of the message it was found in. */
  withHeader(header: DiameterHeader): DiameterDecodeError {
    return new DiameterDecodeError(this.resultCode, this.message, {
      failedAvp: this.failedAvp,
      header,
      fatal: this.fatal,
    });
  }
}

export interface DecodeOptions {
  readonly dictionary?: DiameterDictionary;
  /**
   * Refuse an AVP the dictionary does not know when its M bit is set (5001, RFC 6733 section
   * 4.1). On by default; a relay or a trace tool may turn it off.
   */
  readonly rejectUnknownMandatory?: boolean;
}

// ---- Header ------------------------------------------------------------------------------------

/**
 * Reads the header fields of the first 20 octets; undefined when fewer are given. Never throws and
 * checks nothing: callers use it to address an error answer to a message that failed to decode.
 */
export function peekHeader(bytes: Uint8Array): DiameterHeader | undefined {
  if (bytes.length < DIAMETER_HEADER_LENGTH) return undefined;
  const view = asBuffer(bytes);
  return {
    flags: view[4]!,
    commandCode: view.readUIntBE(5, 3),
    applicationId: view.readUInt32BE(8),
    hopByHopId: view.readUInt32BE(12),
    endToEndId: view.readUInt32BE(16),
  };
}

// ---- Decoding ----------------------------------------------------------------------------------

/** Decodes one whole message. Throws only DiameterDecodeError; values may be views of `bytes`. */
export function decodeMessage(bytes: Uint8Array, options: DecodeOptions = {}): DiameterMessage {
  let header: DiameterHeader | undefined;
  try {
    const view = asBuffer(bytes);
    if (view.length < DIAMETER_HEADER_LENGTH) {
      throw new DiameterDecodeError(
        ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
        `${view.length} octets is shorter than the 20-octet Diameter header`,
      );
    }
    header = peekHeader(view)!;
    const version = view[0]!;
    if (version !== DIAMETER_VERSION) {
      throw new DiameterDecodeError(
        ResultCode.DIAMETER_UNSUPPORTED_VERSION,
        `Diameter version ${version} is not supported (only version 1)`,
      );
    }
    const length = view.readUIntBE(1, 3);
    if (length !== view.length || length % 4 !== 0) {
      throw new DiameterDecodeError(
        ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
        `Message Length ${length} does not match the ${view.length} octets received or is not a multiple of 4`,
      );
    }
    if ((header.flags & COMMAND_RESERVED_BITS) !== 0) {
      throw new DiameterDecodeError(
        ResultCode.DIAMETER_INVALID_BIT_IN_HEADER,
        `reserved command flag bits are set (flags 0x${header.flags.toString(16)})`,
      );
    }
    // RFC 6733 section 3: the E bit is only ever set in answers.
    if ((header.flags & CommandFlag.Request) !== 0 && (header.flags & CommandFlag.Error) !== 0) {
      throw new DiameterDecodeError(ResultCode.DIAMETER_INVALID_HDR_BITS, 'a request has the E bit set');
    }
    const context: DecodeContext = {
      dictionary: options.dictionary ?? defaultDictionary,
      rejectUnknownMandatory: options.rejectUnknownMandatory ?? true,
    };
    const avps = decodeAvps(view, DIAMETER_HEADER_LENGTH, length, 0, context);
    return {
      flags: header.flags,
      commandCode: header.commandCode,
      applicationId: header.applicationId,
      hopByHopId: header.hopByHopId,
      endToEndId: header.endToEndId,
      avps,
    };
  } catch (error) {
    if (error instanceof DiameterDecodeError) throw header === undefined ? error : error.withHeader(header);
    // A defect of ours must not escape as anything but the one error type callers handle.
    throw new DiameterDecodeError(
      ResultCode.DIAMETER_UNABLE_TO_COMPLY,
      `internal decoder failure: ${error instanceof Error ? error.message : String(error)}`,
      header === undefined ? {} : { header },
    );
  }
}

/** Decodes, returning the error as a value instead of throwing it. */
export function tryDecodeMessage(
  bytes: Uint8Array,
  options: DecodeOptions = {},
):
  | { readonly ok: true; readonly message: DiameterMessage }
  | { readonly ok: false; readonly error: DiameterDecodeError } {
  try {
    return { ok: true, message: decodeMessage(bytes, options) };
  } catch (error) {
    return { ok: false, error: error as DiameterDecodeError };
  }
}

interface DecodeContext {
  readonly dictionary: DiameterDictionary;
  readonly rejectUnknownMandatory: boolean;
  /**
   * Inside Failed-AVP: the AVPs there are the peer's report of what was wrong with our message,
   * so they may be unknown, carry bits they should not, or hold zero-filled values. They are kept
   * (raw where they do not decode) instead of failing the answer that carries them.
   */
  readonly insideFailedAvp?: boolean;
}

const FAILED_AVP_CODE = 279;

function decodeAvps(
  view: Buffer,
  start: number,
  end: number,
  depth: number,
  context: DecodeContext,
): DiameterAvp[] {
  const avps: DiameterAvp[] = [];
  let offset = start;
  while (offset < end) {
    if (end - offset < 8) {
      // Fewer octets than an AVP header: the enclosing length is wrong, not any one AVP's.
      throw new DiameterDecodeError(
        depth === 0 ? ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH : ResultCode.DIAMETER_INVALID_AVP_LENGTH,
        `${end - offset} trailing octets at offset ${offset} cannot hold an AVP header`,
      );
    }
    const code = view.readUInt32BE(offset);
    const flags = view[offset + 4]!;
    const avpLength = view.readUIntBE(offset + 5, 3);
    const hasVendor = (flags & AvpFlag.Vendor) !== 0;
    const headerLength = hasVendor ? 12 : 8;
    const vendorId = hasVendor && end - offset >= 12 ? view.readUInt32BE(offset + 8) : 0;
    if (avpLength < headerLength || offset + avpLength > end) {
      const definition = context.dictionary.byCode(code, vendorId);
      throw new DiameterDecodeError(
        ResultCode.DIAMETER_INVALID_AVP_LENGTH,
        avpLength < headerLength
          ? `AVP ${code} at offset ${offset} has length ${avpLength}, below its ${headerLength}-octet header`
          : `AVP ${code} at offset ${offset} with length ${avpLength} runs past the end at ${end}`,
        // RFC 6733 section 7.1.5: "it is sufficient to include the offending AVP header and a
        // zero filled payload of the minimum required length for the payloads data type".
        { failedAvp: zeroAvp(code, vendorId, flags & ~AVP_RESERVED_BITS, definition) },
      );
    }
    const dataStart = offset + headerLength;
    const dataEnd = offset + avpLength;
    if ((flags & AVP_RESERVED_BITS) !== 0) {
      throw new DiameterDecodeError(
        ResultCode.DIAMETER_INVALID_AVP_BITS,
        `AVP ${code} has reserved flag bits set (flags 0x${flags.toString(16)})`,
        { failedAvp: rawAvp(view, code, vendorId, flags, dataStart, dataEnd) },
      );
    }
    const definition = context.dictionary.byCode(code, vendorId);
    const mandatory = (flags & AvpFlag.Mandatory) !== 0;
    if (definition === undefined) {
      if (mandatory && context.rejectUnknownMandatory && !context.insideFailedAvp) {
        throw new DiameterDecodeError(
          ResultCode.DIAMETER_AVP_UNSUPPORTED,
          `AVP ${code}${hasVendor ? ` of vendor ${vendorId}` : ''} is unknown and has the M bit set`,
          { failedAvp: rawAvp(view, code, vendorId, flags, dataStart, dataEnd) },
        );
      }
      avps.push({
        code,
        vendorId,
        flags,
        name: `AVP-${vendorId}-${code}`,
        type: 'OctetString',
        value: view.subarray(dataStart, dataEnd),
      });
    } else {
      if (mandatory && definition.mandatory === 'mustNot' && !context.insideFailedAvp) {
        throw new DiameterDecodeError(
          ResultCode.DIAMETER_INVALID_AVP_BITS,
          `${definition.name} must not have the M bit set`,
          { failedAvp: rawAvp(view, code, vendorId, flags, dataStart, dataEnd) },
        );
      }
      let value: AvpValue;
      if (definition.type === 'Grouped') {
        if (depth + 1 >= MAX_GROUPED_DEPTH) {
          throw new DiameterDecodeError(
            ResultCode.DIAMETER_INVALID_AVP_VALUE,
            `${definition.name} nests Grouped AVPs deeper than ${MAX_GROUPED_DEPTH} levels`,
            { failedAvp: rawAvp(view, code, vendorId, flags, dataStart, dataEnd) },
          );
        }
        const inner =
          code === FAILED_AVP_CODE && vendorId === 0 && !context.insideFailedAvp
            ? { ...context, insideFailedAvp: true }
            : context;
        try {
          value = decodeAvps(view, dataStart, dataEnd, depth + 1, inner);
        } catch (error) {
          if (context.insideFailedAvp) {
            avps.push(rawAvp(view, code, vendorId, flags, dataStart, dataEnd));
            offset = Math.min(offset + ((avpLength + 3) & ~3), end);
            continue;
          }
          // RFC 6733 section 7.5: the Failed-AVP may carry the group holding only the culprit.
          if (error instanceof DiameterDecodeError && error.failedAvp !== undefined) {
            throw new DiameterDecodeError(error.resultCode, `in ${definition.name}: ${error.message}`, {
              failedAvp: {
                code,
                vendorId,
                flags,
                name: definition.name,
                type: 'Grouped',
                value: [error.failedAvp],
              },
            });
          }
          throw error;
        }
      } else if (context.insideFailedAvp) {
        try {
          value = decodeValue(definition, view, offset, dataStart, dataEnd);
        } catch {
          avps.push(rawAvp(view, code, vendorId, flags, dataStart, dataEnd));
          offset = Math.min(offset + ((avpLength + 3) & ~3), end);
          continue;
        }
      } else {
        value = decodeValue(definition, view, offset, dataStart, dataEnd);
      }
      avps.push({ code, vendorId, flags, name: definition.name, type: definition.type, value });
    }
    // The padding is not counted in AVP Length; the next AVP starts at the next multiple of 4.
    // A Grouped AVP's last child may omit it, hence the clamp to `end`.
    offset = Math.min(offset + ((avpLength + 3) & ~3), end);
  }
  return avps;
}

/** Seconds from 1900-01-01 (the NTP era 0 origin) to 1970-01-01. */
const NTP_TO_UNIX_SECONDS = 2_208_988_800;
const TWO_POW_32 = 4_294_967_296;

// Hot-path note: the decoder and encoder create no closures per AVP (tsx's keepNames wraps each
// closure in a defineProperty call, which cost more than the decoding itself).
function decodeValue(
  definition: AvpDefinition,
  view: Buffer,
  headerStart: number,
  start: number,
  end: number,
): AvpValue {
  const length = end - start;
  switch (definition.type) {
    case 'OctetString':
      return view.subarray(start, end);
    case 'UTF8String':
    case 'DiameterIdentity':
    case 'DiameterURI': {
      const text = decodeText(view, start, end);
      if (text === undefined) {
        throw new DiameterDecodeError(
          ResultCode.DIAMETER_INVALID_AVP_VALUE,
          `${definition.name} is not valid UTF-8`,
          { failedAvp: rawAvpAt(view, headerStart, start, end) },
        );
      }
      return text;
    }
    case 'Integer32':
      if (length !== 4) throw lengthError(definition, view, headerStart, start, end, '4 octets');
      return view.readInt32BE(start);
    case 'Unsigned32':
    case 'Enumerated':
      if (length !== 4) throw lengthError(definition, view, headerStart, start, end, '4 octets');
      return view.readUInt32BE(start);
    case 'Integer64':
      if (length !== 8) throw lengthError(definition, view, headerStart, start, end, '8 octets');
      return view.readBigInt64BE(start);
    case 'Unsigned64':
      if (length !== 8) throw lengthError(definition, view, headerStart, start, end, '8 octets');
      return view.readBigUInt64BE(start);
    case 'Float32':
      if (length !== 4) throw lengthError(definition, view, headerStart, start, end, '4 octets');
      return view.readFloatBE(start);
    case 'Float64':
      if (length !== 8) throw lengthError(definition, view, headerStart, start, end, '8 octets');
      return view.readDoubleBE(start);
    case 'Time': {
      if (length !== 4) throw lengthError(definition, view, headerStart, start, end, '4 octets');
      // RFC 6733 section 4.3.1 and RFC 5905: a value with the top bit clear belongs to the era
      // that starts 2036-02-07T06:28:16Z, so the range is 1968-01-20 to 2104.
      const ntp = view.readUInt32BE(start);
      const unixSeconds =
        ntp >= 0x8000_0000 ? ntp - NTP_TO_UNIX_SECONDS : ntp + TWO_POW_32 - NTP_TO_UNIX_SECONDS;
      return unixSeconds * 1000;
    }
    case 'Address': {
      if (length < 2)
        throw lengthError(
          definition,
          view,
          headerStart,
          start,
          end,
          'at least 2 octets (the address family)',
        );
      const family = view.readUInt16BE(start);
      if (family === ADDRESS_FAMILY_IPV4) {
        if (length !== 6)
          throw lengthError(definition, view, headerStart, start, end, '6 octets for an IPv4 address');
        return `${view[start + 2]}.${view[start + 3]}.${view[start + 4]}.${view[start + 5]}`;
      }
      if (family === ADDRESS_FAMILY_IPV6) {
        if (length !== 18)
          throw lengthError(definition, view, headerStart, start, end, '18 octets for an IPv6 address');
        return formatIpv6(view, start + 2);
      }
      return { family, bytes: view.subarray(start + 2, end) };
    }
    case 'Grouped':
      // Handled by the caller, which owns the recursion depth.
      throw new DiameterDecodeError(ResultCode.DIAMETER_UNABLE_TO_COMPLY, 'Grouped reached decodeValue');
  }
}

/** The text of a UTF-8 field, or undefined when it is not valid UTF-8. ASCII takes a fast path. */
function decodeText(view: Buffer, start: number, end: number): string | undefined {
  for (let i = start; i < end; i++) {
    if (view[i]! >= 0x80) {
      const slice = view.subarray(start, end);
      return isUtf8(slice) ? slice.toString('utf8') : undefined;
    }
  }
  return view.toString('latin1', start, end);
}

function lengthError(
  definition: AvpDefinition,
  view: Buffer,
  headerStart: number,
  start: number,
  end: number,
  expected: string,
): DiameterDecodeError {
  return new DiameterDecodeError(
    ResultCode.DIAMETER_INVALID_AVP_LENGTH,
    `${definition.name} (${definition.type}) must be ${expected}, not ${end - start} octets`,
    { failedAvp: rawAvpAt(view, headerStart, start, end) },
  );
}

/** The AVP whose header starts at `headerStart`, with its data as raw octets. */
function rawAvpAt(view: Buffer, headerStart: number, start: number, end: number): DiameterAvp {
  const flags = view[headerStart + 4]!;
  const vendorId = (flags & AvpFlag.Vendor) !== 0 ? view.readUInt32BE(headerStart + 8) : 0;
  return rawAvp(view, view.readUInt32BE(headerStart), vendorId, flags, start, end);
}

function rawAvp(
  view: Buffer,
  code: number,
  vendorId: number,
  flags: number,
  start: number,
  end: number,
): DiameterAvp {
  return {
    code,
    vendorId,
    flags: flags & ~AVP_RESERVED_BITS,
    name: `AVP-${vendorId}-${code}`,
    type: 'OctetString',
    value: Buffer.from(view.subarray(start, end)),
  };
}

/** The minimum payload of each type, zero-filled (RFC 6733 section 7.1.5, 5005 and 5014). */
function minimumLength(type: AvpType | undefined): number {
  switch (type) {
    case 'Integer32':
    case 'Unsigned32':
    case 'Enumerated':
    case 'Float32':
    case 'Time':
      return 4;
    case 'Integer64':
    case 'Unsigned64':
    case 'Float64':
      return 8;
    case 'Address':
      return 6;
    default:
      return 0;
  }
}

function zeroAvp(
  code: number,
  vendorId: number,
  flags: number,
  definition: AvpDefinition | undefined,
): DiameterAvp {
  return {
    code,
    vendorId,
    flags,
    name: definition?.name ?? `AVP-${vendorId}-${code}`,
    type: 'OctetString',
    value: new Uint8Array(minimumLength(definition?.type)),
  };
}

/**
 * An example of a missing AVP for Failed-AVP: its header with a zero-filled value of the minimum
 * length for its type (RFC 6733 section 7.1.5, DIAMETER_MISSING_AVP).
 */
export function exampleAvp(definition: AvpDefinition): DiameterAvp {
  return zeroAvp(definition.code, definition.vendorId, mandatoryFlags(definition), definition);
}

// ---- Encoding ----------------------------------------------------------------------------------

// One scratch buffer, grown on demand and reused: encoding writes each AVP once and back-patches
// the lengths of Grouped AVPs, then copies the result out in a single allocation.
let scratch = Buffer.allocUnsafe(16 * 1024);

function ensure(offset: number, needed: number): void {
  if (offset + needed <= scratch.length) return;
  let size = scratch.length * 2;
  while (size < offset + needed) size *= 2;
  if (size > 0x1000000) size = Math.max(0x1000000, offset + needed);
  const grown = Buffer.allocUnsafe(size);
  scratch.copy(grown, 0, 0, offset);
  scratch = grown;
}

/**
 * Encodes a message. Version is 1; the V bit of each AVP follows its vendorId; the reserved bits
 * are written as zero. Throws RangeError or TypeError for a value that does not fit its type.
 */
export function encodeMessage(message: DiameterMessage): Buffer {
  checkUnsigned(message.commandCode, 0xffffff, 'Command Code');
  checkUnsigned(message.applicationId, 0xffffffff, 'Application-ID');
  checkUnsigned(message.hopByHopId, 0xffffffff, 'Hop-by-Hop Identifier');
  checkUnsigned(message.endToEndId, 0xffffffff, 'End-to-End Identifier');
  checkUnsigned(message.flags, 0xff, 'command flags');
  ensure(0, DIAMETER_HEADER_LENGTH);
  let offset = DIAMETER_HEADER_LENGTH;
  for (const avp of message.avps) offset = writeAvp(avp, offset, 0);
  if (offset > 0xffffff) throw new RangeError(`the message would be ${offset} octets; at most 16777215 fit`);
  scratch[0] = DIAMETER_VERSION;
  scratch.writeUIntBE(offset, 1, 3);
  scratch[4] = message.flags & ~COMMAND_RESERVED_BITS;
  scratch.writeUIntBE(message.commandCode, 5, 3);
  scratch.writeUInt32BE(message.applicationId, 8);
  scratch.writeUInt32BE(message.hopByHopId, 12);
  scratch.writeUInt32BE(message.endToEndId, 16);
  return Buffer.from(scratch.subarray(0, offset));
}

/** Encodes AVPs alone (as in a Grouped AVP's data), padding included. */
export function encodeAvps(avps: readonly DiameterAvp[]): Buffer {
  let offset = 0;
  for (const avp of avps) offset = writeAvp(avp, offset, 0);
  return Buffer.from(scratch.subarray(0, offset));
}

function writeAvp(avp: DiameterAvp, offset: number, depth: number): number {
  checkUnsigned(avp.code, 0xffffffff, 'AVP Code');
  checkUnsigned(avp.vendorId, 0xffffffff, `vendor id of AVP ${avp.code}`);
  const hasVendor = avp.vendorId !== 0;
  const headerLength = hasVendor ? 12 : 8;
  ensure(offset, headerLength);
  scratch.writeUInt32BE(avp.code, offset);
  scratch[offset + 4] =
    (avp.flags & (AvpFlag.Mandatory | AvpFlag.Protected)) | (hasVendor ? AvpFlag.Vendor : 0);
  if (hasVendor) scratch.writeUInt32BE(avp.vendorId, offset + 8);
  const dataEnd = writeValue(avp, offset + headerLength, depth);
  const length = dataEnd - offset;
  if (length > 0xffffff) throw new RangeError(`${avp.name} would be ${length} octets; at most 16777215 fit`);
  scratch.writeUIntBE(length, offset + 5, 3);
  const padded = (dataEnd + 3) & ~3;
  ensure(dataEnd, padded - dataEnd);
  scratch.fill(0, dataEnd, padded);
  return padded;
}

function wrongValue(avp: DiameterAvp, expected: string): TypeError {
  return new TypeError(`${avp.name} (${avp.type}) needs ${expected}, not ${describe(avp.value)}`);
}

function writeValue(avp: DiameterAvp, offset: number, depth: number): number {
  const value = avp.value;
  switch (avp.type) {
    case 'OctetString': {
      if (!(value instanceof Uint8Array)) throw wrongValue(avp, 'a Uint8Array');
      ensure(offset, value.length);
      scratch.set(value, offset);
      return offset + value.length;
    }
    case 'UTF8String':
    case 'DiameterIdentity':
    case 'DiameterURI': {
      if (typeof value !== 'string') throw wrongValue(avp, 'a string');
      // A UTF-16 code unit becomes at most 3 UTF-8 octets (a surrogate pair 4 for 2 units).
      ensure(offset, value.length * 3);
      return offset + scratch.write(value, offset, 'utf8');
    }
    case 'Integer32':
      if (
        typeof value !== 'number' ||
        !Number.isInteger(value) ||
        value < -0x8000_0000 ||
        value > 0x7fff_ffff
      ) {
        throw wrongValue(avp, 'an integer in -2^31..2^31-1');
      }
      ensure(offset, 4);
      scratch.writeInt32BE(value, offset);
      return offset + 4;
    case 'Unsigned32':
    case 'Enumerated':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
        throw wrongValue(avp, 'an integer in 0..2^32-1');
      }
      ensure(offset, 4);
      scratch.writeUInt32BE(value, offset);
      return offset + 4;
    case 'Integer64':
      if (typeof value !== 'bigint' || value < -(1n << 63n) || value >= 1n << 63n) {
        throw wrongValue(avp, 'a bigint in -2^63..2^63-1');
      }
      ensure(offset, 8);
      scratch.writeBigInt64BE(value, offset);
      return offset + 8;
    case 'Unsigned64':
      if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n)
        throw wrongValue(avp, 'a bigint in 0..2^64-1');
      ensure(offset, 8);
      scratch.writeBigUInt64BE(value, offset);
      return offset + 8;
    case 'Float32':
      if (typeof value !== 'number') throw wrongValue(avp, 'a number');
      ensure(offset, 4);
      scratch.writeFloatBE(value, offset);
      return offset + 4;
    case 'Float64':
      if (typeof value !== 'number') throw wrongValue(avp, 'a number');
      ensure(offset, 8);
      scratch.writeDoubleBE(value, offset);
      return offset + 8;
    case 'Time': {
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw wrongValue(avp, 'milliseconds since the epoch');
      ensure(offset, 4);
      scratch.writeUInt32BE(ntpSeconds(value, avp.name), offset);
      return offset + 4;
    }
    case 'Address':
      return writeAddress(avp, value, offset);
    case 'Grouped': {
      if (!Array.isArray(value)) throw wrongValue(avp, 'an array of AVPs');
      if (depth + 1 >= MAX_GROUPED_DEPTH)
        throw new RangeError(`${avp.name} nests deeper than ${MAX_GROUPED_DEPTH}`);
      let end = offset;
      for (const child of value as readonly DiameterAvp[]) end = writeAvp(child, end, depth + 1);
      return end;
    }
  }
}

/**
 * Unix milliseconds to the 32-bit NTP seconds of a Time AVP (RFC 6733 section 4.3.1). Sub-second
 * parts are dropped (floor); instants outside 1968-01-20T03:14:08Z..2104-02-26 do not fit.
 */
function ntpSeconds(ms: number, name: string): number {
  const unixSeconds = Math.floor(ms / 1000);
  const ntp = unixSeconds + NTP_TO_UNIX_SECONDS;
  // Era 0 values must have the top bit set; era 1 (from 2036) values must have it clear.
  if (ntp >= 0x8000_0000 && ntp < TWO_POW_32) return ntp;
  if (ntp >= TWO_POW_32 && ntp - TWO_POW_32 < 0x8000_0000) return ntp - TWO_POW_32;
  throw new RangeError(`${name}: ${ms} ms is outside the range a Diameter Time can hold (1968..2104)`);
}

const ADDRESS_FAMILY_IPV4 = 1;
const ADDRESS_FAMILY_IPV6 = 2;

function writeAddress(avp: DiameterAvp, value: AvpValue, offset: number): number {
  if (typeof value === 'string') {
    if (isIPv4(value)) {
      ensure(offset, 6);
      scratch.writeUInt16BE(ADDRESS_FAMILY_IPV4, offset);
      const parts = value.split('.');
      for (let i = 0; i < 4; i++) scratch[offset + 2 + i] = Number(parts[i]);
      return offset + 6;
    }
    if (isIPv6(value)) {
      ensure(offset, 18);
      scratch.writeUInt16BE(ADDRESS_FAMILY_IPV6, offset);
      scratch.set(parseIpv6(value), offset + 2);
      return offset + 18;
    }
    throw new TypeError(`${avp.name} (Address) needs an IPv4 or IPv6 address, not ${JSON.stringify(value)}`);
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    'family' in value &&
    'bytes' in value &&
    value.bytes instanceof Uint8Array
  ) {
    checkUnsigned(value.family, 0xffff, `${avp.name} address family`);
    ensure(offset, 2 + value.bytes.length);
    scratch.writeUInt16BE(value.family, offset);
    scratch.set(value.bytes, offset + 2);
    return offset + 2 + value.bytes.length;
  }
  throw new TypeError(
    `${avp.name} (Address) needs an address string or { family, bytes }, not ${describe(value)}`,
  );
}

/** Formats 16 octets as RFC 5952 text: lowercase, no leading zeros, the longest zero run as "::". */
function formatIpv6(view: Uint8Array, start: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((view[start + 2 * i]! << 8) | view[start + 2 * i + 1]!);
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    // RFC 5952 section 4.2.2: a single zero group is not shortened; ties go to the first run.
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((group) => group.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** Parses IPv6 text (already checked with isIPv6), with "::" and a dotted IPv4 tail, to 16 octets. */
function parseIpv6(text: string): Uint8Array {
  const zone = text.indexOf('%');
  let address = zone >= 0 ? text.slice(0, zone) : text;
  const tail: number[] = [];
  const lastColon = address.lastIndexOf(':');
  const last = address.slice(lastColon + 1);
  if (last.includes('.')) {
    // An embedded IPv4 tail ("::ffff:192.0.2.1") fills the last two groups.
    const octets = last.split('.').map(Number);
    tail.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
    address = address.slice(0, lastColon + 1);
    if (!address.endsWith('::')) address = address.slice(0, -1);
  }
  const [head, rest] = address.includes('::') ? address.split('::') : [address, undefined];
  const headGroups = head ? head.split(':').map((part) => parseInt(part, 16)) : [];
  const restGroups = rest ? rest.split(':').map((part) => parseInt(part, 16)) : [];
  const fill = 8 - tail.length - headGroups.length - restGroups.length;
  const groups =
    rest === undefined
      ? [...headGroups, ...tail]
      : [...headGroups, ...new Array<number>(fill).fill(0), ...restGroups, ...tail];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = (groups[i] ?? 0) >> 8;
    bytes[2 * i + 1] = (groups[i] ?? 0) & 0xff;
  }
  return bytes;
}

function checkUnsigned(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${what} must be an integer in 0..${max}, not ${value}`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `${value.length} octets`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---- Building AVPs -----------------------------------------------------------------------------

/** The flags a sender sets for `definition`: M when the rule is `must`; V follows the vendor. */
export function mandatoryFlags(definition: AvpDefinition): number {
  return (
    (definition.mandatory === 'must' ? AvpFlag.Mandatory : 0) |
    (definition.vendorId !== 0 ? AvpFlag.Vendor : 0)
  );
}

export interface AvpOptions {
  /** Overrides the dictionary's M-bit rule (for a peer that insists on M for 3GPP AVPs). */
  readonly mandatory?: boolean;
  readonly dictionary?: DiameterDictionary;
}

/**
 * Builds an AVP by dictionary name: `avp('Session-Id', 'ocs;1;2')`. Enumerated values may be given
 * by name (`avp('CC-Request-Type', 'INITIAL_REQUEST')`). Throws RangeError for an unknown name.
 */
export function avp(name: string, value: AvpValue, options: AvpOptions = {}): DiameterAvp {
  const definition = (options.dictionary ?? defaultDictionary).require(name);
  let typed = value;
  if (definition.type === 'Enumerated' && typeof value === 'string') {
    const entry = Object.entries(definition.values ?? {}).find(([, candidate]) => candidate === value);
    if (entry === undefined) throw new RangeError(`${name} has no value named ${value}`);
    typed = Number(entry[0]);
  }
  let flags = mandatoryFlags(definition);
  if (options.mandatory !== undefined) {
    flags = options.mandatory ? flags | AvpFlag.Mandatory : flags & ~AvpFlag.Mandatory;
  }
  return {
    code: definition.code,
    vendorId: definition.vendorId,
    flags,
    name,
    type: definition.type,
    value: typed,
  };
}

// ---- Reading AVPs ------------------------------------------------------------------------------

/** Something holding AVPs: a message, a Grouped AVP, or a list. */
export type AvpContainer = DiameterMessage | DiameterAvp | readonly DiameterAvp[];

/** The AVPs directly inside `container` (not their descendants). */
export function avpsOf(container: AvpContainer): readonly DiameterAvp[] {
  if (Array.isArray(container)) return container as readonly DiameterAvp[];
  if ('avps' in container) return container.avps;
  return groupedChildren(container as DiameterAvp);
}

/** The children of a Grouped AVP; empty for any other AVP. */
export function groupedChildren(avp: DiameterAvp): readonly DiameterAvp[] {
  return avp.type === 'Grouped' && Array.isArray(avp.value) ? (avp.value as readonly DiameterAvp[]) : [];
}

/** The first AVP named `name` directly inside `container`, or undefined. */
export function findAvp(
  container: AvpContainer,
  name: string,
  dictionary: DiameterDictionary = defaultDictionary,
): DiameterAvp | undefined {
  const { code, vendorId } = dictionary.require(name);
  for (const candidate of avpsOf(container)) {
    if (candidate.code === code && candidate.vendorId === vendorId) return candidate;
  }
  return undefined;
}

/** Every AVP named `name` directly inside `container`, in wire order. */
export function findAvps(
  container: AvpContainer,
  name: string,
  dictionary: DiameterDictionary = defaultDictionary,
): DiameterAvp[] {
  const { code, vendorId } = dictionary.require(name);
  return avpsOf(container).filter((candidate) => candidate.code === code && candidate.vendorId === vendorId);
}

/** The string value of the first `name` AVP; undefined when absent or not a string type. */
export function stringValue(container: AvpContainer, name: string): string | undefined {
  const found = findAvp(container, name);
  return found !== undefined && typeof found.value === 'string' && found.type !== 'Address'
    ? found.value
    : undefined;
}

/** The number value (Integer32, Unsigned32, Enumerated, Time) of the first `name` AVP. */
export function numberValue(container: AvpContainer, name: string): number | undefined {
  const found = findAvp(container, name);
  return found !== undefined && typeof found.value === 'number' ? found.value : undefined;
}

/** The bigint value (Integer64, Unsigned64) of the first `name` AVP. */
export function bigintValue(container: AvpContainer, name: string): bigint | undefined {
  const found = findAvp(container, name);
  return found !== undefined && typeof found.value === 'bigint' ? found.value : undefined;
}

/**
 * The first `name` AVP, or a DiameterDecodeError 5005 DIAMETER_MISSING_AVP naming it, with the
 * zero-filled example RFC 6733 section 7.1.5 asks for in Failed-AVP.
 */
export function requireAvp(
  container: AvpContainer,
  name: string,
  dictionary: DiameterDictionary = defaultDictionary,
): DiameterAvp {
  const found = findAvp(container, name, dictionary);
  if (found !== undefined) return found;
  throw missingAvp(name, dictionary);
}

/** The 5005 error for a missing `name` AVP. */
export function missingAvp(
  name: string,
  dictionary: DiameterDictionary = defaultDictionary,
): DiameterDecodeError {
  const definition = dictionary.require(name);
  return new DiameterDecodeError(ResultCode.DIAMETER_MISSING_AVP, `the required AVP ${name} is missing`, {
    failedAvp: exampleAvp(definition),
  });
}

/** Checks every name is present directly inside `container`; throws 5005 for the first missing. */
export function checkRequiredAvps(container: AvpContainer, names: readonly string[]): void {
  for (const name of names) requireAvp(container, name);
}

// ---- Header helpers ----------------------------------------------------------------------------

export function isRequest(header: DiameterHeader): boolean {
  return (header.flags & CommandFlag.Request) !== 0;
}

export function isRetransmission(header: DiameterHeader): boolean {
  return (header.flags & CommandFlag.Retransmitted) !== 0;
}

/**
 * The header of the answer to `request`: same command, application and identifiers; the P bit
 * copied (RFC 6733 section 6.2); E set for protocol errors.
 */
export function answerHeader(request: DiameterHeader, error = false): DiameterHeader {
  return {
    flags: (request.flags & CommandFlag.Proxiable) | (error ? CommandFlag.Error : 0),
    commandCode: request.commandCode,
    applicationId: request.applicationId,
    hopByHopId: request.hopByHopId,
    endToEndId: request.endToEndId,
  };
}

// ---- Lenient scan --------------------------------------------------------------------------------

/** A top-level AVP as found by `scanAvps`: header fields and the raw data. */
export interface ScannedAvp {
  readonly code: number;
  readonly vendorId: number;
  readonly flags: number;
  readonly data: Uint8Array;
}

/**
 * Walks the top-level AVP headers of a message that may have failed to decode, stopping quietly at
 * the first one that does not fit. Never throws. The server uses it to copy Session-Id, Proxy-Info
 * and the CC-Request-Type/Number into the answer to a request it could not decode.
 */
export function scanAvps(bytes: Uint8Array): ScannedAvp[] {
  const found: ScannedAvp[] = [];
  if (bytes.length < DIAMETER_HEADER_LENGTH) return found;
  const view = asBuffer(bytes);
  const end = Math.min(view.length, view.readUIntBE(1, 3));
  let offset = DIAMETER_HEADER_LENGTH;
  while (end - offset >= 8) {
    const code = view.readUInt32BE(offset);
    const flags = view[offset + 4]!;
    const avpLength = view.readUIntBE(offset + 5, 3);
    const headerLength = (flags & AvpFlag.Vendor) !== 0 ? 12 : 8;
    if (avpLength < headerLength || offset + avpLength > end) break;
    const vendorId = headerLength === 12 ? view.readUInt32BE(offset + 8) : 0;
    found.push({ code, vendorId, flags, data: view.subarray(offset + headerLength, offset + avpLength) });
    offset += (avpLength + 3) & ~3;
  }
  return found;
}

// ---- Stream framing ------------------------------------------------------------------------------

/**
 * Cuts a TCP byte stream into whole Diameter messages. The first four octets of each message give
 * the version and Message Length; a version other than 1 (5011), a length below 20 or not a
 * multiple of 4, or above the maximum (5015) means the stream can no longer be split, so the error
 * is fatal: the caller closes the connection. A message inside one chunk is passed on as a view of
 * that chunk (no copy); one spread over chunks is assembled into its own buffer.
 */
export class DiameterFramer {
  private partial: Buffer | undefined;
  private partialFilled = 0;
  private readonly stash = Buffer.alloc(4);
  private stashLength = 0;
  private failure: DiameterDecodeError | undefined;

  constructor(readonly maxMessageLength: number = DEFAULT_MAX_MESSAGE_LENGTH) {
    if (!Number.isInteger(maxMessageLength) || maxMessageLength < DIAMETER_HEADER_LENGTH) {
      throw new RangeError(`the maximum message length must be at least 20, not ${maxMessageLength}`);
    }
  }

  /** Octets held while waiting for the rest of a message. */
  get bufferedLength(): number {
    return this.partial === undefined ? this.stashLength : this.partialFilled;
  }

  /**
   * Feeds a chunk; calls `onMessage` for each message it completes. Returns the fatal error, if the
   * stream went bad (then and on every later call), else undefined.
   */
  push(chunk: Uint8Array, onMessage: (message: Buffer) => void): DiameterDecodeError | undefined {
    if (this.failure !== undefined) return this.failure;
    const data = asBuffer(chunk);
    let offset = 0;
    while (offset < data.length) {
      if (this.partial !== undefined) {
        const take = Math.min(this.partial.length - this.partialFilled, data.length - offset);
        data.copy(this.partial, this.partialFilled, offset, offset + take);
        this.partialFilled += take;
        offset += take;
        if (this.partialFilled === this.partial.length) {
          const message = this.partial;
          this.partial = undefined;
          this.partialFilled = 0;
          onMessage(message);
        }
        continue;
      }
      if (this.stashLength > 0) {
        const take = Math.min(4 - this.stashLength, data.length - offset);
        data.copy(this.stash, this.stashLength, offset, offset + take);
        this.stashLength += take;
        offset += take;
        if (this.stashLength < 4) return undefined;
        const length = this.checkPrefix(this.stash, 0, undefined);
        if (length === undefined) return this.failure;
        this.partial = Buffer.allocUnsafe(length);
        this.stash.copy(this.partial, 0, 0, 4);
        this.partialFilled = 4;
        this.stashLength = 0;
        continue;
      }
      const available = data.length - offset;
      if (available < 4) {
        data.copy(this.stash, 0, offset, data.length);
        this.stashLength = available;
        return undefined;
      }
      const length = this.checkPrefix(
        data,
        offset,
        available >= DIAMETER_HEADER_LENGTH ? data.subarray(offset) : undefined,
      );
      if (length === undefined) return this.failure;
      if (available >= length) {
        const message = data.subarray(offset, offset + length);
        offset += length;
        onMessage(message);
      } else {
        this.partial = Buffer.allocUnsafe(length);
        data.copy(this.partial, 0, offset, data.length);
        this.partialFilled = available;
        offset = data.length;
      }
    }
    return undefined;
  }

  /** Checks version and length at `offset`; records the failure and returns undefined when bad. */
  private checkPrefix(data: Buffer, offset: number, headerBytes: Uint8Array | undefined): number | undefined {
    const version = data[offset]!;
    const length = data.readUIntBE(offset + 1, 3);
    const header = headerBytes === undefined ? undefined : peekHeader(headerBytes);
    if (version !== DIAMETER_VERSION) {
      this.failure = new DiameterDecodeError(
        ResultCode.DIAMETER_UNSUPPORTED_VERSION,
        `Diameter version ${version} is not supported (only version 1); the stream cannot be framed`,
        { fatal: true, ...(header === undefined ? {} : { header }) },
      );
      return undefined;
    }
    if (length < DIAMETER_HEADER_LENGTH || length % 4 !== 0 || length > this.maxMessageLength) {
      this.failure = new DiameterDecodeError(
        ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
        length > this.maxMessageLength
          ? `Message Length ${length} exceeds the maximum of ${this.maxMessageLength}`
          : `Message Length ${length} is below 20 or not a multiple of 4; the stream cannot be framed`,
        { fatal: true, ...(header === undefined ? {} : { header }) },
      );
      return undefined;
    }
    return length;
  }
}
