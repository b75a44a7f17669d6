import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Money } from '../kernel/money.js';
import { assertFails } from '../testing/assert-fails.js';
import {
  CHARGING_CODES,
  ChargingErrors,
  availableOf,
  balanceAsMoney,
  isRetryable,
  isValidAt,
  matchesScope,
  openBalance,
  picoOfMoney,
  rollSpendingPeriod,
  type UsageScope,
} from './index.js';
import { DAY, T0, emptyState, pico, withBalance } from './fixtures.js';

const scope: UsageScope = {
  subscriptionId: 'SUB1',
  accountId: 'ACC',
  service: 'data',
  ratingGroup: 10,
  zone: 'EU',
};

describe('openBalance', () => {
  it('opens at zero with the documented defaults', () => {
    const balance = openBalance({ id: 'M', ownerKind: 'account', ownerId: 'ACC', unit: 'money' });
    assert.equal(balance.amount, 0n);
    assert.equal(balance.held, 0n);
    assert.equal(balance.version, 0);
    assert.equal(balance.priority, 100);
    assert.equal(balance.creditLimitPico, 0n);
    assert.equal(balance.creditNearPercent, 90);
    assert.deepEqual(balance.allowancePercents, [80, 100]);
    assert.equal(balance.validFromMs, null);
    assert.equal(balance.validUntilMs, null);
  });

  it('refuses definitions that cannot work', () => {
    const base = { id: 'B', ownerKind: 'account', ownerId: 'ACC' } as const;
    assertFails(
      () => openBalance({ ...base, unit: 'byte', creditLimitPico: 5n }),
      ChargingErrors.invalid_balance.code,
    );
    assertFails(
      () => openBalance({ ...base, unit: 'money', creditLimitPico: -1n }),
      ChargingErrors.invalid_balance.code,
    );
    assertFails(
      () => openBalance({ ...base, unit: 'second', validFromMs: T0, validUntilMs: T0 }),
      ChargingErrors.invalid_balance.code,
    );
    assertFails(
      () => openBalance({ ...base, unit: 'second', allowancePercents: [0, 100] }),
      ChargingErrors.invalid_balance.code,
    );
    assertFails(
      () =>
        openBalance({
          ...base,
          unit: 'money',
          spendingCap: { limitPico: 1n, periodStartMs: T0, periodEndMs: T0 },
        }),
      ChargingErrors.invalid_balance.code,
    );
  });
});

describe('consumption order', () => {
  it('is priority, then earliest expiry (never-expiring last), then id', () => {
    const state = emptyState();
    withBalance(state, { id: 'open-p1', unit: 'byte', priority: 1 }, 1n);
    withBalance(state, { id: 'late-p1', unit: 'byte', priority: 1, validUntilMs: T0 + 20 * DAY }, 1n);
    withBalance(state, { id: 'soon-p1', unit: 'byte', priority: 1, validUntilMs: T0 + 2 * DAY }, 1n);
    withBalance(state, { id: 'b-p0', unit: 'byte', priority: 0 }, 1n);
    withBalance(state, { id: 'a-p0', unit: 'byte', priority: 0 }, 1n);
    assert.deepEqual(
      state.order.map((balance) => balance.id),
      ['a-p0', 'b-p0', 'soon-p1', 'late-p1', 'open-p1'],
    );
  });
});

describe('matching and validity', () => {
  it('matches the owner: the subscription itself or its account', () => {
    const own = openBalance({ id: 'S', ownerKind: 'subscription', ownerId: 'SUB1', unit: 'byte' });
    const sibling = openBalance({ id: 'S2', ownerKind: 'subscription', ownerId: 'SUB2', unit: 'byte' });
    const pool = openBalance({ id: 'P', ownerKind: 'account', ownerId: 'ACC', unit: 'byte' });
    const otherAccount = openBalance({ id: 'O', ownerKind: 'account', ownerId: 'ACC2', unit: 'byte' });
    assert.equal(matchesScope(own, scope), true);
    assert.equal(matchesScope(sibling, scope), false);
    assert.equal(matchesScope(pool, scope), true);
    assert.equal(matchesScope(otherAccount, scope), false);
  });

  it('applies the service, rating group and zone filters', () => {
    const make = (extra: object) =>
      openBalance({ id: 'F', ownerKind: 'account', ownerId: 'ACC', unit: 'byte', ...extra });
    assert.equal(matchesScope(make({ services: ['data'] }), scope), true);
    assert.equal(matchesScope(make({ services: ['voice'] }), scope), false);
    assert.equal(matchesScope(make({ ratingGroups: [10, 11] }), scope), true);
    assert.equal(matchesScope(make({ ratingGroups: [20] }), scope), false);
    assert.equal(matchesScope(make({ zones: ['EU'] }), scope), true);
    assert.equal(matchesScope(make({ zones: ['US'] }), scope), false);
    // Usage without a zone (at home) never matches a zone list.
    assert.equal(matchesScope(make({ zones: ['EU'] }), { ...scope, zone: undefined }), false);
  });

  it('is valid on [validFrom, validUntil)', () => {
    const balance = openBalance({
      id: 'W',
      ownerKind: 'account',
      ownerId: 'ACC',
      unit: 'second',
      validFromMs: T0,
      validUntilMs: T0 + DAY,
    });
    assert.equal(isValidAt(balance, T0 - 1), false);
    assert.equal(isValidAt(balance, T0), true);
    assert.equal(isValidAt(balance, T0 + DAY - 1), true);
    assert.equal(isValidAt(balance, T0 + DAY), false);
  });
});

describe('availableOf', () => {
  it('adds the credit limit and subtracts holds, within the spending cap', () => {
    // amount −20, credit limit 50, holds 10: −20 + 50 − 10 = 20 EUR available.
    const state = emptyState();
    const balance = withBalance(
      state,
      {
        id: 'M',
        unit: 'money',
        creditLimitPico: pico('50'),
        spendingCap: { limitPico: pico('100'), periodStartMs: T0, periodEndMs: T0 + 30 * DAY },
      },
      0n,
    );
    balance.amount = pico('-20');
    balance.held = pico('10');
    assert.equal(availableOf(balance), pico('20'));
    // With 85 EUR of the 100 EUR cap spent: min(20, 100 − 85 − 10) = 5 EUR.
    balance.spendingCap!.spentPico = pico('85');
    assert.equal(availableOf(balance), pico('5'));
    // Never negative.
    balance.spendingCap!.spentPico = pico('99');
    assert.equal(availableOf(balance), 0n);
    // A new period drops the spending of the old one.
    assert.equal(rollSpendingPeriod(balance, T0 + 30 * DAY, T0 + 60 * DAY), true);
    assert.equal(availableOf(balance), pico('20'));
  });
});

describe('money conversions', () => {
  it('converts booked money to pico exactly and back with a named rounding', () => {
    assert.equal(picoOfMoney(Money.ofMinor(1234n, 'EUR')), 12_340_000_000_000n);
    const state = emptyState();
    const balance = withBalance(state, { id: 'M', unit: 'money' }, pico('1.234567'));
    assert.equal(balanceAsMoney(balance, 'EUR', 'down').amountMinor, 123n);
    assert.equal(balanceAsMoney(balance, 'EUR', 'half-up').amountMinor, 123n);
    assert.equal(balanceAsMoney(balance, 'EUR', 'up').amountMinor, 124n);
  });
});

describe('outcome codes', () => {
  it('marks every code success or not, retryable or not', () => {
    assert.equal(CHARGING_CODES.granted.success, true);
    assert.equal(CHARGING_CODES.partially_granted.success, true);
    assert.equal(CHARGING_CODES.quota_limit_reached.success, false);
    assert.equal(isRetryable('quota_limit_reached'), true);
    assert.equal(isRetryable('spending_cap_reached'), true);
    assert.equal(isRetryable('no_balance'), false);
    assert.equal(isRetryable('user_unknown'), false);
    assert.equal(isRetryable('already_committed'), false);
    assert.equal(ChargingErrors.user_unknown.kind, 'not_found');
    assert.equal(ChargingErrors.balance_mismatch.kind, 'integrity');
    for (const [code, info] of Object.entries(CHARGING_CODES)) {
      assert.equal(typeof info.retryable, 'boolean', code);
      assert.ok(info.title.length > 0, code);
    }
  });
});
