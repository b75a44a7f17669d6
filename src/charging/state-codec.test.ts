import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  handleChargingRequest,
  type ChargingOutcome,
  type ChargingRequest,
  type Reservation,
} from './index.js';
import { POLICY, T0, emptyState, pico, withBalance } from './fixtures.js';
import {
  decodeReservationState,
  decodeSessionState,
  encodeReservationState,
  encodeSessionState,
} from './state-codec.js';
import { bigJson, toReservation, toSession } from './store.js';

const request = (n: number, extra: Partial<ChargingRequest> = {}): ChargingRequest => ({
  sessionId: 's-"1"\\x',
  requestNumber: n,
  subscriptionId: 'SUB1',
  atMs: T0 + n * 60_000,
  items: [
    {
      ratingGroup: 10,
      service: 'data',
      zone: 'EU "roam"',
      unit: 'byte',
      requestedUnits: 'default',
      ...(n > 0 ? { usedUnits: 10_000_000n } : {}),
      pricing: { unitPricePico: pico('0.000001') },
    },
    {
      ratingGroup: 20,
      service: 'sms',
      unit: 'message',
      requestedUnits: 2n,
      pricing: { unitPricePico: pico('0.09') },
    },
  ],
  ...extra,
});

function reservationRow(r: Reservation, state: string) {
  return {
    tenant_id: 'ten_1',
    id: r.id,
    account_id: 'acct_1',
    session_id: r.sessionId,
    subscription_id: r.subscriptionId,
    status: r.status,
    expires_at_ms: r.expiresAtMs,
    state,
    updated_at: '2026-03-02T09:00:00.000Z',
  };
}

function sessionRow(sessionId: string, state: string) {
  return {
    tenant_id: 'ten_1',
    session_id: sessionId,
    account_id: 'acct_1',
    subscription_id: 'SUB1',
    protocol: 'nchf',
    terminated: 0,
    last_request_number: 2,
    state,
    notify_uri: null,
    created_at: '2026-03-02T09:00:00.000Z',
    updated_at: '2026-03-02T09:00:00.000Z',
  };
}

describe('charging state codec', () => {
  it('reads back the reservations and sessions of real requests exactly, in both formats', () => {
    const state = emptyState();
    withBalance(state, { id: 'bucket', unit: 'byte', allowancePercents: [80, 100] }, 12_000_000n);
    withBalance(state, { id: 'money', unit: 'money', lowBalancePico: pico('9.99') }, pico('10'));
    const outcomes: ChargingOutcome[] = [
      handleChargingRequest(state, request(0), POLICY),
      handleChargingRequest(state, request(1), POLICY),
      handleChargingRequest(state, request(2, { terminate: true }), POLICY),
    ];
    assert.ok(outcomes.some((o) => o.movements.length > 0));
    assert.ok(outcomes.some((o) => o.thresholds.length > 0));
    const session = [...state.sessions.values()][0]!;
    assert.ok(session.reservations.length >= 2);
    for (const reservation of session.reservations) {
      const compact = encodeReservationState(reservation);
      assert.equal(compact[0], '[');
      assert.ok(compact.length < bigJson(reservation).length / 2, compact);
      assert.deepEqual(toReservation(reservationRow(reservation, compact)).reservation, reservation);
      // Rows written before this format are still read (JSON had no place for undefined fields).
      const legacy = toReservation(reservationRow(reservation, bigJson(reservation))).reservation;
      assert.equal(bigJson(legacy), bigJson(reservation));
    }
    for (const outcome of outcomes) {
      const withOutcome = { ...session, lastOutcome: outcome };
      const compact = encodeSessionState(withOutcome);
      const read = toSession(sessionRow(session.sessionId, compact));
      assert.deepEqual(read.lastOutcome, outcome);
      assert.equal(read.lastFingerprint, session.lastFingerprint);
      assert.deepEqual(
        read.reservationIds,
        session.reservations.map((r) => r.id),
      );
      const legacy = bigJson({
        lastFingerprint: session.lastFingerprint,
        lastOutcome: outcome,
        reservationIds: session.reservations.map((r) => r.id),
      });
      assert.equal(bigJson(toSession(sessionRow(session.sessionId, legacy)).lastOutcome), bigJson(outcome));
    }
  });

  it('reads back any reservation exactly, amounts beyond 2^53 included (property)', () => {
    const big = fc.oneof(
      fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
      fc.constantFrom(2n ** 53n - 1n, 2n ** 53n, -(2n ** 53n) + 1n, -(2n ** 53n), 0n),
    );
    const text = fc.string({ unit: 'binary' });
    const reservation = fc.record({
      id: text,
      sessionId: text,
      subscriptionId: text,
      ratingGroup: fc.integer({ min: 0, max: 2 ** 31 }),
      service: text,
      zone: fc.option(text, { nil: undefined }),
      unit: fc.constantFrom('second', 'byte', 'message', 'event', 'unit'),
      createdAtMs: fc.integer({ min: 0, max: 2 ** 45 }),
      expiresAtMs: fc.integer({ min: 0, max: 2 ** 45 }),
      requestedUnits: big,
      grantedUnits: big,
      moneyUnits: big,
      heldPico: big,
      holdBalanceIds: fc.array(text, { maxLength: 3 }),
      holdAmounts: fc.array(big, { maxLength: 3 }),
      status: fc.constantFrom('active', 'committed', 'released', 'expired'),
      closedAtMs: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: undefined }),
      usedUnits: big,
      committedUnits: big,
      releasedUnits: big,
      unchargedUnits: big,
      chargedPico: big,
    });
    fc.assert(
      fc.property(reservation, (r) => {
        // fast-check's records have no prototype; the decoder's objects are plain ones.
        const value = { ...r } as Reservation;
        const read = decodeReservationState(encodeReservationState(value), value);
        assert.deepEqual(read, value);
      }),
      { seed: 20261129, numRuns: 300 },
    );
  });

  it('refuses a damaged state with the row and the element at fault', () => {
    const columns = { id: 'r-1', sessionId: 's', subscriptionId: 'SUB1', status: 'active' };
    assert.throws(() => decodeReservationState('[2,1]', columns), /charging_reservations r-1: .*19 elements/);
    const state = emptyState();
    withBalance(state, { id: 'money', unit: 'money' }, pico('10'));
    handleChargingRequest(state, request(0), POLICY);
    const good = encodeReservationState([...state.sessions.values()][0]!.reservations[0]!);
    const damaged = good.replace(/^\[2,10,/, '[2,"ten",');
    assert.throws(
      () => decodeReservationState(damaged, columns),
      /r-1: element 1 .*"ten", expected an integer/,
    );
    assert.throws(
      () => decodeSessionState('{not json', 's-9'),
      /charging_sessions s-9: the stored state is not JSON/,
    );
  });
});
