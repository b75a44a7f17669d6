/**
 * Reservations: two-phase online charging. A request of a session reports the units used on its
 * rating groups (commit: charge them, release the rest), releases reservations, and asks for new
 * grants (reserve: hold units on buckets and money on money balances). Reservations not settled
 * within their validity expire (`expireReservations`).
 *
 * Why nothing can be over-reserved: every hold and every debit takes at most `availableOf(balance)`
 * (amount + credit limit − the holds already on it, within the spending cap), computed from the
 * one state it changes, synchronously. Two sessions on one shared balance therefore see each
 * other's holds; the store serialises the operations of one state, so there is never a second,
 * stale copy to decide from. `assertChargingInvariants` checks the result.
 *
 * Idempotency: each request carries (sessionId, requestNumber). The session keeps the last
 * request's number, a fingerprint of its content and its outcome: the same request again returns
 * that outcome (marked `replayed`) and changes nothing; the same number with another content is
 * `request_mismatch`; an older number is `stale_request`.
 */
import type { BaseUnit } from '../kernel/quantity.js';
import { fail } from '../kernel/errors.js';
import { availableOf, availableWithoutCap, isValidAt, matchesScope, type UsageScope } from './balances.js';
import { ChargingErrors } from './errors.js';
import { postMovement } from './movements.js';
import type {
  Balance,
  ChargingOutcome,
  ChargingPolicy,
  ChargingRequest,
  ChargingState,
  ExpiryOutcome,
  Movement,
  Pricing,
  RatingGroupOutcome,
  RatingGroupRequest,
  RequestCode,
  Reservation,
  Session,
  ThresholdCrossing,
} from './model.js';

/**
 * Handles one request of a session: first every usage report and release (so the units they free
 * can fund this request's grants), then, when the request terminates the session, the release of
 * every reservation it did not report, then every grant. Returns the outcome, which the session
 * keeps for a repeated request.
 */
export function handleChargingRequest(
  state: ChargingState,
  request: ChargingRequest,
  policy: ChargingPolicy,
): ChargingOutcome {
  const problem = validateRequest(request, policy);
  if (problem !== undefined) return refusal(request, 'invalid_request', problem);
  const accountId = state.subscriptions.get(request.subscriptionId);
  if (accountId === undefined) {
    return refusal(request, 'user_unknown', `subscriptionId: ${request.subscriptionId} is not known here`);
  }
  const fingerprint = fingerprintOf(request);
  let session = state.sessions.get(request.sessionId);
  if (session !== undefined) {
    if (session.subscriptionId !== request.subscriptionId) {
      return refusal(
        request,
        'invalid_request',
        `subscriptionId: session ${session.sessionId} belongs to ${session.subscriptionId}`,
      );
    }
    if (request.requestNumber === session.lastRequestNumber) {
      if (fingerprint === session.lastFingerprint && session.lastOutcome !== undefined) {
        return { ...session.lastOutcome, replayed: true };
      }
      return refusal(
        request,
        'request_mismatch',
        `requestNumber: ${request.requestNumber} was already used in session ${session.sessionId} for another request`,
      );
    }
    if (request.requestNumber < session.lastRequestNumber) {
      return refusal(
        request,
        'stale_request',
        `requestNumber: ${request.requestNumber} is older than the last request ${session.lastRequestNumber}`,
      );
    }
    if (session.terminated) {
      return refusal(request, 'session_terminated', `sessionId: session ${session.sessionId} has ended`);
    }
  } else {
    session = {
      sessionId: request.sessionId,
      subscriptionId: request.subscriptionId,
      lastRequestNumber: -1,
      lastFingerprint: '',
      lastOutcome: undefined,
      reservations: [],
      terminated: false,
    };
    state.sessions.set(session.sessionId, session);
  }

  const movements: Movement[] = [];
  const thresholds: ThresholdCrossing[] = [];
  const items: RatingGroupOutcome[] = new Array<RatingGroupOutcome>(request.items.length);
  const atMs = request.atMs;
  for (let i = 0; i < request.items.length; i++) {
    const item = request.items[i] as RatingGroupRequest;
    const outcome = emptyItemOutcome(item.ratingGroup);
    items[i] = outcome;
    if (item.usedUnits !== undefined || item.release === true) {
      settle(state, session, accountId, item, atMs, outcome, movements, thresholds);
    }
  }
  if (request.terminate === true) {
    for (const reservation of session.reservations) {
      if (reservation.status === 'active') close(state, reservation, 'released', atMs);
    }
    session.terminated = true;
  }
  for (let i = 0; i < request.items.length; i++) {
    const item = request.items[i] as RatingGroupRequest;
    if (item.requestedUnits === undefined) continue;
    // A new grant replaces the rating group's open reservation: usage on it would have been
    // reported in this request, so what is still held is unused and goes back.
    const previous = latestReservation(session, item.ratingGroup);
    if (previous !== undefined && previous.status === 'active') close(state, previous, 'released', atMs);
    grant(state, session, accountId, request, item, policy, items[i] as RatingGroupOutcome);
  }

  const outcome: ChargingOutcome = {
    sessionId: request.sessionId,
    requestNumber: request.requestNumber,
    code: 'ok',
    message: '',
    replayed: false,
    items,
    movements,
    thresholds,
  };
  session.lastRequestNumber = request.requestNumber;
  session.lastFingerprint = fingerprint;
  session.lastOutcome = outcome;
  return outcome;
}

/** A request of one rating group: the fields of ChargingRequest and of its one item. */
export type SingleChargingRequest = Omit<ChargingRequest, 'items' | 'terminate'> &
  Omit<RatingGroupRequest, 'usedUnits' | 'release' | 'requestedUnits'>;

/** Reserves for one rating group (a request with one item asking for `requestedUnits`). */
export function reserve(
  state: ChargingState,
  request: SingleChargingRequest & { readonly requestedUnits: bigint | 'default' },
  policy: ChargingPolicy,
): ChargingOutcome {
  return handleChargingRequest(state, single(request, { requestedUnits: request.requestedUnits }), policy);
}

/** Commits `usedUnits` on one rating group's reservation, releasing the rest. */
export function commit(
  state: ChargingState,
  request: SingleChargingRequest & { readonly usedUnits: bigint; readonly terminate?: boolean },
  policy: ChargingPolicy,
): ChargingOutcome {
  return handleChargingRequest(
    state,
    { ...single(request, { usedUnits: request.usedUnits }), terminate: request.terminate === true },
    policy,
  );
}

/** Releases one rating group's reservation without usage. */
export function release(
  state: ChargingState,
  request: SingleChargingRequest,
  policy: ChargingPolicy,
): ChargingOutcome {
  return handleChargingRequest(state, single(request, { release: true }), policy);
}

function single(
  request: SingleChargingRequest,
  extra: Pick<RatingGroupRequest, 'usedUnits' | 'release' | 'requestedUnits'>,
): ChargingRequest {
  const item: RatingGroupRequest = {
    ratingGroup: request.ratingGroup,
    service: request.service,
    unit: request.unit,
    pricing: request.pricing,
    ...(request.zone === undefined ? {} : { zone: request.zone }),
    ...extra,
  };
  return {
    sessionId: request.sessionId,
    requestNumber: request.requestNumber,
    subscriptionId: request.subscriptionId,
    atMs: request.atMs,
    items: [item],
  };
}

/**
 * Expires every active reservation whose validity ended at or before `atMs` (the network never
 * reported on it: a lost session, a crashed gateway). Its holds go back to the balances; nothing is
 * charged. A later report on it gets `reservation_expired`.
 */
export function expireReservations(state: ChargingState, atMs: number): ExpiryOutcome {
  const expired: Reservation[] = [];
  for (const session of state.sessions.values()) {
    for (const reservation of session.reservations) {
      if (reservation.status === 'active' && reservation.expiresAtMs <= atMs) {
        close(state, reservation, 'expired', atMs);
        expired.push(reservation);
      }
    }
  }
  return { expiredReservations: expired, movements: [], thresholds: [] };
}

/**
 * Releases one active reservation on an operator's order (a stuck session the network will never
 * report on, a subscriber who needs the held money now): its holds go back to the balances and
 * nothing is charged, as for an expiry, but the reservation closes as `released` at `atMs`. The
 * session's request numbering is left alone, so the network's next request is neither stale nor a
 * mismatch; a later report on this reservation gets `already_released`.
 */
export function releaseReservation(
  state: ChargingState,
  reservationId: string,
  atMs: number,
): {
  readonly code:
    'released' | 'reservation_not_found' | 'already_committed' | 'already_released' | 'reservation_expired';
  readonly reservation: Reservation | undefined;
} {
  for (const session of state.sessions.values()) {
    for (const reservation of session.reservations) {
      if (reservation.id !== reservationId) continue;
      if (reservation.status === 'committed') return { code: 'already_committed', reservation };
      if (reservation.status === 'released') return { code: 'already_released', reservation };
      if (reservation.status === 'expired') return { code: 'reservation_expired', reservation };
      close(state, reservation, 'released', atMs);
      return { code: 'released', reservation };
    }
  }
  return { code: 'reservation_not_found', reservation: undefined };
}

/**
 * Forgets a session that has no open reservation (the store's retention of ended sessions);
 * returns false and keeps it otherwise. After this a repeated request of it is no longer recognised.
 */
export function forgetSession(state: ChargingState, sessionId: string): boolean {
  const session = state.sessions.get(sessionId);
  if (session === undefined) return false;
  if (session.reservations.some((reservation) => reservation.status === 'active')) return false;
  return state.sessions.delete(sessionId);
}

/** The latest reservation of a rating group in a session, open or closed. */
export function latestReservation(session: Session, ratingGroup: number): Reservation | undefined {
  for (const reservation of session.reservations)
    if (reservation.ratingGroup === ratingGroup) return reservation;
  return undefined;
}

/**
 * What a session's latest grants were, per rating group, read back from its reservations, as the
 * grant outcomes of the request that made them: for a repeated one-time event, whose first
 * request the engine no longer replays. A rating group without a reservation was refused; which
 * refusal is not kept, and it reads as quota_limit_reached.
 */
export function grantsFromReservations(
  session: Session,
  ratingGroups: readonly number[],
): RatingGroupOutcome[] {
  return ratingGroups.map((ratingGroup) => {
    const reservation = latestReservation(session, ratingGroup);
    const grantedUnits = reservation?.grantedUnits ?? 0n;
    const partial = reservation !== undefined && grantedUnits < reservation.requestedUnits;
    return {
      ...emptyItemOutcome(ratingGroup),
      grantCode:
        reservation === undefined ? 'quota_limit_reached' : partial ? 'partially_granted' : 'granted',
      reservationId: reservation?.id,
      grantedUnits,
      finalUnits: reservation === undefined || partial,
      expiresAtMs: reservation?.expiresAtMs ?? 0,
    };
  });
}

/**
 * The paired assertion of the reservation rules, over a whole state; throws
 * `charging.balance_mismatch`. For every balance: `held` equals the sum of the active
 * reservations' holds on it; amount − held ≥ −creditLimit (0 for a bucket), so every hold is
 * covered; with a spending cap, spent + held ≤ limit. For every closed reservation:
 * committed + released = granted.
 */
export function assertChargingInvariants(state: ChargingState): void {
  const holds = new Map<string, bigint>();
  for (const session of state.sessions.values()) {
    for (const reservation of session.reservations) {
      if (reservation.status === 'active') {
        for (let i = 0; i < reservation.holdBalanceIds.length; i++) {
          const id = reservation.holdBalanceIds[i] as string;
          holds.set(id, (holds.get(id) ?? 0n) + (reservation.holdAmounts[i] as bigint));
        }
      } else if (reservation.committedUnits + reservation.releasedUnits !== reservation.grantedUnits) {
        throw broken(
          reservation.id,
          `reservation ${reservation.id}: committed ${reservation.committedUnits} + released ` +
            `${reservation.releasedUnits} ≠ granted ${reservation.grantedUnits}`,
        );
      }
    }
  }
  for (const balance of state.balances.values()) {
    const expected = holds.get(balance.id) ?? 0n;
    if (balance.held !== expected) {
      throw broken(
        balance.id,
        `balance ${balance.id} holds ${balance.held}, its reservations hold ${expected}`,
      );
    }
    if (balance.amount - balance.held < -balance.creditLimitPico) {
      throw broken(
        balance.id,
        `balance ${balance.id}: amount ${balance.amount} − held ${balance.held} is below −credit limit ${balance.creditLimitPico}`,
      );
    }
    const cap = balance.spendingCap;
    if (cap !== undefined && cap.spentPico + balance.held > cap.limitPico) {
      throw broken(
        balance.id,
        `balance ${balance.id}: spent ${cap.spentPico} + held ${balance.held} exceeds the cap ${cap.limitPico}`,
      );
    }
  }
}

function broken(record: string, detail: string) {
  return fail(ChargingErrors.balance_mismatch, detail, { record });
}

// ------------------------------------------------------------------------------------------------
// Commit and release

function settle(
  state: ChargingState,
  session: Session,
  accountId: string,
  item: RatingGroupRequest,
  atMs: number,
  outcome: RatingGroupOutcome,
  movements: Movement[],
  thresholds: ThresholdCrossing[],
): void {
  const reservation = latestReservation(session, item.ratingGroup);
  if (reservation === undefined) {
    outcome.commitCode = 'reservation_not_found';
    return;
  }
  outcome.closedReservationId = reservation.id;
  if (reservation.status !== 'active') {
    outcome.commitCode =
      reservation.status === 'committed'
        ? 'already_committed'
        : reservation.status === 'released'
          ? 'already_released'
          : 'reservation_expired';
    return;
  }
  // The validity is decided by the request's time, not by when the sweep last ran, so the
  // outcome does not depend on the store's scheduling.
  if (reservation.expiresAtMs <= atMs) {
    close(state, reservation, 'expired', atMs);
    outcome.commitCode = 'reservation_expired';
    return;
  }
  if (item.usedUnits === undefined) {
    close(state, reservation, 'released', atMs);
    outcome.commitCode = 'released';
    outcome.releasedUnits = reservation.releasedUnits;
    return;
  }
  commitReservation(
    state,
    reservation,
    accountId,
    item,
    item.usedUnits,
    atMs,
    outcome,
    movements,
    thresholds,
  );
}

/**
 * Charges `usedUnits` on a reservation and releases everything it held.
 *
 * 1. The reservation's own bucket holds pay first, in the order they were taken: those units were
 *    promised, even if the bucket's validity ended since.
 * 2. Every hold is released (money holds included).
 * 3. Units left (units the buckets did not cover, paid by money, or usage beyond the grant) are
 *    drawn like a fresh debit: matching buckets in consumption order, then money at the price.
 *    Up to the grant this always fits: the money held for them is now available again and
 *    price(units) ≤ price(moneyUnits) = heldPico because prices do not fall with more units.
 *    Beyond the grant it fits only as far as the balances can pay; the rest is `unchargedUnits`.
 *
 * Example: 300 s granted as 100 s from a bucket and 200 s of money at 0.001 EUR/s (0.20 EUR held);
 * 150 s used: 100 s from the bucket, then 50 s × 0.001 = 0.05 EUR; 0.15 EUR and 150 s released.
 */
function commitReservation(
  state: ChargingState,
  reservation: Reservation,
  accountId: string,
  item: RatingGroupRequest,
  usedUnits: bigint,
  atMs: number,
  outcome: RatingGroupOutcome,
  movements: Movement[],
  thresholds: ThresholdCrossing[],
): void {
  let remaining = usedUnits;
  let chargedUnits = 0n;
  for (let i = 0; i < reservation.holdBalanceIds.length; i++) {
    const balance = holdBalance(state, reservation, i);
    const held = reservation.holdAmounts[i] as bigint;
    balance.held -= held;
    if (balance.unit !== 'money' && remaining > 0n) {
      const take = held < remaining ? held : remaining;
      if (take > 0n) {
        postMovement(balance, 'charge', -take, atMs, reservation.id, movements, thresholds);
        remaining -= take;
        chargedUnits += take;
      }
    }
  }
  let chargedPico = 0n;
  let ratingFailed = false;
  if (remaining > 0n) {
    const draw = newDraw();
    drawUnits(state, scopeOf(reservation, accountId), reservation.unit, remaining, item.pricing, atMs, draw, {
      charge: true,
      reference: reservation.id,
      movements,
      thresholds,
    });
    chargedUnits += draw.bucketUnits + draw.moneyUnits;
    chargedPico = draw.pico;
    remaining -= draw.bucketUnits + draw.moneyUnits;
    ratingFailed = draw.ratingFailed;
  }
  const granted = reservation.grantedUnits;
  reservation.status = 'committed';
  reservation.closedAtMs = atMs;
  reservation.usedUnits = usedUnits;
  reservation.committedUnits = usedUnits < granted ? usedUnits : granted;
  reservation.releasedUnits = granted - reservation.committedUnits;
  reservation.unchargedUnits = remaining;
  reservation.chargedPico = chargedPico;
  outcome.commitCode = ratingFailed ? 'rating_failed' : 'committed';
  outcome.chargedUnits = chargedUnits;
  outcome.chargedPico = chargedPico;
  outcome.releasedUnits = reservation.releasedUnits;
  outcome.unchargedUnits = remaining;
}

/** Releases a reservation's holds and closes it as released or expired: nothing is charged. */
function close(
  state: ChargingState,
  reservation: Reservation,
  status: 'released' | 'expired',
  atMs: number,
): void {
  for (let i = 0; i < reservation.holdBalanceIds.length; i++) {
    holdBalance(state, reservation, i).held -= reservation.holdAmounts[i] as bigint;
  }
  reservation.status = status;
  reservation.closedAtMs = atMs;
  reservation.committedUnits = 0n;
  reservation.releasedUnits = reservation.grantedUnits;
}

function holdBalance(state: ChargingState, reservation: Reservation, index: number): Balance {
  const id = reservation.holdBalanceIds[index] as string;
  const balance = state.balances.get(id);
  if (balance === undefined) {
    throw broken(
      reservation.id,
      `reservation ${reservation.id} holds on balance ${id}, which is not in the state`,
    );
  }
  return balance;
}

// ------------------------------------------------------------------------------------------------
// Grants

/**
 * Reserves for one rating group. The grant is min(the units asked (or the policy's default, within
 * its maximum), what the balances can pay): matching buckets in consumption order first, then
 * money for the rest at the caller's price. Less than asked is a partial grant with final units,
 * nothing at all is one of the refusal codes, and no reservation is made.
 */
function grant(
  state: ChargingState,
  session: Session,
  accountId: string,
  request: ChargingRequest,
  item: RatingGroupRequest,
  policy: ChargingPolicy,
  outcome: RatingGroupOutcome,
): void {
  let requested =
    item.requestedUnits === 'default' ? defaultGrant(policy, item) : (item.requestedUnits as bigint);
  const max = policy.maxGrantByUnit?.[item.unit];
  if (max !== undefined && requested > max) requested = max;
  const scope: UsageScope = {
    subscriptionId: session.subscriptionId,
    accountId,
    service: item.service,
    ratingGroup: item.ratingGroup,
    zone: item.zone,
  };
  const draw = newDraw();
  drawUnits(state, scope, item.unit, requested, item.pricing, request.atMs, draw, undefined);
  const granted = draw.bucketUnits + draw.moneyUnits;
  if (granted === 0n) {
    outcome.grantCode = draw.ratingFailed
      ? 'rating_failed'
      : !draw.matched
        ? 'no_balance'
        : draw.capBound
          ? 'spending_cap_reached'
          : 'quota_limit_reached';
    outcome.finalUnits = true;
    return;
  }
  const reservation: Reservation = {
    id: `${session.sessionId}/${request.requestNumber}/${item.ratingGroup}`,
    sessionId: session.sessionId,
    subscriptionId: session.subscriptionId,
    ratingGroup: item.ratingGroup,
    service: item.service,
    zone: item.zone,
    unit: item.unit,
    createdAtMs: request.atMs,
    expiresAtMs: request.atMs + policy.validityMs,
    requestedUnits: requested,
    grantedUnits: granted,
    moneyUnits: draw.moneyUnits,
    heldPico: draw.pico,
    holdBalanceIds: draw.holdBalanceIds,
    holdAmounts: draw.holdAmounts,
    status: 'active',
    closedAtMs: undefined,
    usedUnits: 0n,
    committedUnits: 0n,
    releasedUnits: 0n,
    unchargedUnits: 0n,
    chargedPico: 0n,
  };
  const index = session.reservations.findIndex((existing) => existing.ratingGroup === item.ratingGroup);
  if (index < 0) session.reservations.push(reservation);
  else session.reservations[index] = reservation;
  outcome.grantCode = granted < requested ? 'partially_granted' : 'granted';
  outcome.reservationId = reservation.id;
  outcome.grantedUnits = granted;
  outcome.finalUnits = granted < requested;
  outcome.expiresAtMs = reservation.expiresAtMs;
}

function defaultGrant(policy: ChargingPolicy, item: RatingGroupRequest): bigint {
  const byService = policy.defaultGrantByService;
  if (byService !== undefined && Object.hasOwn(byService, item.service))
    return byService[item.service] as bigint;
  return policy.defaultGrantByUnit[item.unit];
}

// ------------------------------------------------------------------------------------------------
// Drawing units from balances

/** What one draw took: bucket units, money units and their price, and the holds it made. */
interface Draw {
  bucketUnits: bigint;
  moneyUnits: bigint;
  pico: bigint;
  /** Some balance (bucket of the unit, or money) matched the usage and was valid. */
  matched: boolean;
  /** Money was limited by a spending cap: without it the balances had more to give. */
  capBound: boolean;
  ratingFailed: boolean;
  holdBalanceIds: string[];
  holdAmounts: bigint[];
}

function newDraw(): Draw {
  return {
    bucketUnits: 0n,
    moneyUnits: 0n,
    pico: 0n,
    matched: false,
    capBound: false,
    ratingFailed: false,
    holdBalanceIds: [],
    holdAmounts: [],
  };
}

/** When set, the draw posts charge movements; when absent, it holds. */
interface ChargeSink {
  readonly charge: true;
  readonly reference: string;
  readonly movements: Movement[];
  readonly thresholds: ThresholdCrossing[];
}

/**
 * Takes up to `units` from the balances that match `scope` and are valid at `atMs`: buckets of
 * the unit in consumption order, then money in consumption order for the units left, priced by
 * `pricing`. Every amount taken is at most `availableOf(balance)`, which is what keeps every
 * balance at or above −creditLimit and within its cap. Holds (no sink) or charges (sink).
 *
 * Money is taken as one purchase: the largest number of units u ≤ left whose price(u) fits in the
 * sum of the matching money balances' availability, and price(u) is then taken from them in
 * order. Pricing the units together, not per balance, keeps a tariff's increments and connect fee
 * applied once.
 */
function drawUnits(
  state: ChargingState,
  scope: UsageScope,
  unit: BaseUnit,
  units: bigint,
  pricing: Pricing,
  atMs: number,
  draw: Draw,
  sink: ChargeSink | undefined,
): void {
  let left = units;
  const order = state.order;
  for (let i = 0; i < order.length; i++) {
    const balance = order[i] as Balance;
    if (balance.unit !== unit || !isValidAt(balance, atMs) || !matchesScope(balance, scope)) continue;
    draw.matched = true;
    if (left === 0n) break;
    const available = availableOf(balance);
    if (available === 0n) continue;
    const take = available < left ? available : left;
    take1(balance, take, atMs, draw, sink);
    left -= take;
    draw.bucketUnits += take;
  }
  if (left === 0n) return;

  let budget = 0n;
  let budgetWithoutCap = 0n;
  for (let i = 0; i < order.length; i++) {
    const balance = order[i] as Balance;
    if (balance.unit !== 'money' || !isValidAt(balance, atMs) || !matchesScope(balance, scope)) continue;
    draw.matched = true;
    budget += availableOf(balance);
    budgetWithoutCap += availableWithoutCap(balance);
  }
  draw.capBound = budgetWithoutCap > budget;
  const affordable = maxAffordableUnits(pricing, left, budget);
  if (affordable === undefined) {
    draw.ratingFailed = true;
    return;
  }
  if (affordable === 0n) return;
  const cost = priceOf(pricing, affordable);
  if (cost === undefined) {
    draw.ratingFailed = true;
    return;
  }
  draw.moneyUnits = affordable;
  draw.pico = cost;
  let costLeft = cost;
  for (let i = 0; i < order.length && costLeft > 0n; i++) {
    const balance = order[i] as Balance;
    if (balance.unit !== 'money' || !isValidAt(balance, atMs) || !matchesScope(balance, scope)) continue;
    const available = availableOf(balance);
    if (available === 0n) continue;
    const take = available < costLeft ? available : costLeft;
    take1(balance, take, atMs, draw, sink);
    costLeft -= take;
  }
}

function take1(
  balance: Balance,
  amount: bigint,
  atMs: number,
  draw: Draw,
  sink: ChargeSink | undefined,
): void {
  if (sink === undefined) {
    balance.held += amount;
    draw.holdBalanceIds.push(balance.id);
    draw.holdAmounts.push(amount);
  } else {
    postMovement(balance, 'charge', -amount, atMs, sink.reference, sink.movements, sink.thresholds);
  }
}

/** The price of `units` in pico-units, or undefined when rating fails (or gives a negative amount). */
export function priceOf(pricing: Pricing, units: bigint): bigint | undefined {
  if ('unitPricePico' in pricing) {
    return pricing.unitPricePico < 0n ? undefined : pricing.unitPricePico * units;
  }
  const amount = pricing.price(units);
  return typeof amount === 'bigint' && amount >= 0n ? amount : undefined;
}

/**
 * The most units, at most `upTo`, whose price fits in `budget` pico-units; undefined when rating
 * fails. With a unit price p it is min(upTo, floor(budget / p)): 1 EUR at 0.003 EUR/s is
 * floor(10^12 / (3 × 10^9)) = 333 s. A price function is searched by bisection over [0, upTo]
 * (about log2(upTo) calls, 30 for a gigabyte), which is exact because prices never fall as units grow.
 */
export function maxAffordableUnits(pricing: Pricing, upTo: bigint, budget: bigint): bigint | undefined {
  if ('unitPricePico' in pricing) {
    const unitPrice = pricing.unitPricePico;
    if (unitPrice < 0n) return undefined;
    if (unitPrice === 0n) return upTo;
    const affordable = budget / unitPrice;
    return affordable < upTo ? affordable : upTo;
  }
  const full = priceOf(pricing, upTo);
  if (full === undefined) return undefined;
  if (full <= budget) return upTo;
  const none = priceOf(pricing, 0n);
  if (none === undefined) return undefined;
  if (none > budget) return 0n;
  // Invariant: price(low) ≤ budget < price(high).
  let low = 0n;
  let high = upTo;
  while (high - low > 1n) {
    const middle = (low + high) / 2n;
    const price = priceOf(pricing, middle);
    if (price === undefined) return undefined;
    if (price <= budget) low = middle;
    else high = middle;
  }
  return low;
}

function scopeOf(reservation: Reservation, accountId: string): UsageScope {
  return {
    subscriptionId: reservation.subscriptionId,
    accountId,
    service: reservation.service,
    ratingGroup: reservation.ratingGroup,
    zone: reservation.zone,
  };
}

// ------------------------------------------------------------------------------------------------
// Requests

function emptyItemOutcome(ratingGroup: number): RatingGroupOutcome {
  return {
    ratingGroup,
    commitCode: undefined,
    closedReservationId: undefined,
    chargedUnits: 0n,
    chargedPico: 0n,
    releasedUnits: 0n,
    unchargedUnits: 0n,
    grantCode: undefined,
    reservationId: undefined,
    grantedUnits: 0n,
    finalUnits: false,
    expiresAtMs: 0,
  };
}

function refusal(request: ChargingRequest, code: RequestCode, message: string): ChargingOutcome {
  return {
    sessionId: request.sessionId,
    requestNumber: request.requestNumber,
    code,
    message,
    replayed: false,
    items: [],
    movements: [],
    thresholds: [],
  };
}

/** A sentence naming the first field at fault, or undefined when the request is well formed. */
function validateRequest(request: ChargingRequest, policy: ChargingPolicy): string | undefined {
  if (typeof request.sessionId !== 'string' || request.sessionId === '')
    return 'sessionId: must not be empty';
  if (!Number.isSafeInteger(request.requestNumber) || request.requestNumber < 0) {
    return `requestNumber: ${request.requestNumber} is not an integer ≥ 0`;
  }
  if (!Number.isFinite(request.atMs)) return 'atMs: not a finite instant';
  if (!Number.isSafeInteger(policy.validityMs) || policy.validityMs <= 0) {
    return 'policy.validityMs: must be a positive integer';
  }
  for (let i = 0; i < request.items.length; i++) {
    const item = request.items[i] as RatingGroupRequest;
    const where = `items/${i}`;
    if (!Number.isSafeInteger(item.ratingGroup)) return `${where}/ratingGroup: not an integer`;
    for (let j = 0; j < i; j++) {
      if ((request.items[j] as RatingGroupRequest).ratingGroup === item.ratingGroup) {
        return `${where}/ratingGroup: rating group ${item.ratingGroup} appears twice`;
      }
    }
    if (item.usedUnits !== undefined && (typeof item.usedUnits !== 'bigint' || item.usedUnits < 0n)) {
      return `${where}/usedUnits: must be a bigint ≥ 0`;
    }
    const requested = item.requestedUnits;
    if (requested !== undefined) {
      if (request.terminate === true)
        return `${where}/requestedUnits: a terminating request asks for no quota`;
      if (requested === 'default') {
        if (defaultGrant(policy, item) <= 0n)
          return `${where}/requestedUnits: the policy has no default grant`;
      } else if (typeof requested !== 'bigint' || requested <= 0n) {
        return `${where}/requestedUnits: must be a bigint > 0 or 'default'`;
      }
    }
    if (item.pricing === undefined || item.pricing === null) return `${where}/pricing: required`;
  }
  return undefined;
}

/**
 * The content of a request that must be the same when it is repeated (the caller's instant and
 * pricing may differ on a retransmission; what the network asked may not). A string, so the
 * session keeps it in a column.
 */
function fingerprintOf(request: ChargingRequest): string {
  let text = request.terminate === true ? 'T' : 'U';
  for (const item of request.items) {
    text +=
      `|${item.ratingGroup},${item.service},${item.zone ?? ''},${item.unit},` +
      `${item.usedUnits ?? ''},${item.release === true ? 'R' : ''},${item.requestedUnits ?? ''}`;
  }
  return text;
}
