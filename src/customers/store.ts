/**
 * The customers tables: the only code that reads or writes them. Every function takes the tenant
 * and filters by it; ids of another tenant are simply not found.
 */
import { sql } from 'kysely';
import type { Instant } from '../kernel/clock.js';
import { Money } from '../kernel/money.js';
import type { DialectName, Executor } from '../storage/database.js';
import { fromJson, toBigInt, toJson, toSafeNumber } from '../storage/values.js';
import type { IdentityType } from './identities.js';
import type { SubscriptionStatus } from './lifecycle.js';
import type {
  AccountStatus,
  AddOn,
  BillingAccount,
  ContactMedium,
  Customer,
  CustomerStatus,
  IdentityAssignment,
  InvoiceDelivery,
  OfferChange,
  OfferChangeType,
  PartyKind,
  RatingType,
  StatusChange,
  Subscription,
  TaxExemption,
} from './model.js';

export interface CustomersTable {
  id: string;
  tenant_id: string;
  kind: string;
  name: string;
  status: string;
  status_reason: string | null;
  contact_medium: string;
  external_ref: string | null;
  created_at: string;
  updated_at: string;
}

export interface BillingAccountsTable {
  id: string;
  tenant_id: string;
  customer_id: string;
  name: string;
  description: string | null;
  status: string;
  status_reason: string | null;
  rating_type: string;
  currency: string;
  language: string;
  bill_cycle_day: bigint;
  time_zone: string;
  invoice_delivery: string;
  tax_exemptions: string;
  credit_class: string | null;
  credit_limit_minor: bigint | null;
  credit_limit_currency: string | null;
  parent_id: string | null;
  payer_id: string | null;
  cost_centre: string | null;
  external_ref: string | null;
  created_at: string;
  updated_at: string;
}

export interface SubscriptionsTable {
  id: string;
  tenant_id: string;
  account_id: string;
  name: string | null;
  description: string | null;
  status: string;
  status_reason: string | null;
  status_changed_at: string;
  start_date: string;
  termination_date: string | null;
  created_at: string;
  updated_at: string;
}

export interface SubscriptionStatusHistoryTable {
  id: string;
  tenant_id: string;
  subscription_id: string;
  from_status: string | null;
  to_status: string;
  reason: string | null;
  effective_at: string;
  recorded_at: string;
}

export interface SubscriptionAddonsTable {
  id: string;
  tenant_id: string;
  subscription_id: string;
  offer_id: string;
  offer_code: string | null;
  valid_from: string;
  valid_to: string | null;
  created_at: string;
}

export interface SubscriptionOfferChangesTable {
  id: string;
  tenant_id: string;
  subscription_id: string;
  from_offer_id: string | null;
  to_offer_id: string;
  to_offer_code: string | null;
  change_type: string;
  effective_at: string;
  reason: string | null;
  recorded_at: string;
}

export interface ServiceIdentitiesTable {
  id: string;
  tenant_id: string;
  subscription_id: string;
  type: string;
  value: string;
  valid_from: string;
  valid_to: string | null;
  created_at: string;
}

export interface IdentityLocksTable {
  tenant_id: string;
  type: string;
  value: string;
  created_at: string;
}

declare module '../storage/schema.js' {
  interface DatabaseSchema {
    customers: CustomersTable;
    billing_accounts: BillingAccountsTable;
    subscriptions: SubscriptionsTable;
    subscription_status_history: SubscriptionStatusHistoryTable;
    subscription_addons: SubscriptionAddonsTable;
    subscription_offer_changes: SubscriptionOfferChangesTable;
    service_identities: ServiceIdentitiesTable;
    identity_locks: IdentityLocksTable;
  }
}

export interface PageRequest {
  readonly offset: number;
  readonly limit: number;
}

export interface PageResult<T> {
  readonly items: T[];
  /** How many records match the filters, all pages together. */
  readonly total: number;
}

/** Largest number of values bound in one IN list (SQLite allows 32766 parameters, PG 65535). */
const IN_CHUNK = 500;

function chunks<T>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += IN_CHUNK) out.push(list.slice(i, i + IN_CHUNK));
  return out;
}

const undef = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

// ---------------------------------------------------------------------------------------------
// Customers

function toCustomer(row: CustomersTable): Customer {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind as PartyKind,
    name: row.name,
    status: row.status as CustomerStatus,
    statusReason: undef(row.status_reason),
    contactMedium: toJson<ContactMedium[]>(row.contact_medium, 'customers.contact_medium'),
    externalRef: undef(row.external_ref),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function customerRow(customer: Customer): CustomersTable {
  return {
    id: customer.id,
    tenant_id: customer.tenantId,
    kind: customer.kind,
    name: customer.name,
    status: customer.status,
    status_reason: customer.statusReason ?? null,
    contact_medium: fromJson(customer.contactMedium),
    external_ref: customer.externalRef ?? null,
    created_at: customer.createdAt,
    updated_at: customer.updatedAt,
  };
}

export async function insertCustomer(db: Executor, customer: Customer): Promise<void> {
  await db.insertInto('customers').values(customerRow(customer)).execute();
}

export async function replaceCustomer(db: Executor, customer: Customer): Promise<void> {
  const { id, tenant_id, ...rest } = customerRow(customer);
  await db
    .updateTable('customers')
    .set(rest)
    .where('tenant_id', '=', tenant_id)
    .where('id', '=', id)
    .execute();
}

export async function findCustomer(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<Customer | undefined> {
  const row = await db
    .selectFrom('customers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toCustomer(row) : undefined;
}

export async function findCustomerByRef(
  db: Executor,
  tenantId: string,
  externalRef: string,
): Promise<Customer | undefined> {
  const row = await db
    .selectFrom('customers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('external_ref', '=', externalRef)
    .executeTakeFirst();
  return row ? toCustomer(row) : undefined;
}

export interface CustomerFilter {
  readonly name?: string;
  readonly status?: CustomerStatus;
  readonly kind?: PartyKind;
}

export async function listCustomers(
  db: Executor,
  tenantId: string,
  filter: CustomerFilter,
  page: PageRequest,
): Promise<PageResult<Customer>> {
  const base = db
    .selectFrom('customers')
    .where('tenant_id', '=', tenantId)
    .$if(filter.name !== undefined, (q) => q.where('name', '=', filter.name!))
    .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
    .$if(filter.kind !== undefined, (q) => q.where('kind', '=', filter.kind!));
  const rows = await base.selectAll().orderBy('id').offset(page.offset).limit(page.limit).execute();
  const count = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return { items: rows.map(toCustomer), total: toSafeNumber(count.n, 'count') };
}

// ---------------------------------------------------------------------------------------------
// Billing accounts

function toAccount(row: BillingAccountsTable): BillingAccount {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    customerId: row.customer_id,
    name: row.name,
    description: undef(row.description),
    status: row.status as AccountStatus,
    statusReason: undef(row.status_reason),
    ratingType: row.rating_type as RatingType,
    currency: row.currency,
    language: row.language,
    billCycleDay: toSafeNumber(row.bill_cycle_day, 'billing_accounts.bill_cycle_day'),
    timeZone: row.time_zone,
    invoiceDelivery: row.invoice_delivery as InvoiceDelivery,
    taxExemptions: toJson<TaxExemption[]>(row.tax_exemptions, 'billing_accounts.tax_exemptions'),
    creditClass: undef(row.credit_class),
    creditLimit:
      row.credit_limit_minor === null || row.credit_limit_currency === null
        ? undefined
        : Money.ofMinor(
            toBigInt(row.credit_limit_minor, 'billing_accounts.credit_limit_minor'),
            row.credit_limit_currency,
          ),
    parentId: undef(row.parent_id),
    payerId: undef(row.payer_id),
    costCentre: undef(row.cost_centre),
    externalRef: undef(row.external_ref),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function accountRow(account: BillingAccount): BillingAccountsTable {
  return {
    id: account.id,
    tenant_id: account.tenantId,
    customer_id: account.customerId,
    name: account.name,
    description: account.description ?? null,
    status: account.status,
    status_reason: account.statusReason ?? null,
    rating_type: account.ratingType,
    currency: account.currency,
    language: account.language,
    bill_cycle_day: BigInt(account.billCycleDay),
    time_zone: account.timeZone,
    invoice_delivery: account.invoiceDelivery,
    tax_exemptions: fromJson(account.taxExemptions),
    credit_class: account.creditClass ?? null,
    credit_limit_minor: account.creditLimit?.amountMinor ?? null,
    credit_limit_currency: account.creditLimit?.currency ?? null,
    parent_id: account.parentId ?? null,
    payer_id: account.payerId ?? null,
    cost_centre: account.costCentre ?? null,
    external_ref: account.externalRef ?? null,
    created_at: account.createdAt,
    updated_at: account.updatedAt,
  };
}

export async function insertAccount(db: Executor, account: BillingAccount): Promise<void> {
  await db.insertInto('billing_accounts').values(accountRow(account)).execute();
}

export async function replaceAccount(db: Executor, account: BillingAccount): Promise<void> {
  const { id, tenant_id, ...rest } = accountRow(account);
  await db
    .updateTable('billing_accounts')
    .set(rest)
    .where('tenant_id', '=', tenant_id)
    .where('id', '=', id)
    .execute();
}

export async function findAccount(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<BillingAccount | undefined> {
  const row = await db
    .selectFrom('billing_accounts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toAccount(row) : undefined;
}

export async function findAccountByRef(
  db: Executor,
  tenantId: string,
  externalRef: string,
): Promise<BillingAccount | undefined> {
  const row = await db
    .selectFrom('billing_accounts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('external_ref', '=', externalRef)
    .executeTakeFirst();
  return row ? toAccount(row) : undefined;
}

export interface AccountFilter {
  readonly name?: string;
  readonly status?: AccountStatus;
  readonly customerId?: string;
  readonly currency?: string;
  readonly costCentre?: string;
  readonly parentId?: string;
  /** Only this account (subscriber scoping). */
  readonly onlyId?: string;
}

export async function listAccounts(
  db: Executor,
  tenantId: string,
  filter: AccountFilter,
  page: PageRequest,
): Promise<PageResult<BillingAccount>> {
  const base = db
    .selectFrom('billing_accounts')
    .where('tenant_id', '=', tenantId)
    .$if(filter.name !== undefined, (q) => q.where('name', '=', filter.name!))
    .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
    .$if(filter.customerId !== undefined, (q) => q.where('customer_id', '=', filter.customerId!))
    .$if(filter.currency !== undefined, (q) => q.where('currency', '=', filter.currency!))
    .$if(filter.costCentre !== undefined, (q) => q.where('cost_centre', '=', filter.costCentre!))
    .$if(filter.parentId !== undefined, (q) => q.where('parent_id', '=', filter.parentId!))
    .$if(filter.onlyId !== undefined, (q) => q.where('id', '=', filter.onlyId!));
  const rows = await base.selectAll().orderBy('id').offset(page.offset).limit(page.limit).execute();
  const count = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return { items: rows.map(toAccount), total: toSafeNumber(count.n, 'count') };
}

/** The accounts whose parent is one of `parentIds`. */
export async function listChildAccounts(
  db: Executor,
  tenantId: string,
  parentIds: readonly string[],
): Promise<BillingAccount[]> {
  const out: BillingAccount[] = [];
  for (const part of chunks(parentIds)) {
    const rows = await db
      .selectFrom('billing_accounts')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('parent_id', 'in', part)
      .orderBy('id')
      .execute();
    out.push(...rows.map(toAccount));
  }
  return out;
}

/** How an account can depend on another: it is paid by it, is its child, or belongs to the customer. */
export type AccountLink = 'payer_id' | 'parent_id' | 'customer_id';

/**
 * Accounts that are not closed and whose `link` column names `id`: the accounts a payer pays for,
 * the children of a parent, or the accounts of a customer. Closing is refused while any remain.
 */
export async function listOpenAccountsLinkedTo(
  db: Executor,
  tenantId: string,
  link: AccountLink,
  id: string,
): Promise<Array<{ id: string; status: string }>> {
  return db
    .selectFrom('billing_accounts')
    .select(['id', 'status'])
    .where('tenant_id', '=', tenantId)
    .where(link, '=', id)
    .where('status', '<>', 'closed')
    .orderBy('id')
    .execute();
}

/** Id and name of every account of the given customers, for references. */
export async function accountRefsOfCustomers(
  db: Executor,
  tenantId: string,
  customerIds: readonly string[],
): Promise<Array<{ id: string; name: string; customerId: string }>> {
  const out: Array<{ id: string; name: string; customerId: string }> = [];
  for (const part of chunks(customerIds)) {
    const rows = await db
      .selectFrom('billing_accounts')
      .select(['id', 'name', 'customer_id'])
      .where('tenant_id', '=', tenantId)
      .where('customer_id', 'in', part)
      .orderBy('id')
      .execute();
    out.push(...rows.map((r) => ({ id: r.id, name: r.name, customerId: r.customer_id })));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

function toSubscription(row: SubscriptionsTable): Subscription {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    accountId: row.account_id,
    name: undef(row.name),
    description: undef(row.description),
    status: row.status as SubscriptionStatus,
    statusReason: undef(row.status_reason),
    statusChangedAt: row.status_changed_at,
    startDate: row.start_date,
    terminationDate: undef(row.termination_date),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function subscriptionRow(subscription: Subscription): SubscriptionsTable {
  return {
    id: subscription.id,
    tenant_id: subscription.tenantId,
    account_id: subscription.accountId,
    name: subscription.name ?? null,
    description: subscription.description ?? null,
    status: subscription.status,
    status_reason: subscription.statusReason ?? null,
    status_changed_at: subscription.statusChangedAt,
    start_date: subscription.startDate,
    termination_date: subscription.terminationDate ?? null,
    created_at: subscription.createdAt,
    updated_at: subscription.updatedAt,
  };
}

export async function insertSubscription(db: Executor, subscription: Subscription): Promise<void> {
  await db.insertInto('subscriptions').values(subscriptionRow(subscription)).execute();
}

export async function replaceSubscription(db: Executor, subscription: Subscription): Promise<void> {
  const { id, tenant_id, ...rest } = subscriptionRow(subscription);
  await db
    .updateTable('subscriptions')
    .set(rest)
    .where('tenant_id', '=', tenant_id)
    .where('id', '=', id)
    .execute();
}

/**
 * Reads a subscription; with `forUpdate` on PostgreSQL the row stays locked until the
 * transaction ends, so two changes of one subscription's history queue.
 */
export async function findSubscription(
  db: Executor,
  tenantId: string,
  id: string,
  options: { forUpdate?: DialectName } = {},
): Promise<Subscription | undefined> {
  const row = await db
    .selectFrom('subscriptions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .$if(options.forUpdate === 'postgres', (q) => q.forUpdate())
    .executeTakeFirst();
  return row ? toSubscription(row) : undefined;
}

export interface SubscriptionFilter {
  readonly status?: SubscriptionStatus;
  readonly accountId?: string;
  readonly customerId?: string;
  /** Subscriptions on this offer at `asOf`. */
  readonly offerId?: string;
  readonly asOf: Instant;
}

export async function listSubscriptions(
  db: Executor,
  tenantId: string,
  filter: SubscriptionFilter,
  page: PageRequest,
): Promise<PageResult<Subscription>> {
  const base = subscriptionsMatching(db, tenantId, filter);
  const rows = await base.selectAll('s').orderBy('s.id').offset(page.offset).limit(page.limit).execute();
  const count = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return { items: rows.map(toSubscription), total: toSafeNumber(count.n, 'count') };
}

/**
 * Up to `limit` subscriptions matching `filter` with ids after `afterId` (from the first when
 * undefined), in id order: keyset paging for jobs that walk every subscription of a tenant. Each
 * page is one range read of the primary key, where an offset would read and skip every row
 * before it, and no page counts the matches (countSubscriptions does, once).
 */
export async function listSubscriptionsAfter(
  db: Executor,
  tenantId: string,
  filter: SubscriptionFilter,
  afterId: string | undefined,
  limit: number,
): Promise<Subscription[]> {
  const rows = await subscriptionsMatching(db, tenantId, filter)
    .$if(afterId !== undefined, (q) => q.where('s.id', '>', afterId!))
    .selectAll('s')
    .orderBy('s.id')
    .limit(limit)
    .execute();
  return rows.map(toSubscription);
}

/** How many subscriptions match `filter`. */
export async function countSubscriptions(
  db: Executor,
  tenantId: string,
  filter: SubscriptionFilter,
): Promise<number> {
  const count = await subscriptionsMatching(db, tenantId, filter)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return toSafeNumber(count.n, 'count');
}

/** The subscriptions of a tenant that match `filter`, as a query to select from. */
function subscriptionsMatching(db: Executor, tenantId: string, filter: SubscriptionFilter) {
  return db
    .selectFrom('subscriptions as s')
    .where('s.tenant_id', '=', tenantId)
    .$if(filter.status !== undefined, (q) => q.where('s.status', '=', filter.status!))
    .$if(filter.accountId !== undefined, (q) => q.where('s.account_id', '=', filter.accountId!))
    .$if(filter.customerId !== undefined, (q) =>
      q.where('s.account_id', 'in', (eb) =>
        eb
          .selectFrom('billing_accounts as a')
          .select('a.id')
          .where('a.tenant_id', '=', tenantId)
          .where('a.customer_id', '=', filter.customerId!),
      ),
    )
    .$if(filter.offerId !== undefined, (q) =>
      // On the offer at asOf: an offer period to it began by then, and no later one began by then.
      q.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('subscription_offer_changes as c')
            .select('c.id')
            .whereRef('c.subscription_id', '=', 's.id')
            .where('c.tenant_id', '=', tenantId)
            .where('c.to_offer_id', '=', filter.offerId!)
            .where('c.effective_at', '<=', filter.asOf)
            .where((inner) =>
              inner.not(
                inner.exists(
                  inner
                    .selectFrom('subscription_offer_changes as d')
                    .select('d.id')
                    .whereRef('d.subscription_id', '=', 'c.subscription_id')
                    .whereRef('d.effective_at', '>', 'c.effective_at')
                    .where('d.effective_at', '<=', filter.asOf),
                ),
              ),
            ),
        ),
      ),
    );
}

/** Subscriptions per account and status, for the given accounts. */
export async function countSubscriptionsByStatus(
  db: Executor,
  tenantId: string,
  accountIds: readonly string[],
): Promise<Array<{ accountId: string; status: SubscriptionStatus; count: number }>> {
  const out: Array<{ accountId: string; status: SubscriptionStatus; count: number }> = [];
  for (const part of chunks(accountIds)) {
    const rows = await db
      .selectFrom('subscriptions')
      .select(['account_id', 'status', (eb) => eb.fn.countAll().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('account_id', 'in', part)
      .groupBy(['account_id', 'status'])
      .execute();
    for (const row of rows) {
      out.push({
        accountId: row.account_id,
        status: row.status as SubscriptionStatus,
        count: toSafeNumber(row.n, 'count'),
      });
    }
  }
  return out;
}

/** The customer of each subscription's account. */
export async function customersOfAccounts(
  db: Executor,
  tenantId: string,
  accountIds: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const part of chunks([...new Set(accountIds)])) {
    const rows = await db
      .selectFrom('billing_accounts')
      .select(['id', 'customer_id'])
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', part)
      .execute();
    for (const row of rows) out.set(row.id, row.customer_id);
  }
  return out;
}

/** The account of each subscription. */
export async function accountsOfSubscriptions(
  db: Executor,
  tenantId: string,
  subscriptionIds: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const part of chunks([...new Set(subscriptionIds)])) {
    const rows = await db
      .selectFrom('subscriptions')
      .select(['id', 'account_id'])
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', part)
      .execute();
    for (const row of rows) out.set(row.id, row.account_id);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Status history, offer changes, add-ons

function toStatusChange(row: SubscriptionStatusHistoryTable): StatusChange {
  return {
    id: row.id,
    subscriptionId: row.subscription_id,
    fromStatus: undef(row.from_status) as SubscriptionStatus | undefined,
    toStatus: row.to_status as SubscriptionStatus,
    reason: undef(row.reason),
    effectiveAt: row.effective_at,
    recordedAt: row.recorded_at,
  };
}

export async function insertStatusChange(
  db: Executor,
  tenantId: string,
  change: StatusChange,
): Promise<void> {
  await db
    .insertInto('subscription_status_history')
    .values({
      id: change.id,
      tenant_id: tenantId,
      subscription_id: change.subscriptionId,
      from_status: change.fromStatus ?? null,
      to_status: change.toStatus,
      reason: change.reason ?? null,
      effective_at: change.effectiveAt,
      recorded_at: change.recordedAt,
    })
    .execute();
}

export async function listStatusChanges(
  db: Executor,
  tenantId: string,
  subscriptionIds: readonly string[],
): Promise<StatusChange[]> {
  const out: StatusChange[] = [];
  for (const part of chunks(subscriptionIds)) {
    const rows = await db
      .selectFrom('subscription_status_history')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('subscription_id', 'in', part)
      .orderBy('effective_at')
      .orderBy('id')
      .execute();
    out.push(...rows.map(toStatusChange));
  }
  return out;
}

function toOfferChange(row: SubscriptionOfferChangesTable): OfferChange {
  return {
    id: row.id,
    subscriptionId: row.subscription_id,
    fromOfferId: undef(row.from_offer_id),
    offerId: row.to_offer_id,
    offerCode: undef(row.to_offer_code),
    changeType: row.change_type as OfferChangeType,
    effectiveAt: row.effective_at,
    reason: undef(row.reason),
    recordedAt: row.recorded_at,
  };
}

export async function insertOfferChange(db: Executor, tenantId: string, change: OfferChange): Promise<void> {
  await db
    .insertInto('subscription_offer_changes')
    .values({
      id: change.id,
      tenant_id: tenantId,
      subscription_id: change.subscriptionId,
      from_offer_id: change.fromOfferId ?? null,
      to_offer_id: change.offerId,
      to_offer_code: change.offerCode ?? null,
      change_type: change.changeType,
      effective_at: change.effectiveAt,
      reason: change.reason ?? null,
      recorded_at: change.recordedAt,
    })
    .execute();
}

export async function listOfferChanges(
  db: Executor,
  tenantId: string,
  subscriptionIds: readonly string[],
): Promise<OfferChange[]> {
  const out: OfferChange[] = [];
  for (const part of chunks(subscriptionIds)) {
    const rows = await db
      .selectFrom('subscription_offer_changes')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('subscription_id', 'in', part)
      .orderBy('effective_at')
      .orderBy('id')
      .execute();
    out.push(...rows.map(toOfferChange));
  }
  return out;
}

function toAddOn(row: SubscriptionAddonsTable): AddOn {
  return {
    id: row.id,
    subscriptionId: row.subscription_id,
    offerId: row.offer_id,
    offerCode: undef(row.offer_code),
    validFrom: row.valid_from,
    validTo: undef(row.valid_to),
    createdAt: row.created_at,
  };
}

export async function insertAddOn(db: Executor, tenantId: string, addOn: AddOn): Promise<void> {
  await db
    .insertInto('subscription_addons')
    .values({
      id: addOn.id,
      tenant_id: tenantId,
      subscription_id: addOn.subscriptionId,
      offer_id: addOn.offerId,
      offer_code: addOn.offerCode ?? null,
      valid_from: addOn.validFrom,
      valid_to: addOn.validTo ?? null,
      created_at: addOn.createdAt,
    })
    .execute();
}

export async function setAddOnEnd(
  db: Executor,
  tenantId: string,
  id: string,
  validTo: Instant,
): Promise<void> {
  await db
    .updateTable('subscription_addons')
    .set({ valid_to: validTo })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

export async function listAddOns(
  db: Executor,
  tenantId: string,
  subscriptionIds: readonly string[],
): Promise<AddOn[]> {
  const out: AddOn[] = [];
  for (const part of chunks(subscriptionIds)) {
    const rows = await db
      .selectFrom('subscription_addons')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('subscription_id', 'in', part)
      .orderBy('valid_from')
      .orderBy('id')
      .execute();
    out.push(...rows.map(toAddOn));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Service identities

function toIdentity(row: ServiceIdentitiesTable): IdentityAssignment {
  return {
    id: row.id,
    subscriptionId: row.subscription_id,
    type: row.type as IdentityType,
    value: row.value,
    validFrom: row.valid_from,
    validTo: undef(row.valid_to),
    createdAt: row.created_at,
  };
}

/**
 * Takes the lock of one identity for the rest of the transaction: inserts its lock row if
 * missing, then (PostgreSQL) reads it FOR UPDATE. A concurrent transaction on the same identity
 * waits at the insert or the read until this one ends, and then sees what it wrote. SQLite has
 * one writer per database, so its transactions are serial already. Callers lock several
 * identities in sorted order, so two transactions never wait on each other in a circle.
 */
export async function lockIdentity(
  db: Executor,
  dialect: DialectName,
  tenantId: string,
  type: string,
  value: string,
  now: Instant,
): Promise<void> {
  await db
    .insertInto('identity_locks')
    .values({ tenant_id: tenantId, type, value, created_at: now })
    .onConflict((oc) => oc.columns(['tenant_id', 'type', 'value']).doNothing())
    .execute();
  if (dialect === 'postgres') {
    await db
      .selectFrom('identity_locks')
      .select('tenant_id')
      .where('tenant_id', '=', tenantId)
      .where('type', '=', type)
      .where('value', '=', value)
      .forUpdate()
      .execute();
  }
}

/**
 * Serialises changes of the tenant's account hierarchy (parents and payers), so two concurrent
 * changes cannot each pass the cycle check and together make a cycle. It reuses the identity
 * lock table with a type no identity has.
 */
export function lockAccountHierarchy(
  db: Executor,
  dialect: DialectName,
  tenantId: string,
  now: Instant,
): Promise<void> {
  return lockIdentity(db, dialect, tenantId, '#account-hierarchy', '-', now);
}

export async function insertIdentity(
  db: Executor,
  tenantId: string,
  identity: IdentityAssignment,
): Promise<void> {
  await db
    .insertInto('service_identities')
    .values({
      id: identity.id,
      tenant_id: tenantId,
      subscription_id: identity.subscriptionId,
      type: identity.type,
      value: identity.value,
      valid_from: identity.validFrom,
      valid_to: identity.validTo ?? null,
      created_at: identity.createdAt,
    })
    .execute();
}

export async function setIdentityEnd(
  db: Executor,
  tenantId: string,
  id: string,
  validTo: Instant,
): Promise<void> {
  await db
    .updateTable('service_identities')
    .set({ valid_to: validTo })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

/** Every assignment of one identity, oldest first. */
export async function listAssignmentsOfIdentity(
  db: Executor,
  tenantId: string,
  type: string,
  value: string,
): Promise<IdentityAssignment[]> {
  const rows = await db
    .selectFrom('service_identities')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('type', '=', type)
    .where('value', '=', value)
    .orderBy('valid_from')
    .orderBy('id')
    .execute();
  return rows.map(toIdentity);
}

export async function listIdentitiesOfSubscriptions(
  db: Executor,
  tenantId: string,
  subscriptionIds: readonly string[],
): Promise<IdentityAssignment[]> {
  const out: IdentityAssignment[] = [];
  for (const part of chunks(subscriptionIds)) {
    const rows = await db
      .selectFrom('service_identities')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('subscription_id', 'in', part)
      .orderBy('valid_from')
      .orderBy('id')
      .execute();
    out.push(...rows.map(toIdentity));
  }
  return out;
}

export interface IdentityFilter {
  readonly type?: string;
  readonly value?: string;
  readonly subscriptionId?: string;
  /** Only assignments in force at this instant. */
  readonly at?: Instant;
  readonly after?: string;
  readonly limit: number;
}

/** Assignments matching the filter, by id (creation order), keyset-paged with `after`. */
export async function listIdentities(
  db: Executor,
  tenantId: string,
  filter: IdentityFilter,
): Promise<IdentityAssignment[]> {
  const rows = await db
    .selectFrom('service_identities')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(filter.type !== undefined, (q) => q.where('type', '=', filter.type!))
    .$if(filter.value !== undefined, (q) => q.where('value', '=', filter.value!))
    .$if(filter.subscriptionId !== undefined, (q) => q.where('subscription_id', '=', filter.subscriptionId!))
    .$if(filter.at !== undefined, (q) =>
      q
        .where('valid_from', '<=', filter.at!)
        .where((eb) => eb.or([eb('valid_to', 'is', null), eb('valid_to', '>', filter.at!)])),
    )
    .$if(filter.after !== undefined, (q) => q.where('id', '>', filter.after!))
    .orderBy('id')
    .limit(filter.limit)
    .execute();
  return rows.map(toIdentity);
}

// ---------------------------------------------------------------------------------------------
// Savepoints

let savepointCounter = 0;

/**
 * Runs `work` inside a savepoint of the open transaction `tx`: when it throws, what it wrote is
 * rolled back and the transaction stays usable (on PostgreSQL a failed statement otherwise
 * aborts the whole transaction). Used by bulk imports to undo one row and go on.
 */
export async function withSavepoint<T>(tx: Executor, work: () => Promise<T>): Promise<T> {
  savepointCounter = (savepointCounter + 1) % 1_000_000;
  const name = sql.raw(`tg_sp_${savepointCounter}`);
  await sql`savepoint ${name}`.execute(tx);
  try {
    const result = await work();
    await sql`release savepoint ${name}`.execute(tx);
    return result;
  } catch (error) {
    await sql`rollback to savepoint ${name}`.execute(tx);
    await sql`release savepoint ${name}`.execute(tx);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Bulk reads for usage mediation (one query per few hundred identities, not one per record)

/** Every assignment, past and present, of the given values of one identity type. */
export async function listAssignmentsOfValues(
  db: Executor,
  tenantId: string,
  type: string,
  values: readonly string[],
): Promise<IdentityAssignment[]> {
  const out: IdentityAssignment[] = [];
  for (const part of chunks([...new Set(values)])) {
    const rows = await db
      .selectFrom('service_identities')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('type', '=', type)
      .where('value', 'in', part)
      .orderBy('valid_from')
      .orderBy('id')
      .execute();
    out.push(...rows.map(toIdentity));
  }
  return out;
}

export async function subscriptionsByIds(
  db: Executor,
  tenantId: string,
  ids: readonly string[],
): Promise<Subscription[]> {
  const out: Subscription[] = [];
  for (const part of chunks([...new Set(ids)])) {
    const rows = await db
      .selectFrom('subscriptions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', part)
      .execute();
    out.push(...rows.map(toSubscription));
  }
  return out;
}

export async function accountsByIds(
  db: Executor,
  tenantId: string,
  ids: readonly string[],
): Promise<BillingAccount[]> {
  const out: BillingAccount[] = [];
  for (const part of chunks([...new Set(ids)])) {
    const rows = await db
      .selectFrom('billing_accounts')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', part)
      .execute();
    out.push(...rows.map(toAccount));
  }
  return out;
}
