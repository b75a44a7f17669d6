import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertFails } from '../testing/assert-fails.js';
import {
  ChargingErrors,
  adjust,
  assertBalanceMatchesMovements,
  commit,
  expireBalances,
  grantAllowance,
  recompute,
  redeemVoucher,
  reserve,
  topUp,
  type Movement,
} from './index.js';
import { DAY, POLICY, T0, emptyState, pico, record, withBalance } from './fixtures.js';

describe('movements', () => {
  it('posts top-ups, vouchers, grants and adjustments, and the balance recomputes exactly', () => {
    const state = emptyState();
    const log = new Map<string, Movement[]>();
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('10'), log);
    record(log, topUp(state, { balanceId: 'M', amount: pico('5'), atMs: T0, reference: 'pay-1' }).movements);
    record(
      log,
      redeemVoucher(state, { balanceId: 'M', amount: pico('2.5'), atMs: T0, reference: 'V-9' }).movements,
    );
    record(
      log,
      adjust(state, { balanceId: 'M', amount: pico('-0.25'), atMs: T0, reference: 'goodwill reversal' })
        .movements,
    );
    // 10 + 5 + 2.5 − 0.25 = 17.25 EUR.
    assert.equal(money.amount, pico('17.25'));
    const movements = log.get('M')!;
    assert.deepEqual(
      movements.map((m) => [m.seq, m.kind, m.amount, m.balanceAfter, m.reference]),
      [
        [1, 'top_up', pico('10'), pico('10'), 'opening'],
        [2, 'top_up', pico('5'), pico('15'), 'pay-1'],
        [3, 'voucher', pico('2.5'), pico('17.5'), 'V-9'],
        [4, 'adjustment', pico('-0.25'), pico('17.25'), 'goodwill reversal'],
      ],
    );
    assert.equal(recompute(movements), money.amount);
    assertBalanceMatchesMovements(money, movements);

    const bucket = withBalance(state, { id: 'B', unit: 'byte' }, 0n);
    const granted = grantAllowance(state, {
      balanceId: 'B',
      amount: 5_000_000_000n,
      atMs: T0,
      reference: '2026-03',
    });
    assert.equal(granted.code, 'ok');
    assert.equal(bucket.amount, 5_000_000_000n);
    assert.equal(bucket.creditedTotal, 5_000_000_000n);
    assertBalanceMatchesMovements(bucket, granted.movements);
  });

  it('refuses unknown balances, empty amounts and debits beyond what is available', () => {
    const state = emptyState();
    withBalance(state, { id: 'M', unit: 'money', creditLimitPico: pico('5') }, pico('10'));
    assert.equal(
      topUp(state, { balanceId: 'nope', amount: 1n, atMs: T0, reference: '' }).code,
      'balance_not_found',
    );
    assert.equal(
      topUp(state, { balanceId: 'M', amount: 0n, atMs: T0, reference: '' }).code,
      'invalid_request',
    );
    assert.equal(
      topUp(state, { balanceId: 'M', amount: -1n, atMs: T0, reference: '' }).code,
      'invalid_request',
    );
    assert.equal(
      adjust(state, { balanceId: 'M', amount: 0n, atMs: T0, reference: '' }).code,
      'invalid_request',
    );
    // 10 + credit limit 5 = 15 EUR may go; a 3 EUR reservation holds part of it: 12 EUR left.
    const held = reserve(
      state,
      {
        sessionId: 's',
        requestNumber: 0,
        subscriptionId: 'SUB1',
        atMs: T0,
        ratingGroup: 1,
        service: 'content',
        unit: 'event',
        requestedUnits: 3n,
        pricing: { unitPricePico: pico('1') },
      },
      POLICY,
    );
    assert.equal(held.items[0]?.grantCode, 'granted');
    assert.equal(
      adjust(state, { balanceId: 'M', amount: -pico('12.000000000001'), atMs: T0, reference: '' }).code,
      'insufficient_balance',
    );
    assert.equal(adjust(state, { balanceId: 'M', amount: -pico('12'), atMs: T0, reference: '' }).code, 'ok');
    assert.equal(state.balances.get('M')!.amount, pico('-2'));
  });

  it('detects a history that does not add up (the paired assertion)', () => {
    const state = emptyState();
    const log = new Map<string, Movement[]>();
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('10'), log);
    record(log, topUp(state, { balanceId: 'M', amount: pico('1'), atMs: T0, reference: '' }).movements);
    const movements = log.get('M')!;
    // The running balance drifted from its movements.
    money.amount += 1n;
    assertFails(() => assertBalanceMatchesMovements(money, movements), ChargingErrors.balance_mismatch.code);
    money.amount -= 1n;
    // A movement is missing from the history.
    assertFails(
      () => assertBalanceMatchesMovements(money, movements.slice(1)),
      ChargingErrors.balance_mismatch.code,
    );
    // A movement's amount was edited.
    const edited = [movements[0]!, { ...movements[1]!, amount: pico('2') }];
    assertFails(() => recompute(edited), ChargingErrors.balance_mismatch.code, { mentions: ['movement 2'] });
  });
});

describe('expiry of balances', () => {
  it('expires what is left at the end of the validity, except what an open reservation holds', () => {
    // A bucket of 500 ends with 120 left of which a session holds 20: the sweep posts −100.
    const state = emptyState();
    const log = new Map<string, Movement[]>();
    const bucket = withBalance(state, { id: 'B', unit: 'byte', validUntilMs: T0 + DAY }, 500n, log);
    const request = {
      sessionId: 's',
      subscriptionId: 'SUB1',
      ratingGroup: 1,
      service: 'data',
      unit: 'byte',
      pricing: { unitPricePico: 0n },
    } as const;
    reserve(state, { ...request, requestNumber: 0, atMs: T0, requestedUnits: 380n }, POLICY);
    record(
      log,
      commit(state, { ...request, requestNumber: 1, atMs: T0 + 1, usedUnits: 380n }, POLICY).movements,
    );
    reserve(state, { ...request, requestNumber: 2, atMs: T0 + DAY - 60_000, requestedUnits: 20n }, POLICY);
    assert.equal(bucket.amount, 120n);
    assert.equal(bucket.held, 20n);
    assert.deepEqual(expireBalances(state, T0 + DAY - 1).movements, []);
    const swept = expireBalances(state, T0 + DAY);
    record(log, swept.movements);
    assert.deepEqual(
      swept.movements.map((m) => [m.kind, m.amount]),
      [['expiry', -100n]],
    );
    // An expiry is not use: no allowance threshold is reported.
    assert.deepEqual(swept.thresholds, []);
    // The held units can still be committed after the end: 5 used, 15 released, then expired.
    const committed = commit(
      state,
      { ...request, requestNumber: 3, atMs: T0 + DAY + 1000, usedUnits: 5n },
      POLICY,
    );
    record(log, committed.movements);
    assert.equal(committed.items[0]?.commitCode, 'committed');
    assert.equal(bucket.amount, 15n);
    record(log, expireBalances(state, T0 + DAY + 2000).movements);
    assert.equal(bucket.amount, 0n);
    assertBalanceMatchesMovements(bucket, log.get('B')!);
  });

  it('never expires a debt', () => {
    const state = emptyState();
    const money = withBalance(
      state,
      { id: 'M', unit: 'money', creditLimitPico: pico('10'), validUntilMs: T0 },
      0n,
    );
    adjust(state, { balanceId: 'M', amount: pico('-3'), atMs: T0 - 1, reference: '' });
    assert.deepEqual(expireBalances(state, T0 + DAY).movements, []);
    assert.equal(money.amount, pico('-3'));
  });
});

describe('thresholds', () => {
  it('reports low balance once per crossing, re-armed by a top-up', () => {
    const state = emptyState();
    withBalance(state, { id: 'M', unit: 'money', lowBalancePico: pico('2') }, pico('5'));
    const debit = (amount: string) =>
      adjust(state, { balanceId: 'M', amount: -pico(amount), atMs: T0, reference: '' }).thresholds;
    assert.deepEqual(debit('2'), []); // 5 → 3: still ≥ 2
    assert.deepEqual(
      debit('1.5').map((t) => [t.kind, t.amountAfter]),
      [['low_balance', pico('1.5')]],
    ); // 3 → 1.5
    assert.deepEqual(debit('0.5'), []); // 1.5 → 1: already under
    topUp(state, { balanceId: 'M', amount: pico('4'), atMs: T0, reference: '' }); // 1 → 5
    assert.equal(debit('3.5').length, 1); // 5 → 1.5: crossed again
  });

  it('reports the credit limit near at the configured percent', () => {
    // Limit 50 EUR at 90 %: crossed when the balance reaches −45 EUR.
    const state = emptyState();
    withBalance(state, { id: 'M', unit: 'money', creditLimitPico: pico('50') }, pico('5'));
    const debit = (amount: string) =>
      adjust(state, { balanceId: 'M', amount: -pico(amount), atMs: T0, reference: '' }).thresholds;
    assert.deepEqual(debit('49.99'), []); // 5 → −44.99
    assert.deepEqual(
      debit('0.01').map((t) => [t.kind, t.percent, t.amountAfter]),
      [['credit_limit_near', 90, pico('-45')]],
    );
    assert.deepEqual(debit('1'), []);
  });

  it('reports 80 % and 100 % of an allowance used, each once', () => {
    const state = emptyState();
    withBalance(state, { id: 'B', unit: 'second' }, 1000n);
    const base = {
      sessionId: 's',
      subscriptionId: 'SUB1',
      ratingGroup: 1,
      service: 'voice',
      unit: 'second',
      pricing: { unitPricePico: pico('0.01') },
    } as const;
    let number = 0;
    const use = (units: bigint) => {
      reserve(state, { ...base, requestNumber: number++, atMs: T0, requestedUnits: units }, POLICY);
      return commit(state, { ...base, requestNumber: number++, atMs: T0, usedUnits: units }, POLICY)
        .thresholds;
    };
    assert.deepEqual(use(799n), []);
    assert.deepEqual(
      use(1n).map((t) => [t.kind, t.percent]),
      [['allowance_used', 80]],
    ); // 800 of 1000 used
    assert.deepEqual(use(150n), []);
    assert.deepEqual(
      use(50n).map((t) => [t.kind, t.percent, t.amountAfter]),
      [['allowance_used', 100, 0n]],
    );
  });

  it('reports both allowance thresholds when one debit crosses both', () => {
    const state = emptyState();
    withBalance(state, { id: 'B', unit: 'message' }, 10n);
    const base = {
      sessionId: 's',
      subscriptionId: 'SUB1',
      ratingGroup: 2,
      service: 'sms',
      unit: 'message',
      pricing: { unitPricePico: pico('0.09') },
    } as const;
    reserve(state, { ...base, requestNumber: 0, atMs: T0, requestedUnits: 10n }, POLICY);
    const outcome = commit(state, { ...base, requestNumber: 1, atMs: T0, usedUnits: 10n }, POLICY);
    assert.deepEqual(
      outcome.thresholds.map((t) => t.percent),
      [80, 100],
    );
  });
});
