/**
 * The rules an offer and its versions must satisfy before they can be stored (pure). Each rule
 * reports a problem with a JSON pointer to the value at fault and a reason; all problems are
 * returned at once so an author fixes a file in one pass:
 *
 * - the offer sells in known currencies and delivers known products; a bundle names its components;
 * - every amount is valid decimal text for its currency, not negative, in a currency the offer
 *   sells in, with exactly one amount per currency;
 * - usage prices point at a product of the offer and an existing tariff, one tariff per product;
 * - promotions apply to prices of the version that they can change (a free period needs a recurring
 *   price), with percentages in (0, 100], periods positive, and never more off than the price;
 * - allowances have a positive quantity in a known unit that measures their service, delivered by
 *   one of the offer's products; rollover periods are positive;
 * - add-ons name only existing plans as compatible; exclusions name existing offers.
 */
import { isCurrency } from '../kernel/currencies.js';
import { isInstant } from '../kernel/clock.js';
import { isTollgateError } from '../kernel/errors.js';
import { Money } from '../kernel/money.js';
import {
  baseUnitOf,
  isDisplayUnit,
  parseQuantity,
  type BaseUnit,
  type DisplayUnit,
} from '../kernel/quantity.js';
import { parseDecimalExact } from '../kernel/decimal.js';
import { validateTariff } from './tariff/index.js';
import {
  pointer,
  type AllowanceDefinition,
  type CatalogProblem,
  type MoneyText,
  type OfferDefinition,
  type OfferKind,
  type OfferVersionContent,
  type PriceDefinition,
  type PromotionDefinition,
  type Service,
} from './model.js';

/** What the rules need to know about the rest of the catalog. */
export interface OfferRuleContext {
  /** Product code -> the service it delivers. */
  readonly products: ReadonlyMap<string, Service>;
  /** Offer code -> its kind, for compatibility and bundle references. */
  readonly offers: ReadonlyMap<string, OfferKind>;
  readonly tariffs: ReadonlySet<string>;
  /** The zone names of a tariff, when known, to check allowance zones against. */
  readonly tariffZones?: (tariffCode: string) => readonly string[] | undefined;
}

/** The base units an allowance of each service may be counted in. */
const UNITS_OF_SERVICE: Readonly<Record<Service, readonly BaseUnit[]>> = {
  voice: ['second'],
  voip: ['second'],
  sms: ['message'],
  mms: ['message'],
  data: ['byte'],
  broadband: ['byte'],
  iot: ['byte', 'message', 'event'],
  iptv: ['second', 'event', 'unit'],
  content: ['event', 'unit'],
};

type OfferHeader = Pick<OfferDefinition, 'code' | 'kind' | 'currencies' | 'products' | 'components'>;

/** Problems with the offer itself (not its versions). `base` is the offer's JSON pointer. */
export function offerProblems(offer: OfferHeader, context: OfferRuleContext, base = ''): CatalogProblem[] {
  const problems: CatalogProblem[] = [];
  const add = (path: string, message: string, code?: CatalogProblem['code']) =>
    problems.push({ path: base + path, message, ...(code !== undefined ? { code } : {}) });
  if (offer.currencies.length === 0) add('/currencies', 'an offer sells in at least one currency');
  offer.currencies.forEach((currency, i) => {
    if (!isCurrency(currency))
      add(pointer('currencies', i), `${JSON.stringify(currency)} is not an ISO 4217 currency code`);
    else if (offer.currencies.indexOf(currency) !== i)
      add(pointer('currencies', i), `${currency} is listed twice`);
  });
  offer.products.forEach((code, i) => {
    if (!context.products.has(code))
      add(pointer('products', i), `no product with code ${JSON.stringify(code)}`);
    else if (offer.products.indexOf(code) !== i)
      add(pointer('products', i), `product ${code} is listed twice`);
  });
  const components = offer.components ?? [];
  if (offer.kind === 'bundle') {
    if (components.length === 0) add('/components', 'a bundle names the offers it bundles');
    components.forEach((code, i) => {
      if (code === offer.code) add(pointer('components', i), 'a bundle cannot contain itself');
      else if (!context.offers.has(code))
        add(pointer('components', i), `no offer with code ${JSON.stringify(code)}`);
    });
  } else if (components.length > 0) {
    add('/components', `only bundles have components; this offer is a ${offer.kind}`);
  }
  return problems;
}

/**
 * Problems with one version of `offer`. `base` is the version's JSON pointer (for example
 * `/offers/2/versions/0`); every problem's path starts with it.
 */
export function offerVersionProblems(
  offer: OfferHeader,
  version: OfferVersionContent & { readonly effectiveFrom?: string; readonly effectiveTo?: string },
  context: OfferRuleContext,
  base = '',
): CatalogProblem[] {
  const problems: CatalogProblem[] = [];
  const add = (path: string, message: string, code?: CatalogProblem['code']) =>
    problems.push({ path: base + path, message, ...(code !== undefined ? { code } : {}) });
  const currencies = offer.currencies.filter((c) => isCurrency(c));

  /** Checks a list of amounts; returns the parsed ones by currency. */
  const checkAmounts = (amounts: readonly MoneyText[], path: string, what: string): Map<string, Money> => {
    const parsed = new Map<string, Money>();
    let currencyProblem = false;
    amounts.forEach((money, i) => {
      const at = `${path}/${i}`;
      if (!isCurrency(money.currency)) {
        currencyProblem = true;
        add(`${at}/currency`, `${JSON.stringify(money.currency)} is not an ISO 4217 currency code`);
        return;
      }
      if (!currencies.includes(money.currency)) {
        currencyProblem = true;
        add(
          `${at}/currency`,
          `${what} is priced in ${money.currency}, which offer ${offer.code} does not sell in (its currencies: ${currencies.join(', ') || 'none'})`,
          'unsupported_currency',
        );
        return;
      }
      if (parsed.has(money.currency)) {
        add(`${at}/currency`, `${what} has two amounts in ${money.currency}`);
        return;
      }
      let value: Money;
      try {
        value = Money.parse(money.amount, money.currency);
      } catch (error) {
        add(`${at}/amount`, reasonOf(error, `${JSON.stringify(money.amount)} is not a valid amount`));
        return;
      }
      if (value.isNegative()) {
        add(
          `${at}/amount`,
          `${what} is negative (${value.toString()}); amounts are zero or more`,
          'negative_amount',
        );
        return;
      }
      parsed.set(money.currency, value);
    });
    if (amounts.length === 0) add(path, `${what} has no amount`);
    // An amount in a wrong currency is reported once, not again as a missing one.
    for (const currency of currencyProblem ? [] : currencies) {
      if (!amounts.some((m) => m.currency === currency) && amounts.length > 0)
        add(path, `${what} has no amount in ${currency}, one of the offer's currencies`);
    }
    return parsed;
  };

  const priceAmounts = new Map<string, Map<string, Money>>();
  const priceKinds = new Map<string, PriceDefinition['kind']>();
  const tariffOfProduct = new Map<string, string>();
  version.prices.forEach((price, i) => {
    const at = pointer('prices', i);
    const what = `price ${price.code}`;
    if (priceKinds.has(price.code))
      add(`${at}/code`, `price code ${price.code} is used twice in this version`);
    priceKinds.set(price.code, price.kind);
    switch (price.kind) {
      case 'recurring':
        priceAmounts.set(price.code, checkAmounts(price.amounts, `${at}/amounts`, what));
        if (price.periodCount !== undefined) positiveInteger(price.periodCount, `${at}/periodCount`, add);
        break;
      case 'one-time':
      case 'deposit':
        priceAmounts.set(price.code, checkAmounts(price.amounts, `${at}/amounts`, what));
        break;
      case 'usage':
        if (!offer.products.includes(price.product)) {
          add(
            `${at}/product`,
            `${JSON.stringify(price.product)} is not one of the offer's products (${offer.products.join(', ') || 'none'})`,
          );
        }
        if (!context.tariffs.has(price.tariff))
          add(`${at}/tariff`, `no tariff with code ${JSON.stringify(price.tariff)}`);
        if (tariffOfProduct.has(price.product)) {
          add(
            `${at}/product`,
            `product ${price.product} already has a usage price (${tariffOfProduct.get(price.product)}); one tariff prices one product's usage`,
          );
        } else {
          tariffOfProduct.set(price.product, price.tariff);
        }
        break;
    }
  });

  if (version.contract) {
    const at = '/contract';
    positiveInteger(version.contract.minimumTermMonths, `${at}/minimumTermMonths`, add);
    const fee = version.contract.earlyTerminationFee;
    if (fee?.kind === 'fixed')
      checkAmounts(fee.amounts, `${at}/earlyTerminationFee/amounts`, 'the early termination fee');
    if (fee?.kind === 'remaining-recurring')
      checkPercentage(fee.percentage, `${at}/earlyTerminationFee/percentage`, add, true);
  }

  const promotionCodes = new Set<string>();
  (version.promotions ?? []).forEach((promotion, i) => {
    const at = pointer('promotions', i);
    if (promotionCodes.has(promotion.code))
      add(`${at}/code`, `promotion code ${promotion.code} is used twice`);
    promotionCodes.add(promotion.code);
    checkPromotion(promotion, at, priceKinds, priceAmounts, checkAmounts, add);
  });

  const allowanceCodes = new Set<string>();
  const services = new Set(
    offer.products.map((code) => context.products.get(code)).filter((s) => s !== undefined),
  );
  (version.allowances ?? []).forEach((allowance, i) => {
    const at = pointer('allowances', i);
    if (allowanceCodes.has(allowance.code))
      add(`${at}/code`, `allowance code ${allowance.code} is used twice`);
    allowanceCodes.add(allowance.code);
    checkAllowance(allowance, at, services, offer, version.prices, context, add);
  });

  const eligibility = version.eligibility;
  if (eligibility) {
    const at = '/eligibility';
    if (eligibility.compatiblePlans !== undefined) {
      if (offer.kind !== 'add-on')
        add(`${at}/compatiblePlans`, `only add-ons list compatible plans; this offer is a ${offer.kind}`);
      eligibility.compatiblePlans.forEach((code, i) => {
        const kind = context.offers.get(code);
        if (kind === undefined)
          add(pointer('eligibility', 'compatiblePlans', i), `no plan with code ${JSON.stringify(code)}`);
        else if (kind !== 'plan')
          add(pointer('eligibility', 'compatiblePlans', i), `${code} is a ${kind}, not a plan`);
      });
    }
    (eligibility.excludes ?? []).forEach((code, i) => {
      if (code === offer.code) add(pointer('eligibility', 'excludes', i), 'an offer cannot exclude itself');
      else if (!context.offers.has(code))
        add(pointer('eligibility', 'excludes', i), `no offer with code ${JSON.stringify(code)}`);
    });
    if (eligibility.maxPerSubscription !== undefined) {
      if (offer.kind !== 'add-on')
        add(`${at}/maxPerSubscription`, 'only add-ons have a maximum per subscription');
      positiveInteger(eligibility.maxPerSubscription, `${at}/maxPerSubscription`, add);
    }
  }
  return problems;
}

/** Every problem of an offer and all its versions (versions' ranges are checked in versions.ts). */
export function offerDefinitionProblems(
  offer: OfferDefinition,
  context: OfferRuleContext,
  base = '',
): CatalogProblem[] {
  return [
    ...offerProblems(offer, context, base),
    ...offer.versions.flatMap((version, i) =>
      offerVersionProblems(offer, version, context, `${base}${pointer('versions', i)}`),
    ),
  ];
}

type Add = (path: string, message: string, code?: CatalogProblem['code']) => void;

function checkPromotion(
  promotion: PromotionDefinition,
  at: string,
  priceKinds: ReadonlyMap<string, PriceDefinition['kind']>,
  priceAmounts: ReadonlyMap<string, ReadonlyMap<string, Money>>,
  checkAmounts: (amounts: readonly MoneyText[], path: string, what: string) => Map<string, Money>,
  add: Add,
): void {
  const what = `promotion ${promotion.code}`;
  if (promotion.appliesTo.length === 0) add(`${at}/appliesTo`, `${what} applies to no price`);
  const recurringOnly = promotion.kind === 'free-periods' || promotion.kind === 'introductory-price';
  promotion.appliesTo.forEach((code, i) => {
    const kind = priceKinds.get(code);
    const path = `${at}/appliesTo/${i}`;
    if (kind === undefined) add(path, `no price ${JSON.stringify(code)} in this version`);
    else if (recurringOnly && kind !== 'recurring')
      add(path, `a ${promotion.kind} promotion applies to recurring prices; ${code} is ${kind}`);
    else if (kind === 'usage' || kind === 'deposit')
      add(path, `promotions do not apply to ${kind} prices (${code})`);
  });
  if (promotion.availableFrom !== undefined && !isInstant(promotion.availableFrom))
    add(`${at}/availableFrom`, 'is not an instant like 2026-01-01T00:00:00.000Z');
  if (promotion.availableTo !== undefined && !isInstant(promotion.availableTo))
    add(`${at}/availableTo`, 'is not an instant like 2026-01-01T00:00:00.000Z');
  if (
    promotion.availableFrom !== undefined &&
    promotion.availableTo !== undefined &&
    promotion.availableTo <= promotion.availableFrom
  )
    add(`${at}/availableTo`, `${what} ends before it starts`);
  switch (promotion.kind) {
    case 'percentage':
      checkPercentage(promotion.percentage, `${at}/percentage`, add, false);
      if (promotion.periods !== undefined) positiveInteger(promotion.periods, `${at}/periods`, add);
      break;
    case 'free-periods':
      positiveInteger(promotion.periods, `${at}/periods`, add);
      break;
    case 'fixed-amount':
    case 'introductory-price': {
      const off = checkAmounts(promotion.amounts, `${at}/amounts`, what);
      if (promotion.periods !== undefined) positiveInteger(promotion.periods, `${at}/periods`, add);
      for (const code of promotion.appliesTo) {
        for (const [currency, amount] of off) {
          const regular = priceAmounts.get(code)?.get(currency);
          if (regular === undefined) continue;
          if (promotion.kind === 'fixed-amount' && amount.compare(regular) > 0)
            add(
              `${at}/amounts`,
              `${what} takes ${amount.toString()} off price ${code}, which is only ${regular.toString()}`,
            );
          if (promotion.kind === 'introductory-price' && amount.compare(regular) >= 0)
            add(
              `${at}/amounts`,
              `${what} (${amount.toString()}) is not lower than the regular price ${code} (${regular.toString()})`,
            );
        }
      }
      break;
    }
  }
}

function checkAllowance(
  allowance: AllowanceDefinition,
  at: string,
  services: ReadonlySet<Service>,
  offer: OfferHeader,
  prices: readonly PriceDefinition[],
  context: OfferRuleContext,
  add: Add,
): void {
  if (!services.has(allowance.service)) {
    add(
      `${at}/service`,
      `the offer delivers no ${allowance.service} product, so an allowance of ${allowance.service} cannot be used`,
    );
  }
  const allowed = UNITS_OF_SERVICE[allowance.service] ?? [];
  let unitOk = false;
  if (!isDisplayUnit(allowance.unit)) {
    add(
      `${at}/unit`,
      `unknown unit ${JSON.stringify(allowance.unit)}; use one of second, minute, hour, message, event, unit, kB, MB, GB, KiB, MiB, GiB`,
    );
  } else if (!allowed.includes(baseUnitOf(allowance.unit))) {
    add(
      `${at}/unit`,
      `${allowance.unit} does not measure ${allowance.service} (which is counted in ${allowed.join(' or ')}s)`,
    );
  } else {
    unitOk = true;
  }
  if (unitOk) {
    positiveQuantity(allowance.quantity, allowance.unit as DisplayUnit, `${at}/quantity`, add);
    if (allowance.rollover?.maxQuantity !== undefined)
      positiveQuantity(
        allowance.rollover.maxQuantity,
        allowance.unit as DisplayUnit,
        `${at}/rollover/maxQuantity`,
        add,
      );
  }
  if (allowance.rollover) positiveInteger(allowance.rollover.maxPeriods, `${at}/rollover/maxPeriods`, add);
  if (allowance.zones !== undefined && context.tariffZones) {
    const tariffs = prices
      .filter((p): p is Extract<PriceDefinition, { kind: 'usage' }> => p.kind === 'usage')
      .filter(
        (p) => context.products.get(p.product) === allowance.service && offer.products.includes(p.product),
      )
      .map((p) => p.tariff);
    const zones = new Set(tariffs.flatMap((t) => context.tariffZones?.(t) ?? []));
    if (zones.size > 0) {
      allowance.zones.forEach((zone, i) => {
        if (!zones.has(zone))
          add(
            `${at}/zones/${i}`,
            `no zone ${JSON.stringify(zone)} in the tariffs that price ${allowance.service} (${[...zones].join(', ')})`,
          );
      });
    }
  }
}

function positiveInteger(value: number, path: string, add: Add): void {
  if (!Number.isSafeInteger(value) || value <= 0)
    add(path, `must be a whole number of 1 or more, not ${String(value)}`);
}

function positiveQuantity(text: string, unit: DisplayUnit, path: string, add: Add): void {
  try {
    const parsed = parseQuantity(text, unit);
    if (parsed.amount <= 0n)
      add(path, `must be more than zero, not ${text}`, text.startsWith('-') ? 'negative_amount' : undefined);
  } catch (error) {
    add(path, reasonOf(error, `${JSON.stringify(text)} is not a quantity`));
  }
}

function checkPercentage(text: string, path: string, add: Add, zeroAllowed: boolean): void {
  let exact;
  try {
    exact = parseDecimalExact(text);
  } catch (error) {
    add(path, reasonOf(error, `${JSON.stringify(text)} is not a percentage`));
    return;
  }
  // Compare value with 0 and 100 exactly: value = unscaled / 10^scale.
  const hundred = 100n * 10n ** BigInt(exact.scale);
  if (exact.unscaled < 0n) add(path, `must not be negative, not ${text}`, 'negative_amount');
  else if (exact.unscaled === 0n && !zeroAllowed) add(path, 'must be more than 0');
  else if (exact.unscaled > hundred) add(path, `must be at most 100, not ${text}`);
}

function reasonOf(error: unknown, fallback: string): string {
  return isTollgateError(error) ? error.message : fallback;
}

// ------------------------------------------------------------------------------------------------
// Tariff versions: the tariff core validates the definition; the catalog adds what ties it to the
// tariff that holds it.

/**
 * The definition as the tariff core sees it: the tariff's code and name fill its `id` and `name`
 * when the author left them out (a catalog file names the tariff once, not in every version).
 */
export function completeTariffDefinition(definition: unknown, code: string, name: string): unknown {
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) return definition;
  return { id: code, name, ...(definition as Record<string, unknown>) };
}

/** Problems of one tariff version's definition, with JSON pointers into the definition. */
export function tariffDefinitionProblems(definition: unknown, code: string, name: string): CatalogProblem[] {
  const complete = completeTariffDefinition(definition, code, name);
  const problems: CatalogProblem[] = validateTariff(complete).map((problem) => ({
    path: problem.path,
    message: problem.message,
    ...(/negative|less than zero|below zero/i.test(problem.message)
      ? { code: 'negative_amount' as const }
      : {}),
  }));
  const id = (complete as { id?: unknown } | null)?.id;
  if (typeof id === 'string' && id !== code)
    problems.push({
      path: '/id',
      message: `the definition's id ${JSON.stringify(id)} is not the tariff's code ${code}; leave it out or make them equal`,
    });
  return problems;
}

/** The zone ids a tariff definition declares (empty when it declares none or is malformed). */
export function tariffZoneIds(definition: unknown): string[] {
  const zones = (definition as { zones?: unknown } | null)?.zones;
  if (!Array.isArray(zones)) return [];
  return zones
    .map((zone) => (zone as { id?: unknown } | null)?.id)
    .filter((id): id is string => typeof id === 'string');
}
