/**
 * Builders of Accounting-Requests as a NAS sends them, for tests and for trying a server by hand.
 * Counters given as bigint are split into the 32-bit Octets attribute and its Gigawords
 * attribute: 5 GiB = 5_368_709_120 = 1 × 2^32 + 1_073_741_824 → Gigawords 1, Octets 1_073_741_824.
 */
import { AcctStatusType } from './accounting.js';
import { signAccountingRequest, type SharedSecret } from './authenticator.js';
import {
  RadiusAttributeType as A,
  integerAttribute,
  textAttribute,
  type RadiusAttribute,
  type RadiusPacket,
} from './codec.js';

export interface AccountingFixture {
  readonly status: keyof typeof AcctStatusType;
  readonly sessionId?: string;
  readonly userName?: string;
  readonly nasIdentifier?: string;
  readonly sessionTimeSec?: number;
  readonly inputOctets?: bigint;
  readonly outputOctets?: bigint;
  readonly eventTimestampSec?: number;
  readonly delaySec?: number;
  /** More attributes, appended after the ones above. */
  readonly attributes?: readonly RadiusAttribute[];
}

/** The attributes of an Accounting-Request described by `fixture`. */
export function accountingAttributes(fixture: AccountingFixture): RadiusAttribute[] {
  const attributes: RadiusAttribute[] = [integerAttribute(A.AcctStatusType, AcctStatusType[fixture.status])];
  if (fixture.sessionId !== undefined) attributes.push(textAttribute(A.AcctSessionId, fixture.sessionId));
  if (fixture.userName !== undefined) attributes.push(textAttribute(A.UserName, fixture.userName));
  if (fixture.nasIdentifier !== undefined)
    attributes.push(textAttribute(A.NasIdentifier, fixture.nasIdentifier));
  if (fixture.sessionTimeSec !== undefined) {
    attributes.push(integerAttribute(A.AcctSessionTime, fixture.sessionTimeSec));
  }
  const pushOctets = (octets: bigint | undefined, octetsType: number, gigawordsType: number): void => {
    if (octets === undefined) return;
    attributes.push(integerAttribute(octetsType, Number(octets & 0xffffffffn)));
    if (octets >> 32n > 0n) attributes.push(integerAttribute(gigawordsType, Number(octets >> 32n)));
  };
  pushOctets(fixture.inputOctets, A.AcctInputOctets, A.AcctInputGigawords);
  pushOctets(fixture.outputOctets, A.AcctOutputOctets, A.AcctOutputGigawords);
  if (fixture.eventTimestampSec !== undefined) {
    attributes.push(integerAttribute(A.EventTimestamp, fixture.eventTimestampSec));
  }
  if (fixture.delaySec !== undefined) attributes.push(integerAttribute(A.AcctDelayTime, fixture.delaySec));
  attributes.push(...(fixture.attributes ?? []));
  return attributes;
}

/** An unsigned Accounting-Request packet (authenticator zero), for the pure conversion. */
export function accountingPacket(fixture: AccountingFixture, identifier = 1): RadiusPacket {
  return {
    code: 4,
    identifier,
    authenticator: new Uint8Array(16),
    attributes: accountingAttributes(fixture),
  };
}

/** The datagram a NAS would send: the request signed with `secret`. */
export function signedAccountingDatagram(
  fixture: AccountingFixture,
  identifier: number,
  secret: SharedSecret,
): Buffer {
  return signAccountingRequest({ identifier, attributes: accountingAttributes(fixture) }, secret);
}
