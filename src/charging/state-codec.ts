/**
 * The compact text of the two JSON columns every charging request writes: a reservation's `state`
 * and a session's `state` (its reservations and its last request's fingerprint and outcome).
 *
 * Why a format of its own. The first format was the objects as JSON with every bigint wrapped as
 * {"$big":"…"} (store.ts bigJson): about 900 characters for a reservation and 1 000 for a session,
 * most of them key names and wrappers, and both rows are rewritten by nearly every request. Each
 * character is built on the engine's event loop, copied to the writer thread, stored in a page of
 * the WAL and read back after a restart. This format writes each object as a JSON array of its
 * fields in a fixed order (the field lists below are the format), amounts as plain JSON numbers
 * when they are safe integers and as strings of digits beyond (2^53 pico-units is only about
 * 9 007 units of a currency, so large balances take the string form; both read back exactly),
 * and leaves out what the row's columns already hold
 * (a reservation's id, session, subscription and status). A reservation takes about 250
 * characters, a session with its outcome about 350.
 *
 * Both formats are read: a value that starts with `[` is this one (its first element is the
 * format number, 2), anything else the first (store.ts parseBigJson). Rows are rewritten in this
 * format the next time the engine writes them.
 */
import type {
  ChargingOutcome,
  CommitCode,
  GrantCode,
  Movement,
  MovementKind,
  RatingGroupOutcome,
  RequestCode,
  Reservation,
  ReservationStatus,
  ThresholdCrossing,
  ThresholdKind,
} from './model.js';
import type { BaseUnit } from '../kernel/quantity.js';
import { jsonString } from '../kernel/json-text.js';

/** The format number, the first element of every compact value. */
const FORMAT = 2;

/** An exact integer amount: a JSON number when it is a safe integer, else a string of digits. */
function amount(value: bigint): string {
  return value <= 9_007_199_254_740_991n && value >= -9_007_199_254_740_991n ? `${value}` : `"${value}"`;
}

function optionalText(value: string | undefined): string {
  return value === undefined ? 'null' : jsonString(value);
}

function list<T>(values: readonly T[], one: (value: T) => string): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ',') + one(values[i] as T);
  return `${out}]`;
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * A reservation's state: [2, ratingGroup, service, zone, unit, createdAtMs, expiresAtMs,
 * requestedUnits, grantedUnits, moneyUnits, heldPico, holdBalanceIds, holdAmounts, closedAtMs,
 * usedUnits, committedUnits, releasedUnits, unchargedUnits, chargedPico] (zone and closedAtMs
 * null when absent). Id, session, subscription and status are the row's columns.
 */
export function encodeReservationState(r: Reservation): string {
  return (
    `[${FORMAT},${r.ratingGroup},${jsonString(r.service)},${optionalText(r.zone)},${jsonString(r.unit)}` +
    `,${r.createdAtMs},${r.expiresAtMs},${amount(r.requestedUnits)},${amount(r.grantedUnits)}` +
    `,${amount(r.moneyUnits)},${amount(r.heldPico)},${list(r.holdBalanceIds, jsonString)},${list(r.holdAmounts, amount)}` +
    `,${r.closedAtMs === undefined ? 'null' : r.closedAtMs},${amount(r.usedUnits)},${amount(r.committedUnits)}` +
    `,${amount(r.releasedUnits)},${amount(r.unchargedUnits)},${amount(r.chargedPico)}]`
  );
}

/** [balanceId, seq, kind, amount, balanceAfter, atMs, reference] */
function movementText(m: Movement): string {
  return (
    `[${jsonString(m.balanceId)},${m.seq},${jsonString(m.kind)},${amount(m.amount)}` +
    `,${amount(m.balanceAfter)},${m.atMs},${jsonString(m.reference)}]`
  );
}

/** [balanceId, kind, percent, amountAfter, atMs] */
function thresholdText(t: ThresholdCrossing): string {
  return `[${jsonString(t.balanceId)},${jsonString(t.kind)},${t.percent},${amount(t.amountAfter)},${t.atMs}]`;
}

/**
 * [ratingGroup, commitCode, closedReservationId, chargedUnits, chargedPico, releasedUnits,
 * unchargedUnits, grantCode, reservationId, grantedUnits, finalUnits (0 or 1), expiresAtMs]
 */
function itemText(o: RatingGroupOutcome): string {
  return (
    `[${o.ratingGroup},${optionalText(o.commitCode)},${optionalText(o.closedReservationId)}` +
    `,${amount(o.chargedUnits)},${amount(o.chargedPico)},${amount(o.releasedUnits)},${amount(o.unchargedUnits)}` +
    `,${optionalText(o.grantCode)},${optionalText(o.reservationId)},${amount(o.grantedUnits)}` +
    `,${o.finalUnits ? 1 : 0},${o.expiresAtMs}]`
  );
}

/**
 * [sessionId, requestNumber, code, message, replayed (0 or 1), items, movements, thresholds];
 * sessionId is null when it is the session's own (the row's column), as it always is today.
 */
function outcomeText(o: ChargingOutcome, sessionId: string): string {
  return (
    `[${o.sessionId === sessionId ? 'null' : jsonString(o.sessionId)},${o.requestNumber},${jsonString(o.code)}` +
    `,${jsonString(o.message)},${o.replayed ? 1 : 0},${list(o.items, itemText)}` +
    `,${list(o.movements, movementText)},${list(o.thresholds, thresholdText)}]`
  );
}

const reservationIdText = (reservation: { readonly id: string }): string => jsonString(reservation.id);

/** A session's state: [2, lastFingerprint, reservationIds, lastOutcome or null]. */
export function encodeSessionState(session: {
  readonly sessionId: string;
  readonly lastFingerprint: string;
  readonly reservations: readonly { readonly id: string }[];
  readonly lastOutcome: ChargingOutcome | undefined;
}): string {
  const outcome = session.lastOutcome;
  return (
    `[${FORMAT},${jsonString(session.lastFingerprint)},${list(session.reservations, reservationIdText)}` +
    `,${outcome === undefined ? 'null' : outcomeText(outcome, session.sessionId)}]`
  );
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Whether a stored state is in this format (else it is the first, parsed by parseBigJson). */
export function isCompactState(text: string): boolean {
  return text.charCodeAt(0) === 0x5b; /* [ */
}

class StateReader {
  constructor(
    private readonly what: string,
    private readonly values: readonly unknown[],
  ) {}

  private fail(index: number, expected: string): never {
    throw new Error(
      `${this.what}: element ${index} of the stored state is ${JSON.stringify(this.values[index])}, expected ${expected}`,
    );
  }

  raw(index: number): unknown {
    return this.values[index];
  }

  int(index: number): number {
    const value = this.values[index];
    return Number.isSafeInteger(value) ? (value as number) : this.fail(index, 'an integer');
  }

  big(index: number): bigint {
    const value = this.values[index];
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
    if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) return BigInt(value);
    return this.fail(index, 'an exact integer amount');
  }

  text(index: number): string {
    const value = this.values[index];
    return typeof value === 'string' ? value : this.fail(index, 'a string');
  }

  optionalText(index: number): string | undefined {
    const value = this.values[index];
    return value === null
      ? undefined
      : typeof value === 'string'
        ? value
        : this.fail(index, 'a string or null');
  }

  optionalInt(index: number): number | undefined {
    return this.values[index] === null ? undefined : this.int(index);
  }

  flag(index: number): boolean {
    const value = this.values[index];
    return value === 1 ? true : value === 0 ? false : this.fail(index, '0 or 1');
  }

  list<T>(index: number, one: (reader: StateReader) => T): T[] {
    const value = this.values[index];
    if (!Array.isArray(value)) return this.fail(index, 'a list');
    return value.map((element: unknown, k) => {
      if (!Array.isArray(element)) throw new Error(`${this.what}: element ${index}[${k}] is not a list`);
      return one(new StateReader(`${this.what}, element ${index}[${k}]`, element));
    });
  }

  texts(index: number): string[] {
    const value = this.values[index];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
      return this.fail(index, 'strings');
    return value as string[];
  }

  bigs(index: number): bigint[] {
    const value = this.values[index];
    if (!Array.isArray(value)) return this.fail(index, 'a list of amounts');
    const reader = new StateReader(`${this.what}, element ${index}`, value);
    return value.map((_, k) => reader.big(k));
  }
}

function readerOf(what: string, text: string, length: number): StateReader {
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (error) {
    throw new Error(`${what}: the stored state is not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(values) || values[0] !== FORMAT || values.length !== length) {
    throw new Error(`${what}: the stored state is not a format ${FORMAT} value of ${length} elements`);
  }
  return new StateReader(what, values);
}

/** The columns of a reservation row that its compact state leaves out. */
export interface ReservationColumns {
  readonly id: string;
  readonly sessionId: string;
  readonly subscriptionId: string;
  readonly status: string;
}

export function decodeReservationState(text: string, columns: ReservationColumns): Reservation {
  const s = readerOf(`charging_reservations ${columns.id}`, text, 19);
  return {
    id: columns.id,
    sessionId: columns.sessionId,
    subscriptionId: columns.subscriptionId,
    ratingGroup: s.int(1),
    service: s.text(2),
    zone: s.optionalText(3),
    unit: s.text(4) as BaseUnit,
    createdAtMs: s.int(5),
    expiresAtMs: s.int(6),
    requestedUnits: s.big(7),
    grantedUnits: s.big(8),
    moneyUnits: s.big(9),
    heldPico: s.big(10),
    holdBalanceIds: s.texts(11),
    holdAmounts: s.bigs(12),
    status: columns.status as ReservationStatus,
    closedAtMs: s.optionalInt(13),
    usedUnits: s.big(14),
    committedUnits: s.big(15),
    releasedUnits: s.big(16),
    unchargedUnits: s.big(17),
    chargedPico: s.big(18),
  };
}

function readMovement(m: StateReader): Movement {
  return {
    balanceId: m.text(0),
    seq: m.int(1),
    kind: m.text(2) as MovementKind,
    amount: m.big(3),
    balanceAfter: m.big(4),
    atMs: m.int(5),
    reference: m.text(6),
  };
}

function readThreshold(t: StateReader): ThresholdCrossing {
  return {
    balanceId: t.text(0),
    kind: t.text(1) as ThresholdKind,
    percent: t.int(2),
    amountAfter: t.big(3),
    atMs: t.int(4),
  };
}

function readItem(o: StateReader): RatingGroupOutcome {
  return {
    ratingGroup: o.int(0),
    commitCode: o.optionalText(1) as CommitCode | undefined,
    closedReservationId: o.optionalText(2),
    chargedUnits: o.big(3),
    chargedPico: o.big(4),
    releasedUnits: o.big(5),
    unchargedUnits: o.big(6),
    grantCode: o.optionalText(7) as GrantCode | undefined,
    reservationId: o.optionalText(8),
    grantedUnits: o.big(9),
    finalUnits: o.flag(10),
    expiresAtMs: o.int(11),
  };
}

export interface DecodedSessionState {
  readonly lastFingerprint: string;
  readonly reservationIds: readonly string[];
  readonly lastOutcome: ChargingOutcome | undefined;
}

export function decodeSessionState(text: string, sessionId: string): DecodedSessionState {
  const what = `charging_sessions ${sessionId}`;
  const s = readerOf(what, text, 4);
  const outcome = s.raw(3);
  return {
    lastFingerprint: s.text(1),
    reservationIds: s.texts(2),
    lastOutcome: outcome === null ? undefined : readOutcome(what, outcome, sessionId),
  };
}

function readOutcome(what: string, value: unknown, sessionId: string): ChargingOutcome {
  if (!Array.isArray(value) || value.length !== 8) {
    throw new Error(`${what}: the stored last outcome is not a list of 8 elements`);
  }
  const o = new StateReader(`${what}, last outcome`, value);
  return {
    sessionId: o.optionalText(0) ?? sessionId,
    requestNumber: o.int(1),
    code: o.text(2) as RequestCode,
    message: o.text(3),
    replayed: o.flag(4),
    items: o.list(5, readItem),
    movements: o.list(6, readMovement),
    thresholds: o.list(7, readThreshold),
  };
}
