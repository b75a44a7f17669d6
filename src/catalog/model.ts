/**
 * The catalog model: what the network delivers (products), what is sold (offers: plans, add-ons,
 * bundles, in versions with effective dates), the prices inside an offer version, the allowances
 * it includes, its promotions and eligibility rules; tariffs (how usage is priced, in versions);
 * and the categories and catalogs that group offers for sale.
 *
 * Two shapes of each thing live here:
 * - definitions (`*Definition`): what an author writes in a catalog file or sends to the API. Amounts
 *   are decimal text with their currency (`{ amount: "25.00", currency: "EUR" }`), instants are
 *   ISO-8601 text, references are codes. Definitions are plain JSON and are stored as JSON text.
 * - records (`Product`, `Offer`, `OfferVersion`...): definitions as stored, with ids, status and
 *   timestamps.
 *
 * Amounts are parsed to kernel `Money` (booked amounts: recurring, one-time, deposits) by
 * `moneyOf` once a definition has passed `validateOfferVersion` (offer-rules.ts).
 */
import type { Instant } from '../kernel/clock.js';
import { Money, type MoneyJson } from '../kernel/money.js';

/** The services products deliver. */
export const SERVICES = [
  'voice',
  'sms',
  'mms',
  'data',
  'broadband',
  'voip',
  'iptv',
  'iot',
  'content',
] as const;
export type Service = (typeof SERVICES)[number];

export function isService(value: unknown): value is Service {
  return typeof value === 'string' && (SERVICES as readonly string[]).includes(value);
}

/** Where a product or offer stands: being designed, sellable, or no longer sold. */
export const CATALOG_STATUSES = ['draft', 'active', 'retired'] as const;
export type CatalogStatus = (typeof CATALOG_STATUSES)[number];

/** Codes name things across files and versions: upper/lower letters, digits, `-`, `_`, `.`. */
export const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** An amount in a definition: decimal text in major units and its ISO 4217 currency. */
export type MoneyText = MoneyJson;

export function moneyOf(text: MoneyText): Money {
  return Money.parse(text.amount, text.currency);
}

/**
 * The booked amount of a validated price (recurring, one-time, deposit) in `currency`, or
 * undefined for a usage price (its tariff prices it) or a currency the price has no amount in.
 */
export function amountIn(price: PriceDefinition, currency: string): Money | undefined {
  if (price.kind === 'usage') return undefined;
  const found = price.amounts.find((amount) => amount.currency === currency);
  return found === undefined ? undefined : moneyOf(found);
}

// ------------------------------------------------------------------------------------------------
// Products

export interface ProductDefinition {
  readonly code: string;
  readonly name: string;
  readonly description?: string;
  readonly service: Service;
  /** Defaults to 'active'. */
  readonly status?: CatalogStatus;
}

export interface Product {
  readonly id: string;
  readonly tenantId: string;
  readonly code: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly service: Service;
  readonly status: CatalogStatus;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

// ------------------------------------------------------------------------------------------------
// Offers and their versions

export const OFFER_KINDS = ['plan', 'add-on', 'bundle'] as const;
export type OfferKind = (typeof OFFER_KINDS)[number];

/**
 * How existing subscribers move to the prices of a new version: at the start of their next
 * billing period, or at once with the current period prorated between the old and new price.
 */
export const PRICE_CHANGE_POLICIES = ['next-period', 'immediate-prorated'] as const;
export type PriceChangePolicy = (typeof PRICE_CHANGE_POLICIES)[number];

export const PERIOD_UNITS = ['day', 'week', 'month', 'year'] as const;
export type PeriodUnit = (typeof PERIOD_UNITS)[number];

/** Recurring charges are billed at the start of their period (advance) or at its end (arrears). */
export const BILLING_TIMINGS = ['advance', 'arrears'] as const;
export type BillingTiming = (typeof BILLING_TIMINGS)[number];

/**
 * How a partial period is charged: 'none' charges the whole period, 'daily' charges whole days
 * used (days used / days in the period), 'exact' to the second.
 */
export const PRORATION_POLICIES = ['none', 'daily', 'exact'] as const;
export type ProrationPolicy = (typeof PRORATION_POLICIES)[number];

export const ONE_TIME_REASONS = ['activation', 'installation', 'equipment', 'other'] as const;
export type OneTimeReason = (typeof ONE_TIME_REASONS)[number];

interface PriceBase {
  /** Unique within the offer version; promotions refer to prices by it. */
  readonly code: string;
  readonly name?: string;
}

/** A recurring charge, one amount per currency the offer is sold in. */
export interface RecurringPriceDefinition extends PriceBase {
  readonly kind: 'recurring';
  readonly amounts: readonly MoneyText[];
  readonly period: PeriodUnit;
  /** Periods per charge: 1 month, 3 months (quarterly)... Defaults to 1. */
  readonly periodCount?: number;
  readonly billing: BillingTiming;
  readonly proration: ProrationPolicy;
}

export interface OneTimePriceDefinition extends PriceBase {
  readonly kind: 'one-time';
  readonly reason: OneTimeReason;
  readonly amounts: readonly MoneyText[];
}

/** Usage of a product priced by a tariff (zones, time bands, tiers are the tariff's business). */
export interface UsagePriceDefinition extends PriceBase {
  readonly kind: 'usage';
  readonly product: string;
  readonly tariff: string;
}

export interface DepositPriceDefinition extends PriceBase {
  readonly kind: 'deposit';
  readonly amounts: readonly MoneyText[];
  readonly refundable?: boolean;
}

export type PriceDefinition =
  RecurringPriceDefinition | OneTimePriceDefinition | UsagePriceDefinition | DepositPriceDefinition;

export const PRICE_KINDS = ['recurring', 'one-time', 'usage', 'deposit'] as const;
export type PriceKind = PriceDefinition['kind'];

/** Minimum contract term and what leaving early costs. */
export interface ContractDefinition {
  readonly minimumTermMonths: number;
  readonly earlyTerminationFee?: EarlyTerminationFee;
}

export type EarlyTerminationFee =
  /** A fixed fee per currency. */
  | { readonly kind: 'fixed'; readonly amounts: readonly MoneyText[] }
  /** A percentage (decimal text, 0-100) of the recurring charges left until the end of the term. */
  | { readonly kind: 'remaining-recurring'; readonly percentage: string };

export const PROMOTION_KINDS = ['percentage', 'fixed-amount', 'free-periods', 'introductory-price'] as const;
export type PromotionKind = (typeof PROMOTION_KINDS)[number];

interface PromotionBase {
  readonly code: string;
  readonly name?: string;
  /** Codes of the prices of this version the promotion changes. */
  readonly appliesTo: readonly string[];
  /** When new subscriptions may get it; defaults to the whole version. */
  readonly availableFrom?: Instant;
  readonly availableTo?: Instant;
}

export type PromotionDefinition =
  /** `percentage` off (decimal text, 0 < p <= 100), for `periods` periods or for ever. */
  | (PromotionBase & { readonly kind: 'percentage'; readonly percentage: string; readonly periods?: number })
  /** A fixed amount off each charge, per currency, for `periods` periods or for ever. */
  | (PromotionBase & {
      readonly kind: 'fixed-amount';
      readonly amounts: readonly MoneyText[];
      readonly periods?: number;
    })
  /** The first `periods` recurring periods free. */
  | (PromotionBase & { readonly kind: 'free-periods'; readonly periods: number })
  /** A lower price, per currency, for the first `periods` periods. */
  | (PromotionBase & {
      readonly kind: 'introductory-price';
      readonly amounts: readonly MoneyText[];
      readonly periods: number;
    });

/** Whether the included units are the subscription's own or pooled across the account. */
export const ALLOWANCE_SHARING = ['subscription', 'account-pool'] as const;
export type AllowanceSharing = (typeof ALLOWANCE_SHARING)[number];

/** Units included per period, for one service, optionally only in some tariff zones. */
export interface AllowanceDefinition {
  readonly code: string;
  readonly name?: string;
  readonly service: Service;
  /** Decimal text in `unit`: "10" GB, "500" minute. */
  readonly quantity: string;
  /** A kernel display unit (minute, second, message, event, MB, GB, GiB...), or 'unlimited' quantity is refused. */
  readonly unit: string;
  readonly period: PeriodUnit;
  /** Tariff zone names the allowance is valid in; all zones when absent. */
  readonly zones?: readonly string[];
  /** Unused units carried into later periods; none when absent. */
  readonly rollover?: RolloverDefinition;
  /** Defaults to 'subscription'. */
  readonly sharing?: AllowanceSharing;
}

export interface RolloverDefinition {
  /** How many following periods unused units stay usable (1 = into the next period only). */
  readonly maxPeriods: number;
  /** The most that can be carried over, in the allowance's unit; unlimited when absent. */
  readonly maxQuantity?: string;
}

export const CUSTOMER_TYPES = ['residential', 'business'] as const;
export type CustomerType = (typeof CUSTOMER_TYPES)[number];

/** Who may buy the offer and with what it combines. */
export interface EligibilityDefinition {
  readonly customerTypes?: readonly CustomerType[];
  /** For add-ons: codes of the plans the add-on can be added to (any plan when absent). */
  readonly compatiblePlans?: readonly string[];
  /** Offers that cannot be held together with this one. */
  readonly excludes?: readonly string[];
  /** How many times one subscription may hold this add-on. */
  readonly maxPerSubscription?: number;
}

export interface OfferVersionDefinition {
  /** Inclusive. */
  readonly effectiveFrom: Instant;
  /** Exclusive; open-ended when absent. In a file, a version without it ends where the next begins. */
  readonly effectiveTo?: Instant;
  /** Defaults to 'next-period'. */
  readonly priceChangePolicy?: PriceChangePolicy;
  readonly prices: readonly PriceDefinition[];
  readonly contract?: ContractDefinition;
  readonly promotions?: readonly PromotionDefinition[];
  readonly allowances?: readonly AllowanceDefinition[];
  readonly eligibility?: EligibilityDefinition;
}

export interface OfferDefinition {
  readonly code: string;
  readonly name: string;
  readonly description?: string;
  readonly kind: OfferKind;
  /** ISO 4217 codes the offer is sold in; every price gives one amount per currency. */
  readonly currencies: readonly string[];
  /** Codes of the products the offer delivers. */
  readonly products: readonly string[];
  /** For bundles: codes of the offers it bundles. */
  readonly components?: readonly string[];
  /** Defaults to 'active'. */
  readonly status?: CatalogStatus;
  readonly versions: readonly OfferVersionDefinition[];
}

/**
 * 'superseded': a published tariff version replaced for its whole range by a correction
 * (correctTariffVersion); kept for the records rated under it, never in force again.
 */
export type VersionStatus = 'draft' | 'published' | 'superseded';

export interface Offer {
  readonly id: string;
  readonly tenantId: string;
  readonly code: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly kind: OfferKind;
  readonly currencies: readonly string[];
  readonly products: readonly string[];
  readonly components: readonly string[];
  readonly status: CatalogStatus;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

/** The parts of a version that are its content (everything but the range and the policy). */
export type OfferVersionContent = Omit<
  OfferVersionDefinition,
  'effectiveFrom' | 'effectiveTo' | 'priceChangePolicy'
>;

export interface OfferVersion {
  readonly id: string;
  readonly tenantId: string;
  readonly offerId: string;
  /** 1, 2, 3... in order of creation. */
  readonly number: number;
  readonly status: VersionStatus;
  readonly effectiveFrom: Instant;
  readonly effectiveTo: Instant | undefined;
  readonly priceChangePolicy: PriceChangePolicy;
  readonly content: OfferVersionContent;
  readonly createdAt: Instant;
  readonly publishedAt: Instant | undefined;
}

// ------------------------------------------------------------------------------------------------
// Tariffs

export interface TariffVersionDefinition {
  readonly effectiveFrom: Instant;
  readonly effectiveTo?: Instant;
  readonly priceChangePolicy?: PriceChangePolicy;
  /** The tariff document of the tariff core (src/catalog/tariff): zones, bands, rates. */
  readonly definition: unknown;
}

export interface CatalogTariffDefinition {
  readonly code: string;
  readonly name: string;
  readonly description?: string;
  readonly status?: CatalogStatus;
  readonly versions: readonly TariffVersionDefinition[];
}

export interface Tariff {
  readonly id: string;
  readonly tenantId: string;
  readonly code: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly status: CatalogStatus;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

export interface TariffVersion {
  readonly id: string;
  readonly tenantId: string;
  readonly tariffId: string;
  readonly number: number;
  readonly status: VersionStatus;
  readonly effectiveFrom: Instant;
  readonly effectiveTo: Instant | undefined;
  readonly priceChangePolicy: PriceChangePolicy;
  readonly definition: unknown;
  readonly createdAt: Instant;
  readonly publishedAt: Instant | undefined;
  /** For a correction: the version it replaces for the same range, and why. */
  readonly correction?: { readonly correctsVersionId: string; readonly reason: string };
}

// ------------------------------------------------------------------------------------------------
// Categories and catalogs

export interface CategoryDefinition {
  readonly code: string;
  readonly name: string;
  readonly description?: string;
  /** The parent category's code; a root category has none. */
  readonly parent?: string;
  /** Codes of the offers in this category. */
  readonly offers?: readonly string[];
}

export interface Category {
  readonly id: string;
  readonly tenantId: string;
  readonly code: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly parent: string | undefined;
  readonly offers: readonly string[];
  readonly status: CatalogStatus;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

export interface CatalogDefinition {
  readonly code: string;
  readonly name: string;
  readonly description?: string;
  /** Codes of the categories the catalog shows. */
  readonly categories?: readonly string[];
}

export interface CatalogRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly code: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly categories: readonly string[];
  readonly status: CatalogStatus;
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
}

// ------------------------------------------------------------------------------------------------
// The whole catalog, as a catalog file holds it

export const CATALOG_FORMAT = 'tollgate.catalog/v1';

export interface CatalogDocument {
  readonly format: typeof CATALOG_FORMAT;
  readonly products: readonly ProductDefinition[];
  readonly tariffs: readonly CatalogTariffDefinition[];
  readonly offers: readonly OfferDefinition[];
  readonly categories: readonly CategoryDefinition[];
  readonly catalogs: readonly CatalogDefinition[];
}

export function emptyCatalog(): CatalogDocument {
  return { format: CATALOG_FORMAT, products: [], tariffs: [], offers: [], categories: [], catalogs: [] };
}

/** One problem found in a definition: the file (when there is one), a JSON pointer, the reason. */
export interface CatalogProblem {
  readonly file?: string;
  readonly path: string;
  readonly message: string;
  /** The line in the file where the value at `path` is written, when known. */
  readonly line?: number;
  /** The catalog error code that fits this problem best, when it is more specific than invalid_definition. */
  readonly code?: 'unsupported_currency' | 'negative_amount' | 'version_overlap' | 'version_gap';
}

/** `file#/pointer` or just `/pointer`: how problems name their place in errors. */
export function problemField(problem: CatalogProblem): string {
  return problem.file === undefined ? problem.path : `${problem.file}#${problem.path}`;
}

/** Escapes a JSON-pointer token (RFC 6901). */
export function pointerToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(...tokens: ReadonlyArray<string | number>): string {
  return tokens.map((token) => `/${pointerToken(token)}`).join('');
}
