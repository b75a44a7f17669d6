import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  accountingSessionKey,
  accountingToUsage,
  type AccountingOutcome,
  type AccountingRequest,
  type RadiusUsageSettings,
  type SessionCounters,
} from './accounting.js';
import { RadiusAttributeType as A, integerAttribute, textAttribute, vendorAttribute } from './codec.js';
import { accountingPacket, type AccountingFixture } from './fixtures.js';

const T0_SEC = Date.parse('2026-03-01T10:00:00.000Z') / 1000;
const SETTINGS: RadiusUsageSettings = {};
const GIB = 2n ** 30n;

function request(
  fixture: Partial<AccountingFixture>,
  receivedMs = (T0_SEC + 3600) * 1000,
): AccountingRequest {
  return {
    packet: accountingPacket({
      status: 'InterimUpdate',
      sessionId: 'S-0001',
      userName: 'alice@isp.example',
      nasIdentifier: 'bng-1',
      ...fixture,
    }),
    sourceAddress: '192.0.2.10',
    receivedMs,
  };
}

function usageOf(outcome: AccountingOutcome): Extract<AccountingOutcome, { kind: 'usage' }> {
  assert.equal(
    outcome.kind,
    'usage',
    JSON.stringify(outcome, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
  );
  return outcome as Extract<AccountingOutcome, { kind: 'usage' }>;
}

/** Feeds reports through the conversion the way a sink does: storing the counters each time. */
function run(fixtures: Partial<AccountingFixture>[], settings = SETTINGS): AccountingOutcome[] {
  let previous: SessionCounters | undefined;
  return fixtures.map((fixture) => {
    const outcome = accountingToUsage(request(fixture), settings, previous);
    if (outcome.kind === 'usage' || outcome.kind === 'session-start') previous = outcome.counters;
    return outcome;
  });
}

describe('radius accounting to usage', () => {
  it('a Start gives no usage, only the baseline counters', () => {
    const outcome = accountingToUsage(request({ status: 'Start', eventTimestampSec: T0_SEC }), SETTINGS);
    assert.equal(outcome.kind, 'session-start');
    assert.ok(outcome.kind === 'session-start');
    assert.equal(outcome.sessionKey, 'bng-1:S-0001');
    assert.deepEqual(outcome.counters, {
      sessionTimeSec: 0,
      inputOctets: 0n,
      outputOctets: 0n,
      eventTimestampSec: T0_SEC,
      stopped: false,
    });
  });

  it('interim updates and the stop give the usage since the previous report', () => {
    const [start, first, second, stop] = run([
      { status: 'Start', eventTimestampSec: T0_SEC },
      { sessionTimeSec: 300, inputOctets: 1_000n, outputOctets: 5_000n, eventTimestampSec: T0_SEC + 300 },
      { sessionTimeSec: 600, inputOctets: 1_500n, outputOctets: 9_000n, eventTimestampSec: T0_SEC + 600 },
      {
        status: 'Stop',
        sessionTimeSec: 700,
        inputOctets: 1_600n,
        outputOctets: 9_100n,
        eventTimestampSec: T0_SEC + 700,
        attributes: [integerAttribute(A.AcctTerminateCause, 1)],
      },
    ]);
    assert.equal(start!.kind, 'session-start');
    const a = usageOf(first!).usage;
    const b = usageOf(second!).usage;
    const c = usageOf(stop!).usage;
    assert.deepEqual(
      [a, b, c].map((u) => [u.startMs, u.durationSec, u.volumeUpBytes, u.volumeDownBytes]),
      [
        // Each slice starts where the previous ended: Event-Timestamp − session-time delta.
        [T0_SEC * 1000, 300, 1_000, 5_000],
        [(T0_SEC + 300) * 1000, 300, 500, 4_000],
        [(T0_SEC + 600) * 1000, 100, 100, 100],
      ],
    );
    assert.equal(a.service, 'data');
    assert.equal(a.identityType, 'nai');
    assert.equal(a.identity, 'alice@isp.example');
    assert.equal(a.count, 0);
    assert.equal(a.sourceRecordId, 'S-0001:bng-1:interim-update:300:6000');
    assert.equal(c.sourceRecordId, 'S-0001:bng-1:stop:700:10700');
    assert.equal(c.extra?.['radius.terminateCause'], '1');
    assert.equal(usageOf(stop!).counters.stopped, true);
  });

  it('adds 2^32 × Gigawords to the octet counters, beyond 4 GiB', () => {
    const [first, second] = run([
      { sessionTimeSec: 60, inputOctets: 2n ** 32n - 10n, outputOctets: 3n * 2n ** 32n + 1_000_000n },
      { sessionTimeSec: 120, inputOctets: 2n ** 32n + 5n, outputOctets: 5n * GIB * 1024n },
    ]);
    const a = usageOf(first!).usage;
    // 3 × 4_294_967_296 + 1_000_000 = 12_884_901_888 + 1_000_000 = 12_885_901_888
    assert.equal(a.volumeDownBytes, 12_885_901_888);
    assert.equal(a.volumeUpBytes, 4_294_967_286);
    const b = usageOf(second!);
    // Across the wrap: (2^32 + 5) − (2^32 − 10) = 15, counted from Gigawords 0 → 1.
    assert.equal(b.usage.volumeUpBytes, 15);
    // 5 TiB − 12_885_901_888 = 5_497_558_138_880 − 12_885_901_888 = 5_484_672_236_992
    assert.equal(b.usage.volumeDownBytes, 5_484_672_236_992);
    assert.deepEqual(b.resets, []);
    assert.equal(b.counters.outputOctets, 5n * GIB * 1024n);
  });

  it('reads the Gigawords attributes from the wire, not only through the fixture', () => {
    const outcome = accountingToUsage(
      request({
        sessionTimeSec: 10,
        attributes: [
          integerAttribute(A.AcctInputOctets, 7),
          integerAttribute(A.AcctInputGigawords, 2),
          integerAttribute(A.AcctOutputGigawords, 1),
        ],
      }),
      SETTINGS,
    );
    const usage = usageOf(outcome).usage;
    assert.equal(usage.volumeUpBytes, 2 * 4_294_967_296 + 7);
    // Gigawords without an Octets attribute: the low 32 bits read as 0.
    assert.equal(usage.volumeDownBytes, 4_294_967_296);
  });

  it('treats an octet counter that went down, with time moving on, as a reset', () => {
    const [, second] = run([
      { sessionTimeSec: 600, inputOctets: 10_000n, outputOctets: 50_000n },
      { sessionTimeSec: 900, inputOctets: 2_000n, outputOctets: 60_000n },
    ]);
    const outcome = usageOf(second!);
    assert.deepEqual(outcome.resets, ['input-octets']);
    // The input counter restarted at 0: its delta is all of its current value.
    assert.equal(outcome.usage.volumeUpBytes, 2_000);
    assert.equal(outcome.usage.volumeDownBytes, 10_000);
    assert.equal(outcome.usage.durationSec, 300);
    assert.equal(outcome.usage.extra?.['radius.counterReset'], 'input-octets');
    assert.equal(outcome.counters.inputOctets, 2_000n);
  });

  it('treats a newer report (by Event-Timestamp) with every counter down as a full reset', () => {
    const [, second] = run([
      { sessionTimeSec: 600, inputOctets: 10_000n, outputOctets: 50_000n, eventTimestampSec: T0_SEC + 600 },
      { sessionTimeSec: 60, inputOctets: 100n, outputOctets: 200n, eventTimestampSec: T0_SEC + 700 },
    ]);
    const outcome = usageOf(second!);
    assert.deepEqual(outcome.resets, ['session-time', 'input-octets', 'output-octets']);
    assert.deepEqual(
      [outcome.usage.durationSec, outcome.usage.volumeUpBytes, outcome.usage.volumeDownBytes],
      [60, 100, 200],
    );
  });

  it('ignores a report older than the stored one, by Event-Timestamp or else by session time', () => {
    const byTimestamp = run([
      { sessionTimeSec: 600, inputOctets: 10_000n, eventTimestampSec: T0_SEC + 600 },
      { sessionTimeSec: 300, inputOctets: 4_000n, eventTimestampSec: T0_SEC + 300 },
      { sessionTimeSec: 900, inputOctets: 12_000n, eventTimestampSec: T0_SEC + 900 },
    ]);
    assert.equal(byTimestamp[1]!.kind, 'stale');
    // The stale report did not move the baseline: 12_000 − 10_000.
    assert.equal(usageOf(byTimestamp[2]!).usage.volumeUpBytes, 2_000);

    const bySessionTime = run([
      { sessionTimeSec: 600, inputOctets: 10_000n },
      { sessionTimeSec: 300, inputOctets: 4_000n },
    ]);
    assert.equal(bySessionTime[1]!.kind, 'stale');
  });

  it('ignores a Start for a session that already has counters', () => {
    const outcomes = run([
      { status: 'Start' },
      { sessionTimeSec: 300, inputOctets: 1_000n },
      { status: 'Start' },
      { sessionTimeSec: 600, inputOctets: 1_500n },
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      ['session-start', 'usage', 'stale', 'usage'],
    );
    assert.equal(usageOf(outcomes[3]!).usage.volumeUpBytes, 500);
  });

  it('gives a retransmitted report the same record id, whatever its delay or identifier', () => {
    const fixture = { sessionTimeSec: 300, inputOctets: 1_000n, outputOctets: 5_000n };
    const first = usageOf(accountingToUsage(request(fixture), SETTINGS));
    const again = usageOf(
      accountingToUsage(
        {
          ...request({ ...fixture, delaySec: 30 }),
          packet: accountingPacket(
            {
              ...fixture,
              status: 'InterimUpdate',
              sessionId: 'S-0001',
              userName: 'alice@isp.example',
              nasIdentifier: 'bng-1',
              delaySec: 30,
            },
            99,
          ),
        },
        SETTINGS,
        undefined,
      ),
    );
    assert.equal(again.usage.sourceRecordId, first.usage.sourceRecordId);
    // Applied on top of itself, it adds nothing.
    const repeat = usageOf(accountingToUsage(request(fixture), SETTINGS, first.counters));
    assert.deepEqual(
      [repeat.usage.durationSec, repeat.usage.volumeUpBytes, repeat.usage.volumeDownBytes],
      [0, 0, 0],
    );
    assert.equal(repeat.usage.sourceRecordId, first.usage.sourceRecordId);
  });

  it('without Event-Timestamp, ends the slice at the receive time minus Acct-Delay-Time', () => {
    const receivedMs = Date.parse('2026-03-01T12:00:00.000Z');
    const outcome = usageOf(
      accountingToUsage(
        request({ sessionTimeSec: 600, inputOctets: 1n, delaySec: 20 }, receivedMs),
        SETTINGS,
      ),
    );
    // 12:00:00 − 20 s delay − 600 s session = 11:49:40
    assert.equal(outcome.usage.startMs, Date.parse('2026-03-01T11:49:40.000Z'));
    assert.equal(outcome.counters.eventTimestampSec, undefined);
  });

  it('takes the identity from the configured attribute, in canonical form', () => {
    const cases: [RadiusUsageSettings['identityAttribute'], Partial<AccountingFixture>, string, string][] = [
      ['User-Name', { userName: 'Alice@ISP.Example' }, 'nai', 'Alice@isp.example'],
      [
        'Calling-Station-Id',
        { attributes: [textAttribute(A.CallingStationId, '+49 151 2345678')] },
        'msisdn',
        '491512345678',
      ],
      [
        'NAS-Port-Id',
        { attributes: [textAttribute(A.NasPortId, ' olt-7  eth 1/1/4:100 ')] },
        'line-id',
        'olt-7 eth 1/1/4:100',
      ],
      [
        'Agent-Circuit-Id',
        { attributes: [vendorAttribute(3561, [textAttribute(1, 'olt-7 atm 1/1/01:0.35')])] },
        'line-id',
        'olt-7 atm 1/1/01:0.35',
      ],
      [
        '3GPP-IMSI',
        { attributes: [vendorAttribute(10415, [textAttribute(1, '262011234567890')])] },
        'imsi',
        '262011234567890',
      ],
    ];
    for (const [identityAttribute, fixture, type, value] of cases) {
      const outcome = usageOf(
        accountingToUsage(request({ sessionTimeSec: 1, ...fixture }), { identityAttribute }),
      );
      assert.deepEqual(
        [outcome.usage.identityType, outcome.usage.identity],
        [type, value],
        identityAttribute,
      );
    }
  });

  it('rejects a report without a usable identity or session id, naming the field', () => {
    const missingName = accountingToUsage(request({ userName: undefined, sessionTimeSec: 1 }), SETTINGS);
    assert.deepEqual(missingName, {
      kind: 'reject',
      reason: 'missing_field',
      field: 'User-Name',
      message: 'User-Name is absent',
    });
    const national = accountingToUsage(
      request({ sessionTimeSec: 1, attributes: [textAttribute(A.CallingStationId, '0151 2345678')] }),
      { identityAttribute: 'Calling-Station-Id' },
    );
    assert.equal(national.kind === 'reject' && national.reason, 'unparseable');
    const noSession = accountingToUsage(request({ sessionId: undefined, sessionTimeSec: 1 }), SETTINGS);
    assert.equal(noSession.kind === 'reject' && noSession.field, 'Acct-Session-Id');
    assert.equal(accountingSessionKey(request({ sessionId: undefined })), undefined);
  });

  it('rejects unknown status types and malformed counters', () => {
    const unknown = accountingToUsage(
      {
        ...request({}),
        packet: {
          ...accountingPacket({ status: 'Start' }),
          attributes: [integerAttribute(A.AcctStatusType, 9)],
        },
      },
      SETTINGS,
    );
    assert.equal(unknown.kind === 'reject' && unknown.reason, 'unsupported_record');
    const noStatus = accountingToUsage(
      { ...request({}), packet: { ...accountingPacket({ status: 'Start' }), attributes: [] } },
      SETTINGS,
    );
    assert.equal(noStatus.kind === 'reject' && noStatus.reason, 'missing_field');
    const badCounter = accountingToUsage(
      request({ attributes: [{ type: A.AcctInputOctets, value: new Uint8Array([1, 2]) }] }),
      SETTINGS,
    );
    assert.deepEqual(badCounter.kind === 'reject' && [badCounter.reason, badCounter.field], [
      'malformed_record',
      'Acct-Input-Octets',
    ]);
  });

  it('rejects a delta too large for a safe integer rather than rounding it', () => {
    const outcome = accountingToUsage(
      request({ sessionTimeSec: 1, attributes: [integerAttribute(A.AcctInputGigawords, 0xffffffff)] }),
      SETTINGS,
    );
    assert.equal(outcome.kind === 'reject' && outcome.reason, 'out_of_bounds');
  });

  it('notes Accounting-On and Accounting-Off as a NAS restart', () => {
    const on = accountingToUsage(request({ status: 'AccountingOn', sessionId: undefined }), SETTINGS);
    assert.deepEqual(on, { kind: 'nas-restart', status: 'accounting-on', nas: 'bng-1' });
    const off = accountingToUsage(
      {
        packet: accountingPacket({
          status: 'AccountingOff',
          attributes: [{ type: A.NasIpAddress, value: new Uint8Array([198, 51, 100, 1]) }],
        }),
        sourceAddress: '192.0.2.10',
        receivedMs: 0,
      },
      SETTINGS,
    );
    assert.deepEqual(off, { kind: 'nas-restart', status: 'accounting-off', nas: '198.51.100.1' });
    const bare = accountingToUsage(
      { packet: accountingPacket({ status: 'AccountingOn' }), sourceAddress: '192.0.2.77', receivedMs: 0 },
      SETTINGS,
    );
    assert.equal(bare.kind === 'nas-restart' && bare.nas, '192.0.2.77');
  });

  it('takes the APN from Called-Station-Id when asked to', () => {
    const fixture = {
      sessionTimeSec: 1,
      attributes: [textAttribute(A.CalledStationId, 'Internet.MNC001.MCC262.GPRS')],
    };
    assert.equal(usageOf(accountingToUsage(request(fixture), SETTINGS)).usage.apn, undefined);
    assert.equal(
      usageOf(accountingToUsage(request(fixture), { apnFromCalledStationId: true })).usage.apn,
      'internet.mnc001.mcc262.gprs',
    );
  });

  it('the deltas of any in-order report sequence add up to the final counters', () => {
    const step = fc.record({
      seconds: fc.integer({ min: 0, max: 3600 }),
      up: fc.bigInt({ min: 0n, max: 20n * GIB }),
      down: fc.bigInt({ min: 0n, max: 200n * GIB }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        let time = 0;
        let up = 0n;
        let down = 0n;
        const fixtures: Partial<AccountingFixture>[] = [{ status: 'Start', eventTimestampSec: T0_SEC }];
        for (const s of steps) {
          time += s.seconds;
          up += s.up;
          down += s.down;
          fixtures.push({
            sessionTimeSec: time,
            inputOctets: up,
            outputOctets: down,
            eventTimestampSec: T0_SEC + time,
          });
        }
        fixtures[fixtures.length - 1] = { ...fixtures[fixtures.length - 1], status: 'Stop' };
        const usages = run(fixtures)
          .slice(1)
          .map((o) => usageOf(o).usage);
        assert.equal(
          usages.reduce((sum, u) => sum + u.durationSec, 0),
          time,
        );
        assert.equal(BigInt(usages.reduce((sum, u) => sum + u.volumeUpBytes, 0)), up);
        assert.equal(BigInt(usages.reduce((sum, u) => sum + u.volumeDownBytes, 0)), down);
        // Slices tile the session: each starts where the previous ended.
        for (let i = 1; i < usages.length; i++) {
          assert.equal(usages[i]!.startMs, usages[i - 1]!.startMs + usages[i - 1]!.durationSec * 1000);
        }
      }),
      { numRuns: 200 },
    );
  });
});
