import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { handleChargingRequest, type ChargingRequest, type Reservation } from './index.js';
import { POLICY, T0, emptyState, pico, withBalance } from './fixtures.js';
import { bigJson, outcomeJson, parseBigJson, reservationJson } from './store.js';

// The hand-written JSON of the engine's hot path must read back exactly as bigJson's does.
describe('charging store: hand-written JSON', () => {
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

  it('writes outcomes and reservations of real requests as bigJson does', () => {
    const state = emptyState();
    withBalance(state, { id: 'bucket', unit: 'byte', allowancePercents: [80, 100] }, 12_000_000n);
    withBalance(state, { id: 'money', unit: 'money', lowBalancePico: pico('9.99') }, pico('10'));
    const outcomes = [
      handleChargingRequest(state, request(0), POLICY),
      handleChargingRequest(state, request(1), POLICY),
      handleChargingRequest(state, request(2, { terminate: true }), POLICY),
    ];
    assert.ok(outcomes.some((o) => o.movements.length > 0));
    assert.ok(outcomes.some((o) => o.thresholds.length > 0));
    for (const outcome of outcomes) {
      assert.deepEqual(parseBigJson(outcomeJson(outcome)), parseBigJson(bigJson(outcome)));
    }
    const reservations = [...state.sessions.values()].flatMap((s) => s.reservations);
    assert.ok(reservations.length >= 2);
    for (const reservation of reservations) {
      assert.deepEqual(parseBigJson(reservationJson(reservation)), parseBigJson(bigJson(reservation)));
    }
  });

  it('writes any reservation as bigJson does (property)', () => {
    const big = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n });
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
        const value = r as Reservation;
        assert.deepEqual(parseBigJson(reservationJson(value)), parseBigJson(bigJson(value)));
      }),
      { seed: 20261129, numRuns: 300 },
    );
  });
});
