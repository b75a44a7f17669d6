/**
 * Accounting authenticators (pure): RFC 2866 section 3.
 *
 * Request Authenticator of an Accounting-Request:
 *   MD5(Code + Identifier + Length + 16 zero octets + request attributes + shared secret)
 * The NAS computes it with the authenticator field zeroed and puts the digest there; we recompute
 * it over the datagram as received (octets 0..Length-1, padding excluded) with that field zeroed
 * again, and compare in constant time. Unlike an Access-Request's random authenticator, it is a
 * keyed hash of the whole packet, so it authenticates every attribute: a forged or altered packet,
 * or one from a NAS configured with another secret, fails it.
 *
 * Response Authenticator of the Accounting-Response:
 *   MD5(Code + Identifier + Length + Request Authenticator + response attributes + shared secret)
 *
 * MD5 is what the RFCs specify; it is used here as the protocol's keyed digest, nothing more.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  RADIUS_AUTHENTICATOR_LENGTH,
  RADIUS_HEADER_LENGTH,
  RadiusCode,
  encodeAttributes,
  encodePacket,
  type RadiusAttribute,
  type RadiusPacket,
} from './codec.js';

const ZERO_AUTHENTICATOR = new Uint8Array(RADIUS_AUTHENTICATOR_LENGTH);

/** A shared secret as configured (text, taken as UTF-8) or as raw octets. */
export type SharedSecret = string | Uint8Array;

export function secretBytes(secret: SharedSecret): Uint8Array {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
}

/**
 * The Request Authenticator an Accounting-Request should carry. `packetBytes` is the packet as
 * sent or received; only its first Length octets count (the rest is padding).
 */
export function accountingRequestAuthenticator(packetBytes: Uint8Array, secret: SharedSecret): Buffer {
  const length = (packetBytes[2]! << 8) | packetBytes[3]!;
  const hash = createHash('md5');
  hash.update(packetBytes.subarray(0, 4));
  hash.update(ZERO_AUTHENTICATOR);
  hash.update(packetBytes.subarray(RADIUS_HEADER_LENGTH, length));
  hash.update(secretBytes(secret));
  return hash.digest();
}

/**
 * True when the Accounting-Request in `packetBytes` (already decoded, so its Length is sound)
 * carries the authenticator its content and `secret` give.
 */
export function verifyAccountingRequest(packetBytes: Uint8Array, secret: SharedSecret): boolean {
  const expected = accountingRequestAuthenticator(packetBytes, secret);
  const received = packetBytes.subarray(4, 4 + RADIUS_AUTHENTICATOR_LENGTH);
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/**
 * Encodes an Accounting-Request signed with `secret` (what a NAS sends; used by tests and tools).
 * The authenticator field of `packet` is ignored and replaced.
 */
export function signAccountingRequest(
  packet: Omit<RadiusPacket, 'code' | 'authenticator'>,
  secret: SharedSecret,
): Buffer {
  const bytes = encodePacket({
    code: RadiusCode.AccountingRequest,
    identifier: packet.identifier,
    authenticator: ZERO_AUTHENTICATOR,
    attributes: packet.attributes,
  });
  accountingRequestAuthenticator(bytes, secret).copy(bytes, 4);
  return bytes;
}

/**
 * Encodes the Accounting-Response to a request: code 5, the request's identifier, `attributes`
 * (Proxy-State copies, if any), and the Response Authenticator.
 */
export function buildAccountingResponse(
  request: Pick<RadiusPacket, 'identifier' | 'authenticator'>,
  attributes: readonly RadiusAttribute[],
  secret: SharedSecret,
): Buffer {
  const bytes = encodePacket({
    code: RadiusCode.AccountingResponse,
    identifier: request.identifier,
    authenticator: request.authenticator,
    attributes,
  });
  const hash = createHash('md5');
  hash.update(bytes.subarray(0, 4));
  hash.update(request.authenticator);
  hash.update(encodeAttributes(attributes));
  hash.update(secretBytes(secret));
  hash.digest().copy(bytes, 4);
  return bytes;
}
