/**
 * The customers domain: who buys (customers), who is invoiced (billing accounts, in trees) and what
 * they bought (subscriptions: an offer instance on an account, with service identities, add-ons
 * and plan changes, each valid over time ranges).
 *
 * - A customer is a person (`individual`) or an organisation, with contact media.
 * - A billing account belongs to one customer and carries the invoicing preferences: currency,
 *   language, bill cycle day, IANA time zone, invoice delivery channel, tax exemptions, credit
 *   class and credit limit. Accounts form enterprise trees (`parentId`); an account may be paid by
 *   another one (`payerId`); a cost centre labels an account inside its enterprise.
 * - A subscription is an offer (a catalog offer id, with its code kept alongside) on an account.
 *   Its offer over time is a list of offer periods (the first one `initial`, then plan changes); its
 *   service identities, add-ons and status changes are dated too. The workflows check every offer
 *   against the catalog when it is taken: it exists, is of the right kind (a plan or bundle; an
 *   add-on for add-ons), has a version in force then, and an add-on suits the plan.
 *
 * Time ranges are half-open, [validFrom, validTo), with `validTo` undefined for "open": a number
 * released from one subscription at T and assigned to another from T has exactly one owner at
 * every instant. Instants are the kernel's fixed-width ISO text, so they compare as strings.
 *
 * Money: a credit limit is a kernel `Money` in the account's currency (bigint minor units in the
 * database, `{ amount: "decimal text", currency }` on the API).
 */
import type { Instant } from '../kernel/clock.js';
import { isInstant } from '../kernel/clock.js';
import { isCurrency } from '../kernel/currencies.js';
import { fail } from '../kernel/errors.js';
import type { Money } from '../kernel/money.js';
import { CustomersErrors } from './errors.js';
import type { IdentityType } from './identities.js';
import type { SubscriptionStatus } from './lifecycle.js';

/** Id prefixes of the records this domain creates. */
export const ID_PREFIX = {
  customer: 'cust',
  account: 'acct',
  subscription: 'sub',
  identity: 'sid',
  addOn: 'sad',
  statusChange: 'ssc',
  offerChange: 'soc',
} as const;

// ---------------------------------------------------------------------------------------------
// Customers

export const PARTY_KINDS = ['individual', 'organization'] as const;
export type PartyKind = (typeof PARTY_KINDS)[number];

export const CUSTOMER_STATUSES = ['active', 'closed'] as const;
export type CustomerStatus = (typeof CUSTOMER_STATUSES)[number];

export const CONTACT_MEDIUM_TYPES = ['email', 'phone', 'fax', 'postalAddress'] as const;
export type ContactMediumType = (typeof CONTACT_MEDIUM_TYPES)[number];

/** The details of one contact medium (TMF629 MediumCharacteristic). */
export interface ContactCharacteristic {
  readonly contactType?: string;
  readonly emailAddress?: string;
  readonly phoneNumber?: string;
  readonly faxNumber?: string;
  readonly street1?: string;
  readonly street2?: string;
  readonly city?: string;
  readonly stateOrProvince?: string;
  readonly postCode?: string;
  /** ISO 3166-1 alpha-2, upper case. */
  readonly country?: string;
}

export interface ContactMedium {
  readonly mediumType: ContactMediumType;
  readonly preferred: boolean;
  readonly characteristic: ContactCharacteristic;
}

export interface Customer {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: PartyKind;
  readonly name: string;
  readonly status: CustomerStatus;
  readonly statusReason: string | undefined;
  readonly contactMedium: readonly ContactMedium[];
  /** The key a bulk import knows the customer by (`customerRef`), unique in the tenant. */
  readonly externalRef: string | undefined;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

// ---------------------------------------------------------------------------------------------
// Billing accounts

export const ACCOUNT_STATUSES = ['active', 'suspended', 'closed'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export const RATING_TYPES = ['postpaid', 'prepaid', 'hybrid'] as const;
export type RatingType = (typeof RATING_TYPES)[number];

export const INVOICE_DELIVERY_CHANNELS = ['email', 'paper', 'portal'] as const;
export type InvoiceDelivery = (typeof INVOICE_DELIVERY_CHANNELS)[number];

/** Bill cycle days stop at 28 so every month has the day. */
export const MAX_BILL_CYCLE_DAY = 28;

export interface TaxExemption {
  /** Where the exemption applies: ISO 3166 country or subdivision (`GB`, `US-CA`). */
  readonly issuingJurisdiction: string;
  readonly certificateNumber?: string;
  readonly reason?: string;
  readonly validFrom?: Instant;
  readonly validTo?: Instant;
}

export interface AccountPreferences {
  readonly currency: string;
  /** BCP 47 language tag, canonical form (`en-GB`). */
  readonly language: string;
  readonly billCycleDay: number;
  readonly timeZone: string;
  readonly invoiceDelivery: InvoiceDelivery;
}

export interface BillingAccount extends AccountPreferences {
  readonly id: string;
  readonly tenantId: string;
  readonly customerId: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly status: AccountStatus;
  readonly statusReason: string | undefined;
  readonly ratingType: RatingType;
  readonly taxExemptions: readonly TaxExemption[];
  readonly creditClass: string | undefined;
  /** In the account's currency; undefined means no limit set. */
  readonly creditLimit: Money | undefined;
  /** The enterprise parent; undefined for a root account. */
  readonly parentId: string | undefined;
  /** The account that pays this one's invoices; undefined when it pays for itself. */
  readonly payerId: string | undefined;
  readonly costCentre: string | undefined;
  readonly externalRef: string | undefined;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

/** One node of an account tree, with its direct subscription counts. */
export interface AccountTreeNode {
  readonly account: BillingAccount;
  readonly subscriptionsByStatus: Readonly<Record<SubscriptionStatus, number>>;
  readonly children: readonly AccountTreeNode[];
}

/** What a tree adds up to, root included. */
export interface AccountRollUp {
  /** Accounts in the tree, the root included. */
  readonly accounts: number;
  /** Accounts below the root. */
  readonly childAccounts: number;
  readonly depth: number;
  readonly subscriptions: number;
  readonly subscriptionsByStatus: Readonly<Record<SubscriptionStatus, number>>;
  readonly accountsByStatus: Readonly<Record<AccountStatus, number>>;
  /** The sum of the credit limits that are set, one entry per currency, sorted by currency. */
  readonly creditLimits: readonly Money[];
  /** Accounts per cost centre (accounts without one are not counted), sorted by name. */
  readonly costCentres: ReadonlyArray<{ readonly costCentre: string; readonly accounts: number }>;
}

export interface AccountTree {
  readonly root: AccountTreeNode;
  readonly rollUp: AccountRollUp;
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

export const OFFER_CHANGE_TYPES = ['initial', 'upgrade', 'downgrade', 'change'] as const;
export type OfferChangeType = (typeof OFFER_CHANGE_TYPES)[number];

export interface Subscription {
  readonly id: string;
  readonly tenantId: string;
  readonly accountId: string;
  readonly name: string | undefined;
  readonly description: string | undefined;
  readonly status: SubscriptionStatus;
  readonly statusReason: string | undefined;
  /** When the current status took effect. */
  readonly statusChangedAt: Instant;
  /** When the subscription starts: its first offer period and history entry begin here. */
  readonly startDate: Instant;
  readonly terminationDate: Instant | undefined;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

/** One entry of the status history: a transition with its effective date and reason. */
export interface StatusChange {
  readonly id: string;
  readonly subscriptionId: string;
  /** undefined for the entry that created the subscription. */
  readonly fromStatus: SubscriptionStatus | undefined;
  readonly toStatus: SubscriptionStatus;
  readonly reason: string | undefined;
  readonly effectiveAt: Instant;
  readonly recordedAt: Instant;
}

/** The subscription is on `offerId` from `effectiveAt` until the next change. */
export interface OfferChange {
  readonly id: string;
  readonly subscriptionId: string;
  readonly fromOfferId: string | undefined;
  readonly offerId: string;
  readonly offerCode: string | undefined;
  readonly changeType: OfferChangeType;
  readonly effectiveAt: Instant;
  readonly reason: string | undefined;
  readonly recordedAt: Instant;
}

export interface AddOn {
  readonly id: string;
  readonly subscriptionId: string;
  readonly offerId: string;
  readonly offerCode: string | undefined;
  readonly validFrom: Instant;
  readonly validTo: Instant | undefined;
  readonly createdAt: Instant;
}

export interface IdentityAssignment {
  readonly id: string;
  readonly subscriptionId: string;
  readonly type: IdentityType;
  /** Normalised (see identities.ts): MSISDN as E.164 digits, SIP URI with a lower-case host... */
  readonly value: string;
  readonly validFrom: Instant;
  readonly validTo: Instant | undefined;
  readonly createdAt: Instant;
}

/** A subscription with everything dated that hangs off it, as of `asOf`. */
export interface SubscriptionDetail extends Subscription {
  readonly customerId: string;
  /** The offer period in force at `asOf` (or the first one when the subscription starts later). */
  readonly offer: OfferChange;
  readonly offers: readonly OfferChange[];
  readonly identities: readonly IdentityAssignment[];
  readonly addOns: readonly AddOn[];
  readonly history: readonly StatusChange[];
  readonly asOf: Instant;
}

/** Who holds a service identity at an instant. */
export interface IdentityOwner {
  readonly assignment: IdentityAssignment;
  readonly subscriptionId: string;
  readonly accountId: string;
  readonly customerId: string;
}

// ---------------------------------------------------------------------------------------------
// Pure checks shared by the use cases

export const MAX_NAME_LENGTH = 200;
export const MAX_REASON_LENGTH = 500;

/** A non-empty trimmed text of at most `max` characters, or a validation error naming `field`. */
export function requireText(
  value: unknown,
  field: string,
  options: { max?: number; definition?: typeof CustomersErrors.invalid_customer } = {},
): string {
  const definition = options.definition ?? CustomersErrors.invalid_customer;
  const max = options.max ?? MAX_NAME_LENGTH;
  if (typeof value !== 'string' || value.trim() === '') {
    throw fail(definition, `${field} must be a non-empty text`, { field });
  }
  const text = value.trim();
  if (text.length > max) throw fail(definition, `${field} is longer than ${max} characters`, { field });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) {
    throw fail(definition, `${field} must not contain control characters`, { field });
  }
  return text;
}

/** Optional text: undefined stays undefined; otherwise as requireText. */
export function optionalText(
  value: unknown,
  field: string,
  options: { max?: number; definition?: typeof CustomersErrors.invalid_customer } = {},
): string | undefined {
  if (value === undefined || value === null) return undefined;
  return requireText(value, field, options);
}

export function isTimeZone(zone: string): boolean {
  if (zone.length === 0 || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The canonical form of a BCP 47 language tag (`en-gb` -> `en-GB`), or undefined when invalid. */
export function canonicalLanguage(tag: string): string | undefined {
  if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(tag)) return undefined;
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/** Checks account preferences, naming the field at fault; returns them in canonical form. */
export function checkPreferences(preferences: AccountPreferences): AccountPreferences {
  const bad = (field: string, detail: string) => fail(CustomersErrors.invalid_account, detail, { field });
  if (!isCurrency(preferences.currency)) {
    throw bad('currency', `currency ${JSON.stringify(preferences.currency)} is not an ISO 4217 code`);
  }
  const language = canonicalLanguage(preferences.language);
  if (language === undefined) {
    throw bad('language', `language ${JSON.stringify(preferences.language)} is not a BCP 47 language tag`);
  }
  if (
    !Number.isInteger(preferences.billCycleDay) ||
    preferences.billCycleDay < 1 ||
    preferences.billCycleDay > MAX_BILL_CYCLE_DAY
  ) {
    throw bad('billCycleDay', `billCycleDay must be a day of the month from 1 to ${MAX_BILL_CYCLE_DAY}`);
  }
  if (!isTimeZone(preferences.timeZone)) {
    throw bad('timeZone', `timeZone ${JSON.stringify(preferences.timeZone)} is not an IANA time zone`);
  }
  if (!(INVOICE_DELIVERY_CHANNELS as readonly string[]).includes(preferences.invoiceDelivery)) {
    throw bad('invoiceDelivery', `invoiceDelivery must be one of ${INVOICE_DELIVERY_CHANNELS.join(', ')}`);
  }
  return { ...preferences, language };
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE_PATTERN = /^\+?[0-9 ()./-]{3,40}$/;

/** Checks contact media: each type needs its own details; at most one preferred per type. */
export function checkContactMedia(list: readonly ContactMedium[], field = 'contactMedium'): ContactMedium[] {
  const preferredTypes = new Set<string>();
  return list.map((medium, index) => {
    const at = `${field}/${index}`;
    const bad = (name: string, detail: string) =>
      fail(CustomersErrors.invalid_contact, `${at}/characteristic/${name}: ${detail}`, {
        field: `${at}/characteristic/${name}`,
      });
    if (!(CONTACT_MEDIUM_TYPES as readonly string[]).includes(medium.mediumType)) {
      throw fail(
        CustomersErrors.invalid_contact,
        `${at}/mediumType must be one of ${CONTACT_MEDIUM_TYPES.join(', ')}`,
        { field: `${at}/mediumType` },
      );
    }
    const c = medium.characteristic ?? {};
    const characteristic: Record<string, string> = {};
    for (const [key, value] of Object.entries(c)) {
      if (value === undefined) continue;
      characteristic[key] = requireText(value, `${at}/characteristic/${key}`, {
        definition: CustomersErrors.invalid_contact,
      });
    }
    switch (medium.mediumType) {
      case 'email':
        if (!characteristic.emailAddress) throw bad('emailAddress', 'an email contact needs an emailAddress');
        if (!EMAIL_PATTERN.test(characteristic.emailAddress))
          throw bad('emailAddress', `${JSON.stringify(characteristic.emailAddress)} is not an email address`);
        characteristic.emailAddress = characteristic.emailAddress.toLowerCase();
        break;
      case 'phone':
        if (!characteristic.phoneNumber) throw bad('phoneNumber', 'a phone contact needs a phoneNumber');
        if (!PHONE_PATTERN.test(characteristic.phoneNumber))
          throw bad('phoneNumber', `${JSON.stringify(characteristic.phoneNumber)} is not a phone number`);
        break;
      case 'fax':
        if (!characteristic.faxNumber) throw bad('faxNumber', 'a fax contact needs a faxNumber');
        if (!PHONE_PATTERN.test(characteristic.faxNumber))
          throw bad('faxNumber', `${JSON.stringify(characteristic.faxNumber)} is not a fax number`);
        break;
      case 'postalAddress':
        for (const required of ['street1', 'city', 'country'] as const) {
          if (!characteristic[required]) throw bad(required, `a postal address needs ${required}`);
        }
        characteristic.country = characteristic.country!.toUpperCase();
        if (!/^[A-Z]{2}$/.test(characteristic.country))
          throw bad('country', 'country must be an ISO 3166-1 alpha-2 code such as GB');
        break;
    }
    const preferred = medium.preferred === true;
    if (preferred) {
      if (preferredTypes.has(medium.mediumType)) {
        throw fail(
          CustomersErrors.invalid_contact,
          `${at}/preferred: only one ${medium.mediumType} contact may be preferred`,
          { field: `${at}/preferred` },
        );
      }
      preferredTypes.add(medium.mediumType);
    }
    return { mediumType: medium.mediumType, preferred, characteristic };
  });
}

/** Checks tax exemptions: a jurisdiction each, and validTo after validFrom when both are given. */
export function checkTaxExemptions(list: readonly TaxExemption[], field = 'taxExemption'): TaxExemption[] {
  return list.map((exemption, index) => {
    const at = `${field}/${index}`;
    const jurisdiction = requireText(exemption.issuingJurisdiction, `${at}/issuingJurisdiction`, {
      max: 20,
      definition: CustomersErrors.invalid_account,
    }).toUpperCase();
    if (!/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/.test(jurisdiction)) {
      throw fail(
        CustomersErrors.invalid_account,
        `${at}/issuingJurisdiction must be an ISO 3166 country or subdivision code such as GB or US-CA`,
        { field: `${at}/issuingJurisdiction` },
      );
    }
    for (const key of ['validFrom', 'validTo'] as const) {
      const value = exemption[key];
      if (value !== undefined && !isInstant(value)) {
        throw fail(CustomersErrors.invalid_date, `${at}/${key} is not an instant`, { field: `${at}/${key}` });
      }
    }
    if (exemption.validFrom && exemption.validTo && exemption.validTo <= exemption.validFrom) {
      throw fail(CustomersErrors.invalid_date, `${at}: the exemption must end after it starts`, {
        field: `${at}/validTo`,
      });
    }
    const certificateNumber = optionalText(exemption.certificateNumber, `${at}/certificateNumber`, {
      definition: CustomersErrors.invalid_account,
    });
    const reason = optionalText(exemption.reason, `${at}/reason`, {
      max: MAX_REASON_LENGTH,
      definition: CustomersErrors.invalid_account,
    });
    return {
      issuingJurisdiction: jurisdiction,
      ...(certificateNumber !== undefined ? { certificateNumber } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(exemption.validFrom !== undefined ? { validFrom: exemption.validFrom } : {}),
      ...(exemption.validTo !== undefined ? { validTo: exemption.validTo } : {}),
    };
  });
}

/** An empty count per subscription status. */
export function emptyStatusCounts(): Record<SubscriptionStatus, number> {
  return { pending: 0, active: 0, suspended: 0, barred: 0, terminated: 0 };
}
