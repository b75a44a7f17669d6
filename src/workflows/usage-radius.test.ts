import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { FakeClock } from '../kernel/clock.js';
import { isTollgateError } from '../kernel/errors.js';
import { describeEachDialect } from '../testing/databases.js';
import { loadDemoFiles } from '../app/demo-files.js';
import { RadiusAttributeType as A, decodePacket, textAttribute } from '../protocols/radius/codec.js';
import { accountingToUsage, nasName, type RadiusUsageSettings } from '../protocols/radius/accounting.js';
import { signedAccountingDatagram, type AccountingFixture } from '../protocols/radius/fixtures.js';
import { startRadiusAccountingServer, type RadiusAccountingEvent } from '../protocols/radius/server.js';
import { radiusSink } from '../protocols/radius/sink.js';
import * as store from '../usage/store.js';
import { seedDemoIfEmpty } from './demo.js';
import { findTenant } from './tenants.js';
import type { Caller, WorkflowDeps } from './context.js';
import { dailyControls, defineSource, listRejects } from './usage.js';
import { sessionAccounting } from './usage-radius.js';
import { listRatedUsage, type RatedUsageView } from './usage-rating.js';

const SOURCE = {
  name: 'radius-test',
  format: 'radius',
  timeZone: 'Europe/Berlin',
  numbering: { countryCode: '49', nationalPrefix: '0', internationalPrefixes: ['00'] },
  identityType: 'msisdn',
};
// A mobile gateway names the subscriber by Calling-Station-Id, an MSISDN in international form.
const SETTINGS: RadiusUsageSettings = { identityAttribute: 'Calling-Station-Id' };
const SECRET = 'radius-sink-test-secret';

// Clara Weber (+49 151 20000003) is on MOBILE-POSTPAID-M with 10 GB of data a month, so her slices
// rate at 0 from the allowance. 29 November 2026, 10:00 UTC, in seconds since the epoch:
const T0 = Date.UTC(2026, 10, 29, 10, 0, 0) / 1000;

function report(
  sessionId: string,
  status: AccountingFixture['status'],
  fields: Partial<AccountingFixture> & { user?: string } = {},
): AccountingFixture {
  const { user, ...rest } = fields;
  return {
    status,
    sessionId,
    nasIdentifier: 'pgw-fra-1',
    attributes: [textAttribute(A.CallingStationId, user ?? '+4915120000003')],
    ...rest,
  };
}

function event(fixture: AccountingFixture, identifier: number, clock: FakeClock): RadiusAccountingEvent {
  const raw = signedAccountingDatagram(fixture, identifier, SECRET);
  const decoded = decodePacket(raw);
  assert.ok(decoded.ok);
  const request = { packet: decoded.packet, sourceAddress: '192.0.2.10', receivedMs: clock.nowMs() };
  const nas = nasName(request);
  return {
    ...request,
    sourcePort: 40000,
    client: { name: 'pgw', address: '192.0.2.0/24' },
    status: fixture.status === 'Start' ? 'start' : fixture.status === 'Stop' ? 'stop' : 'interim-update',
    sessionKey: fixture.sessionId === undefined ? undefined : `${nas}:${fixture.sessionId}`,
    raw: Uint8Array.from(raw),
  };
}

describeEachDialect('workflows: RADIUS accounting into mediation and rating', (db) => {
  const clock = new FakeClock('2026-11-29T12:00:00.000Z');
  const deps = (): WorkflowDeps => ({ database: db(), clock });
  let caller: Caller;

  const ratedOf = async (sessionId: string): Promise<RatedUsageView[]> =>
    (await listRatedUsage(deps(), caller.tenantId, { limit: 10_000 })).filter(
      (r) => r.source === SOURCE.name && r.sourceRecordId?.startsWith(`${sessionId}:`) === true,
    );

  before(async () => {
    await seedDemoIfEmpty(deps(), loadDemoFiles());
    const tenant = await findTenant(deps(), 'demo');
    caller = { tenantId: tenant!.id, actor: { type: 'system', id: 'radius-test' } };
    await defineSource(deps(), caller, SOURCE);
  });

  it('refuses a source that does not exist or is not of format radius', async () => {
    await assert.rejects(radiusSink(deps(), caller, 'no-such-source', SETTINGS), (error: unknown) => {
      assert.ok(isTollgateError(error));
      assert.equal(error.code, 'usage.source_not_found');
      return true;
    });
    await defineSource(deps(), caller, { ...SOURCE, name: 'not-radius', format: 'jsonl' });
    await assert.rejects(radiusSink(deps(), caller, 'not-radius', SETTINGS), /format radius/);
  });

  it('rates Start / Interim / Stop as delta slices that tile the session and add up to the Stop', async () => {
    const sink = await radiusSink(deps(), caller, SOURCE.name, SETTINGS);
    const id = 'S-TILE';
    await sink.handle(event(report(id, 'Start', { sessionTimeSec: 0, eventTimestampSec: T0 }), 1, clock));
    // 10:10, 10:20 and the Stop at 10:25: cumulative 600 / 1200 / 1500 s.
    await sink.handle(
      event(
        report(id, 'InterimUpdate', {
          sessionTimeSec: 600,
          inputOctets: 1_000_000n,
          outputOctets: 5_000_000n,
          eventTimestampSec: T0 + 600,
        }),
        2,
        clock,
      ),
    );
    await sink.handle(
      event(
        report(id, 'InterimUpdate', {
          sessionTimeSec: 1200,
          inputOctets: 3_000_000n,
          outputOctets: 9_000_000n,
          eventTimestampSec: T0 + 1200,
        }),
        3,
        clock,
      ),
    );
    await sink.handle(
      event(
        report(id, 'Stop', {
          sessionTimeSec: 1500,
          inputOctets: 4_000_000n,
          outputOctets: 12_000_000n,
          eventTimestampSec: T0 + 1500,
        }),
        4,
        clock,
      ),
    );
    assert.deepEqual(sink.counters(), {
      rated: 3,
      rejected: 0,
      duplicates: 0,
      sessionStarts: 1,
      stale: 0,
      nasRestarts: 0,
    });

    const rated = await ratedOf(id);
    // Deltas: up 1 000 000, 2 000 000, 1 000 000; down 5 000 000, 4 000 000, 3 000 000; time 600, 600, 300.
    assert.deepEqual(
      rated.map((r) => [r.startAt, r.durationSec, r.volumeUpBytes, r.volumeDownBytes]),
      [
        ['2026-11-29T10:00:00.000Z', 600, 1_000_000, 5_000_000],
        ['2026-11-29T10:10:00.000Z', 600, 2_000_000, 4_000_000],
        ['2026-11-29T10:20:00.000Z', 300, 1_000_000, 3_000_000],
      ],
    );
    const sum = (f: (r: RatedUsageView) => number) => rated.reduce((total, r) => total + f(r), 0);
    assert.equal(
      sum((r) => r.volumeUpBytes),
      4_000_000,
    );
    assert.equal(
      sum((r) => r.volumeDownBytes),
      12_000_000,
    );
    assert.equal(
      sum((r) => r.durationSec),
      1500,
    );
    assert.ok(rated.every((r) => r.service === 'data' && r.identity === '4915120000003'));
    // From the 10 GB allowance: 5 000 000 + 6 000 000 + 4 000 000 bytes, nothing to pay.
    assert.deepEqual(
      rated.map((r) => [r.allowanceUnits, r.amountPico]),
      [
        [6_000_000, 0n],
        [6_000_000, 0n],
        [4_000_000, 0n],
      ],
    );

    const session = await store.findRadiusSession(db().db, caller.tenantId, SOURCE.name, `pgw-fra-1:${id}`);
    assert.equal(session?.stopped, true);
    assert.equal(session?.version, 4);
  });

  it('does not charge a retransmitted Stop twice: it is stored as a duplicate', async () => {
    const sink = await radiusSink(deps(), caller, SOURCE.name, SETTINGS);
    const id = 'S-RETRY';
    const stop = report(id, 'Stop', {
      sessionTimeSec: 900,
      inputOctets: 2_000_000n,
      outputOctets: 8_000_000n,
      eventTimestampSec: T0 + 3600,
    });
    await sink.handle(event(stop, 10, clock));
    // The NAS retries with a new identifier and Acct-Delay-Time, so the server's cache does not
    // catch it and the sink sees it: the same record id, measured against its own counters.
    clock.advanceMs(30_000);
    await sink.handle(event({ ...stop, delaySec: 30 }, 11, clock));
    await sink.handle(event({ ...stop, delaySec: 60 }, 12, clock));
    assert.equal(sink.counters().rated, 1);
    assert.equal(sink.counters().duplicates, 2);

    const rated = await ratedOf(id);
    assert.equal(rated.length, 1);
    assert.deepEqual(
      [rated[0]!.durationSec, rated[0]!.volumeUpBytes, rated[0]!.volumeDownBytes],
      [900, 2_000_000, 8_000_000],
    );
    const duplicates = (await listRejects(deps(), caller.tenantId, { kind: 'duplicate', limit: 100 })).filter(
      (r) => r.source === SOURCE.name,
    );
    assert.equal(duplicates.length, 2);
    // The raw record is the packet, hex.
    assert.equal(
      duplicates[0]!.raw,
      signedAccountingDatagram({ ...stop, delaySec: 30 }, 11, SECRET).toString('hex'),
    );
    const days = await dailyControls(deps(), caller.tenantId, {});
    assert.ok(days.every((d) => d.balanced));
  });

  it('stores an unknown user as a reject, answers, and moves the counters past it', async () => {
    const sink = await radiusSink(deps(), caller, SOURCE.name, SETTINGS);
    const id = 'S-UNKNOWN';
    const nobody = { user: '+4915199999999' };
    await sink.handle(
      event(
        report(id, 'InterimUpdate', {
          ...nobody,
          sessionTimeSec: 300,
          inputOctets: 1000n,
          outputOctets: 2000n,
          eventTimestampSec: T0 + 300,
        }),
        20,
        clock,
      ),
    );
    // A national number is not a valid MSISDN: rejected by the conversion itself, also answered.
    await sink.handle(
      event(report('S-NATIONAL', 'InterimUpdate', { user: '015120000003', sessionTimeSec: 60 }), 21, clock),
    );
    assert.equal(sink.counters().rejected, 2);
    const rejects = (await listRejects(deps(), caller.tenantId, { source: SOURCE.name, limit: 100 })).filter(
      (r) => r.kind === 'reject',
    );
    const unknown = rejects.find((r) => r.reason === 'unknown_subscriber');
    assert.ok(unknown);
    assert.match(unknown.message, /4915199999999/);
    assert.ok(rejects.some((r) => r.reason === 'unparseable' || r.reason === 'missing_field'));

    const session = await store.findRadiusSession(db().db, caller.tenantId, SOURCE.name, `pgw-fra-1:${id}`);
    assert.ok(session, 'the rejected slice is accounted for: the next report is measured from it');
    assert.deepEqual(JSON.parse(session.state).inputOctets, '1000');
  });

  it('keeps the slice and the counters together: a lost compare-and-set stores neither', async () => {
    const accounting = await sessionAccounting(deps(), caller, SOURCE.name);
    const id = 'S-RACE';
    const sink = await radiusSink(deps(), caller, SOURCE.name, SETTINGS);
    await sink.handle(event(report(id, 'Start', { sessionTimeSec: 0, eventTimestampSec: T0 }), 30, clock));
    const interim = event(
      report(id, 'InterimUpdate', {
        sessionTimeSec: 120,
        inputOctets: 10_000n,
        outputOctets: 20_000n,
        eventTimestampSec: T0 + 120,
      }),
      31,
      clock,
    );
    const key = `pgw-fra-1:${id}`;
    const controlsBefore = await dailyControls(deps(), caller.tenantId, {});
    let concurrentWrite: Promise<boolean> | undefined;
    await assert.rejects(
      accounting.record({
        sessionKey: key,
        nas: 'pgw-fra-1',
        rawHex: Buffer.from(interim.raw).toString('hex'),
        convert: (previous) => {
          // Another process stores a report of the same session after this one read the row (its
          // write is queued before any of the pipeline's statements).
          concurrentWrite = store.saveRadiusSession(db().db, caller.tenantId, {
            source: SOURCE.name,
            sessionKey: key,
            nas: 'pgw-fra-1',
            state: '{"sessionTimeSec":60,"inputOctets":"1","outputOctets":"1"}',
            stopped: false,
            expectedVersion: 1,
            now: clock.now(),
          });
          return accountingToUsage(interim, SETTINGS, previous);
        },
      }),
      (error: unknown) => {
        assert.ok(isTollgateError(error));
        assert.equal(error.code, 'common.conflict');
        return true;
      },
    );
    assert.equal(await concurrentWrite, true);
    assert.equal((await ratedOf(id)).length, 0, 'the slice was rolled back with the counters');
    assert.deepEqual(await dailyControls(deps(), caller.tenantId, {}), controlsBefore);
    // The retransmission is measured from what the other process stored: 120 − 60 s.
    await sink.handle(interim);
    const rated = await ratedOf(id);
    assert.deepEqual(
      rated.map((r) => [r.durationSec, r.volumeUpBytes, r.volumeDownBytes]),
      [[60, 9_999, 19_999]],
    );
  });

  it('closes the sessions of a NAS that restarts, and ignores stale reports', async () => {
    const sink = await radiusSink(deps(), caller, SOURCE.name, SETTINGS);
    const id = 'S-REBOOT';
    await sink.handle(
      event(report(id, 'InterimUpdate', { sessionTimeSec: 600, eventTimestampSec: T0 + 600 }), 40, clock),
    );
    // An older report arriving late: stale, answered, nothing stored.
    await sink.handle(
      event(report(id, 'InterimUpdate', { sessionTimeSec: 300, eventTimestampSec: T0 + 300 }), 41, clock),
    );
    assert.equal(sink.counters().stale, 1);
    await sink.handle(event({ status: 'AccountingOn', nasIdentifier: 'pgw-fra-1' }, 42, clock));
    assert.equal(sink.counters().nasRestarts, 1);
    const session = await store.findRadiusSession(db().db, caller.tenantId, SOURCE.name, `pgw-fra-1:${id}`);
    assert.equal(session?.stopped, true);
  });

  it('answers signed datagrams end to end: the real server with the sink on 127.0.0.1', async () => {
    const sink = await radiusSink(deps(), caller, SOURCE.name, SETTINGS);
    const server = await startRadiusAccountingServer({
      host: '127.0.0.1',
      port: 0,
      clients: [{ address: '127.0.0.1', secret: SECRET, name: 'loopback-nas' }],
      handle: (e) => sink.handle(e),
      clock,
    });
    const nas = createSocket('udp4');
    try {
      await new Promise<void>((resolve) => nas.bind(0, '127.0.0.1', resolve));
      const responses: Buffer[] = [];
      const waiters: Array<(message: Buffer) => void> = [];
      nas.on('message', (message: Buffer) => {
        const waiter = waiters.shift();
        if (waiter) waiter(message);
        else responses.push(message);
      });
      const exchange = (datagram: Buffer): Promise<Buffer> => {
        const answer = new Promise<Buffer>((resolve, reject) => {
          const queued = responses.shift();
          if (queued) return resolve(queued);
          const timer = setTimeout(() => reject(new Error('no Accounting-Response within 5 s')), 5000);
          waiters.push((message) => {
            clearTimeout(timer);
            resolve(message);
          });
        });
        nas.send(datagram, server.address.port, '127.0.0.1');
        return answer;
      };
      const id = 'S-E2E';
      const datagrams = [
        signedAccountingDatagram(
          report(id, 'Start', { sessionTimeSec: 0, eventTimestampSec: T0 }),
          50,
          SECRET,
        ),
        signedAccountingDatagram(
          report(id, 'InterimUpdate', {
            sessionTimeSec: 300,
            inputOctets: 5_000_000_000n, // past 4 GiB: Gigawords 1
            outputOctets: 7_000n,
            eventTimestampSec: T0 + 300,
          }),
          51,
          SECRET,
        ),
        signedAccountingDatagram(
          report(id, 'Stop', {
            sessionTimeSec: 450,
            inputOctets: 5_000_001_000n,
            outputOctets: 9_000n,
            eventTimestampSec: T0 + 450,
          }),
          52,
          SECRET,
        ),
        // An unknown user is answered too: the record is stored, as a reject.
        signedAccountingDatagram(
          report('S-E2E-NOBODY', 'Stop', {
            user: '+4915199999998',
            sessionTimeSec: 10,
            eventTimestampSec: T0,
          }),
          53,
          SECRET,
        ),
      ];
      for (const datagram of datagrams) {
        const response = await exchange(datagram);
        assert.equal(response[0], 5, 'Accounting-Response');
        assert.equal(response[1], datagram[1], 'same identifier');
      }
      // The very same datagram again: answered from the server's cache, the sink not called.
      const again = await exchange(datagrams[2]!);
      assert.equal(again[1], 52);
      assert.equal(server.counters().duplicates, 1);
      assert.equal(server.counters().accepted, 4);

      const rated = await ratedOf(id);
      assert.deepEqual(
        rated.map((r) => [r.durationSec, r.volumeUpBytes, r.volumeDownBytes]),
        [
          [300, 5_000_000_000, 7_000],
          [150, 1_000, 2_000],
        ],
      );
      assert.equal(sink.counters().rejected, 1);
    } finally {
      nas.close();
      await server.close();
    }
  });
});
