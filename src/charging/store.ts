/**
 * The charging tables (migrations.ts): the only code that reads or writes them. Every function
 * takes the tenant and filters by it.
 *
 * The engine writes in groups (one transaction for every request of an event-loop turn), so the
 * writes here are bulk statements compiled once (storage/bulk-insert.ts): a group of a few hundred
 * requests is a handful of statements, not a few hundred compiled queries.
 *
 * Objects of the charging core hold bigints; the JSON columns keep them exact as {"$big":"123"}.
 */
import { sql } from 'kysely';
import type { Executor } from '../storage/database.js';
import { BulkInserter } from '../storage/bulk-insert.js';
import { toBigInt, toBool, toSafeNumber } from '../storage/values.js';
import type { Instant } from '../kernel/clock.js';
import {
  decodeReservationState,
  decodeSessionState,
  encodeReservationState,
  encodeSessionState,
  isCompactState,
} from './state-codec.js';
import type {
  Balance,
  BalanceUnit,
  Movement,
  MovementKind,
  OwnerKind,
  Reservation,
  Session,
  SpendingCap,
} from './model.js';

export interface ChargingBalancesTable {
  tenant_id: string;
  id: string;
  account_id: string;
  owner_kind: string;
  owner_id: string;
  unit: string;
  currency: string;
  definition: string;
  amount: bigint | number;
  held: bigint | number;
  version: bigint | number;
  credited_total: bigint | number;
  spending: string | null;
  created_at: string;
  updated_at: string;
}

export interface ChargingMovementsTable {
  tenant_id: string;
  balance_id: string;
  seq: bigint | number;
  kind: string;
  amount: bigint | number;
  balance_after: bigint | number;
  at_ms: bigint | number;
  reference: string;
}

export interface ChargingReservationsTable {
  tenant_id: string;
  id: string;
  account_id: string;
  session_id: string;
  subscription_id: string;
  status: string;
  expires_at_ms: bigint | number;
  state: string;
  updated_at: string;
}

export interface ChargingSessionsTable {
  tenant_id: string;
  session_id: string;
  account_id: string;
  subscription_id: string;
  protocol: string;
  terminated: bigint | number;
  last_request_number: bigint | number;
  state: string;
  notify_uri: string | null;
  created_at: string;
  updated_at: string;
}

declare module '../storage/schema.js' {
  interface DatabaseSchema {
    charging_balances: ChargingBalancesTable;
    charging_movements: ChargingMovementsTable;
    charging_reservations: ChargingReservationsTable;
    charging_sessions: ChargingSessionsTable;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON with exact bigints

/** JSON text in which every bigint is {"$big":"<decimal>"}, so it reads back as a bigint. */
export function bigJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? { $big: v.toString() } : v));
}

export function parseBigJson<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && typeof (v as { $big?: unknown }).$big === 'string'
      ? BigInt((v as { $big: string }).$big)
      : v,
  ) as T;
}

// ---------------------------------------------------------------------------------------------
// Balances

/** The fields of a balance that never change after it is opened, as stored in `definition`. */
interface StoredDefinition {
  validFromMs: number | null;
  validUntilMs: number | null;
  priority: number;
  services: readonly string[] | undefined;
  ratingGroups: readonly number[] | undefined;
  zones: readonly string[] | undefined;
  creditLimitPico: bigint;
  spendingCapLimitPico: bigint | undefined;
  lowBalancePico: bigint | undefined;
  creditNearPercent: number;
  allowancePercents: readonly number[];
}

export interface BalanceRow {
  readonly balance: Balance;
  readonly accountId: string;
  readonly currency: string;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

function definitionOf(balance: Balance): StoredDefinition {
  return {
    validFromMs: balance.validFromMs,
    validUntilMs: balance.validUntilMs,
    priority: balance.priority,
    services: balance.services,
    ratingGroups: balance.ratingGroups,
    zones: balance.zones,
    creditLimitPico: balance.creditLimitPico,
    spendingCapLimitPico: balance.spendingCap?.limitPico,
    lowBalancePico: balance.lowBalancePico,
    creditNearPercent: balance.creditNearPercent,
    allowancePercents: balance.allowancePercents,
  };
}

/**
 * A balance's definition never changes after it is opened, yet its row is written on every
 * request that touches it: the JSON is made once per balance object.
 */
const definitionTexts = new WeakMap<Balance, string>();

function definitionJson(balance: Balance): string {
  let text = definitionTexts.get(balance);
  if (text === undefined) {
    text = bigJson(definitionOf(balance));
    definitionTexts.set(balance, text);
  }
  return text;
}

function spendingOf(cap: SpendingCap | undefined): string | null {
  return cap === undefined
    ? null
    : bigJson({ periodStartMs: cap.periodStartMs, periodEndMs: cap.periodEndMs, spentPico: cap.spentPico });
}

function toBalance(row: ChargingBalancesTable): BalanceRow {
  const d = parseBigJson<StoredDefinition>(row.definition);
  const spending =
    row.spending === null
      ? undefined
      : parseBigJson<{ periodStartMs: number; periodEndMs: number; spentPico: bigint }>(row.spending);
  const balance: Balance = {
    id: row.id,
    ownerKind: row.owner_kind as OwnerKind,
    ownerId: row.owner_id,
    unit: row.unit as BalanceUnit,
    validFromMs: d.validFromMs,
    validUntilMs: d.validUntilMs,
    priority: d.priority,
    services: d.services ?? undefined,
    ratingGroups: d.ratingGroups ?? undefined,
    zones: d.zones ?? undefined,
    creditLimitPico: d.creditLimitPico,
    spendingCap:
      d.spendingCapLimitPico === undefined || spending === undefined
        ? undefined
        : { limitPico: d.spendingCapLimitPico, ...spending },
    lowBalancePico: d.lowBalancePico ?? undefined,
    creditNearPercent: d.creditNearPercent,
    allowancePercents: d.allowancePercents,
    amount: toBigInt(row.amount, 'charging_balances.amount'),
    held: toBigInt(row.held, 'charging_balances.held'),
    version: toSafeNumber(row.version, 'charging_balances.version'),
    creditedTotal: toBigInt(row.credited_total, 'charging_balances.credited_total'),
  };
  return {
    balance,
    accountId: row.account_id,
    currency: row.currency,
    createdAt: row.created_at as Instant,
    updatedAt: row.updated_at as Instant,
  };
}

const balanceUpserter = new BulkInserter(
  'charging_balances',
  [
    'tenant_id',
    'id',
    'account_id',
    'owner_kind',
    'owner_id',
    'unit',
    'currency',
    'definition',
    'amount',
    'held',
    'version',
    'credited_total',
    'spending',
    'created_at',
    'updated_at',
  ],
  {
    key: ['tenant_id', 'id'],
    update: ['amount', 'held', 'version', 'credited_total', 'spending', 'updated_at'],
  },
);

/** Pushes the row of a balance (in balanceUpserter's column order) onto `values`. */
function pushBalanceRow(
  values: unknown[],
  tenantId: string,
  write: { readonly balance: Balance; readonly accountId: string; readonly currency: string },
  now: Instant,
): void {
  const { balance, accountId, currency } = write;
  values.push(
    tenantId,
    balance.id,
    accountId,
    balance.ownerKind,
    balance.ownerId,
    balance.unit,
    currency,
    definitionJson(balance),
    balance.amount,
    balance.held,
    balance.version,
    balance.creditedTotal,
    spendingOf(balance.spendingCap),
    now,
    now,
  );
}

export async function listAccountBalances(
  db: Executor,
  tenantId: string,
  accountId: string,
): Promise<BalanceRow[]> {
  const rows = await db
    .selectFrom('charging_balances')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('account_id', '=', accountId)
    .orderBy('id')
    .execute();
  return rows.map(toBalance);
}

export async function findBalanceRow(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<BalanceRow | undefined> {
  const row = await db
    .selectFrom('charging_balances')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row === undefined ? undefined : toBalance(row);
}

export interface BalanceFilter {
  readonly accountId?: string;
  readonly ownerId?: string;
  readonly after?: string;
  readonly limit: number;
}

export async function listBalances(
  db: Executor,
  tenantId: string,
  filter: BalanceFilter,
): Promise<BalanceRow[]> {
  const rows = await db
    .selectFrom('charging_balances')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(filter.accountId !== undefined, (q) => q.where('account_id', '=', filter.accountId!))
    .$if(filter.ownerId !== undefined, (q) => q.where('owner_id', '=', filter.ownerId!))
    .$if(filter.after !== undefined, (q) => q.where('id', '>', filter.after!))
    .orderBy('id')
    .limit(filter.limit)
    .execute();
  return rows.map(toBalance);
}

// ---------------------------------------------------------------------------------------------
// Movements

const movementInserter = new BulkInserter('charging_movements', [
  'tenant_id',
  'balance_id',
  'seq',
  'kind',
  'amount',
  'balance_after',
  'at_ms',
  'reference',
]);

function pushMovementRow(values: unknown[], tenantId: string, m: Movement): void {
  values.push(tenantId, m.balanceId, m.seq, m.kind, m.amount, m.balanceAfter, m.atMs, m.reference);
}

function toMovement(row: ChargingMovementsTable): Movement {
  return {
    balanceId: row.balance_id,
    seq: toSafeNumber(row.seq, 'charging_movements.seq'),
    kind: row.kind as MovementKind,
    amount: toBigInt(row.amount, 'charging_movements.amount'),
    balanceAfter: toBigInt(row.balance_after, 'charging_movements.balance_after'),
    atMs: toSafeNumber(row.at_ms, 'charging_movements.at_ms'),
    reference: row.reference,
  };
}

/** A balance's movements in order, from `afterSeq` (exclusive), at most `limit`. */
export async function listMovements(
  db: Executor,
  tenantId: string,
  balanceId: string,
  options: { readonly afterSeq?: number; readonly limit?: number } = {},
): Promise<Movement[]> {
  const rows = await db
    .selectFrom('charging_movements')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('balance_id', '=', balanceId)
    .$if(options.afterSeq !== undefined, (q) => q.where('seq', '>', options.afterSeq!))
    .orderBy('seq')
    .$if(options.limit !== undefined, (q) => q.limit(options.limit!))
    .execute();
  return rows.map(toMovement);
}

/**
 * The top-up movements credited with this payment reference, in any balance of the tenant (found
 * through the partial index charging_movements_top_up_reference).
 */
export async function findTopUpsByReference(
  db: Executor,
  tenantId: string,
  reference: string,
): Promise<Movement[]> {
  const rows = await db
    .selectFrom('charging_movements')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('kind', '=', 'top_up')
    .where('reference', '=', reference)
    .orderBy('balance_id')
    .orderBy('seq')
    .execute();
  return rows.map(toMovement);
}

/** Movements of one kind (e.g. top-ups), of one balance or of the tenant, newest balance id last. */
export async function listMovementsOfKind(
  db: Executor,
  tenantId: string,
  filter: { readonly kind: MovementKind; readonly balanceId?: string; readonly limit: number },
): Promise<Movement[]> {
  const rows = await db
    .selectFrom('charging_movements')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('kind', '=', filter.kind)
    .$if(filter.balanceId !== undefined, (q) => q.where('balance_id', '=', filter.balanceId!))
    .orderBy('at_ms', 'desc')
    .orderBy('balance_id')
    .orderBy('seq', 'desc')
    .limit(filter.limit)
    .execute();
  return rows.map(toMovement);
}

/** The sum of a balance's movements and their count, computed by the database. */
export async function sumMovements(
  db: Executor,
  tenantId: string,
  balanceId: string,
): Promise<{ total: bigint; count: number }> {
  // Summed here in bigint from the rows: SQLite's sum() of 64-bit integers overflows to a float
  // past 2^63, and a charge history is small enough to read.
  const rows = await db
    .selectFrom('charging_movements')
    .select('amount')
    .where('tenant_id', '=', tenantId)
    .where('balance_id', '=', balanceId)
    .execute();
  let total = 0n;
  for (const row of rows) total += toBigInt(row.amount, 'charging_movements.amount');
  return { total, count: rows.length };
}

// ---------------------------------------------------------------------------------------------
// Reservations

/** The reservation as stored in `state`: everything, bigints exact. */
type StoredReservation = Reservation;

export interface ReservationRow {
  readonly reservation: Reservation;
  readonly accountId: string;
  readonly updatedAt: Instant;
}

const reservationUpserter = new BulkInserter(
  'charging_reservations',
  [
    'tenant_id',
    'id',
    'account_id',
    'session_id',
    'subscription_id',
    'status',
    'expires_at_ms',
    'state',
    'updated_at',
  ],
  { key: ['tenant_id', 'id'], update: ['status', 'expires_at_ms', 'state', 'updated_at'] },
);

function pushReservationRow(
  values: unknown[],
  tenantId: string,
  write: { readonly reservation: Reservation; readonly accountId: string },
  now: Instant,
): void {
  const r = write.reservation;
  values.push(
    tenantId,
    r.id,
    write.accountId,
    r.sessionId,
    r.subscriptionId,
    r.status,
    r.expiresAtMs,
    encodeReservationState(r),
    now,
  );
}

/** A reservation row as read (either format of `state`, see state-codec.ts). */
export function toReservation(row: ChargingReservationsTable): ReservationRow {
  return {
    reservation: isCompactState(row.state)
      ? decodeReservationState(row.state, {
          id: row.id,
          sessionId: row.session_id,
          subscriptionId: row.subscription_id,
          status: row.status,
        })
      : parseBigJson<StoredReservation>(row.state),
    accountId: row.account_id,
    updatedAt: row.updated_at as Instant,
  };
}

/**
 * `status = 'active'` with the status written into the SQL: the expiry index holds only active
 * reservations (a partial index, migration 0056), and a planner can use a partial index only when
 * it knows the value (SQLite re-prepares a statement with its bound values to see it; a generic
 * plan of a prepared statement on PostgreSQL would not). A constant of the code, never input.
 */
const ACTIVE = sql.lit('active');

export async function findReservations(
  db: Executor,
  tenantId: string,
  ids: readonly string[],
): Promise<ReservationRow[]> {
  const out: ReservationRow[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('charging_reservations')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const row of rows) out.push(toReservation(row));
  }
  return out;
}

export interface ReservationFilter {
  readonly accountId?: string;
  readonly sessionId?: string;
  readonly status?: string;
  /** Active reservations whose validity ended before this instant (ms). */
  readonly expiredBeforeMs?: number;
  readonly after?: string;
  readonly limit: number;
}

export async function listReservations(
  db: Executor,
  tenantId: string,
  filter: ReservationFilter,
): Promise<ReservationRow[]> {
  const rows = await db
    .selectFrom('charging_reservations')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(filter.accountId !== undefined, (q) => q.where('account_id', '=', filter.accountId!))
    .$if(filter.sessionId !== undefined, (q) => q.where('session_id', '=', filter.sessionId!))
    .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
    .$if(filter.expiredBeforeMs !== undefined, (q) =>
      q.where('status', '=', ACTIVE).where('expires_at_ms', '<=', filter.expiredBeforeMs!),
    )
    .$if(filter.after !== undefined, (q) => q.where('id', '>', filter.after!))
    .orderBy('id')
    .limit(filter.limit)
    .execute();
  return rows.map(toReservation);
}

/** The accounts that hold active reservations whose validity ended by `atMs`. */
/** The tenants with an active reservation whose validity ended by `atMs`. */
export async function tenantsWithExpiredReservations(db: Executor, atMs: number): Promise<string[]> {
  const rows = await db
    .selectFrom('charging_reservations')
    .select('tenant_id')
    .distinct()
    .where('status', '=', ACTIVE)
    .where('expires_at_ms', '<=', atMs)
    .execute();
  return rows.map((row) => row.tenant_id);
}

export async function accountsWithExpiredReservations(
  db: Executor,
  tenantId: string,
  atMs: number,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom('charging_reservations')
    .select('account_id')
    .distinct()
    .where('tenant_id', '=', tenantId)
    .where('status', '=', ACTIVE)
    .where('expires_at_ms', '<=', atMs)
    .limit(limit)
    .execute();
  return rows.map((row) => row.account_id);
}

// ---------------------------------------------------------------------------------------------
// Sessions

/** What `state` keeps of a session besides the columns. */
interface StoredSession {
  readonly lastFingerprint: string;
  readonly lastOutcome: Session['lastOutcome'];
  readonly reservationIds: readonly string[];
}

export interface SessionRow {
  readonly sessionId: string;
  readonly accountId: string;
  readonly subscriptionId: string;
  readonly protocol: string;
  readonly terminated: boolean;
  readonly lastRequestNumber: number;
  readonly lastFingerprint: string;
  readonly lastOutcome: Session['lastOutcome'];
  readonly reservationIds: readonly string[];
  readonly notifyUri: string | undefined;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

export interface SessionWrite {
  readonly session: Session;
  readonly accountId: string;
  readonly protocol: string;
  readonly notifyUri: string | undefined;
}

const sessionUpserter = new BulkInserter(
  'charging_sessions',
  [
    'tenant_id',
    'session_id',
    'account_id',
    'subscription_id',
    'protocol',
    'terminated',
    'last_request_number',
    'state',
    'notify_uri',
    'created_at',
    'updated_at',
  ],
  {
    key: ['tenant_id', 'session_id'],
    update: ['terminated', 'last_request_number', 'state', 'notify_uri', 'updated_at'],
  },
);

function pushSessionRow(values: unknown[], tenantId: string, write: SessionWrite, now: Instant): void {
  const { session, accountId, protocol, notifyUri } = write;
  values.push(
    tenantId,
    session.sessionId,
    accountId,
    session.subscriptionId,
    protocol,
    session.terminated ? 1 : 0,
    session.lastRequestNumber,
    encodeSessionState(session),
    notifyUri ?? null,
    now,
    now,
  );
}

/** A session row as read (either format of `state`, see state-codec.ts). */
export function toSession(row: ChargingSessionsTable): SessionRow {
  const stored: StoredSession = isCompactState(row.state)
    ? decodeSessionState(row.state, row.session_id)
    : parseBigJson<StoredSession>(row.state);
  return {
    sessionId: row.session_id,
    accountId: row.account_id,
    subscriptionId: row.subscription_id,
    protocol: row.protocol,
    terminated: toBool(row.terminated, 'charging_sessions.terminated'),
    lastRequestNumber: toSafeNumber(row.last_request_number, 'charging_sessions.last_request_number'),
    lastFingerprint: stored.lastFingerprint,
    lastOutcome: stored.lastOutcome,
    reservationIds: stored.reservationIds,
    notifyUri: row.notify_uri ?? undefined,
    createdAt: row.created_at as Instant,
    updatedAt: row.updated_at as Instant,
  };
}

/**
 * The sessions of an account that an engine loading the account needs: the open ones, and the
 * ended ones touched since `endedSince` (their last answer may still be asked for again).
 */
export async function listAccountSessions(
  db: Executor,
  tenantId: string,
  accountId: string,
  endedSince: Instant,
): Promise<SessionRow[]> {
  const rows = await db
    .selectFrom('charging_sessions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('account_id', '=', accountId)
    .where((eb) => eb.or([eb('terminated', '=', 0), eb('updated_at', '>=', endedSince)]))
    .execute();
  return rows.map(toSession);
}

export async function findSession(
  db: Executor,
  tenantId: string,
  sessionId: string,
): Promise<SessionRow | undefined> {
  const row = await db
    .selectFrom('charging_sessions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('session_id', '=', sessionId)
    .executeTakeFirst();
  return row === undefined ? undefined : toSession(row);
}

// ---------------------------------------------------------------------------------------------
// One group's writes

/** What one group commit of the engine writes for one tenant: the objects as they are now. */
export interface ChargingWriteSet {
  readonly balances: Iterable<{
    readonly balance: Balance;
    readonly accountId: string;
    readonly currency: string;
  }>;
  readonly movements: readonly Movement[];
  readonly reservations: Iterable<{ readonly reservation: Reservation; readonly accountId: string }>;
  readonly sessions: Iterable<SessionWrite>;
}

/**
 * The rows of a write set, serialised at the moment of the call: a snapshot, so the objects may
 * go on changing (the next group's requests) while the rows are being written.
 */
export interface ChargingRows {
  readonly balances: readonly unknown[];
  readonly movements: readonly unknown[];
  readonly reservations: readonly unknown[];
  readonly sessions: readonly unknown[];
}

export function chargingRows(tenantId: string, writes: ChargingWriteSet, now: Instant): ChargingRows {
  const balances: unknown[] = [];
  for (const write of writes.balances) pushBalanceRow(balances, tenantId, write, now);
  const movements: unknown[] = [];
  for (const movement of writes.movements) pushMovementRow(movements, tenantId, movement);
  const reservations: unknown[] = [];
  for (const write of writes.reservations) pushReservationRow(reservations, tenantId, write, now);
  const sessions: unknown[] = [];
  for (const write of writes.sessions) pushSessionRow(sessions, tenantId, write, now);
  return { balances, movements, reservations, sessions };
}

/** Writes the rows through `db` (inside the caller's transaction). */
export async function writeChargingRows(db: Executor, rows: ChargingRows): Promise<void> {
  if (rows.balances.length > 0) await balanceUpserter.insert(db, rows.balances);
  if (rows.movements.length > 0) await movementInserter.insert(db, rows.movements);
  if (rows.reservations.length > 0) await reservationUpserter.insert(db, rows.reservations);
  if (rows.sessions.length > 0) await sessionUpserter.insert(db, rows.sessions);
}

/** The statements writeChargingRows would run, compiled for `db`'s dialect, for a writer thread. */
export function chargingRowStatements(
  db: Executor,
  rows: ChargingRows,
): Array<{ sql: string; parameters: readonly unknown[] }> {
  return [
    ...(rows.balances.length > 0 ? balanceUpserter.statements(db, rows.balances) : []),
    ...(rows.movements.length > 0 ? movementInserter.statements(db, rows.movements) : []),
    ...(rows.reservations.length > 0 ? reservationUpserter.statements(db, rows.reservations) : []),
    ...(rows.sessions.length > 0 ? sessionUpserter.statements(db, rows.sessions) : []),
  ];
}
