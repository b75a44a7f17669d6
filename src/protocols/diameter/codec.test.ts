import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AvpFlag,
  CommandFlag,
  DiameterDecodeError,
  DiameterFramer,
  avp,
  checkRequiredAvps,
  decodeMessage,
  encodeMessage,
  findAvp,
  findAvps,
  groupedChildren,
  requireAvp,
  scanAvps,
  stringValue,
  tryDecodeMessage,
  type DiameterAvp,
  type DiameterMessage,
} from './codec.js';
import { buildCreditControlRequest, parseCreditControlRequest } from './credit-control.js';
import { createDictionary, defaultDictionary, VENDOR_3GPP, type AvpType } from './dictionary.js';
import { ResultCode } from './result-codes.js';

// Float32 and Float64 appear in no charging AVP, so a test vendor defines one of each.
const TEST_VENDOR = 99_999;
const dictionary = createDictionary([
  { code: 1, vendorId: TEST_VENDOR, name: 'Test-Float32', type: 'Float32', mandatory: 'may' },
  { code: 2, vendorId: TEST_VENDOR, name: 'Test-Float64', type: 'Float64', mandatory: 'may' },
]);

function message(avps: DiameterAvp[], flags = CommandFlag.Request | CommandFlag.Proxiable): DiameterMessage {
  return { flags, commandCode: 272, applicationId: 4, hopByHopId: 0x11223344, endToEndId: 0x55667788, avps };
}

/** Decodes and expects a DiameterDecodeError; returns it. */
function decodeFails(bytes: Uint8Array): DiameterDecodeError {
  try {
    decodeMessage(bytes);
  } catch (error) {
    assert.ok(error instanceof DiameterDecodeError, `expected DiameterDecodeError, got ${String(error)}`);
    return error;
  }
  assert.fail('decoding should have failed');
}

/** A header for hand-built messages: version 1, the given length and flags, CCR on application 4. */
function header(length: number, flags = 0xc0, version = 1): Buffer {
  const bytes = Buffer.alloc(20);
  bytes[0] = version;
  bytes.writeUIntBE(length, 1, 3);
  bytes[4] = flags;
  bytes.writeUIntBE(272, 5, 3);
  bytes.writeUInt32BE(4, 8);
  bytes.writeUInt32BE(1, 12);
  bytes.writeUInt32BE(2, 16);
  return bytes;
}

/** A raw AVP: header (with vendor when given) and value, padded. */
function rawAvp(
  code: number,
  flags: number,
  value: Uint8Array,
  vendorId?: number,
  lengthOverride?: number,
): Buffer {
  const headerLength = vendorId === undefined ? 8 : 12;
  const length = lengthOverride ?? headerLength + value.length;
  const out = Buffer.alloc(headerLength + value.length + ((4 - ((headerLength + value.length) % 4)) % 4));
  out.writeUInt32BE(code, 0);
  out[4] = flags | (vendorId === undefined ? 0 : AvpFlag.Vendor);
  out.writeUIntBE(length, 5, 3);
  if (vendorId !== undefined) out.writeUInt32BE(vendorId, 8);
  out.set(value, headerLength);
  return out;
}

function withAvps(...avps: Buffer[]): Buffer {
  const body = Buffer.concat(avps);
  return Buffer.concat([header(20 + body.length), body]);
}

describe('diameter codec: round trips', () => {
  it('round-trips every basic and derived type', () => {
    const avps: DiameterAvp[] = [
      avp('Session-Id', 'ocs.example;1;2;ü'),
      avp('Origin-Host', 'pgw.example'),
      avp('Redirect-Host', 'aaa://ocs.example:3868;transport=tcp'),
      avp('Class', Buffer.from([0, 1, 2, 255])),
      avp('Exponent', -2),
      avp('Value-Digits', -9_223_372_036_854_775_808n),
      avp('Result-Code', 4_294_967_295),
      avp('CC-Total-Octets', 18_446_744_073_709_551_615n),
      avp('CC-Request-Type', 'TERMINATION_REQUEST'),
      avp('Event-Timestamp', Date.UTC(2026, 2, 1, 10, 0, 0)),
      avp('Host-IP-Address', '192.0.2.7'),
      avp('Host-IP-Address', '2001:db8::1'),
      avp('Host-IP-Address', { family: 8, bytes: Buffer.from('4912345678') }),
      avp('Test-Float32', 1.5, { dictionary }),
      avp('Test-Float64', -0.1, { dictionary }),
      avp('Subscription-Id', [avp('Subscription-Id-Type', 0), avp('Subscription-Id-Data', '491701234567')]),
    ];
    const bytes = encodeMessage(message(avps));
    assert.equal(bytes.length % 4, 0);
    const decoded = decodeMessage(bytes, { dictionary });
    assert.deepEqual(decoded, message(avps));
    assert.equal(decoded.avps.find((a) => a.name === 'CC-Request-Type')?.value, 3);
  });

  it('pads each AVP to 4 octets with zeros, not counted in the AVP Length', () => {
    const bytes = encodeMessage(message([avp('Class', Buffer.from('abcde')), avp('Result-Code', 2001)]));
    // Header 20 + Class (8 + 5 = 13, padded to 16) + Result-Code 12.
    assert.equal(bytes.length, 48);
    assert.equal(bytes.readUIntBE(20 + 5, 3), 13);
    assert.deepEqual([...bytes.subarray(33, 36)], [0, 0, 0]);
    assert.equal(bytes.readUInt32BE(36), 268);
    const decoded = decodeMessage(bytes);
    assert.deepEqual(Buffer.from(decoded.avps[0]!.value as Uint8Array).toString(), 'abcde');
  });

  it('encodes Time as NTP seconds since 1900, across the 2036 era boundary', () => {
    const at = (ms: number): number => encodeMessage(message([avp('Event-Timestamp', ms)])).readUInt32BE(28);
    // 1970-01-01 is 2 208 988 800 s after 1900-01-01.
    assert.equal(at(0), 2_208_988_800);
    // 2036-02-07T06:28:16Z is the end of era 0: it wraps to 0, and sub-second parts are dropped.
    assert.equal(at(Date.UTC(2036, 1, 7, 6, 28, 16, 999)), 0);
    const decoded = decodeMessage(encodeMessage(message([avp('Event-Timestamp', Date.UTC(2040, 0, 1))])));
    assert.equal(decoded.avps[0]!.value, Date.UTC(2040, 0, 1));
    assert.throws(() => encodeMessage(message([avp('Event-Timestamp', Date.UTC(1960, 0, 1))])), RangeError);
  });

  it('writes IPv6 addresses in RFC 5952 form and reads embedded IPv4 tails', () => {
    const roundTrip = (text: string): unknown =>
      decodeMessage(encodeMessage(message([avp('Host-IP-Address', text)]))).avps[0]!.value;
    assert.equal(roundTrip('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(roundTrip('::'), '::');
    assert.equal(roundTrip('1::'), '1::');
    assert.equal(roundTrip('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
    assert.equal(roundTrip('1:0:2:3:4:5:6:7'), '1:0:2:3:4:5:6:7');
    assert.equal(roundTrip('::ffff:192.0.2.1'), '::ffff:c000:201');
    assert.equal(roundTrip('1:2:3:4:5:6:1.2.3.4'), '1:2:3:4:5:6:102:304');
    assert.throws(() => encodeMessage(message([avp('Host-IP-Address', 'not-an-ip')])), TypeError);
  });

  it('keeps vendor AVPs and sets the V bit from the vendor id', () => {
    const bytes = encodeMessage(message([avp('3GPP-SGSN-MCC-MNC', '26201')]));
    assert.equal(bytes[24], AvpFlag.Vendor, '3GPP AVPs go without M (TS 32.299 "may")');
    assert.equal(bytes.readUInt32BE(28), VENDOR_3GPP);
    const decoded = decodeMessage(bytes);
    assert.equal(stringValue(decoded, '3GPP-SGSN-MCC-MNC'), '26201');
    assert.equal(encodeMessage(message([avp('3GPP-SGSN-MCC-MNC', '1', { mandatory: true })]))[24], 0xc0);
  });

  it('keeps an unknown AVP without the M bit as raw octets', () => {
    const bytes = withAvps(rawAvp(9999, 0, Buffer.from('xyz')), rawAvp(263, 0x40, Buffer.from('s')));
    const decoded = decodeMessage(bytes);
    assert.equal(decoded.avps[0]!.name, 'AVP-0-9999');
    assert.equal(decoded.avps[0]!.type, 'OctetString');
    assert.equal(stringValue(decoded, 'Session-Id'), 's');
    // Re-encoding gives the same bytes: nothing was lost.
    assert.deepEqual(encodeMessage(decoded), bytes);
  });

  it('finds AVPs by name, all of them, and the children of groups', () => {
    const decoded = decodeMessage(
      encodeMessage(
        message([
          avp('Session-Id', 's'),
          avp('Subscription-Id', [
            avp('Subscription-Id-Type', 1),
            avp('Subscription-Id-Data', '262011234567890'),
          ]),
          avp('Subscription-Id', [avp('Subscription-Id-Type', 0), avp('Subscription-Id-Data', '4917012345')]),
        ]),
      ),
    );
    const ids = findAvps(decoded, 'Subscription-Id');
    assert.equal(ids.length, 2);
    assert.equal(stringValue(ids[1]!, 'Subscription-Id-Data'), '4917012345');
    assert.equal(groupedChildren(ids[0]!).length, 2);
    assert.equal(findAvp(decoded, 'User-Name'), undefined);
    assert.equal(requireAvp(decoded, 'Session-Id').value, 's');
  });
});

describe('diameter codec: a hand-built CCR checked against the RFC layout', () => {
  // Every octet written out by hand from RFC 6733 section 3 and 4.1 (codes from RFC 4006 section
  // 12 and TS 32.299): header, then each AVP as code (4) | flags (1) | length (3) | [vendor (4)] |
  // data | padding.
  const hex = [
    // Version 1, Message Length 248 (0xf8); flags R+P (0xc0), Command Code 272; Application-ID 4;
    // Hop-by-Hop 0x0a0b0c0d; End-to-End 0x01020304.
    '01 0000f8  c0 000110  00000004  0a0b0c0d  01020304',
    // Session-Id (263), M, length 11 = 8 + "s;1", one octet of padding.
    '00000107 40 00000b 733b31 00',
    // Origin-Host (264) "c.x".
    '00000108 40 00000b 632e78 00',
    // Origin-Realm (296) "x": length 9, three octets of padding.
    '00000128 40 000009 78 000000',
    // Destination-Realm (283) "y".
    '0000011b 40 000009 79 000000',
    // Auth-Application-Id (258) = 4.
    '00000102 40 00000c 00000004',
    // Service-Context-Id (461) "32251@3gpp.org": length 22, two octets of padding.
    '000001cd 40 000016 3332323531403367 70702e6f7267 0000',
    // CC-Request-Type (416) = INITIAL_REQUEST (1); CC-Request-Number (415) = 0.
    '000001a0 40 00000c 00000001',
    '0000019f 40 00000c 00000000',
    // Subscription-Id (443), length 32 = 8 + Subscription-Id-Type (450) = END_USER_E164 (0) 12
    // + Subscription-Id-Data (444) "4917" 12.
    '000001bb 40 000020  000001c2 40 00000c 00000000  000001bc 40 00000c 34393137',
    // Multiple-Services-Credit-Control (456), length 44 = 8 + Requested-Service-Unit (437) 24
    // { CC-Total-Octets (421) = 1 000 000 as Unsigned64, 16 } + Rating-Group (432) = 10, 12.
    '000001c8 40 00002c  000001b5 40 000018  000001a5 40 000010 00000000000f4240  000001b0 40 00000c 0000000a',
    // Service-Information (873, vendor 10415, V only), length 44 = 12 + PS-Information (874)
    // length 32 = 12 + 3GPP-SGSN-MCC-MNC (18) "26201" length 17 + 3 octets of padding.
    '00000369 80 00002c 000028af  0000036a 80 000020 000028af  00000012 80 000011 000028af 3236323031 000000',
  ]
    .join('')
    .replace(/\s+/g, '');
  const vector = Buffer.from(hex, 'hex');

  it('the vector is self-consistent', () => {
    assert.equal(vector.length, 248);
    assert.equal(vector.readUIntBE(1, 3), vector.length);
  });

  it('our encoder produces exactly these octets', () => {
    const built = buildCreditControlRequest(
      {
        sessionId: 's;1',
        originHost: 'c.x',
        originRealm: 'x',
        destinationRealm: 'y',
        serviceContextId: '32251@3gpp.org',
        requestType: 'INITIAL',
        requestNumber: 0,
        subscriptionIds: [{ type: 'END_USER_E164', data: '4917' }],
        services: [{ ratingGroup: 10, requested: { totalOctets: 1_000_000n } }],
        extraAvps: [avp('Service-Information', [avp('PS-Information', [avp('3GPP-SGSN-MCC-MNC', '26201')])])],
      },
      { hopByHopId: 0x0a0b0c0d, endToEndId: 0x01020304 },
    );
    assert.equal(encodeMessage(built).toString('hex'), vector.toString('hex'));
  });

  it('our decoder reads them into the typed request', () => {
    const request = parseCreditControlRequest(decodeMessage(vector));
    assert.equal(request.sessionId, 's;1');
    assert.equal(request.requestType, 'INITIAL');
    assert.equal(request.requestNumber, 0);
    assert.equal(request.serviceContextId, '32251@3gpp.org');
    assert.deepEqual(request.subscriptionIds, [{ type: 'END_USER_E164', data: '4917' }]);
    assert.equal(request.services.length, 1);
    assert.equal(request.services[0]!.ratingGroup, 10);
    assert.deepEqual(request.services[0]!.requested, { totalOctets: 1_000_000n });
    assert.equal(request.hopByHopId, 0x0a0b0c0d);
    assert.equal(request.retransmission, false);
    const ps = findAvp(request.serviceInformation!, 'PS-Information')!;
    assert.equal(stringValue(ps, '3GPP-SGSN-MCC-MNC'), '26201');
  });
});

describe('diameter codec: malformed input', () => {
  const valid = encodeMessage(message([avp('Session-Id', 'abc'), avp('Result-Code', 2001)]));

  it('a truncated header gives 5015 DIAMETER_INVALID_MESSAGE_LENGTH', () => {
    assert.equal(decodeFails(valid.subarray(0, 10)).resultCode, ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH);
    assert.equal(decodeFails(new Uint8Array(0)).resultCode, ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH);
  });

  it('a version other than 1 gives 5011 DIAMETER_UNSUPPORTED_VERSION, with the header', () => {
    const bytes = Buffer.from(valid);
    bytes[0] = 2;
    const error = decodeFails(bytes);
    assert.equal(error.resultCode, ResultCode.DIAMETER_UNSUPPORTED_VERSION);
    assert.equal(error.header?.hopByHopId, 0x11223344);
  });

  it('a Message Length that does not match the octets gives 5015', () => {
    assert.equal(
      decodeFails(valid.subarray(0, valid.length - 4)).resultCode,
      ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
    );
    const odd = Buffer.from(valid);
    odd.writeUIntBE(valid.length - 2, 1, 3);
    assert.equal(
      decodeFails(odd.subarray(0, valid.length - 2)).resultCode,
      ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
    );
  });

  it('reserved header bits give 5013, and a request with the E bit 3008 DIAMETER_INVALID_HDR_BITS', () => {
    const reserved = Buffer.from(valid);
    reserved[4] = reserved[4]! | 0x01;
    assert.equal(decodeFails(reserved).resultCode, ResultCode.DIAMETER_INVALID_BIT_IN_HEADER);
    const errorRequest = Buffer.from(valid);
    errorRequest[4] = CommandFlag.Request | CommandFlag.Error;
    assert.equal(decodeFails(errorRequest).resultCode, ResultCode.DIAMETER_INVALID_HDR_BITS);
    assert.equal(ResultCode.DIAMETER_INVALID_HDR_BITS, 3008);
  });

  it('an AVP Length below the header gives 5014 with the AVP header and a zero payload', () => {
    const error = decodeFails(withAvps(rawAvp(268, 0x40, Buffer.alloc(4), undefined, 6)));
    assert.equal(error.resultCode, ResultCode.DIAMETER_INVALID_AVP_LENGTH);
    assert.equal(error.failedAvp?.code, 268);
    assert.deepEqual(
      [...(error.failedAvp?.value as Uint8Array)],
      [0, 0, 0, 0],
      'Unsigned32 minimum: 4 zeros',
    );
  });

  it('an AVP running past the message gives 5014', () => {
    const error = decodeFails(withAvps(rawAvp(263, 0x40, Buffer.from('abcd'), undefined, 40)));
    assert.equal(error.resultCode, ResultCode.DIAMETER_INVALID_AVP_LENGTH);
    assert.equal(error.failedAvp?.code, 263);
  });

  it('trailing octets too short for an AVP header give 5015', () => {
    const bytes = Buffer.concat([header(28), rawAvp(0, 0, Buffer.alloc(0)).subarray(0, 8)]);
    bytes.writeUIntBE(28, 1, 3);
    const error = decodeFails(Buffer.concat([header(24), Buffer.alloc(4)]));
    assert.equal(error.resultCode, ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH);
  });

  it('an unknown AVP with the M bit gives 5001 DIAMETER_AVP_UNSUPPORTED naming it', () => {
    const error = decodeFails(withAvps(rawAvp(4242, 0x40, Buffer.from('zz'), 777)));
    assert.equal(error.resultCode, ResultCode.DIAMETER_AVP_UNSUPPORTED);
    assert.equal(error.failedAvp?.code, 4242);
    assert.equal(error.failedAvp?.vendorId, 777);
    assert.equal(Buffer.from(error.failedAvp?.value as Uint8Array).toString(), 'zz');
    // Turned off, the AVP is kept raw.
    const decoded = decodeMessage(withAvps(rawAvp(4242, 0x40, Buffer.from('zz'), 777)), {
      rejectUnknownMandatory: false,
    });
    assert.equal(decoded.avps[0]!.name, 'AVP-777-4242');
  });

  it('a Time or Address of the wrong length gives 5014', () => {
    assert.equal(
      decodeFails(withAvps(rawAvp(55, 0x40, Buffer.alloc(3)))).resultCode,
      ResultCode.DIAMETER_INVALID_AVP_LENGTH,
    );
    assert.equal(
      decodeFails(withAvps(rawAvp(55, 0x40, Buffer.alloc(8)))).resultCode,
      ResultCode.DIAMETER_INVALID_AVP_LENGTH,
    );
    const shortIpv4 = Buffer.from([0, 1, 10, 0, 0]);
    assert.equal(
      decodeFails(withAvps(rawAvp(257, 0x40, shortIpv4))).resultCode,
      ResultCode.DIAMETER_INVALID_AVP_LENGTH,
    );
    const shortIpv6 = Buffer.concat([Buffer.from([0, 2]), Buffer.alloc(15)]);
    assert.equal(
      decodeFails(withAvps(rawAvp(257, 0x40, shortIpv6))).resultCode,
      ResultCode.DIAMETER_INVALID_AVP_LENGTH,
    );
    assert.equal(
      decodeFails(withAvps(rawAvp(257, 0x40, Buffer.from([0])))).resultCode,
      ResultCode.DIAMETER_INVALID_AVP_LENGTH,
    );
  });

  it('integers of the wrong length give 5014 with the AVP as received', () => {
    const error = decodeFails(withAvps(rawAvp(268, 0x40, Buffer.from([0, 0, 7, 0xd1, 9]))));
    assert.equal(error.resultCode, ResultCode.DIAMETER_INVALID_AVP_LENGTH);
    assert.deepEqual([...(error.failedAvp!.value as Uint8Array)], [0, 0, 7, 0xd1, 9]);
    assert.equal(
      decodeFails(withAvps(rawAvp(421, 0x40, Buffer.alloc(4)))).resultCode,
      ResultCode.DIAMETER_INVALID_AVP_LENGTH,
    );
  });

  it('invalid UTF-8 gives 5004 DIAMETER_INVALID_AVP_VALUE', () => {
    const error = decodeFails(withAvps(rawAvp(263, 0x40, Buffer.from([0x61, 0xc3, 0x28]))));
    assert.equal(error.resultCode, ResultCode.DIAMETER_INVALID_AVP_VALUE);
    assert.equal(error.failedAvp?.code, 263);
  });

  it('the M bit on an AVP that must not have it, or reserved AVP bits, give 3009', () => {
    assert.equal(
      decodeFails(withAvps(rawAvp(269, 0x40, Buffer.from('x')))).resultCode,
      ResultCode.DIAMETER_INVALID_AVP_BITS,
    );
    assert.equal(
      decodeFails(withAvps(rawAvp(263, 0x41, Buffer.from('x')))).resultCode,
      ResultCode.DIAMETER_INVALID_AVP_BITS,
    );
    assert.equal(ResultCode.DIAMETER_INVALID_AVP_BITS, 3009);
  });

  it('an error inside a Grouped AVP reports the group holding only the culprit', () => {
    const inner = rawAvp(450, 0x40, Buffer.alloc(2));
    const group = rawAvp(443, 0x40, Buffer.concat([rawAvp(444, 0x40, Buffer.from('4917')), inner]));
    const error = decodeFails(withAvps(group));
    assert.equal(error.resultCode, ResultCode.DIAMETER_INVALID_AVP_LENGTH);
    assert.equal(error.failedAvp?.name, 'Subscription-Id');
    const children = error.failedAvp?.value as DiameterAvp[];
    assert.equal(children.length, 1);
    assert.equal(children[0]!.code, 450);
    // The Failed-AVP can be put in an answer as it is.
    const answer = encodeMessage(message([avp('Failed-AVP', [error.failedAvp!])], 0));
    assert.ok(answer.length > 20);
  });

  it('keeps whatever a peer put in Failed-AVP instead of failing its answer', () => {
    // An unknown vendor AVP with M, and a Result-Code of 5 octets: both as a peer might echo them.
    const failed = rawAvp(
      279,
      0x40,
      Buffer.concat([rawAvp(9, 0x40, Buffer.from('q'), 4242), rawAvp(268, 0x40, Buffer.alloc(5))]),
    );
    const decoded = decodeMessage(withAvps(rawAvp(268, 0x40, Buffer.from([0, 0, 0x13, 0x89])), failed));
    const children = groupedChildren(findAvp(decoded, 'Failed-AVP')!);
    assert.deepEqual(
      children.map((child) => [child.code, child.vendorId, child.type]),
      [
        [9, 4242, 'OctetString'],
        [268, 0, 'OctetString'],
      ],
    );
  });

  it('Grouped AVPs nested too deep give 5004 instead of exhausting the stack', () => {
    let nested = rawAvp(443, 0x40, Buffer.alloc(0));
    for (let i = 0; i < 40; i++) nested = rawAvp(443, 0x40, nested);
    assert.equal(decodeFails(withAvps(nested)).resultCode, ResultCode.DIAMETER_INVALID_AVP_VALUE);
  });

  it('a missing required AVP gives 5005 with a zero-filled example', () => {
    const decoded = decodeMessage(valid);
    try {
      checkRequiredAvps(decoded, ['Session-Id', 'CC-Request-Number']);
      assert.fail('should have thrown');
    } catch (error) {
      assert.ok(error instanceof DiameterDecodeError);
      assert.equal(error.resultCode, ResultCode.DIAMETER_MISSING_AVP);
      assert.match(error.message, /CC-Request-Number/);
      assert.equal(error.failedAvp?.code, 415);
      assert.deepEqual([...(error.failedAvp?.value as Uint8Array)], [0, 0, 0, 0]);
    }
  });

  it('tryDecodeMessage returns the error as a value', () => {
    const result = tryDecodeMessage(valid.subarray(0, 3));
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.resultCode, ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH);
  });

  it('scanAvps reads what it can of a broken message and never throws', () => {
    const broken = withAvps(
      rawAvp(263, 0x40, Buffer.from('sess')),
      rawAvp(268, 0x40, Buffer.alloc(4), undefined, 99),
    );
    const found = scanAvps(broken);
    assert.equal(found.length, 1);
    assert.equal(Buffer.from(found[0]!.data).toString(), 'sess');
    assert.deepEqual(scanAvps(new Uint8Array(5)), []);
  });
});

// ---- Properties --------------------------------------------------------------------------------

const TIME_MIN_SECONDS = -61_505_152; // 1968-01-20T03:14:08Z, NTP era 0 with the top bit set
const TIME_MAX_SECONDS = 4_233_462_143; // 2104-02-26, the last second of NTP era 1 below 2^31

const leafTypes: Record<Exclude<AvpType, 'Grouped'>, fc.Arbitrary<unknown>> = {
  OctetString: fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
  UTF8String: fc.string({ unit: 'binary', maxLength: 20 }),
  DiameterIdentity: fc.domain(),
  DiameterURI: fc.webUrl(),
  Integer32: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
  Unsigned32: fc.integer({ min: 0, max: 0xffff_ffff }),
  Enumerated: fc.integer({ min: 0, max: 0xffff_ffff }),
  Integer64: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  Unsigned64: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  Float32: fc.float(),
  Float64: fc.double(),
  Time: fc.integer({ min: TIME_MIN_SECONDS, max: TIME_MAX_SECONDS }).map((seconds) => seconds * 1000),
  Address: fc.oneof(
    fc.ipV4(),
    fc.record(
      {
        family: fc.integer({ min: 3, max: 0xffff }),
        bytes: fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes)),
      },
      { noNullPrototype: true },
    ),
  ),
};

/** A definition per type under a test vendor, so generated AVPs decode to the same type. */
const typeCodes = Object.keys(leafTypes).map((type, index) => ({ type: type as AvpType, code: 100 + index }));
const propertyDictionary = createDictionary([
  ...typeCodes.map(({ type, code }) => ({
    code,
    vendorId: TEST_VENDOR,
    name: `Test-${type}`,
    type,
    mandatory: 'may' as const,
  })),
  { code: 200, vendorId: TEST_VENDOR, name: 'Test-Grouped', type: 'Grouped', mandatory: 'may' },
]);

const leafAvp: fc.Arbitrary<DiameterAvp> = fc.constantFrom(...typeCodes).chain(({ type, code }) =>
  fc.tuple(leafTypes[type as Exclude<AvpType, 'Grouped'>], fc.boolean()).map(([value, mandatory]) => ({
    code,
    vendorId: TEST_VENDOR,
    flags: AvpFlag.Vendor | (mandatory ? AvpFlag.Mandatory : 0),
    name: `Test-${type}`,
    type,
    value: value as DiameterAvp['value'],
  })),
);

const { tree: avpArb } = fc.letrec<{ tree: DiameterAvp; group: DiameterAvp }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leafAvp, tie('group')),
  group: fc.array(tie('tree'), { maxLength: 4 }).map((children) => ({
    code: 200,
    vendorId: TEST_VENDOR,
    flags: AvpFlag.Vendor,
    name: 'Test-Grouped',
    type: 'Grouped' as const,
    value: children,
  })),
}));

const messageArb: fc.Arbitrary<DiameterMessage> = fc.record(
  {
    flags: fc.constantFrom(0x80, 0xc0, 0x90, 0x00, 0x40, 0x20, 0x60),
    commandCode: fc.integer({ min: 0, max: 0xffffff }),
    applicationId: fc.integer({ min: 0, max: 0xffffffff }),
    hopByHopId: fc.integer({ min: 0, max: 0xffffffff }),
    endToEndId: fc.integer({ min: 0, max: 0xffffffff }),
    avps: fc.array(avpArb, { maxLength: 8 }),
  },
  { noNullPrototype: true },
);

const KNOWN_CODES = new Set<number>(Object.values(ResultCode));

function onlyDecodeErrors(bytes: Uint8Array): void {
  try {
    decodeMessage(bytes, { dictionary: propertyDictionary });
  } catch (error) {
    assert.ok(error instanceof DiameterDecodeError, `threw ${String(error)}`);
    assert.ok(KNOWN_CODES.has(error.resultCode), `unexpected result code ${error.resultCode}`);
  }
}

describe('diameter codec: properties', () => {
  it('decode(encode(x)) equals x for any message', () => {
    fc.assert(
      fc.property(messageArb, (original) => {
        const bytes = encodeMessage(original);
        assert.equal(bytes.readUIntBE(1, 3), bytes.length);
        const decoded = decodeMessage(bytes, { dictionary: propertyDictionary });
        assert.deepEqual(decoded, original);
        assert.deepEqual(encodeMessage(decoded), bytes);
      }),
      { numRuns: 400 },
    );
  });

  it('IPv6 text and octets convert both ways', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (octets) => {
        const bytes = withAvps(rawAvp(257, 0x40, Buffer.concat([Buffer.from([0, 2]), octets])));
        const text = decodeMessage(bytes).avps[0]!.value as string;
        assert.deepEqual(encodeMessage(decodeMessage(bytes)), bytes, `text ${text}`);
      }),
      { numRuns: 300 },
    );
  });

  it('decoding random bytes throws nothing but DiameterDecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), onlyDecodeErrors), { numRuns: 1000 });
  });

  it('decoding mutated valid messages throws nothing but DiameterDecodeError', () => {
    fc.assert(
      fc.property(
        messageArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (original, mutations, fixLength) => {
          const bytes = Buffer.from(encodeMessage(original));
          for (const [position, value] of mutations) bytes[position % bytes.length] = value;
          // Keep the header consistent half of the time so the AVP decoder is reached.
          if (fixLength) {
            bytes[0] = 1;
            bytes.writeUIntBE(bytes.length, 1, 3);
          }
          onlyDecodeErrors(bytes);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('diameter framer', () => {
  const messages = [
    encodeMessage(message([avp('Session-Id', 'one')])),
    encodeMessage(message([avp('Session-Id', 'two'), avp('Class', Buffer.alloc(300, 7))])),
    encodeMessage(message([])),
  ];
  const stream = Buffer.concat(messages);

  it('reassembles messages from chunks cut anywhere', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const framer = new DiameterFramer();
        const out: Buffer[] = [];
        let start = 0;
        for (const point of [...points, stream.length]) {
          assert.equal(
            framer.push(stream.subarray(start, point), (frame) => out.push(Buffer.from(frame))),
            undefined,
          );
          start = point;
        }
        assert.deepEqual(out, messages);
        assert.equal(framer.bufferedLength, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('works octet by octet', () => {
    const framer = new DiameterFramer();
    const out: Buffer[] = [];
    for (const octet of stream) framer.push(Buffer.from([octet]), (frame) => out.push(Buffer.from(frame)));
    assert.deepEqual(out, messages);
  });

  it('a bad version is fatal with 5011, and stays fatal', () => {
    const framer = new DiameterFramer();
    const bad = Buffer.from(messages[0]!);
    bad[0] = 2;
    const out: Buffer[] = [];
    const error = framer.push(Buffer.concat([messages[2]!, bad]), (frame) => out.push(frame));
    assert.equal(out.length, 1, 'the good message before it is delivered');
    assert.equal(error?.resultCode, ResultCode.DIAMETER_UNSUPPORTED_VERSION);
    assert.equal(error?.fatal, true);
    assert.equal(error?.header?.hopByHopId, 0x11223344);
    assert.equal(
      framer.push(messages[0]!, () => assert.fail('no more messages')),
      error,
    );
  });

  it('an impossible or oversized length is fatal with 5015', () => {
    const tiny = Buffer.from([1, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(
      new DiameterFramer().push(tiny, () => undefined)?.resultCode,
      ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
    );
    const odd = Buffer.from([1, 0, 0, 22]);
    assert.equal(
      new DiameterFramer().push(odd, () => undefined)?.resultCode,
      ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
    );
    const framer = new DiameterFramer(64);
    const error = framer.push(messages[1]!.subarray(0, 2), () => undefined);
    assert.equal(error, undefined, 'not known until 4 octets arrived');
    assert.equal(framer.push(messages[1]!.subarray(2), () => undefined)?.resultCode, 5015);
  });

  it('refuses a maximum below the header size', () => {
    assert.throws(() => new DiameterFramer(10), RangeError);
  });
});

describe('diameter dictionary', () => {
  it('knows the base and credit-control AVPs with their RFC codes and types', () => {
    const expect = (name: string, code: number, type: AvpType, vendorId = 0): void => {
      const definition = defaultDictionary.require(name);
      assert.deepEqual([definition.code, definition.type, definition.vendorId], [code, type, vendorId], name);
      assert.equal(defaultDictionary.byCode(code, vendorId)?.name, name);
    };
    expect('Session-Id', 263, 'UTF8String');
    expect('Origin-Host', 264, 'DiameterIdentity');
    expect('Result-Code', 268, 'Unsigned32');
    expect('Failed-AVP', 279, 'Grouped');
    expect('Event-Timestamp', 55, 'Time');
    expect('CC-Request-Type', 416, 'Enumerated');
    expect('Value-Digits', 447, 'Integer64');
    expect('CC-Input-Octets', 412, 'Unsigned64');
    expect('Multiple-Services-Credit-Control', 456, 'Grouped');
    expect('Service-Context-Id', 461, 'UTF8String');
    expect('Reporting-Reason', 872, 'Enumerated', VENDOR_3GPP);
    expect('3GPP-SGSN-MCC-MNC', 18, 'UTF8String', VENDOR_3GPP);
    expect('SMS-Information', 2000, 'Grouped', VENDOR_3GPP);
    assert.equal(defaultDictionary.require('Final-Unit-Action').values?.[0], 'TERMINATE');
    assert.equal(defaultDictionary.require('Product-Name').mandatory, 'mustNot');
  });

  it('lets a deployment override a definition', () => {
    const custom = createDictionary([
      { code: 18, vendorId: VENDOR_3GPP, name: '3GPP-SGSN-MCC-MNC', type: 'OctetString', mandatory: 'must' },
    ]);
    assert.equal(custom.byCode(18, VENDOR_3GPP)?.type, 'OctetString');
    assert.throws(() =>
      createDictionary([{ code: -1, vendorId: 0, name: 'X', type: 'OctetString', mandatory: 'may' }]),
    );
    assert.throws(() => defaultDictionary.require('No-Such-AVP'), RangeError);
  });
});
