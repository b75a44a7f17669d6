import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../kernel/clock.js';
import { isTollgateError } from '../kernel/errors.js';
import { describeEachDialect } from '../testing/databases.js';
import { seedTestCatalog } from '../testing/catalog.js';
import { newId } from '../kernel/ids.js';
import { listAuditRecords } from '../audit/index.js';
import { listEvents } from '../events/index.js';
import { luhnCheckDigit } from '../customers/index.js';
import { createTenant } from './tenants.js';
import type { Caller, WorkflowDeps } from './context.js';
import {
  assignIdentity,
  attachAddOn,
  changePlan,
  changeSubscriptionStatus,
  createAccount,
  createCustomer,
  createSubscription,
  detachAddOn,
  findIdentityOwner,
  getAccountTree,
  getSubscription,
  importCustomers,
  importRecordsFromCsv,
  importRecordsFromJson,
  listSubscriptions,
  moveIdentity,
  offerAt,
  patchSubscription,
  releaseIdentity,
  updateAccount,
} from './customers.js';

async function rejectsWith(promise: Promise<unknown>, code: string, detail?: RegExp, field?: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isTollgateError(error), `expected a TollgateError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (detail) assert.match(error.message, detail);
    if (field !== undefined) assert.equal(error.field, field);
    return true;
  });
}

const ICCID_BODY = '894411006825627005';
const ICCID = `${ICCID_BODY}${luhnCheckDigit(ICCID_BODY)}`;
const ICCID2 = `894411006825627006${luhnCheckDigit('894411006825627006')}`;

describeEachDialect('workflows: customers, accounts and subscriptions', (db, dialect) => {
  const clock = new FakeClock('2026-03-01T10:00:00.000Z');
  const deps = (): WorkflowDeps => ({ database: db(), clock });
  let caller: Caller;
  let customerId: string;
  let accountId: string;
  /** Offer ids of the test catalog, by code. */
  let offers: Map<string, string>;
  const offerId = (code: string) => offers.get(code)!;

  const newSubscription = (offerCode = 'MOBILE-BASIC', extra: Record<string, unknown> = {}) =>
    createSubscription(deps(), caller, {
      accountId,
      offerCode,
      startDate: '2026-01-01T00:00:00.000Z',
      ...extra,
    });

  async function auditCount(): Promise<number> {
    return (await listAuditRecords(db().db, caller.tenantId, { limit: 1000 })).records.length;
  }

  before(async () => {
    const tenant = await createTenant(
      deps(),
      { type: 'system', id: 'test' },
      {
        slug: `cust-${dialect}`,
        name: 'Customers test',
        settings: { defaultCurrency: 'GBP', timeZone: 'Europe/London', locale: 'en-GB' },
      },
    );
    caller = { tenantId: tenant.id, actor: { type: 'system', id: 'test' } };
    offers = await seedTestCatalog(deps(), caller);
    const customer = await createCustomer(deps(), caller, {
      kind: 'individual',
      name: 'Ada Lovelace',
      contactMedium: [
        { mediumType: 'email', preferred: true, characteristic: { emailAddress: 'Ada@Example.com' } },
      ],
    });
    customerId = customer.id;
    assert.equal(customer.contactMedium[0]!.characteristic.emailAddress, 'ada@example.com');
    const account = await createAccount(deps(), caller, {
      customerId,
      name: 'Ada home',
      creditLimit: { amount: '50.00', currency: 'GBP' },
    });
    accountId = account.id;
    assert.equal(account.currency, 'GBP', 'the tenant default currency');
    assert.equal(account.timeZone, 'Europe/London');
    assert.equal(account.language, 'en-GB');
    assert.equal(account.creditLimit?.amountMinor, 5000n);
  });

  it('an identity moves from one subscriber to another; lookup at an instant finds its owner then', async () => {
    const first = await newSubscription();
    const second = await newSubscription();
    await assignIdentity(deps(), caller, first.id, {
      type: 'msisdn',
      value: '+44 7700 900001',
      from: '2026-01-10T00:00:00.000Z',
    });
    await releaseIdentity(deps(), caller, first.id, {
      type: 'msisdn',
      value: '447700900001',
      at: '2026-02-01T00:00:00.000Z',
    });
    await assignIdentity(deps(), caller, second.id, {
      type: 'msisdn',
      value: '00447700900001',
      from: '2026-02-01T00:00:00.000Z',
    });
    const owner = (at: string) => findIdentityOwner(deps(), caller.tenantId, 'msisdn', '+447700900001', at);
    assert.equal((await owner('2026-01-10T00:00:00.000Z')).subscriptionId, first.id);
    assert.equal((await owner('2026-01-31T23:59:59.999Z')).subscriptionId, first.id);
    assert.equal((await owner('2026-02-01T00:00:00.000Z')).subscriptionId, second.id);
    const now = await owner('2026-03-01T10:00:00.000Z');
    assert.equal(now.subscriptionId, second.id);
    assert.equal(now.accountId, accountId);
    assert.equal(now.customerId, customerId);
    await rejectsWith(
      owner('2026-01-09T23:59:59.999Z'),
      'customers.identity_owner_not_found',
      /had no owner/,
    );

    // moveIdentity does the release and the assignment in one go.
    const third = await newSubscription();
    const moved = await moveIdentity(deps(), caller, {
      type: 'msisdn',
      value: '+447700900001',
      toSubscriptionId: third.id,
      at: '2026-02-15T00:00:00.000Z',
    });
    assert.equal(moved.released.validTo, '2026-02-15T00:00:00.000Z');
    assert.equal((await owner('2026-02-14T00:00:00.000Z')).subscriptionId, second.id);
    assert.equal((await owner('2026-02-15T00:00:00.000Z')).subscriptionId, third.id);
    const events = (await listEvents(db().db, caller.tenantId, { limit: 500 })).map((e) => e.type);
    assert.ok(events.includes('identity.assigned') && events.includes('identity.released'));
  });

  it('an identity already active elsewhere is refused with a clear error, and nothing is applied', async () => {
    const holder = await newSubscription('MOBILE-BASIC', {
      identities: [{ type: 'imsi', value: '234150000000001' }],
    });
    const auditBefore = await auditCount();
    const listed = (
      await listSubscriptions(deps(), caller.tenantId, { accountId }, { offset: 0, limit: 500 })
    ).total;
    await rejectsWith(
      newSubscription('MOBILE-BASIC', {
        identities: [
          { type: 'msisdn', value: '+447700900099' },
          { type: 'imsi', value: '234 150 000000001' },
        ],
      }),
      'customers.identity_in_use',
      new RegExp(
        `IMSI 234150000000001 is assigned to subscription ${holder.id} from 2026-01-01T00:00:00.000Z \\(open-ended\\)`,
      ),
      'identities/1/value',
    );
    // Neither the subscription nor its first identity exists: the whole change rolled back.
    assert.equal(
      (await listSubscriptions(deps(), caller.tenantId, { accountId }, { offset: 0, limit: 500 })).total,
      listed,
    );
    assert.equal(await auditCount(), auditBefore);
    await assignIdentity(deps(), caller, holder.id, { type: 'msisdn', value: '+447700900099' });

    // The same identity twice in one request, and a later overlapping range on another subscription.
    await rejectsWith(
      newSubscription('MOBILE-BASIC', {
        identities: [
          { type: 'msisdn', value: '+447700900100' },
          { type: 'msisdn', value: '447700900100' },
        ],
      }),
      'customers.identity_in_use',
      /given twice/,
    );
    const other = await newSubscription();
    await rejectsWith(
      assignIdentity(deps(), caller, other.id, {
        type: 'imsi',
        value: '234150000000001',
        from: '2026-06-01T00:00:00.000Z',
      }),
      'customers.identity_in_use',
    );
    await rejectsWith(
      assignIdentity(deps(), caller, holder.id, { type: 'imsi', value: '234150000000001' }),
      'customers.identity_in_use',
      /this subscription already/,
    );
    await rejectsWith(
      assignIdentity(deps(), caller, other.id, {
        type: 'iccid',
        value: `${ICCID.slice(0, -1)}${(Number(ICCID.slice(-1)) + 1) % 10}`,
      }),
      'customers.invalid_identity',
      /Luhn/,
    );
    const sim = await assignIdentity(deps(), caller, other.id, { type: 'iccid', value: ICCID });
    assert.equal(sim.value, ICCID);
  });

  it('concurrent assignments of one MSISDN to two subscriptions: exactly one wins', async () => {
    const a = await newSubscription();
    const b = await newSubscription();
    const results = await Promise.allSettled(
      [a, b].map((s) => assignIdentity(deps(), caller, s.id, { type: 'msisdn', value: '+447700900555' })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(
      won.length,
      1,
      JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))),
    );
    assert.equal(lost.length, 1);
    const reason = (lost[0] as PromiseRejectedResult).reason as Error;
    assert.ok(isTollgateError(reason), String(reason));
    assert.equal(reason.code, 'customers.identity_in_use');
    const owner = await findIdentityOwner(deps(), caller.tenantId, 'msisdn', '+447700900555', clock.now());
    assert.ok([a.id, b.id].includes(owner.subscriptionId));
    const assignments = [
      ...(await getSubscription(deps(), caller.tenantId, a.id)).identities,
      ...(await getSubscription(deps(), caller.tenantId, b.id)).identities,
    ];
    assert.equal(assignments.length, 1);
  });

  it('account hierarchies: parents, payers, cycles refused, tree and roll-up', async () => {
    const corp = await createCustomer(deps(), caller, { kind: 'organization', name: 'Initech' });
    const root = await createAccount(deps(), caller, {
      customerId: corp.id,
      name: 'Initech HQ',
      creditLimit: { amount: '1000.00', currency: 'GBP' },
    });
    const sales = await createAccount(deps(), caller, {
      customerId: corp.id,
      name: 'Sales',
      parentId: root.id,
      payerId: root.id,
      costCentre: 'CC-100',
      creditLimit: { amount: '250.50', currency: 'GBP' },
    });
    const emea = await createAccount(deps(), caller, {
      customerId: corp.id,
      name: 'Sales EMEA',
      parentId: sales.id,
      costCentre: 'CC-100',
      currency: 'EUR',
      creditLimit: { amount: '300.00', currency: 'EUR' },
    });
    const ops = await createAccount(deps(), caller, {
      customerId: corp.id,
      name: 'Ops',
      parentId: root.id,
      costCentre: 'CC-200',
    });

    await rejectsWith(
      updateAccount(deps(), caller, root.id, { parentId: emea.id }),
      'customers.account_cycle',
      /is below/,
      'parentId',
    );
    await rejectsWith(
      updateAccount(deps(), caller, sales.id, { parentId: sales.id }),
      'customers.account_cycle',
      /own parent/,
    );
    await rejectsWith(
      updateAccount(deps(), caller, emea.id, { payerId: sales.id }),
      'customers.invalid_payer',
      /itself paid by/,
    );
    await rejectsWith(
      updateAccount(deps(), caller, root.id, { payerId: ops.id }),
      'customers.invalid_payer',
      /pays for/,
    );
    await rejectsWith(
      createAccount(deps(), caller, {
        customerId: corp.id,
        name: 'x',
        parentId: 'acct_01ARZ3NDEKTSV4RRFFQ69G5FAV',
      }),
      'customers.account_not_found',
    );
    await rejectsWith(
      createAccount(deps(), caller, {
        customerId: corp.id,
        name: 'x',
        currency: 'EUR',
        creditLimit: { amount: '1', currency: 'GBP' },
      }),
      'customers.invalid_account',
      /give the limit in EUR/,
    );
    await rejectsWith(
      createAccount(deps(), caller, { customerId: corp.id, name: 'x', timeZone: 'Mars/Olympus' }),
      'customers.invalid_account',
      /IANA/,
    );
    // Moving a subtree elsewhere is fine: EMEA under Ops.
    const moved = await updateAccount(deps(), caller, emea.id, { parentId: ops.id });
    assert.equal(moved.parentId, ops.id);

    const s1 = await createSubscription(deps(), caller, {
      accountId: sales.id,
      offerCode: 'BUSINESS',
      startDate: '2026-01-01T00:00:00.000Z',
    });
    await createSubscription(deps(), caller, {
      accountId: emea.id,
      offerCode: 'BUSINESS',
      startDate: '2026-01-01T00:00:00.000Z',
    });
    await createSubscription(deps(), caller, {
      accountId: emea.id,
      offerId: offerId('BUSINESS'),
      status: 'pending',
    });
    await changeSubscriptionStatus(deps(), caller, s1.id, { status: 'barred', reason: 'credit limit' });

    const tree = await getAccountTree(deps(), caller.tenantId, root.id);
    assert.equal(tree.root.account.id, root.id);
    assert.deepEqual(
      tree.root.children.map((c) => c.account.name),
      ['Sales', 'Ops'],
    );
    assert.equal(tree.root.children[1]!.children[0]!.account.id, emea.id);
    assert.equal(tree.root.children[0]!.subscriptionsByStatus.barred, 1);
    assert.equal(tree.rollUp.accounts, 4);
    assert.equal(tree.rollUp.childAccounts, 3);
    assert.equal(tree.rollUp.depth, 2);
    assert.equal(tree.rollUp.subscriptions, 3);
    assert.deepEqual(tree.rollUp.subscriptionsByStatus, {
      pending: 1,
      active: 1,
      suspended: 0,
      barred: 1,
      terminated: 0,
    });
    assert.deepEqual(
      tree.rollUp.creditLimits.map((m) => m.toString()),
      ['300.00 EUR', '1250.50 GBP'],
    );
    assert.deepEqual(tree.rollUp.costCentres, [
      { costCentre: 'CC-100', accounts: 2 },
      { costCentre: 'CC-200', accounts: 1 },
    ]);
    const sub = await getAccountTree(deps(), caller.tenantId, ops.id);
    assert.equal(sub.rollUp.accounts, 2);

    // Closing needs everything below to be closed or terminated first.
    await rejectsWith(
      updateAccount(deps(), caller, root.id, { status: 'closed' }),
      'customers.account_in_use',
      /open child accounts.*pays for/,
    );
  });

  it('lifecycle: transitions with dates and reasons in the history; termination ends identities and add-ons', async () => {
    const s = await newSubscription('MOBILE-BASIC', {
      status: 'pending',
      startDate: '2026-02-01T00:00:00.000Z',
    });
    await assignIdentity(deps(), caller, s.id, {
      type: 'sip-uri',
      value: 'sip:Ada@Example.COM',
      from: '2026-02-01T00:00:00.000Z',
    });
    await attachAddOn(deps(), caller, s.id, { offerCode: 'ROAMING-PACK', from: '2026-02-01T00:00:00.000Z' });
    await changeSubscriptionStatus(deps(), caller, s.id, {
      status: 'active',
      at: '2026-02-02T00:00:00.000Z',
    });
    await rejectsWith(
      changeSubscriptionStatus(deps(), caller, s.id, { status: 'suspended' }),
      'customers.reason_required',
    );
    await rejectsWith(
      changeSubscriptionStatus(deps(), caller, s.id, {
        status: 'suspended',
        reason: 'x',
        at: '2026-02-01T12:00:00.000Z',
      }),
      'customers.invalid_date',
      /cannot take effect before/,
    );
    await rejectsWith(
      changeSubscriptionStatus(deps(), caller, s.id, {
        status: 'suspended',
        reason: 'x',
        at: '2026-12-01T00:00:00.000Z',
      }),
      'customers.invalid_date',
      /now or in the past/,
    );
    await changeSubscriptionStatus(deps(), caller, s.id, {
      status: 'suspended',
      reason: 'customer on holiday',
      at: '2026-02-10T00:00:00.000Z',
    });
    await changeSubscriptionStatus(deps(), caller, s.id, {
      status: 'barred',
      reason: 'non-payment',
      at: '2026-02-20T00:00:00.000Z',
    });
    await rejectsWith(
      changeSubscriptionStatus(deps(), caller, s.id, { status: 'pending' }),
      'customers.invalid_transition',
      /may become active or suspended or terminated/,
    );
    await changeSubscriptionStatus(deps(), caller, s.id, { status: 'terminated', reason: 'customer left' });
    await rejectsWith(
      changeSubscriptionStatus(deps(), caller, s.id, { status: 'active' }),
      'customers.invalid_transition',
      /final/,
    );
    await rejectsWith(
      assignIdentity(deps(), caller, s.id, { type: 'msisdn', value: '+447700900777' }),
      'customers.subscription_terminated',
    );

    const detail = await getSubscription(deps(), caller.tenantId, s.id);
    assert.equal(detail.status, 'terminated');
    assert.equal(detail.terminationDate, clock.now());
    assert.deepEqual(
      detail.history.map((h) => [h.fromStatus ?? null, h.toStatus, h.reason ?? null, h.effectiveAt]),
      [
        [null, 'pending', null, '2026-02-01T00:00:00.000Z'],
        ['pending', 'active', null, '2026-02-02T00:00:00.000Z'],
        ['active', 'suspended', 'customer on holiday', '2026-02-10T00:00:00.000Z'],
        ['suspended', 'barred', 'non-payment', '2026-02-20T00:00:00.000Z'],
        ['barred', 'terminated', 'customer left', clock.now()],
      ],
    );
    assert.equal(detail.identities[0]!.value, 'sip:Ada@example.com');
    assert.equal(detail.identities[0]!.validTo, clock.now(), 'termination released the identity');
    assert.equal(detail.addOns[0]!.validTo, clock.now(), 'termination detached the add-on');
    const types = (await listEvents(db().db, caller.tenantId, { limit: 1000 })).map((e) => e.type);
    assert.ok(types.includes('subscription.status_changed'));
  });

  it('add-ons are attached and removed at dates, never twice over one period', async () => {
    const s = await newSubscription();
    const data = await attachAddOn(deps(), caller, s.id, {
      offerId: offerId('DATA-10GB'),
      from: '2026-02-01T00:00:00.000Z',
    });
    await rejectsWith(
      attachAddOn(deps(), caller, s.id, { offerCode: 'DATA-10GB', from: '2026-03-01T00:00:00.000Z' }),
      'customers.add_on_overlap',
      /already on subscription/,
    );
    await rejectsWith(
      attachAddOn(deps(), caller, s.id, { offerCode: 'EXTRA-A', from: '2025-12-01T00:00:00.000Z' }),
      'customers.invalid_date',
      /before subscription/,
    );
    const ended = await detachAddOn(deps(), caller, s.id, data.id, '2026-04-01T00:00:00.000Z');
    assert.equal(ended.validTo, '2026-04-01T00:00:00.000Z');
    await rejectsWith(
      detachAddOn(deps(), caller, s.id, data.id, '2026-05-01T00:00:00.000Z'),
      'customers.add_on_overlap',
      /not on subscription/,
    );
    // From April the same add-on may come back; a future-dated one is recorded as such.
    const again = await attachAddOn(deps(), caller, s.id, {
      offerCode: 'DATA-10GB',
      from: '2026-04-01T00:00:00.000Z',
      until: '2026-05-01T00:00:00.000Z',
    });
    assert.equal(again.validFrom, '2026-04-01T00:00:00.000Z');
    const detail = await getSubscription(deps(), caller.tenantId, s.id);
    assert.deepEqual(
      detail.addOns.map((a) => [a.offerId, a.offerCode, a.validFrom, a.validTo]),
      [
        [offerId('DATA-10GB'), 'DATA-10GB', '2026-02-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
        [offerId('DATA-10GB'), 'DATA-10GB', '2026-04-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z'],
      ],
    );
  });

  it('plan changes take effect at their date, in date order', async () => {
    const s = await newSubscription('MOBILE-S');
    const up = await changePlan(deps(), caller, s.id, {
      offerId: offerId('MOBILE-M'),
      changeType: 'upgrade',
      at: '2026-02-01T00:00:00.000Z',
    });
    assert.equal(up.fromOfferId, offerId('MOBILE-S'));
    assert.equal(up.offerCode, 'MOBILE-M', 'the code of the offer is stored with it');
    const down = await changePlan(deps(), caller, s.id, {
      offerCode: 'MOBILE-S',
      changeType: 'downgrade',
      at: '2026-04-01T00:00:00.000Z',
      reason: 'cheaper',
    });
    await rejectsWith(
      changePlan(deps(), caller, s.id, { offerCode: 'MOBILE-L', at: '2026-03-01T00:00:00.000Z' }),
      'customers.plan_change_conflict',
      /date order/,
    );
    await rejectsWith(
      changePlan(deps(), caller, s.id, { offerCode: 'MOBILE-S', at: '2026-05-01T00:00:00.000Z' }),
      'customers.plan_change_conflict',
      /already on offer/,
    );
    const detail = await getSubscription(deps(), caller.tenantId, s.id);
    assert.equal(detail.offer.offerId, offerId('MOBILE-M'), 'on 1 March the upgrade is in force');
    assert.deepEqual(
      detail.offers.map((o) => [o.changeType, o.offerCode, o.effectiveAt]),
      [
        ['initial', 'MOBILE-S', '2026-01-01T00:00:00.000Z'],
        ['upgrade', 'MOBILE-M', '2026-02-01T00:00:00.000Z'],
        ['downgrade', 'MOBILE-S', '2026-04-01T00:00:00.000Z'],
      ],
    );
    assert.equal(offerAt(detail.offers, '2026-04-01T00:00:00.000Z').id, down.id);
    const onM = await listSubscriptions(
      deps(),
      caller.tenantId,
      { offerId: offerId('MOBILE-M') },
      { offset: 0, limit: 50 },
    );
    assert.deepEqual(
      onM.items.map((i) => i.id),
      [s.id],
    );
  });

  it('a combined patch applies everything or nothing, and keeps history', async () => {
    const s = await newSubscription('MOBILE-BASIC', {
      identities: [{ type: 'msisdn', value: '+447700900321' }],
    });
    const [msisdn] = s.identities;
    const auditBefore = await auditCount();
    await rejectsWith(
      patchSubscription(deps(), caller, s.id, {
        name: 'renamed',
        identities: [{ id: msisdn!.id }, { type: 'msisdn', value: '+447700900555' }],
      }),
      'customers.identity_in_use',
    );
    assert.equal(await auditCount(), auditBefore, 'the rename rolled back with the failed assignment');
    await rejectsWith(
      patchSubscription(deps(), caller, s.id, { identities: [] }),
      'customers.history_kept',
      /list every existing identity/,
    );
    const patched = await patchSubscription(deps(), caller, s.id, {
      name: 'renamed',
      identities: [
        { id: msisdn!.id, until: '2026-03-01T10:00:00.000Z' },
        { type: 'device-id', value: 'IMEI-35-209900-176148-1' },
      ],
      status: { to: 'suspended', reason: 'lost phone' },
      plan: { offerCode: 'MOBILE-PLUS', changeType: 'upgrade' },
    });
    assert.equal(patched.name, 'renamed');
    assert.equal(patched.status, 'suspended');
    assert.equal(patched.offer.offerId, offerId('MOBILE-PLUS'));
    assert.deepEqual(
      patched.identities.map((i) => [i.type, i.validTo ?? null]),
      [
        ['msisdn', '2026-03-01T10:00:00.000Z'],
        ['device-id', null],
      ],
    );
  });

  it('bulk import: non-atomic applies the valid rows; atomic applies all or nothing; per-row report', async () => {
    const badIccid = `${ICCID2.slice(0, -1)}${(Number(ICCID2.slice(-1)) + 5) % 10}`;
    const csv = [
      'customerRef,customerName,customerType,email,accountRef,currency,billCycleDay,creditLimit,offerCode,msisdn,iccid,startDate,addOns',
      `C1,Grace Hopper,individual,grace@example.com,A1,GBP,5,25.00,MOBILE-BASIC,+44 7700 900801,${ICCID2},2026-01-15,EXTRA-A;${offerId('ROAMING-PACK')}`,
      'C1,,,,A1,,,,MOBILE-BASIC,+44 7700 900802,,2026-01-15,',
      'C2,Alan Turing,person,,A2,GBP,31,,MOBILE-BASIC,07700 900803,,,',
      'C3,Joan Clarke,individual,,A3,GBP,1,,MOBILE-BASIC,+44 7700 900802,,,',
      '"C4","Hedy ""HL"" Lamarr",individual,,A4,GBP,1,,MOBILE-BASIC,+44 7700 900804,,,',
      `C5,Mary Somerville,individual,,A5,GBP,1,,MOBILE-BASIC,,${badIccid},,`,
    ].join('\r\n');
    const records = importRecordsFromCsv(csv);
    assert.equal(records.length, 6);
    const report = await importCustomers(deps(), caller, records, { atomic: false });
    assert.equal(report.total, 6);
    assert.equal(report.applied, 3, JSON.stringify(report.errors));
    assert.equal(report.rejected, 3);
    assert.deepEqual(
      report.errors.map((e) => [e.row, e.field]),
      [
        [3, 'billCycleDay'],
        [3, 'customerType'],
        [3, 'msisdn'],
        [4, 'msisdn'],
        [6, 'iccid'],
      ],
    );
    assert.match(
      report.errors.find((e) => e.row === 4)!.message,
      /MSISDN \+447700900802 is assigned to subscription sub_/,
    );
    assert.match(report.errors.find((e) => e.row === 6)!.message, /Luhn/);
    assert.deepEqual(
      report.rows.map((r) => r.status),
      ['applied', 'applied', 'rejected', 'rejected', 'applied', 'rejected'],
    );
    const [first, second, , , hedy] = report.rows;
    assert.equal(first!.accountId, second!.accountId, 'rows with one accountRef share the account');
    assert.notEqual(first!.subscriptionId, second!.subscriptionId);
    const grace = await getSubscription(deps(), caller.tenantId, first!.subscriptionId!);
    assert.equal(grace.startDate, '2026-01-15T00:00:00.000Z');
    assert.deepEqual([grace.offer.offerId, grace.offer.offerCode], [offerId('MOBILE-BASIC'), 'MOBILE-BASIC']);
    assert.deepEqual(
      grace.addOns.map((a) => [a.offerCode, a.offerId]),
      [
        ['EXTRA-A', offerId('EXTRA-A')],
        ['ROAMING-PACK', offerId('ROAMING-PACK')],
      ],
    );
    assert.deepEqual(grace.identities.map((i) => i.type).sort(), ['iccid', 'msisdn']);
    const hedyTree = await getAccountTree(deps(), caller.tenantId, hedy!.accountId!);
    assert.equal(hedyTree.root.account.name, 'Hedy "HL" Lamarr');
    // A customer that was rejected left nothing: its reference is free for a corrected retry.
    const retry = await importCustomers(
      deps(),
      caller,
      importRecordsFromCsv(
        `customerRef,customerName,accountRef,offerId,msisdn\nC3,Joan Clarke,A3,${offerId('MOBILE-BASIC')},+44 7700 900803\n`,
      ),
      { atomic: false },
    );
    assert.equal(retry.applied, 1, JSON.stringify(retry.errors));

    // Atomic: one bad row (an MSISDN assigned twice within the file) and nothing is applied.
    const auditBefore = await auditCount();
    const atomicReport = await importCustomers(
      deps(),
      caller,
      importRecordsFromJson({
        rows: [
          {
            customerName: 'Katherine Johnson',
            accountRef: 'K1',
            offerCode: 'MOBILE-BASIC',
            msisdn: '+447700900901',
          },
          {
            customerName: 'Dorothy Vaughan',
            accountRef: 'K2',
            offerCode: 'MOBILE-BASIC',
            msisdn: '+447700900901',
          },
        ],
      }),
      { atomic: true },
    );
    assert.equal(atomicReport.applied, 0);
    assert.equal(atomicReport.rejected, 1);
    assert.deepEqual(
      atomicReport.rows.map((r) => r.status),
      ['not-applied', 'rejected'],
    );
    assert.deepEqual(
      atomicReport.errors.map((e) => [e.row, e.field]),
      [[2, 'msisdn']],
    );
    assert.equal(await auditCount(), auditBefore, 'nothing of the atomic import remains');
    await assert.rejects(findIdentityOwner(deps(), caller.tenantId, 'msisdn', '+447700900901', clock.now()));

    // The same rows without the clash go through atomically.
    const ok = await importCustomers(
      deps(),
      caller,
      importRecordsFromJson([
        {
          customerRef: 'KJ',
          customerName: 'Katherine Johnson',
          customerType: 'individual',
          accountRef: 'K1',
          billCycleDay: 12,
          offerId: offerId('MOBILE-BASIC'),
          msisdn: '+447700900901',
        },
        {
          customerRef: 'KJ',
          accountRef: 'K1b',
          parentAccountRef: 'K1',
          payerAccountRef: 'K1',
          offerCode: 'MOBILE-BASIC',
          nai: 'kj@NASA.gov',
        },
      ]),
      { atomic: true },
    );
    assert.equal(ok.applied, 2, JSON.stringify(ok.errors));
    assert.equal(
      ok.rows[0]!.customerId,
      ok.rows[1]!.customerId,
      'rows with one customerRef share the customer',
    );
    const tree = await getAccountTree(deps(), caller.tenantId, ok.rows[0]!.accountId!);
    assert.equal(tree.rollUp.accounts, 2);
    assert.equal(tree.root.account.billCycleDay, 12);
  });

  it('a subscription takes an existing plan or bundle of the catalog, by id or by code, in force at its start', async () => {
    const byId = await createSubscription(deps(), caller, {
      accountId,
      offerId: offerId('MOBILE-M'),
      startDate: '2026-01-01T00:00:00.000Z',
    });
    assert.deepEqual([byId.offer.offerId, byId.offer.offerCode], [offerId('MOBILE-M'), 'MOBILE-M']);
    const bundle = await newSubscription('HOME-BUNDLE');
    assert.equal(bundle.offer.offerId, offerId('HOME-BUNDLE'));
    const auditBefore = await auditCount();
    await rejectsWith(
      newSubscription('MOBILE-XL'),
      'customers.offer_not_found',
      /^offer MOBILE-XL does not exist$/,
      'offerCode',
    );
    const missing = newId('ofr', clock);
    await rejectsWith(
      createSubscription(deps(), caller, { accountId, offerId: missing }),
      'customers.offer_not_found',
      new RegExp(`^offer ${missing} does not exist$`),
      'offerId',
    );
    await rejectsWith(
      createSubscription(deps(), caller, { accountId, offerId: 'MOBILE-M' }),
      'customers.offer_not_found',
      /offer MOBILE-M does not exist \(offerId takes an offer id like ofr_\.\.\.; give a code as offerCode\)/,
      'offerId',
    );
    await rejectsWith(
      createSubscription(deps(), caller, { accountId, offerId: offerId('MOBILE-M'), offerCode: 'MOBILE-S' }),
      'customers.invalid_subscription',
      /offerCode MOBILE-S is not the code of offer ofr_\w+, which is MOBILE-M/,
      'offerCode',
    );
    await rejectsWith(
      createSubscription(deps(), caller, { accountId }),
      'customers.invalid_subscription',
      /give the offer/,
      'offerId',
    );
    await rejectsWith(
      newSubscription('ROAMING-PACK'),
      'customers.wrong_offer_kind',
      /^offer ROAMING-PACK is an add-on, not a plan$/,
      'offerCode',
    );
    await rejectsWith(
      createSubscription(deps(), caller, { accountId, offerId: offerId('ROAMING-PACK') }),
      'customers.wrong_offer_kind',
      /is an add-on, not a plan/,
      'offerId',
    );
    await rejectsWith(
      newSubscription('FUTURE-PLAN'),
      'customers.offer_not_in_force',
      /^offer FUTURE-PLAN has no version in force at 2026-01-01T00:00:00.000Z$/,
      'offerCode',
    );
    // Add-ons given at creation: a plan as an add-on; the whole creation is refused.
    await rejectsWith(
      newSubscription('MOBILE-S', { addOns: [{ offerCode: 'DATA-10GB' }, { offerCode: 'MOBILE-M' }] }),
      'customers.wrong_offer_kind',
      /^offer MOBILE-M is a plan, not an add-on$/,
      'addOns/1/offerCode',
    );
    await rejectsWith(
      newSubscription('MOBILE-S', { addOns: [{ offerId: offerId('HOME-BUNDLE') }] }),
      'customers.wrong_offer_kind',
      /is a bundle, not an add-on/,
      'addOns/0/offerId',
    );
    await rejectsWith(
      newSubscription('MOBILE-S', { addOns: [{ offerCode: 'PREMIUM-ROAMING' }] }),
      'customers.incompatible_add_on',
      /add-on PREMIUM-ROAMING cannot be added to plan MOBILE-S: it is compatible only with MOBILE-L, MOBILE-M/,
      'addOns/0/offerCode',
    );
    assert.equal(await auditCount(), auditBefore, 'nothing of the refused subscriptions remains');
  });

  it('add-ons must be add-ons in force at their date, compatible with the plan and not excluded', async () => {
    const s = await newSubscription('MOBILE-S');
    await rejectsWith(
      attachAddOn(deps(), caller, s.id, { offerCode: 'NO-SUCH-ADDON' }),
      'customers.offer_not_found',
      /^offer NO-SUCH-ADDON does not exist$/,
      'addOn/offerCode',
    );
    await rejectsWith(
      attachAddOn(deps(), caller, s.id, { offerId: offerId('MOBILE-L') }),
      'customers.wrong_offer_kind',
      /^offer MOBILE-L is a plan, not an add-on$/,
      'addOn/offerId',
    );
    await rejectsWith(
      attachAddOn(deps(), caller, s.id, { offerCode: 'LEGACY-ADDON', from: '2026-02-01T00:00:00.000Z' }),
      'customers.offer_not_in_force',
      /^offer LEGACY-ADDON has no version in force at 2026-02-01T00:00:00.000Z$/,
      'addOn/offerCode',
    );
    await rejectsWith(
      attachAddOn(deps(), caller, s.id, { offerCode: 'PREMIUM-ROAMING' }),
      'customers.incompatible_add_on',
      /cannot be added to plan MOBILE-S/,
      'addOn/offerCode',
    );
    // After an upgrade to MOBILE-L, the premium pack fits from the upgrade's date.
    await changePlan(deps(), caller, s.id, { offerCode: 'MOBILE-L', at: '2026-02-01T00:00:00.000Z' });
    await rejectsWith(
      attachAddOn(deps(), caller, s.id, { offerCode: 'PREMIUM-ROAMING', from: '2026-01-15T00:00:00.000Z' }),
      'customers.incompatible_add_on',
      /plan MOBILE-S/,
    );
    const premium = await attachAddOn(deps(), caller, s.id, { offerCode: 'PREMIUM-ROAMING' });
    assert.equal(premium.offerId, offerId('PREMIUM-ROAMING'));
    // A bundle qualifies through its components (HOME-BUNDLE holds MOBILE-M).
    const home = await newSubscription('HOME-BUNDLE');
    await attachAddOn(deps(), caller, home.id, { offerCode: 'PREMIUM-ROAMING' });
    // EXTRA-B excludes EXTRA-A over the same period, whichever comes first.
    const extraA = await attachAddOn(deps(), caller, s.id, {
      offerCode: 'EXTRA-A',
      from: '2026-02-01T00:00:00.000Z',
      until: '2026-03-01T00:00:00.000Z',
    });
    await rejectsWith(
      attachAddOn(deps(), caller, s.id, { offerCode: 'EXTRA-B', from: '2026-02-15T00:00:00.000Z' }),
      'customers.incompatible_add_on',
      /add-on EXTRA-B cannot be held together with add-on EXTRA-A/,
      'addOn/offerCode',
    );
    await attachAddOn(deps(), caller, s.id, { offerCode: 'EXTRA-B', from: extraA.validTo! });
    await rejectsWith(
      attachAddOn(deps(), caller, s.id, { offerCode: 'EXTRA-A', from: '2026-03-01T10:00:00.000Z' }),
      'customers.incompatible_add_on',
      /add-on EXTRA-A cannot be held together with add-on EXTRA-B/,
    );
  });

  it('a plan change names an existing plan or bundle in force at the change date', async () => {
    const s = await newSubscription('MOBILE-S');
    await rejectsWith(
      changePlan(deps(), caller, s.id, { offerCode: 'MOBILE-XL' }),
      'customers.offer_not_found',
      /^offer MOBILE-XL does not exist$/,
      'offerCode',
    );
    await rejectsWith(
      changePlan(deps(), caller, s.id, { offerId: offerId('DATA-10GB') }),
      'customers.wrong_offer_kind',
      /^offer DATA-10GB is an add-on, not a plan$/,
      'offerId',
    );
    await rejectsWith(
      changePlan(deps(), caller, s.id, { offerCode: 'FUTURE-PLAN', at: '2026-04-01T00:00:00.000Z' }),
      'customers.offer_not_in_force',
      /^offer FUTURE-PLAN has no version in force at 2026-04-01T00:00:00.000Z$/,
      'offerCode',
    );
    await rejectsWith(
      patchSubscription(deps(), caller, s.id, { plan: { offerCode: 'ROAMING-PACK' } }),
      'customers.wrong_offer_kind',
      /is an add-on, not a plan/,
      'offerCode',
    );
    const later = await changePlan(deps(), caller, s.id, {
      offerCode: 'FUTURE-PLAN',
      at: '2030-02-01T00:00:00.000Z',
    });
    assert.deepEqual([later.offerId, later.offerCode], [offerId('FUTURE-PLAN'), 'FUTURE-PLAN']);
  });

  it('bulk import resolves offer codes and reports unknown, wrong-kind and incompatible offers by column', async () => {
    const missing = newId('ofr', clock);
    const csv = [
      'customerRef,customerName,accountRef,offerCode,offerId,startDate,addOns,msisdn',
      'OC1,Lise Meitner,OA1,MOBILE-M,,2026-02-01,ROAMING-PACK;PREMIUM-ROAMING,+447700900951',
      'OC2,Emmy Noether,OA2,MOBILE-XL,,2026-02-01,,',
      'OC3,Marie Curie,OA3,ROAMING-PACK,,2026-02-01,,',
      'OC4,Rosalind Franklin,OA4,MOBILE-S,,2026-02-01,MOBILE-M,',
      'OC5,Ada Yonath,OA5,MOBILE-S,,2026-02-01,PREMIUM-ROAMING,',
      `OC6,Barbara McClintock,OA6,,${missing},2026-02-01,,`,
      'OC7,Chien-Shiung Wu,OA7,FUTURE-PLAN,,2026-02-01,,',
    ].join('\n');
    const report = await importCustomers(deps(), caller, importRecordsFromCsv(csv), { atomic: false });
    assert.deepEqual(
      report.rows.map((r) => r.status),
      ['applied', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected'],
      JSON.stringify(report.errors),
    );
    assert.deepEqual(
      report.errors.map((e) => [e.row, e.field, e.message]),
      [
        [2, 'offerCode', 'offer MOBILE-XL does not exist'],
        [3, 'offerCode', 'offer ROAMING-PACK is an add-on, not a plan'],
        [4, 'addOns', 'offer MOBILE-M is a plan, not an add-on'],
        [
          5,
          'addOns',
          'add-on PREMIUM-ROAMING cannot be added to plan MOBILE-S: it is compatible only with MOBILE-L, MOBILE-M',
        ],
        [6, 'offerId', `offer ${missing} does not exist`],
        [7, 'offerCode', 'offer FUTURE-PLAN has no version in force at 2026-02-01T00:00:00.000Z'],
      ],
    );
    const lise = await getSubscription(deps(), caller.tenantId, report.rows[0]!.subscriptionId!);
    assert.deepEqual([lise.offer.offerId, lise.offer.offerCode], [offerId('MOBILE-M'), 'MOBILE-M']);
    assert.deepEqual(
      lise.addOns.map((a) => a.offerId),
      [offerId('ROAMING-PACK'), offerId('PREMIUM-ROAMING')],
    );
  });
});
