import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  RadiusAttributeType as A,
  decodePacket,
  encodePacket,
  integerAttribute,
  parseVendorSpecific,
  readInteger,
  readIpv4Address,
  readIpv6Address,
  readText,
  readVendorText,
  textAttribute,
  vendorAttribute,
  type RadiusPacket,
} from './codec.js';

const attributeArb = fc.record({
  type: fc.integer({ min: 0, max: 255 }),
  value: fc.uint8Array({ maxLength: 253 }),
});

/** Packets within the 4096-octet limit: at most 15 attributes of at most 255 octets = 3845 + 20. */
const packetArb: fc.Arbitrary<RadiusPacket> = fc.record({
  code: fc.integer({ min: 0, max: 255 }),
  identifier: fc.integer({ min: 0, max: 255 }),
  authenticator: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  attributes: fc.array(attributeArb, { maxLength: 15 }),
});

function header(code: number, identifier: number, length: number): Buffer {
  const bytes = Buffer.alloc(20);
  bytes[0] = code;
  bytes[1] = identifier;
  bytes.writeUInt16BE(length, 2);
  return bytes;
}

describe('radius codec', () => {
  it('round-trips any packet within the limits', () => {
    fc.assert(
      fc.property(packetArb, (packet) => {
        const bytes = encodePacket(packet);
        const decoded = decodePacket(bytes);
        assert.ok(decoded.ok);
        assert.equal(decoded.length, bytes.length);
        assert.equal(decoded.packet.code, packet.code);
        assert.equal(decoded.packet.identifier, packet.identifier);
        assert.deepEqual(Array.from(decoded.packet.authenticator), Array.from(packet.authenticator));
        assert.deepEqual(
          decoded.packet.attributes.map((a) => [a.type, Array.from(a.value)]),
          packet.attributes.map((a) => [a.type, Array.from(a.value)]),
        );
        assert.deepEqual(encodePacket(decoded.packet), bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random datagrams', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
        const decoded = decodePacket(bytes);
        if (decoded.ok) assert.ok(decoded.length >= 20 && decoded.length <= 4096);
      }),
      { numRuns: 3000 },
    );
    // Random bodies behind a Length field that fits, so the attribute walk is exercised too.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 600 }), fc.nat(), (bytes, extra) => {
        const datagram = Buffer.from(bytes);
        const length = 20 + (extra % (datagram.length - 19));
        datagram.writeUInt16BE(length, 2);
        const decoded = decodePacket(datagram);
        if (decoded.ok) assert.equal(decoded.length, length);
        else assert.equal(decoded.reason, 'bad_attribute');
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on valid packets with bytes flipped, cut or padded', () => {
    fc.assert(
      fc.property(
        packetArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.integer({ min: -30, max: 30 }),
        (packet, flips, cut) => {
          const bytes = Buffer.from(encodePacket(packet));
          for (const [position, value] of flips) bytes[position % bytes.length] = value;
          const mangled =
            cut < 0
              ? bytes.subarray(0, Math.max(0, bytes.length + cut))
              : Buffer.concat([bytes, Buffer.alloc(cut)]);
          const decoded = decodePacket(mangled);
          if (decoded.ok) {
            // Typed readers stay total on whatever came out.
            for (const attribute of decoded.packet.attributes) {
              readInteger(decoded.packet, attribute.type);
              readText(decoded.packet, attribute.type);
              readIpv4Address(decoded.packet, attribute.type);
              readIpv6Address(decoded.packet, attribute.type);
              parseVendorSpecific(attribute.value);
            }
            readVendorText(decoded.packet, 3561, 1);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('drops datagrams whose length is wrong', () => {
    assert.deepEqual(decodePacket(Buffer.alloc(19)).ok, false);
    const short = decodePacket(header(4, 1, 19));
    assert.equal(!short.ok && short.reason, 'bad_length');
    const huge = decodePacket(Buffer.concat([header(4, 1, 4097), Buffer.alloc(4077)]));
    assert.equal(!huge.ok && huge.reason, 'bad_length');
    const truncated = decodePacket(Buffer.concat([header(4, 1, 26), Buffer.from([1, 6, 0x61, 0x62])]));
    assert.equal(!truncated.ok && truncated.reason, 'truncated');
  });

  it('accepts the largest packet, 4096 octets', () => {
    const attributes = Array.from({ length: 16 }, () => ({ type: 26, value: new Uint8Array(253) }));
    // 20 + 16 × 255 = 4100: one octet too many; trim the last value by 4.
    attributes[15] = { type: 26, value: new Uint8Array(249) };
    const bytes = encodePacket({ code: 4, identifier: 9, authenticator: new Uint8Array(16), attributes });
    assert.equal(bytes.length, 4096);
    assert.ok(decodePacket(bytes).ok);
    attributes[15] = { type: 26, value: new Uint8Array(250) };
    assert.throws(
      () => encodePacket({ code: 4, identifier: 9, authenticator: new Uint8Array(16), attributes }),
      RangeError,
    );
  });

  it('ignores octets past the Length field as padding', () => {
    const bytes = Buffer.concat([
      header(4, 7, 26),
      Buffer.from([1, 6, 0x61, 0x62, 0x63, 0x64]),
      Buffer.from([9, 9, 9]),
    ]);
    const decoded = decodePacket(bytes);
    assert.ok(decoded.ok);
    assert.equal(decoded.length, 26);
    assert.deepEqual(decoded.packet.attributes.length, 1);
    assert.equal(readText(decoded.packet, A.UserName).status, 'ok');
  });

  it('refuses attributes with Length below 2 or running past the packet', () => {
    for (const attributeBytes of [[1, 0], [1, 1, 0], [1, 7, 0x61, 0x62, 0x63, 0x64], [1]]) {
      const bytes = Buffer.concat([header(4, 1, 20 + attributeBytes.length), Buffer.from(attributeBytes)]);
      const decoded = decodePacket(bytes);
      assert.equal(!decoded.ok && decoded.reason, 'bad_attribute', JSON.stringify(attributeBytes));
    }
    // Length 2 is an empty value: structurally fine (typed readers judge the content).
    const empty = decodePacket(Buffer.concat([header(4, 1, 22), Buffer.from([1, 2])]));
    assert.ok(empty.ok);
    assert.equal(readText(empty.packet, A.UserName).status, 'malformed');
  });

  it('reads integers as unsigned 32-bit and refuses other sizes', () => {
    const packet: RadiusPacket = {
      code: 4,
      identifier: 1,
      authenticator: new Uint8Array(16),
      attributes: [
        integerAttribute(A.AcctInputOctets, 0xffffffff),
        { type: A.AcctOutputOctets, value: new Uint8Array([1, 2, 3]) },
      ],
    };
    assert.deepEqual(readInteger(packet, A.AcctInputOctets), { status: 'ok', value: 4294967295 });
    assert.equal(readInteger(packet, A.AcctOutputOctets).status, 'malformed');
    assert.deepEqual(readInteger(packet, A.AcctSessionTime), { status: 'absent' });
    assert.throws(() => integerAttribute(1, 2 ** 32), RangeError);
  });

  it('reads text as UTF-8 and refuses invalid UTF-8', () => {
    const packet: RadiusPacket = {
      code: 4,
      identifier: 1,
      authenticator: new Uint8Array(16),
      attributes: [
        textAttribute(A.UserName, 'jürgen@isp.example'),
        { type: A.NasIdentifier, value: new Uint8Array([0xc3, 0x28]) },
      ],
    };
    assert.deepEqual(readText(packet, A.UserName), { status: 'ok', value: 'jürgen@isp.example' });
    assert.equal(readText(packet, A.NasIdentifier).status, 'malformed');
  });

  it('reads addresses', () => {
    const packet: RadiusPacket = {
      code: 4,
      identifier: 1,
      authenticator: new Uint8Array(16),
      attributes: [
        { type: A.NasIpAddress, value: new Uint8Array([192, 0, 2, 10]) },
        {
          type: A.NasIpv6Address,
          value: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1]),
        },
      ],
    };
    assert.deepEqual(readIpv4Address(packet, A.NasIpAddress), { status: 'ok', value: '192.0.2.10' });
    assert.deepEqual(readIpv6Address(packet, A.NasIpv6Address), {
      status: 'ok',
      value: '2001:db8:0:0:0:0:0:1',
    });
  });

  it('keeps Vendor-Specific raw and splits the recommended layout on demand', () => {
    const vsa = vendorAttribute(3561, [textAttribute(1, 'olt-7 eth 1/1/4:100'), textAttribute(2, 'cpe-42')]);
    const bytes = encodePacket({
      code: 4,
      identifier: 3,
      authenticator: new Uint8Array(16),
      attributes: [vsa],
    });
    const decoded = decodePacket(bytes);
    assert.ok(decoded.ok);
    assert.deepEqual(Array.from(decoded.packet.attributes[0]!.value), Array.from(vsa.value));
    const parsed = parseVendorSpecific(decoded.packet.attributes[0]!.value);
    assert.equal(parsed?.vendorId, 3561);
    assert.equal(parsed?.subAttributes?.length, 2);
    assert.deepEqual(readVendorText(decoded.packet, 3561, 2), { status: 'ok', value: 'cpe-42' });
    assert.deepEqual(readVendorText(decoded.packet, 9, 1), { status: 'absent' });
    // A vendor layout of its own: the sub-attributes are undefined, the data is kept.
    const odd = parseVendorSpecific(new Uint8Array([0, 0, 0, 9, 5, 1, 7]));
    assert.equal(odd?.subAttributes, undefined);
    assert.deepEqual(Array.from(odd!.data), [5, 1, 7]);
    assert.equal(parseVendorSpecific(new Uint8Array([0, 0, 9])), undefined);
  });
});
