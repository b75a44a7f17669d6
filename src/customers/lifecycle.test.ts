import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isTollgateError } from '../kernel/errors.js';
import {
  ACCOUNT_TRANSITIONS,
  SUBSCRIPTION_STATUSES,
  SUBSCRIPTION_TRANSITIONS,
  canTransition,
  checkAccountTransition,
  checkCustomerTransition,
  checkTransition,
  reasonRequired,
  transitionName,
  type SubscriptionStatus,
} from './lifecycle.js';

function rejects(work: () => unknown, code: string, detail?: RegExp): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(isTollgateError(error), String(error));
    assert.equal(error.code, code);
    if (detail) assert.match(error.message, detail);
    return true;
  });
}

describe('subscription lifecycle', () => {
  it('allows exactly the documented transitions', () => {
    const allowed = SUBSCRIPTION_STATUSES.flatMap((from) =>
      SUBSCRIPTION_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`),
    );
    assert.deepEqual(allowed.sort(), [
      'active->barred',
      'active->suspended',
      'active->terminated',
      'barred->active',
      'barred->suspended',
      'barred->terminated',
      'pending->active',
      'pending->terminated',
      'suspended->active',
      'suspended->barred',
      'suspended->terminated',
    ]);
    assert.deepEqual(SUBSCRIPTION_TRANSITIONS.terminated, []);
  });

  it('needs a reason to suspend, bar or terminate', () => {
    assert.deepEqual(
      SUBSCRIPTION_STATUSES.filter((s) => reasonRequired(s)),
      ['suspended', 'barred', 'terminated'],
    );
    rejects(() => checkTransition('active', 'suspended', undefined), 'customers.reason_required');
    rejects(() => checkTransition('active', 'barred', '   '), 'customers.reason_required');
    assert.equal(checkTransition('active', 'barred', '  non-payment  '), 'non-payment');
    assert.equal(checkTransition('pending', 'active', undefined), undefined);
    assert.equal(checkTransition('suspended', 'active', ''), undefined);
  });

  it('refuses the rest, naming what is allowed', () => {
    rejects(
      () => checkTransition('terminated', 'active', 'oops'),
      'customers.invalid_transition',
      /terminated is final/,
    );
    rejects(
      () => checkTransition('pending', 'suspended', 'x'),
      'customers.invalid_transition',
      /from pending it may become active or terminated/,
    );
    rejects(
      () => checkTransition('active', 'active', undefined),
      'customers.invalid_transition',
      /already active/,
    );
  });

  it('names transitions for events', () => {
    assert.equal(transitionName('pending', 'active'), 'activate');
    assert.equal(transitionName('pending', 'terminated'), 'cancel');
    assert.equal(transitionName('barred', 'active'), 'unbar');
    assert.equal(transitionName('suspended', 'active'), 'resume');
    assert.equal(transitionName('active', 'barred'), 'bar');
  });

  it('no random walk leaves terminated or skips the checks', () => {
    const status = fc.constantFrom(...SUBSCRIPTION_STATUSES);
    fc.assert(
      fc.property(fc.array(status, { maxLength: 30 }), (targets) => {
        let current: SubscriptionStatus = 'pending';
        for (const to of targets) {
          try {
            checkTransition(current, to, 'because');
            assert.ok(canTransition(current, to));
            assert.notEqual(current, 'terminated', 'terminated moved');
            current = to;
          } catch (error) {
            assert.ok(isTollgateError(error));
            assert.ok(!canTransition(current, to));
          }
        }
      }),
    );
  });
});

describe('account and customer lifecycles', () => {
  it('accounts move between active and suspended and close for good', () => {
    assert.deepEqual(ACCOUNT_TRANSITIONS.closed, []);
    checkAccountTransition('active', 'suspended');
    checkAccountTransition('suspended', 'closed');
    rejects(
      () => checkAccountTransition('closed', 'active'),
      'customers.invalid_transition',
      /closed is final/,
    );
  });

  it('customers close for good', () => {
    checkCustomerTransition('active', 'closed');
    rejects(
      () => checkCustomerTransition('closed', 'active'),
      'customers.invalid_transition',
      /cannot be reopened/,
    );
  });
});
