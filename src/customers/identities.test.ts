import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isTollgateError } from '../kernel/errors.js';
import { instantFromMs } from '../kernel/clock.js';
import {
  displayIdentity,
  endRangeAt,
  findOverlap,
  luhnCheckDigit,
  luhnValid,
  normaliseIdentity,
  peakOverlap,
  rangeContains,
  rangesAt,
  rangesOverlap,
  tryNormaliseIdentity,
  type IdentityType,
  type TimeRange,
} from './identities.js';

function value(type: IdentityType, raw: string): string {
  const result = tryNormaliseIdentity(type, raw);
  assert.ok(result.ok, `${type} ${raw}: ${result.ok ? '' : result.reason}`);
  return result.value;
}

function refused(type: IdentityType, raw: string, reason: RegExp): void {
  const result = tryNormaliseIdentity(type, raw);
  assert.ok(!result.ok, `${type} ${JSON.stringify(raw)} was accepted as ${result.ok ? result.value : ''}`);
  assert.match(result.reason, reason);
}

/** An ICCID with a valid check digit: 89 + 17 digits + Luhn. */
const ICCID = `894411006825627005${luhnCheckDigit('894411006825627005')}`;

describe('identity normalisation', () => {
  it('writes MSISDNs as E.164 digits, whatever the punctuation', () => {
    for (const raw of [
      '+44 7700 900123',
      '0044 7700 900123',
      '(+44) 7700-900.123',
      '447700900123',
      ' +447700900123 ',
    ]) {
      assert.equal(value('msisdn', raw), '447700900123', raw);
    }
    assert.equal(displayIdentity('msisdn', '447700900123'), '+447700900123');
    refused('msisdn', '07700 900123', /national number/);
    refused('msisdn', '+44 7700 ABC', /digits only/);
    refused('msisdn', '+0447700900123', /country code/);
    refused('msisdn', '+1234', /7 to 15/);
    refused('msisdn', '+1234567890123456', /7 to 15/);
  });

  it('takes IMSIs of exactly 15 digits', () => {
    assert.equal(value('imsi', '234 150 999999999'), '234150999999999');
    refused('imsi', '23415099999999', /15/);
    refused('imsi', '2341509999999990', /15/);
    refused('imsi', '23415099999999X', /digits only/);
  });

  it('checks ICCIDs: 19 or 20 digits, prefix 89, Luhn check digit', () => {
    assert.equal(ICCID.length, 19);
    assert.ok(luhnValid(ICCID));
    assert.equal(value('iccid', ICCID.replace(/(\d{4})/g, '$1 ')), ICCID);
    const twenty = `8933150319${'0'.repeat(8)}1`;
    const valid20 = twenty + luhnCheckDigit(twenty);
    assert.equal(value('iccid', valid20), valid20);
    const wrong = ICCID.slice(0, -1) + String((Number(ICCID.slice(-1)) + 1) % 10);
    refused('iccid', wrong, /Luhn/);
    refused('iccid', `12${ICCID.slice(2)}`, /89/);
    refused('iccid', ICCID.slice(0, 18), /19 or 20/);
  });

  it('lower-cases the scheme and host of SIP URIs and drops parameters', () => {
    assert.equal(value('sip-uri', 'SIP:Alice@Example.COM'), 'sip:Alice@example.com');
    assert.equal(
      value('sip-uri', 'sip:+447700900123@IMS.mnc001.mcc234.3gppnetwork.org;user=phone'),
      'sip:+447700900123@ims.mnc001.mcc234.3gppnetwork.org',
    );
    assert.equal(value('sip-uri', 'sips:bob@10.0.0.1:5061'), 'sips:bob@10.0.0.1:5061');
    refused('sip-uri', 'alice@example.com', /sip:user@host/);
    refused('sip-uri', 'sip:example.com', /sip:user@host/);
    refused('sip-uri', 'sip:bob@exa_mple.com', /invalid host/);
  });

  it('lower-cases the realm of NAIs and keeps the username', () => {
    assert.equal(value('nai', 'JohnDoe@ISP.Example.NET'), 'JohnDoe@isp.example.net');
    assert.equal(value('nai', 'line-42'), 'line-42');
    refused('nai', '@isp.net', /username/);
    refused('nai', 'john doe@isp.net', /white space/);
  });

  it('keeps line, circuit and device ids as written, trimmed', () => {
    assert.equal(value('line-id', '  eth 1/1/1:100   vlan  20 '), 'eth 1/1/1:100 vlan 20');
    assert.equal(value('device-id', ' 70B3D57ED0001234 '), '70B3D57ED0001234');
    refused('device-id', 'has space', /white space/);
    refused('line-id', '   ', /empty/);
    refused('device-id', 'a\u0000b', /control/);
  });

  it('throws customers.invalid_identity naming the field', () => {
    assert.throws(
      () => normaliseIdentity('msisdn', '0123', 'rows/3/msisdn'),
      (error: unknown) =>
        isTollgateError(error) &&
        error.code === 'customers.invalid_identity' &&
        error.field === 'rows/3/msisdn' &&
        /MSISDN "0123"/.test(error.message),
    );
    assert.throws(
      () => normaliseIdentity('phone', '123'),
      (error: unknown) =>
        isTollgateError(error) && error.field === 'type' && /not a service identity type/.test(error.message),
    );
  });
});

const T = (minutes: number) => instantFromMs(Date.UTC(2026, 0, 1) + minutes * 60_000);

describe('time ranges', () => {
  it('are half-open: a number released at T and assigned from T never has two owners', () => {
    const first: TimeRange = { from: T(0), to: T(10) };
    const second: TimeRange = { from: T(10) };
    assert.equal(rangesOverlap(first, second), false);
    assert.equal(rangeContains(first, T(10)), false);
    assert.equal(rangeContains(second, T(10)), true);
    assert.equal(
      rangesOverlap({ from: T(0) }, { from: T(100) }),
      true,
      'open ranges overlap from the later start',
    );
    assert.equal(
      rangesOverlap({ from: T(5), to: T(5) }, { from: T(0) }),
      false,
      'an empty range overlaps nothing',
    );
    assert.equal(findOverlap([first], { from: T(9), to: T(20) }), first);
  });

  it('end inside the range or at its start, never outside', () => {
    assert.deepEqual(endRangeAt({ from: T(0) }, T(5)), { from: T(0), to: T(5) });
    assert.deepEqual(endRangeAt({ from: T(0), to: T(10) }, T(0)), { from: T(0), to: T(0) });
    assert.equal(endRangeAt({ from: T(0), to: T(10) }, T(10)), undefined);
    assert.equal(endRangeAt({ from: T(5) }, T(4)), undefined);
  });

  it('count the most ranges in force at one instant of a candidate (add-ons held at once)', () => {
    // [0, 10) and [10, 20) never meet: a candidate over both meets one at a time.
    assert.equal(
      peakOverlap(
        [
          { from: T(0), to: T(10) },
          { from: T(10), to: T(20) },
        ],
        { from: T(0), to: T(20) },
      ),
      1,
    );
    assert.equal(peakOverlap([{ from: T(0) }, { from: T(5), to: T(8) }], { from: T(6) }), 2);
    assert.equal(peakOverlap([{ from: T(0), to: T(5) }], { from: T(5) }), 0);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            from: fc.integer({ min: 0, max: 50 }),
            length: fc.option(fc.integer({ min: 1, max: 30 })),
          }),
          { maxLength: 12 },
        ),
        fc.integer({ min: 0, max: 60 }),
        fc.option(fc.integer({ min: 1, max: 40 })),
        (raw, from, length) => {
          const range = (start: number, size: number | null): TimeRange => ({
            from: T(start),
            to: size === null ? undefined : T(start + size),
          });
          const existing = raw.map((r) => range(r.from, r.length));
          const candidate = range(from, length);
          // Brute force over every minute the candidate covers (everything ends before minute 100).
          let peak = 0;
          for (let m = 0; m < 100; m++)
            if (rangeContains(candidate, T(m))) peak = Math.max(peak, rangesAt(existing, T(m)).length);
          assert.equal(peakOverlap(existing, candidate), peak);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random assignment sequences never give an identity two owners at one instant', () => {
    type Op =
      | { kind: 'assign'; owner: number; from: number; length: number | null }
      | { kind: 'release'; owner: number; at: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('assign' as const),
        owner: fc.integer({ min: 0, max: 3 }),
        from: fc.integer({ min: 0, max: 60 }),
        length: fc.option(fc.integer({ min: 1, max: 30 })),
      }),
      fc.record({
        kind: fc.constant('release' as const),
        owner: fc.integer({ min: 0, max: 3 }),
        at: fc.integer({ min: 0, max: 90 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const ranges: Array<TimeRange & { owner: number }> = [];
        // The minutes each accepted range covers (everything happens before minute 100).
        const minutes = (r: TimeRange) => {
          const out: number[] = [];
          for (let m = 0; m < 100; m++) if (rangeContains(r, T(m))) out.push(m);
          return out;
        };
        const taken = new Set<number>();
        for (const o of ops) {
          if (o.kind === 'assign') {
            const candidate = { from: T(o.from), to: o.length === null ? undefined : T(o.from + o.length) };
            // The rule accepts exactly the assignments that share no minute with an existing one.
            const clash = findOverlap(ranges, candidate);
            const bruteClash = minutes(candidate).some((m) => taken.has(m));
            assert.equal(clash !== undefined, bruteClash);
            if (!clash) {
              ranges.push({ ...candidate, owner: o.owner });
              for (const m of minutes(candidate)) taken.add(m);
            }
          } else {
            const index = ranges.findIndex((r) => r.owner === o.owner && rangeContains(r, T(o.at)));
            if (index >= 0) {
              for (const m of minutes(ranges[index]!)) if (m >= o.at) taken.delete(m);
              ranges[index] = { ...endRangeAt(ranges[index]!, T(o.at))!, owner: o.owner };
            }
          }
        }
        for (let m = 0; m < 100; m++) {
          assert.ok(rangesAt(ranges, T(m)).length <= 1, `two owners at minute ${m}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});
