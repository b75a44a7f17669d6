import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../kernel/clock.js';
import { describeEachDialect } from '../testing/databases.js';
import { loadDemoFiles } from '../app/demo-files.js';
import { findAccountByRef, listSubscriptions } from '../customers/store.js';
import { listEvents } from '../events/index.js';
import { verifyAuditChain } from '../audit/index.js';
import { seedDemoIfEmpty } from './demo.js';
import { findTenant } from './tenants.js';
import { importCustomers, importRecordsFromCsv } from './customers.js';
import { ChargingEngine } from './charging.js';
import { adjustBalance, getBalance, listBalances, type ChargingAdminDeps } from './charging-admin.js';
import { ALLOWANCE_PRIORITY, allowanceBucketId, grantAllowances } from './charging-grants.js';
import type { Caller } from './context.js';

/**
 * A plan with the three kinds of allowance the grants handle, added to the demo catalog (whose
 * MOBILE-PREPAID tariff prices its usage):
 * - data-rollover: 1 GB a month, what is left usable one more month, at most 500 MB carried;
 * - minutes: 100 minutes a month in zone DE;
 * - pool-data: 10 GB a month for the whole account.
 */
const GRANT_OFFER = `
  - code: GRANT-PREPAID
    name: Prepaid with allowances
    kind: plan
    currencies: [EUR]
    products: [MOBILE-VOICE, MOBILE-SMS, MOBILE-DATA]
    versions:
      - effectiveFrom: 2026-01-01T00:00:00Z
        prices:
          - { code: voice, kind: usage, product: MOBILE-VOICE, tariff: MOBILE-PREPAID }
          - { code: sms, kind: usage, product: MOBILE-SMS, tariff: MOBILE-PREPAID }
          - { code: data, kind: usage, product: MOBILE-DATA, tariff: MOBILE-PREPAID }
        allowances:
          - code: data-rollover
            service: data
            quantity: '1'
            unit: GB
            period: month
            rollover: { maxPeriods: 1, maxQuantity: '0.5' }
          - { code: minutes, service: voice, quantity: '100', unit: minute, period: month, zones: [DE] }
          - { code: pool-data, service: data, quantity: '10', unit: GB, period: month, sharing: account-pool }
`;

const HEADER =
  'customerRef,customerName,customerType,email,phone,accountRef,accountName,currency,billCycleDay,timeZone,invoiceDelivery,ratingType,creditClass,creditLimit,costCentre,parentAccountRef,payerAccountRef,offerCode,subscriptionName,status,startDate,addOns,msisdn,imsi,iccid,sipUri,lineId,deviceId';
// GA-1: prepaid, two SIMs; GA-2: hybrid, one SIM; GA-3: postpaid on the same plan.
const CUSTOMERS = [
  HEADER,
  'G-1,Grant One,individual,,,GA-1,Grant One,EUR,1,Europe/Berlin,email,prepaid,,,,,,GRANT-PREPAID,Grant One a,active,2026-02-01T00:00:00Z,,4915199000001,,,,,',
  'G-1,,,,,GA-1,,,,,,,,,,,,GRANT-PREPAID,Grant One b,active,2026-02-01T00:00:00Z,,4915199000002,,,,,',
  'G-2,Grant Two,individual,,,GA-2,Grant Two,EUR,1,Europe/Berlin,email,hybrid,,50.00,,,,GRANT-PREPAID,Grant Two,active,2026-02-01T00:00:00Z,,4915199000003,,,,,',
  'G-3,Grant Three,individual,,,GA-3,Grant Three,EUR,1,Europe/Berlin,email,postpaid,,50.00,,,,GRANT-PREPAID,Grant Three,active,2026-02-01T00:00:00Z,,4915199000004,,,,,',
].join('\n');

const GB = 1_000_000_000n;
const MB = 1_000_000n;
// Bill cycle day 1 in Europe/Berlin (UTC+1 in winter): November is 2026-11-01T00:00 local =
// 2026-10-31T23:00Z to 2026-12-01T00:00 local = 2026-11-30T23:00Z; December ends 2026-12-31T23:00Z.
const NOVEMBER = Date.parse('2026-10-31T23:00:00.000Z');
const DECEMBER = Date.parse('2026-11-30T23:00:00.000Z');
const JANUARY = Date.parse('2026-12-31T23:00:00.000Z');

describeEachDialect('workflows: scheduled allowance grants', (db) => {
  const clock = new FakeClock('2026-11-25T12:00:00.000Z');
  let deps: ChargingAdminDeps;
  let caller: Caller;
  let tenantId: string;
  const accounts: Record<string, string> = {};
  const subscriptions: Record<string, string[]> = {};

  before(async () => {
    deps = { database: db(), clock, charging: new ChargingEngine({ database: db(), clock }) };
    const demo = loadDemoFiles();
    const catalogText = demo.catalog.text.replace('\ncategories:', `${GRANT_OFFER}\ncategories:`);
    assert.notEqual(catalogText, demo.catalog.text);
    // Without the engine: no demo balances, so every bucket below is a grant's.
    await seedDemoIfEmpty(
      { database: db(), clock },
      { catalog: { file: 'demo.yaml', text: catalogText }, customers: demo.customers },
    );
    tenantId = (await findTenant(deps, 'demo'))!.id;
    caller = { tenantId, actor: { type: 'system', id: 'test' } };
    const report = await importCustomers(deps, caller, importRecordsFromCsv(`${CUSTOMERS}\n`), {
      atomic: true,
    });
    assert.equal(report.rejected, 0, JSON.stringify(report.errors));
    for (const ref of ['GA-1', 'GA-2', 'GA-3', 'A-1002']) {
      const account = (await findAccountByRef(db().db, tenantId, ref))!;
      accounts[ref] = account.id;
      const { items } = await listSubscriptions(
        db().db,
        tenantId,
        { accountId: account.id, asOf: clock.now() },
        { offset: 0, limit: 10 },
      );
      subscriptions[ref] = items.map((s) => s.id).sort();
    }
  });

  after(async () => {
    await deps.charging.close();
  });

  it('gives each prepaid and hybrid subscription its buckets for the period', async () => {
    // Two subscriptions a page, so the run takes several pages (keyset paging) and GA-1's SIMs,
    // which share a pool, may fall on different pages.
    const progress: Array<[number, number]> = [];
    const result = await grantAllowances(deps, caller, {
      pageSize: 2,
      onProgress: (p) => progress.push([p.done, p.total]),
    });
    assert.ok(progress.length >= 3, JSON.stringify(progress));
    assert.deepEqual(
      progress.map(([done]) => done),
      progress.map((_, i) => Math.min(2 * (i + 1), progress.at(-1)![1])),
    );
    assert.equal(progress.at(-1)![0], progress.at(-1)![1]);
    // Looked at: Anna (MOBILE-PREPAID, no allowances), Ben (EXTRA-DATA-5GB add-on), GA-1's two
    // SIMs and GA-2's. Buckets: 2 per SIM (data-rollover, minutes) + 1 pool per account (GA-1,
    // GA-2) + Ben's extra-data = 2 × 3 + 2 + 1 = 9.
    assert.equal(result.subscriptions, 5);
    assert.equal(result.bucketsOpened, 9);
    assert.equal(result.alreadyGranted, 0);
    assert.deepEqual(result.problems, []);
    // Bytes: 3 × 1 GB + 2 × 10 GB + 5 GB = 28 GB; seconds: 3 × 100 min × 60 = 18 000.
    assert.deepEqual(result.unitsGranted, { byte: `${28n * GB}`, second: '18000' });
    assert.deepEqual(result.rolloverCut, {});

    const [first] = subscriptions['GA-1']!;
    const data = await getBalance(deps, tenantId, allowanceBucketId(first!, 'data-rollover', NOVEMBER));
    assert.deepEqual(
      {
        owner: `${data.ownerKind} ${data.ownerId}`,
        accountId: data.accountId,
        unit: data.unit,
        amount: data.amount,
        validFrom: data.validFrom,
        validUntil: data.validUntil,
        services: data.services,
        zones: data.zones,
      },
      {
        owner: `subscription ${first}`,
        accountId: accounts['GA-1'],
        unit: 'byte',
        amount: { amount: `${GB}`, units: 'byte' },
        validFrom: '2026-10-31T23:00:00.000Z',
        // Rollover { maxPeriods: 1 }: valid through December too.
        validUntil: '2026-12-31T23:00:00.000Z',
        services: ['data'],
        zones: null,
      },
    );
    const minutes = await getBalance(deps, tenantId, allowanceBucketId(first!, 'minutes', NOVEMBER));
    assert.deepEqual(
      [minutes.unit, minutes.amount.amount, minutes.services, minutes.zones, minutes.validUntil],
      ['second', '6000', ['voice'], ['DE'], '2026-11-30T23:00:00.000Z'],
    );
    // The batch rater's order: zoned before unzoned, then by code; below the default 100.
    assert.deepEqual([minutes.priority, data.priority], [ALLOWANCE_PRIORITY, ALLOWANCE_PRIORITY + 1]);
    assert.ok(data.priority < 100);

    // The pool: one bucket of the account, 10 GB once, however many SIMs share it.
    const pools = (await listBalances(deps, tenantId, { accountId: accounts['GA-1']!, limit: 100 })).filter(
      (b) => b.ownerKind === 'account',
    );
    assert.deepEqual(
      pools.map((b) => [b.id, b.ownerId, b.amount.amount, b.validUntil]),
      [
        [
          allowanceBucketId(accounts['GA-1']!, 'pool-data', NOVEMBER),
          accounts['GA-1'],
          `${10n * GB}`,
          '2026-11-30T23:00:00.000Z',
        ],
      ],
    );
    assert.equal(
      (await listBalances(deps, tenantId, { accountId: accounts['GA-1']!, limit: 100 })).length,
      5,
    );
    assert.equal(
      (await listBalances(deps, tenantId, { accountId: accounts['GA-2']!, limit: 100 })).length,
      3,
    );
    // Ben's add-on allowance.
    const ben = await getBalance(
      deps,
      tenantId,
      allowanceBucketId(subscriptions['A-1002']![0]!, 'extra-data', NOVEMBER),
    );
    assert.equal(ben.amount.amount, `${5n * GB}`);

    // Audited, with one event per grant.
    const events = await listEvents(db().db, tenantId, { type: 'balance.allowance_granted', limit: 100 });
    assert.equal(events.length, 9);
    assert.equal((await verifyAuditChain(db().db, tenantId)).ok, true);
  });

  it('grants nothing for a postpaid account on the same plan', async () => {
    assert.deepEqual(await listBalances(deps, tenantId, { accountId: accounts['GA-3']!, limit: 100 }), []);
  });

  it('grants once per period: a second run finds everything granted', async () => {
    clock.advanceMs(3_600_000);
    const again = await grantAllowances(deps, caller);
    assert.deepEqual([again.bucketsOpened, again.alreadyGranted, again.unitsGranted], [0, 9, {}]);
    const [first] = subscriptions['GA-1']!;
    const data = await getBalance(deps, tenantId, allowanceBucketId(first!, 'data-rollover', NOVEMBER));
    assert.equal(data.version, 1);
    assert.equal(data.amount.amount, `${GB}`);
    // Two runs at once in this process: still once.
    const [a, b] = await Promise.all([grantAllowances(deps, caller), grantAllowances(deps, caller)]);
    assert.deepEqual([a.bucketsOpened, b.bucketsOpened], [0, 0]);
  });

  it('grants the next period again, with the rollover of what is left, capped at maxQuantity', async () => {
    const [first, second] = subscriptions['GA-1']!;
    const novemberData = allowanceBucketId(first!, 'data-rollover', NOVEMBER);
    // SIM a uses 200 MB of November's gigabyte (an adjustment stands in for usage): 800 MB left.
    await adjustBalance(deps, caller, {
      balanceId: novemberData,
      amount: { amount: '-200', units: 'MB' },
      reason: 'test usage',
    });
    const result = await grantAllowances(deps, caller, { atMs: Date.parse('2026-12-05T12:00:00.000Z') });
    assert.equal(result.bucketsOpened, 9);
    assert.equal(result.alreadyGranted, 0);
    // Carried into December at most 500 MB: SIM a 800 − 500 = 300 MB off, SIM b and GA-2's SIM
    // 1000 − 500 = 500 MB off each: 1 300 MB.
    assert.deepEqual(result.rolloverCut, { byte: `${1300n * MB}` });

    const carried = await getBalance(deps, tenantId, novemberData);
    assert.equal(carried.amount.amount, `${500n * MB}`);
    assert.equal(carried.validUntil, new Date(JANUARY).toISOString());
    const untouched = await getBalance(deps, tenantId, allowanceBucketId(second!, 'data-rollover', NOVEMBER));
    assert.equal(untouched.amount.amount, `${500n * MB}`);
    const december = await getBalance(deps, tenantId, allowanceBucketId(first!, 'data-rollover', DECEMBER));
    assert.deepEqual(
      [december.amount.amount, december.validFrom, december.validUntil],
      [`${GB}`, new Date(DECEMBER).toISOString(), '2027-01-31T23:00:00.000Z'],
    );
    // November's minutes have no rollover: not valid in December.
    const minutes = await getBalance(deps, tenantId, allowanceBucketId(first!, 'minutes', NOVEMBER));
    assert.equal(minutes.validUntil, new Date(DECEMBER).toISOString());
    // The older units are drawn first: same priority, earlier expiry.
    const state = await deps.charging.accountState(tenantId, accounts['GA-1']!);
    const order = state.order.map((b) => b.id);
    assert.ok(order.indexOf(novemberData) < order.indexOf(december.id));

    // Again in December: nothing granted, nothing cut twice.
    const again = await grantAllowances(deps, caller, { atMs: Date.parse('2026-12-20T12:00:00.000Z') });
    assert.deepEqual([again.bucketsOpened, again.alreadyGranted, again.rolloverCut], [0, 9, {}]);
    assert.equal((await getBalance(deps, tenantId, novemberData)).amount.amount, `${500n * MB}`);
  });

  it('lets online charging draw the granted units, the oldest first, before any money', async () => {
    const [first] = subscriptions['GA-1']!;
    const atMs = Date.parse('2026-12-10T12:00:00.000Z');
    const base = {
      tenantId,
      sessionId: 'grant-test-1',
      identityType: 'msisdn' as const,
      identity: '4915199000001',
    };
    const reserved = await deps.charging.charge({
      ...base,
      requestNumber: 1,
      atMs,
      protocol: 'api',
      items: [{ ratingGroup: 10, service: 'data', requestedUnits: 100n * MB }],
    });
    assert.equal(reserved.outcome.items[0]?.grantCode, 'granted');
    const used = await deps.charging.charge({
      ...base,
      requestNumber: 2,
      atMs: atMs + 60_000,
      protocol: 'api',
      terminate: true,
      items: [{ ratingGroup: 10, service: 'data', usedUnits: 100n * MB }],
    });
    assert.equal(used.outcome.items[0]?.commitCode, 'committed');
    // The 500 MB carried from November pay first: 400 MB left; December's gigabyte is whole.
    const november = await getBalance(deps, tenantId, allowanceBucketId(first!, 'data-rollover', NOVEMBER));
    const december = await getBalance(deps, tenantId, allowanceBucketId(first!, 'data-rollover', DECEMBER));
    assert.deepEqual([november.amount.amount, december.amount.amount], [`${400n * MB}`, `${GB}`]);
  });
});
