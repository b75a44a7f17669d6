import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertChargingInvariants,
  commit,
  expireReservations,
  forgetSession,
  handleChargingRequest,
  maxAffordableUnits,
  release,
  reserve,
  type ChargingState,
  type Pricing,
  type RatingGroupRequest,
} from './index.js';
import { DAY, POLICY, T0, emptyState, pico, withBalance } from './fixtures.js';

/** 0.001 EUR per second. */
const PER_SECOND: Pricing = { unitPricePico: pico('0.001') };

const voice = {
  subscriptionId: 'SUB1',
  ratingGroup: 1,
  service: 'voice',
  unit: 'second',
  pricing: PER_SECOND,
} as const;

/** Reserve `units` of voice in session `sessionId` with request number `n`. */
function reserveVoice(
  state: ChargingState,
  sessionId: string,
  n: number,
  units: bigint | 'default',
  atMs = T0,
) {
  return reserve(state, { ...voice, sessionId, requestNumber: n, atMs, requestedUnits: units }, POLICY);
}

function commitVoice(state: ChargingState, sessionId: string, n: number, used: bigint, atMs = T0 + 60_000) {
  return commit(state, { ...voice, sessionId, requestNumber: n, atMs, usedUnits: used }, POLICY);
}

describe('reserve: what a grant draws from', () => {
  it('draws buckets by priority, then earliest expiry, before money', () => {
    const state = emptyState();
    const late = withBalance(
      state,
      { id: 'late', unit: 'second', priority: 1, validUntilMs: T0 + 20 * DAY },
      100n,
    );
    const soon = withBalance(
      state,
      { id: 'soon', unit: 'second', priority: 1, validUntilMs: T0 + 2 * DAY },
      100n,
    );
    const first = withBalance(state, { id: 'first', unit: 'second', priority: 0 }, 50n);
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('10'));
    const outcome = reserveVoice(state, 's', 0, 300n);
    assert.equal(outcome.items[0]?.grantCode, 'granted');
    assert.equal(outcome.items[0]?.grantedUnits, 300n);
    // 50 from priority 0, 100 from the bucket expiring first, 100 from the later one, 50 s of money.
    assert.deepEqual([first.held, soon.held, late.held, money.held], [50n, 100n, 100n, pico('0.05')]);
    const reservation = state.sessions.get('s')!.reservations[0]!;
    assert.deepEqual(reservation.holdBalanceIds, ['first', 'soon', 'late', 'M']);
    assert.equal(reservation.moneyUnits, 50n);
    assert.equal(reservation.heldPico, pico('0.05'));
    assert.equal(reservation.expiresAtMs, T0 + POLICY.validityMs);
    assertChargingInvariants(state);
  });

  it('skips buckets whose filters or validity do not match', () => {
    const state = emptyState();
    withBalance(state, { id: 'data-only', unit: 'second', services: ['data'] }, 100n);
    withBalance(state, { id: 'rg-9', unit: 'second', ratingGroups: [9] }, 100n);
    withBalance(state, { id: 'roaming', unit: 'second', zones: ['EU'] }, 100n);
    withBalance(state, { id: 'not-yet', unit: 'second', validFromMs: T0 + 1 }, 100n);
    withBalance(state, { id: 'ended', unit: 'second', validUntilMs: T0 }, 100n);
    withBalance(state, { id: 'bytes', unit: 'byte' }, 100n);
    withBalance(state, { id: 'sibling', unit: 'second', ownerKind: 'subscription', ownerId: 'SUB2' }, 100n);
    const own = withBalance(
      state,
      { id: 'own', unit: 'second', ownerKind: 'subscription', ownerId: 'SUB1' },
      30n,
    );
    const outcome = reserveVoice(state, 's', 0, 60n);
    assert.equal(outcome.items[0]?.grantCode, 'partially_granted');
    assert.equal(outcome.items[0]?.grantedUnits, 30n);
    assert.equal(outcome.items[0]?.finalUnits, true);
    assert.equal(own.held, 30n);
    for (const balance of state.balances.values())
      if (balance !== own) assert.equal(balance.held, 0n, balance.id);
  });

  it('lets every subscription of an account draw from its shared pool', () => {
    const state = emptyState();
    const pool = withBalance(state, { id: 'pool', unit: 'second' }, 100n);
    reserveVoice(state, 'a', 0, 60n);
    const second = reserve(
      state,
      { ...voice, subscriptionId: 'SUB2', sessionId: 'b', requestNumber: 0, atMs: T0, requestedUnits: 60n },
      POLICY,
    );
    // 60 + 40: the second session gets what the first left.
    assert.equal(second.items[0]?.grantedUnits, 40n);
    assert.equal(pool.held, 100n);
  });

  it('sizes the money part by the price: floor(available / unit price)', () => {
    // 1 EUR at 0.003 EUR/s: floor(10^12 / (3 × 10^9)) = 333 s, holding 0.999 EUR.
    const state = emptyState();
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('1'));
    const outcome = reserve(
      state,
      {
        ...voice,
        pricing: { unitPricePico: pico('0.003') },
        sessionId: 's',
        requestNumber: 0,
        atMs: T0,
        requestedUnits: 600n,
      },
      POLICY,
    );
    assert.equal(outcome.items[0]?.grantCode, 'partially_granted');
    assert.equal(outcome.items[0]?.grantedUnits, 333n);
    assert.equal(money.held, pico('0.999'));
  });

  it('inverts a price function with a connect fee and increments', () => {
    // 0.10 EUR to connect, then 0.06 EUR per started minute: price(u) = 0.10 + 0.06 × ceil(u / 60).
    const price = (units: bigint): bigint =>
      units === 0n ? 0n : pico('0.10') + pico('0.06') * ((units + 59n) / 60n);
    const pricing: Pricing = { price };
    // With 0.40 EUR: 0.10 + 0.06 × 5 = 0.40 buys 5 minutes = 300 s; 301 s would cost 0.46.
    assert.equal(maxAffordableUnits(pricing, 1000n, pico('0.40')), 300n);
    assert.equal(maxAffordableUnits(pricing, 1000n, pico('0.09')), 0n);
    assert.equal(maxAffordableUnits(pricing, 100n, pico('1')), 100n);
    assert.equal(maxAffordableUnits({ price: () => undefined }, 100n, pico('1')), undefined);
    assert.equal(maxAffordableUnits({ unitPricePico: 0n }, 100n, 0n), 100n);

    const state = emptyState();
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('0.40'));
    const outcome = reserve(
      state,
      { ...voice, pricing, sessionId: 's', requestNumber: 0, atMs: T0, requestedUnits: 900n },
      POLICY,
    );
    assert.equal(outcome.items[0]?.grantedUnits, 300n);
    assert.equal(money.held, pico('0.40'));
  });

  it('uses the default grant per service, then per unit, within the maximum', () => {
    const state = emptyState();
    withBalance(state, { id: 'M', unit: 'money' }, pico('100'));
    assert.equal(reserveVoice(state, 'v', 0, 'default').items[0]?.grantedUnits, 300n);
    const data: RatingGroupRequest = {
      ratingGroup: 2,
      service: 'data',
      unit: 'byte',
      requestedUnits: 'default',
      pricing: { unitPricePico: 1n },
    };
    const outcome = handleChargingRequest(
      state,
      { sessionId: 'd', requestNumber: 0, subscriptionId: 'SUB1', atMs: T0, items: [data] },
      { ...POLICY, maxGrantByUnit: { byte: 1_000_000n } },
    );
    // The unit default is 10 MB; the policy's maximum cuts it to 1 MB, a full grant of that.
    assert.equal(outcome.items[0]?.grantCode, 'granted');
    assert.equal(outcome.items[0]?.grantedUnits, 1_000_000n);
  });
});

describe('reserve: refusals', () => {
  it('answers quota_limit_reached, no_balance, rating_failed and user_unknown as values', () => {
    const state = emptyState();
    withBalance(state, { id: 'M', unit: 'money' }, 0n);
    assert.equal(reserveVoice(state, 'a', 0, 60n).items[0]?.grantCode, 'quota_limit_reached');
    assert.equal(state.sessions.get('a')!.reservations.length, 0);

    const noMoney = emptyState();
    withBalance(noMoney, { id: 'data', unit: 'byte' }, 100n);
    assert.equal(reserveVoice(noMoney, 'b', 0, 60n).items[0]?.grantCode, 'no_balance');

    withBalance(state, { id: 'M2', unit: 'money', priority: 200 }, pico('5'));
    const failed = reserve(
      state,
      {
        ...voice,
        pricing: { price: () => undefined },
        sessionId: 'c',
        requestNumber: 0,
        atMs: T0,
        requestedUnits: 60n,
      },
      POLICY,
    );
    assert.equal(failed.items[0]?.grantCode, 'rating_failed');

    const unknown = reserve(
      state,
      { ...voice, subscriptionId: 'SUB9', sessionId: 'd', requestNumber: 0, atMs: T0, requestedUnits: 60n },
      POLICY,
    );
    assert.equal(unknown.code, 'user_unknown');
    assert.equal(state.sessions.has('d'), false);
  });

  it('refuses malformed requests without touching the state', () => {
    const state = emptyState();
    withBalance(state, { id: 'M', unit: 'money' }, pico('5'));
    const bad = handleChargingRequest(
      state,
      {
        sessionId: 's',
        requestNumber: 0,
        subscriptionId: 'SUB1',
        atMs: T0,
        items: [
          { ...voice, requestedUnits: 5n },
          { ...voice, requestedUnits: 5n },
        ],
      },
      POLICY,
    );
    assert.equal(bad.code, 'invalid_request');
    assert.match(bad.message, /items\/1\/ratingGroup/);
    assert.equal(reserveVoice(state, 's', 0, -5n).code, 'invalid_request');
    assert.equal(state.sessions.size, 0);
  });
});

describe('credit limit and spending cap', () => {
  it('lets a postpaid balance go down to −creditLimit and no further', () => {
    const state = emptyState();
    const money = withBalance(state, { id: 'M', unit: 'money', creditLimitPico: pico('1') }, pico('0.5'));
    // 0.5 + 1 = 1.5 EUR at 0.001 EUR/s = 1500 s.
    const outcome = reserveVoice(state, 's', 0, 2000n);
    assert.equal(outcome.items[0]?.grantedUnits, 1500n);
    commitVoice(state, 's', 1, 1500n);
    assert.equal(money.amount, pico('-1'));
    assert.equal(reserveVoice(state, 't', 0, 1n).items[0]?.grantCode, 'quota_limit_reached');
    assertChargingInvariants(state);
  });

  it('stops spending at the cap and says so', () => {
    const state = emptyState();
    const money = withBalance(
      state,
      {
        id: 'M',
        unit: 'money',
        creditLimitPico: pico('100'),
        spendingCap: { limitPico: pico('0.3'), periodStartMs: T0 - DAY, periodEndMs: T0 + 30 * DAY },
      },
      0n,
    );
    // The cap leaves 0.30 EUR = 300 s, though the credit limit would allow 100 EUR.
    assert.equal(reserveVoice(state, 's', 0, 1000n).items[0]?.grantedUnits, 300n);
    assert.equal(reserveVoice(state, 't', 0, 10n).items[0]?.grantCode, 'spending_cap_reached');
    commitVoice(state, 's', 1, 200n);
    assert.equal(money.spendingCap!.spentPico, pico('0.2'));
    assert.equal(reserveVoice(state, 't', 1, 1000n).items[0]?.grantedUnits, 100n);
    assertChargingInvariants(state);
  });
});

describe('commit', () => {
  it('charges what was used and releases the rest', () => {
    // 300 s granted: 100 s from a bucket and 200 s of money (0.20 EUR held). 150 s used:
    // 100 s from the bucket, 50 s × 0.001 = 0.05 EUR; 150 s and 0.15 EUR released.
    const state = emptyState();
    const bucket = withBalance(state, { id: 'B', unit: 'second' }, 100n);
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('1'));
    reserveVoice(state, 's', 0, 300n);
    const outcome = commitVoice(state, 's', 1, 150n);
    const item = outcome.items[0]!;
    assert.equal(item.commitCode, 'committed');
    assert.equal(item.chargedUnits, 150n);
    assert.equal(item.chargedPico, pico('0.05'));
    assert.equal(item.releasedUnits, 150n);
    assert.equal(item.unchargedUnits, 0n);
    assert.equal(bucket.amount, 0n);
    assert.equal(money.amount, pico('0.95'));
    assert.equal(bucket.held + money.held, 0n);
    assert.deepEqual(
      outcome.movements.map((m) => [m.balanceId, m.kind, m.amount, m.reference]),
      [
        ['B', 'charge', -100n, 's/0/1'],
        ['M', 'charge', -pico('0.05'), 's/0/1'],
      ],
    );
    const reservation = state.sessions.get('s')!.reservations[0]!;
    assert.equal(reservation.status, 'committed');
    assert.equal(reservation.committedUnits + reservation.releasedUnits, reservation.grantedUnits);
    assertChargingInvariants(state);
  });

  it('charges more than reserved as far as the balances can pay, and reports the rest', () => {
    const state = emptyState();
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('0.5'));
    reserveVoice(state, 's', 0, 100n); // holds 0.10 EUR
    // 450 s used: 0.45 EUR, affordable from 0.50 EUR.
    const within = commitVoice(state, 's', 1, 450n).items[0]!;
    assert.equal(within.chargedUnits, 450n);
    assert.equal(within.unchargedUnits, 0n);
    assert.equal(within.releasedUnits, 0n);
    assert.equal(money.amount, pico('0.05'));
    // 100 s reserved of the 0.05 EUR left is 50 s; 80 s used: 50 charged, 30 uncharged.
    assert.equal(reserveVoice(state, 's', 2, 100n).items[0]?.grantedUnits, 50n);
    const beyond = commitVoice(state, 's', 3, 80n).items[0]!;
    assert.equal(beyond.chargedUnits, 50n);
    assert.equal(beyond.unchargedUnits, 30n);
    assert.equal(money.amount, 0n);
    const reservation = state.sessions.get('s')!.reservations[0]!;
    assert.equal(reservation.committedUnits, 50n);
    assert.equal(reservation.releasedUnits, 0n);
    assertChargingInvariants(state);
  });

  it('does not let another session take units the reservation holds', () => {
    const state = emptyState();
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('0.3'));
    assert.equal(reserveVoice(state, 'a', 0, 200n).items[0]?.grantedUnits, 200n);
    assert.equal(reserveVoice(state, 'b', 0, 200n).items[0]?.grantedUnits, 100n);
    assert.equal(reserveVoice(state, 'c', 0, 200n).items[0]?.grantCode, 'quota_limit_reached');
    assert.equal(commitVoice(state, 'a', 1, 200n).items[0]?.chargedUnits, 200n);
    assert.equal(commitVoice(state, 'b', 1, 100n).items[0]?.chargedUnits, 100n);
    assert.equal(money.amount, 0n);
  });

  it('names what is wrong with a report: not found, already committed, released, expired', () => {
    const state = emptyState();
    withBalance(state, { id: 'M', unit: 'money' }, pico('10'));
    assert.equal(commitVoice(state, 's', 0, 10n).items[0]?.commitCode, 'reservation_not_found');
    reserveVoice(state, 's', 1, 60n);
    assert.equal(commitVoice(state, 's', 2, 10n).items[0]?.commitCode, 'committed');
    assert.equal(commitVoice(state, 's', 3, 10n).items[0]?.commitCode, 'already_committed');
    reserveVoice(state, 's', 4, 60n);
    const released = release(state, { ...voice, sessionId: 's', requestNumber: 5, atMs: T0 }, POLICY);
    assert.equal(released.items[0]?.commitCode, 'released');
    assert.equal(released.items[0]?.releasedUnits, 60n);
    assert.equal(commitVoice(state, 's', 6, 10n).items[0]?.commitCode, 'already_released');
    reserveVoice(state, 's', 7, 60n, T0);
    // A report after the validity ended is too late, even before a sweep ran.
    const late = commitVoice(state, 's', 8, 10n, T0 + POLICY.validityMs);
    assert.equal(late.items[0]?.commitCode, 'reservation_expired');
    assert.deepEqual(late.movements, []);
    assert.equal(state.balances.get('M')!.held, 0n);
  });
});

describe('release and expiry', () => {
  it('releases everything held and charges nothing', () => {
    const state = emptyState();
    const bucket = withBalance(state, { id: 'B', unit: 'second' }, 100n);
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('1'));
    reserveVoice(state, 's', 0, 300n);
    const outcome = release(state, { ...voice, sessionId: 's', requestNumber: 1, atMs: T0 }, POLICY);
    assert.equal(outcome.items[0]?.commitCode, 'released');
    assert.deepEqual(outcome.movements, []);
    assert.deepEqual([bucket.amount, bucket.held, money.amount, money.held], [100n, 0n, pico('1'), 0n]);
  });

  it('expires orphaned reservations after their validity', () => {
    const state = emptyState();
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('1'));
    reserveVoice(state, 'old', 0, 100n, T0);
    reserveVoice(state, 'new', 0, 100n, T0 + 10 * 60_000);
    assert.equal(expireReservations(state, T0 + POLICY.validityMs - 1).expiredReservations.length, 0);
    const swept = expireReservations(state, T0 + POLICY.validityMs);
    assert.deepEqual(
      swept.expiredReservations.map((r) => [r.id, r.status, r.releasedUnits]),
      [['old/0/1', 'expired', 100n]],
    );
    assert.equal(money.held, pico('0.1'));
    assert.equal(commitVoice(state, 'old', 1, 50n).items[0]?.commitCode, 'reservation_expired');
    assert.equal(money.amount, pico('1'));
    assertChargingInvariants(state);
  });
});

describe('sessions', () => {
  it('handles several rating groups in one request, commits before grants', () => {
    const state = emptyState();
    withBalance(state, { id: 'data', unit: 'byte', services: ['data'] }, 1_000_000n);
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('0.2'));
    const data = { service: 'data', unit: 'byte', pricing: { unitPricePico: pico('0.000001') } } as const;
    const first = handleChargingRequest(
      state,
      {
        sessionId: 's',
        requestNumber: 0,
        subscriptionId: 'SUB1',
        atMs: T0,
        items: [
          { ...voice, requestedUnits: 200n },
          { ...data, ratingGroup: 2, requestedUnits: 600_000n },
        ],
      },
      POLICY,
    );
    assert.deepEqual(
      first.items.map((i) => [i.ratingGroup, i.grantCode, i.grantedUnits]),
      [
        [1, 'granted', 200n],
        [2, 'granted', 600_000n],
      ],
    );
    // Voice holds all 0.20 EUR. Reporting 100 s frees 0.10 EUR in the same request, so a new
    // voice grant of 100 s fits; the data grant replaces the open one from the bucket.
    const second = handleChargingRequest(
      state,
      {
        sessionId: 's',
        requestNumber: 1,
        subscriptionId: 'SUB1',
        atMs: T0 + 60_000,
        items: [
          { ...voice, usedUnits: 100n, requestedUnits: 200n },
          { ...data, ratingGroup: 2, requestedUnits: 800_000n },
        ],
      },
      POLICY,
    );
    assert.deepEqual(
      second.items.map((i) => [i.commitCode, i.chargedUnits, i.grantCode, i.grantedUnits, i.finalUnits]),
      [
        ['committed', 100n, 'partially_granted', 100n, true],
        [undefined, 0n, 'granted', 800_000n, false],
      ],
    );
    assert.equal(money.amount, pico('0.1'));
    assertChargingInvariants(state);
  });

  it('terminates: commits the reports, releases the rest, refuses later requests', () => {
    const state = emptyState();
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('1'));
    handleChargingRequest(
      state,
      {
        sessionId: 's',
        requestNumber: 0,
        subscriptionId: 'SUB1',
        atMs: T0,
        items: [
          { ...voice, requestedUnits: 100n },
          { ...voice, ratingGroup: 7, requestedUnits: 100n },
        ],
      },
      POLICY,
    );
    const end = commit(
      state,
      { ...voice, sessionId: 's', requestNumber: 1, atMs: T0 + 1000, usedUnits: 30n, terminate: true },
      POLICY,
    );
    assert.equal(end.items[0]?.commitCode, 'committed');
    assert.equal(money.held, 0n);
    assert.equal(money.amount, pico('0.97'));
    assert.deepEqual(
      state.sessions.get('s')!.reservations.map((r) => r.status),
      ['committed', 'released'],
    );
    assert.equal(reserveVoice(state, 's', 2, 10n).code, 'session_terminated');
    assert.equal(forgetSession(state, 's'), true);
    assert.equal(state.sessions.has('s'), false);
  });

  it('keeps a session with an open reservation', () => {
    const state = emptyState();
    withBalance(state, { id: 'M', unit: 'money' }, pico('1'));
    reserveVoice(state, 's', 0, 10n);
    assert.equal(forgetSession(state, 's'), false);
  });
});

describe('idempotency', () => {
  it('returns the first outcome for a repeated request and changes nothing', () => {
    const state = emptyState();
    const money = withBalance(state, { id: 'M', unit: 'money' }, pico('1'));
    const granted = reserveVoice(state, 's', 0, 300n);
    const again = reserveVoice(state, 's', 0, 300n, T0 + 5000);
    assert.equal(again.replayed, true);
    assert.deepEqual({ ...again, replayed: false }, granted);
    assert.equal(money.held, pico('0.3'));

    const committed = commitVoice(state, 's', 1, 120n);
    const duplicate = commitVoice(state, 's', 1, 120n);
    assert.equal(duplicate.replayed, true);
    assert.equal(duplicate.items[0]?.commitCode, 'committed');
    assert.deepEqual(duplicate.movements, committed.movements);
    // One debit, not two: 1 − 0.12 = 0.88 EUR.
    assert.equal(money.amount, pico('0.88'));
    assert.equal(money.version, 2);
  });

  it('refuses a reused request number with another request, and an older number', () => {
    const state = emptyState();
    withBalance(state, { id: 'M', unit: 'money' }, pico('1'));
    reserveVoice(state, 's', 0, 300n);
    commitVoice(state, 's', 1, 120n);
    const mismatch = commitVoice(state, 's', 1, 121n);
    assert.equal(mismatch.code, 'request_mismatch');
    const stale = reserveVoice(state, 's', 0, 300n);
    assert.equal(stale.code, 'stale_request');
    assert.equal(state.balances.get('M')!.amount, pico('0.88'));
  });
});

describe('many sessions on one shared balance', () => {
  it('never holds more than the balance and its credit limit allow', () => {
    const state = emptyState();
    const money = withBalance(state, { id: 'M', unit: 'money', creditLimitPico: pico('2') }, pico('3'));
    let granted = 0n;
    for (let i = 0; i < 200; i++) {
      const outcome = reserve(
        state,
        {
          ...voice,
          subscriptionId: i % 2 === 0 ? 'SUB1' : 'SUB2',
          sessionId: `s${i}`,
          requestNumber: 0,
          atMs: T0,
          requestedUnits: 37n,
        },
        POLICY,
      );
      granted += outcome.items[0]?.grantedUnits ?? 0n;
    }
    // 3 + 2 = 5 EUR at 0.001 EUR/s is exactly 5000 s, whatever the interleaving.
    assert.equal(granted, 5000n);
    assert.equal(money.held, pico('5'));
    assertChargingInvariants(state);
  });
});
