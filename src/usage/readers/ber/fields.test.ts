import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeAddressString,
  decodeInteger,
  decodeJsonUserLocation,
  decodePlmnId,
  decodeTbcd,
  decodeTimeStamp,
  decodeUserLocationInformation,
  encodePlmnId,
  encodeTbcd,
  encodeTimeStamp,
  formatIpAddress,
  isProblem,
} from './fields.js';
import { integerOctets } from './fixtures.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s/g, ''), 'hex'));

function problemOf<T>(value: T | { problem: string }): string {
  assert.ok(isProblem(value as never), `expected a problem, got ${JSON.stringify(value)}`);
  return (value as { problem: string }).problem;
}

describe('TBCD', () => {
  it('reads digits low nibble first and stops at the 0xF filler', () => {
    // IMSI 262011234567890: 15 digits, so the last octet's high nibble is the filler.
    assert.equal(decodeTbcd(hex('62 02 11 32 54 76 98 f0')), '262011234567890');
    assert.equal(decodeTbcd(hex('94 71 02 00 00 10')), '491720000001');
    assert.equal(decodeTbcd(hex('21 f3')), '123');
  });

  it('round-trips any digit string', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{1,20}$/), (digits) => {
        assert.equal(decodeTbcd(encodeTbcd(digits)), digits);
      }),
    );
  });

  it('refuses non-digit nibbles, digits after the filler and empty strings', () => {
    assert.match(problemOf(decodeTbcd(hex('21 a3'))), /non-digit nibble 0xa in octet 2/);
    assert.match(problemOf(decodeTbcd(hex('f1 23'))), /digit after the 0xF filler/);
    assert.match(problemOf(decodeTbcd(hex(''))), /empty/);
    assert.match(problemOf(decodeTbcd(hex('ff'))), /no digits/);
  });

  it('reads an ISDN-AddressString with its type-of-number octet', () => {
    assert.deepEqual(decodeAddressString(hex('91 94 71 02 00 00 10')), {
      typeOfNumber: 1,
      numberingPlan: 1,
      digits: '491720000001',
    });
    assert.match(problemOf(decodeAddressString(hex('11 94'))), /not a type-of-number octet/);
  });
});

describe('TimeStamp', () => {
  it('turns local time and its UTC offset into UTC', () => {
    // 2024-03-15 10:00:00 at +01:00 is 09:00:00Z.
    assert.equal(decodeTimeStamp(hex('24 03 15 10 00 00 2b 01 00')), Date.parse('2024-03-15T09:00:00Z'));
    // 2024-03-15 01:15:30 at -05:30 is 06:45:30Z.
    assert.equal(decodeTimeStamp(hex('24 03 15 01 15 30 2d 05 30')), Date.parse('2024-03-15T06:45:30Z'));
    // 2025-01-01 00:30:00 at +02:00 is the previous day, 2024-12-31 22:30:00Z.
    assert.equal(decodeTimeStamp(hex('25 01 01 00 30 00 2b 02 00')), Date.parse('2024-12-31T22:30:00Z'));
    // A leap day at +00:00.
    assert.equal(decodeTimeStamp(hex('24 02 29 23 59 59 2b 00 00')), Date.parse('2024-02-29T23:59:59Z'));
  });

  it('refuses impossible dates and broken encodings, naming the reason', () => {
    assert.match(problemOf(decodeTimeStamp(hex('24 13 15 10 00 00 2b 01 00'))), /month 13/);
    assert.match(problemOf(decodeTimeStamp(hex('23 02 29 10 00 00 2b 01 00'))), /day 29 in month 2/);
    assert.match(problemOf(decodeTimeStamp(hex('24 03 15 24 00 00 2b 01 00'))), /not a time of day/);
    assert.match(problemOf(decodeTimeStamp(hex('24 03 15 10 00 00 30 01 00'))), /sign octet 0x30/);
    assert.match(
      problemOf(decodeTimeStamp(hex('24 03 1a 10 00 00 2b 01 00'))),
      /octet 3 \(0x1a\) is not two BCD digits/,
    );
    assert.match(problemOf(decodeTimeStamp(hex('24 03 15 10 00 00 2b 15 00'))), /UTC offset/);
    assert.match(problemOf(decodeTimeStamp(hex('24 03 15 10 00 00'))), /has 6 octets/);
  });

  it('round-trips instants of 2000-2099 at any offset', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2000-01-02T00:00:00Z'), max: Date.parse('2099-12-30T00:00:00Z') }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (ms, offset) => {
          const seconds = Math.floor(ms / 1000) * 1000;
          assert.equal(decodeTimeStamp(encodeTimeStamp(seconds, offset)), seconds);
        },
      ),
    );
  });
});

describe('PLMN-Id, addresses, integers and locations', () => {
  it('reads two- and three-digit MNCs', () => {
    assert.equal(decodePlmnId(hex('62 f2 10')), '26201');
    assert.equal(decodePlmnId(hex('13 00 62')), '310260');
    assert.deepEqual(encodePlmnId('26201'), hex('62 f2 10'));
    assert.deepEqual(encodePlmnId('310260'), hex('13 00 62'));
    assert.match(problemOf(decodePlmnId(hex('6a f2 10'))), /not a digit/);
    assert.match(problemOf(decodePlmnId(hex('62 f2'))), /has 2 octets/);
  });

  it('formats IPv4 and IPv6 addresses', () => {
    assert.equal(formatIpAddress(hex('0a 00 00 01')), '10.0.0.1');
    assert.equal(formatIpAddress(hex('20010db8000000000000000000000001')), '2001:db8:0:0:0:0:0:1');
    assert.match(problemOf(formatIpAddress(hex('0a 00'))), /has 2 octets/);
  });

  it('reads INTEGER contents exactly and refuses what does not fit a safe integer', () => {
    assert.equal(decodeInteger(hex('00 ff ff ff ff')), 4_294_967_295);
    assert.equal(decodeInteger(hex('ff')), -1);
    assert.equal(decodeInteger(hex('1f ff ff ff ff ff ff')), Number.MAX_SAFE_INTEGER);
    assert.match(problemOf(decodeInteger(hex('20 00 00 00 00 00 00'))), /does not fit a safe integer/);
    assert.match(problemOf(decodeInteger(hex(''))), /no content octets/);
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        assert.equal(decodeInteger(integerOctets(n)), n);
      }),
    );
  });

  it('reads the TAI and ECGI of a ULI IE and refuses a ULI cut short', () => {
    // Flags TAI + ECGI; PLMN 262-01; TAC 0x1234; ECI 0x0ABCDEF.
    const uli = hex('18 62f210 1234 62f210 00abcdef');
    assert.deepEqual(decodeUserLocationInformation(uli), {
      mccMnc: '26201',
      cellId: `26201-${0xabcdef}`,
      tai: `26201-${0x1234}`,
    });
    assert.match(
      problemOf(decodeUserLocationInformation(hex('10 62f210'))),
      /flags the ECGI but ends 4 octet/,
    );
  });

  it('reads the 5G UserLocation JSON of a CHF record', () => {
    const json = JSON.stringify({
      nrLocation: {
        tai: { plmnId: { mcc: '262', mnc: '01' }, tac: '00001A' },
        ncgi: { plmnId: { mcc: '262', mnc: '01' }, nrCellId: '00000001F' },
      },
    });
    assert.deepEqual(decodeJsonUserLocation(new TextEncoder().encode(json)), {
      mccMnc: '26201',
      cellId: '26201-31',
      tai: '26201-26',
    });
    assert.match(problemOf(decodeJsonUserLocation(hex('ff'))), /not JSON/);
  });
});
