import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { FakeClock } from '../kernel/clock.js';
import { describeEachDialect } from '../testing/databases.js';
import { loadDemoFiles } from '../app/demo-files.js';
import { seedDemoIfEmpty } from './demo.js';
import { findTenant } from './tenants.js';
import type { WorkflowDeps } from './context.js';
import { ChargingEngine, type OnlineChargingInput, type StarvedSessions } from './charging.js';
import { SubscriberDirectory } from './usage-directory.js';
import * as store from '../charging/store.js';
import { listEvents } from '../events/index.js';
import { explainUsage, listRatedUsage, rerateUsage } from './usage-rating.js';
import { listControls } from './usage.js';
import { formatDecimal } from '../kernel/decimal.js';
import { correctTariffVersion, tariffVersionAt } from './catalog.js';

// Clara Weber (4915120000003, demo data) has an account in EUR. Online pricing takes her plan's
// tariff with the allowances left out (they are buckets online): a national mobile call is priced
// per second by the tariff, so every figure below is read back from the outcome and checked
// against the balance and the movements rather than hard-coded.
const CLARA = '4915120000003';
const EUR = 1_000_000_000_000n; // pico-units per euro

describeEachDialect('workflows: online charging engine', (db) => {
  const clock = new FakeClock('2026-11-29T12:00:00.000Z');
  const deps = (): WorkflowDeps => ({ database: db(), clock });
  let tenantId: string;
  let accountId: string;
  let engine: ChargingEngine;
  const balanceId = 'bal-clara-main';

  const call = (sessionId: string, requestNumber: number, extra: Partial<OnlineChargingInput> = {}) =>
    engine.charge({
      tenantId,
      sessionId,
      requestNumber,
      identityType: 'msisdn',
      identity: CLARA,
      atMs: clock.nowMs(),
      protocol: 'api',
      items: [{ ratingGroup: 10, service: 'voice', calledNumber: '491701234567', requestedUnits: 'default' }],
      ...extra,
    });

  before(async () => {
    await seedDemoIfEmpty(deps(), loadDemoFiles());
    tenantId = (await findTenant(deps(), 'demo'))!.id;
    const directory = new SubscriberDirectory(db(), tenantId);
    await directory.preloadIdentity('msisdn', CLARA);
    accountId = directory.ownerAt('msisdn', CLARA, clock.nowMs())!.account.id;
    engine = new ChargingEngine({ database: db(), clock });
    await engine.openBalance(tenantId, accountId, 'EUR', {
      id: balanceId,
      ownerKind: 'account',
      ownerId: accountId,
      unit: 'money',
      lowBalancePico: 2n * EUR,
    });
    const credited = await engine.move(tenantId, accountId, 'top_up', {
      balanceId,
      amount: 10n * EUR,
      reference: 'pay-1',
    });
    assert.equal(credited.code, 'ok');
  });

  it('reserves, commits what was used, releases the rest, and the balance is its movements', async () => {
    const first = await call('s1', 0);
    assert.equal(first.outcome.code, 'ok');
    const grant = first.outcome.items[0]!;
    assert.equal(grant.grantCode, 'granted');
    assert.equal(grant.grantedUnits, 300n);
    const held = (await engine.accountState(tenantId, accountId)).balances.get(balanceId)!.held;
    assert.ok(held > 0n, 'the grant holds money');

    clock.advanceMs(125_000);
    const second = await call('s1', 1, {
      terminate: true,
      items: [{ ratingGroup: 10, service: 'voice', calledNumber: '491701234567', usedUnits: 125n }],
    });
    const used = second.outcome.items[0]!;
    assert.equal(used.commitCode, 'committed');
    assert.equal(used.chargedUnits, 125n);
    assert.ok(used.chargedPico > 0n && used.chargedPico < held);

    const balance = (await store.findBalanceRow(db().db, tenantId, balanceId))!.balance;
    assert.equal(balance.amount, 10n * EUR - used.chargedPico);
    assert.equal(balance.held, 0n);
    const sum = await store.sumMovements(db().db, tenantId, balanceId);
    assert.deepEqual(sum, { total: balance.amount, count: balance.version });
  });

  it('writes a rated usage record for each commit, explained like batch usage, and none for a replay', async () => {
    const voice = { ratingGroup: 10, service: 'voice' as const, calledNumber: '491701234567' };
    await call('u1', 0);
    clock.advanceMs(42_000);
    const report = { terminate: true, items: [{ ...voice, usedUnits: 42n }] };
    const used = await call('u1', 1, report);
    const item = used.outcome.items[0]!;
    assert.equal(item.commitCode, 'committed');
    const records = (await listRatedUsage(deps(), tenantId, { online: true, limit: 1000 })).filter(
      (r) => r.sourceRecordId === item.closedReservationId,
    );
    assert.equal(records.length, 1);
    const record = records[0]!;
    assert.equal(record.source, 'online:api');
    assert.equal(record.line, 1);
    assert.equal(record.service, 'voice');
    assert.equal(record.identity, CLARA);
    assert.equal(record.calledNumber, '491701234567');
    assert.equal(record.ratingGroup, 10);
    assert.equal(record.durationSec, 42);
    assert.equal(record.amountPico, item.chargedPico);
    assert.equal(record.currency, 'EUR');
    assert.equal(record.status, 'unbilled');
    // The trace is the tariff's, as for batch usage: zone and the price of what money paid.
    const explained = await explainUsage(deps(), tenantId, record.id);
    assert.ok(
      explained.lines.some((line) => line.includes('Matched prefix')),
      explained.lines.join('\n'),
    );
    assert.ok(explained.lines.some((line) => line.startsWith('Charge: ')));
    // The stream import of the day counts it; a replay writes nothing more.
    const again = await call('u1', 1, report);
    assert.equal(again.outcome.replayed, true);
    const after = await listRatedUsage(deps(), tenantId, { online: true, limit: 1000 });
    assert.equal(after.filter((r) => r.sourceRecordId === item.closedReservationId).length, 1);
    const controls = await listControls(deps(), tenantId, {});
    const online = controls.filter((c) => c.source === 'online:api');
    assert.equal(
      online.reduce((sum, c) => sum + c.rated, 0),
      after.length,
      'the controls count every online record',
    );
    // Re-rating (against the batch allowance counters) leaves online records alone.
    const rerated = await rerateUsage(
      deps(),
      { tenantId, actor: { type: 'system', id: 'test' } },
      { accountId, from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' },
    );
    assert.equal(rerated.examined, 0);
  });

  it('finds the zone of a call, so zoned buckets pay only for calls into their zones', async () => {
    const zone = (await listRatedUsage(deps(), tenantId, { online: true, limit: 1000 })).find(
      (r) => r.calledNumber === '491701234567',
    )?.zone;
    assert.ok(zone !== undefined, 'the earlier online record names its zone');
    for (const [id, zones] of [
      ['bkt-in-zone', [zone]],
      ['bkt-elsewhere', ['NO-SUCH-ZONE']],
    ] as const) {
      await engine.openBalance(tenantId, accountId, 'EUR', {
        id,
        ownerKind: 'account',
        ownerId: accountId,
        unit: 'second',
        zones: [...zones],
        priority: 1,
      });
      assert.equal(
        (await engine.move(tenantId, accountId, 'grant', { balanceId: id, amount: 100n, reference: id }))
          .code,
        'ok',
      );
    }
    const granted = await call('z1', 0);
    assert.equal(granted.outcome.items[0]!.grantCode, 'granted');
    const state = await engine.accountState(tenantId, accountId);
    assert.equal(state.balances.get('bkt-in-zone')!.held, 100n);
    assert.equal(state.balances.get('bkt-elsewhere')!.held, 0n);
  });

  it('answers a repeated request from its first outcome and never debits twice', async () => {
    await call('s2', 0);
    clock.advanceMs(60_000);
    const report = {
      terminate: true,
      items: [{ ratingGroup: 10, service: 'voice' as const, calledNumber: '491701234567', usedUnits: 60n }],
    };
    const once = await call('s2', 1, report);
    const before = (await store.findBalanceRow(db().db, tenantId, balanceId))!.balance.amount;
    const again = await call('s2', 1, report);
    assert.equal(again.outcome.replayed, true);
    assert.equal(again.outcome.items[0]!.chargedPico, once.outcome.items[0]!.chargedPico);
    assert.equal((await store.findBalanceRow(db().db, tenantId, balanceId))!.balance.amount, before);
    // The same number with a different report is refused, not charged.
    const other = await call('s2', 1, { ...report, items: [{ ...report.items[0]!, usedUnits: 61n }] });
    assert.equal(other.outcome.code, 'request_mismatch');
  });

  it('never lets many concurrent sessions on one balance hold more than it has', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => call(`c${i}`, 0)));
    const state = await engine.accountState(tenantId, accountId);
    const balance = state.balances.get(balanceId)!;
    assert.ok(balance.held <= balance.amount, `held ${balance.held} ≤ amount ${balance.amount}`);
    const granted = results.filter((r) => (r.outcome.items[0]?.grantedUnits ?? 0n) > 0n).length;
    const refused = results.filter((r) => r.outcome.items[0]?.grantCode === 'quota_limit_reached').length;
    assert.ok(granted > 0 && refused > 0, `some granted (${granted}) and the rest refused (${refused})`);
    // What is stored is what is in memory.
    const stored = (await store.findBalanceRow(db().db, tenantId, balanceId))!.balance;
    assert.equal(stored.held, balance.held);
  });

  it('expires orphaned reservations after their validity, and a new engine reloads the same state', async () => {
    clock.advanceMs(16 * 60_000);
    const expired = await engine.expire(tenantId);
    assert.ok(expired.reservations > 0);
    const stored = (await store.findBalanceRow(db().db, tenantId, balanceId))!.balance;
    assert.equal(stored.held, 0n);

    // A restarted engine loads the account (checking balances against movements and holds against
    // reservations) and still knows the last request of each session.
    const restarted = new ChargingEngine({ database: db(), clock });
    const state = await restarted.accountState(tenantId, accountId);
    assert.equal(state.balances.get(balanceId)!.amount, stored.amount);
    engine = restarted;
    const replay = await call('s2', 1, {
      terminate: true,
      items: [{ ratingGroup: 10, service: 'voice', calledNumber: '491701234567', usedUnits: 60n }],
    });
    assert.equal(replay.outcome.replayed, true);
  });

  it('tells the faces when a credit reaches sessions that ran out, and only those', async () => {
    const events: StarvedSessions[] = [];
    const unsubscribe = engine.onStarvedSessionsCredited((event) => events.push(event));
    try {
      // Leave 0.01 EUR free: a new call gets a last, partial grant (final units).
      const balance = (await engine.accountState(tenantId, accountId)).balances.get(balanceId)!;
      const free = balance.amount - balance.held;
      const drained = await engine.move(tenantId, accountId, 'adjustment', {
        balanceId,
        amount: -(free - EUR / 100n),
        reference: 'drain-for-reauth',
      });
      assert.equal(drained.code, 'ok');
      assert.equal(events.length, 0, 'a debit announces nothing');
      const starved = await call('r1', 0, {
        notifyUri: 'http://smf.example.net/notify/r1',
        items: [{ ratingGroup: 10, service: 'voice', calledNumber: '491701234567', requestedUnits: 3_600n }],
      });
      assert.equal(starved.outcome.items[0]!.finalUnits, true);

      const credited = await engine.move(tenantId, accountId, 'top_up', {
        balanceId,
        amount: 5n * EUR,
        reference: 'pay-reauth',
      });
      assert.equal(credited.code, 'ok');
      assert.equal(events.length, 1);
      const session = events[0]!.sessions.find((s) => s.sessionId === 'r1');
      assert.deepEqual(session, {
        sessionId: 'r1',
        protocol: 'api',
        notifyUri: 'http://smf.example.net/notify/r1',
        ratingGroups: [10],
      });
      // Sessions that still had quota are not disturbed.
      const state = await engine.accountState(tenantId, accountId);
      const fed = [...state.sessions.values()].filter(
        (s) => !s.terminated && s.lastOutcome?.items.every((i) => i.grantCode === 'granted' && !i.finalUnits),
      );
      assert.ok(fed.length > 0, 'the account has sessions with quota');
      const announced = new Set(events[0]!.sessions.map((s) => s.sessionId));
      assert.ok(fed.every((s) => !announced.has(s.sessionId)));
      assert.equal(events[0]!.accountId, accountId);
    } finally {
      unsubscribe();
    }
  });

  it('publishes a threshold that network charging crosses as an event committed with the debit', async () => {
    const before = await listEvents(db().db, tenantId, { type: 'balance.threshold_crossed', limit: 1000 });
    const balance = (await engine.accountState(tenantId, accountId)).balances.get(balanceId)!;
    assert.ok(balance.amount - balance.held > 2n * EUR, 'above the low-balance threshold before');
    const voice = { ratingGroup: 10, service: 'voice' as const, calledNumber: '491701234567' };
    const granted = await call('t1', 0, { items: [{ ...voice, requestedUnits: 3_600n }] });
    const units = granted.outcome.items[0]!.grantedUnits;
    clock.advanceMs(60_000);
    const used = await call('t1', 1, { terminate: true, items: [{ ...voice, usedUnits: units }] });
    assert.equal(used.outcome.items[0]!.commitCode, 'committed');
    const after = (await engine.accountState(tenantId, accountId)).balances.get(balanceId)!;
    assert.ok(after.amount < 2n * EUR, `the call took the balance below 2 EUR (${after.amount})`);
    assert.ok(used.outcome.thresholds.some((t) => t.kind === 'low_balance'));
    const events = await listEvents(db().db, tenantId, { type: 'balance.threshold_crossed', limit: 1000 });
    const added = events.filter((e) => !before.some((b) => b.id === e.id));
    assert.equal(added.length, 1);
    assert.equal(added[0]!.entityId, balanceId);
    assert.deepEqual(
      { ...(added[0]!.payload as Record<string, unknown>), at: undefined },
      {
        balanceId,
        accountId,
        kind: 'low_balance',
        percent: 0,
        amountAfter: { amount: formatDecimal(used.outcome.thresholds[0]!.amountAfter, 12), currency: 'EUR' },
        at: undefined,
      },
    );
  });

  it('forgets ended sessions an hour after they ended, at the sweep, and keeps the others', async () => {
    const voice = { ratingGroup: 10, service: 'voice' as const, calledNumber: '491701234567' };
    await call('m1', 0);
    await call('m1', 1, { terminate: true, items: [{ ...voice, usedUnits: 10n }] });
    await call('m2', 0);
    const state = await engine.accountState(tenantId, accountId);
    assert.ok(state.sessions.has('m1') && state.sessions.has('m2'));
    clock.advanceMs(30 * 60_000);
    await engine.expire(tenantId);
    assert.ok(state.sessions.has('m1'), 'ended 30 minutes ago: still answerable from memory');
    clock.advanceMs(31 * 60_000);
    await engine.expire(tenantId);
    assert.ok(!state.sessions.has('m1'), 'ended over an hour ago: forgotten');
    // m2 never ended: its reservation expired (validity 15 min) but the session stays.
    assert.ok(state.sessions.has('m2'));
  });

  it('finds an open session in memory without a promise, as findSession finds it', async () => {
    const voice = { ratingGroup: 10, service: 'voice' as const, calledNumber: '491701234567' };
    assert.equal(engine.findLoadedSession(tenantId, 'o1'), undefined, 'not seen yet');
    await call('o1', 0);
    const loaded = engine.findLoadedSession(tenantId, 'o1');
    assert.deepEqual(loaded, { subscriptionId: loaded?.subscriptionId, accountId, terminated: false });
    assert.deepEqual(await engine.findSession(tenantId, 'o1'), loaded);
    // Ended, it is no longer an open session: findSession reads it from its row.
    await call('o1', 1, { terminate: true, items: [{ ...voice, usedUnits: 5n }] });
    assert.equal(engine.findLoadedSession(tenantId, 'o1'), undefined);
    assert.deepEqual(await engine.findSession(tenantId, 'o1'), { ...loaded, terminated: true });
  });

  it('fails the requests of a group that cannot commit, reloads the truth, and charges once on the retry', async () => {
    const voice = { ratingGroup: 10, service: 'voice' as const, calledNumber: '491701234567' };
    const report = { terminate: true, items: [{ ...voice, usedUnits: 30n }] };
    assert.equal((await call('f1', 0)).outcome.code, 'ok');
    const before = (await store.findBalanceRow(db().db, tenantId, balanceId))!.balance;
    await sql`alter table charging_movements rename to charging_movements_away`.execute(db().db);
    try {
      // Two requests in flight when the commit fails: both are refused, nothing is durable.
      const results = await Promise.allSettled([call('f1', 1, report), call('f2', 0)]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['rejected', 'rejected'],
      );
    } finally {
      await sql`alter table charging_movements_away rename to charging_movements`.execute(db().db);
    }
    const unchanged = (await store.findBalanceRow(db().db, tenantId, balanceId))!.balance;
    assert.equal(unchanged.amount, before.amount);
    // The account was dropped with the failed group: nothing is answered from memory any more.
    assert.equal(engine.findLoadedSession(tenantId, 'f1'), undefined);
    // The network retries: the account is read back and the usage is charged, once.
    const retried = await call('f1', 1, report);
    assert.equal(retried.outcome.items[0]!.commitCode, 'committed');
    assert.equal((await call('f1', 1, report)).outcome.replayed, true);
    const after = (await store.findBalanceRow(db().db, tenantId, balanceId))!.balance;
    assert.equal(after.amount, before.amount - retried.outcome.items[0]!.chargedPico);
    assert.deepEqual(await store.sumMovements(db().db, tenantId, balanceId), {
      total: after.amount,
      count: after.version,
    });
    assert.equal((await call('f3', 0)).outcome.code, 'ok', 'the engine serves again');
  });

  it('refuses an identity nobody holds as user_unknown, changing nothing', async () => {
    const result = await engine.charge({
      tenantId,
      sessionId: 'u1',
      requestNumber: 0,
      identityType: 'msisdn',
      identity: '4915199999999',
      atMs: clock.nowMs(),
      protocol: 'api',
      items: [{ ratingGroup: 10, service: 'voice', requestedUnits: 'default' }],
    });
    assert.equal(result.outcome.code, 'user_unknown');
    assert.match(result.outcome.message, /identity/);
  });
  it('prices with a corrected tariff within seconds of the correction, made outside the engine', async () => {
    const used = (units: bigint) => ({
      terminate: true,
      items: [{ ratingGroup: 10, service: 'voice' as const, calledNumber: '491701234567', usedUnits: units }],
    });
    const topUp = await engine.move(tenantId, accountId, 'top_up', {
      balanceId,
      amount: 50n * EUR,
      reference: 'pay-catalog-check',
    });
    assert.equal(topUp.code, 'ok');
    assert.equal((await call('cat1', 0)).outcome.items[0]!.grantCode, 'granted');
    clock.advanceMs(60_000);
    const before = (await call('cat1', 1, used(60n))).outcome.items[0]!;
    assert.equal(before.commitCode, 'committed');

    // Every voice rate was keyed 100 times too low: 1.00 EUR a minute, whatever the band.
    const { version } = await tariffVersionAt(deps(), tenantId, 'MOBILE-STANDARD', clock.now());
    const definition = structuredClone(version.definition) as {
      voice: { rates: Array<{ unitPrice: string; bandPrices?: unknown }> };
    };
    for (const rate of definition.voice.rates) {
      rate.unitPrice = '1.00';
      delete rate.bandPrices;
    }
    await correctTariffVersion(deps(), { tenantId, actor: { type: 'system', id: 'test' } }, version.id, {
      definition,
      reason: 'voice rates keyed in the wrong unit',
    });
    // The next request after the check interval asks whether the catalog changed (in the
    // background); the sessions that start after the answer are priced with the correction.
    clock.advanceMs(6_000);
    assert.equal((await call('cat2', 0)).outcome.items[0]!.grantCode, 'granted');
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal((await call('cat3', 0)).outcome.items[0]!.grantCode, 'granted');
    clock.advanceMs(60_000);
    const after = (await call('cat3', 1, used(60n))).outcome.items[0]!;
    assert.equal(after.commitCode, 'committed');
    assert.equal(after.chargedUnits, 60n);
    assert.ok(after.chargedPico >= EUR, `60 s at 1.00 EUR a minute cost ${after.chargedPico} pico`);
    assert.ok(after.chargedPico > before.chargedPico);
  });
});
