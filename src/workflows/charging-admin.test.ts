import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../kernel/clock.js';
import { isTollgateError } from '../kernel/errors.js';
import { describeEachDialect } from '../testing/databases.js';
import { loadDemoFiles } from '../app/demo-files.js';
import { findAccountByRef } from '../customers/store.js';
import { listEvents } from '../events/index.js';
import { verifyAuditChain } from '../audit/index.js';
import { seedDemoIfEmpty } from './demo.js';
import { findTenant } from './tenants.js';
import { ChargingEngine } from './charging.js';
import {
  adjustBalance,
  balanceHistory,
  createBalance,
  generateVoucherBatch,
  getBalance,
  listBalances,
  listReservations,
  recomputeBalance,
  redeemVoucher,
  releaseReservation,
  topUpBalance,
  type ChargingAdminDeps,
} from './charging-admin.js';
import type { Caller } from './context.js';

const SECRET = 'charging-admin-test-secret-0123456789abcdef';
// Anna Schmidt (A-1001, 4915120000001) and Ben Müller (A-1002) are the demo's prepaid subscribers.
const ANNA = '4915120000001';

const show = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

/** Runs `work` and returns the code of the TollgateError it throws (and its field). */
async function refusal(work: () => Promise<unknown>): Promise<{ code: string; field: string | undefined }> {
  try {
    await work();
  } catch (error) {
    if (!isTollgateError(error)) throw error;
    return { code: error.code, field: error.field };
  }
  assert.fail('expected a refusal');
}

describeEachDialect('workflows: balance administration', (db) => {
  const clock = new FakeClock('2026-11-25T12:00:00.000Z');
  let deps: ChargingAdminDeps;
  let caller: Caller;
  let tenantId: string;
  let annaAccount: string;
  let moneyId: string;

  before(async () => {
    deps = { database: db(), clock, charging: new ChargingEngine({ database: db(), clock }) };
    const seed = await seedDemoIfEmpty(deps, loadDemoFiles());
    assert.deepEqual(
      seed?.charging,
      { subscriptions: 2, balances: 4 },
      'two prepaid subscribers, two balances each',
    );
    tenantId = (await findTenant(deps, 'demo'))!.id;
    caller = { tenantId, actor: { type: 'system', id: 'test' } };
    annaAccount = (await findAccountByRef(db().db, tenantId, 'A-1001'))!.id;
    const [money] = (await listBalances(deps, tenantId, { accountId: annaAccount, limit: 10 })).filter(
      (b) => b.unit === 'money',
    );
    assert.ok(money);
    moneyId = money.id;
    assert.deepEqual(money.amount, { amount: '15.000000000000', currency: 'EUR' });
  });

  it('tops up once per payment reference, even when two attempts race', async () => {
    const input = { balanceId: moneyId, amount: { amount: '5.00', units: 'EUR' }, paymentReference: 'psp-1' };
    const first = await topUpBalance(deps, caller, input);
    assert.equal(first.replayed, false);
    assert.deepEqual(first.movement.amount, { amount: '5.000000000000', currency: 'EUR' });
    const again = await topUpBalance(deps, caller, input);
    assert.equal(again.replayed, true);
    assert.equal(again.movement.seq, first.movement.seq);
    // 15 + 5 = 20 EUR, credited once.
    assert.equal((await getBalance(deps, tenantId, moneyId)).amount.amount, '20.000000000000');
    // The same reference for another amount is another payment's reference: refused.
    assert.deepEqual(
      await refusal(() => topUpBalance(deps, caller, { ...input, amount: { amount: '6.00', units: 'EUR' } })),
      { code: 'balance.reference_reused', field: 'paymentReference' },
    );
    // Two concurrent top-ups with one new reference: one credit.
    const racing = { ...input, paymentReference: 'psp-2' };
    const results = await Promise.all([
      topUpBalance(deps, caller, racing),
      topUpBalance(deps, caller, racing),
    ]);
    assert.deepEqual(results.map((r) => r.replayed).sort(), [false, true]);
    assert.equal((await getBalance(deps, tenantId, moneyId)).amount.amount, '25.000000000000');
  });

  it('converts amounts exactly and names the field at fault', async () => {
    assert.deepEqual(
      await refusal(() =>
        topUpBalance(deps, caller, {
          balanceId: moneyId,
          amount: { amount: '1.234', units: 'EUR' },
          paymentReference: 'x',
        }),
      ),
      { code: 'money.invalid_decimal', field: 'amount/amount' },
    );
    assert.deepEqual(
      await refusal(() =>
        topUpBalance(deps, caller, {
          balanceId: moneyId,
          amount: { amount: '1', units: 'GB' },
          paymentReference: 'x',
        }),
      ),
      { code: 'balance.unit_mismatch', field: 'amount/units' },
    );
    assert.deepEqual(
      await refusal(() =>
        topUpBalance(deps, caller, {
          balanceId: moneyId,
          amount: { amount: '0.00', units: 'EUR' },
          paymentReference: 'x',
        }),
      ),
      { code: 'common.invalid_input', field: 'amount/amount' },
    );
    assert.deepEqual(
      await refusal(() =>
        createBalance(deps, caller, {
          ownerKind: 'account',
          ownerId: annaAccount,
          unit: 'money',
          currency: 'USD',
        }),
      ),
      { code: 'common.invalid_input', field: 'currency' },
    );
    assert.deepEqual(
      await refusal(() =>
        createBalance(deps, caller, { ownerKind: 'subscription', ownerId: 'sub_NOPE', unit: 'byte' }),
      ),
      { code: 'customers.subscription_not_found', field: 'ownerId' },
    );
  });

  it('adjusts either way with a reason, refuses more than is available, and reports the low-balance crossing', async () => {
    const before = (await getBalance(deps, tenantId, moneyId)).amount.amount;
    assert.equal(before, '25.000000000000');
    // 25 − 23.50 = 1.50 EUR, under the demo's 2.00 EUR low-balance threshold.
    const down = await adjustBalance(deps, caller, {
      balanceId: moneyId,
      amount: { amount: '-23.50', units: 'EUR' },
      reason: 'goodwill reversal',
    });
    assert.equal(down.movement.kind, 'adjustment');
    assert.equal(down.movement.reference, 'goodwill reversal');
    assert.equal(down.balance.amount.amount, '1.500000000000');
    assert.deepEqual(
      await refusal(() =>
        adjustBalance(deps, caller, {
          balanceId: moneyId,
          amount: { amount: '-1.51', units: 'EUR' },
          reason: 'too much',
        }),
      ),
      { code: 'charging.insufficient_balance', field: 'amount' },
    );
    await adjustBalance(deps, caller, {
      balanceId: moneyId,
      amount: { amount: '8.50', units: 'EUR' },
      reason: 'refill',
    });
    const events = await listEvents(db().db, tenantId, { limit: 1000 });
    const types = events.map((e) => e.type);
    assert.ok(types.includes('balance.topped_up'));
    assert.ok(types.includes('balance.adjusted'));
    const crossing = events.find((e) => e.type === 'balance.threshold_crossed');
    assert.ok(crossing, 'the low-balance crossing is an event');
    assert.equal((crossing.payload as { kind: string }).kind, 'low_balance');
  });

  it('pages the history and recomputes the balance from it', async () => {
    const first = await balanceHistory(deps, tenantId, moneyId, { limit: 2 });
    assert.deepEqual(
      first.items.map((m) => [m.seq, m.kind, m.reference]),
      [
        [1, 'top_up', first.items[0]!.reference],
        [2, 'top_up', 'psp-1'],
      ],
    );
    assert.equal(first.nextAfterSeq, 2);
    const rest = await balanceHistory(deps, tenantId, moneyId, { afterSeq: 2, limit: 100 });
    assert.deepEqual(
      rest.items.map((m) => m.kind),
      ['top_up', 'adjustment', 'adjustment'],
    );
    assert.equal(rest.items.at(-1)!.balanceAfter.amount, '10.000000000000');
    const report = await recomputeBalance(deps, caller, moneyId);
    assert.equal(report.matches, true);
    assert.equal(report.movements, 5);
    assert.deepEqual(report.recomputedAmount, report.storedAmount);
  });

  it('force-releases a reservation: the held money goes back, nothing is charged', async () => {
    const charged = await deps.charging.charge({
      tenantId,
      sessionId: 'admin-s1',
      requestNumber: 0,
      identityType: 'msisdn',
      identity: ANNA,
      atMs: clock.nowMs(),
      protocol: 'api',
      items: [{ ratingGroup: 10, service: 'voice', calledNumber: '491701234567', requestedUnits: 'default' }],
    });
    const reservationId = charged.outcome.items[0]!.reservationId;
    assert.ok(reservationId, `a reservation was made: ${show(charged.outcome)}`);
    const [active] = await listReservations(deps, tenantId, { accountId: annaAccount, limit: 10 });
    assert.equal(active?.id, reservationId);
    assert.notEqual((await getBalance(deps, tenantId, moneyId)).held.amount, '0.000000000000');
    const released = await releaseReservation(deps, caller, reservationId);
    assert.equal(released.status, 'released');
    const after = await getBalance(deps, tenantId, moneyId);
    assert.equal(after.held.amount, '0.000000000000');
    assert.equal(after.amount.amount, '10.000000000000');
    assert.deepEqual(await refusal(() => releaseReservation(deps, caller, reservationId)), {
      code: 'charging.already_released',
      field: undefined,
    });
    assert.equal((await listReservations(deps, tenantId, { accountId: annaAccount, limit: 10 })).length, 0);
    assert.equal((await recomputeBalance(deps, caller, moneyId)).matches, true);
  });

  it('generates vouchers whose PINs are shown once and stored only hashed', async () => {
    const { batch, vouchers } = await generateVoucherBatch(deps, caller, SECRET, {
      faceValue: { amount: '10.00', units: 'EUR' },
      bonus: { percent: 10 },
      expiresAt: '2027-01-01T00:00:00Z',
      count: 3,
    });
    assert.equal(vouchers.length, 3);
    for (const v of vouchers) assert.match(v.pin, /^[0-9]{16}$/);
    const rows = await db().db.selectFrom('vouchers').selectAll().where('batch_id', '=', batch.id).execute();
    const batchRows = await db().db.selectFrom('voucher_batches').selectAll().execute();
    const audit = await db().db.selectFrom('audit_records').selectAll().execute();
    const events = await db().db.selectFrom('outbox_events').selectAll().execute();
    const stored = show([rows, batchRows, audit, events]);
    for (const v of vouchers) assert.ok(!stored.includes(v.pin), 'no PIN is stored anywhere');
    assert.equal(rows.length, 3);
    for (const row of rows) assert.match(row.pin_hash, /^[0-9a-f]{64}$/);

    // Redeemed once: 10.00 EUR + 10 % = 11.00 EUR; the second time is refused.
    const result = await redeemVoucher(deps, caller, SECRET, { pin: vouchers[0]!.pin, balanceId: moneyId });
    assert.deepEqual(result.credited, { amount: '11.000000000000', currency: 'EUR' });
    assert.equal(result.movement.kind, 'voucher');
    assert.equal(result.balance.amount.amount, '21.000000000000');
    assert.deepEqual(
      await refusal(() => redeemVoucher(deps, caller, SECRET, { pin: vouchers[0]!.pin, balanceId: moneyId })),
      { code: 'voucher.already_redeemed', field: 'pin' },
    );
    // Two concurrent redemptions of one PIN credit once.
    const settled = await Promise.allSettled([
      redeemVoucher(deps, caller, SECRET, { pin: vouchers[1]!.pin, balanceId: moneyId }),
      redeemVoucher(deps, caller, SECRET, { pin: vouchers[1]!.pin, balanceId: moneyId }),
    ]);
    assert.deepEqual(settled.map((s) => s.status).sort(), ['fulfilled', 'rejected']);
    assert.equal((await getBalance(deps, tenantId, moneyId)).amount.amount, '32.000000000000');
    // Another secret finds nothing; a wrong PIN is not found; a data bucket takes no money voucher.
    assert.equal(
      (
        await refusal(() =>
          redeemVoucher(deps, caller, `${SECRET}x`, { pin: vouchers[2]!.pin, balanceId: moneyId }),
        )
      ).code,
      'voucher.not_found',
    );
    const bucket = (await listBalances(deps, tenantId, { accountId: annaAccount, limit: 10 })).find(
      (b) => b.unit === 'byte',
    )!;
    assert.deepEqual(
      await refusal(() =>
        redeemVoucher(deps, caller, SECRET, { pin: vouchers[2]!.pin, balanceId: bucket.id }),
      ),
      { code: 'voucher.unit_mismatch', field: 'balanceId' },
    );
    assert.equal((await recomputeBalance(deps, caller, moneyId)).matches, true);
  });

  it('refuses an expired voucher', async () => {
    const { vouchers } = await generateVoucherBatch(deps, caller, SECRET, {
      faceValue: { amount: '1', units: 'GB' },
      expiresAt: '2026-11-25T13:00:00Z',
      count: 1,
    });
    clock.advanceMs(2 * 3_600_000);
    const bucket = (await listBalances(deps, tenantId, { accountId: annaAccount, limit: 10 })).find(
      (b) => b.unit === 'byte',
    )!;
    assert.deepEqual(
      await refusal(() =>
        redeemVoucher(deps, caller, SECRET, { pin: vouchers[0]!.pin, balanceId: bucket.id }),
      ),
      { code: 'voucher.expired', field: 'pin' },
    );
    assert.equal((await verifyAuditChain(db().db, tenantId)).ok, true);
  });
});
