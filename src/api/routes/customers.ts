/**
 * Customers, billing accounts and subscriptions over HTTP, shaped after the TM Forum Open APIs:
 *
 * - TMF629 Customer Management v4: `/tmf-api/customerManagement/v4/customer`
 * - TMF666 Account Management v4: `/tmf-api/accountManagement/v4/billingAccount`, plus
 *   `GET .../billingAccount/{id}/tree`: the account, every account below it and the roll-up
 *   (accounts, subscriptions by status, credit limits summed per currency, cost centres).
 * - TMF637 Product Inventory v4: `/tmf-api/productInventory/v4/product` (a product is a
 *   subscription: an offer instance on a billing account).
 * - `GET /v1/service-identities?type=&value=&at=`: who held an identity at an instant.
 * - `POST /v1/customers/bulk-import[?atomic=true]`: rows as JSON (`rows`) or CSV text (`csv`).
 *
 * TMF630 conventions: POST answers 201 with Location; GET lists take `offset` and `limit` and
 * answer a JSON array with `X-Total-Count` (all matches) and `X-Result-Count` (this page); every
 * GET takes `fields=a,b` (only those attributes, plus id and href); PATCH is JSON Merge Patch
 * (application/merge-patch+json or application/json). Errors are RFC 9457 problem documents, as
 * everywhere in this API. Money is `{ "amount": "12.34", "currency": "EUR" }`, never a number.
 *
 * Shapes and their Tollgate extensions:
 * - Customer: `engagedParty['@referredType']` is `Individual` or `Organization` (the party itself
 *   is embedded: there is no TMF632 party resource yet, so it carries no id); `contactMedium`
 *   with `mediumType` email, phone, fax or postalAddress; `account` lists its billing accounts.
 * - BillingAccount: `state` (active, suspended, closed), `relatedParty` (exactly one, role
 *   `customer`), `accountRelationship` (`parent`: the enterprise parent; `payer`: the account that
 *   pays this one's invoices), `creditLimit`, `taxExemption`, `ratingType`, and the extensions
 *   `currency`, `language`, `billCycleDay` (1-28), `timeZone` (IANA), `invoiceDelivery` (email,
 *   paper, portal; mirrored read-only in `billStructure.presentationMedia`), `creditClass`,
 *   `costCentre`. `accountRelationship` in a PATCH replaces the list (merge patch): leave an entry
 *   out to remove that parent or payer.
 * - Product: `status` is pendingActive, active, suspended, barred (a Tollgate extension of
 *   ProductStatusType: blocked by the operator) or terminated; changing it (PATCH) needs
 *   `statusReason` to suspend, bar or terminate, and may be dated with `statusChangeDate` (now or
 *   earlier). Service identities are `realizingResource` entries of `@type` ServiceIdentityRef:
 *   `{ id, "@referredType": "MSISDN" | "IMSI" | "ICCID" | "SIPURI" | "NAI" | "LineId" | "DeviceId",
 *   value, name (display form), validFor: { startDateTime, endDateTime } }`. Add-ons are
 *   `productRelationship` entries `{ relationshipType: "addOn", product: { id, productOffering,
 *   startDate, terminationDate, status } }`. A plan change is a PATCH of `productOffering`, dated
 *   by `productOfferingChangeDate` (default now; may be in the future) and typed by
 *   `productOfferingChangeType` (upgrade, downgrade, change). `productOffering` names a catalog offer
 *   by `id` (`ofr_...`) or by code (`name`) alone: a plan or bundle for the product, an add-on in
 *   `productRelationship`, each with a version in force at its date; add-ons must suit the plan.
 *   `statusHistory` and
 *   `productOfferingHistory` (read-only) give every change with its date and reason.
 *   In a PATCH, `realizingResource` and `productRelationship` replace the lists as merge patch
 *   says, but history is never deleted: list every existing entry (by id) again; give an entry a
 *   `validFor.endDateTime` (add-on: `terminationDate`) to end it; entries without an id are added.
 *   All changes of one PATCH apply together or not at all.
 *
 * Roles: reads for support-agent, billing-operator, finance and read-only; changes for
 * support-agent and billing-operator; admin may do everything. A subscriber (scoped to one billing
 * account) may read that account and its products only: anything else is "not found" to them.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app/container.js';
import type { Principal, Role } from '../../access/index.js';
import {
  CustomersErrors,
  IDENTITY_TYPES,
  RATING_TYPES,
  INVOICE_DELIVERY_CHANNELS,
  normaliseIdentity,
  displayIdentity,
  type BillingAccount,
  type Customer,
  type IdentityType,
  type SubscriptionDetail,
  type SubscriptionStatus,
  type AccountTreeNode,
  type TaxExemption,
  type ContactMedium,
  type OfferChangeType,
} from '../../customers/index.js';
import { isInstant, parseInstant, type Instant } from '../../kernel/clock.js';
import { CommonErrors, fail } from '../../kernel/errors.js';
import { idPattern } from '../../kernel/ids.js';
import type { MoneyJson } from '../../kernel/money.js';
import {
  accountsOfCustomers,
  createAccount,
  createCustomer,
  createSubscription,
  getAccount,
  getAccountTree,
  getCustomer,
  getSubscription,
  importCustomers,
  importRecordsFromCsv,
  importRecordsFromJson,
  listAccounts,
  listCustomers,
  listServiceIdentities,
  listSubscriptions,
  patchSubscription,
  updateAccount,
  updateCustomer,
  type AccountChanges,
  type ImportReport,
  type SubscriptionPatch,
} from '../../workflows/customers.js';
import { callerOf, principalOf } from '../access.js';
import { withRenamedFields } from '../problem.js';
import { TMF620_BASE } from './catalog.js';
import { idParams, instantSchema, problemResponses } from '../schemas.js';

export const CUSTOMER_PATH = '/tmf-api/customerManagement/v4/customer';
export const ACCOUNT_PATH = '/tmf-api/accountManagement/v4/billingAccount';
export const PRODUCT_PATH = '/tmf-api/productInventory/v4/product';

const READ: readonly Role[] = ['support-agent', 'billing-operator', 'finance', 'read-only'];
const READ_OWN: readonly Role[] = [...READ, 'subscriber'];
const WRITE: readonly Role[] = ['support-agent', 'billing-operator'];

// ---------------------------------------------------------------------------------------------
// Mapping between our model and the TMF shapes

/** TMF @referredType of each identity type. */
const TMF_IDENTITY_TYPE: Readonly<Record<IdentityType, string>> = {
  msisdn: 'MSISDN',
  imsi: 'IMSI',
  iccid: 'ICCID',
  'sip-uri': 'SIPURI',
  nai: 'NAI',
  'line-id': 'LineId',
  'device-id': 'DeviceId',
};
const IDENTITY_TYPE_OF_TMF = new Map(
  Object.entries(TMF_IDENTITY_TYPE).map(([k, v]) => [v, k as IdentityType]),
);
const TMF_IDENTITY_TYPES = Object.values(TMF_IDENTITY_TYPE);

const TMF_STATUS: Readonly<Record<SubscriptionStatus, string>> = {
  pending: 'pendingActive',
  active: 'active',
  suspended: 'suspended',
  barred: 'barred',
  terminated: 'terminated',
};
const STATUS_OF_TMF = new Map(Object.entries(TMF_STATUS).map(([k, v]) => [v, k as SubscriptionStatus]));
const TMF_STATUSES = Object.values(TMF_STATUS);

const customerHref = (id: string) => `${CUSTOMER_PATH}/${id}`;
/** A TMF ProductOfferingRef: the catalog offer by id, its href in TMF620, its code as the name. */
const offeringRef = (id: string, code: string | undefined) => ({
  id,
  href: `${TMF620_BASE}/productOffering/${id}`,
  ...(code !== undefined ? { name: code } : {}),
  '@referredType': 'ProductOffering',
});
const accountHref = (id: string) => `${ACCOUNT_PATH}/${id}`;
const productHref = (id: string) => `${PRODUCT_PATH}/${id}`;

const PARTY_TYPE = { individual: 'Individual', organization: 'Organization' } as const;

function validFor(from: Instant | undefined, to: Instant | undefined) {
  return {
    ...(from !== undefined ? { startDateTime: from } : {}),
    ...(to !== undefined ? { endDateTime: to } : {}),
  };
}

function customerToTmf(customer: Customer, accounts: ReadonlyArray<{ id: string; name: string }>) {
  return {
    id: customer.id,
    href: customerHref(customer.id),
    '@type': 'Customer',
    '@baseType': 'PartyRole',
    name: customer.name,
    status: customer.status,
    ...(customer.statusReason !== undefined ? { statusReason: customer.statusReason } : {}),
    engagedParty: { name: customer.name, '@referredType': PARTY_TYPE[customer.kind] },
    contactMedium: customer.contactMedium,
    account: accounts.map((a) => ({
      id: a.id,
      href: accountHref(a.id),
      name: a.name,
      '@referredType': 'BillingAccount',
    })),
    validFor: { startDateTime: customer.createdAt },
    lastUpdate: customer.updatedAt,
  };
}

function accountRef(id: string) {
  return { id, href: accountHref(id), '@referredType': 'BillingAccount' };
}

function accountToTmf(account: BillingAccount) {
  return {
    id: account.id,
    href: accountHref(account.id),
    '@type': 'BillingAccount',
    '@baseType': 'Account',
    name: account.name,
    ...(account.description !== undefined ? { description: account.description } : {}),
    state: account.status,
    ratingType: account.ratingType,
    relatedParty: [
      {
        id: account.customerId,
        href: customerHref(account.customerId),
        role: 'customer',
        '@referredType': 'Customer',
      },
    ],
    accountRelationship: [
      ...(account.parentId ? [{ relationshipType: 'parent', account: accountRef(account.parentId) }] : []),
      ...(account.payerId ? [{ relationshipType: 'payer', account: accountRef(account.payerId) }] : []),
    ],
    ...(account.creditLimit ? { creditLimit: account.creditLimit.toJSON() } : {}),
    taxExemption: account.taxExemptions.map((t) => ({
      issuingJurisdiction: t.issuingJurisdiction,
      ...(t.certificateNumber !== undefined ? { certificateNumber: t.certificateNumber } : {}),
      ...(t.reason !== undefined ? { reason: t.reason } : {}),
      ...(t.validFrom !== undefined || t.validTo !== undefined
        ? { validFor: validFor(t.validFrom, t.validTo) }
        : {}),
    })),
    billStructure: { presentationMedia: [{ name: account.invoiceDelivery }] },
    currency: account.currency,
    language: account.language,
    billCycleDay: account.billCycleDay,
    timeZone: account.timeZone,
    invoiceDelivery: account.invoiceDelivery,
    ...(account.creditClass !== undefined ? { creditClass: account.creditClass } : {}),
    ...(account.costCentre !== undefined ? { costCentre: account.costCentre } : {}),
    lastModified: account.updatedAt,
  };
}

function rangeStatus(from: Instant, to: Instant | undefined, now: Instant): string {
  if (to !== undefined && to <= now) return 'terminated';
  return from > now ? 'pendingActive' : 'active';
}

function productToTmf(detail: SubscriptionDetail) {
  const now = detail.asOf;
  return {
    id: detail.id,
    href: productHref(detail.id),
    '@type': 'Product',
    ...(detail.name !== undefined ? { name: detail.name } : {}),
    ...(detail.description !== undefined ? { description: detail.description } : {}),
    status: TMF_STATUS[detail.status],
    ...(detail.statusReason !== undefined ? { statusReason: detail.statusReason } : {}),
    isBundle: false,
    orderDate: detail.createdAt,
    startDate: detail.startDate,
    ...(detail.terminationDate !== undefined ? { terminationDate: detail.terminationDate } : {}),
    productOffering: offeringRef(detail.offer.offerId, detail.offer.offerCode),
    billingAccount: accountRef(detail.accountId),
    relatedParty: [
      {
        id: detail.customerId,
        href: customerHref(detail.customerId),
        role: 'customer',
        '@referredType': 'Customer',
      },
    ],
    realizingResource: detail.identities.map((i) => ({
      id: i.id,
      '@type': 'ServiceIdentityRef',
      '@referredType': TMF_IDENTITY_TYPE[i.type],
      value: i.value,
      name: displayIdentity(i.type, i.value),
      validFor: validFor(i.validFrom, i.validTo),
    })),
    productRelationship: detail.addOns.map((a) => ({
      relationshipType: 'addOn',
      product: {
        id: a.id,
        '@type': 'AddOnProduct',
        productOffering: offeringRef(a.offerId, a.offerCode),
        startDate: a.validFrom,
        ...(a.validTo !== undefined ? { terminationDate: a.validTo } : {}),
        status: rangeStatus(a.validFrom, a.validTo, now),
      },
    })),
    statusHistory: detail.history.map((h) => ({
      ...(h.fromStatus !== undefined ? { fromStatus: TMF_STATUS[h.fromStatus] } : {}),
      status: TMF_STATUS[h.toStatus],
      ...(h.reason !== undefined ? { reason: h.reason } : {}),
      effectiveDate: h.effectiveAt,
      recordedDate: h.recordedAt,
    })),
    productOfferingHistory: detail.offers.map((o) => ({
      productOffering: offeringRef(o.offerId, o.offerCode),
      changeType: o.changeType,
      effectiveDate: o.effectiveAt,
      ...(o.reason !== undefined ? { reason: o.reason } : {}),
    })),
    lastUpdate: detail.updatedAt,
  };
}

function treeNodeToTmf(node: AccountTreeNode): Record<string, unknown> {
  const account = node.account;
  return {
    id: account.id,
    href: accountHref(account.id),
    name: account.name,
    state: account.status,
    currency: account.currency,
    ...(account.creditLimit ? { creditLimit: account.creditLimit.toJSON() } : {}),
    ...(account.costCentre !== undefined ? { costCentre: account.costCentre } : {}),
    ...(account.payerId !== undefined ? { payer: accountRef(account.payerId) } : {}),
    subscriptionsByStatus: statusCounts(node.subscriptionsByStatus),
    children: node.children.map(treeNodeToTmf),
  };
}

function statusCounts(counts: Readonly<Record<SubscriptionStatus, number>>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts).map(([status, n]) => [TMF_STATUS[status as SubscriptionStatus], n]),
  );
}

// ---------------------------------------------------------------------------------------------
// Request helpers

/** Reads an RFC 3339 date-time the schema let through, naming the field if Date cannot read it. */
function instantOf(value: string | undefined, pointer: string): Instant | undefined {
  if (value === undefined) return undefined;
  const instant = parseInstant(value);
  if (instant === undefined || !isInstant(instant)) {
    throw fail(CommonErrors.invalid_input, `${pointer} is not a date-time this server can read`, {
      field: pointer,
    });
  }
  return instant;
}

/**
 * The field a use case names (`timeZone`, `creditLimit.amount`, `customerId`, or a TMF path such as
 * `realizingResource/0/value`) as a JSON pointer into the request body, as every API error names
 * its field (docs/api.md): `/body/timeZone`, `/body/creditLimit/amount`, `/body/relatedParty/0/id`.
 * Fields that already point into the request (`/querystring/...`) or name no body field stay as
 * they are.
 */
export function bodyPointer(field: string, names: Readonly<Record<string, string>> = {}): string {
  const named = names[field] ?? field;
  if (!/^[A-Za-z@][A-Za-z0-9@_./-]*$/.test(named)) return field;
  const pointer = named.replace(/\./g, '/');
  // The use cases name an entry's parts by the model (offerId, from, until); the TMF body nests
  // them: productRelationship/0/product/productOffering/id, realizingResource/0/validFor/....
  const entry = /^(realizingResource|productRelationship)\/(\d+)\/([A-Za-z]+)$/.exec(pointer);
  const part = entry ? ENTRY_PARTS[entry[1]!]?.[entry[3]!] : undefined;
  return `/body/${entry && part ? `${entry[1]}/${entry[2]}/${part}` : pointer}`;
}

const ENTRY_PARTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  realizingResource: {
    type: '@referredType',
    from: 'validFor/startDateTime',
    until: 'validFor/endDateTime',
  },
  productRelationship: {
    offerId: 'product/productOffering/id',
    offerCode: 'product/productOffering/name',
    from: 'product/startDate',
    until: 'product/terminationDate',
  },
};

/** Renames the field of an error from a use case to the field of the TMF body, as a JSON pointer. */
async function renamingFields<T>(work: Promise<T>, names: Readonly<Record<string, string>> = {}): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw withRenamedFields(error, (field) => bodyPointer(field, names));
  }
}

/** True when the caller sees only its own billing account (a subscriber). */
function scopedAccount(
  principal: Principal,
): { scoped: false } | { scoped: true; accountId: string | undefined } {
  const broad = principal.roles.some((role) => role === 'admin' || READ.includes(role));
  return broad ? { scoped: false } : { scoped: true, accountId: principal.accountId };
}

const FIELDS_PATTERN = '^[A-Za-z@][A-Za-z0-9@.]*(,[A-Za-z@][A-Za-z0-9@.]*)*$';

const fieldsQuery = {
  fields: {
    type: 'string',
    maxLength: 500,
    pattern: FIELDS_PATTERN,
    description: 'Comma-separated attributes to return (id and href are always returned)',
  },
} as const;

const pagingQuery = {
  offset: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0, description: 'Records to skip' },
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Records to return' },
} as const;

/** TMF630 attribute selection: only the named attributes, plus id and href. */
function select<T extends Record<string, unknown>>(
  resource: T,
  fields: string | undefined,
  allowed: readonly string[],
  type: string,
): Record<string, unknown> {
  if (fields === undefined) return resource;
  const names = fields.split(',');
  for (const name of names) {
    if (!allowed.includes(name)) {
      throw fail(
        CommonErrors.invalid_input,
        `/querystring/fields: "${name}" is not an attribute of ${type}; choose from ${allowed.join(', ')}`,
        { field: '/querystring/fields' },
      );
    }
  }
  const out: Record<string, unknown> = { id: resource.id, href: resource.href };
  for (const name of names) if (name in resource) out[name] = resource[name];
  return out;
}

const CUSTOMER_FIELDS = [
  'id',
  'href',
  '@type',
  '@baseType',
  'name',
  'status',
  'statusReason',
  'engagedParty',
  'contactMedium',
  'account',
  'validFor',
  'lastUpdate',
];
const ACCOUNT_FIELDS = [
  'id',
  'href',
  '@type',
  '@baseType',
  'name',
  'description',
  'state',
  'ratingType',
  'relatedParty',
  'accountRelationship',
  'creditLimit',
  'taxExemption',
  'billStructure',
  'currency',
  'language',
  'billCycleDay',
  'timeZone',
  'invoiceDelivery',
  'creditClass',
  'costCentre',
  'lastModified',
];
const PRODUCT_FIELDS = [
  'id',
  'href',
  '@type',
  'name',
  'description',
  'status',
  'statusReason',
  'isBundle',
  'orderDate',
  'startDate',
  'terminationDate',
  'productOffering',
  'billingAccount',
  'relatedParty',
  'realizingResource',
  'productRelationship',
  'statusHistory',
  'productOfferingHistory',
  'lastUpdate',
];

function sendList(reply: FastifyReply, items: unknown[], total: number): unknown[] {
  reply.header('x-total-count', String(total)).header('x-result-count', String(items.length));
  return items;
}

// ---------------------------------------------------------------------------------------------
// Schemas

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;
const nullableText = (max: number) => ({ type: ['string', 'null'], minLength: 1, maxLength: max }) as const;

const resourceSchema = (description: string) =>
  ({
    type: 'object',
    description,
    additionalProperties: true,
    properties: { id: { type: 'string' }, href: { type: 'string' }, '@type': { type: 'string' } },
  }) as const;

const customerSchema = resourceSchema('TMF629 Customer');
const accountSchema = resourceSchema('TMF666 BillingAccount (with Tollgate preference extensions)');
const productSchema = resourceSchema('TMF637 Product: a subscription');

const contactMediumSchema = {
  type: 'array',
  maxItems: 20,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['mediumType', 'characteristic'],
    properties: {
      mediumType: { type: 'string', enum: ['email', 'phone', 'fax', 'postalAddress'] },
      preferred: { type: 'boolean' },
      characteristic: {
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(
          [
            'contactType',
            'emailAddress',
            'phoneNumber',
            'faxNumber',
            'street1',
            'street2',
            'city',
            'stateOrProvince',
            'postCode',
            'country',
          ].map((name) => [name, text(200)]),
        ),
      },
    },
  },
} as const;

const engagedPartySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['@referredType'],
  properties: {
    '@referredType': { type: 'string', enum: ['Individual', 'Organization'] },
    name: text(200),
  },
} as const;

const moneySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['amount', 'currency'],
  properties: {
    amount: { type: 'string', minLength: 1, maxLength: 40, description: 'Decimal text, e.g. "100.00"' },
    currency: { type: 'string', minLength: 3, maxLength: 3, description: 'ISO 4217 code' },
  },
} as const;

const validForSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { startDateTime: instantSchema, endDateTime: instantSchema },
} as const;

const accountRefInput = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: text(100),
    href: { type: 'string', maxLength: 500 },
    name: { type: 'string', maxLength: 200 },
    '@referredType': { type: 'string', enum: ['BillingAccount'] },
  },
} as const;

const accountRelationshipSchema = {
  type: 'array',
  maxItems: 2,
  description: 'parent: the enterprise parent account; payer: the account that pays this one',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['relationshipType', 'account'],
    properties: {
      relationshipType: { type: 'string', enum: ['parent', 'payer'] },
      account: accountRefInput,
    },
  },
} as const;

const taxExemptionSchema = {
  type: 'array',
  maxItems: 20,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['issuingJurisdiction'],
    properties: {
      issuingJurisdiction: text(20),
      certificateNumber: text(100),
      reason: text(500),
      validFor: validForSchema,
    },
  },
} as const;

const preferenceProperties = {
  currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 billing currency' },
  language: { type: 'string', maxLength: 35, pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$' },
  billCycleDay: { type: 'integer', minimum: 1, maximum: 28 },
  timeZone: { type: 'string', minLength: 1, maxLength: 64, description: 'IANA time zone' },
  invoiceDelivery: { type: 'string', enum: INVOICE_DELIVERY_CHANNELS },
  ratingType: { type: 'string', enum: RATING_TYPES },
} as const;

// The offer by id (`ofr_...`), or by code (`name`) alone; when both are given they must agree.
const productOfferingInput = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    id: text(100),
    name: { type: 'string', maxLength: 100, description: 'The offer code (enough without id)' },
    href: { type: 'string', maxLength: 500 },
    '@referredType': { type: 'string', enum: ['ProductOffering'] },
  },
} as const;

const identityEntrySchema = (required: readonly string[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    required,
    properties: {
      id: text(100),
      '@referredType': { type: 'string', enum: TMF_IDENTITY_TYPES },
      value: text(256),
      name: { type: 'string', maxLength: 256 },
      href: { type: 'string', maxLength: 500 },
      '@type': { type: 'string', enum: ['ServiceIdentityRef'] },
      validFor: validForSchema,
    },
  }) as const;

const addOnEntrySchema = (required: readonly string[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    // In a PATCH nothing is required by the schema (the use case names what an entry lacks), so
    // that long lists of short entries fit a request.
    required: required.length > 0 ? ['relationshipType', 'product'] : [],
    properties: {
      relationshipType: { type: 'string', enum: ['addOn'] },
      product: {
        type: 'object',
        additionalProperties: false,
        required,
        properties: {
          id: text(100),
          '@type': { type: 'string', enum: ['AddOnProduct'] },
          productOffering: productOfferingInput,
          startDate: instantSchema,
          terminationDate: instantSchema,
          status: { type: 'string', maxLength: 50 },
        },
      },
    },
  }) as const;

// ---------------------------------------------------------------------------------------------
// Bodies as the routes read them

interface ContactMediumBody {
  mediumType: ContactMedium['mediumType'];
  preferred?: boolean;
  characteristic: Record<string, string>;
}
interface CustomerBody {
  name?: string;
  engagedParty?: { '@referredType': 'Individual' | 'Organization'; name?: string };
  contactMedium?: ContactMediumBody[];
  status?: 'active' | 'closed';
  statusReason?: string | null;
}
interface AccountBody {
  name?: string;
  description?: string | null;
  relatedParty?: Array<{ id: string }>;
  state?: 'active' | 'suspended' | 'closed';
  ratingType?: (typeof RATING_TYPES)[number];
  accountRelationship?: Array<{ relationshipType: 'parent' | 'payer'; account: { id: string } }>;
  creditLimit?: MoneyJson | null;
  taxExemption?: Array<{
    issuingJurisdiction: string;
    certificateNumber?: string;
    reason?: string;
    validFor?: { startDateTime?: string; endDateTime?: string };
  }>;
  currency?: string;
  language?: string;
  billCycleDay?: number;
  timeZone?: string;
  invoiceDelivery?: (typeof INVOICE_DELIVERY_CHANNELS)[number];
  creditClass?: string | null;
  costCentre?: string | null;
}
interface IdentityBody {
  id?: string;
  '@referredType'?: string;
  value?: string;
  validFor?: { startDateTime?: string; endDateTime?: string };
}
interface AddOnBody {
  relationshipType?: 'addOn';
  product: {
    id?: string;
    productOffering?: { id?: string; name?: string };
    startDate?: string;
    terminationDate?: string;
  };
}
interface ProductBody {
  name?: string | null;
  description?: string | null;
  productOffering?: { id?: string; name?: string };
  billingAccount?: { id: string };
  status?: string;
  statusReason?: string;
  statusChangeDate?: string;
  startDate?: string;
  productOfferingChangeDate?: string;
  productOfferingChangeType?: Exclude<OfferChangeType, 'initial'>;
  productOfferingChangeReason?: string;
  realizingResource?: IdentityBody[];
  productRelationship?: AddOnBody[];
}

function contactMediaOf(list: ContactMediumBody[] | undefined): ContactMedium[] | undefined {
  return list?.map((m) => ({
    mediumType: m.mediumType,
    preferred: m.preferred === true,
    characteristic: m.characteristic,
  }));
}

function taxExemptionsOf(list: AccountBody['taxExemption']): TaxExemption[] | undefined {
  return list?.map((t, i) => {
    const from = instantOf(t.validFor?.startDateTime, `/body/taxExemption/${i}/validFor/startDateTime`);
    const to = instantOf(t.validFor?.endDateTime, `/body/taxExemption/${i}/validFor/endDateTime`);
    return {
      issuingJurisdiction: t.issuingJurisdiction,
      ...(t.certificateNumber !== undefined ? { certificateNumber: t.certificateNumber } : {}),
      ...(t.reason !== undefined ? { reason: t.reason } : {}),
      ...(from !== undefined ? { validFrom: from } : {}),
      ...(to !== undefined ? { validTo: to } : {}),
    };
  });
}

function relationshipsOf(list: AccountBody['accountRelationship']): {
  parentId?: string | null;
  payerId?: string | null;
} {
  if (list === undefined) return {};
  const of = (type: 'parent' | 'payer') => {
    const found = list.filter((r) => r.relationshipType === type);
    if (found.length > 1) {
      throw fail(
        CommonErrors.invalid_input,
        `/body/accountRelationship has ${found.length} ${type} entries; at most one`,
        {
          field: '/body/accountRelationship',
        },
      );
    }
    return found[0]?.account.id ?? null;
  };
  return { parentId: of('parent'), payerId: of('payer') };
}

const ACCOUNT_FIELD_NAMES = {
  customerId: 'relatedParty/0/id',
  parentId: 'accountRelationship',
  payerId: 'accountRelationship',
  status: 'state',
  taxExemption: 'taxExemption',
};

const PRODUCT_FIELD_NAMES = {
  accountId: 'billingAccount/id',
  offerId: 'productOffering/id',
  offerCode: 'productOffering/name',
  reason: 'statusReason',
};

const SUBSCRIPTION_NAMES = {
  identities: 'realizingResource',
  addOns: 'productRelationship',
  startDate: 'startDate',
  statusDate: 'statusChangeDate',
  planDate: 'productOfferingChangeDate',
  plan: 'productOffering/id',
  planCode: 'productOffering/name',
};

function identityType(tmf: string | undefined): string | undefined {
  return tmf === undefined ? undefined : (IDENTITY_TYPE_OF_TMF.get(tmf) ?? tmf);
}

// ---------------------------------------------------------------------------------------------
// Routes

export function customerRoutes(app: App): FastifyPluginAsync {
  return async (server) => {
    // ---- TMF629 Customer -----------------------------------------------------------------

    const customerView = async (tenantId: string, customers: Customer[]) => {
      const accounts = await accountsOfCustomers(
        app,
        tenantId,
        customers.map((c) => c.id),
      );
      return customers.map((c) => customerToTmf(c, accounts.get(c.id) ?? []));
    };

    server.post(
      CUSTOMER_PATH,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['customers'],
          summary: 'Create a customer (TMF629): a person or an organisation, with contact media',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'engagedParty'],
            properties: {
              name: text(200),
              engagedParty: engagedPartySchema,
              contactMedium: contactMediumSchema,
              '@type': { type: 'string', enum: ['Customer'] },
              '@baseType': { type: 'string', enum: ['PartyRole'] },
            },
          },
          response: { 201: customerSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const body = request.body as CustomerBody;
        const principal = principalOf(request);
        const customer = await renamingFields(
          createCustomer(app, callerOf(request), {
            kind: body.engagedParty!['@referredType'] === 'Organization' ? 'organization' : 'individual',
            name: body.name!,
            ...(body.contactMedium ? { contactMedium: contactMediaOf(body.contactMedium)! } : {}),
          }),
        );
        reply.code(201).header('location', customerHref(customer.id));
        return (await customerView(principal.tenantId, [customer]))[0];
      },
    );

    server.get(
      CUSTOMER_PATH,
      {
        config: { access: { roles: READ } },
        schema: {
          tags: ['customers'],
          summary: 'List customers (TMF629), filtered by name and status',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              ...pagingQuery,
              ...fieldsQuery,
              name: text(200),
              status: { type: 'string', enum: ['active', 'closed'] },
            },
          },
          response: { 200: { type: 'array', items: customerSchema }, ...problemResponses },
        },
      },
      async (request, reply) => {
        const q = request.query as {
          offset: number;
          limit: number;
          fields?: string;
          name?: string;
          status?: 'active' | 'closed';
        };
        const tenantId = principalOf(request).tenantId;
        const page = await listCustomers(
          app,
          tenantId,
          {
            ...(q.name !== undefined ? { name: q.name } : {}),
            ...(q.status !== undefined ? { status: q.status } : {}),
          },
          { offset: q.offset, limit: q.limit },
        );
        const items = (await customerView(tenantId, page.items)).map((c) =>
          select(c, q.fields, CUSTOMER_FIELDS, 'Customer'),
        );
        return sendList(reply, items, page.total);
      },
    );

    server.get(
      `${CUSTOMER_PATH}/:id`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags: ['customers'],
          summary: 'Read a customer (TMF629)',
          params: idParams('cust'),
          querystring: { type: 'object', additionalProperties: false, properties: { ...fieldsQuery } },
          response: { 200: customerSchema, ...problemResponses },
        },
      },
      async (request) => {
        const { fields } = request.query as { fields?: string };
        const tenantId = principalOf(request).tenantId;
        const customer = await getCustomer(app, tenantId, (request.params as { id: string }).id);
        return select((await customerView(tenantId, [customer]))[0]!, fields, CUSTOMER_FIELDS, 'Customer');
      },
    );

    server.patch(
      `${CUSTOMER_PATH}/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['customers'],
          summary: 'Change a customer (TMF629, JSON Merge Patch); contactMedium replaces the list',
          params: idParams('cust'),
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              name: text(200),
              engagedParty: engagedPartySchema,
              contactMedium: contactMediumSchema,
              status: { type: 'string', enum: ['active', 'closed'] },
              statusReason: nullableText(500),
            },
          },
          response: { 200: customerSchema, ...problemResponses },
        },
      },
      async (request) => {
        const body = request.body as CustomerBody;
        const tenantId = principalOf(request).tenantId;
        const customer = await renamingFields(
          updateCustomer(app, callerOf(request), (request.params as { id: string }).id, {
            ...(body.name !== undefined ? { name: body.name } : {}),
            ...(body.engagedParty !== undefined
              ? {
                  kind: body.engagedParty['@referredType'] === 'Organization' ? 'organization' : 'individual',
                }
              : {}),
            ...(body.contactMedium !== undefined
              ? { contactMedium: contactMediaOf(body.contactMedium)! }
              : {}),
            ...(body.status !== undefined ? { status: body.status } : {}),
            ...(body.statusReason !== undefined ? { statusReason: body.statusReason } : {}),
          }),
        );
        return (await customerView(tenantId, [customer]))[0];
      },
    );

    // ---- TMF666 BillingAccount -----------------------------------------------------------

    server.post(
      ACCOUNT_PATH,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['accounts'],
          summary: 'Create a billing account (TMF666) for a customer, with its preferences',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'relatedParty'],
            properties: {
              name: text(200),
              description: text(1000),
              relatedParty: {
                type: 'array',
                minItems: 1,
                maxItems: 1,
                description: 'The customer who owns the account',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['id'],
                  properties: {
                    id: text(100),
                    role: { type: 'string', enum: ['customer', 'owner'] },
                    name: { type: 'string', maxLength: 200 },
                    href: { type: 'string', maxLength: 500 },
                    '@referredType': { type: 'string', enum: ['Customer'] },
                  },
                },
              },
              state: { type: 'string', enum: ['active', 'suspended'] },
              accountRelationship: accountRelationshipSchema,
              creditLimit: moneySchema,
              taxExemption: taxExemptionSchema,
              ...preferenceProperties,
              creditClass: text(40),
              costCentre: text(100),
              '@type': { type: 'string', enum: ['BillingAccount'] },
            },
          },
          response: { 201: accountSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const body = request.body as AccountBody;
        const taxExemptions = taxExemptionsOf(body.taxExemption);
        const { parentId, payerId } = relationshipsOf(body.accountRelationship);
        const account = await renamingFields(
          createAccount(app, callerOf(request), {
            customerId: body.relatedParty![0]!.id,
            name: body.name!,
            ...(body.description ? { description: body.description } : {}),
            ...(body.state !== undefined && body.state !== 'closed' ? { status: body.state } : {}),
            ...(body.ratingType !== undefined ? { ratingType: body.ratingType } : {}),
            ...(body.currency !== undefined ? { currency: body.currency } : {}),
            ...(body.language !== undefined ? { language: body.language } : {}),
            ...(body.billCycleDay !== undefined ? { billCycleDay: body.billCycleDay } : {}),
            ...(body.timeZone !== undefined ? { timeZone: body.timeZone } : {}),
            ...(body.invoiceDelivery !== undefined ? { invoiceDelivery: body.invoiceDelivery } : {}),
            ...(taxExemptions !== undefined ? { taxExemptions } : {}),
            ...(body.creditClass ? { creditClass: body.creditClass } : {}),
            ...(body.creditLimit ? { creditLimit: body.creditLimit } : {}),
            ...(parentId ? { parentId } : {}),
            ...(payerId ? { payerId } : {}),
            ...(body.costCentre ? { costCentre: body.costCentre } : {}),
          }),
          ACCOUNT_FIELD_NAMES,
        );
        reply.code(201).header('location', accountHref(account.id));
        return accountToTmf(account);
      },
    );

    server.get(
      ACCOUNT_PATH,
      {
        config: { access: { roles: READ_OWN } },
        schema: {
          tags: ['accounts'],
          summary: 'List billing accounts (TMF666); a subscriber sees only its own',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              ...pagingQuery,
              ...fieldsQuery,
              name: text(200),
              state: { type: 'string', enum: ['active', 'suspended', 'closed'] },
              'relatedParty.id': { ...text(100), description: 'The owning customer' },
              currency: { type: 'string', pattern: '^[A-Z]{3}$' },
              costCentre: text(100),
            },
          },
          response: { 200: { type: 'array', items: accountSchema }, ...problemResponses },
        },
      },
      async (request, reply) => {
        const q = request.query as {
          offset: number;
          limit: number;
          fields?: string;
          name?: string;
          state?: 'active' | 'suspended' | 'closed';
          'relatedParty.id'?: string;
          currency?: string;
          costCentre?: string;
        };
        const principal = principalOf(request);
        const scope = scopedAccount(principal);
        if (scope.scoped && scope.accountId === undefined) return sendList(reply, [], 0);
        const page = await listAccounts(
          app,
          principal.tenantId,
          {
            ...(q.name !== undefined ? { name: q.name } : {}),
            ...(q.state !== undefined ? { status: q.state } : {}),
            ...(q['relatedParty.id'] !== undefined ? { customerId: q['relatedParty.id'] } : {}),
            ...(q.currency !== undefined ? { currency: q.currency } : {}),
            ...(q.costCentre !== undefined ? { costCentre: q.costCentre } : {}),
            ...(scope.scoped ? { onlyId: scope.accountId! } : {}),
          },
          { offset: q.offset, limit: q.limit },
        );
        const items = page.items.map((a) =>
          select(accountToTmf(a), q.fields, ACCOUNT_FIELDS, 'BillingAccount'),
        );
        return sendList(reply, items, page.total);
      },
    );

    const readAccount = async (request: FastifyRequest): Promise<BillingAccount> => {
      const principal = principalOf(request);
      const id = (request.params as { id: string }).id;
      const scope = scopedAccount(principal);
      if (scope.scoped && scope.accountId !== id) {
        // The same answer as for an id that does not exist: a subscriber learns nothing of others.
        throw fail(CustomersErrors.account_not_found, `no billing account ${id}`, { record: id });
      }
      return getAccount(app, principal.tenantId, id);
    };

    server.get(
      `${ACCOUNT_PATH}/:id`,
      {
        config: { access: { roles: READ_OWN } },
        schema: {
          tags: ['accounts'],
          summary: 'Read a billing account (TMF666); a subscriber may read only its own',
          params: idParams('acct'),
          querystring: { type: 'object', additionalProperties: false, properties: { ...fieldsQuery } },
          response: { 200: accountSchema, ...problemResponses },
        },
      },
      async (request) => {
        const { fields } = request.query as { fields?: string };
        return select(accountToTmf(await readAccount(request)), fields, ACCOUNT_FIELDS, 'BillingAccount');
      },
    );

    server.patch(
      `${ACCOUNT_PATH}/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['accounts'],
          summary:
            'Change a billing account (TMF666, JSON Merge Patch): preferences, credit, state, parent and payer',
          params: idParams('acct'),
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              name: text(200),
              description: nullableText(1000),
              state: { type: 'string', enum: ['active', 'suspended', 'closed'] },
              accountRelationship: accountRelationshipSchema,
              creditLimit: { ...moneySchema, type: ['object', 'null'] },
              taxExemption: taxExemptionSchema,
              ...preferenceProperties,
              creditClass: nullableText(40),
              costCentre: nullableText(100),
            },
          },
          response: { 200: accountSchema, ...problemResponses },
        },
      },
      async (request) => {
        const body = request.body as AccountBody;
        const taxExemptions = taxExemptionsOf(body.taxExemption);
        const relationships = relationshipsOf(body.accountRelationship);
        const changes: AccountChanges = {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.state !== undefined ? { status: body.state } : {}),
          ...(body.ratingType !== undefined ? { ratingType: body.ratingType } : {}),
          ...(body.currency !== undefined ? { currency: body.currency } : {}),
          ...(body.language !== undefined ? { language: body.language } : {}),
          ...(body.billCycleDay !== undefined ? { billCycleDay: body.billCycleDay } : {}),
          ...(body.timeZone !== undefined ? { timeZone: body.timeZone } : {}),
          ...(body.invoiceDelivery !== undefined ? { invoiceDelivery: body.invoiceDelivery } : {}),
          ...(taxExemptions !== undefined ? { taxExemptions } : {}),
          ...(body.creditClass !== undefined ? { creditClass: body.creditClass } : {}),
          ...(body.creditLimit !== undefined ? { creditLimit: body.creditLimit } : {}),
          ...(body.costCentre !== undefined ? { costCentre: body.costCentre } : {}),
          ...relationships,
        };
        const account = await renamingFields(
          updateAccount(app, callerOf(request), (request.params as { id: string }).id, changes),
          ACCOUNT_FIELD_NAMES,
        );
        return accountToTmf(account);
      },
    );

    server.get(
      `${ACCOUNT_PATH}/:id/tree`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags: ['accounts'],
          summary:
            'The account hierarchy below a billing account, with subscriptions by status per account and the roll-up of the whole tree',
          params: idParams('acct'),
          response: {
            200: {
              type: 'object',
              additionalProperties: true,
              description:
                '{ id, href, @type: BillingAccountTree, root: node, rollUp }; a node is { id, href, name, state, currency, ' +
                'creditLimit, costCentre, payer, subscriptionsByStatus, children: [node] }; rollUp is { accounts, ' +
                'childAccounts, depth, subscriptions, subscriptionsByStatus, accountsByState, creditLimits (one per ' +
                'currency), costCentres }',
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const id = (request.params as { id: string }).id;
        const tree = await getAccountTree(app, principalOf(request).tenantId, id);
        return {
          id,
          href: `${accountHref(id)}/tree`,
          '@type': 'BillingAccountTree',
          root: treeNodeToTmf(tree.root),
          rollUp: {
            accounts: tree.rollUp.accounts,
            childAccounts: tree.rollUp.childAccounts,
            depth: tree.rollUp.depth,
            subscriptions: tree.rollUp.subscriptions,
            subscriptionsByStatus: statusCounts(tree.rollUp.subscriptionsByStatus),
            accountsByState: tree.rollUp.accountsByStatus,
            creditLimits: tree.rollUp.creditLimits.map((m) => m.toJSON()),
            costCentres: tree.rollUp.costCentres,
          },
        };
      },
    );

    // ---- TMF637 Product (subscriptions) --------------------------------------------------

    server.post(
      PRODUCT_PATH,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['subscriptions'],
          summary:
            'Create a subscription (TMF637 Product): an offer on a billing account, with service identities and add-ons',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['productOffering', 'billingAccount'],
            properties: {
              productOffering: productOfferingInput,
              billingAccount: accountRefInput,
              name: text(200),
              description: text(1000),
              status: { type: 'string', enum: ['pendingActive', 'active'] },
              statusReason: text(500),
              startDate: { ...instantSchema, description: 'Default now; not in the future' },
              realizingResource: {
                type: 'array',
                maxItems: 20,
                items: identityEntrySchema(['@referredType', 'value']),
              },
              productRelationship: {
                type: 'array',
                maxItems: 10,
                items: addOnEntrySchema(['productOffering']),
              },
              '@type': { type: 'string', enum: ['Product'] },
            },
          },
          response: { 201: productSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const body = request.body as ProductBody;
        const startDate = instantOf(body.startDate, '/body/startDate');
        const identities = (body.realizingResource ?? []).map((r, i) => {
          const from = instantOf(
            r.validFor?.startDateTime,
            `/body/realizingResource/${i}/validFor/startDateTime`,
          );
          const until = instantOf(
            r.validFor?.endDateTime,
            `/body/realizingResource/${i}/validFor/endDateTime`,
          );
          return {
            type: identityType(r['@referredType'])!,
            value: r.value!,
            ...(from !== undefined ? { from } : {}),
            ...(until !== undefined ? { until } : {}),
          };
        });
        const addOns = (body.productRelationship ?? []).map((r, i) => {
          const from = instantOf(r.product.startDate, `/body/productRelationship/${i}/product/startDate`);
          const until = instantOf(
            r.product.terminationDate,
            `/body/productRelationship/${i}/product/terminationDate`,
          );
          return {
            ...(r.product.productOffering!.id ? { offerId: r.product.productOffering!.id } : {}),
            ...(r.product.productOffering!.name ? { offerCode: r.product.productOffering!.name } : {}),
            ...(from !== undefined ? { from } : {}),
            ...(until !== undefined ? { until } : {}),
          };
        });
        const detail = await renamingFields(
          createSubscription(
            app,
            callerOf(request),
            {
              accountId: body.billingAccount!.id,
              ...(body.productOffering!.id ? { offerId: body.productOffering!.id } : {}),
              ...(body.productOffering!.name ? { offerCode: body.productOffering!.name } : {}),
              ...(body.name ? { name: body.name } : {}),
              ...(body.description ? { description: body.description } : {}),
              ...(body.status !== undefined ? { status: STATUS_OF_TMF.get(body.status)! } : {}),
              ...(body.statusReason !== undefined ? { reason: body.statusReason } : {}),
              ...(startDate !== undefined ? { startDate } : {}),
              identities,
              addOns,
            },
            SUBSCRIPTION_NAMES,
          ),
          PRODUCT_FIELD_NAMES,
        );
        reply.code(201).header('location', productHref(detail.id));
        return productToTmf(detail);
      },
    );

    server.get(
      PRODUCT_PATH,
      {
        config: { access: { roles: READ_OWN } },
        schema: {
          tags: ['subscriptions'],
          summary: 'List subscriptions (TMF637 Product); a subscriber sees only those of its account',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              ...pagingQuery,
              ...fieldsQuery,
              status: { type: 'string', enum: TMF_STATUSES },
              'billingAccount.id': text(100),
              'relatedParty.id': { ...text(100), description: 'The customer' },
              'productOffering.id': { ...text(100), description: 'Subscriptions on this offer now' },
            },
          },
          response: { 200: { type: 'array', items: productSchema }, ...problemResponses },
        },
      },
      async (request, reply) => {
        const q = request.query as {
          offset: number;
          limit: number;
          fields?: string;
          status?: string;
          'billingAccount.id'?: string;
          'relatedParty.id'?: string;
          'productOffering.id'?: string;
        };
        const principal = principalOf(request);
        const scope = scopedAccount(principal);
        let accountId = q['billingAccount.id'];
        if (scope.scoped) {
          if (scope.accountId === undefined || (accountId !== undefined && accountId !== scope.accountId)) {
            return sendList(reply, [], 0);
          }
          accountId = scope.accountId;
        }
        const page = await listSubscriptions(
          app,
          principal.tenantId,
          {
            ...(q.status !== undefined ? { status: STATUS_OF_TMF.get(q.status)! } : {}),
            ...(accountId !== undefined ? { accountId } : {}),
            ...(q['relatedParty.id'] !== undefined ? { customerId: q['relatedParty.id'] } : {}),
            ...(q['productOffering.id'] !== undefined ? { offerId: q['productOffering.id'] } : {}),
          },
          { offset: q.offset, limit: q.limit },
        );
        const items = page.items.map((d) => select(productToTmf(d), q.fields, PRODUCT_FIELDS, 'Product'));
        return sendList(reply, items, page.total);
      },
    );

    server.get(
      `${PRODUCT_PATH}/:id`,
      {
        config: { access: { roles: READ_OWN } },
        schema: {
          tags: ['subscriptions'],
          summary: 'Read a subscription (TMF637 Product) with its identities, add-ons and history',
          params: idParams('sub'),
          querystring: { type: 'object', additionalProperties: false, properties: { ...fieldsQuery } },
          response: { 200: productSchema, ...problemResponses },
        },
      },
      async (request) => {
        const { fields } = request.query as { fields?: string };
        const principal = principalOf(request);
        const id = (request.params as { id: string }).id;
        const detail = await getSubscription(app, principal.tenantId, id);
        const scope = scopedAccount(principal);
        if (scope.scoped && detail.accountId !== scope.accountId) {
          throw fail(CustomersErrors.subscription_not_found, `no subscription ${id}`, { record: id });
        }
        return select(productToTmf(detail), fields, PRODUCT_FIELDS, 'Product');
      },
    );

    server.patch(
      `${PRODUCT_PATH}/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['subscriptions'],
          summary:
            'Change a subscription (TMF637, JSON Merge Patch): name, status with reason, plan change at a date, service identities and add-ons; all or nothing',
          params: idParams('sub'),
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              name: nullableText(200),
              description: nullableText(1000),
              status: {
                type: 'string',
                enum: ['active', 'suspended', 'barred', 'terminated', 'pendingActive'],
              },
              statusReason: text(500),
              statusChangeDate: {
                ...instantSchema,
                description: 'When the status change takes effect (default now)',
              },
              productOffering: productOfferingInput,
              productOfferingChangeDate: {
                ...instantSchema,
                description: 'When the plan change takes effect (default now)',
              },
              productOfferingChangeType: { type: 'string', enum: ['upgrade', 'downgrade', 'change'] },
              productOfferingChangeReason: text(500),
              realizingResource: { type: 'array', maxItems: 200, items: identityEntrySchema([]) },
              productRelationship: { type: 'array', maxItems: 200, items: addOnEntrySchema([]) },
            },
          },
          response: { 200: productSchema, ...problemResponses },
        },
      },
      async (request) => {
        const body = request.body as ProductBody;
        const statusAt = instantOf(body.statusChangeDate, '/body/statusChangeDate');
        const planAt = instantOf(body.productOfferingChangeDate, '/body/productOfferingChangeDate');
        const identities = body.realizingResource?.map((r, i) => {
          const from = instantOf(
            r.validFor?.startDateTime,
            `/body/realizingResource/${i}/validFor/startDateTime`,
          );
          const until = instantOf(
            r.validFor?.endDateTime,
            `/body/realizingResource/${i}/validFor/endDateTime`,
          );
          const type = identityType(r['@referredType']);
          return {
            ...(r.id !== undefined ? { id: r.id } : {}),
            ...(type !== undefined ? { type } : {}),
            ...(r.value !== undefined ? { value: r.value } : {}),
            ...(from !== undefined ? { from } : {}),
            ...(until !== undefined ? { until } : {}),
          };
        });
        const addOns = body.productRelationship?.map((r, i) => {
          if (r.product === undefined || r.relationshipType === undefined) {
            const missing = r.product === undefined ? 'product' : 'relationshipType';
            throw fail(CommonErrors.invalid_input, `/body/productRelationship/${i}/${missing} is required`, {
              field: `/body/productRelationship/${i}/${missing}`,
            });
          }
          const from = instantOf(r.product.startDate, `/body/productRelationship/${i}/product/startDate`);
          const until = instantOf(
            r.product.terminationDate,
            `/body/productRelationship/${i}/product/terminationDate`,
          );
          return {
            ...(r.product.id !== undefined ? { id: r.product.id } : {}),
            ...(r.product.productOffering?.id ? { offerId: r.product.productOffering.id } : {}),
            ...(r.product.productOffering?.name ? { offerCode: r.product.productOffering.name } : {}),
            ...(from !== undefined ? { from } : {}),
            ...(until !== undefined ? { until } : {}),
          };
        });
        const orphan = (name: keyof ProductBody, needs: keyof ProductBody) => {
          if (body[name] !== undefined && body[needs] === undefined) {
            throw fail(CommonErrors.invalid_input, `/body/${name} is given without /body/${needs}`, {
              field: `/body/${name}`,
            });
          }
        };
        orphan('statusReason', 'status');
        orphan('statusChangeDate', 'status');
        orphan('productOfferingChangeDate', 'productOffering');
        orphan('productOfferingChangeType', 'productOffering');
        orphan('productOfferingChangeReason', 'productOffering');
        const patch: SubscriptionPatch = {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.status !== undefined
            ? {
                status: {
                  to: STATUS_OF_TMF.get(body.status)!,
                  ...(body.statusReason !== undefined ? { reason: body.statusReason } : {}),
                  ...(statusAt !== undefined ? { at: statusAt } : {}),
                },
              }
            : {}),
          ...(body.productOffering !== undefined
            ? {
                plan: {
                  ...(body.productOffering.id ? { offerId: body.productOffering.id } : {}),
                  ...(body.productOffering.name ? { offerCode: body.productOffering.name } : {}),
                  ...(planAt !== undefined ? { at: planAt } : {}),
                  ...(body.productOfferingChangeType !== undefined
                    ? { changeType: body.productOfferingChangeType }
                    : {}),
                  ...(body.productOfferingChangeReason !== undefined
                    ? { reason: body.productOfferingChangeReason }
                    : {}),
                },
              }
            : {}),
          ...(identities !== undefined ? { identities } : {}),
          ...(addOns !== undefined ? { addOns } : {}),
        };
        const detail = await renamingFields(
          patchSubscription(
            app,
            callerOf(request),
            (request.params as { id: string }).id,
            patch,
            SUBSCRIPTION_NAMES,
          ),
          PRODUCT_FIELD_NAMES,
        );
        return productToTmf(detail);
      },
    );

    // ---- Service identity lookup ---------------------------------------------------------

    server.get(
      '/v1/service-identities',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: ['subscriptions'],
          summary:
            'Service identity assignments and their owners; with type, value and at: who held that identity at that instant',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
              after: {
                type: 'string',
                maxLength: 100,
                description: 'Cursor: the nextCursor of the previous page',
              },
              type: { type: 'string', enum: IDENTITY_TYPES },
              value: { ...text(256), description: 'Any accepted form: +44 7700 900123, 447700900123...' },
              at: { ...instantSchema, description: 'Only assignments in force at this instant' },
              subscriptionId: { type: 'string', pattern: idPattern('sub') },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                items: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      id: { type: 'string' },
                      type: { type: 'string' },
                      value: { type: 'string' },
                      displayValue: { type: 'string' },
                      subscriptionId: { type: 'string' },
                      accountId: { type: 'string' },
                      customerId: { type: 'string' },
                      validFor: {
                        type: 'object',
                        properties: { startDateTime: { type: 'string' }, endDateTime: { type: 'string' } },
                      },
                    },
                  },
                },
                nextCursor: { type: ['string', 'null'] },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const q = request.query as {
          limit: number;
          after?: string;
          type?: string;
          value?: string;
          at?: string;
          subscriptionId?: string;
        };
        const at = instantOf(q.at, '/querystring/at');
        if (q.value !== undefined && q.type === undefined) {
          throw fail(CommonErrors.invalid_input, '/querystring/type is required with /querystring/value', {
            field: '/querystring/type',
          });
        }
        const value =
          q.value === undefined ? undefined : normaliseIdentity(q.type!, q.value, '/querystring/value').value;
        const owners = await listServiceIdentities(app, principalOf(request).tenantId, {
          limit: q.limit,
          ...(q.after !== undefined ? { after: q.after } : {}),
          ...(q.type !== undefined ? { type: q.type } : {}),
          ...(value !== undefined ? { value } : {}),
          ...(at !== undefined ? { at } : {}),
          ...(q.subscriptionId !== undefined ? { subscriptionId: q.subscriptionId } : {}),
        });
        const items = owners.map((o) => ({
          id: o.assignment.id,
          type: o.assignment.type,
          value: o.assignment.value,
          displayValue: displayIdentity(o.assignment.type, o.assignment.value),
          subscriptionId: o.subscriptionId,
          accountId: o.accountId,
          customerId: o.customerId,
          validFor: validFor(o.assignment.validFrom, o.assignment.validTo),
        }));
        return { items, nextCursor: items.length === q.limit ? items[items.length - 1]!.id : null };
      },
    );

    // ---- Bulk import ---------------------------------------------------------------------

    server.post(
      '/v1/customers/bulk-import',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['customers'],
          summary:
            'Import customers, accounts and subscriptions from rows (JSON) or CSV text, with a per-row report; atomic=true applies all rows or none',
          description:
            'One row per subscriber; columns: customerRef, customerName, customerType, email, phone, accountRef, ' +
            'accountId, accountName, currency, language, billCycleDay, timeZone, invoiceDelivery, ratingType, ' +
            'creditClass, creditLimit, costCentre, parentAccountRef, payerAccountRef, offerId, offerCode, ' +
            'subscriptionName, status, startDate, addOns (;-separated offer ids or codes), msisdn, imsi, iccid, sipUri, nai, ' +
            'lineId, deviceId. Rows sharing a customerRef or accountRef share that record. Without atomic, valid ' +
            'rows are applied one by one and the answer is 200 with the report; with atomic=true, any rejected row ' +
            'rolls everything back and the answer is a 400 problem (customers.import_rejected) carrying the report.',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { atomic: { type: 'boolean', default: false } },
          },
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              rows: {
                type: 'array',
                minItems: 1,
                items: { type: 'object' },
                description: 'Row objects keyed by column',
              },
              csv: {
                type: 'string',
                minLength: 1,
                description: 'CSV text with a header row of column names',
              },
            },
          },
          response: {
            200: {
              type: 'object',
              additionalProperties: true,
              properties: {
                atomic: { type: 'boolean' },
                total: { type: 'integer' },
                applied: { type: 'integer' },
                rejected: { type: 'integer' },
                errors: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      row: { type: 'integer' },
                      field: { type: 'string' },
                      message: { type: 'string' },
                    },
                  },
                },
              },
            },
            ...problemResponses,
            400: {
              type: 'object',
              additionalProperties: true,
              description: 'A problem document; when an atomic import is rejected it carries the `report`',
            },
          },
        },
      },
      async (request) => {
        const body = request.body as { rows?: unknown[]; csv?: string };
        const { atomic } = request.query as { atomic: boolean };
        if (body.csv !== undefined && body.rows !== undefined) {
          throw fail(CommonErrors.invalid_input, '/body/csv: give rows or csv, not both', {
            field: '/body/csv',
          });
        }
        const csv = body.csv;
        const records = await renamingFields(
          Promise.resolve().then(() =>
            csv !== undefined ? importRecordsFromCsv(csv) : importRecordsFromJson(body.rows),
          ),
        );
        const report: ImportReport = await renamingFields(
          importCustomers(app, callerOf(request), records, { atomic }),
          csv !== undefined ? { rows: 'csv' } : {},
        );
        if (atomic && report.rejected > 0) {
          // Report rows are numbered from 1; a JSON row is pointed at by its index in /body/rows,
          // a CSV row (which no JSON pointer reaches) by its number in the message.
          throw fail(
            CustomersErrors.import_rejected,
            `${report.rejected} of ${report.total} rows were rejected, so nothing was imported (atomic)`,
            {
              field: csv !== undefined ? '/body/csv' : '/body/rows',
              errors: report.errors.map((e) =>
                csv !== undefined
                  ? { field: '/body/csv', message: `row ${e.row} ${e.field}: ${e.message}` }
                  : { field: `/body/rows/${e.row - 1}/${e.field}`, message: e.message },
              ),
              extra: { report },
            },
          );
        }
        return report;
      },
    );
  };
}
