/**
 * The events tables: the outbox, webhook subscriptions, deliveries and the delivery log. This is
 * the only code that reads or writes them.
 *
 * The flow: a change writes its event to `outbox_events` in its own transaction (`enqueueEvent`),
 * so an event exists exactly when its change committed. The dispatcher then fans each event out to
 * one `webhook_deliveries` row per matching subscription (`fanOutPending`), claims the deliveries
 * that are due (`claimDueDeliveries`), sends them, and records each attempt (`recordAttempt`).
 * Every step is a transaction that either happens or does not, and a delivery is only closed
 * once the receiver acknowledged it, so a crash or an unreachable receiver delays events but never
 * loses them. Delivery is at least once: receivers deduplicate on the event id.
 */
import type { Clock, Instant } from '../kernel/clock.js';
import { instantFromMs, msFromInstant } from '../kernel/clock.js';
import { fail } from '../kernel/errors.js';
import { newId, randomToken } from '../kernel/ids.js';
import type { CompiledQuery } from 'kysely';
import type { Database, Executor, Tx } from '../storage/database.js';
import { fromJson, toJson, toSafeNumber } from '../storage/values.js';
import { EventsErrors } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Tables

export interface OutboxEventsTable {
  id: string;
  tenant_id: string;
  type: string;
  entity_type: string;
  entity_id: string;
  payload: string;
  occurred_at: string;
  fanned_out_at: string | null;
}

export interface WebhookSubscriptionsTable {
  id: string;
  tenant_id: string;
  url: string;
  secret: string;
  event_types: string;
  status: string;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface WebhookDeliveriesTable {
  id: string;
  tenant_id: string;
  subscription_id: string;
  event_id: string;
  status: string;
  attempts: bigint | number;
  next_attempt_at: string;
  last_status_code: bigint | number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
}

export interface WebhookAttemptsTable {
  id: string;
  tenant_id: string;
  delivery_id: string;
  attempt: bigint | number;
  started_at: string;
  duration_ms: bigint | number;
  status_code: bigint | number | null;
  error: string | null;
  response_excerpt: string | null;
}

declare module '../storage/schema.js' {
  interface DatabaseSchema {
    outbox_events: OutboxEventsTable;
    webhook_subscriptions: WebhookSubscriptionsTable;
    webhook_deliveries: WebhookDeliveriesTable;
    webhook_attempts: WebhookAttemptsTable;
  }
}

// ---------------------------------------------------------------------------------------------
// Model

export type SubscriptionStatus = 'active' | 'disabled';
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export const SUBSCRIPTION_STATUSES: readonly SubscriptionStatus[] = ['active', 'disabled'];
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'succeeded', 'failed'];

/** An event as a change hands it to the outbox. */
export interface NewEvent {
  /** A sortable `evt_...` id (newId('evt', clock)). */
  readonly id: string;
  readonly tenantId: string;
  /** `entity.verb`, e.g. `invoice.issued`. */
  readonly type: string;
  readonly entityType: string;
  readonly entityId: string;
  /** What subscribers receive as `data`; anything JSON can hold (bigints become decimal strings). */
  readonly payload: unknown;
  readonly occurredAt: Instant;
}

export interface DomainEvent {
  readonly id: string;
  readonly tenantId: string;
  readonly type: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly payload: unknown;
  readonly occurredAt: Instant;
  /** When the dispatcher created its deliveries; undefined while it waits in the outbox. */
  readonly fannedOutAt: Instant | undefined;
}

/** A subscription as shown to callers: never with its secret. */
export interface WebhookSubscription {
  readonly id: string;
  readonly tenantId: string;
  readonly url: string;
  /** Event types delivered: exact types, `prefix.*` patterns, or `*` for all. */
  readonly eventTypes: readonly string[];
  readonly status: SubscriptionStatus;
  readonly description: string;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

/** A subscription as the store holds it, with the signing secret. Never leaves the events domain. */
export interface StoredSubscription extends WebhookSubscription {
  readonly secret: string;
}

/** What creating a subscription or rotating its secret returns: the secret, shown this once. */
export interface SubscriptionWithSecret {
  readonly subscription: WebhookSubscription;
  readonly secret: string;
}

export interface WebhookDelivery {
  readonly id: string;
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly status: DeliveryStatus;
  /** Attempts made so far. */
  readonly attempts: number;
  /**
   * When a pending delivery is next due. While a dispatcher is sending it, this is the end of the
   * dispatcher's lease, after which another dispatcher may take it over.
   */
  readonly nextAttemptAt: Instant;
  readonly lastStatusCode: number | undefined;
  readonly lastError: string | undefined;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
  readonly deliveredAt: Instant | undefined;
}

/** One line of the delivery log: one HTTP attempt and what came back. */
export interface WebhookAttempt {
  readonly id: string;
  readonly tenantId: string;
  readonly deliveryId: string;
  readonly attempt: number;
  readonly startedAt: Instant;
  readonly durationMs: number;
  readonly statusCode: number | undefined;
  readonly error: string | undefined;
  readonly responseExcerpt: string | undefined;
}

/** A delivery taken by a dispatcher, with everything it needs to send it. Holds the secret. */
export interface ClaimedDelivery {
  readonly deliveryId: string;
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly url: string;
  readonly secret: string;
  /** Attempts made before this one. */
  readonly attempts: number;
  readonly event: DomainEvent;
}

// ---------------------------------------------------------------------------------------------
// Validation

const MAX_URL_LENGTH = 2048;
const MAX_DESCRIPTION_LENGTH = 500;
const MAX_EVENT_TYPES = 50;
const MAX_EVENT_TYPE_LENGTH = 100;
const MAX_ERROR_LENGTH = 1000;
const MAX_EXCERPT_LENGTH = 1024;
/** `entity.verb` in lower snake case, optionally ending in `.*` to match a whole family. */
const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$/;

/**
 * Checks a webhook URL and returns it in canonical form. Only http and https are accepted: other
 * schemes (file:, data:, ...) would let a subscriber point the platform at things that are not
 * web servers. Credentials in the URL are refused because URLs appear in lists and logs, while the
 * subscription secret is the way a receiver authenticates the sender.
 */
export function validateWebhookUrl(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw fail(EventsErrors.invalid_url, 'the webhook URL is required', { field: 'url' });
  }
  if (value.length > MAX_URL_LENGTH) {
    throw fail(EventsErrors.invalid_url, `the webhook URL is longer than ${MAX_URL_LENGTH} characters`, {
      field: 'url',
    });
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw fail(EventsErrors.invalid_url, 'the webhook URL is not a valid absolute URL', { field: 'url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw fail(EventsErrors.invalid_url, `the webhook URL must use http or https, not ${url.protocol}`, {
      field: 'url',
    });
  }
  if (url.hostname === '') {
    throw fail(EventsErrors.invalid_url, 'the webhook URL has no host', { field: 'url' });
  }
  if (url.username !== '' || url.password !== '') {
    throw fail(EventsErrors.invalid_url, 'the webhook URL must not contain credentials', { field: 'url' });
  }
  url.hash = '';
  return url.href;
}

/** Checks a list of event type patterns; returns it deduplicated, and `['*']` when `*` is in it. */
export function validateEventTypes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw fail(EventsErrors.invalid_event_type, 'eventTypes must be a non-empty array', {
      field: 'eventTypes',
    });
  }
  if (value.length > MAX_EVENT_TYPES) {
    throw fail(EventsErrors.invalid_event_type, `at most ${MAX_EVENT_TYPES} event types per subscription`, {
      field: 'eventTypes',
    });
  }
  const out: string[] = [];
  value.forEach((item: unknown, index) => {
    const valid =
      typeof item === 'string' &&
      item.length <= MAX_EVENT_TYPE_LENGTH &&
      (item === '*' || EVENT_TYPE_PATTERN.test(item));
    if (!valid) {
      throw fail(
        EventsErrors.invalid_event_type,
        `eventTypes[${index}] must be "*", an event type like "invoice.issued", or a family like "invoice.*"`,
        { field: `eventTypes.${index}` },
      );
    }
    if (!out.includes(item)) out.push(item);
  });
  return out.includes('*') ? ['*'] : out;
}

function validateDescription(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string' || value.length > MAX_DESCRIPTION_LENGTH) {
    throw fail(
      EventsErrors.invalid_description,
      `description must be text of at most ${MAX_DESCRIPTION_LENGTH} characters`,
      {
        field: 'description',
      },
    );
  }
  return value;
}

function validateStatus(value: unknown): SubscriptionStatus {
  if (!SUBSCRIPTION_STATUSES.includes(value as SubscriptionStatus)) {
    throw fail(EventsErrors.invalid_status, 'status must be "active" or "disabled"', { field: 'status' });
  }
  return value as SubscriptionStatus;
}

/** True when an event of `type` is delivered to a subscription listening for `patterns`. */
export function matchesEventType(patterns: readonly string[], type: string): boolean {
  return patterns.some(
    (pattern) =>
      pattern === '*' ||
      pattern === type ||
      (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))),
  );
}

function truncate(text: string | undefined, max: number): string | null {
  if (text === undefined) return null;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function executorOf(database: Database | Executor): Executor {
  return 'db' in database && 'dialect' in database ? database.db : (database as Executor);
}

/**
 * Runs `work` in the caller's transaction when given one, or in a new one: a store function that
 * writes several rows stays atomic either way, and composes into a larger unit of work.
 */
function withinTransaction<T>(database: Database | Executor, work: (tx: Tx) => Promise<T>): Promise<T> {
  const executor = executorOf(database);
  if (executor.isTransaction) return work(executor as Tx);
  return executor.transaction().execute(work);
}

/** Splits rows for multi-row statements, keeping each under the engines' bound-parameter limits. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function toEvent(row: OutboxEventsTable): DomainEvent {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    type: row.type,
    entityType: row.entity_type,
    entityId: row.entity_id,
    payload: toJson<unknown>(row.payload, 'outbox_events.payload'),
    occurredAt: row.occurred_at,
    fannedOutAt: row.fanned_out_at ?? undefined,
  };
}

function toStoredSubscription(row: WebhookSubscriptionsTable): StoredSubscription {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    url: row.url,
    secret: row.secret,
    eventTypes: toJson<string[]>(row.event_types, 'webhook_subscriptions.event_types'),
    status: row.status as SubscriptionStatus,
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The public view of a subscription: everything but the secret. */
export function publicSubscription(subscription: StoredSubscription): WebhookSubscription {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { secret, ...rest } = subscription;
  return rest;
}

function toDelivery(row: WebhookDeliveriesTable & { event_type: string }): WebhookDelivery {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    subscriptionId: row.subscription_id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status as DeliveryStatus,
    attempts: toSafeNumber(row.attempts, 'webhook_deliveries.attempts'),
    nextAttemptAt: row.next_attempt_at,
    lastStatusCode:
      row.last_status_code === null
        ? undefined
        : toSafeNumber(row.last_status_code, 'webhook_deliveries.last_status_code'),
    lastError: row.last_error ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deliveredAt: row.delivered_at ?? undefined,
  };
}

function toAttempt(row: WebhookAttemptsTable): WebhookAttempt {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    deliveryId: row.delivery_id,
    attempt: toSafeNumber(row.attempt, 'webhook_attempts.attempt'),
    startedAt: row.started_at,
    durationMs: toSafeNumber(row.duration_ms, 'webhook_attempts.duration_ms'),
    statusCode:
      row.status_code === null ? undefined : toSafeNumber(row.status_code, 'webhook_attempts.status_code'),
    error: row.error ?? undefined,
    responseExcerpt: row.response_excerpt ?? undefined,
  };
}

/** A secret that says what it is when found in a configuration file or a leak report. */
function newSecret(): string {
  return `whsec_${randomToken(32)}`;
}

// ---------------------------------------------------------------------------------------------
// Outbox

/**
 * Writes an event to the outbox. Call it with the transaction of the change it reports (as
 * `recordChange` does), so the event commits or rolls back with the change.
 */
export async function enqueueEvent(tx: Executor, event: NewEvent): Promise<void> {
  await tx.executeQuery(eventInsert(tx, event));
}

/**
 * The INSERT of one event into the outbox, compiled for `db`'s dialect but not run: for a writer
 * that runs a transaction's statements elsewhere (the charging engine's group commit, whose events
 * commit with the debits that caused them).
 */
export function eventInsert(db: Executor, event: NewEvent): CompiledQuery {
  return db
    .insertInto('outbox_events')
    .values({
      id: event.id,
      tenant_id: event.tenantId,
      type: event.type,
      entity_type: event.entityType,
      entity_id: event.entityId,
      payload: fromJson(event.payload ?? null),
      occurred_at: event.occurredAt,
      fanned_out_at: null,
    })
    .compile();
}

export async function findEvent(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<DomainEvent | undefined> {
  const row = await db
    .selectFrom('outbox_events')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toEvent(row) : undefined;
}

/** A tenant's events, oldest first, `after` being the last id of the previous page. */
export async function listEvents(
  db: Executor,
  tenantId: string,
  options: { type?: string; after?: string; limit: number },
): Promise<DomainEvent[]> {
  let query = db.selectFrom('outbox_events').selectAll().where('tenant_id', '=', tenantId);
  if (options.type !== undefined) query = query.where('type', '=', options.type);
  if (options.after !== undefined) query = query.where('id', '>', options.after);
  const rows = await query.orderBy('id').limit(options.limit).execute();
  return rows.map(toEvent);
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

export interface NewSubscriptionInput {
  readonly url: string;
  /** Defaults to `['*']`: every event of the tenant. */
  readonly eventTypes?: readonly string[];
  readonly description?: string;
  readonly status?: SubscriptionStatus;
}

/** Creates a subscription with a new signing secret, returned here and never again. */
export async function createSubscription(
  db: Executor,
  clock: Clock,
  tenantId: string,
  input: NewSubscriptionInput,
): Promise<SubscriptionWithSecret> {
  const url = validateWebhookUrl(input.url);
  const eventTypes = validateEventTypes(input.eventTypes ?? ['*']);
  const description = validateDescription(input.description);
  const status = validateStatus(input.status ?? 'active');
  const now = clock.now();
  const stored: StoredSubscription = {
    id: newId('whs', clock),
    tenantId,
    url,
    secret: newSecret(),
    eventTypes,
    status,
    description,
    createdAt: now,
    updatedAt: now,
  };
  await db
    .insertInto('webhook_subscriptions')
    .values({
      id: stored.id,
      tenant_id: stored.tenantId,
      url: stored.url,
      secret: stored.secret,
      event_types: fromJson(stored.eventTypes),
      status: stored.status,
      description: stored.description,
      created_at: stored.createdAt,
      updated_at: stored.updatedAt,
    })
    .execute();
  return { subscription: publicSubscription(stored), secret: stored.secret };
}

/** The subscription with its secret, for the dispatcher and for tests; never for API responses. */
export async function findStoredSubscription(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<StoredSubscription | undefined> {
  const row = await db
    .selectFrom('webhook_subscriptions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toStoredSubscription(row) : undefined;
}

export async function findSubscription(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<WebhookSubscription | undefined> {
  const stored = await findStoredSubscription(db, tenantId, id);
  return stored ? publicSubscription(stored) : undefined;
}

export async function listSubscriptions(
  db: Executor,
  tenantId: string,
  options: { status?: SubscriptionStatus; after?: string; limit: number },
): Promise<WebhookSubscription[]> {
  let query = db.selectFrom('webhook_subscriptions').selectAll().where('tenant_id', '=', tenantId);
  if (options.status !== undefined) query = query.where('status', '=', options.status);
  if (options.after !== undefined) query = query.where('id', '>', options.after);
  const rows = await query.orderBy('id').limit(options.limit).execute();
  return rows.map((row) => publicSubscription(toStoredSubscription(row)));
}

export interface SubscriptionChanges {
  readonly url?: string;
  readonly eventTypes?: readonly string[];
  readonly description?: string;
  readonly status?: SubscriptionStatus;
}

/**
 * Changes a subscription. Disabling it stops new deliveries from being created and pauses the
 * pending ones, which resume when it is enabled again; events that occur while it is disabled are
 * not delivered to it (they remain readable through listEvents).
 */
export async function updateSubscription(
  db: Executor,
  clock: Clock,
  tenantId: string,
  id: string,
  changes: SubscriptionChanges,
): Promise<WebhookSubscription> {
  const url = changes.url !== undefined ? validateWebhookUrl(changes.url) : undefined;
  const eventTypes = changes.eventTypes !== undefined ? validateEventTypes(changes.eventTypes) : undefined;
  const description =
    changes.description !== undefined ? validateDescription(changes.description) : undefined;
  const status = changes.status !== undefined ? validateStatus(changes.status) : undefined;
  const result = await db
    .updateTable('webhook_subscriptions')
    .set({
      ...(url !== undefined ? { url } : {}),
      ...(eventTypes !== undefined ? { event_types: fromJson(eventTypes) } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(status !== undefined ? { status } : {}),
      updated_at: clock.now(),
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  const found = result.numUpdatedRows > 0n ? await findSubscription(db, tenantId, id) : undefined;
  if (!found)
    throw fail(EventsErrors.subscription_not_found, `no webhook subscription ${id}`, { record: id });
  return found;
}

/**
 * Replaces the signing secret and returns the new one, shown this once. The old secret stops
 * working at once, including for deliveries already pending: they are signed when sent.
 */
export async function rotateSubscriptionSecret(
  db: Executor,
  clock: Clock,
  tenantId: string,
  id: string,
): Promise<SubscriptionWithSecret> {
  const secret = newSecret();
  const result = await db
    .updateTable('webhook_subscriptions')
    .set({ secret, updated_at: clock.now() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  const found = result.numUpdatedRows > 0n ? await findSubscription(db, tenantId, id) : undefined;
  if (!found)
    throw fail(EventsErrors.subscription_not_found, `no webhook subscription ${id}`, { record: id });
  return { subscription: found, secret };
}

/** Deletes a subscription with its deliveries and their log; pending deliveries are dropped. */
export async function deleteSubscription(
  database: Database | Executor,
  tenantId: string,
  id: string,
): Promise<void> {
  await withinTransaction(database, async (tx) => {
    const found = await tx
      .selectFrom('webhook_subscriptions')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!found)
      throw fail(EventsErrors.subscription_not_found, `no webhook subscription ${id}`, { record: id });
    await tx
      .deleteFrom('webhook_attempts')
      .where('delivery_id', 'in', (eb) =>
        eb.selectFrom('webhook_deliveries').select('id').where('subscription_id', '=', id),
      )
      .execute();
    await tx.deleteFrom('webhook_deliveries').where('subscription_id', '=', id).execute();
    await tx.deleteFrom('webhook_subscriptions').where('id', '=', id).execute();
  });
}

// ---------------------------------------------------------------------------------------------
// Fan-out, claiming and attempts (the dispatcher's side)

export interface FanOutResult {
  /** Events taken from the outbox and marked fanned out. */
  readonly events: number;
  /** Deliveries created (a delivery that already existed is not counted again). */
  readonly deliveries: number;
}

/**
 * Takes up to `limit` outbox events not yet fanned out, oldest first, creates one pending delivery
 * per matching active subscription of the event's tenant, and marks the events fanned out, all in
 * one transaction. A subscription receives the events that occur from its creation on, not the
 * backlog that was waiting when it was created. Safe to run twice or concurrently: the unique
 * (subscription_id, event_id) index turns a second insert into nothing.
 */
export async function fanOutPending(
  database: Database | Executor,
  clock: Clock,
  limit: number,
): Promise<FanOutResult> {
  return withinTransaction(database, async (tx) => {
    const events = await tx
      .selectFrom('outbox_events')
      .select(['id', 'tenant_id', 'type', 'occurred_at'])
      .where('fanned_out_at', 'is', null)
      .orderBy('id')
      .limit(limit)
      .execute();
    if (events.length === 0) return { events: 0, deliveries: 0 };

    const tenantIds = [...new Set(events.map((e) => e.tenant_id))];
    const subscriptions = await tx
      .selectFrom('webhook_subscriptions')
      .select(['id', 'tenant_id', 'event_types', 'created_at'])
      .where('tenant_id', 'in', tenantIds)
      .where('status', '=', 'active')
      .execute();
    const byTenant = new Map<string, Array<{ id: string; eventTypes: string[]; createdAt: string }>>();
    for (const s of subscriptions) {
      const list = byTenant.get(s.tenant_id) ?? [];
      list.push({
        id: s.id,
        eventTypes: toJson<string[]>(s.event_types, 'webhook_subscriptions.event_types'),
        createdAt: s.created_at,
      });
      byTenant.set(s.tenant_id, list);
    }

    const now = clock.now();
    const rows: Array<WebhookDeliveriesTable> = [];
    for (const event of events) {
      for (const subscription of byTenant.get(event.tenant_id) ?? []) {
        if (subscription.createdAt > event.occurred_at) continue;
        if (!matchesEventType(subscription.eventTypes, event.type)) continue;
        rows.push({
          id: newId('whd', clock),
          tenant_id: event.tenant_id,
          subscription_id: subscription.id,
          event_id: event.id,
          status: 'pending',
          attempts: 0,
          next_attempt_at: now,
          last_status_code: null,
          last_error: null,
          created_at: now,
          updated_at: now,
          delivered_at: null,
        });
      }
    }

    let created = 0;
    for (const chunk of chunks(rows, 200)) {
      const result = await tx
        .insertInto('webhook_deliveries')
        .values(chunk)
        .onConflict((oc) => oc.columns(['subscription_id', 'event_id']).doNothing())
        .executeTakeFirst();
      created += Number(result.numInsertedOrUpdatedRows ?? 0n);
    }
    for (const chunk of chunks(
      events.map((e) => e.id),
      500,
    )) {
      await tx
        .updateTable('outbox_events')
        .set({ fanned_out_at: now })
        .where('id', 'in', chunk)
        .where('fanned_out_at', 'is', null)
        .execute();
    }
    return { events: events.length, deliveries: created };
  });
}

/** How long a claimed delivery stays invisible to other dispatchers, by default. */
export const DEFAULT_LEASE_MS = 2 * 60 * 1000;

/** How many times a claim selects again after other dispatchers took every delivery it picked. */
const CLAIM_ROUNDS = 5;

/**
 * Claims up to `limit` pending deliveries due at `now` (oldest due first) whose subscription is
 * active. Claiming moves next_attempt_at forward by a lease, with a compare-and-set on the value
 * read, so two dispatchers never take the same delivery, and a dispatcher that dies mid-send only
 * delays the delivery until its lease runs out. The lease must outlast the request timeout.
 *
 * Each compare-and-set commits on its own (no enclosing transaction unless the caller passes one),
 * so competing dispatchers see a claim at once. When they took the deliveries this call picked,
 * it selects again, so an empty result means nothing is due rather than a lost race.
 */
export async function claimDueDeliveries(
  database: Database | Executor,
  now: Instant,
  limit: number,
  options: { leaseMs?: number } = {},
): Promise<ClaimedDelivery[]> {
  const db = executorOf(database);
  const leaseUntil = instantFromMs(msFromInstant(now) + (options.leaseMs ?? DEFAULT_LEASE_MS));
  const claimed: ClaimedDelivery[] = [];
  const tried: string[] = [];
  for (let round = 0; round < CLAIM_ROUNDS && claimed.length < limit; round++) {
    let query = db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_subscriptions as s', 's.id', 'd.subscription_id')
      .innerJoin('outbox_events as e', 'e.id', 'd.event_id')
      .select([
        'd.id as delivery_id',
        'd.tenant_id as tenant_id',
        'd.subscription_id as subscription_id',
        'd.attempts as attempts',
        'd.next_attempt_at as next_attempt_at',
        's.url as url',
        's.secret as secret',
        'e.id as event_id',
        'e.type as event_type',
        'e.entity_type as entity_type',
        'e.entity_id as entity_id',
        'e.payload as payload',
        'e.occurred_at as occurred_at',
        'e.fanned_out_at as fanned_out_at',
      ])
      .where('d.status', '=', 'pending')
      .where('d.next_attempt_at', '<=', now)
      .where('s.status', '=', 'active');
    if (tried.length > 0) query = query.where('d.id', 'not in', tried);
    const rows = await query
      .orderBy('d.next_attempt_at')
      .orderBy('d.id')
      .limit(limit - claimed.length)
      .execute();
    if (rows.length === 0) break;

    for (const row of rows) {
      tried.push(row.delivery_id);
      const result = await db
        .updateTable('webhook_deliveries')
        .set({ next_attempt_at: leaseUntil })
        .where('id', '=', row.delivery_id)
        .where('status', '=', 'pending')
        .where('next_attempt_at', '=', row.next_attempt_at)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) continue; // another dispatcher took it first
      claimed.push({
        deliveryId: row.delivery_id,
        tenantId: row.tenant_id,
        subscriptionId: row.subscription_id,
        url: row.url,
        secret: row.secret,
        attempts: toSafeNumber(row.attempts, 'webhook_deliveries.attempts'),
        event: toEvent({
          id: row.event_id,
          tenant_id: row.tenant_id,
          type: row.event_type,
          entity_type: row.entity_type,
          entity_id: row.entity_id,
          payload: row.payload,
          occurred_at: row.occurred_at,
          fanned_out_at: row.fanned_out_at,
        }),
      });
    }
  }
  return claimed;
}

export type AttemptOutcome =
  | { readonly status: 'succeeded' }
  | { readonly status: 'pending'; readonly nextAttemptAt: Instant }
  | { readonly status: 'failed' };

export interface AttemptRecord {
  /** A new `wha_...` id for the log row. */
  readonly id: string;
  readonly tenantId: string;
  readonly deliveryId: string;
  /** This attempt's number, 1 for the first. */
  readonly attempt: number;
  readonly startedAt: Instant;
  readonly durationMs: number;
  readonly statusCode: number | undefined;
  /** Why the attempt failed when there was no usable response (timeout, connection refused). */
  readonly error: string | undefined;
  readonly responseExcerpt: string | undefined;
  /** What becomes of the delivery. */
  readonly outcome: AttemptOutcome;
  readonly recordedAt: Instant;
}

/**
 * Logs an attempt and moves its delivery to the outcome, in one transaction. Returns false when
 * the delivery was no longer pending (another dispatcher recorded it first after a lease ran
 * out); the attempt is logged anyway, because the request was really sent.
 */
export async function recordAttempt(database: Database | Executor, record: AttemptRecord): Promise<boolean> {
  const lastError = truncate(record.error, MAX_ERROR_LENGTH);
  return withinTransaction(database, async (tx) => {
    await tx
      .insertInto('webhook_attempts')
      .values({
        id: record.id,
        tenant_id: record.tenantId,
        delivery_id: record.deliveryId,
        attempt: record.attempt,
        started_at: record.startedAt,
        duration_ms: Math.max(0, Math.round(record.durationMs)),
        status_code: record.statusCode ?? null,
        error: lastError,
        response_excerpt: truncate(record.responseExcerpt, MAX_EXCERPT_LENGTH),
      })
      .execute();
    const { outcome } = record;
    const result = await tx
      .updateTable('webhook_deliveries')
      .set({
        status: outcome.status,
        attempts: record.attempt,
        next_attempt_at: outcome.status === 'pending' ? outcome.nextAttemptAt : record.recordedAt,
        last_status_code: record.statusCode ?? null,
        last_error: lastError,
        updated_at: record.recordedAt,
        delivered_at: outcome.status === 'succeeded' ? record.recordedAt : null,
      })
      .where('tenant_id', '=', record.tenantId)
      .where('id', '=', record.deliveryId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  });
}

// ---------------------------------------------------------------------------------------------
// Deliveries and the delivery log (the operator's side)

function deliveriesQuery(db: Executor, tenantId: string) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('outbox_events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select('e.type as event_type')
    .where('d.tenant_id', '=', tenantId);
}

export async function findDelivery(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<WebhookDelivery | undefined> {
  const row = await deliveriesQuery(db, tenantId).where('d.id', '=', id).executeTakeFirst();
  return row ? toDelivery(row) : undefined;
}

/** A tenant's deliveries, oldest first, `after` being the last id of the previous page. */
export async function listDeliveries(
  db: Executor,
  tenantId: string,
  options: {
    subscriptionId?: string;
    eventId?: string;
    status?: DeliveryStatus;
    after?: string;
    limit: number;
  },
): Promise<WebhookDelivery[]> {
  let query = deliveriesQuery(db, tenantId);
  if (options.subscriptionId !== undefined)
    query = query.where('d.subscription_id', '=', options.subscriptionId);
  if (options.eventId !== undefined) query = query.where('d.event_id', '=', options.eventId);
  if (options.status !== undefined) query = query.where('d.status', '=', options.status);
  if (options.after !== undefined) query = query.where('d.id', '>', options.after);
  const rows = await query.orderBy('d.id').limit(options.limit).execute();
  return rows.map(toDelivery);
}

/** The delivery log of one delivery, first attempt first. Empty when the delivery is unknown. */
export async function listAttempts(
  db: Executor,
  tenantId: string,
  deliveryId: string,
): Promise<WebhookAttempt[]> {
  const rows = await db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('delivery_id', '=', deliveryId)
    .orderBy('attempt')
    .orderBy('id')
    .execute();
  return rows.map(toAttempt);
}

/**
 * Puts a failed (dead-lettered) delivery back in the queue, due at `now`. The attempt count is
 * kept, so the log numbers continue and the retry is one more attempt: if it fails too, the
 * delivery is failed again and can be retried again.
 */
export async function retryDelivery(
  db: Executor,
  tenantId: string,
  deliveryId: string,
  now: Instant,
): Promise<WebhookDelivery> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: now, updated_at: now })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', deliveryId)
    .where('status', '=', 'failed')
    .executeTakeFirst();
  const delivery = await findDelivery(db, tenantId, deliveryId);
  if (!delivery) {
    throw fail(EventsErrors.delivery_not_found, `no webhook delivery ${deliveryId}`, { record: deliveryId });
  }
  if (result.numUpdatedRows === 0n) {
    throw fail(
      EventsErrors.delivery_not_retryable,
      `delivery ${deliveryId} is ${delivery.status}, not failed`,
      {
        record: deliveryId,
        extra: { status: delivery.status },
      },
    );
  }
  return delivery;
}
