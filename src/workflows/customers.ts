/**
 * Use cases on customers, billing accounts and subscriptions. Every change runs in one
 * transaction (runChange) and records its audit record and event there (recordChange): a
 * rejected change leaves nothing behind, not even part of itself.
 *
 * Service identities are serialised per identity: a transaction that checks or changes an
 * identity's time ranges first takes that identity's lock row (identity_locks; FOR UPDATE on
 * PostgreSQL, the single writer on SQLite), always in (type, value) order. Changes to one
 * subscription's history lock its row (PostgreSQL) so they apply one after the other.
 *
 * Dates: a status change takes effect now or in the past (never before the previous one); plan
 * changes, add-ons and identities may be dated in the future. Ranges are half-open [from, to).
 */
import { isInstant, parseInstant, type Instant } from '../kernel/clock.js';
import { fail, isTollgateError, type TollgateError } from '../kernel/errors.js';
import { isId, newId } from '../kernel/ids.js';
import { Money, type MoneyJson } from '../kernel/money.js';
import { isUniqueViolation } from '../storage/values.js';
import { findTenantById } from '../tenancy/store.js';
import {
  CustomersErrors,
  ID_PREFIX,
  INITIAL_SUBSCRIPTION_STATUSES,
  INVOICE_DELIVERY_CHANNELS,
  MAX_REASON_LENGTH,
  OFFER_CHANGE_TYPES,
  PARTY_KINDS,
  RATING_TYPES,
  checkAccountTransition,
  checkContactMedia,
  checkCustomerTransition,
  checkPreferences,
  checkTaxExemptions,
  checkTransition,
  describeIdentity,
  describeRange,
  displayIdentity,
  emptyStatusCounts,
  endRangeAt,
  findOverlap,
  isSubscriptionStatus,
  peakOverlap,
  normaliseIdentity,
  optionalText,
  rangeContains,
  requireText,
  transitionName,
  type AccountRollUp,
  type AccountStatus,
  type AccountTree,
  type AccountTreeNode,
  type AddOn,
  type BillingAccount,
  type ContactMedium,
  type Customer,
  type CustomerStatus,
  type IdentityAssignment,
  type IdentityOwner,
  type IdentityType,
  type InvoiceDelivery,
  type OfferChange,
  type OfferChangeType,
  type PartyKind,
  type RatingType,
  type StatusChange,
  type Subscription,
  type SubscriptionDetail,
  type SubscriptionStatus,
  type TaxExemption,
} from '../customers/index.js';
import {
  accountRefsOfCustomers,
  accountsOfSubscriptions,
  countSubscriptionsByStatus,
  customersOfAccounts,
  findAccount,
  findAccountByRef,
  findCustomer,
  findCustomerByRef,
  findSubscription,
  insertAccount,
  insertAddOn,
  insertCustomer,
  insertIdentity,
  insertOfferChange,
  insertStatusChange,
  insertSubscription,
  listAccounts as listAccountRows,
  listOpenAccountsLinkedTo,
  listAddOns,
  listAssignmentsOfIdentity,
  listChildAccounts,
  listCustomers as listCustomerRows,
  listIdentities,
  listIdentitiesOfSubscriptions,
  listOfferChanges,
  listStatusChanges,
  listSubscriptions as listSubscriptionRows,
  lockAccountHierarchy,
  lockIdentity,
  replaceAccount,
  replaceCustomer,
  replaceSubscription,
  setAddOnEnd,
  setIdentityEnd,
  withSavepoint,
  type AccountFilter,
  type CustomerFilter,
  type PageRequest,
  type PageResult,
} from '../customers/store.js';
import type { CustomerType, Offer, OfferKind, OfferVersion } from '../catalog/index.js';
import { findOffer, findOfferByCode, findOfferVersionAt } from '../catalog/store.js';
import type { Executor } from '../storage/database.js';
import {
  readExecutor,
  recordChange,
  runChange,
  type Caller,
  type ChangeContext,
  type WorkflowDeps,
} from './context.js';

export type { PageRequest, PageResult, CustomerFilter, AccountFilter } from '../customers/store.js';

/** How deep an account tree may go: deeper trees are refused when a parent is set. */
export const MAX_TREE_DEPTH = 20;
const MAX_OFFER_ID_LENGTH = 100;

// ---------------------------------------------------------------------------------------------
// Small helpers

function checkInstant(value: unknown, field: string): Instant {
  if (typeof value !== 'string' || !isInstant(value)) {
    throw fail(CustomersErrors.invalid_date, `${field} must be an instant like 2026-01-31T00:00:00.000Z`, {
      field,
    });
  }
  return value;
}

function optionalInstant(value: unknown, field: string): Instant | undefined {
  return value === undefined || value === null ? undefined : checkInstant(value, field);
}

function reasonText(value: unknown, field = 'reason'): string | undefined {
  return optionalText(value, field, {
    max: MAX_REASON_LENGTH,
    definition: CustomersErrors.invalid_subscription,
  });
}

function offerText(value: unknown, field: string): string | undefined {
  return optionalText(value, field, {
    max: MAX_OFFER_ID_LENGTH,
    definition: CustomersErrors.invalid_subscription,
  });
}

// ---------------------------------------------------------------------------------------------
// Offers: subscriptions name catalog offers, which must exist and be sellable

/**
 * How a request names an offer: by id (`ofr_...`), by code, or both (then they must agree), with
 * the field names its errors use.
 */
interface OfferRef {
  readonly offerId: string | undefined;
  readonly offerCode: string | undefined;
  readonly idField: string;
  readonly codeField: string;
}

/** Reads an offer reference (no database): at least one of id and code. */
function checkOfferRef(offerId: unknown, offerCode: unknown, idField: string, codeField: string): OfferRef {
  const ref = {
    offerId: offerText(offerId, idField),
    offerCode: offerText(offerCode, codeField),
    idField,
    codeField,
  };
  if (ref.offerId === undefined && ref.offerCode === undefined) {
    throw fail(
      CustomersErrors.invalid_subscription,
      `give the offer: ${idField} (an offer id) or ${codeField}`,
      {
        field: idField,
      },
    );
  }
  return ref;
}

/** The field a problem with the offer itself belongs to: the one the request used. */
function refField(ref: OfferRef): string {
  return ref.offerId !== undefined ? ref.idField : ref.codeField;
}

const KIND_NAMES: Readonly<Record<OfferKind, string>> = {
  plan: 'a plan',
  'add-on': 'an add-on',
  bundle: 'a bundle',
};

interface ResolvedOffer {
  readonly offer: Offer;
  /** The published version in force at the date the offer is taken. */
  readonly version: OfferVersion;
}

/**
 * Finds the offer a request names, of the tenant's catalog, and checks that it can be taken at
 * `at`: a plan or bundle as a subscription's offer, an add-on as an add-on, with a published
 * version in force then.
 */
async function resolveOffer(
  ctx: ChangeContext,
  ref: OfferRef,
  role: 'plan' | 'add-on',
  at: Instant,
): Promise<ResolvedOffer> {
  let offer: Offer | undefined;
  if (ref.offerId !== undefined) {
    offer = await findOffer(ctx.tx, ctx.tenantId, ref.offerId);
    if (!offer) {
      const hint = isId(ref.offerId, 'ofr')
        ? ''
        : ` (${ref.idField} takes an offer id like ofr_...; give a code as ${ref.codeField})`;
      throw fail(CustomersErrors.offer_not_found, `offer ${ref.offerId} does not exist${hint}`, {
        field: ref.idField,
        record: ref.offerId,
      });
    }
    if (ref.offerCode !== undefined && ref.offerCode !== offer.code) {
      throw fail(
        CustomersErrors.invalid_subscription,
        `${ref.codeField} ${ref.offerCode} is not the code of offer ${offer.id}, which is ${offer.code}`,
        { field: ref.codeField },
      );
    }
  } else {
    offer = await findOfferByCode(ctx.tx, ctx.tenantId, ref.offerCode!);
    if (!offer) {
      throw fail(CustomersErrors.offer_not_found, `offer ${ref.offerCode} does not exist`, {
        field: ref.codeField,
      });
    }
  }
  const field = refField(ref);
  if (role === 'plan' && offer.kind === 'add-on') {
    throw fail(CustomersErrors.wrong_offer_kind, `offer ${offer.code} is an add-on, not a plan`, {
      field,
      record: offer.id,
    });
  }
  if (role === 'add-on' && offer.kind !== 'add-on') {
    throw fail(
      CustomersErrors.wrong_offer_kind,
      `offer ${offer.code} is ${KIND_NAMES[offer.kind]}, not an add-on`,
      { field, record: offer.id },
    );
  }
  const version = await findOfferVersionAt(ctx.tx, ctx.tenantId, offer.id, at);
  if (!version) {
    throw fail(CustomersErrors.offer_not_in_force, `offer ${offer.code} has no version in force at ${at}`, {
      field,
      record: offer.id,
    });
  }
  return { offer, version };
}

/** The catalog's customer type of each kind of party: residential offers are for individuals. */
const CUSTOMER_TYPE_OF: Readonly<Record<PartyKind, CustomerType>> = {
  individual: 'residential',
  organization: 'business',
};

/**
 * The catalog's `eligibility.customerTypes` of the offer version taken: a residential offer is sold
 * to individuals and a business one to organisations; an offer without the rule to anyone.
 */
async function checkCustomerEligible(
  ctx: ChangeContext,
  resolved: ResolvedOffer,
  accountId: string,
  field: string,
): Promise<void> {
  const types = resolved.version.content.eligibility?.customerTypes;
  if (types === undefined || types.length === 0) return;
  const account = await mustFindAccount(ctx.tx, ctx.tenantId, accountId);
  const customer = await findCustomer(ctx.tx, ctx.tenantId, account.customerId);
  if (customer === undefined) return;
  const type = CUSTOMER_TYPE_OF[customer.kind];
  if (!types.includes(type)) {
    throw fail(
      CustomersErrors.offer_not_eligible,
      `offer ${resolved.offer.code} is sold to ${types.join(' and ')} customers only; customer ${customer.id} is ${type} (${customer.kind === 'organization' ? 'an organisation' : 'an individual'})`,
      { field, record: customer.id },
    );
  }
}

/** Whether two half-open ranges share an instant. */
function rangesMeet(
  a: { from: Instant; to: Instant | undefined },
  b: { from: Instant; to: Instant | undefined },
): boolean {
  return (b.to === undefined || a.from < b.to) && (a.to === undefined || b.from < a.to);
}

/**
 * The catalog's eligibility rules for an add-on taken from `from` on a subscription: its plan
 * then must be one of the add-on's compatible plans (a bundle qualifies through its components),
 * and neither the plan nor an add-on held over the same period may exclude it, nor it them.
 */
async function checkAddOnEligible(
  ctx: ChangeContext,
  subscription: Subscription,
  addOn: ResolvedOffer,
  range: { from: Instant; to: Instant | undefined },
  field: string,
): Promise<void> {
  const code = addOn.offer.code;
  const eligibility = addOn.version.content.eligibility;
  const period = offerAt(await listOfferChanges(ctx.tx, ctx.tenantId, [subscription.id]), range.from);
  const plan = await findOffer(ctx.tx, ctx.tenantId, period.offerId);
  const planCode = plan?.code ?? period.offerCode ?? period.offerId;
  const compatible = eligibility?.compatiblePlans;
  if (compatible !== undefined) {
    const planCodes = [planCode, ...(plan?.kind === 'bundle' ? plan.components : [])];
    if (!planCodes.some((c) => compatible.includes(c))) {
      throw fail(
        CustomersErrors.incompatible_add_on,
        `add-on ${code} cannot be added to plan ${planCode}: it is compatible only with ${compatible.join(', ') || 'no plan'}`,
        { field, record: subscription.id },
      );
    }
  }
  const excludes = new Set(eligibility?.excludes ?? []);
  if (excludes.has(planCode)) {
    throw fail(CustomersErrors.incompatible_add_on, `add-on ${code} cannot be held with plan ${planCode}`, {
      field,
      record: subscription.id,
    });
  }
  const planVersion = plan ? await findOfferVersionAt(ctx.tx, ctx.tenantId, plan.id, range.from) : undefined;
  if (planVersion?.content.eligibility?.excludes?.includes(code)) {
    throw fail(CustomersErrors.incompatible_add_on, `plan ${planCode} cannot be held with add-on ${code}`, {
      field,
      record: subscription.id,
    });
  }
  const others = (await listAddOns(ctx.tx, ctx.tenantId, [subscription.id])).filter(
    (a) => a.offerId !== addOn.offer.id && rangesMeet({ from: a.validFrom, to: a.validTo }, range),
  );
  for (const other of others) {
    const otherOffer = await findOffer(ctx.tx, ctx.tenantId, other.offerId);
    const otherCode = otherOffer?.code ?? other.offerCode ?? other.offerId;
    const at = other.validFrom > range.from ? other.validFrom : range.from;
    const otherVersion = otherOffer
      ? await findOfferVersionAt(ctx.tx, ctx.tenantId, otherOffer.id, at)
      : undefined;
    if (excludes.has(otherCode) || otherVersion?.content.eligibility?.excludes?.includes(code)) {
      throw fail(
        CustomersErrors.incompatible_add_on,
        `add-on ${code} cannot be held together with add-on ${otherCode} (${other.id}), which is on subscription ${subscription.id} ${describeRange({ from: other.validFrom, to: other.validTo })}`,
        { field, record: other.id },
      );
    }
  }
}

function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  field: string,
  definition = CustomersErrors.invalid_account,
): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw fail(definition, `${field} must be one of ${allowed.join(', ')}`, { field });
  }
  return value as T;
}

async function mustFindCustomer(
  db: Executor,
  tenantId: string,
  id: string,
  field?: string,
): Promise<Customer> {
  const found = await findCustomer(db, tenantId, id);
  if (!found) {
    throw fail(CustomersErrors.customer_not_found, `no customer ${id}`, {
      record: id,
      ...(field ? { field } : {}),
    });
  }
  return found;
}

async function mustFindAccount(
  db: Executor,
  tenantId: string,
  id: string,
  field?: string,
): Promise<BillingAccount> {
  const found = await findAccount(db, tenantId, id);
  if (!found) {
    throw fail(CustomersErrors.account_not_found, `no billing account ${id}`, {
      record: id,
      ...(field ? { field } : {}),
    });
  }
  return found;
}

async function lockSubscription(ctx: ChangeContext, id: string): Promise<Subscription> {
  const found = await findSubscription(ctx.tx, ctx.tenantId, id, { forUpdate: ctx.dialect });
  if (!found) throw fail(CustomersErrors.subscription_not_found, `no subscription ${id}`, { record: id });
  return found;
}

function requireLive(subscription: Subscription, action: string): void {
  if (subscription.status === 'terminated') {
    throw fail(
      CustomersErrors.subscription_terminated,
      `subscription ${subscription.id} was terminated on ${subscription.terminationDate ?? subscription.statusChangedAt}; it cannot ${action}`,
      { record: subscription.id },
    );
  }
}

/** Turns a TollgateError into one with a different field (for bulk import columns). */
function withField(error: TollgateError, field: string): TollgateError {
  return fail(error.definition, error.message, { field, ...(error.record ? { record: error.record } : {}) });
}

// ---------------------------------------------------------------------------------------------
// Customers

export interface NewCustomerInput {
  readonly kind: PartyKind;
  readonly name: string;
  readonly contactMedium?: readonly ContactMedium[];
  readonly externalRef?: string;
}

export interface CustomerChanges {
  readonly kind?: PartyKind;
  readonly name?: string;
  readonly contactMedium?: readonly ContactMedium[];
  readonly status?: CustomerStatus;
  readonly statusReason?: string | null;
}

function checkNewCustomer(input: NewCustomerInput) {
  return {
    kind: oneOf(input.kind, PARTY_KINDS, 'kind', CustomersErrors.invalid_customer),
    name: requireText(input.name, 'name'),
    contactMedium: checkContactMedia(input.contactMedium ?? []),
    externalRef: optionalText(input.externalRef, 'externalRef', { max: 100 }),
  };
}

async function createCustomerIn(ctx: ChangeContext, input: NewCustomerInput): Promise<Customer> {
  const checked = checkNewCustomer(input);
  if (
    checked.externalRef !== undefined &&
    (await findCustomerByRef(ctx.tx, ctx.tenantId, checked.externalRef))
  ) {
    throw fail(
      CustomersErrors.external_ref_taken,
      `a customer with reference "${checked.externalRef}" exists`,
      {
        field: 'externalRef',
      },
    );
  }
  const now = ctx.clock.now();
  const customer: Customer = {
    id: newId(ID_PREFIX.customer, ctx.clock),
    tenantId: ctx.tenantId,
    kind: checked.kind,
    name: checked.name,
    status: 'active',
    statusReason: undefined,
    contactMedium: checked.contactMedium,
    externalRef: checked.externalRef,
    createdAt: now,
    updatedAt: now,
  };
  await insertCustomer(ctx.tx, customer);
  await recordChange(ctx, {
    action: 'customer.created',
    entityType: 'customer',
    entityId: customer.id,
    after: customer,
    event: { type: 'customer.created', payload: customer },
  });
  return customer;
}

export async function createCustomer(
  deps: WorkflowDeps,
  caller: Caller,
  input: NewCustomerInput,
): Promise<Customer> {
  checkNewCustomer(input);
  return runChange(deps, caller, (ctx) => createCustomerIn(ctx, input));
}

export async function updateCustomer(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
  changes: CustomerChanges,
): Promise<Customer> {
  const kind =
    changes.kind === undefined
      ? undefined
      : oneOf(changes.kind, PARTY_KINDS, 'kind', CustomersErrors.invalid_customer);
  const name = changes.name === undefined ? undefined : requireText(changes.name, 'name');
  const contactMedium =
    changes.contactMedium === undefined ? undefined : checkContactMedia(changes.contactMedium);
  const status =
    changes.status === undefined
      ? undefined
      : oneOf(changes.status, ['active', 'closed'] as const, 'status', CustomersErrors.invalid_customer);
  const statusReason =
    changes.statusReason === null ? null : reasonText(changes.statusReason, 'statusReason');
  return runChange(deps, caller, async (ctx) => {
    const before = await mustFindCustomer(ctx.tx, ctx.tenantId, id);
    if (status !== undefined) {
      checkCustomerTransition(before.status, status);
      if (status === 'closed' && before.status !== 'closed') {
        const open = await listOpenAccountsLinkedTo(ctx.tx, ctx.tenantId, 'customer_id', id);
        if (open.length > 0) {
          throw fail(
            CustomersErrors.customer_in_use,
            `customer ${id} still has open billing accounts (${open.map((a) => a.id).join(', ')}); close them first`,
            { field: 'status', record: id },
          );
        }
      }
    }
    const after: Customer = {
      ...before,
      ...(kind !== undefined ? { kind } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(contactMedium !== undefined ? { contactMedium } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(statusReason !== undefined ? { statusReason: statusReason ?? undefined } : {}),
      updatedAt: ctx.clock.now(),
    };
    if (JSON.stringify({ ...after, updatedAt: '' }) === JSON.stringify({ ...before, updatedAt: '' }))
      return before;
    await replaceCustomer(ctx.tx, after);
    await recordChange(ctx, {
      action: 'customer.updated',
      entityType: 'customer',
      entityId: id,
      before,
      after,
      event: { type: 'customer.updated', payload: after },
    });
    return after;
  });
}

export async function getCustomer(deps: WorkflowDeps, tenantId: string, id: string): Promise<Customer> {
  return mustFindCustomer(readExecutor(deps), tenantId, id);
}

export function listCustomers(
  deps: WorkflowDeps,
  tenantId: string,
  filter: CustomerFilter,
  page: PageRequest,
): Promise<PageResult<Customer>> {
  return listCustomerRows(readExecutor(deps), tenantId, filter, page);
}

/** The billing accounts of each customer, as references (id and name). */
export async function accountsOfCustomers(
  deps: WorkflowDeps,
  tenantId: string,
  customerIds: readonly string[],
): Promise<Map<string, Array<{ id: string; name: string }>>> {
  const refs = await accountRefsOfCustomers(readExecutor(deps), tenantId, customerIds);
  const out = new Map<string, Array<{ id: string; name: string }>>();
  for (const ref of refs) {
    const list = out.get(ref.customerId) ?? [];
    list.push({ id: ref.id, name: ref.name });
    out.set(ref.customerId, list);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Billing accounts

export interface NewAccountInput {
  readonly customerId: string;
  readonly name: string;
  readonly description?: string;
  readonly status?: 'active' | 'suspended';
  readonly ratingType?: RatingType;
  readonly currency?: string;
  readonly language?: string;
  readonly billCycleDay?: number;
  readonly timeZone?: string;
  readonly invoiceDelivery?: InvoiceDelivery;
  readonly taxExemptions?: readonly TaxExemption[];
  readonly creditClass?: string;
  readonly creditLimit?: MoneyJson;
  readonly parentId?: string;
  readonly payerId?: string;
  readonly costCentre?: string;
  readonly externalRef?: string;
}

/** Changes to an account; `null` removes an optional value. */
export interface AccountChanges {
  readonly name?: string;
  readonly description?: string | null;
  readonly status?: AccountStatus;
  readonly statusReason?: string | null;
  readonly ratingType?: RatingType;
  readonly currency?: string;
  readonly language?: string;
  readonly billCycleDay?: number;
  readonly timeZone?: string;
  readonly invoiceDelivery?: InvoiceDelivery;
  readonly taxExemptions?: readonly TaxExemption[];
  readonly creditClass?: string | null;
  readonly creditLimit?: MoneyJson | null;
  readonly parentId?: string | null;
  readonly payerId?: string | null;
  readonly costCentre?: string | null;
}

function parseCreditLimit(value: MoneyJson, currency: string): Money {
  const limit = Money.fromJSON(value, { field: 'creditLimit' });
  if (limit.isNegative()) {
    throw fail(CustomersErrors.invalid_account, 'creditLimit must not be negative', {
      field: 'creditLimit.amount',
    });
  }
  if (limit.currency !== currency) {
    throw fail(
      CustomersErrors.invalid_account,
      `creditLimit is in ${limit.currency} but the account bills in ${currency}; give the limit in ${currency}`,
      { field: 'creditLimit.currency' },
    );
  }
  return limit;
}

/** Checks a new parent: exists, open, not the account itself nor one of its descendants. */
async function checkParent(ctx: ChangeContext, accountId: string, parentId: string): Promise<void> {
  if (parentId === accountId) {
    throw fail(CustomersErrors.account_cycle, `account ${accountId} cannot be its own parent`, {
      field: 'parentId',
    });
  }
  const parent = await mustFindAccount(ctx.tx, ctx.tenantId, parentId, 'parentId');
  if (parent.status === 'closed') {
    throw fail(CustomersErrors.invalid_parent, `parent account ${parentId} is closed`, { field: 'parentId' });
  }
  // Walk up from the parent: meeting the account itself means the change would close a loop.
  const path = [parentId];
  let cursor: BillingAccount | undefined = parent;
  while (cursor?.parentId !== undefined) {
    if (cursor.parentId === accountId) {
      throw fail(
        CustomersErrors.account_cycle,
        `account ${parentId} cannot be the parent of ${accountId}: ${parentId} is below ${accountId} ` +
          `(${[...path, accountId].join(' -> ')}), so the tree would loop`,
        { field: 'parentId', extra: { path: [...path, accountId] } },
      );
    }
    path.push(cursor.parentId);
    if (path.length > MAX_TREE_DEPTH) {
      throw fail(CustomersErrors.invalid_parent, `account trees are at most ${MAX_TREE_DEPTH} levels deep`, {
        field: 'parentId',
      });
    }
    cursor = await findAccount(ctx.tx, ctx.tenantId, cursor.parentId);
  }
}

/** Checks a new payer: exists, open, pays for itself; and the account pays for no one. */
async function checkPayer(ctx: ChangeContext, accountId: string, payerId: string): Promise<void> {
  if (payerId === accountId) {
    throw fail(CustomersErrors.invalid_payer, `account ${accountId} pays for itself: leave payerId empty`, {
      field: 'payerId',
    });
  }
  const payer = await mustFindAccount(ctx.tx, ctx.tenantId, payerId, 'payerId');
  if (payer.status === 'closed') {
    throw fail(CustomersErrors.invalid_payer, `paying account ${payerId} is closed`, { field: 'payerId' });
  }
  if (payer.payerId !== undefined) {
    throw fail(
      CustomersErrors.invalid_payer,
      `account ${payerId} is itself paid by ${payer.payerId}; name ${payer.payerId} as the payer (payers pay for themselves)`,
      { field: 'payerId' },
    );
  }
  const paidFor = await listOpenAccountsLinkedTo(ctx.tx, ctx.tenantId, 'payer_id', accountId);
  if (paidFor.length > 0) {
    throw fail(
      CustomersErrors.invalid_payer,
      `account ${accountId} pays for ${paidFor.map((a) => a.id).join(', ')}; an account that pays for others pays for itself`,
      { field: 'payerId' },
    );
  }
}

async function createAccountIn(ctx: ChangeContext, input: NewAccountInput): Promise<BillingAccount> {
  const name = requireText(input.name, 'name', { definition: CustomersErrors.invalid_account });
  const description = optionalText(input.description, 'description', {
    max: 1000,
    definition: CustomersErrors.invalid_account,
  });
  const status =
    input.status === undefined ? 'active' : oneOf(input.status, ['active', 'suspended'] as const, 'status');
  const ratingType =
    input.ratingType === undefined ? 'postpaid' : oneOf(input.ratingType, RATING_TYPES, 'ratingType');
  const taxExemptions = checkTaxExemptions(input.taxExemptions ?? []);
  const creditClass = optionalText(input.creditClass, 'creditClass', {
    max: 40,
    definition: CustomersErrors.invalid_account,
  });
  const costCentre = optionalText(input.costCentre, 'costCentre', {
    max: 100,
    definition: CustomersErrors.invalid_account,
  });
  const externalRef = optionalText(input.externalRef, 'externalRef', {
    max: 100,
    definition: CustomersErrors.invalid_account,
  });

  const tenant = await findTenantById(ctx.tx, ctx.tenantId);
  const preferences = checkPreferences({
    currency: input.currency ?? tenant?.settings.defaultCurrency ?? 'EUR',
    language: input.language ?? tenant?.settings.locale ?? 'en',
    billCycleDay: input.billCycleDay ?? 1,
    timeZone: input.timeZone ?? tenant?.settings.timeZone ?? 'UTC',
    invoiceDelivery: input.invoiceDelivery ?? 'email',
  });
  const creditLimit =
    input.creditLimit === undefined ? undefined : parseCreditLimit(input.creditLimit, preferences.currency);

  const customer = await mustFindCustomer(ctx.tx, ctx.tenantId, input.customerId, 'customerId');
  if (customer.status === 'closed') {
    throw fail(CustomersErrors.customer_closed, `customer ${customer.id} is closed`, { field: 'customerId' });
  }
  if (externalRef !== undefined && (await findAccountByRef(ctx.tx, ctx.tenantId, externalRef))) {
    throw fail(
      CustomersErrors.external_ref_taken,
      `a billing account with reference "${externalRef}" exists`,
      {
        field: 'externalRef',
      },
    );
  }
  const id = newId(ID_PREFIX.account, ctx.clock);
  if (input.parentId !== undefined || input.payerId !== undefined) {
    await lockAccountHierarchy(ctx.tx, ctx.dialect, ctx.tenantId, ctx.clock.now());
    if (input.parentId !== undefined) await checkParent(ctx, id, input.parentId);
    if (input.payerId !== undefined) await checkPayer(ctx, id, input.payerId);
  }
  const now = ctx.clock.now();
  const account: BillingAccount = {
    id,
    tenantId: ctx.tenantId,
    customerId: customer.id,
    name,
    description,
    status,
    statusReason: undefined,
    ratingType,
    ...preferences,
    taxExemptions,
    creditClass,
    creditLimit,
    parentId: input.parentId,
    payerId: input.payerId,
    costCentre,
    externalRef,
    createdAt: now,
    updatedAt: now,
  };
  await insertAccount(ctx.tx, account);
  await recordChange(ctx, {
    action: 'account.created',
    entityType: 'billing_account',
    entityId: id,
    after: account,
    event: { type: 'account.created', payload: account },
  });
  return account;
}

export async function createAccount(
  deps: WorkflowDeps,
  caller: Caller,
  input: NewAccountInput,
): Promise<BillingAccount> {
  return runChange(deps, caller, (ctx) => createAccountIn(ctx, input));
}

export async function updateAccount(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
  changes: AccountChanges,
): Promise<BillingAccount> {
  const inv = CustomersErrors.invalid_account;
  const name =
    changes.name === undefined ? undefined : requireText(changes.name, 'name', { definition: inv });
  const description =
    changes.description === null
      ? null
      : optionalText(changes.description, 'description', { max: 1000, definition: inv });
  const status =
    changes.status === undefined
      ? undefined
      : oneOf(changes.status, ['active', 'suspended', 'closed'] as const, 'status');
  const statusReason =
    changes.statusReason === null ? null : reasonText(changes.statusReason, 'statusReason');
  const ratingType =
    changes.ratingType === undefined ? undefined : oneOf(changes.ratingType, RATING_TYPES, 'ratingType');
  const taxExemptions =
    changes.taxExemptions === undefined ? undefined : checkTaxExemptions(changes.taxExemptions);
  const creditClass =
    changes.creditClass === null
      ? null
      : optionalText(changes.creditClass, 'creditClass', { max: 40, definition: inv });
  const costCentre =
    changes.costCentre === null
      ? null
      : optionalText(changes.costCentre, 'costCentre', { max: 100, definition: inv });
  if (changes.invoiceDelivery !== undefined)
    oneOf(changes.invoiceDelivery, INVOICE_DELIVERY_CHANNELS, 'invoiceDelivery');
  return runChange(deps, caller, async (ctx) => {
    const before = await mustFindAccount(ctx.tx, ctx.tenantId, id);
    const preferences = checkPreferences({
      currency: changes.currency ?? before.currency,
      language: changes.language ?? before.language,
      billCycleDay: changes.billCycleDay ?? before.billCycleDay,
      timeZone: changes.timeZone ?? before.timeZone,
      invoiceDelivery: changes.invoiceDelivery ?? before.invoiceDelivery,
    });
    let creditLimit = before.creditLimit;
    if (changes.creditLimit === null) creditLimit = undefined;
    else if (changes.creditLimit !== undefined)
      creditLimit = parseCreditLimit(changes.creditLimit, preferences.currency);
    else if (creditLimit !== undefined && creditLimit.currency !== preferences.currency) {
      throw fail(
        inv,
        `the credit limit is in ${creditLimit.currency}; give a new creditLimit in ${preferences.currency} with the new currency, or remove it`,
        { field: 'currency' },
      );
    }
    if (status !== undefined && status !== before.status) {
      checkAccountTransition(before.status, status);
      if (status === 'closed') await checkClosable(ctx, id);
    }
    const parentId = changes.parentId === undefined ? before.parentId : (changes.parentId ?? undefined);
    const payerId = changes.payerId === undefined ? before.payerId : (changes.payerId ?? undefined);
    if (parentId !== before.parentId || payerId !== before.payerId) {
      await lockAccountHierarchy(ctx.tx, ctx.dialect, ctx.tenantId, ctx.clock.now());
      if (parentId !== undefined && parentId !== before.parentId) await checkParent(ctx, id, parentId);
      if (payerId !== undefined && payerId !== before.payerId) await checkPayer(ctx, id, payerId);
    }
    const after: BillingAccount = {
      ...before,
      ...preferences,
      ...(name !== undefined ? { name } : {}),
      ...(description !== undefined ? { description: description ?? undefined } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(statusReason !== undefined ? { statusReason: statusReason ?? undefined } : {}),
      ...(ratingType !== undefined ? { ratingType } : {}),
      ...(taxExemptions !== undefined ? { taxExemptions } : {}),
      ...(creditClass !== undefined ? { creditClass: creditClass ?? undefined } : {}),
      ...(costCentre !== undefined ? { costCentre: costCentre ?? undefined } : {}),
      creditLimit,
      parentId,
      payerId,
      updatedAt: ctx.clock.now(),
    };
    if (JSON.stringify({ ...after, updatedAt: '' }) === JSON.stringify({ ...before, updatedAt: '' }))
      return before;
    await replaceAccount(ctx.tx, after);
    await recordChange(ctx, {
      action: 'account.updated',
      entityType: 'billing_account',
      entityId: id,
      before,
      after,
      event: { type: 'account.updated', payload: after },
    });
    return after;
  });
}

/** An account closes only when nothing depends on it any more. */
async function checkClosable(ctx: ChangeContext, id: string): Promise<void> {
  const blockers: string[] = [];
  const live = await listSubscriptionRows(
    ctx.tx,
    ctx.tenantId,
    { accountId: id, asOf: ctx.clock.now() },
    { offset: 0, limit: 1000 },
  );
  const open = live.items.filter((s) => s.status !== 'terminated');
  if (open.length > 0) blockers.push(`subscriptions not terminated: ${open.map((s) => s.id).join(', ')}`);
  const children = await listOpenAccountsLinkedTo(ctx.tx, ctx.tenantId, 'parent_id', id);
  if (children.length > 0) blockers.push(`open child accounts: ${children.map((c) => c.id).join(', ')}`);
  const paidFor = await listOpenAccountsLinkedTo(ctx.tx, ctx.tenantId, 'payer_id', id);
  if (paidFor.length > 0) blockers.push(`it pays for ${paidFor.map((a) => a.id).join(', ')}`);
  if (blockers.length > 0) {
    throw fail(CustomersErrors.account_in_use, `billing account ${id} cannot close: ${blockers.join('; ')}`, {
      field: 'status',
      record: id,
    });
  }
}

export async function getAccount(deps: WorkflowDeps, tenantId: string, id: string): Promise<BillingAccount> {
  return mustFindAccount(readExecutor(deps), tenantId, id);
}

export function listAccounts(
  deps: WorkflowDeps,
  tenantId: string,
  filter: AccountFilter,
  page: PageRequest,
): Promise<PageResult<BillingAccount>> {
  return listAccountRows(readExecutor(deps), tenantId, filter, page);
}

/**
 * The account and every account below it, each with its subscriptions counted by status, and
 * the roll-up of the whole tree: accounts, subscriptions by status, credit limits summed per
 * currency, accounts per cost centre.
 */
export async function getAccountTree(deps: WorkflowDeps, tenantId: string, id: string): Promise<AccountTree> {
  const db = readExecutor(deps);
  const root = await mustFindAccount(db, tenantId, id);
  const accounts: BillingAccount[] = [root];
  const depthOf = new Map<string, number>([[root.id, 0]]);
  let level = [root.id];
  let depth = 0;
  while (level.length > 0 && depth < MAX_TREE_DEPTH + 1) {
    const children = (await listChildAccounts(db, tenantId, level)).filter((child) => !depthOf.has(child.id));
    depth += 1;
    for (const child of children) depthOf.set(child.id, depth);
    accounts.push(...children);
    level = children.map((child) => child.id);
  }
  const counts = new Map<string, Record<SubscriptionStatus, number>>();
  for (const account of accounts) counts.set(account.id, emptyStatusCounts());
  for (const row of await countSubscriptionsByStatus(
    db,
    tenantId,
    accounts.map((a) => a.id),
  )) {
    counts.get(row.accountId)![row.status] += row.count;
  }
  const childrenOf = new Map<string, BillingAccount[]>();
  for (const account of accounts.slice(1)) {
    const list = childrenOf.get(account.parentId!) ?? [];
    list.push(account);
    childrenOf.set(account.parentId!, list);
  }
  const build = (account: BillingAccount): AccountTreeNode => ({
    account,
    subscriptionsByStatus: counts.get(account.id)!,
    children: (childrenOf.get(account.id) ?? []).map(build),
  });

  const subscriptionsByStatus = emptyStatusCounts();
  const accountsByStatus: Record<AccountStatus, number> = { active: 0, suspended: 0, closed: 0 };
  const limits = new Map<string, Money>();
  const costCentres = new Map<string, number>();
  for (const account of accounts) {
    for (const [status, n] of Object.entries(counts.get(account.id)!)) {
      subscriptionsByStatus[status as SubscriptionStatus] += n;
    }
    accountsByStatus[account.status] += 1;
    if (account.creditLimit) {
      const sum = limits.get(account.creditLimit.currency);
      limits.set(account.creditLimit.currency, sum ? sum.plus(account.creditLimit) : account.creditLimit);
    }
    if (account.costCentre)
      costCentres.set(account.costCentre, (costCentres.get(account.costCentre) ?? 0) + 1);
  }
  const rollUp: AccountRollUp = {
    accounts: accounts.length,
    childAccounts: accounts.length - 1,
    depth: Math.max(...depthOf.values()),
    subscriptions: Object.values(subscriptionsByStatus).reduce((a, b) => a + b, 0),
    subscriptionsByStatus,
    accountsByStatus,
    creditLimits: [...limits.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1)),
    costCentres: [...costCentres.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([costCentre, n]) => ({ costCentre, accounts: n })),
  };
  return { root: build(root), rollUp };
}

// ---------------------------------------------------------------------------------------------
// Subscriptions: reading

async function loadDetails(
  db: Executor,
  tenantId: string,
  subscriptions: readonly Subscription[],
  asOf: Instant,
): Promise<SubscriptionDetail[]> {
  if (subscriptions.length === 0) return [];
  const ids = subscriptions.map((s) => s.id);
  const [customers, offers, identities, addOns, history] = await Promise.all([
    customersOfAccounts(
      db,
      tenantId,
      subscriptions.map((s) => s.accountId),
    ),
    listOfferChanges(db, tenantId, ids),
    listIdentitiesOfSubscriptions(db, tenantId, ids),
    listAddOns(db, tenantId, ids),
    listStatusChanges(db, tenantId, ids),
  ]);
  const bySubscription = <T extends { subscriptionId: string }>(list: T[]) => {
    const map = new Map<string, T[]>();
    for (const item of list) {
      const bucket = map.get(item.subscriptionId) ?? [];
      bucket.push(item);
      map.set(item.subscriptionId, bucket);
    }
    return map;
  };
  const offersOf = bySubscription(offers);
  const identitiesOf = bySubscription(identities);
  const addOnsOf = bySubscription(addOns);
  const historyOf = bySubscription(history);
  return subscriptions.map((subscription) => {
    const periods = offersOf.get(subscription.id) ?? [];
    return {
      ...subscription,
      customerId: customers.get(subscription.accountId) ?? '',
      offer: offerAt(periods, asOf),
      offers: periods,
      identities: identitiesOf.get(subscription.id) ?? [],
      addOns: addOnsOf.get(subscription.id) ?? [],
      history: historyOf.get(subscription.id) ?? [],
      asOf,
    };
  });
}

/** The offer period in force at `at` (the first one when `at` is before the start). */
export function offerAt(periods: readonly OfferChange[], at: Instant): OfferChange {
  let current = periods[0];
  if (!current) throw new Error('a subscription without an offer period');
  for (const period of periods) if (period.effectiveAt <= at) current = period;
  return current;
}

export async function getSubscription(
  deps: WorkflowDeps,
  tenantId: string,
  id: string,
  asOf?: Instant,
): Promise<SubscriptionDetail> {
  const db = readExecutor(deps);
  const found = await findSubscription(db, tenantId, id);
  if (!found) throw fail(CustomersErrors.subscription_not_found, `no subscription ${id}`, { record: id });
  const [detail] = await loadDetails(db, tenantId, [found], asOf ?? deps.clock.now());
  return detail!;
}

export interface SubscriptionListFilter {
  readonly status?: SubscriptionStatus;
  readonly accountId?: string;
  readonly customerId?: string;
  readonly offerId?: string;
}

export async function listSubscriptions(
  deps: WorkflowDeps,
  tenantId: string,
  filter: SubscriptionListFilter,
  page: PageRequest,
): Promise<PageResult<SubscriptionDetail>> {
  const db = readExecutor(deps);
  const asOf = deps.clock.now();
  const result = await listSubscriptionRows(db, tenantId, { ...filter, asOf }, page);
  return { items: await loadDetails(db, tenantId, result.items, asOf), total: result.total };
}

// ---------------------------------------------------------------------------------------------
// Service identities

export interface IdentityInput {
  readonly type: string;
  readonly value: string;
  /** Default: now (or the subscription's start, when creating one). */
  readonly from?: Instant;
  readonly until?: Instant;
}

interface CheckedIdentity {
  readonly type: IdentityType;
  readonly value: string;
  readonly from: Instant | undefined;
  readonly until: Instant | undefined;
  readonly field: string;
}

function checkIdentityInput(input: IdentityInput, field: string): CheckedIdentity {
  const { type, value } = normaliseIdentity(input.type, input.value, `${field}/value`);
  const from = optionalInstant(input.from, `${field}/from`);
  const until = optionalInstant(input.until, `${field}/until`);
  if (from !== undefined && until !== undefined && until <= from) {
    throw fail(CustomersErrors.invalid_date, `${field}: the assignment must end after it starts`, {
      field: `${field}/until`,
    });
  }
  return { type, value, from, until, field };
}

/** Refuses the same identity twice in one request, naming both places. */
function refuseDuplicates(list: readonly CheckedIdentity[]): void {
  const seen = new Map<string, string>();
  for (const item of list) {
    const key = `${item.type}\u0000${item.value}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw fail(
        CustomersErrors.identity_in_use,
        `${describeIdentity(item.type, item.value)} is given twice (${first} and ${item.field}); an identity is on one subscription at a time`,
        { field: `${item.field}/value` },
      );
    }
    seen.set(key, item.field);
  }
}

function identityPayload(subscription: Subscription, assignment: IdentityAssignment) {
  return {
    subscriptionId: subscription.id,
    accountId: subscription.accountId,
    assignmentId: assignment.id,
    type: assignment.type,
    value: assignment.value,
    displayValue: displayIdentity(assignment.type, assignment.value),
    validFrom: assignment.validFrom,
    validTo: assignment.validTo ?? null,
  };
}

async function assignIdentityIn(
  ctx: ChangeContext,
  subscription: Subscription,
  identity: CheckedIdentity,
  defaultFrom: Instant,
): Promise<IdentityAssignment> {
  requireLive(subscription, 'take a service identity');
  const from = identity.from ?? defaultFrom;
  if (from < subscription.startDate) {
    throw fail(
      CustomersErrors.invalid_date,
      `${identity.field}: ${describeIdentity(identity.type, identity.value)} cannot be assigned from ${from}, before subscription ${subscription.id} starts (${subscription.startDate})`,
      { field: `${identity.field}/from` },
    );
  }
  if (identity.until !== undefined && identity.until <= from) {
    throw fail(CustomersErrors.invalid_date, `${identity.field}: the assignment must end after it starts`, {
      field: `${identity.field}/until`,
    });
  }
  await lockIdentity(ctx.tx, ctx.dialect, ctx.tenantId, identity.type, identity.value, ctx.clock.now());
  const existing = await listAssignmentsOfIdentity(ctx.tx, ctx.tenantId, identity.type, identity.value);
  const candidate = { from, to: identity.until };
  const clash = findOverlap(
    existing.map((a) => ({ ...a, from: a.validFrom, to: a.validTo })),
    candidate,
  );
  if (clash) {
    const holder =
      clash.subscriptionId === subscription.id
        ? 'this subscription already'
        : `subscription ${clash.subscriptionId}`;
    throw fail(
      CustomersErrors.identity_in_use,
      `${describeIdentity(identity.type, identity.value)} is assigned to ${holder} ${describeRange(clash)}; ` +
        `it cannot also be assigned to ${subscription.id} ${describeRange(candidate)} (release it first)`,
      {
        field: `${identity.field}/value`,
        record: clash.subscriptionId,
        extra: { heldBy: clash.subscriptionId, heldFrom: clash.validFrom, heldUntil: clash.validTo ?? null },
      },
    );
  }
  const assignment: IdentityAssignment = {
    id: newId(ID_PREFIX.identity, ctx.clock),
    subscriptionId: subscription.id,
    type: identity.type,
    value: identity.value,
    validFrom: from,
    validTo: identity.until,
    createdAt: ctx.clock.now(),
  };
  await insertIdentity(ctx.tx, ctx.tenantId, assignment);
  const payload = identityPayload(subscription, assignment);
  await recordChange(ctx, {
    action: 'identity.assigned',
    entityType: 'subscription',
    entityId: subscription.id,
    after: payload,
    event: { type: 'identity.assigned', payload },
  });
  return assignment;
}

async function releaseIdentityIn(
  ctx: ChangeContext,
  subscription: Subscription,
  assignmentId: string,
  at: Instant,
  field: string,
): Promise<IdentityAssignment> {
  const current = (await listIdentitiesOfSubscriptions(ctx.tx, ctx.tenantId, [subscription.id])).find(
    (a) => a.id === assignmentId,
  );
  if (!current) {
    throw fail(
      CustomersErrors.entry_not_found,
      `subscription ${subscription.id} has no identity assignment ${assignmentId}`,
      {
        field,
        record: assignmentId,
      },
    );
  }
  await lockIdentity(ctx.tx, ctx.dialect, ctx.tenantId, current.type, current.value, ctx.clock.now());
  const ended = endRangeAt({ from: current.validFrom, to: current.validTo }, at);
  if (!ended) {
    throw fail(
      CustomersErrors.identity_not_assigned,
      `${describeIdentity(current.type, current.value)} is not on subscription ${subscription.id} at ${at}: it is assigned ${describeRange({ from: current.validFrom, to: current.validTo })}`,
      { field },
    );
  }
  await setIdentityEnd(ctx.tx, ctx.tenantId, current.id, at);
  const released: IdentityAssignment = { ...current, validTo: at };
  const payload = identityPayload(subscription, released);
  await recordChange(ctx, {
    action: 'identity.released',
    entityType: 'subscription',
    entityId: subscription.id,
    before: identityPayload(subscription, current),
    after: payload,
    event: { type: 'identity.released', payload },
  });
  return released;
}

/** Assigns an identity to a subscription from `from` (default now), open-ended unless `until`. */
export async function assignIdentity(
  deps: WorkflowDeps,
  caller: Caller,
  subscriptionId: string,
  input: IdentityInput,
): Promise<IdentityAssignment> {
  const identity = checkIdentityInput(input, 'identity');
  return runChange(deps, caller, async (ctx) => {
    const subscription = await lockSubscription(ctx, subscriptionId);
    return assignIdentityIn(ctx, subscription, identity, ctx.clock.now());
  });
}

/** Ends the subscription's assignment of an identity at `at` (default now). */
export async function releaseIdentity(
  deps: WorkflowDeps,
  caller: Caller,
  subscriptionId: string,
  input: { type: string; value: string; at?: Instant },
): Promise<IdentityAssignment> {
  const { type, value } = normaliseIdentity(input.type, input.value);
  const at = optionalInstant(input.at, 'at');
  return runChange(deps, caller, async (ctx) => {
    const subscription = await lockSubscription(ctx, subscriptionId);
    const when = at ?? ctx.clock.now();
    const assignments = await listIdentitiesOfSubscriptions(ctx.tx, ctx.tenantId, [subscriptionId]);
    const current = assignments.find(
      (a) =>
        a.type === type && a.value === value && rangeContains({ from: a.validFrom, to: a.validTo }, when),
    );
    if (!current) {
      throw fail(
        CustomersErrors.identity_not_assigned,
        `${describeIdentity(type, value)} is not on subscription ${subscriptionId} at ${when}`,
        { field: 'value' },
      );
    }
    return releaseIdentityIn(ctx, subscription, current.id, when, 'at');
  });
}

/**
 * Moves an identity to another subscription at `at` (default now) in one transaction: the
 * current holder's assignment ends at `at` and the new one starts then, so the identity has
 * exactly one owner at every instant (number porting between subscribers, a SIM swap).
 */
export async function moveIdentity(
  deps: WorkflowDeps,
  caller: Caller,
  input: { type: string; value: string; toSubscriptionId: string; at?: Instant },
): Promise<{ released: IdentityAssignment; assigned: IdentityAssignment }> {
  const identity = checkIdentityInput({ type: input.type, value: input.value }, 'identity');
  const at = optionalInstant(input.at, 'at');
  return runChange(deps, caller, async (ctx) => {
    const when = at ?? ctx.clock.now();
    await lockIdentity(ctx.tx, ctx.dialect, ctx.tenantId, identity.type, identity.value, ctx.clock.now());
    const holder = (
      await listAssignmentsOfIdentity(ctx.tx, ctx.tenantId, identity.type, identity.value)
    ).find((a) => rangeContains({ from: a.validFrom, to: a.validTo }, when));
    if (!holder) {
      throw fail(
        CustomersErrors.identity_not_assigned,
        `${describeIdentity(identity.type, identity.value)} has no owner at ${when}; assign it instead`,
        { field: 'value' },
      );
    }
    if (holder.subscriptionId === input.toSubscriptionId) {
      throw fail(
        CustomersErrors.identity_in_use,
        `${describeIdentity(identity.type, identity.value)} is already on subscription ${input.toSubscriptionId}`,
        { field: 'toSubscriptionId' },
      );
    }
    const from = await lockSubscription(ctx, holder.subscriptionId);
    const to = await lockSubscription(ctx, input.toSubscriptionId);
    const released = await releaseIdentityIn(ctx, from, holder.id, when, 'at');
    const assigned = await assignIdentityIn(ctx, to, { ...identity, from: when, until: undefined }, when);
    return { released, assigned };
  });
}

/** Who held the identity at `at`, or `customers.identity_owner_not_found`. */
export async function findIdentityOwner(
  deps: WorkflowDeps,
  tenantId: string,
  type: string,
  value: string,
  at: Instant,
): Promise<IdentityOwner> {
  const identity = normaliseIdentity(type, value);
  const instant = checkInstant(at, 'at');
  const [owner] = await listServiceIdentities(deps, tenantId, { ...identity, at: instant, limit: 1 });
  if (!owner) {
    throw fail(
      CustomersErrors.identity_owner_not_found,
      `${describeIdentity(identity.type, identity.value)} had no owner at ${instant}`,
      { record: `${identity.type}:${identity.value}` },
    );
  }
  return owner;
}

/** Identity assignments with their owners; with `at`, only those in force then. */
export async function listServiceIdentities(
  deps: WorkflowDeps,
  tenantId: string,
  filter: {
    type?: string;
    value?: string;
    subscriptionId?: string;
    at?: Instant;
    after?: string;
    limit: number;
  },
): Promise<IdentityOwner[]> {
  let value = filter.value;
  if (value !== undefined) {
    if (filter.type === undefined) {
      throw fail(CustomersErrors.invalid_identity, 'give the identity type with its value', {
        field: 'type',
      });
    }
    value = normaliseIdentity(filter.type, value).value;
  }
  const db = readExecutor(deps);
  const assignments = await listIdentities(db, tenantId, {
    ...filter,
    ...(value !== undefined ? { value } : {}),
  });
  const accounts = await accountsOfSubscriptions(
    db,
    tenantId,
    assignments.map((a) => a.subscriptionId),
  );
  const customers = await customersOfAccounts(db, tenantId, [...accounts.values()]);
  return assignments.map((assignment) => {
    const accountId = accounts.get(assignment.subscriptionId) ?? '';
    return {
      assignment,
      subscriptionId: assignment.subscriptionId,
      accountId,
      customerId: customers.get(accountId) ?? '',
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Subscriptions: creating and changing

/** An add-on names its offer by id or by code (at least one; both must agree). */
export interface AddOnInput {
  readonly offerId?: string;
  readonly offerCode?: string;
  readonly from?: Instant;
  readonly until?: Instant;
}

/** The subscription names its offer (a plan or bundle) by id or by code (at least one). */
export interface NewSubscriptionInput {
  readonly accountId: string;
  readonly offerId?: string;
  readonly offerCode?: string;
  readonly name?: string;
  readonly description?: string;
  /** pending or active (default active). */
  readonly status?: SubscriptionStatus;
  readonly reason?: string;
  /** Default: now. Not in the future. */
  readonly startDate?: Instant;
  readonly identities?: readonly IdentityInput[];
  readonly addOns?: readonly AddOnInput[];
}

/** Field names the use cases use for the parts of a request (the API names them its own way). */
export interface SubscriptionFieldNames {
  readonly identities: string;
  readonly addOns: string;
  readonly startDate: string;
  readonly statusDate?: string;
  readonly planDate?: string;
  readonly plan?: string;
  readonly planCode?: string;
}

const DEFAULT_FIELD_NAMES: SubscriptionFieldNames = {
  identities: 'identities',
  addOns: 'addOns',
  startDate: 'startDate',
};

interface CheckedAddOn {
  readonly offer: OfferRef;
  readonly from: Instant | undefined;
  readonly until: Instant | undefined;
  readonly field: string;
}

function checkAddOnInput(input: AddOnInput, field: string): CheckedAddOn {
  const offer = checkOfferRef(input.offerId, input.offerCode, `${field}/offerId`, `${field}/offerCode`);
  const from = optionalInstant(input.from, `${field}/from`);
  const until = optionalInstant(input.until, `${field}/until`);
  if (from !== undefined && until !== undefined && until <= from) {
    throw fail(CustomersErrors.invalid_date, `${field}: the add-on must end after it starts`, {
      field: `${field}/until`,
    });
  }
  return { offer, from, until, field };
}

async function attachAddOnIn(
  ctx: ChangeContext,
  subscription: Subscription,
  addOn: CheckedAddOn,
  defaultFrom: Instant,
): Promise<AddOn> {
  requireLive(subscription, 'take an add-on');
  const from = addOn.from ?? defaultFrom;
  if (from < subscription.startDate) {
    throw fail(
      CustomersErrors.invalid_date,
      `${addOn.field}: add-on ${addOn.offer.offerId ?? addOn.offer.offerCode} cannot start at ${from}, before subscription ${subscription.id} starts (${subscription.startDate})`,
      { field: `${addOn.field}/from` },
    );
  }
  if (addOn.until !== undefined && addOn.until <= from) {
    throw fail(CustomersErrors.invalid_date, `${addOn.field}: the add-on must end after it starts`, {
      field: `${addOn.field}/until`,
    });
  }
  const resolved = await resolveOffer(ctx, addOn.offer, 'add-on', from);
  const offerId = resolved.offer.id;
  const candidate = { from, to: addOn.until };
  await checkAddOnEligible(ctx, subscription, resolved, candidate, refField(addOn.offer));
  await checkCustomerEligible(ctx, resolved, subscription.accountId, refField(addOn.offer));
  const existing = (await listAddOns(ctx.tx, ctx.tenantId, [subscription.id]))
    .filter((a) => a.offerId === offerId)
    .map((a) => ({ ...a, from: a.validFrom, to: a.validTo }));
  // The catalog's maxPerSubscription (1 when absent) caps how many of this add-on are held at once.
  const most = resolved.version.content.eligibility?.maxPerSubscription ?? 1;
  if (peakOverlap(existing, candidate) >= most) {
    const clash = findOverlap(existing, candidate)!;
    throw fail(
      CustomersErrors.add_on_overlap,
      most === 1
        ? `add-on ${resolved.offer.code} is already on subscription ${subscription.id} ${describeRange(clash)} (${clash.id}); it cannot be attached again ${describeRange(candidate)}`
        : `add-on ${resolved.offer.code} would be held ${most + 1} times at once on subscription ${subscription.id} (${clash.id} and others, ${describeRange(candidate)}); the catalog allows at most ${most} at once`,
      { field: refField(addOn.offer), record: clash.id },
    );
  }
  const created: AddOn = {
    id: newId(ID_PREFIX.addOn, ctx.clock),
    subscriptionId: subscription.id,
    offerId,
    offerCode: resolved.offer.code,
    validFrom: from,
    validTo: addOn.until,
    createdAt: ctx.clock.now(),
  };
  await insertAddOn(ctx.tx, ctx.tenantId, created);
  await recordChange(ctx, {
    action: 'subscription.addon_attached',
    entityType: 'subscription',
    entityId: subscription.id,
    after: created,
    event: {
      type: 'subscription.addon_attached',
      payload: { ...created, accountId: subscription.accountId },
    },
  });
  return created;
}

async function detachAddOnIn(
  ctx: ChangeContext,
  subscription: Subscription,
  addOnId: string,
  at: Instant,
  field: string,
): Promise<AddOn> {
  const current = (await listAddOns(ctx.tx, ctx.tenantId, [subscription.id])).find((a) => a.id === addOnId);
  if (!current) {
    throw fail(CustomersErrors.entry_not_found, `subscription ${subscription.id} has no add-on ${addOnId}`, {
      field,
      record: addOnId,
    });
  }
  const ended = endRangeAt({ from: current.validFrom, to: current.validTo }, at);
  if (!ended) {
    throw fail(
      CustomersErrors.add_on_overlap,
      `add-on ${current.offerId} (${addOnId}) is not on subscription ${subscription.id} at ${at}: it is attached ${describeRange({ from: current.validFrom, to: current.validTo })}`,
      { field },
    );
  }
  await setAddOnEnd(ctx.tx, ctx.tenantId, addOnId, at);
  const detached: AddOn = { ...current, validTo: at };
  await recordChange(ctx, {
    action: 'subscription.addon_detached',
    entityType: 'subscription',
    entityId: subscription.id,
    before: current,
    after: detached,
    event: {
      type: 'subscription.addon_detached',
      payload: { ...detached, accountId: subscription.accountId },
    },
  });
  return detached;
}

export async function attachAddOn(
  deps: WorkflowDeps,
  caller: Caller,
  subscriptionId: string,
  input: AddOnInput,
): Promise<AddOn> {
  const addOn = checkAddOnInput(input, 'addOn');
  return runChange(deps, caller, async (ctx) => {
    const subscription = await lockSubscription(ctx, subscriptionId);
    return attachAddOnIn(ctx, subscription, addOn, ctx.clock.now());
  });
}

export async function detachAddOn(
  deps: WorkflowDeps,
  caller: Caller,
  subscriptionId: string,
  addOnId: string,
  at?: Instant,
): Promise<AddOn> {
  const when = optionalInstant(at, 'at');
  return runChange(deps, caller, async (ctx) => {
    const subscription = await lockSubscription(ctx, subscriptionId);
    return detachAddOnIn(ctx, subscription, addOnId, when ?? ctx.clock.now(), 'at');
  });
}

/** The new offer (a plan or bundle), by id or by code (at least one). */
export interface PlanChangeInput {
  readonly offerId?: string;
  readonly offerCode?: string;
  /** Default: now. May be in the future (a downgrade at the next bill date). */
  readonly at?: Instant;
  readonly changeType?: Exclude<OfferChangeType, 'initial'>;
  readonly reason?: string;
}

function checkPlanChange(input: PlanChangeInput, field = 'offerId', atField = 'at', codeField = 'offerCode') {
  return {
    offer: checkOfferRef(input.offerId, input.offerCode, field, codeField),
    at: optionalInstant(input.at, atField),
    changeType:
      input.changeType === undefined
        ? ('change' as const)
        : oneOf(
            input.changeType,
            OFFER_CHANGE_TYPES.filter((t) => t !== 'initial'),
            'changeType',
            CustomersErrors.invalid_subscription,
          ),
    reason: reasonText(input.reason),
  };
}

async function changePlanIn(
  ctx: ChangeContext,
  subscription: Subscription,
  change: ReturnType<typeof checkPlanChange>,
  atField = 'at',
): Promise<OfferChange | undefined> {
  requireLive(subscription, 'change plan');
  const at = change.at ?? ctx.clock.now();
  const periods = await listOfferChanges(ctx.tx, ctx.tenantId, [subscription.id]);
  const last = periods[periods.length - 1]!;
  if (at < subscription.startDate) {
    throw fail(
      CustomersErrors.invalid_date,
      `a plan change cannot take effect at ${at}, before the subscription starts (${subscription.startDate})`,
      {
        field: atField,
      },
    );
  }
  // Undated and already in force: nothing to change (a client may send back what it read).
  const inForce = offerAt(periods, at);
  const sameAs = (period: OfferChange) =>
    change.offer.offerId !== undefined
      ? period.offerId === change.offer.offerId
      : period.offerCode !== undefined && period.offerCode === change.offer.offerCode;
  if (change.at === undefined && sameAs(inForce)) return undefined;
  const resolved = await resolveOffer(ctx, change.offer, 'plan', at);
  const offerId = resolved.offer.id;
  const field = refField(change.offer);
  await checkCustomerEligible(ctx, resolved, subscription.accountId, field);
  if (at <= last.effectiveAt) {
    if (at === last.effectiveAt && last.offerId === offerId) return undefined;
    throw fail(
      CustomersErrors.plan_change_conflict,
      `subscription ${subscription.id} already has a plan change to ${last.offerId} at ${last.effectiveAt}; plan changes are recorded in date order, so a new one must take effect after it`,
      { field: atField },
    );
  }
  if (last.offerId === offerId) {
    throw fail(
      CustomersErrors.plan_change_conflict,
      `subscription ${subscription.id} is already on offer ${resolved.offer.code} at ${at}`,
      {
        field,
      },
    );
  }
  const created: OfferChange = {
    id: newId(ID_PREFIX.offerChange, ctx.clock),
    subscriptionId: subscription.id,
    fromOfferId: last.offerId,
    offerId,
    offerCode: resolved.offer.code,
    changeType: change.changeType,
    effectiveAt: at,
    reason: change.reason,
    recordedAt: ctx.clock.now(),
  };
  await insertOfferChange(ctx.tx, ctx.tenantId, created);
  await recordChange(ctx, {
    action: 'subscription.plan_changed',
    entityType: 'subscription',
    entityId: subscription.id,
    before: last,
    after: created,
    event: { type: 'subscription.plan_changed', payload: { ...created, accountId: subscription.accountId } },
  });
  return created;
}

/** Moves the subscription to another offer from `at` (default now). */
export async function changePlan(
  deps: WorkflowDeps,
  caller: Caller,
  subscriptionId: string,
  input: PlanChangeInput,
): Promise<OfferChange> {
  const change = checkPlanChange(input);
  return runChange(deps, caller, async (ctx) => {
    const subscription = await lockSubscription(ctx, subscriptionId);
    const created = await changePlanIn(ctx, subscription, change);
    if (!created) {
      throw fail(
        CustomersErrors.plan_change_conflict,
        `subscription ${subscriptionId} is already on offer ${change.offer.offerId ?? change.offer.offerCode}`,
        { field: refField(change.offer) },
      );
    }
    return created;
  });
}

async function changeStatusIn(
  ctx: ChangeContext,
  subscription: Subscription,
  to: SubscriptionStatus,
  reasonInput: string | undefined,
  atInput: Instant | undefined,
  atField = 'at',
): Promise<Subscription> {
  const reason = checkTransition(subscription.status, to, reasonInput);
  const now = ctx.clock.now();
  const at = atInput ?? now;
  if (at > now) {
    throw fail(
      CustomersErrors.invalid_date,
      `a status change takes effect now or in the past, not at ${at}`,
      { field: atField },
    );
  }
  const history = await listStatusChanges(ctx.tx, ctx.tenantId, [subscription.id]);
  const last = history[history.length - 1];
  if (last && at < last.effectiveAt) {
    throw fail(
      CustomersErrors.invalid_date,
      `the subscription became ${last.toStatus} at ${last.effectiveAt}; a later status change cannot take effect before that (${at})`,
      { field: atField },
    );
  }
  if (to === 'terminated') {
    // Termination ends every identity and add-on in force then; ones that would start later are
    // cancelled (their range becomes empty), so nothing outlives the subscription.
    for (const identity of await listIdentitiesOfSubscriptions(ctx.tx, ctx.tenantId, [subscription.id])) {
      if (
        identity.validTo === undefined ||
        (identity.validTo > at && identity.validTo > identity.validFrom)
      ) {
        await releaseIdentityIn(
          ctx,
          subscription,
          identity.id,
          identity.validFrom > at ? identity.validFrom : at,
          'status',
        );
      }
    }
    for (const addOn of await listAddOns(ctx.tx, ctx.tenantId, [subscription.id])) {
      if (addOn.validTo === undefined || (addOn.validTo > at && addOn.validTo > addOn.validFrom)) {
        await detachAddOnIn(
          ctx,
          subscription,
          addOn.id,
          addOn.validFrom > at ? addOn.validFrom : at,
          'status',
        );
      }
    }
  }
  const after: Subscription = {
    ...subscription,
    status: to,
    statusReason: reason,
    statusChangedAt: at,
    ...(to === 'terminated' ? { terminationDate: at } : {}),
    updatedAt: now,
  };
  await replaceSubscription(ctx.tx, after);
  const change: StatusChange = {
    id: newId(ID_PREFIX.statusChange, ctx.clock),
    subscriptionId: subscription.id,
    fromStatus: subscription.status,
    toStatus: to,
    reason,
    effectiveAt: at,
    recordedAt: now,
  };
  await insertStatusChange(ctx.tx, ctx.tenantId, change);
  await recordChange(ctx, {
    action: 'subscription.status_changed',
    entityType: 'subscription',
    entityId: subscription.id,
    before: subscription,
    after,
    event: {
      type: 'subscription.status_changed',
      payload: {
        subscriptionId: subscription.id,
        accountId: subscription.accountId,
        transition: transitionName(subscription.status, to),
        from: subscription.status,
        to,
        reason: reason ?? null,
        effectiveAt: at,
      },
    },
  });
  return after;
}

/** One lifecycle step (see customers/lifecycle.ts), effective at `at` (default now, never later). */
export async function changeSubscriptionStatus(
  deps: WorkflowDeps,
  caller: Caller,
  subscriptionId: string,
  input: { status: SubscriptionStatus; reason?: string; at?: Instant },
): Promise<Subscription> {
  if (!isSubscriptionStatus(input.status)) {
    throw fail(
      CustomersErrors.invalid_subscription,
      `status "${String(input.status)}" is not a subscription status`,
      {
        field: 'status',
      },
    );
  }
  const reason = reasonText(input.reason);
  const at = optionalInstant(input.at, 'at');
  return runChange(deps, caller, async (ctx) => {
    const subscription = await lockSubscription(ctx, subscriptionId);
    return changeStatusIn(ctx, subscription, input.status, reason, at);
  });
}

export async function createSubscription(
  deps: WorkflowDeps,
  caller: Caller,
  input: NewSubscriptionInput,
  names: SubscriptionFieldNames = DEFAULT_FIELD_NAMES,
): Promise<SubscriptionDetail> {
  const checked = checkNewSubscription(input, names);
  return runChange(deps, caller, (ctx) => createSubscriptionIn(ctx, input, checked));
}

function checkNewSubscription(input: NewSubscriptionInput, names: SubscriptionFieldNames) {
  const identities = (input.identities ?? []).map((item, i) =>
    checkIdentityInput(item, `${names.identities}/${i}`),
  );
  refuseDuplicates(identities);
  const status = input.status ?? 'active';
  if (!INITIAL_SUBSCRIPTION_STATUSES.includes(status)) {
    throw fail(
      CustomersErrors.invalid_subscription,
      `a subscription starts ${INITIAL_SUBSCRIPTION_STATUSES.join(' or ')}, not ${String(status)}`,
      { field: 'status' },
    );
  }
  return {
    offer: checkOfferRef(input.offerId, input.offerCode, 'offerId', 'offerCode'),
    name: optionalText(input.name, 'name', { definition: CustomersErrors.invalid_subscription }),
    description: optionalText(input.description, 'description', {
      max: 1000,
      definition: CustomersErrors.invalid_subscription,
    }),
    status,
    reason: reasonText(input.reason),
    startDate: optionalInstant(input.startDate, names.startDate),
    identities,
    addOns: (input.addOns ?? []).map((item, i) => checkAddOnInput(item, `${names.addOns}/${i}`)),
    startDateField: names.startDate,
  };
}

async function createSubscriptionIn(
  ctx: ChangeContext,
  input: NewSubscriptionInput,
  checked: ReturnType<typeof checkNewSubscription>,
): Promise<SubscriptionDetail> {
  const now = ctx.clock.now();
  const startDate = checked.startDate ?? now;
  if (startDate > now) {
    throw fail(
      CustomersErrors.invalid_date,
      `a subscription starts now or in the past, not at ${startDate}`,
      {
        field: checked.startDateField,
      },
    );
  }
  const account = await mustFindAccount(ctx.tx, ctx.tenantId, input.accountId, 'accountId');
  if (account.status === 'closed') {
    throw fail(CustomersErrors.account_closed, `billing account ${account.id} is closed`, {
      field: 'accountId',
    });
  }
  const plan = await resolveOffer(ctx, checked.offer, 'plan', startDate);
  await checkCustomerEligible(ctx, plan, account.id, refField(checked.offer));
  const subscription: Subscription = {
    id: newId(ID_PREFIX.subscription, ctx.clock),
    tenantId: ctx.tenantId,
    accountId: account.id,
    name: checked.name,
    description: checked.description,
    status: checked.status,
    statusReason: checked.reason,
    statusChangedAt: startDate,
    startDate,
    terminationDate: undefined,
    createdAt: now,
    updatedAt: now,
  };
  await insertSubscription(ctx.tx, subscription);
  await insertStatusChange(ctx.tx, ctx.tenantId, {
    id: newId(ID_PREFIX.statusChange, ctx.clock),
    subscriptionId: subscription.id,
    fromStatus: undefined,
    toStatus: checked.status,
    reason: checked.reason,
    effectiveAt: startDate,
    recordedAt: now,
  });
  const initial: OfferChange = {
    id: newId(ID_PREFIX.offerChange, ctx.clock),
    subscriptionId: subscription.id,
    fromOfferId: undefined,
    offerId: plan.offer.id,
    offerCode: plan.offer.code,
    changeType: 'initial',
    effectiveAt: startDate,
    reason: undefined,
    recordedAt: now,
  };
  await insertOfferChange(ctx.tx, ctx.tenantId, initial);
  await recordChange(ctx, {
    action: 'subscription.created',
    entityType: 'subscription',
    entityId: subscription.id,
    after: { ...subscription, offer: initial },
    event: {
      type: 'subscription.created',
      payload: {
        ...subscription,
        customerId: account.customerId,
        offerId: initial.offerId,
        offerCode: initial.offerCode ?? null,
      },
    },
  });
  // In (type, value) order, so concurrent transactions take identity locks in one order.
  const sorted = [...checked.identities].sort((a, b) =>
    a.type === b.type ? (a.value < b.value ? -1 : 1) : a.type < b.type ? -1 : 1,
  );
  for (const identity of sorted) await assignIdentityIn(ctx, subscription, identity, startDate);
  for (const addOn of checked.addOns) await attachAddOnIn(ctx, subscription, addOn, startDate);
  const [detail] = await loadDetails(ctx.tx, ctx.tenantId, [subscription], now);
  return detail!;
}

// ---------------------------------------------------------------------------------------------
// The combined change of the TMF637 PATCH

/** An entry of the identity list: with `id` an existing assignment, without a new one. */
export interface IdentityEntry {
  readonly id?: string;
  readonly type?: string;
  readonly value?: string;
  readonly from?: Instant;
  /** Set on an existing entry to end it at that instant. */
  readonly until?: Instant;
}

/** An entry of the add-on list: with `id` an existing add-on, without a new one. */
export interface AddOnEntry {
  readonly id?: string;
  readonly offerId?: string;
  readonly offerCode?: string;
  readonly from?: Instant;
  readonly until?: Instant;
}

/**
 * A set of changes to one subscription, applied together or not at all. The identity and add-on
 * lists replace the current lists (merge-patch semantics), but history is never deleted: every
 * existing entry must be listed again; an entry ends by getting an `until`; entries without an
 * id are added. Unchanged values (the same status, the same offer) change nothing, so a client
 * may send back what it read.
 */
export interface SubscriptionPatch {
  readonly name?: string | null;
  readonly description?: string | null;
  readonly status?: { readonly to: SubscriptionStatus; readonly reason?: string; readonly at?: Instant };
  readonly plan?: PlanChangeInput;
  readonly identities?: readonly IdentityEntry[];
  readonly addOns?: readonly AddOnEntry[];
}

export async function patchSubscription(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
  patch: SubscriptionPatch,
  names: SubscriptionFieldNames = DEFAULT_FIELD_NAMES,
): Promise<SubscriptionDetail> {
  const inv = CustomersErrors.invalid_subscription;
  const name = patch.name === null ? null : optionalText(patch.name, 'name', { definition: inv });
  const description =
    patch.description === null
      ? null
      : optionalText(patch.description, 'description', { max: 1000, definition: inv });
  const plan =
    patch.plan === undefined
      ? undefined
      : checkPlanChange(
          patch.plan,
          names.plan ?? 'offerId',
          names.planDate ?? 'at',
          names.planCode ?? 'offerCode',
        );
  if (patch.status !== undefined && !isSubscriptionStatus(patch.status.to)) {
    throw fail(inv, `status "${String(patch.status.to)}" is not a subscription status`, { field: 'status' });
  }
  const statusReason = reasonText(patch.status?.reason, 'statusReason');
  const statusAt = optionalInstant(patch.status?.at, names.statusDate ?? 'at');
  const identityEntries = (patch.identities ?? []).map((entry, i) => {
    const field = `${names.identities}/${i}`;
    if (entry.id !== undefined) {
      return {
        kind: 'existing' as const,
        id: entry.id,
        until: optionalInstant(entry.until, `${field}/until`),
        field,
        entry,
      };
    }
    if (entry.type === undefined || entry.value === undefined) {
      throw fail(CustomersErrors.invalid_identity, `${field}: a new identity needs its type and value`, {
        field: `${field}/${entry.type === undefined ? 'type' : 'value'}`,
      });
    }
    return {
      kind: 'new' as const,
      checked: checkIdentityInput(
        { type: entry.type, value: entry.value, from: entry.from, until: entry.until },
        field,
      ),
      field,
    };
  });
  refuseDuplicates(identityEntries.flatMap((e) => (e.kind === 'new' ? [e.checked] : [])));
  const addOnEntries = (patch.addOns ?? []).map((entry, i) => {
    const field = `${names.addOns}/${i}`;
    if (entry.id !== undefined) {
      return {
        kind: 'existing' as const,
        id: entry.id,
        until: optionalInstant(entry.until, `${field}/until`),
        field,
      };
    }
    if (entry.offerId === undefined && entry.offerCode === undefined) {
      throw fail(inv, `${field}: a new add-on needs its offer id or code`, { field: `${field}/offerId` });
    }
    return {
      kind: 'new' as const,
      checked: checkAddOnInput(
        { offerId: entry.offerId, offerCode: entry.offerCode, from: entry.from, until: entry.until },
        field,
      ),
    };
  });

  return runChange(deps, caller, async (ctx) => {
    let subscription = await lockSubscription(ctx, id);
    const now = ctx.clock.now();

    if (name !== undefined || description !== undefined) {
      const after: Subscription = {
        ...subscription,
        ...(name !== undefined ? { name: name ?? undefined } : {}),
        ...(description !== undefined ? { description: description ?? undefined } : {}),
      };
      if (after.name !== subscription.name || after.description !== subscription.description) {
        const updated = { ...after, updatedAt: now };
        await replaceSubscription(ctx.tx, updated);
        await recordChange(ctx, {
          action: 'subscription.updated',
          entityType: 'subscription',
          entityId: id,
          before: subscription,
          after: updated,
          event: { type: 'subscription.updated', payload: updated },
        });
        subscription = updated;
      }
    }

    if (plan !== undefined) {
      await changePlanIn(ctx, subscription, plan, names.planDate ?? 'at');
    }

    if (patch.addOns !== undefined) {
      const current = await listAddOns(ctx.tx, ctx.tenantId, [id]);
      checkAllListed(
        current,
        addOnEntries.flatMap((e) => (e.kind === 'existing' ? [e] : [])),
        names.addOns,
        'add-on',
      );
      for (const entry of addOnEntries) {
        if (entry.kind === 'new') {
          await attachAddOnIn(ctx, subscription, entry.checked, now);
        } else {
          const existing = current.find((a) => a.id === entry.id)!;
          if (entry.until !== undefined && entry.until !== existing.validTo) {
            if (existing.validTo !== undefined && entry.until > existing.validTo) {
              throw fail(
                CustomersErrors.add_on_overlap,
                `${entry.field}: an ended add-on cannot be extended; add a new entry`,
                {
                  field: `${entry.field}/until`,
                },
              );
            }
            await detachAddOnIn(ctx, subscription, entry.id, entry.until, `${entry.field}/until`);
          }
        }
      }
    }

    if (patch.identities !== undefined) {
      const current = await listIdentitiesOfSubscriptions(ctx.tx, ctx.tenantId, [id]);
      checkAllListed(
        current,
        identityEntries.flatMap((e) => (e.kind === 'existing' ? [e] : [])),
        names.identities,
        'identity',
      );
      // Every operation in (type, value) order, releases before assignments of the same identity.
      type Operation = {
        type: string;
        value: string;
        order: number;
        entry: (typeof identityEntries)[number];
      };
      const operations = identityEntries.flatMap((entry): Operation[] => {
        if (entry.kind === 'new')
          return [{ type: entry.checked.type, value: entry.checked.value, order: 1, entry }];
        const existing = current.find((a) => a.id === entry.id)!;
        if (entry.entry.type !== undefined && entry.entry.type !== existing.type) {
          throw fail(
            CustomersErrors.invalid_identity,
            `${entry.field}: the type of an existing entry cannot change`,
            { field: `${entry.field}/type` },
          );
        }
        if (entry.until === undefined || entry.until === existing.validTo) return [];
        if (existing.validTo !== undefined && entry.until > existing.validTo) {
          throw fail(
            CustomersErrors.identity_not_assigned,
            `${entry.field}: an ended assignment cannot be extended; add a new entry`,
            {
              field: `${entry.field}/until`,
            },
          );
        }
        return [{ type: existing.type, value: existing.value, order: 0, entry }];
      });
      operations.sort((a, b) =>
        a.type !== b.type
          ? a.type < b.type
            ? -1
            : 1
          : a.value !== b.value
            ? a.value < b.value
              ? -1
              : 1
            : a.order - b.order,
      );
      for (const operation of operations) {
        const entry = operation.entry;
        if (entry.kind === 'new') await assignIdentityIn(ctx, subscription, entry.checked, now);
        else await releaseIdentityIn(ctx, subscription, entry.id, entry.until!, `${entry.field}/until`);
      }
    }

    if (patch.status !== undefined && patch.status.to !== subscription.status) {
      subscription = await changeStatusIn(
        ctx,
        subscription,
        patch.status.to,
        statusReason,
        statusAt,
        names.statusDate ?? 'at',
      );
    }

    const [detail] = await loadDetails(ctx.tx, ctx.tenantId, [subscription], ctx.clock.now());
    return detail!;
  });
}

/** Every existing entry must be in the list: history is kept, entries end rather than vanish. */
function checkAllListed(
  current: ReadonlyArray<{ id: string }>,
  listed: ReadonlyArray<{ id: string; field: string }>,
  name: string,
  what: string,
): void {
  const known = new Set(current.map((c) => c.id));
  const seen = new Set<string>();
  for (const entry of listed) {
    if (!known.has(entry.id)) {
      throw fail(
        CustomersErrors.entry_not_found,
        `${entry.field}: the subscription has no ${what} ${entry.id}`,
        {
          field: `${entry.field}/id`,
          record: entry.id,
        },
      );
    }
    if (seen.has(entry.id)) {
      throw fail(CustomersErrors.history_kept, `${entry.field}: ${what} ${entry.id} is listed twice`, {
        field: `${entry.field}/id`,
      });
    }
    seen.add(entry.id);
  }
  const missing = current.filter((c) => !seen.has(c.id)).map((c) => c.id);
  if (missing.length > 0) {
    throw fail(
      CustomersErrors.history_kept,
      `${name}: the list leaves out ${missing.join(', ')}; history is kept, so list every existing ${what} and end one by giving it an end date`,
      { field: name },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Bulk import

/**
 * The columns of an import row (CSV header names, JSON keys). One row is one subscriber as a
 * migration file lists it: the customer, the billing account and optionally the subscription
 * with its identities. Rows that share a `customerRef` or `accountRef` share the record, which is
 * created by the first of them (refs are the tenant's own keys; they are stored and may be
 * reused by later imports). A row names its account by `accountId` (an existing account) or by
 * `accountRef`.
 */
export const IMPORT_COLUMNS = [
  'customerRef',
  'customerName',
  'customerType',
  'email',
  'phone',
  'accountRef',
  'accountId',
  'accountName',
  'currency',
  'language',
  'billCycleDay',
  'timeZone',
  'invoiceDelivery',
  'ratingType',
  'creditClass',
  'creditLimit',
  'costCentre',
  'parentAccountRef',
  'payerAccountRef',
  'offerId',
  'offerCode',
  'subscriptionName',
  'status',
  'startDate',
  'addOns',
  'msisdn',
  'imsi',
  'iccid',
  'sipUri',
  'nai',
  'lineId',
  'deviceId',
] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];

const IDENTITY_COLUMNS: ReadonlyArray<readonly [ImportColumn, IdentityType]> = [
  ['msisdn', 'msisdn'],
  ['imsi', 'imsi'],
  ['iccid', 'iccid'],
  ['sipUri', 'sip-uri'],
  ['nai', 'nai'],
  ['lineId', 'line-id'],
  ['deviceId', 'device-id'],
];

export const IMPORT_MAX_ROWS = 10_000;

/** One problem of one row: its 1-based number among the data rows, the column and why. */
export interface ImportError {
  readonly row: number;
  readonly field: string;
  readonly message: string;
}

export interface ImportRowResult {
  readonly row: number;
  /** `not-applied`: valid, but an atomic import rolled it back because another row failed. */
  readonly status: 'applied' | 'rejected' | 'not-applied';
  readonly customerId?: string;
  readonly accountId?: string;
  readonly subscriptionId?: string;
}

export interface ImportReport {
  readonly atomic: boolean;
  readonly total: number;
  readonly applied: number;
  readonly rejected: number;
  readonly errors: readonly ImportError[];
  readonly rows: readonly ImportRowResult[];
}

/** A row as read from the file: its values, or why it could not be read. */
export interface ImportRecord {
  readonly row: number;
  readonly values: Readonly<Record<string, unknown>>;
  readonly problem?: ImportError;
}

/** Parses RFC 4180 CSV: quoted fields, "" inside quotes, CRLF or LF, a BOM ignored. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let fieldStarted = false;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
      continue;
    }
    if (c === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
      fieldStarted = false;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      fieldStarted = false;
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (quoted) {
    throw fail(
      CustomersErrors.invalid_import,
      'the CSV ends inside a quoted field (a closing " is missing)',
      { field: 'csv' },
    );
  }
  if (fieldStarted || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0]!.trim() === ''));
}

/** The records of a CSV import file: a header of known column names, then one row per line. */
export function importRecordsFromCsv(text: string): ImportRecord[] {
  const [header, ...lines] = parseCsv(text);
  if (!header)
    throw fail(CustomersErrors.invalid_import, 'the CSV is empty: it needs a header row', { field: 'csv' });
  const columns = header.map((name) => name.trim());
  columns.forEach((name, index) => {
    if (!(IMPORT_COLUMNS as readonly string[]).includes(name)) {
      throw fail(
        CustomersErrors.invalid_import,
        `header column ${index + 1} "${name}" is not an import column; the columns are ${IMPORT_COLUMNS.join(', ')}`,
        { field: 'csv' },
      );
    }
    if (columns.indexOf(name) !== index) {
      throw fail(CustomersErrors.invalid_import, `header column "${name}" appears twice`, { field: 'csv' });
    }
  });
  return lines.map((cells, index) => {
    const row = index + 1;
    if (cells.length !== columns.length) {
      return {
        row,
        values: {},
        problem: {
          row,
          field: '',
          message: `row has ${cells.length} fields but the header has ${columns.length}`,
        },
      };
    }
    return { row, values: Object.fromEntries(columns.map((name, i) => [name, cells[i]])) };
  });
}

/** The records of a JSON import: an array of objects (or `{ "rows": [...] }`) keyed by column. */
export function importRecordsFromJson(value: unknown): ImportRecord[] {
  const rows = Array.isArray(value)
    ? value
    : typeof value === 'object' && value !== null && Array.isArray((value as { rows?: unknown }).rows)
      ? (value as { rows: unknown[] }).rows
      : undefined;
  if (!rows) {
    throw fail(
      CustomersErrors.invalid_import,
      'a JSON import is an array of row objects, or { "rows": [...] }',
      { field: 'rows' },
    );
  }
  return rows.map((item, index) => {
    const row = index + 1;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      return {
        row,
        values: {},
        problem: { row, field: '', message: 'row is not an object of column values' },
      };
    }
    return { row, values: item as Record<string, unknown> };
  });
}

interface CheckedRow {
  readonly text: Partial<Record<ImportColumn, string>>;
  readonly billCycleDay?: number;
  readonly startDate?: Instant;
  readonly identities: CheckedIdentity[];
}

/** Reads a date column: an RFC 3339 date-time, or a date (midnight UTC). */
function importDate(text: string): Instant | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const instant = `${text}T00:00:00.000Z`;
    return isInstant(instant) && new Date(instant).toISOString() === instant ? instant : undefined;
  }
  const instant = parseInstant(text);
  return instant !== undefined && isInstant(instant) ? instant : undefined;
}

/** The row's own checks, before any database work; every problem of the row is reported. */
function checkImportRow(record: ImportRecord, errors: ImportError[]): CheckedRow | undefined {
  const row = record.row;
  const text: Partial<Record<ImportColumn, string>> = {};
  const problem = (field: string, message: string) => errors.push({ row, field, message });
  for (const [key, raw] of Object.entries(record.values)) {
    if (!(IMPORT_COLUMNS as readonly string[]).includes(key)) {
      problem(key, `"${key}" is not an import column`);
      continue;
    }
    if (raw === null || raw === undefined) continue;
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      problem(key, 'must be a text or a number');
      continue;
    }
    const value = String(raw).trim();
    if (value !== '') text[key as ImportColumn] = value;
  }
  let billCycleDay: number | undefined;
  if (text.billCycleDay !== undefined) {
    billCycleDay = /^\d{1,2}$/.test(text.billCycleDay) ? Number(text.billCycleDay) : 0;
    if (billCycleDay < 1 || billCycleDay > 28) {
      problem('billCycleDay', 'must be a day of the month from 1 to 28');
    }
  }
  let startDate: Instant | undefined;
  if (text.startDate !== undefined) {
    startDate = importDate(text.startDate);
    if (startDate === undefined)
      problem('startDate', `"${text.startDate}" is not a date (2026-01-31) or date-time`);
  }
  if (text.customerType !== undefined && !(PARTY_KINDS as readonly string[]).includes(text.customerType)) {
    problem('customerType', `must be one of ${PARTY_KINDS.join(', ')}`);
  }
  if (
    text.status !== undefined &&
    !INITIAL_SUBSCRIPTION_STATUSES.includes(text.status as SubscriptionStatus)
  ) {
    problem('status', `must be ${INITIAL_SUBSCRIPTION_STATUSES.join(' or ')}`);
  }
  if (text.accountId === undefined && text.accountRef === undefined) {
    problem(
      'accountRef',
      'give accountRef (the account to find or create) or accountId (an existing account)',
    );
  }
  const identities: CheckedIdentity[] = [];
  for (const [column, type] of IDENTITY_COLUMNS) {
    const value = text[column];
    if (value === undefined) continue;
    if (text.offerId === undefined && text.offerCode === undefined) {
      problem(column, `an identity needs a subscription: give offerId or offerCode`);
      continue;
    }
    try {
      identities.push({
        ...normaliseIdentity(type, value, column),
        from: undefined,
        until: undefined,
        field: column,
      });
    } catch (error) {
      if (!isTollgateError(error)) throw error;
      problem(column, error.message);
    }
  }
  if (text.addOns !== undefined && text.offerId === undefined && text.offerCode === undefined)
    problem('addOns', 'add-ons need a subscription: give offerId or offerCode');
  return errors.some((e) => e.row === row) ? undefined : { text, billCycleDay, startDate, identities };
}

/** Where in the row an error of a use case belongs. */
function columnOf(error: TollgateError, fallback: string): string {
  const field = error.field ?? '';
  const map: Record<string, string> = {
    name: fallback === 'customerName' ? 'customerName' : fallback,
    'creditLimit.amount': 'creditLimit',
    'creditLimit.currency': 'creditLimit',
    parentId: 'parentAccountRef',
    payerId: 'payerAccountRef',
    customerId: 'customerRef',
    offerId: 'offerId',
    offerCode: 'offerCode',
  };
  if (field in map) return map[field]!;
  if ((IMPORT_COLUMNS as readonly string[]).includes(field)) return field;
  return fallback;
}

class RowRejected extends Error {
  constructor(readonly entries: ImportError[]) {
    super('row rejected');
  }
}

async function step<T>(row: number, column: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isTollgateError(error))
      throw new RowRejected([{ row, field: columnOf(error, column), message: error.message }]);
    if (isUniqueViolation(error)) {
      throw new RowRejected([
        {
          row,
          field: column,
          message: 'another record with the same reference was created at the same time',
        },
      ]);
    }
    throw error;
  }
}

async function importRow(ctx: ChangeContext, row: number, checked: CheckedRow): Promise<ImportRowResult> {
  const t = checked.text;
  let account: BillingAccount | undefined;
  if (t.accountId !== undefined) {
    account = await step(row, 'accountId', () =>
      mustFindAccount(ctx.tx, ctx.tenantId, t.accountId!, 'accountId'),
    );
  } else {
    account = await findAccountByRef(ctx.tx, ctx.tenantId, t.accountRef!);
  }
  if (!account) {
    let customer =
      t.customerRef === undefined ? undefined : await findCustomerByRef(ctx.tx, ctx.tenantId, t.customerRef);
    if (!customer) {
      if (t.customerName === undefined) {
        throw new RowRejected([{ row, field: 'customerName', message: 'a new customer needs customerName' }]);
      }
      const contactMedium: ContactMedium[] = [];
      if (t.email)
        contactMedium.push({
          mediumType: 'email',
          preferred: true,
          characteristic: { emailAddress: t.email },
        });
      if (t.phone)
        contactMedium.push({
          mediumType: 'phone',
          preferred: true,
          characteristic: { phoneNumber: t.phone },
        });
      customer = await step(row, 'customerName', () =>
        createCustomerIn(ctx, {
          kind: (t.customerType as PartyKind | undefined) ?? 'individual',
          name: t.customerName!,
          contactMedium,
          ...(t.customerRef !== undefined ? { externalRef: t.customerRef } : {}),
        }).catch((error: unknown) => {
          if (isTollgateError(error) && error.field?.startsWith('contactMedium/')) {
            throw withField(error, error.field.startsWith('contactMedium/0') && t.email ? 'email' : 'phone');
          }
          throw error;
        }),
      );
    }
    const parent =
      t.parentAccountRef === undefined
        ? undefined
        : await findAccountByRef(ctx.tx, ctx.tenantId, t.parentAccountRef);
    if (t.parentAccountRef !== undefined && !parent) {
      throw new RowRejected([
        {
          row,
          field: 'parentAccountRef',
          message: `no account with reference "${t.parentAccountRef}" (list the parent's row first)`,
        },
      ]);
    }
    const payer =
      t.payerAccountRef === undefined
        ? undefined
        : await findAccountByRef(ctx.tx, ctx.tenantId, t.payerAccountRef);
    if (t.payerAccountRef !== undefined && !payer) {
      throw new RowRejected([
        {
          row,
          field: 'payerAccountRef',
          message: `no account with reference "${t.payerAccountRef}" (list the payer's row first)`,
        },
      ]);
    }
    const tenant = await findTenantById(ctx.tx, ctx.tenantId);
    const currency = t.currency ?? tenant?.settings.defaultCurrency ?? 'EUR';
    const customerId = customer.id;
    account = await step(row, 'accountName', () =>
      createAccountIn(ctx, {
        customerId,
        name: t.accountName ?? customer!.name,
        currency,
        ...(t.language !== undefined ? { language: t.language } : {}),
        ...(checked.billCycleDay !== undefined ? { billCycleDay: checked.billCycleDay } : {}),
        ...(t.timeZone !== undefined ? { timeZone: t.timeZone } : {}),
        ...(t.invoiceDelivery !== undefined ? { invoiceDelivery: t.invoiceDelivery as InvoiceDelivery } : {}),
        ...(t.ratingType !== undefined ? { ratingType: t.ratingType as RatingType } : {}),
        ...(t.creditClass !== undefined ? { creditClass: t.creditClass } : {}),
        ...(t.creditLimit !== undefined ? { creditLimit: { amount: t.creditLimit, currency } } : {}),
        ...(t.costCentre !== undefined ? { costCentre: t.costCentre } : {}),
        ...(parent ? { parentId: parent.id } : {}),
        ...(payer ? { payerId: payer.id } : {}),
        externalRef: t.accountRef!,
      }),
    );
  }
  const accountId = account.id;
  if (t.offerId === undefined && t.offerCode === undefined)
    return { row, status: 'applied', customerId: account.customerId, accountId };
  const offerColumn = t.offerId !== undefined ? 'offerId' : 'offerCode';
  const subscriptionChecked = await step(row, offerColumn, async () =>
    checkNewSubscription(
      {
        accountId,
        ...(t.offerId !== undefined ? { offerId: t.offerId } : {}),
        ...(t.offerCode !== undefined ? { offerCode: t.offerCode } : {}),
        ...(t.subscriptionName !== undefined ? { name: t.subscriptionName } : {}),
        ...(t.status !== undefined ? { status: t.status as SubscriptionStatus } : {}),
        ...(checked.startDate !== undefined ? { startDate: checked.startDate } : {}),
        addOns: (t.addOns ?? '')
          .split(';')
          .map((s) => s.trim())
          .filter((s) => s !== '')
          // Each entry is an offer id or an offer code.
          .map((ref) => (isId(ref, 'ofr') ? { offerId: ref } : { offerCode: ref })),
      },
      { identities: 'identities', addOns: 'addOns', startDate: 'startDate' },
    ),
  );
  const subscription = await step(row, offerColumn, () =>
    createSubscriptionIn(ctx, { accountId }, { ...subscriptionChecked, identities: [] }).catch(
      (error: unknown) => {
        if (isTollgateError(error) && error.field?.startsWith('addOns/')) throw withField(error, 'addOns');
        throw error;
      },
    ),
  );
  for (const identity of checked.identities) {
    await step(row, identity.field, () =>
      assignIdentityIn(ctx, subscription, identity, subscription.startDate),
    );
  }
  return {
    row,
    status: 'applied',
    customerId: account.customerId,
    accountId,
    subscriptionId: subscription.id,
  };
}

class AtomicRollback extends Error {
  constructor() {
    super('atomic import rolled back');
  }
}

/**
 * Imports rows (from CSV or JSON, see importRecordsFromCsv / importRecordsFromJson) and reports
 * every problem by row and column. Without `atomic`, each valid row is applied in its own
 * transaction and the invalid ones are skipped; with `atomic`, the rows run in one transaction
 * that is rolled back when any row fails, so either all rows are applied or none is.
 */
export async function importCustomers(
  deps: WorkflowDeps,
  caller: Caller,
  records: readonly ImportRecord[],
  options: { atomic: boolean },
): Promise<ImportReport> {
  if (records.length === 0)
    throw fail(CustomersErrors.invalid_import, 'the import has no rows', { field: 'rows' });
  if (records.length > IMPORT_MAX_ROWS) {
    throw fail(
      CustomersErrors.invalid_import,
      `an import takes at most ${IMPORT_MAX_ROWS} rows; split the file`,
      {
        field: 'rows',
      },
    );
  }
  const errors: ImportError[] = [];
  const results: ImportRowResult[] = [];
  const runRow = async (ctx: ChangeContext, record: ImportRecord): Promise<void> => {
    if (record.problem) {
      errors.push(record.problem);
      results.push({ row: record.row, status: 'rejected' });
      return;
    }
    const checked = checkImportRow(record, errors);
    if (!checked) {
      results.push({ row: record.row, status: 'rejected' });
      return;
    }
    try {
      results.push(await withSavepoint(ctx.tx, () => importRow(ctx, record.row, checked)));
    } catch (error) {
      if (!(error instanceof RowRejected)) throw error;
      errors.push(...error.entries);
      results.push({ row: record.row, status: 'rejected' });
    }
  };
  if (options.atomic) {
    try {
      await runChange(deps, caller, (ctx) =>
        withSavepoint(ctx.tx, async () => {
          for (const record of records) await runRow(ctx, record);
          if (errors.length > 0) throw new AtomicRollback();
        }),
      );
    } catch (error) {
      if (!(error instanceof AtomicRollback)) throw error;
      const rolledBack = results.map((r): ImportRowResult =>
        r.status === 'applied' ? { row: r.row, status: 'not-applied' } : r,
      );
      return report(true, records.length, rolledBack, errors);
    }
  } else {
    for (const record of records) await runChange(deps, caller, (ctx) => runRow(ctx, record));
  }
  return report(options.atomic, records.length, results, errors);
}

function report(
  atomic: boolean,
  total: number,
  rows: ImportRowResult[],
  errors: ImportError[],
): ImportReport {
  return {
    atomic,
    total,
    applied: rows.filter((r) => r.status === 'applied').length,
    rejected: rows.filter((r) => r.status === 'rejected').length,
    errors: [...errors].sort((a, b) => a.row - b.row),
    rows,
  };
}

/** Reads import text by format: CSV, or JSON (an array of rows or `{ rows }`). */
export function importRecordsFromText(text: string, format: 'csv' | 'json'): ImportRecord[] {
  if (format === 'csv') return importRecordsFromCsv(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw fail(CustomersErrors.invalid_import, `the file is not valid JSON: ${(error as Error).message}`, {
      field: 'rows',
    });
  }
  return importRecordsFromJson(value);
}
