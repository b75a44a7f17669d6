import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../kernel/clock.js';
import { describeEachDialect } from '../../testing/databases.js';
import { loadDemoFiles } from '../../app/demo-files.js';
import { seedDemoIfEmpty } from '../../workflows/demo.js';
import { findTenant } from '../../workflows/tenants.js';
import { ChargingEngine } from '../../workflows/charging.js';
import { SubscriberDirectory } from '../../workflows/usage-directory.js';
import { connectDiameterClient, type ClientCreditControlRequest, type DiameterClient } from './client.js';
import { numberValue } from './codec.js';
import { ResultCode } from './result-codes.js';
import { startDiameterServer, type DiameterServer } from './server.js';
import { costOf, gyCreditControlHandler, picoOfCcMoney } from './gy.js';

// Gy/Ro over the real engine and database. Clara Weber (demo data, msisdn 4915120000003) is
// charged in EUR; her plan (tariff MOBILE-STANDARD) prices data at 0.001 EUR per started 100 000
// bytes, i.e. 0.01 EUR per 1 000 000 bytes, and an SMS at 0.09 EUR. Online, allowances are left out, so every byte and
// message is paid from the money balance the test opens and tops up with 5 EUR.
const CLARA = '4915120000003';
const EUR = 1_000_000_000_000n; // pico-units per euro
const CENT = EUR / 100n;
const MB = 1_000_000n;
const DATA = '32251@3gpp.org';
const SMS = '10.262.01.8.32274@3gpp.org';

describeEachDialect('diameter: Gy/Ro over the charging engine', (db) => {
  const clock = new FakeClock('2026-11-29T12:00:00.000Z');
  const balanceId = 'gy-clara';
  let tenantId: string;
  let accountId: string;
  let server: DiameterServer;
  let client: DiameterClient;
  let sessions = 0;

  // The balance as stored: a fresh engine loads it from the tables, checking on the way that it is
  // the sum of its movements and that its holds are the active reservations.
  const balance = async () =>
    (await new ChargingEngine({ database: db(), clock }).accountState(tenantId, accountId)).balances.get(
      balanceId,
    )!;
  // Its movements, straight from the table (a face never reads tables; its test may).
  const movements = async () =>
    (
      await db()
        .db.selectFrom('charging_movements')
        .select(['kind', 'amount', 'reference'])
        .where('tenant_id', '=', tenantId)
        .where('balance_id', '=', balanceId)
        .execute()
    ).map((row) => ({ kind: row.kind, amount: BigInt(row.amount), reference: row.reference }));
  const sumOfMovements = async () => {
    const rows = await movements();
    return { total: rows.reduce((sum, row) => sum + row.amount, 0n), count: rows.length };
  };
  const clara = [{ type: 'END_USER_E164' as const, data: CLARA }];
  const ccr = (request: Partial<ClientCreditControlRequest>) =>
    client.creditControl({
      sessionId: 'pgw.test;1;1',
      serviceContextId: DATA,
      requestType: 'INITIAL',
      requestNumber: 0,
      subscriptionIds: clara,
      ...request,
    });

  before(async () => {
    const deps = { database: db(), clock };
    await seedDemoIfEmpty(deps, loadDemoFiles());
    tenantId = (await findTenant(deps, 'demo'))!.id;
    const directory = new SubscriberDirectory(db(), tenantId);
    await directory.preloadIdentity('msisdn', CLARA);
    accountId = directory.ownerAt('msisdn', CLARA, clock.nowMs())!.account.id;
    const engine = new ChargingEngine({ database: db(), clock });
    await engine.openBalance(tenantId, accountId, 'EUR', {
      id: balanceId,
      ownerKind: 'account',
      ownerId: accountId,
      unit: 'money',
    });
    await engine.move(tenantId, accountId, 'top_up', { balanceId, amount: 5n * EUR, reference: 'pay-gy' });
    server = await startDiameterServer({
      port: 0,
      originHost: 'ocs.tollgate.test',
      originRealm: 'tollgate.test',
      clock,
      creditControl: gyCreditControlHandler({ engine, tenantId, clock }),
    });
    client = await connectDiameterClient({
      port: server.address.port,
      originHost: 'pgw.operator.test',
      originRealm: 'operator.test',
      clock,
    });
  });
  after(async () => {
    client?.close();
    await server?.close();
  });

  it('exchanges capabilities and watchdogs', async () => {
    assert.equal(numberValue(client.capabilities!, 'Result-Code'), ResultCode.DIAMETER_SUCCESS);
    assert.equal(numberValue(await client.watchdog(), 'Result-Code'), ResultCode.DIAMETER_SUCCESS);
  });

  it('grants, charges reported usage, ends the session, and never debits a retransmission twice', async () => {
    const before = await balance();
    const sessionId = `pgw.test;data;${++sessions}`;
    const initial = await ccr({ sessionId, services: [{ ratingGroup: 10, requested: {} }] });
    assert.equal(initial.resultCode, ResultCode.DIAMETER_SUCCESS);
    const grant = initial.services[0]!;
    assert.equal(grant.ratingGroup, 10);
    assert.equal(grant.resultCode, ResultCode.DIAMETER_SUCCESS);
    // The policy's default data grant, 10 MB, held for the policy's 15 minutes.
    assert.equal(grant.granted?.totalOctets, 10n * MB);
    assert.equal(grant.validityTimeSec, 15 * 60);
    assert.equal(grant.finalUnitIndication, undefined);
    assert.ok((await balance()).held > 0n);

    clock.advanceMs(60_000);
    // 1 MB up + 3 MB down = 4 MB used → 40 blocks × 0.001 = 0.04 EUR.
    const update = {
      sessionId,
      requestType: 'UPDATE' as const,
      requestNumber: 1,
      services: [{ ratingGroup: 10, requested: {}, used: [{ inputOctets: 1n * MB, outputOctets: 3n * MB }] }],
    };
    const updated = await ccr(update);
    assert.equal(updated.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal(updated.services[0]!.granted?.totalOctets, 10n * MB);
    const afterUpdate = await balance();
    assert.equal(afterUpdate.amount, before.amount - 4n * CENT);

    // The same CCR-U again with the T flag and a new End-to-End Identifier, so the server's answer
    // cache does not catch it: the engine answers it from the session and debits nothing.
    const retransmitted = await client.creditControl(
      { ...update, serviceContextId: DATA, subscriptionIds: clara },
      { retransmission: true, endToEndId: 0x7fff0001 },
    );
    assert.equal(retransmitted.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal(retransmitted.services[0]!.granted?.totalOctets, 10n * MB);
    assert.equal((await balance()).amount, afterUpdate.amount);

    // The end: 2 MB more (0.02 EUR), the rest of the grant released.
    const terminated = await ccr({
      sessionId,
      requestType: 'TERMINATE',
      requestNumber: 2,
      services: [{ ratingGroup: 10, used: [{ totalOctets: 2n * MB }] }],
    });
    assert.equal(terminated.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal(terminated.services[0]!.granted, undefined);

    // 5 EUR − 0.04 − 0.02 = the balance, which is also the sum of its movements, with nothing held.
    const after = await balance();
    assert.equal(after.amount, before.amount - 6n * CENT);
    assert.equal(after.held, 0n);
    assert.deepEqual(await sumOfMovements(), {
      total: after.amount,
      count: after.version,
    });
  });

  it('answers 5030 for a subscriber nobody holds, and 5002 for an update of an unknown session', async () => {
    const unknown = await ccr({
      sessionId: 'pgw.test;unknown',
      subscriptionIds: [{ type: 'END_USER_E164', data: '4915199999999' }],
      services: [{ ratingGroup: 10, requested: {} }],
    });
    assert.equal(unknown.resultCode, ResultCode.DIAMETER_USER_UNKNOWN);
    const orphan = await ccr({
      sessionId: 'pgw.test;never-opened',
      requestType: 'UPDATE',
      requestNumber: 1,
      subscriptionIds: [],
      services: [{ ratingGroup: 10, used: [{ totalOctets: MB }] }],
    });
    assert.equal(orphan.resultCode, ResultCode.DIAMETER_UNKNOWN_SESSION_ID);
  });

  it('debits an SMS event directly, once, with its cost', async () => {
    const before = await balance();
    const event = {
      sessionId: 'smsc.test;event;1',
      serviceContextId: SMS,
      requestType: 'EVENT' as const,
      requestedAction: 'DIRECT_DEBITING' as const,
      services: [{ ratingGroup: 20, requested: { serviceSpecificUnits: 1n } }],
    };
    const debited = await ccr(event);
    assert.equal(debited.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal(debited.services[0]!.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal(debited.services[0]!.granted?.serviceSpecificUnits, 1n);
    // 0.09 EUR = 9 × 10^-2 in currency 978.
    assert.deepEqual(debited.costInformation, {
      unitValue: { valueDigits: 9n, exponent: -2 },
      currencyCode: 978,
    });
    const after = await balance();
    assert.equal(after.amount, before.amount - 9n * CENT);
    assert.equal(after.held, 0n);

    const repeated = await client.creditControl(
      { ...event, requestNumber: 0, subscriptionIds: clara },
      { retransmission: true, endToEndId: 0x7fff0002 },
    );
    assert.equal(repeated.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.deepEqual(repeated.costInformation, debited.costInformation);
    assert.equal((await balance()).amount, after.amount);
  });

  it('refunds the price of units once, checks the balance and quotes a price without charging', async () => {
    const before = await balance();
    const refund = {
      sessionId: 'smsc.test;refund;1',
      serviceContextId: SMS,
      requestType: 'EVENT' as const,
      requestedAction: 'REFUND_ACCOUNT' as const,
      services: [{ ratingGroup: 20, requested: { serviceSpecificUnits: 2n } }],
    };
    const refunded = await ccr(refund);
    assert.equal(refunded.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.deepEqual(refunded.costInformation, {
      unitValue: { valueDigits: 18n, exponent: -2 },
      currencyCode: 978,
    });
    const afterRefund = await balance();
    assert.equal(afterRefund.amount, before.amount + 18n * CENT);
    const again = await client.creditControl(
      { ...refund, requestNumber: 0, subscriptionIds: clara },
      { retransmission: true, endToEndId: 0x7fff0003 },
    );
    assert.equal(again.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal((await balance()).amount, afterRefund.amount);
    const credits = (await movements()).filter((m) => m.reference === 'diameter-refund:smsc.test;refund;1/0');
    assert.deepEqual(
      credits.map((m) => [m.kind, m.amount]),
      [['adjustment', 18n * CENT]],
    );

    const check = (sessionId: string, bytes: bigint) =>
      ccr({
        sessionId,
        requestType: 'EVENT',
        requestedAction: 'CHECK_BALANCE',
        services: [{ ratingGroup: 10, requested: { totalOctets: bytes } }],
      });
    assert.equal((await check('pgw.test;check;1', MB)).checkBalanceResult, 'ENOUGH_CREDIT');
    assert.equal((await check('pgw.test;check;2', 100_000n * MB)).checkBalanceResult, 'NO_CREDIT');

    // 5 MB of data: 50 blocks × 0.001 = 0.05 EUR = 5 × 10^-2.
    const price = await ccr({
      sessionId: 'pgw.test;price;1',
      requestType: 'EVENT',
      requestedAction: 'PRICE_ENQUIRY',
      services: [{ ratingGroup: 10, requested: { totalOctets: 5n * MB } }],
    });
    assert.equal(price.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.deepEqual(price.costInformation, {
      unitValue: { valueDigits: 5n, exponent: -2 },
      currencyCode: 978,
    });
    assert.equal((await balance()).amount, afterRefund.amount);
  });

  it('warns with Final-Unit-Indication, then refuses with 4012 once the balance is spent', async () => {
    const start = await balance();
    // Ask for all but one of the affordable megabytes (0.01 EUR each) and use them; asked again,
    // the balance pays at least that last megabyte (and any whole 100 kB blocks the cents below
    // it buy), granted with Final-Unit-Indication TERMINATE; once that is used, less than one
    // block (0.001 EUR) is left and the answer is 4012.
    const megabytes = start.amount / CENT;
    assert.ok(megabytes >= 3n, `${megabytes} MB affordable`);
    const ask = (megabytes - 1n) * MB;
    const sessionId = 'pgw.test;exhaust;1';
    const first = await ccr({ sessionId, services: [{ ratingGroup: 10, requested: { totalOctets: ask } }] });
    assert.equal(first.services[0]!.granted?.totalOctets, ask);
    assert.equal(first.services[0]!.finalUnitIndication, undefined);

    const second = await ccr({
      sessionId,
      requestType: 'UPDATE',
      requestNumber: 1,
      services: [{ ratingGroup: 10, requested: { totalOctets: ask }, used: [{ totalOctets: ask }] }],
    });
    assert.equal(second.resultCode, ResultCode.DIAMETER_SUCCESS);
    const last = second.services[0]!;
    assert.equal(last.resultCode, ResultCode.DIAMETER_SUCCESS);
    const lastGrant = last.granted!.totalOctets!;
    assert.ok(lastGrant >= MB && lastGrant < 2n * MB, `last grant ${lastGrant}`);
    assert.deepEqual(last.finalUnitIndication, { action: 'TERMINATE' });

    const third = await ccr({
      sessionId,
      requestType: 'UPDATE',
      requestNumber: 2,
      services: [{ ratingGroup: 10, requested: { totalOctets: ask }, used: [{ totalOctets: lastGrant }] }],
    });
    assert.equal(third.services[0]!.resultCode, ResultCode.DIAMETER_CREDIT_LIMIT_REACHED);
    assert.equal(third.services[0]!.granted, undefined);
    // Every rating group was refused for credit: the command says so too.
    assert.equal(third.resultCode, ResultCode.DIAMETER_CREDIT_LIMIT_REACHED);

    // Used: ask + lastGrant bytes, in 100 kB blocks at 0.001 EUR.
    const end = await balance();
    assert.equal(end.amount, start.amount - ((ask + lastGrant) / 100_000n) * (CENT / 10n));
    assert.ok(end.amount >= 0n && end.amount < CENT / 10n, `${end.amount} left`);
    assert.deepEqual(await sumOfMovements(), {
      total: end.amount,
      count: end.version,
    });
  });
});

it('writes amounts as exact Unit-Values and reads CC-Money back to pico-units', () => {
  assert.deepEqual(costOf(0n, 'EUR'), { unitValue: { valueDigits: 0n, exponent: 0 }, currencyCode: 978 });
  // 0.020833333375 EUR (125 s at 0.000166666667 EUR/s) keeps all its digits.
  assert.deepEqual(costOf(20_833_333_375n, 'USD'), {
    unitValue: { valueDigits: 20_833_333_375n, exponent: -12 },
    currencyCode: 840,
  });
  assert.deepEqual(costOf(12n * EUR, 'GBP'), {
    unitValue: { valueDigits: 12n, exponent: 0 },
    currencyCode: 826,
  });
  assert.equal(costOf(EUR, 'XYZ'), undefined);
  assert.equal(picoOfCcMoney({ valueDigits: 1234n, exponent: -2, currencyCode: 978 }, 'EUR'), 1234n * CENT);
  assert.equal(picoOfCcMoney({ valueDigits: 5n, exponent: 0 }, 'CHF'), 5n * EUR);
  assert.match(String(picoOfCcMoney({ valueDigits: 1n, exponent: 0, currencyCode: 840 }, 'EUR')), /currency/);
  assert.match(String(picoOfCcMoney({ valueDigits: 1n, exponent: -13 }, 'EUR')), /finer/);
});
