/**
 * The online charging engine: what the Nchf and Diameter faces (and the balance API) call.
 *
 * How one charging request runs:
 * 1. the subscriber directory finds who held the identity at the event instant;
 * 2. the account's charging state (balances, open sessions and their reservations) is taken from
 *    memory, or loaded once from the charging tables (checking every balance against the sum of
 *    its movements, and its holds against its active reservations);
 * 3. the pure core (src/charging, handleChargingRequest) reserves, commits, releases, with prices
 *    from the rating core (OnlinePricer: the subscription's tariff at the event instant);
 * 4. the rows the outcome changed join the current *group*; at the end of the event-loop turn one
 *    transaction writes the whole group (group commit), and only then are the group's answers
 *    given. A grant or a debit is therefore durable before the network hears of it, and the
 *    database sees one transaction per turn instead of one per request.
 *
 * One engine owns the charging state of the accounts it serves: the state in memory is the truth
 * between loads, so two engines must not serve the same accounts over one database (on SQLite
 * there is one process anyway; on PostgreSQL the design's partitioning by subscriber gives each
 * account one engine, see docs/charging.md). When a group fails to commit, every account in
 * memory is dropped and reloaded from the tables on its next request, and the group's requests
 * get an error, so nothing unconfirmed is ever built upon.
 */
import { setImmediate as nextTurn } from 'node:timers';
import { instantFromMs, msFromInstant, type Clock, type Instant } from '../kernel/clock.js';
import { CompiledQuery } from 'kysely';
import { allocateIds, allocateIdsQuery, firstAllocatedId } from '../usage/store.js';
import { OnlineUsageRecorder, type OnlineUsage, type PreparedUsage } from './charging-usage.js';
import type { BaseUnit } from '../kernel/quantity.js';
import { fail } from '../kernel/errors.js';
import type { Database, Executor } from '../storage/database.js';
import { inTransaction } from '../storage/database.js';
import { SqliteBackgroundWriter } from '../storage/sqlite-writer.js';
import { enqueueEvent, eventInsert, type NewEvent } from '../events/index.js';
import { newId } from '../kernel/ids.js';
import type { IdentityType } from '../customers/index.js';
import {
  ChargingErrors,
  addBalance,
  adjust,
  grantAllowance,
  assertChargingInvariants,
  createChargingState,
  expireReservations,
  grantsFromReservations,
  handleChargingRequest,
  openBalance,
  redeemVoucher,
  thresholdCrossedPayload,
  topUp,
  type Balance,
  type BalanceDefinition,
  type ChargingOutcome,
  type ChargingPolicy,
  type ChargingRequest,
  type ChargingState,
  type Movement,
  type MovementOutcome,
  type RatingGroupOutcome,
  type RatingGroupRequest,
  type Reservation,
  type Session,
  type ThresholdCrossing,
} from '../charging/index.js';
import * as store from '../charging/store.js';
import { releaseReservation as releaseReservationInState } from '../charging/index.js';
import type { UsageInput, UsageService } from '../usage/index.js';
import { SubscriberDirectory, type Owner } from './usage-directory.js';
import { OnlinePricer } from './usage-rating.js';

/** The unit each service is granted in when the request does not say. */
export const UNIT_OF_SERVICE: Readonly<Record<UsageService, BaseUnit>> = {
  voice: 'second',
  data: 'byte',
  sms: 'message',
  mms: 'message',
  content: 'event',
  iot: 'event',
};

export const DEFAULT_CHARGING_POLICY: ChargingPolicy = {
  // The server's Tcc: a reservation not reported within 15 minutes is released.
  validityMs: 15 * 60_000,
  defaultGrantByService: { voice: 300n, data: 10_000_000n, sms: 1n, mms: 1n },
  defaultGrantByUnit: { second: 300n, byte: 10_000_000n, message: 1n, event: 1n, unit: 1n },
  maxGrantByUnit: { second: 3_600n, byte: 1_000_000_000n },
};

/** One rating group of an online charging request, as the faces give it. */
export interface OnlineItem {
  readonly ratingGroup: number;
  readonly service: UsageService;
  /** Default: UNIT_OF_SERVICE[service]. */
  readonly unit?: BaseUnit;
  readonly usedUnits?: bigint;
  readonly release?: boolean;
  readonly requestedUnits?: bigint | 'default';
  readonly calledNumber?: string;
  readonly visitedMccMnc?: string;
  readonly eventType?: string;
}

export interface OnlineChargingInput {
  readonly tenantId: string;
  readonly sessionId: string;
  readonly requestNumber: number;
  /**
   * Who is charged: an identity the network names the subscriber by, or (for a later request of a
   * session whose identity the network does not repeat) the subscription id itself.
   */
  readonly identityType?: IdentityType;
  readonly identity?: string;
  readonly subscriptionId?: string;
  /** The event instant (the network's timestamp, or now). */
  readonly atMs: number;
  readonly protocol: 'nchf' | 'diameter' | 'api';
  readonly notifyUri?: string;
  readonly terminate?: boolean;
  readonly items: readonly OnlineItem[];
}

export interface OnlineChargingResult {
  readonly outcome: ChargingOutcome;
  readonly subscriptionId: string | undefined;
  readonly accountId: string | undefined;
  readonly currency: string | undefined;
}

export interface ChargingEngineOptions {
  readonly database: Database;
  readonly clock: Clock;
  readonly policy?: ChargingPolicy;
  /** How long the subscriber directory is trusted before it is read again (ms); default 60 s. */
  readonly directoryTtlMs?: number;
  /** Ended sessions kept loaded (to answer a repeated last request), ms; default 1 hour. */
  readonly endedSessionMemoryMs?: number;
  /** On a SQLite file, commit groups in a worker thread (default true); false: on the event loop. */
  readonly backgroundWriter?: boolean;
}

/**
 * A credit (top-up, voucher, positive adjustment) reached an account whose open sessions had run
 * out: the faces ask their network elements to request quota again (Nchf REAUTHORIZATION to the
 * session's notifyUri, Diameter RAR).
 */
export interface StarvedSessions {
  readonly tenantId: string;
  readonly accountId: string;
  readonly sessions: ReadonlyArray<{
    readonly sessionId: string;
    readonly protocol: string;
    readonly notifyUri: string | undefined;
    /** The rating groups whose last grant was refused or final. */
    readonly ratingGroups: readonly number[];
  }>;
}

/** Grant codes after which a session waits for money to go on. */
const STARVED_GRANTS = new Set(['quota_limit_reached', 'no_balance', 'spending_cap_reached']);

/** What the engine keeps of a session besides the core's Session. */
interface SessionMeta {
  readonly protocol: string;
  notifyUri: string | undefined;
  /** When it ended (terminated), to forget it endedSessionMemoryMs later. */
  endedAtMs: number | undefined;
}

/** What the engine keeps of one account. */
interface AccountState {
  readonly tenantId: string;
  readonly accountId: string;
  readonly currency: string;
  readonly state: ChargingState;
  readonly sessionMeta: Map<string, SessionMeta>;
}

/** Everything one group writes, per tenant. */
interface TenantWrites {
  readonly balances: Map<string, { balance: Balance; accountId: string; currency: string }>;
  readonly movements: Movement[];
  readonly reservations: Map<string, { reservation: Reservation; accountId: string }>;
  readonly sessions: Map<string, store.SessionWrite>;
  /** balance.threshold_crossed events of network charging: they commit with their debits. */
  readonly events: NewEvent[];
  /** The rated usage records of the commits (charging-usage.ts): they commit with their debits. */
  readonly usage: OnlineUsage[];
}

interface Group {
  readonly tenants: Map<string, TenantWrites>;
  readonly waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
}

/**
 * Groups in flight on the writer thread: one committed and waiting for its sync of the WAL (or
 * still running) and one sent behind it; the next is built meanwhile.
 */
const MAX_GROUPS_IN_FLIGHT = 2;

/** How often the engine checks that the catalog it prices with is still current (checkCatalog). */
const CATALOG_CHECK_MS = 5_000;

function newGroup(): Group {
  return { tenants: new Map(), waiters: [] };
}

/**
 * A map by tenant, then by id. The hot path looks accounts and sessions up on every request; a
 * `${tenant}\u0000${id}` key would be a new string each time, flattened and hashed for every
 * lookup, where the id alone is usually a string already hashed by an earlier lookup.
 */
class ByTenant<V> {
  private readonly tenants = new Map<string, Map<string, V>>();

  get(tenantId: string, id: string): V | undefined {
    return this.tenants.get(tenantId)?.get(id);
  }

  set(tenantId: string, id: string, value: V): void {
    let values = this.tenants.get(tenantId);
    if (values === undefined) {
      values = new Map();
      this.tenants.set(tenantId, values);
    }
    values.set(id, value);
  }

  delete(tenantId: string, id: string): void {
    this.tenants.get(tenantId)?.delete(id);
  }

  clear(): void {
    this.tenants.clear();
  }
}

export class ChargingEngine {
  private readonly policy: ChargingPolicy;
  private readonly accounts = new Map<string, Promise<AccountState>>();
  /**
   * The accounts of `accounts` whose load has finished, by tenant and account id: the hot path
   * takes them without awaiting a promise (each await costs a microtask turn and, with async hooks
   * on, hook calls). Kept in step with `accounts`: cleared with it, set only while its promise is
   * the one in `accounts`.
   */
  private readonly loadedAccounts = new ByTenant<AccountState>();
  /** tenant → session → account, for the open sessions this engine has handled. */
  private readonly sessionAccounts = new ByTenant<string>();
  private readonly pricers = new Map<string, Promise<OnlinePricer>>();
  /** The pricers of `pricers` that have loaded, likewise. */
  private readonly loadedPricers = new Map<string, OnlinePricer>();
  /** tenant → when its pricer was last checked against the catalog (checkCatalog). */
  private readonly catalogCheckedAtMs = new Map<string, number>();
  private readonly directories = new Map<string, { directory: SubscriberDirectory; loadedAtMs: number }>();
  private group: Group = newGroup();
  private flushScheduled = false;
  private flushing = false;
  /** Groups sent to the database and not committed yet, oldest first. */
  private readonly committing: Group[] = [];
  /** The flush loop, waiting for a group in flight to settle. */
  private readonly slotWaiters: Array<() => void> = [];
  private writer: SqliteBackgroundWriter | undefined;
  private usageRecorder: OnlineUsageRecorder | undefined;
  private readonly creditListeners: Array<(event: StarvedSessions) => void> = [];
  /** Requests whose group has not committed yet. */
  private inFlight = 0;
  private idle: Array<() => void> = [];

  constructor(private readonly options: ChargingEngineOptions) {
    this.policy = options.policy ?? DEFAULT_CHARGING_POLICY;
  }

  // ---------------------------------------------------------------------------------------------
  // Online charging

  /** Handles one request of a session; resolves once what it changed is committed. */
  async charge(input: OnlineChargingInput): Promise<OnlineChargingResult> {
    const owner =
      input.identityType !== undefined && input.identity !== undefined
        ? await this.ownerOf(input.tenantId, input.identityType, input.identity, input.atMs)
        : input.subscriptionId !== undefined
          ? await this.ownerOfSubscription(input.tenantId, input.subscriptionId)
          : undefined;
    if (owner === undefined) {
      return {
        outcome: refusal(
          input,
          'user_unknown',
          input.identity !== undefined
            ? `identity: no subscription held ${input.identityType ?? 'msisdn'} ${input.identity} at ${instantFromMs(input.atMs)}`
            : `subscriptionId: no subscription ${input.subscriptionId ?? '(none given)'}`,
        ),
        subscriptionId: undefined,
        accountId: undefined,
        currency: undefined,
      };
    }
    let account = this.loadedAccounts.get(input.tenantId, owner.account.id);
    let pricer = this.loadedPricers.get(input.tenantId);
    if (account === undefined || pricer === undefined) {
      [account, pricer] = await Promise.all([
        this.accountOf(input.tenantId, owner.account.id, owner.account.currency),
        this.pricerOf(input.tenantId),
      ]);
    }
    this.checkCatalog(input.tenantId, pricer);
    const subscriptionId = owner.subscription.id;
    if (account.state.subscriptions.get(subscriptionId) !== account.accountId) {
      account.state.subscriptions.set(subscriptionId, account.accountId);
    }

    const templates = input.items.map((item) => usageTemplate(item, input));
    // The zone only matters to zoned buckets; finding it prices the usage once more.
    const zoned = account.state.order.some((balance) => balance.zones !== undefined);
    const request: ChargingRequest = {
      sessionId: input.sessionId,
      requestNumber: input.requestNumber,
      subscriptionId,
      atMs: input.atMs,
      ...(input.terminate === true ? { terminate: true } : {}),
      items: input.items.map((item, i) =>
        this.itemRequest(item, templates[i] as UsageInput, owner, account.currency, pricer, zoned),
      ),
    };
    // Synchronous from here to enqueue: no other request can see the state half-changed.
    const before = account.state.sessions.get(input.sessionId)?.reservations.slice() ?? [];
    const outcome = handleChargingRequest(account.state, request, this.policy);
    if (outcome.code === 'ok' && !outcome.replayed) {
      const session = account.state.sessions.get(input.sessionId) as Session;
      const meta = account.sessionMeta.get(input.sessionId) ?? {
        protocol: input.protocol,
        notifyUri: input.notifyUri,
        endedAtMs: undefined,
      };
      if (input.notifyUri !== undefined) meta.notifyUri = input.notifyUri;
      if (session.terminated && meta.endedAtMs === undefined) meta.endedAtMs = this.options.clock.nowMs();
      account.sessionMeta.set(input.sessionId, meta);
      // Open sessions are found in memory by later requests; an ended one is read from its row.
      if (session.terminated) this.sessionAccounts.delete(input.tenantId, input.sessionId);
      else this.sessionAccounts.set(input.tenantId, input.sessionId, account.accountId);
      const writes = this.writesOf(input.tenantId);
      // The reservations before and after the request (the writes are keyed by id, so one in
      // both is written once).
      for (const reservations of [before, session.reservations]) {
        for (const reservation of reservations) {
          writes.reservations.set(reservation.id, { reservation, accountId: account.accountId });
          for (const id of reservation.holdBalanceIds) this.touchBalance(writes, account, id);
        }
      }
      writes.sessions.set(session.sessionId, {
        session,
        accountId: account.accountId,
        protocol: meta.protocol,
        notifyUri: meta.notifyUri,
      });
      this.addMovements(writes, account, outcome.movements);
      for (const crossing of outcome.thresholds) this.addThresholdEvent(writes, account, crossing);
      this.addUsage(writes, account, input, owner, templates, pricer, outcome, before, session);
    }
    // Every answer waits for the group that is open now, even one that changed nothing (a
    // replay, a refusal): it may depend on state an earlier request of this turn changed, and
    // must not leave before that change is durable.
    await this.commitGroup();
    return { outcome, subscriptionId, accountId: account.accountId, currency: account.currency };
  }

  private itemRequest(
    item: OnlineItem,
    template: UsageInput,
    owner: Owner,
    currency: string,
    pricer: OnlinePricer,
    zoned = false,
  ): RatingGroupRequest {
    const zone = zoned ? pricer.zoneOf(owner, template) : undefined;
    return {
      ratingGroup: item.ratingGroup,
      service: item.service,
      ...(zone === undefined ? {} : { zone }),
      unit: item.unit ?? UNIT_OF_SERVICE[item.service],
      ...(item.usedUnits === undefined ? {} : { usedUnits: item.usedUnits }),
      ...(item.release === true ? { release: true } : {}),
      ...(item.requestedUnits === undefined ? {} : { requestedUnits: item.requestedUnits }),
      pricing: {
        price: (units: bigint): bigint | undefined => {
          if (units === 0n) return 0n;
          const priced = pricer.price(owner, template, units);
          if (!('amountPico' in priced) || priced.currency !== currency) return undefined;
          return priced.amountPico;
        },
      },
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Balances (the API and the CLI)

  /** Opens a balance for an account (or one of its subscriptions), empty; credit it with topUp. */
  async openBalance(
    tenantId: string,
    accountId: string,
    currency: string,
    definition: BalanceDefinition,
  ): Promise<Balance> {
    const account = await this.accountOf(tenantId, accountId, currency);
    if (account.currency !== currency) {
      throw fail(
        ChargingErrors.invalid_balance,
        `currency: account ${accountId} is charged in ${account.currency}, not ${currency}`,
        { field: 'currency', record: accountId },
      );
    }
    const balance = openBalance(definition);
    addBalance(account.state, balance);
    this.touchBalance(this.writesOf(tenantId), account, balance.id);
    await this.commitGroup();
    return balance;
  }

  /** A top-up, adjustment, voucher or allowance-grant credit of a balance of `accountId`. */
  async move(
    tenantId: string,
    accountId: string,
    kind: 'top_up' | 'adjustment' | 'voucher' | 'grant',
    input: { balanceId: string; amount: bigint; reference: string; atMs?: number },
  ): Promise<MovementOutcome> {
    const account = await this.loadedAccount(tenantId, accountId);
    const credit = { ...input, atMs: input.atMs ?? this.options.clock.nowMs() };
    const outcome =
      kind === 'top_up'
        ? topUp(account.state, credit)
        : kind === 'voucher'
          ? redeemVoucher(account.state, credit)
          : kind === 'grant'
            ? grantAllowance(account.state, credit)
            : adjust(account.state, credit);
    if (outcome.code === 'ok') this.addMovements(this.writesOf(tenantId), account, outcome.movements);
    await this.commitGroup();
    if (outcome.code === 'ok' && outcome.movements.some((m) => m.amount > 0n)) this.announceCredit(account);
    return outcome;
  }

  /** Calls `listener` (after the commit) when a credit reaches an account with starved sessions. */
  onStarvedSessionsCredited(listener: (event: StarvedSessions) => void): () => void {
    this.creditListeners.push(listener);
    return () => {
      const at = this.creditListeners.indexOf(listener);
      if (at >= 0) this.creditListeners.splice(at, 1);
    };
  }

  private announceCredit(account: AccountState): void {
    if (this.creditListeners.length === 0) return;
    const sessions: Array<StarvedSessions['sessions'][number]> = [];
    for (const session of account.state.sessions.values()) {
      if (session.terminated || session.lastOutcome === undefined) continue;
      const ratingGroups = session.lastOutcome.items
        .filter(
          (item) => item.finalUnits || (item.grantCode !== undefined && STARVED_GRANTS.has(item.grantCode)),
        )
        .map((item) => item.ratingGroup);
      if (ratingGroups.length === 0) continue;
      const meta = account.sessionMeta.get(session.sessionId);
      sessions.push({
        sessionId: session.sessionId,
        protocol: meta?.protocol ?? 'api',
        notifyUri: meta?.notifyUri,
        ratingGroups,
      });
    }
    if (sessions.length === 0) return;
    const event = { tenantId: account.tenantId, accountId: account.accountId, sessions };
    for (const listener of this.creditListeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the credit is committed.
      }
    }
  }

  /** An account's state as loaded (for reading balances and reservations through the engine). */
  async accountState(tenantId: string, accountId: string): Promise<ChargingState> {
    return (await this.loadedAccount(tenantId, accountId)).state;
  }

  /**
   * Releases the active reservations whose validity ended by `atMs` (default now), in every
   * account that has one, loaded or not. Returns what expired.
   */
  async expire(
    tenantId: string,
    atMs?: number,
  ): Promise<{ reservations: number; thresholds: ThresholdCrossing[] }> {
    const at = atMs ?? this.options.clock.nowMs();
    const accountIds = new Set(
      await store.accountsWithExpiredReservations(this.options.database.db, tenantId, at, 10_000),
    );
    for (const [key, pending] of this.accounts) {
      if (key.startsWith(`${tenantId}\u0000`)) accountIds.add((await pending).accountId);
    }
    let reservations = 0;
    const thresholds: ThresholdCrossing[] = [];
    for (const accountId of accountIds) {
      const account = await this.loadedAccount(tenantId, accountId);
      this.forgetEndedSessions(account, at);
      const outcome = expireReservations(account.state, at);
      if (outcome.expiredReservations.length === 0) continue;
      const writes = this.writesOf(tenantId);
      for (const reservation of outcome.expiredReservations) {
        reservations++;
        writes.reservations.set(reservation.id, { reservation, accountId });
        for (const id of reservation.holdBalanceIds) this.touchBalance(writes, account, id);
      }
      this.addMovements(writes, account, outcome.movements);
      thresholds.push(...outcome.thresholds);
    }
    await this.commitGroup();
    return { reservations, thresholds };
  }

  /**
   * The tenants an expiry sweep at `atMs` has work in: those with a stored active reservation past
   * its validity, and those with accounts loaded here (whose newest reservations may not be
   * written yet).
   */
  async tenantsToSweep(atMs?: number): Promise<string[]> {
    const at = atMs ?? this.options.clock.nowMs();
    const tenants = new Set(await store.tenantsWithExpiredReservations(this.options.database.db, at));
    for (const key of this.accounts.keys()) tenants.add(key.slice(0, key.indexOf('\u0000')));
    return [...tenants];
  }

  /**
   * Drops from memory the sessions that ended more than endedSessionMemoryMs ago (one-time events
   * and short sessions would otherwise pile up in an account that stays loaded): the same ones a
   * fresh load of the account leaves out, so a repeat of their last request is answered the same
   * way after this as after a restart.
   */
  private forgetEndedSessions(account: AccountState, atMs: number): void {
    const before = atMs - (this.options.endedSessionMemoryMs ?? 3_600_000);
    for (const [sessionId, meta] of account.sessionMeta) {
      if (meta.endedAtMs === undefined || meta.endedAtMs > before) continue;
      const session = account.state.sessions.get(sessionId);
      if (session !== undefined && session.reservations.some((r) => r.status === 'active')) continue;
      account.state.sessions.delete(sessionId);
      account.sessionMeta.delete(sessionId);
    }
  }

  /** Waits until every group enqueued so far has committed. */
  async drain(): Promise<void> {
    if (this.inFlight === 0 && this.group.waiters.length === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  // ---------------------------------------------------------------------------------------------
  // Loading

  private async ownerOf(
    tenantId: string,
    type: IdentityType,
    value: string,
    atMs: number,
  ): Promise<Owner | undefined> {
    const directory = this.directoryOf(tenantId);
    await directory.preloadIdentity(type, value);
    return directory.ownerAt(type, value, atMs);
  }

  private ownerOfSubscription(tenantId: string, subscriptionId: string): Promise<Owner | undefined> {
    return this.directoryOf(tenantId).ownerOfSubscription(this.options.database.db, subscriptionId);
  }

  private directoryOf(tenantId: string): SubscriberDirectory {
    const now = this.options.clock.nowMs();
    let entry = this.directories.get(tenantId);
    if (entry === undefined || now - entry.loadedAtMs > (this.options.directoryTtlMs ?? 60_000)) {
      entry = { directory: new SubscriberDirectory(this.options.database, tenantId), loadedAtMs: now };
      this.directories.set(tenantId, entry);
    }
    return entry.directory;
  }

  /**
   * What a session's latest grants were, per rating group (charging/reservations.ts
   * grantsFromReservations); undefined when the engine does not know the session.
   */
  async sessionGrants(
    tenantId: string,
    sessionId: string,
    ratingGroups: readonly number[],
  ): Promise<RatingGroupOutcome[] | undefined> {
    const known = await this.findSession(tenantId, sessionId);
    if (known === undefined) return undefined;
    const session = (await this.accountState(tenantId, known.accountId)).sessions.get(sessionId);
    return session === undefined ? undefined : grantsFromReservations(session, ratingGroups);
  }

  /**
   * findSession's answer for a session open in an account loaded in memory, without a promise;
   * undefined when the session is not one of those (ask findSession then).
   */
  findLoadedSession(
    tenantId: string,
    sessionId: string,
  ): { subscriptionId: string; accountId: string; terminated: boolean } | undefined {
    const accountId = this.sessionAccounts.get(tenantId, sessionId);
    if (accountId === undefined) return undefined;
    const session = this.loadedAccounts.get(tenantId, accountId)?.state.sessions.get(sessionId);
    return session === undefined
      ? undefined
      : { subscriptionId: session.subscriptionId, accountId, terminated: session.terminated };
  }

  /** The subscription and account of a session the engine has seen (in memory or stored). */
  async findSession(
    tenantId: string,
    sessionId: string,
  ): Promise<{ subscriptionId: string; accountId: string; terminated: boolean } | undefined> {
    const loaded = this.findLoadedSession(tenantId, sessionId);
    if (loaded !== undefined) return loaded;
    const accountId = this.sessionAccounts.get(tenantId, sessionId);
    const pending = accountId === undefined ? undefined : this.accounts.get(`${tenantId}\u0000${accountId}`);
    const session = pending === undefined ? undefined : (await pending).state.sessions.get(sessionId);
    if (session !== undefined) {
      return {
        subscriptionId: session.subscriptionId,
        accountId: accountId as string,
        terminated: session.terminated,
      };
    }
    const row = await store.findSession(this.options.database.db, tenantId, sessionId);
    return row === undefined
      ? undefined
      : { subscriptionId: row.subscriptionId, accountId: row.accountId, terminated: row.terminated };
  }

  private pricerOf(tenantId: string): Promise<OnlinePricer> {
    let pricer = this.pricers.get(tenantId);
    if (pricer === undefined) {
      const pending = OnlinePricer.load(this.options.database.db, tenantId);
      this.pricers.set(tenantId, pending);
      pending.then(
        (loaded) => {
          if (this.pricers.get(tenantId) === pending) this.loadedPricers.set(tenantId, loaded);
        },
        () => {
          if (this.pricers.get(tenantId) === pending) this.pricers.delete(tenantId);
        },
      );
      pricer = pending;
    }
    return pricer;
  }

  /**
   * Every CATALOG_CHECK_MS at most, asks (in the background) whether the tenant's catalog is still
   * the one `pricer` loaded, and forgets it when not: a catalog change made anywhere (the API of
   * this server, the CLI, another server) reaches online pricing within about that long. Requests
   * until then are priced with the catalog as loaded; a failed check is tried again next time.
   */
  private checkCatalog(tenantId: string, pricer: OnlinePricer): void {
    const now = this.options.clock.nowMs();
    const last = this.catalogCheckedAtMs.get(tenantId);
    if (last !== undefined && now - last < CATALOG_CHECK_MS) return;
    this.catalogCheckedAtMs.set(tenantId, now);
    if (last === undefined) return; // just loaded
    pricer.isCurrent(this.options.database.db).then(
      (current) => {
        if (!current && this.loadedPricers.get(tenantId) === pricer) this.forgetCatalog(tenantId);
      },
      () => undefined,
    );
  }

  /** Forgets the catalog the engine prices with (after a catalog change); the next request reloads it. */
  forgetCatalog(tenantId: string): void {
    this.pricers.delete(tenantId);
    this.loadedPricers.delete(tenantId);
  }

  private async loadedAccount(tenantId: string, accountId: string): Promise<AccountState> {
    const known = this.accounts.get(`${tenantId}\u0000${accountId}`);
    if (known !== undefined) return known;
    const [first] = await store.listBalances(this.options.database.db, tenantId, { accountId, limit: 1 });
    if (first === undefined) {
      throw fail(ChargingErrors.balance_not_found, `account ${accountId} has no balances`, {
        record: accountId,
      });
    }
    return this.accountOf(tenantId, accountId, first.currency);
  }

  private accountOf(tenantId: string, accountId: string, currency: string): Promise<AccountState> {
    const key = `${tenantId}\u0000${accountId}`;
    let pending = this.accounts.get(key);
    if (pending === undefined) {
      const loading = this.loadAccount(tenantId, accountId, currency);
      this.accounts.set(key, loading);
      loading.then(
        (account) => {
          if (this.accounts.get(key) === loading) this.loadedAccounts.set(tenantId, accountId, account);
        },
        () => {
          if (this.accounts.get(key) === loading) this.accounts.delete(key);
        },
      );
      pending = loading;
    }
    return pending;
  }

  private async loadAccount(tenantId: string, accountId: string, currency: string): Promise<AccountState> {
    const db = this.options.database.db;
    const rows = await store.listAccountBalances(db, tenantId, accountId);
    const endedSince = instantFromMs(
      this.options.clock.nowMs() - (this.options.endedSessionMemoryMs ?? 3_600_000),
    );
    const sessionRows = await store.listAccountSessions(db, tenantId, accountId, endedSince);
    const reservationIds = sessionRows.flatMap((row) => row.reservationIds);
    const reservations = new Map(
      (await store.findReservations(db, tenantId, reservationIds)).map((row) => [
        row.reservation.id,
        row.reservation,
      ]),
    );
    // Paired assertion on load: each balance is the sum of its movements.
    for (const row of rows) await checkMovements(db, tenantId, row.balance);
    const subscriptions: Array<[string, string]> = [];
    const sessions: Session[] = [];
    const sessionMeta = new Map<string, SessionMeta>();
    for (const row of sessionRows) {
      subscriptions.push([row.subscriptionId, accountId]);
      sessions.push({
        sessionId: row.sessionId,
        subscriptionId: row.subscriptionId,
        lastRequestNumber: row.lastRequestNumber,
        lastFingerprint: row.lastFingerprint,
        lastOutcome: row.lastOutcome,
        reservations: row.reservationIds.flatMap((id) => {
          const found = reservations.get(id);
          return found === undefined ? [] : [found];
        }),
        terminated: row.terminated,
      });
      sessionMeta.set(row.sessionId, {
        protocol: row.protocol,
        notifyUri: row.notifyUri,
        endedAtMs: row.terminated ? msFromInstant(row.updatedAt) : undefined,
      });
    }
    const accountCurrency = rows[0]?.currency ?? currency;
    const state = createChargingState({
      currency: accountCurrency,
      subscriptions,
      balances: rows.map((row) => row.balance),
      sessions,
    });
    // ...and the holds on each balance are its active reservations.
    assertChargingInvariants(state);
    return { tenantId, accountId, currency: accountCurrency, state, sessionMeta };
  }

  // ---------------------------------------------------------------------------------------------
  // Group commit

  private writesOf(tenantId: string): TenantWrites {
    let writes = this.group.tenants.get(tenantId);
    if (writes === undefined) {
      writes = {
        balances: new Map(),
        movements: [],
        reservations: new Map(),
        sessions: new Map(),
        events: [],
        usage: [],
      };
      this.group.tenants.set(tenantId, writes);
    }
    return writes;
  }

  private touchBalance(writes: TenantWrites, account: AccountState, balanceId: string): void {
    const balance = account.state.balances.get(balanceId);
    if (balance !== undefined) {
      writes.balances.set(balanceId, { balance, accountId: account.accountId, currency: account.currency });
    }
  }

  /** A rated usage record for each rating group the request committed (charging-usage.ts). */
  private addUsage(
    writes: TenantWrites,
    account: AccountState,
    input: OnlineChargingInput,
    owner: Owner,
    templates: readonly UsageInput[],
    pricer: OnlinePricer,
    outcome: ChargingOutcome,
    before: readonly Reservation[],
    session: Session,
  ): void {
    for (let i = 0; i < outcome.items.length; i++) {
      const item = outcome.items[i] as ChargingOutcome['items'][number];
      const reservationId = item.closedReservationId;
      if (item.commitCode !== 'committed' || reservationId === undefined || item.chargedUnits === 0n)
        continue;
      const reservation =
        before.find((r) => r.id === reservationId) ??
        session.reservations.find((r) => r.id === reservationId);
      let bucketUnits = 0n;
      for (const movement of outcome.movements) {
        if (movement.reference !== reservationId) continue;
        if (account.state.balances.get(movement.balanceId)?.unit !== 'money') bucketUnits -= movement.amount;
      }
      const template = templates[i] as UsageInput;
      const priced = pricer.price(owner, template, item.chargedUnits - bucketUnits);
      writes.usage.push({
        tenantId: account.tenantId,
        accountId: account.accountId,
        subscriptionId: session.subscriptionId,
        protocol: input.protocol,
        identity: input.identity ?? '',
        sessionId: input.sessionId,
        requestNumber: input.requestNumber,
        ratingGroup: item.ratingGroup,
        reservationId,
        service: template.service,
        unit: reservation?.unit ?? UNIT_OF_SERVICE[template.service],
        startMs: reservation?.createdAtMs ?? input.atMs,
        reportedAtMs: input.atMs,
        units: item.chargedUnits,
        bucketUnits,
        amountPico: item.chargedPico,
        currency: account.currency,
        calledNumber: template.calledNumber,
        visitedMccMnc: template.visitedMccMnc,
        trace: 'amountPico' in priced ? pricer.lastTrace() : JSON.stringify({ online: true, priced: false }),
      });
    }
  }

  /**
   * The event of a threshold that network charging crossed (low balance, 80 % / 100 % of an
   * allowance, credit limit near), in the same transaction as the debit. The operator's own
   * movements publish theirs with their audit record (workflows/charging-admin.ts).
   */
  private addThresholdEvent(writes: TenantWrites, account: AccountState, crossing: ThresholdCrossing): void {
    const balance = account.state.balances.get(crossing.balanceId);
    if (balance === undefined) return;
    writes.events.push({
      id: newId('evt', this.options.clock),
      tenantId: account.tenantId,
      type: 'balance.threshold_crossed',
      entityType: 'balance',
      entityId: crossing.balanceId,
      payload: thresholdCrossedPayload(crossing, {
        unit: balance.unit,
        accountId: account.accountId,
        currency: account.currency,
      }),
      occurredAt: this.options.clock.now(),
    });
  }

  private addMovements(writes: TenantWrites, account: AccountState, movements: readonly Movement[]): void {
    for (const movement of movements) {
      writes.movements.push(movement);
      this.touchBalance(writes, account, movement.balanceId);
    }
  }

  /** Joins the open group and resolves when it has committed. */
  private commitGroup(): Promise<void> {
    this.inFlight++;
    const done = new Promise<void>((resolve, reject) => this.group.waiters.push({ resolve, reject }));
    if (!this.flushScheduled && !this.flushing) {
      this.flushScheduled = true;
      nextTurn(() => void this.flush());
    }
    return done;
  }

  /**
   * `count` requests got their answer (their group committed or failed): drain() wakes up once
   * none is left. Counted here rather than in a `finally` on each request's promise, which would
   * cost every request two more promises.
   */
  private answered(count: number): void {
    this.inFlight -= count;
    if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    this.flushing = true;
    try {
      while (this.group.waiters.length > 0) {
        // On the writer thread, a group is sent while the one before it commits (its fsync), so
        // neither thread waits for the other; elsewhere one at a time. Either way groups are sent,
        // and so committed, in order.
        if (this.committing.length >= (this.backgroundWriter() === undefined ? 1 : MAX_GROUPS_IN_FLIGHT)) {
          await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
          continue;
        }
        const group = this.group;
        this.group = newGroup();
        this.committing.push(group);
        let written: Promise<void>;
        try {
          // The rows are serialised now, synchronously: what is written is the state after this
          // group's requests, whatever the next group's requests change while it is written.
          const now = this.options.clock.now();
          const rows: store.ChargingRows[] = [];
          const events: NewEvent[] = [];
          const usage: OnlineUsage[] = [];
          for (const [tenantId, writes] of group.tenants) {
            rows.push(
              store.chargingRows(
                tenantId,
                {
                  balances: writes.balances.values(),
                  movements: writes.movements,
                  reservations: writes.reservations.values(),
                  sessions: writes.sessions.values(),
                },
                now,
              ),
            );
            for (const event of writes.events) events.push(event);
            for (const record of writes.usage) usage.push(record);
          }
          const prepared = usage.length === 0 ? undefined : await this.recorder().prepare(usage);
          // Sent here, synchronously, before the loop takes the next group.
          written = this.writeRows(rows, events, prepared, now);
        } catch (error) {
          written = Promise.reject(error);
        }
        void written.then(
          () => {
            for (const waiter of group.waiters) waiter.resolve();
            this.answered(group.waiters.length);
            this.settled(group);
          },
          (error: unknown) => {
            this.failed(group, error);
            this.settled(group);
          },
        );
      }
    } finally {
      this.flushing = false;
    }
  }

  /** A group committed or failed: it leaves the pipeline, and the flush loop may send another. */
  private settled(group: Group): void {
    const at = this.committing.indexOf(group);
    if (at >= 0) this.committing.splice(at, 1);
    this.slotWaiters.shift()?.();
  }

  /**
   * A group failed to commit. Nothing of it is durable, and the state in memory has it: every
   * account is dropped so the next request reads the truth back, and the requests that depend on
   * it fail: its own, those of the groups sent after it (the writer refuses them, see
   * SqliteBackgroundWriter.reset) and those of the open group (computed on the same state).
   */
  private failed(group: Group, error: unknown): void {
    this.accounts.clear();
    this.loadedAccounts.clear();
    this.sessionAccounts.clear();
    const next = this.group;
    this.group = newGroup();
    for (const waiter of group.waiters) waiter.reject(error);
    for (const waiter of next.waiters) waiter.reject(error);
    this.answered(group.waiters.length + next.waiters.length);
    // Posted now: what was sent before it is refused, what is sent after it runs.
    void this.writer?.reset().catch(() => undefined);
  }

  /**
   * One transaction with every row of a group. On a SQLite file the transaction runs on a second
   * connection in a worker thread (storage/sqlite-writer.ts), so the event loop serves requests
   * and builds the next group while the WAL is fsynced; elsewhere (PostgreSQL, whose driver does
   * not block, and in-memory SQLite) through the query builder here.
   */
  private async writeRows(
    rows: readonly store.ChargingRows[],
    events: readonly NewEvent[],
    usage: PreparedUsage | undefined,
    now: Instant,
  ): Promise<void> {
    const database = this.options.database;
    const usageStatements = usage === undefined ? [] : this.recorder().statements(database.db, usage, now);
    const writer = this.backgroundWriter();
    if (writer !== undefined) {
      await writer.write([
        ...rows.flatMap((tenantRows) => store.chargingRowStatements(database.db, tenantRows)),
        ...events.map((event) => eventInsert(database.db, event)),
        ...usageStatements,
      ]);
      return;
    }
    await inTransaction(database, async (tx) => {
      for (const tenantRows of rows) await store.writeChargingRows(tx, tenantRows);
      for (const event of events) await enqueueEvent(tx, event);
      for (const statement of usageStatements) {
        await tx.executeQuery(CompiledQuery.raw(statement.sql, [...statement.parameters]));
      }
    });
  }

  /** The writer thread, on a SQLite file (see writeRows); undefined elsewhere. */
  private backgroundWriter(): SqliteBackgroundWriter | undefined {
    const file = this.options.database.sqliteFile;
    if (file === undefined || this.options.backgroundWriter === false) return undefined;
    this.writer ??= new SqliteBackgroundWriter(file);
    return this.writer;
  }

  private recorder(): OnlineUsageRecorder {
    this.usageRecorder ??= new OnlineUsageRecorder(
      { database: this.options.database, clock: this.options.clock },
      async (count) => {
        const db = this.options.database.db;
        const writer = this.backgroundWriter();
        if (writer === undefined) return allocateIds(db, 'rated_usage', count);
        const [row] = await writer.query<{ next_id: unknown }>([allocateIdsQuery(db, 'rated_usage', count)]);
        if (row === undefined) throw new Error('usage_id_blocks has no rated_usage row');
        return firstAllocatedId(row, count);
      },
    );
    return this.usageRecorder;
  }

  /** Waits for every answer computed so far to be committed, then stops the writer thread. */
  async close(): Promise<void> {
    await this.drain();
    await this.writer?.close();
    this.writer = undefined;
  }

  // --- added for Diameter events ---

  /**
   * Prices the items of a request without reserving or charging anything (Diameter EVENT
   * requests: PRICE_ENQUIRY, CHECK_BALANCE, REFUND_ACCOUNT): who held the identity at `atMs`, the
   * account's currency and charging state (to read, never to change), and for each item how the
   * engine prices its units, exactly as `charge` would. Undefined when nobody held the identity.
   */
  async quote(input: OnlineChargingInput): Promise<
    | {
        readonly subscriptionId: string;
        readonly accountId: string;
        readonly currency: string;
        readonly state: ChargingState;
        readonly pricing: ReadonlyArray<RatingGroupRequest['pricing']>;
      }
    | undefined
  > {
    const owner =
      input.identityType !== undefined && input.identity !== undefined
        ? await this.ownerOf(input.tenantId, input.identityType, input.identity, input.atMs)
        : input.subscriptionId !== undefined
          ? await this.ownerOfSubscription(input.tenantId, input.subscriptionId)
          : undefined;
    if (owner === undefined) return undefined;
    const [account, pricer] = await Promise.all([
      this.accountOf(input.tenantId, owner.account.id, owner.account.currency),
      this.pricerOf(input.tenantId),
    ]);
    this.checkCatalog(input.tenantId, pricer);
    return {
      subscriptionId: owner.subscription.id,
      accountId: account.accountId,
      currency: account.currency,
      state: account.state,
      pricing: input.items.map(
        (item) => this.itemRequest(item, usageTemplate(item, input), owner, account.currency, pricer).pricing,
      ),
    };
  }

  /**
   * An adjustment that happens once per `reference`: when a movement with that reference is
   * already on the balance (stored, or in the group committing now), it is returned with
   * `replayed: true` and nothing changes. A refund a network element retransmits after a restart
   * is therefore not credited twice. Reads the balance's movements to look (refunds are rare);
   * concurrent calls with one reference must be serialised by the caller.
   */
  async adjustOnce(
    tenantId: string,
    accountId: string,
    input: { balanceId: string; amount: bigint; reference: string; atMs?: number },
  ): Promise<MovementOutcome & { readonly replayed: boolean }> {
    const stored = await store.listMovements(this.options.database.db, tenantId, input.balanceId);
    const pending = [...this.committing, this.group].flatMap(
      (group) => group.tenants.get(tenantId)?.movements ?? [],
    );
    const found = [...stored, ...pending].find(
      (movement) => movement.balanceId === input.balanceId && movement.reference === input.reference,
    );
    if (found !== undefined) return { code: 'ok', movements: [found], thresholds: [], replayed: true };
    return { ...(await this.move(tenantId, accountId, 'adjustment', input)), replayed: false };
  }

  // --- added for balance administration ---

  /**
   * Releases one active reservation on an operator's order (a stuck session): its holds go back
   * to the balances, nothing is charged, and the session's request numbering is left alone (see
   * releaseReservation in src/charging). The account is found from the stored reservation, or
   * among the accounts in memory for one the group has not written yet. The answer waits for the
   * group commit like every other change.
   */
  async releaseReservation(
    tenantId: string,
    reservationId: string,
    atMs?: number,
  ): Promise<{
    readonly code: ReturnType<typeof releaseReservationInState>['code'];
    readonly reservation: Reservation | undefined;
    readonly accountId: string | undefined;
  }> {
    const [row] = await store.findReservations(this.options.database.db, tenantId, [reservationId]);
    let accountId = row?.accountId;
    if (accountId === undefined) {
      for (const [key, pending] of this.accounts) {
        if (!key.startsWith(`${tenantId}\u0000`)) continue;
        const account = await pending;
        for (const session of account.state.sessions.values()) {
          if (session.reservations.some((r) => r.id === reservationId)) accountId = account.accountId;
        }
      }
    }
    if (accountId === undefined) return { code: 'reservation_not_found', reservation: undefined, accountId };
    const account = await this.loadedAccount(tenantId, accountId);
    const outcome = releaseReservationInState(
      account.state,
      reservationId,
      atMs ?? this.options.clock.nowMs(),
    );
    if (outcome.code === 'reservation_not_found' && row !== undefined) {
      // Stored but no longer loaded: its session ended long ago, so it is closed already.
      const status = row.reservation.status;
      const code =
        status === 'committed'
          ? 'already_committed'
          : status === 'expired'
            ? 'reservation_expired'
            : 'already_released';
      return { code, reservation: row.reservation, accountId };
    }
    if (outcome.code === 'released' && outcome.reservation !== undefined) {
      const writes = this.writesOf(tenantId);
      writes.reservations.set(reservationId, { reservation: outcome.reservation, accountId });
      for (const id of outcome.reservation.holdBalanceIds) this.touchBalance(writes, account, id);
    }
    await this.commitGroup();
    return { ...outcome, accountId };
  }
}

async function checkMovements(db: Executor, tenantId: string, balance: Balance): Promise<void> {
  const { total, count } = await store.sumMovements(db, tenantId, balance.id);
  if (total !== balance.amount || count !== balance.version) {
    throw fail(
      ChargingErrors.balance_mismatch,
      `balance ${balance.id} holds ${balance.amount} after ${balance.version} movements, but its ${count} stored movements add up to ${total}`,
      { record: balance.id },
    );
  }
}

function refusal(input: OnlineChargingInput, code: 'user_unknown', message: string): ChargingOutcome {
  return {
    sessionId: input.sessionId,
    requestNumber: input.requestNumber,
    code,
    message,
    replayed: false,
    items: [],
    movements: [],
    thresholds: [],
  };
}

/** The usage an item describes, without quantities: what the pricer prices units of. */
function usageTemplate(item: OnlineItem, input: OnlineChargingInput): UsageInput {
  return {
    service: item.service,
    identityType: input.identityType ?? 'msisdn',
    identity: input.identity ?? '',
    startMs: input.atMs,
    durationSec: 0,
    volumeUpBytes: 0,
    volumeDownBytes: 0,
    count: 0,
    roaming: item.visitedMccMnc !== undefined,
    ratingGroup: item.ratingGroup,
    ...(item.calledNumber === undefined ? {} : { calledNumber: item.calledNumber }),
    ...(item.visitedMccMnc === undefined ? {} : { visitedMccMnc: item.visitedMccMnc }),
    ...(item.eventType === undefined ? {} : { eventType: item.eventType }),
  };
}
