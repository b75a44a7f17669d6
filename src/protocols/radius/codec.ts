/**
 * The RADIUS packet codec (pure): RFC 2865 section 3 (packet format) and section 5 (attribute
 * format), as used by RFC 2866 accounting.
 *
 * A packet on the wire:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Code      |  Identifier   |            Length             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                     Authenticator (16 octets)                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Attributes ...  (Type: 1 octet, Length: 1 octet, Value)
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-
 *
 * The Length field counts the whole packet, header included: at least 20 (a header with no
 * attributes) and at most 4096. Octets of the datagram past Length are padding and ignored; a
 * datagram shorter than Length is malformed. Each attribute's Length counts its Type and Length
 * octets too, so it is at least 2 and the attributes must tile the packet exactly.
 *
 * The decoder never throws: any datagram, however mangled, gives either a packet or a failure
 * with its reason (the server counts it and drops the datagram silently, as RFC 2865 section 3
 * asks). Attribute values are kept as raw octets, Vendor-Specific (26) included; the typed
 * readers below interpret the few the accounting conversion needs, and also never throw.
 */

/** Packet codes (RFC 2865 section 3, RFC 2866 section 4). */
export const RadiusCode = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
} as const;

/** Attribute types this module reads or writes (RFC 2865, 2866, 2869, 3162). */
export const RadiusAttributeType = {
  UserName: 1,
  NasIpAddress: 4,
  NasPort: 5,
  FramedIpAddress: 8,
  Class: 25,
  VendorSpecific: 26,
  CalledStationId: 30,
  CallingStationId: 31,
  NasIdentifier: 32,
  ProxyState: 33,
  AcctStatusType: 40,
  AcctDelayTime: 41,
  AcctInputOctets: 42,
  AcctOutputOctets: 43,
  AcctSessionId: 44,
  AcctAuthentic: 45,
  AcctSessionTime: 46,
  AcctInputPackets: 47,
  AcctOutputPackets: 48,
  AcctTerminateCause: 49,
  AcctMultiSessionId: 50,
  AcctLinkCount: 51,
  AcctInputGigawords: 52,
  AcctOutputGigawords: 53,
  EventTimestamp: 55,
  MessageAuthenticator: 80,
  NasPortId: 87,
  NasIpv6Address: 95,
} as const;

/** Smallest packet: the 20-octet header (code, identifier, length, authenticator). */
export const RADIUS_HEADER_LENGTH = 20;
/** Largest packet RFC 2865 allows. */
export const RADIUS_MAX_PACKET_LENGTH = 4096;
export const RADIUS_AUTHENTICATOR_LENGTH = 16;
/** An attribute's value holds at most 253 octets (its Length octet counts Type and Length too). */
export const RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH = 253;

/** One attribute as it arrived: its type and raw value (without the Type and Length octets). */
export interface RadiusAttribute {
  readonly type: number;
  readonly value: Uint8Array;
}

/** A decoded packet. `attributes` keeps the wire order (it matters for Proxy-State and Class). */
export interface RadiusPacket {
  readonly code: number;
  readonly identifier: number;
  /** The 16-octet Request or Response Authenticator, as on the wire. */
  readonly authenticator: Uint8Array;
  readonly attributes: readonly RadiusAttribute[];
}

/** Why a datagram is not a RADIUS packet. */
export type DecodeFailureReason =
  /** Fewer than 20 octets, or a Length field below 20 or above 4096. */
  | 'bad_length'
  /** The datagram holds fewer octets than its Length field claims. */
  | 'truncated'
  /** An attribute's Length is below 2, or runs past the end of the packet. */
  | 'bad_attribute';

export type DecodeResult =
  | {
      readonly ok: true;
      readonly packet: RadiusPacket;
      /** The Length field: octets used. */ readonly length: number;
    }
  | { readonly ok: false; readonly reason: DecodeFailureReason; readonly detail: string };

/** Decodes one datagram. Never throws; the packet's byte arrays are copies, not views. */
export function decodePacket(datagram: Uint8Array): DecodeResult {
  if (datagram.length < RADIUS_HEADER_LENGTH) {
    return {
      ok: false,
      reason: 'bad_length',
      detail: `datagram of ${datagram.length} octets is shorter than the 20-octet header`,
    };
  }
  const length = (datagram[2]! << 8) | datagram[3]!;
  if (length < RADIUS_HEADER_LENGTH || length > RADIUS_MAX_PACKET_LENGTH) {
    return { ok: false, reason: 'bad_length', detail: `Length field ${length} is outside 20..4096` };
  }
  if (datagram.length < length) {
    return {
      ok: false,
      reason: 'truncated',
      detail: `Length field ${length} exceeds the ${datagram.length} octets received`,
    };
  }
  const attributes: RadiusAttribute[] = [];
  let offset = RADIUS_HEADER_LENGTH;
  while (offset < length) {
    if (offset + 2 > length) {
      return {
        ok: false,
        reason: 'bad_attribute',
        detail: `attribute header at offset ${offset} is cut off`,
      };
    }
    const type = datagram[offset]!;
    const attributeLength = datagram[offset + 1]!;
    if (attributeLength < 2) {
      return {
        ok: false,
        reason: 'bad_attribute',
        detail: `attribute ${type} at offset ${offset} has Length ${attributeLength} (below 2)`,
      };
    }
    if (offset + attributeLength > length) {
      return {
        ok: false,
        reason: 'bad_attribute',
        detail: `attribute ${type} at offset ${offset} with Length ${attributeLength} runs past the packet end ${length}`,
      };
    }
    attributes.push({ type, value: datagram.slice(offset + 2, offset + attributeLength) });
    offset += attributeLength;
  }
  return {
    ok: true,
    length,
    packet: {
      code: datagram[0]!,
      identifier: datagram[1]!,
      authenticator: datagram.slice(4, 4 + RADIUS_AUTHENTICATOR_LENGTH),
      attributes,
    },
  };
}

/**
 * Encodes a packet. Throws RangeError for a packet we should never build (a value over 253
 * octets, a total over 4096, a field out of range): that is a bug in our code, not bad input.
 */
export function encodePacket(packet: RadiusPacket): Buffer {
  checkOctet(packet.code, 'code');
  checkOctet(packet.identifier, 'identifier');
  if (packet.authenticator.length !== RADIUS_AUTHENTICATOR_LENGTH) {
    throw new RangeError(`the authenticator must be 16 octets, not ${packet.authenticator.length}`);
  }
  const length = encodedLength(packet.attributes);
  const out = Buffer.alloc(length);
  out[0] = packet.code;
  out[1] = packet.identifier;
  out.writeUInt16BE(length, 2);
  out.set(packet.authenticator, 4);
  writeAttributes(out, RADIUS_HEADER_LENGTH, packet.attributes);
  return out;
}

/** The encoded attributes alone (what the authenticator hashes cover after the header). */
export function encodeAttributes(attributes: readonly RadiusAttribute[]): Buffer {
  const out = Buffer.alloc(encodedLength(attributes) - RADIUS_HEADER_LENGTH);
  writeAttributes(out, 0, attributes);
  return out;
}

function encodedLength(attributes: readonly RadiusAttribute[]): number {
  let length = RADIUS_HEADER_LENGTH;
  for (const attribute of attributes) {
    checkOctet(attribute.type, 'attribute type');
    if (attribute.value.length > RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH) {
      throw new RangeError(
        `attribute ${attribute.type} has ${attribute.value.length} octets; at most 253 fit`,
      );
    }
    length += 2 + attribute.value.length;
  }
  if (length > RADIUS_MAX_PACKET_LENGTH) {
    throw new RangeError(`the packet would be ${length} octets; RADIUS allows at most 4096`);
  }
  return length;
}

function writeAttributes(out: Buffer, start: number, attributes: readonly RadiusAttribute[]): void {
  let offset = start;
  for (const attribute of attributes) {
    out[offset] = attribute.type;
    out[offset + 1] = 2 + attribute.value.length;
    out.set(attribute.value, offset + 2);
    offset += 2 + attribute.value.length;
  }
}

function checkOctet(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new RangeError(`${name} must be an integer 0..255, not ${value}`);
  }
}

// ---- Attribute values -----------------------------------------------------------------------

/** The first attribute of `type`, or undefined. */
export function findAttribute(packet: RadiusPacket, type: number): RadiusAttribute | undefined {
  return packet.attributes.find((attribute) => attribute.type === type);
}

/** How a typed read of an attribute went: absent, present and readable, or present but malformed. */
export type AttributeRead<T> =
  | { readonly status: 'absent' }
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'malformed'; readonly detail: string };

/**
 * Reads an `integer` attribute (RFC 2865 section 5: 32-bit unsigned, network byte order). Also
 * serves `time` attributes (Event-Timestamp: seconds since 1970-01-01 UTC, the same encoding).
 */
export function readInteger(packet: RadiusPacket, type: number): AttributeRead<number> {
  const attribute = findAttribute(packet, type);
  if (attribute === undefined) return { status: 'absent' };
  if (attribute.value.length !== 4) {
    return {
      status: 'malformed',
      detail: `attribute ${type} must be 4 octets, not ${attribute.value.length}`,
    };
  }
  const v = attribute.value;
  // `>>> 0` keeps the top bit as magnitude, not sign: 0xFFFFFFFF reads 4294967295.
  return { status: 'ok', value: ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0 };
}

/**
 * Reads a `text` or `string` attribute as UTF-8 text (RFC 2865 section 5: text is UTF-8, 1 to
 * 253 octets). An empty value, or one that is not valid UTF-8, is malformed.
 */
export function readText(packet: RadiusPacket, type: number): AttributeRead<string> {
  const attribute = findAttribute(packet, type);
  if (attribute === undefined) return { status: 'absent' };
  return textOf(attribute.value, `attribute ${type}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function textOf(value: Uint8Array, what: string): AttributeRead<string> {
  if (value.length === 0) return { status: 'malformed', detail: `${what} is empty` };
  try {
    return { status: 'ok', value: utf8.decode(value) };
  } catch {
    return { status: 'malformed', detail: `${what} is not valid UTF-8` };
  }
}

/** Reads an IPv4 `address` attribute (4 octets) as dotted-quad text. */
export function readIpv4Address(packet: RadiusPacket, type: number): AttributeRead<string> {
  const attribute = findAttribute(packet, type);
  if (attribute === undefined) return { status: 'absent' };
  if (attribute.value.length !== 4) {
    return {
      status: 'malformed',
      detail: `attribute ${type} must be 4 octets, not ${attribute.value.length}`,
    };
  }
  return { status: 'ok', value: Array.from(attribute.value).join('.') };
}

/** Reads an IPv6 address attribute (RFC 3162 NAS-IPv6-Address: 16 octets) as uncompressed text. */
export function readIpv6Address(packet: RadiusPacket, type: number): AttributeRead<string> {
  const attribute = findAttribute(packet, type);
  if (attribute === undefined) return { status: 'absent' };
  if (attribute.value.length !== 16) {
    return {
      status: 'malformed',
      detail: `attribute ${type} must be 16 octets, not ${attribute.value.length}`,
    };
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push(((attribute.value[i]! << 8) | attribute.value[i + 1]!).toString(16));
  return { status: 'ok', value: groups.join(':') };
}

/** A Vendor-Specific attribute split into its vendor and sub-attributes. */
export interface VendorSpecific {
  readonly vendorId: number;
  /**
   * The sub-attributes, when the value follows the layout RFC 2865 section 5.26 recommends (a
   * one-octet vendor type and one-octet vendor length, each length ≥ 2, tiling the value
   * exactly); undefined when the vendor uses a layout of its own.
   */
  readonly subAttributes: readonly RadiusAttribute[] | undefined;
  /** The String part after the Vendor-Id, raw. */
  readonly data: Uint8Array;
}

/** Splits a Vendor-Specific (26) value; undefined when it is shorter than its 4-octet Vendor-Id. */
export function parseVendorSpecific(value: Uint8Array): VendorSpecific | undefined {
  if (value.length < 4) return undefined;
  // The high-order octet of the Vendor-Id is 0 (RFC 2865 section 5.26); the rest is the SMI code.
  const vendorId = ((value[0]! << 24) | (value[1]! << 16) | (value[2]! << 8) | value[3]!) >>> 0;
  const data = value.slice(4);
  const subAttributes: RadiusAttribute[] = [];
  let offset = 0;
  while (offset < data.length) {
    const subLength = data[offset + 1];
    if (subLength === undefined || subLength < 2 || offset + subLength > data.length) {
      return { vendorId, subAttributes: undefined, data };
    }
    subAttributes.push({ type: data[offset]!, value: data.slice(offset + 2, offset + subLength) });
    offset += subLength;
  }
  return { vendorId, subAttributes, data };
}

/** Reads the first vendor sub-attribute (vendorId, vendorType) as text. */
export function readVendorText(
  packet: RadiusPacket,
  vendorId: number,
  vendorType: number,
): AttributeRead<string> {
  for (const attribute of packet.attributes) {
    if (attribute.type !== RadiusAttributeType.VendorSpecific) continue;
    const vendor = parseVendorSpecific(attribute.value);
    if (vendor === undefined || vendor.vendorId !== vendorId || vendor.subAttributes === undefined) continue;
    const sub = vendor.subAttributes.find((candidate) => candidate.type === vendorType);
    if (sub !== undefined) return textOf(sub.value, `vendor ${vendorId} attribute ${vendorType}`);
  }
  return { status: 'absent' };
}

/** Builds an attribute holding a 32-bit unsigned integer. */
export function integerAttribute(type: number, value: number): RadiusAttribute {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`attribute ${type} value ${value} is not a 32-bit unsigned integer`);
  }
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return { type, value: bytes };
}

/** Builds an attribute holding UTF-8 text. */
export function textAttribute(type: number, text: string): RadiusAttribute {
  return { type, value: new TextEncoder().encode(text) };
}

/** Builds a Vendor-Specific attribute with sub-attributes in the RFC 2865 recommended layout. */
export function vendorAttribute(
  vendorId: number,
  subAttributes: readonly RadiusAttribute[],
): RadiusAttribute {
  const length = 4 + subAttributes.reduce((sum, sub) => sum + 2 + sub.value.length, 0);
  const bytes = new Uint8Array(length);
  new DataView(bytes.buffer).setUint32(0, vendorId);
  let offset = 4;
  for (const sub of subAttributes) {
    bytes[offset] = sub.type;
    bytes[offset + 1] = 2 + sub.value.length;
    bytes.set(sub.value, offset + 2);
    offset += 2 + sub.value.length;
  }
  return { type: RadiusAttributeType.VendorSpecific, value: bytes };
}
