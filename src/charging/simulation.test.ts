/**
 * A seeded random simulation of many sessions on shared balances (in the manner of TigerBeetle's
 * VOPR and auditor): reserve, commit, update (commit + reserve in one request), release,
 * terminate, top-up, the passing of time with its expiry sweeps, and exact repeats of the last
 * request, interleaved at random. Each step is checked against an independent, deliberately naive
 * model written from the rules in docs/charging.md, and against the invariants:
 *
 * - no balance ever goes below −creditLimit, and every hold stays covered;
 * - each balance equals the sum of its movements;
 * - committed + released = granted for every closed reservation;
 * - a repeated request returns the first outcome and debits nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assertBalanceMatchesMovements,
  assertChargingInvariants,
  expireBalances,
  expireReservations,
  handleChargingRequest,
  topUp,
  type ChargingOutcome,
  type ChargingRequest,
  type ChargingState,
  type Movement,
  type RatingGroupRequest,
} from './index.js';
import { POLICY, T0, emptyState, pico, record, withBalance } from './fixtures.js';

// ------------------------------------------------------------------------------------------------
// The independent model: plain numbers in bigints, one list per kind of balance, no sorting, no
// filters beyond the two the simulation uses (owner and validity).

interface ModelBalance {
  readonly id: string;
  /** 'ACC' for the account's pool, else the one subscription that owns it. */
  readonly owner: string;
  readonly validUntilMs: number | null;
  amount: bigint;
  held: bigint;
}

interface ModelReservation {
  status: 'active' | 'committed' | 'released' | 'expired';
  granted: bigint;
  committed: bigint;
  released: bigint;
  expiresAtMs: number;
  holds: Array<{ balance: ModelBalance; amount: bigint }>;
}

interface ModelSession {
  readonly subscriptionId: string;
  next: number;
  terminated: boolean;
  readonly reservations: Map<number, ModelReservation>;
}

class Model {
  /** Buckets in the order the rules say they are drawn: the one expiring first, then the pool. */
  readonly buckets: ModelBalance[];
  readonly money: ModelBalance;
  readonly creditLimit: bigint;
  readonly unitPrice: bigint;
  readonly sessions = new Map<string, ModelSession>();

  constructor(creditLimit: bigint, unitPrice: bigint, promoUntilMs: number) {
    this.creditLimit = creditLimit;
    this.unitPrice = unitPrice;
    this.buckets = [
      { id: 'promo', owner: 'SUB1', validUntilMs: promoUntilMs, amount: 0n, held: 0n },
      { id: 'pool', owner: 'ACC', validUntilMs: null, amount: 0n, held: 0n },
    ];
    this.money = { id: 'M', owner: 'ACC', validUntilMs: null, amount: 0n, held: 0n };
  }

  usable(bucket: ModelBalance, subscriptionId: string, atMs: number): boolean {
    return (
      (bucket.owner === 'ACC' || bucket.owner === subscriptionId) &&
      (bucket.validUntilMs === null || atMs < bucket.validUntilMs)
    );
  }

  moneyAvailable(): bigint {
    const available = this.money.amount + this.creditLimit - this.money.held;
    return available > 0n ? available : 0n;
  }

  /** Units from buckets then money; returns the units and money taken, and how (hold or debit). */
  take(
    subscriptionId: string,
    units: bigint,
    atMs: number,
    hold: boolean,
    holds: ModelReservation['holds'],
  ): { units: bigint; pico: bigint } {
    let left = units;
    for (const bucket of this.buckets) {
      if (left === 0n || !this.usable(bucket, subscriptionId, atMs)) continue;
      const available = bucket.amount - bucket.held;
      const take = available < left ? available : left;
      if (take <= 0n) continue;
      if (hold) {
        bucket.held += take;
        holds.push({ balance: bucket, amount: take });
      } else {
        bucket.amount -= take;
      }
      left -= take;
    }
    let moneyUnits = left;
    if (this.unitPrice > 0n) {
      const affordable = this.moneyAvailable() / this.unitPrice;
      if (affordable < moneyUnits) moneyUnits = affordable;
    }
    const cost = moneyUnits * this.unitPrice;
    if (cost > 0n) {
      if (hold) {
        this.money.held += cost;
        holds.push({ balance: this.money, amount: cost });
      } else {
        this.money.amount -= cost;
      }
    }
    return { units: units - left + moneyUnits, pico: cost };
  }

  releaseHolds(reservation: ModelReservation): void {
    for (const hold of reservation.holds) hold.balance.held -= hold.amount;
  }

  close(reservation: ModelReservation, status: 'released' | 'expired'): void {
    this.releaseHolds(reservation);
    reservation.status = status;
    reservation.released = reservation.granted;
  }

  /** A usage report; returns the commit code and the units charged. */
  report(session: ModelSession, ratingGroup: number, used: bigint, atMs: number): [string, bigint] {
    const reservation = session.reservations.get(ratingGroup);
    if (reservation === undefined) return ['reservation_not_found', 0n];
    if (reservation.status === 'committed') return ['already_committed', 0n];
    if (reservation.status === 'released') return ['already_released', 0n];
    if (reservation.status === 'expired') return ['reservation_expired', 0n];
    if (reservation.expiresAtMs <= atMs) {
      this.close(reservation, 'expired');
      return ['reservation_expired', 0n];
    }
    let left = used;
    for (const hold of reservation.holds) {
      hold.balance.held -= hold.amount;
      if (hold.balance !== this.money && left > 0n) {
        const take = hold.amount < left ? hold.amount : left;
        hold.balance.amount -= take;
        left -= take;
      }
    }
    const fresh = left > 0n ? this.take(session.subscriptionId, left, atMs, false, []).units : 0n;
    reservation.status = 'committed';
    reservation.committed = used < reservation.granted ? used : reservation.granted;
    reservation.released = reservation.granted - reservation.committed;
    return ['committed', used - left + fresh];
  }

  grant(session: ModelSession, ratingGroup: number, requested: bigint, atMs: number): bigint {
    const previous = session.reservations.get(ratingGroup);
    if (previous !== undefined && previous.status === 'active') this.close(previous, 'released');
    const holds: ModelReservation['holds'] = [];
    const { units } = this.take(session.subscriptionId, requested, atMs, true, holds);
    if (units > 0n) {
      session.reservations.set(ratingGroup, {
        status: 'active',
        granted: units,
        committed: 0n,
        released: 0n,
        expiresAtMs: atMs + POLICY.validityMs,
        holds,
      });
    }
    return units;
  }

  sweep(atMs: number): void {
    for (const session of this.sessions.values()) {
      for (const reservation of session.reservations.values()) {
        if (reservation.status === 'active' && reservation.expiresAtMs <= atMs)
          this.close(reservation, 'expired');
      }
    }
    for (const bucket of this.buckets) {
      if (bucket.validUntilMs !== null && bucket.validUntilMs <= atMs && bucket.amount > bucket.held) {
        bucket.amount = bucket.held;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Commands

type Command =
  | {
      readonly kind: 'reserve';
      readonly session: number;
      readonly ratingGroup: number;
      readonly units: number;
    }
  | { readonly kind: 'commit'; readonly session: number; readonly ratingGroup: number; readonly used: number }
  | {
      readonly kind: 'update';
      readonly session: number;
      readonly ratingGroup: number;
      readonly used: number;
      readonly units: number;
    }
  | { readonly kind: 'release'; readonly session: number; readonly ratingGroup: number }
  | {
      readonly kind: 'terminate';
      readonly session: number;
      readonly ratingGroup: number;
      readonly used: number;
    }
  | { readonly kind: 'topUp'; readonly cents: number }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'replay' };

const SESSIONS = ['s0', 's1', 's2', 's3', 's4', 's5'];
/** Sessions s0, s2, s4 belong to SUB1 (which also owns the promo bucket); s1, s3, s5 to SUB2. */
const subscriptionOf = (index: number): string => (index % 2 === 0 ? 'SUB1' : 'SUB2');

const session = fc.integer({ min: 0, max: SESSIONS.length - 1 });
const ratingGroup = fc.integer({ min: 1, max: 2 });
const units = fc.integer({ min: 1, max: 400 });
const used = fc.integer({ min: 0, max: 500 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('reserve' as const), session, ratingGroup, units }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('commit' as const), session, ratingGroup, used }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('update' as const), session, ratingGroup, used, units }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), session, ratingGroup }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('terminate' as const), session, ratingGroup, used }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('topUp' as const), cents: fc.integer({ min: 1, max: 200 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 600_000 }) }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'replay' as const }) },
);

const scenario = fc.record({
  creditLimitCents: fc.constantFrom(0, 0, 50, 300),
  openingCents: fc.integer({ min: 0, max: 500 }),
  poolSeconds: fc.integer({ min: 0, max: 600 }),
  promoSeconds: fc.integer({ min: 0, max: 300 }),
  // 0.001 EUR/s, 0.003 EUR/s, a price that does not divide the cent, and free.
  unitPrice: fc.constantFrom(pico('0.001'), pico('0.003'), 7_777_777n, 0n),
  commands: fc.array(command, { minLength: 1, maxLength: 80 }),
});

function snapshot(state: ChargingState): string {
  return [...state.balances.values()].map((b) => `${b.id}:${b.amount}:${b.held}:${b.version}`).join(' ');
}

describe('charging simulation against an independent model', () => {
  it('keeps balances, holds and histories exact under random interleavings', () => {
    fc.assert(
      fc.property(scenario, (plan) => {
        const creditLimit = BigInt(plan.creditLimitCents) * 10n ** 10n;
        const promoUntil = T0 + 20 * 60_000;
        const state = emptyState();
        const log = new Map<string, Movement[]>();
        withBalance(
          state,
          {
            id: 'promo',
            unit: 'second',
            ownerKind: 'subscription',
            ownerId: 'SUB1',
            priority: 0,
            validUntilMs: promoUntil,
          },
          BigInt(plan.promoSeconds),
          log,
        );
        withBalance(state, { id: 'pool', unit: 'second', priority: 0 }, BigInt(plan.poolSeconds), log);
        withBalance(
          state,
          { id: 'M', unit: 'money', creditLimitPico: creditLimit },
          BigInt(plan.openingCents) * 10n ** 10n,
          log,
        );
        const model = new Model(creditLimit, plan.unitPrice, promoUntil);
        model.buckets[0]!.amount = BigInt(plan.promoSeconds);
        model.buckets[1]!.amount = BigInt(plan.poolSeconds);
        model.money.amount = BigInt(plan.openingCents) * 10n ** 10n;
        for (const [index, id] of SESSIONS.entries()) {
          model.sessions.set(id, {
            subscriptionId: subscriptionOf(index),
            next: 0,
            terminated: false,
            reservations: new Map(),
          });
        }
        const pricing = { unitPricePico: plan.unitPrice };
        let now = T0;
        let last: { request: ChargingRequest; outcome: ChargingOutcome } | undefined;

        const item = (rg: number, extra: Partial<RatingGroupRequest>): RatingGroupRequest => ({
          ratingGroup: rg,
          service: 'voice',
          unit: 'second',
          pricing,
          ...extra,
        });
        const send = (index: number, items: RatingGroupRequest[], terminate = false): ChargingOutcome => {
          const id = SESSIONS[index] as string;
          const modelSession = model.sessions.get(id)!;
          const request: ChargingRequest = {
            sessionId: id,
            requestNumber: modelSession.next++,
            subscriptionId: modelSession.subscriptionId,
            atMs: now,
            items,
            terminate,
          };
          const outcome = handleChargingRequest(state, request, POLICY);
          record(log, outcome.movements);
          last = { request, outcome };
          return outcome;
        };

        for (const step of plan.commands) {
          switch (step.kind) {
            case 'reserve':
            case 'commit':
            case 'update':
            case 'release':
            case 'terminate': {
              const id = SESSIONS[step.session] as string;
              const modelSession = model.sessions.get(id)!;
              const wasTerminated = modelSession.terminated;
              const usedUnits = 'used' in step ? BigInt(step.used) : undefined;
              const requested = 'units' in step ? BigInt(step.units) : undefined;
              const outcome = send(
                step.session,
                [
                  item(step.ratingGroup, {
                    ...(usedUnits === undefined ? {} : { usedUnits }),
                    ...(step.kind === 'release' ? { release: true } : {}),
                    ...(requested === undefined ? {} : { requestedUnits: requested }),
                  }),
                ],
                step.kind === 'terminate',
              );
              if (wasTerminated) {
                assert.equal(outcome.code, 'session_terminated');
                break;
              }
              assert.equal(outcome.code, 'ok');
              const result = outcome.items[0]!;
              if (usedUnits !== undefined) {
                const [code, charged] = model.report(modelSession, step.ratingGroup, usedUnits, now);
                assert.equal(result.commitCode, code);
                assert.equal(result.chargedUnits, charged);
              } else if (step.kind === 'release') {
                const reservation = modelSession.reservations.get(step.ratingGroup);
                if (reservation?.status === 'active' && reservation.expiresAtMs > now) {
                  model.close(reservation, 'released');
                  assert.equal(result.commitCode, 'released');
                } else if (reservation?.status === 'active') {
                  model.close(reservation, 'expired');
                  assert.equal(result.commitCode, 'reservation_expired');
                }
              }
              if (step.kind === 'terminate') {
                for (const reservation of modelSession.reservations.values()) {
                  if (reservation.status === 'active') model.close(reservation, 'released');
                }
                modelSession.terminated = true;
              }
              if (requested !== undefined) {
                const granted = model.grant(modelSession, step.ratingGroup, requested, now);
                assert.equal(result.grantedUnits, granted);
                assert.equal(
                  result.grantCode,
                  granted === 0n
                    ? 'quota_limit_reached'
                    : granted < requested
                      ? 'partially_granted'
                      : 'granted',
                );
              }
              break;
            }
            case 'topUp': {
              const amount = BigInt(step.cents) * 10n ** 10n;
              record(log, topUp(state, { balanceId: 'M', amount, atMs: now, reference: 'top-up' }).movements);
              model.money.amount += amount;
              break;
            }
            case 'advance': {
              now += step.ms;
              const expired = expireReservations(state, now);
              const swept = expireBalances(state, now);
              record(log, swept.movements);
              for (const reservation of expired.expiredReservations)
                assert.equal(reservation.status, 'expired');
              model.sweep(now);
              break;
            }
            case 'replay': {
              if (last === undefined) break;
              const before = snapshot(state);
              const again = handleChargingRequest(state, last.request, POLICY);
              // Refusals (a terminated session) are not remembered, so only handled requests replay.
              if (last.outcome.code === 'ok') {
                assert.equal(again.replayed, true);
                assert.deepEqual(again.items, last.outcome.items);
                assert.deepEqual(again.movements, last.outcome.movements);
              }
              // Nothing is debited twice: no balance moved, no movement posted.
              assert.equal(snapshot(state), before);
              break;
            }
          }

          // The model and the core agree on every balance, and the invariants hold.
          for (const balance of [...model.buckets, model.money]) {
            const actual = state.balances.get(balance.id)!;
            assert.equal(actual.amount, balance.amount, `${balance.id} amount`);
            assert.equal(actual.held, balance.held, `${balance.id} held`);
            assert.ok(actual.amount >= -actual.creditLimitPico, `${balance.id} below −creditLimit`);
            assertBalanceMatchesMovements(actual, log.get(balance.id) ?? []);
          }
          assertChargingInvariants(state);
          for (const modelSession of model.sessions.values()) {
            for (const reservation of modelSession.reservations.values()) {
              if (reservation.status !== 'active') {
                assert.equal(reservation.committed + reservation.released, reservation.granted);
              }
            }
          }
        }
      }),
      { seed: 20260302, numRuns: 400 },
    );
  });
});
