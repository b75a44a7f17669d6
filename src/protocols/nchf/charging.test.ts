import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../kernel/clock.js';
import { describeEachDialect } from '../../testing/databases.js';
import { loadDemoFiles } from '../../app/demo-files.js';
import { seedDemoIfEmpty } from '../../workflows/demo.js';
import { findTenant } from '../../workflows/tenants.js';
import { createApiKey, clearAuthenticationCache } from '../../workflows/api-keys.js';
import { ChargingEngine } from '../../workflows/charging.js';
import { SubscriberDirectory } from '../../workflows/usage-directory.js';
import { hasAnyRole, type Principal } from '../../access/index.js';
import { authenticateApiKey } from '../../workflows/api-keys.js';
import { startNchfServer, type NchfServer } from './server.js';
import { createNchfClient, refFromLocation, type NchfClient } from './client.js';
import { engineChargingHandler } from './charging.js';
import { dataCreateRequest, dataReleaseRequest, dataUpdateRequest, smsEventRequest } from './fixtures.js';
import type { ChargingDataRequest } from './model.js';

// The Nchf server over the real charging engine and database: Clara (demo data, msisdn
// 4915120000003) holds a 5 EUR balance; an SMF opens a data session, reports usage and releases it.
const CLARA = '4915120000003';
const EUR = 1_000_000_000_000n;

describeEachDialect('nchf: converged charging over the engine', (db) => {
  const clock = new FakeClock('2026-11-29T12:00:00.000Z');
  let server: NchfServer;
  let client: NchfClient;
  let readOnly: string;
  let tenantId: string;
  let accountId: string;
  // A fresh engine reads the balance from the tables (and checks it against its movements).
  const stored = async () =>
    (await new ChargingEngine({ database: db(), clock }).accountState(tenantId, accountId)).balances.get(
      'nchf-clara',
    )!;
  const now = (): string => new Date(clock.nowMs()).toISOString();
  // The reservations a fresh engine reads from the tables for a one-time event's reference.
  const eventReservations = async (ref: string) => {
    const state = await new ChargingEngine({ database: db(), clock }).accountState(tenantId, accountId);
    return [...state.sessions.values()]
      .filter((session) => session.sessionId.startsWith(ref))
      .flatMap((session) => session.reservations);
  };
  const smsEvent = (
    type: 'IEC' | 'PEC',
    usage: NonNullable<ChargingDataRequest['multipleUnitUsage']>,
    extra: Partial<ChargingDataRequest> = {},
  ): ChargingDataRequest =>
    forClara(smsEventRequest(), { oneTimeEventType: type, multipleUnitUsage: usage, ...extra });
  const forClara = (
    request: ChargingDataRequest,
    extra: Partial<ChargingDataRequest> = {},
  ): ChargingDataRequest => ({
    ...request,
    subscriberIdentifier: `msisdn-${CLARA}`,
    invocationTimeStamp: now(),
    ...extra,
  });

  before(async () => {
    clearAuthenticationCache();
    const deps = { database: db(), clock };
    await seedDemoIfEmpty(deps, loadDemoFiles());
    tenantId = (await findTenant(deps, 'demo'))!.id;
    const caller = { tenantId, actor: { type: 'system' as const, id: 'test' } };
    const smf = await createApiKey(deps, caller, { name: 'smf', roles: ['network-element'] });
    readOnly = (await createApiKey(deps, caller, { name: 'reader', roles: ['read-only'] })).secret;
    const directory = new SubscriberDirectory(db(), tenantId);
    await directory.preloadIdentity('msisdn', CLARA);
    accountId = directory.ownerAt('msisdn', CLARA, clock.nowMs())!.account.id;
    const engine = new ChargingEngine({ database: db(), clock });
    await engine.openBalance(tenantId, accountId, 'EUR', {
      id: 'nchf-clara',
      ownerKind: 'account',
      ownerId: accountId,
      unit: 'money',
    });
    await engine.move(tenantId, accountId, 'top_up', {
      balanceId: 'nchf-clara',
      amount: 5n * EUR,
      reference: 'p',
    });
    server = await startNchfServer<Principal>({
      port: 0,
      clock,
      handler: engineChargingHandler(engine),
      authorise: async (header) => {
        const key = header?.replace(/^Bearer\s+/i, '');
        if (key === undefined) return undefined;
        try {
          const principal = await authenticateApiKey(deps, key);
          return hasAnyRole(principal, ['network-element']) ? principal : undefined;
        } catch {
          return undefined;
        }
      },
    });
    client = createNchfClient({ baseUrl: `http://127.0.0.1:${server.address.port}`, token: smf.secret });
  });
  after(async () => {
    await client?.close();
    await server?.close();
  });

  it('opens, updates and releases a data session; the balance pays exactly the reported bytes', async () => {
    const created = await client.create(forClara(dataCreateRequest()));
    assert.equal(created.status, 201, created.text);
    const ref = refFromLocation(created.headers.location as string)!;
    const granted = created.body!.multipleUnitInformation![0]!;
    assert.equal(granted.resultCode, 'SUCCESS');
    assert.ok((granted.grantedUnit?.totalVolume ?? 0) > 0);
    assert.ok((granted.validityTime ?? 0) > 0);

    clock.advanceMs(60_000);
    const updated = await client.update(ref, forClara(dataUpdateRequest()));
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.body!.multipleUnitInformation![0]!.resultCode, 'SUCCESS');
    // The SMF did not get the answer and sends the same update again: answered, not charged again.
    const before = (await stored()).amount;
    const again = await client.update(ref, forClara(dataUpdateRequest()));
    assert.equal(again.status, 200);
    assert.equal((await stored()).amount, before);

    clock.advanceMs(60_000);
    const released = await client.release(ref, forClara(dataReleaseRequest()));
    assert.equal(released.status, 204, released.text);

    const balance = await stored();
    assert.equal(balance.held, 0n);
    assert.ok(balance.amount < 5n * EUR, 'the 5 750 000 bytes reported were charged');
    // A released session is gone for the SMF.
    const late = await client.update(ref, forClara(dataUpdateRequest(), { invocationSequenceNumber: 3 }));
    assert.equal(late.status, 404);
  });

  it('answers a create sent twice (same PDU session) with the same charging data reference', async () => {
    const request = forClara(dataCreateRequest(), {
      pDUSessionChargingInformation: {
        ...dataCreateRequest().pDUSessionChargingInformation!,
        chargingId: 777,
      },
    });
    const first = await client.create(request);
    const second = await client.create(request);
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal(
      refFromLocation(second.headers.location as string),
      refFromLocation(first.headers.location as string),
    );
  });

  it('gives a create without a chargingId a new reference that sorts by arrival time', async () => {
    const { pDUSessionChargingInformation: _pdu, ...withoutPdu } = dataCreateRequest();
    const refs: string[] = [];
    for (let i = 0; i < 3; i++) {
      // Two creates in the same millisecond, then one a millisecond later.
      if (i === 2) clock.advanceMs(1);
      const created = await client.create(forClara(withoutPdu));
      assert.equal(created.status, 201, created.text);
      refs.push(refFromLocation(created.headers.location as string)!);
    }
    for (const ref of refs) assert.match(ref, /^chg_[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(new Set(refs).size, 3, 'each create is a new session');
    assert.deepEqual([...refs].sort(), refs, 'later sessions sort after earlier ones');
    // Each is a session of its own, found by its reference and released.
    for (const ref of refs) {
      const released = await client.release(ref, forClara(dataReleaseRequest()));
      assert.equal(released.status, 204, released.text);
    }
  });

  it('charges an immediate event (IEC) once: debited at once, nothing held, no session left', async () => {
    const before = await stored();
    const request = smsEvent('IEC', [{ ratingGroup: 200, requestedUnit: { serviceSpecificUnits: 1 } }]);
    const created = await client.create(request);
    assert.equal(created.status, 201, created.text);
    const ref = refFromLocation(created.headers.location as string)!;
    assert.deepEqual(created.body!.multipleUnitInformation, [
      { ratingGroup: 200, resultCode: 'SUCCESS', grantedUnit: { serviceSpecificUnits: 1 } },
    ]);
    const after = await stored();
    const pricePico = before.amount - after.amount;
    assert.ok(pricePico > 0n, 'the SMS was debited');
    assert.equal(after.held, before.held);
    const reservations = await eventReservations(ref);
    assert.equal(reservations.length, 1);
    assert.equal(reservations[0]!.status, 'committed');
    assert.equal(reservations[0]!.committedUnits, 1n);
    assert.equal(reservations[0]!.chargedPico, pricePico);

    // The SMSF did not get the answer and sends the event again: the same answer, no second debit.
    clock.advanceMs(1_000);
    const again = await client.create(request);
    assert.equal(again.status, 201, again.text);
    assert.equal(refFromLocation(again.headers.location as string), ref);
    assert.deepEqual(again.body!.multipleUnitInformation, created.body!.multipleUnitInformation);
    assert.equal((await stored()).amount, after.amount);

    // The reference names no session: an update or a release of it is 404 CONTEXT_NOT_FOUND.
    const update = await client.update(ref, forClara(dataUpdateRequest(), { invocationSequenceNumber: 1 }));
    assert.equal(update.status, 404);
    assert.equal(update.body?.cause, 'CONTEXT_NOT_FOUND');
    const release = await client.release(
      ref,
      forClara(dataReleaseRequest(), { invocationSequenceNumber: 1 }),
    );
    assert.equal(release.status, 404);
    assert.equal((await stored()).amount, after.amount);
  });

  it('keys an event with a chargingId by (chargingId, invocationSequenceNumber): a repeat is not charged, another number is', async () => {
    const event = (sequence: number, timestamp: string) =>
      smsEvent('IEC', [{ ratingGroup: 200, requestedUnit: { serviceSpecificUnits: 1 } }], {
        chargingId: 4242,
        invocationSequenceNumber: sequence,
        invocationTimeStamp: timestamp,
      });
    const start = (await stored()).amount;
    const first = await client.create(event(0, now()));
    assert.equal(first.status, 201, first.text);
    const oneSms = start - (await stored()).amount;
    assert.ok(oneSms > 0n);
    // Resent later with the same chargingId and number (a retransmission may carry a new timestamp).
    clock.advanceMs(2_000);
    const repeat = await client.create({
      ...event(0, now()),
      retransmissionIndicator: true,
    } as ChargingDataRequest);
    assert.equal(repeat.status, 201, repeat.text);
    assert.equal(
      refFromLocation(repeat.headers.location as string),
      refFromLocation(first.headers.location as string),
    );
    assert.equal((await stored()).amount, start - oneSms);
    const next = await client.create(event(1, now()));
    assert.equal(next.status, 201, next.text);
    assert.notEqual(
      refFromLocation(next.headers.location as string),
      refFromLocation(first.headers.location as string),
    );
    assert.equal((await stored()).amount, start - 2n * oneSms);
  });

  it('refuses an IEC the balance cannot pay in full: QUOTA_LIMIT_REACHED, nothing charged, nothing held', async () => {
    const before = await stored();
    const request = smsEvent('IEC', [
      { ratingGroup: 200, requestedUnit: { serviceSpecificUnits: 1_000_000 } },
    ]);
    const created = await client.create(request);
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body!.multipleUnitInformation, [
      { ratingGroup: 200, resultCode: 'QUOTA_LIMIT_REACHED' },
    ]);
    const after = await stored();
    assert.equal(after.amount, before.amount);
    assert.equal(after.held, before.held);
    const ref = refFromLocation(created.headers.location as string)!;
    const [reservation] = await eventReservations(ref);
    assert.equal(reservation?.status, 'released', 'the partial grant was released, not committed');
    const again = await client.create(request);
    assert.deepEqual(again.body!.multipleUnitInformation, created.body!.multipleUnitInformation);
    assert.equal((await stored()).amount, before.amount);
  });

  it('refuses a one-time event without its type or with an unknown one (400), before charging', async () => {
    const before = await stored();
    const { oneTimeEventType: _type, ...untyped } = smsEvent('IEC', [
      { ratingGroup: 200, requestedUnit: { serviceSpecificUnits: 1 } },
    ]);
    const missing = await client.create(untyped);
    assert.equal(missing.status, 400, missing.text);
    assert.equal(missing.body?.cause, 'MANDATORY_IE_MISSING');
    assert.deepEqual(
      missing.body?.invalidParams?.map((p) => p.param),
      ['/oneTimeEventType'],
    );
    const unknown = await client.create({
      ...untyped,
      oneTimeEventType: 'XEC',
    } as unknown as ChargingDataRequest);
    assert.equal(unknown.status, 400, unknown.text);
    assert.equal(unknown.body?.invalidParams?.[0]?.param, '/oneTimeEventType');
    assert.equal((await stored()).amount, before.amount);
  });

  it('debits a post event (PEC) for the units used, once; what the balance cannot pay is not charged', async () => {
    const before = await stored();
    const request = smsEvent('PEC', [
      {
        ratingGroup: 200,
        usedUnitContainer: [{ serviceSpecificUnits: 2, localSequenceNumber: 1 }],
      },
    ]);
    const reported = await client.create(request);
    assert.equal(reported.status, 201, reported.text);
    assert.deepEqual(reported.body!.multipleUnitInformation, [{ ratingGroup: 200, resultCode: 'SUCCESS' }]);
    const after = await stored();
    assert.ok(after.amount < before.amount, 'two SMS were debited');
    assert.equal(after.held, before.held);
    const again = await client.create(request);
    assert.deepEqual(again.body!.multipleUnitInformation, reported.body!.multipleUnitInformation);
    assert.equal((await stored()).amount, after.amount);

    // A million messages already sent: the balance pays what it can, the rest is not charged.
    clock.advanceMs(1_000);
    const large = smsEvent('PEC', [
      {
        ratingGroup: 200,
        usedUnitContainer: [{ serviceSpecificUnits: 1_000_000, localSequenceNumber: 1 }],
      },
    ]);
    const short = await client.create(large);
    assert.equal(short.status, 201, short.text);
    assert.deepEqual(short.body!.multipleUnitInformation, [
      { ratingGroup: 200, resultCode: 'QUOTA_LIMIT_REACHED' },
    ]);
    const drained = await stored();
    assert.ok(drained.amount < after.amount && drained.amount >= 0n);
    assert.equal(drained.held, before.held);
    const [reservation] = await eventReservations(refFromLocation(short.headers.location as string)!);
    assert.equal(reservation?.status, 'committed');
    assert.ok((reservation?.unchargedUnits ?? 0n) > 0n);

    // Now an immediate event finds nothing to pay with: refused for credit, nothing charged.
    clock.advanceMs(1_000);
    const refused = await client.create(
      smsEvent('IEC', [{ ratingGroup: 200, requestedUnit: { serviceSpecificUnits: 1 } }]),
    );
    assert.equal(refused.status, 201, refused.text);
    assert.deepEqual(refused.body!.multipleUnitInformation, [
      { ratingGroup: 200, resultCode: 'QUOTA_LIMIT_REACHED' },
    ]);
    assert.equal((await stored()).amount, drained.amount);
  });

  it('refuses an event sent again after the engine forgot its ended session, rather than charge it twice', async () => {
    const request = smsEvent('IEC', [{ ratingGroup: 200, requestedUnit: { serviceSpecificUnits: 1 } }], {
      chargingId: 9001,
    });
    const first = await client.create(request);
    assert.equal(first.status, 201, first.text);
    const charged = await stored();
    // Another engine, which keeps ended sessions for one second only, loads the account later.
    clock.advanceMs(5_000);
    const forgetful = engineChargingHandler(
      new ChargingEngine({ database: db(), clock, endedSessionMemoryMs: 1_000 }),
    );
    const caller = { tenantId } as Principal;
    const answer = await forgetful.create(request, {
      caller,
      receivedMs: clock.nowMs(),
      protocol: 'h2c',
      remoteAddress: '127.0.0.1',
    });
    assert.ok('ok' in answer, 'refused');
    assert.equal(answer.problem.cause, 'CHARGING_FAILED');
    assert.match(answer.problem.detail ?? '', /charged already/);
    assert.equal((await stored()).amount, charged.amount);
  });

  it('refuses an unknown subscriber (404 USER_UNKNOWN), an unknown reference (404) and callers without the role (401)', async () => {
    const unknown = await client.create(
      forClara(dataCreateRequest(), { subscriberIdentifier: 'msisdn-4915199999999' }),
    );
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body?.cause, 'USER_UNKNOWN');
    const unknownEvent = await client.create(
      smsEvent('IEC', [{ ratingGroup: 200, requestedUnit: { serviceSpecificUnits: 1 } }], {
        subscriberIdentifier: 'msisdn-4915199999999',
      }),
    );
    assert.equal(unknownEvent.status, 404);
    assert.equal(unknownEvent.body?.cause, 'USER_UNKNOWN');
    const missing = await client.update('chg_nope', forClara(dataUpdateRequest()));
    assert.equal(missing.status, 404);
    const reader = await client.create(forClara(dataCreateRequest()), { token: readOnly });
    assert.equal(reader.status, 401);
    const anonymous = await client.create(forClara(dataCreateRequest()), { token: null });
    assert.equal(anonymous.status, 401);
  });
});
