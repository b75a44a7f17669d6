/**
 * Compiling a subscription's rating plan: everything rating needs to price its usage, worked out
 * once, so that rating an event does no parsing, no string building and no searching by name.
 *
 * Which price prices a usage service. The usage prices of the plan (the subscription's offer
 * version in force) come first: a plan with two usage prices for one usage service is ambiguous
 * and refused. A service the plan does not price may be priced by an active add-on (for example
 * an IoT pack); two add-ons pricing it are refused too. Catalog services map to usage services:
 * voice and voip → voice; data and broadband → data; sms, mms, content, iot → themselves.
 *
 * Allowance priority (the order rating draws in):
 *   1. add-on allowances before plan allowances: an add-on is bought for its units, and often
 *      expires, so it is used up first;
 *   2. zone-restricted allowances before general ones: a restricted allowance covers less, so
 *      spending it first keeps the general units for usage only they cover;
 *   3. then by allowance code, then by offer code (so the order never depends on input order).
 * Two allowances with the same counter (same owner and code, e.g. a pool defined by the plan of
 * each family member) are one counter: only the first in priority order is kept.
 *
 * Problems are values: compileRatingPlan returns { ok: false, problems } listing every problem it
 * finds, and never throws for a bad plan.
 *
 * Templates. Nearly everything compiled here depends only on the offer versions held, the
 * account's currency, time zone and bill cycle day, and the catalog, not on the subscription: that
 * part is a RatingTemplate, and a RatingPlanCache shares one template among every subscription on
 * the same offer versions. A RatingPlan is then the template plus the subscription's ids and the
 * ranges in which it holds each version: a few fields. Sharing changes no result, only how many
 * objects rating touches (one set per offer instead of one per subscription).
 */
import { isDisplayUnit, baseUnitOf, parseQuantity, type DisplayUnit } from '../kernel/quantity.js';
import type { AllowanceDefinition, Service, UsagePriceDefinition } from '../catalog/index.js';
import type { UsageService } from '../usage/index.js';
import { fastTariffView, type FastEventPrice } from './fast-tariff.js';
import {
  MEASURE_BYTES,
  MEASURE_COUNT,
  MEASURE_SECONDS,
  type CompilePlanResult,
  type Measure,
  type OfferVersionInput,
  type PlanAllowance,
  type PlanEventRates,
  type PlanProblem,
  type PlanTariffVersion,
  RatingPlan,
  type RatingPlanInput,
  type RatingTemplate,
  type ServicePlan,
  type TierCounterRef,
} from './model.js';
import { isKnownTimeZone, periodCalendar } from './periods.js';

const MAX_BILL_CYCLE_DAY = 28;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The usage service a catalog service's usage arrives as; undefined for services not rated per event. */
export const USAGE_SERVICE_OF: Readonly<Record<Service, UsageService | undefined>> = {
  voice: 'voice',
  voip: 'voice',
  sms: 'sms',
  mms: 'mms',
  data: 'data',
  broadband: 'data',
  iot: 'iot',
  content: 'content',
  iptv: undefined,
};

interface Source {
  readonly offer: OfferVersionInput;
  readonly kind: 'plan' | 'add-on';
  /** 0 the plan, then the add-ons in (offer code, version id) order. */
  readonly index: number;
}

type TemplateResult =
  | { readonly ok: true; readonly template: RatingTemplate }
  | { readonly ok: false; readonly problems: readonly PlanProblem[] };

/**
 * Shares plan templates between subscriptions: one per (catalog, offer versions held, currency,
 * time zone, bill cycle day). Keep one per catalog snapshot (the products and tariffs maps given
 * to compileRatingPlan are part of the key by identity, and so is each offer version's content
 * object), e.g. one per batch rater. Nothing subscription-specific is kept in a template.
 */
export class RatingPlanCache {
  private readonly templates = new Map<string, TemplateResult>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;

  /** The cached template result for `input`, compiling it the first time. */
  templateFor(input: RatingPlanInput): TemplateResult {
    const key = this.keyOf(input);
    let found = this.templates.get(key);
    if (found === undefined) {
      found = compileTemplate(input);
      this.templates.set(key, found);
    }
    return found;
  }

  /** Templates compiled so far. */
  get size(): number {
    return this.templates.size;
  }

  private idOf(value: object): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(value, id);
    }
    return id;
  }

  private keyOf(input: RatingPlanInput): string {
    const { account } = input;
    let key = `${this.idOf(input.products)}\u0001${this.idOf(input.tariffs)}\u0001${account.currency}\u0001${account.timeZone}\u0001${account.billCycleDay}`;
    const offer = (o: OfferVersionInput): string =>
      `\u0001${o.offerCode}\u0002${o.versionId}\u0002${this.idOf(o.content)}`;
    key += offer(input.plan);
    // Add-ons in the order the template numbers them (sourceOrder), so the key and the ranges agree.
    for (const addOn of sortedAddOns(input.addOns)) key += offer(addOn);
    return key;
  }
}

function sortedAddOns(addOns: readonly OfferVersionInput[] | undefined): OfferVersionInput[] {
  return [...(addOns ?? [])].sort(
    (a, b) => compareText(a.offerCode, b.offerCode) || compareText(a.versionId, b.versionId),
  );
}

interface ChosenPrice {
  readonly source: Source;
  readonly price: UsagePriceDefinition;
}

/**
 * Compiles the rating plan of one subscription; see the module comment. With a cache, the template
 * is shared with every subscription compiled through it on the same offer versions and account
 * settings; without, a template of its own is compiled.
 */
export function compileRatingPlan(input: RatingPlanInput, cache?: RatingPlanCache): CompilePlanResult {
  const result = cache === undefined ? compileTemplate(input) : cache.templateFor(input);
  if (!result.ok) return result;
  const addOns = sortedAddOns(input.addOns);
  const fromMs = [input.plan.fromMs ?? -Infinity];
  const toMs = [input.plan.toMs ?? Infinity];
  for (const addOn of addOns) {
    fromMs.push(addOn.fromMs ?? -Infinity);
    toMs.push(addOn.toMs ?? Infinity);
  }
  return {
    ok: true,
    plan: new RatingPlan(result.template, input.subscriptionId, input.accountId, fromMs, toMs),
  };
}

/** Compiles the shared part of a plan: everything but the subscription's ids and ranges. */
function compileTemplate(input: RatingPlanInput): TemplateResult {
  const problems: PlanProblem[] = [];
  const { account } = input;
  if (typeof account.currency !== 'string' || !/^[A-Z]{3}$/.test(account.currency)) {
    problems.push({
      code: 'invalid_account',
      where: 'account',
      message: `currency ${JSON.stringify(account.currency)} is not an ISO 4217 code`,
    });
  }
  if (!isKnownTimeZone(account.timeZone)) {
    problems.push({
      code: 'invalid_account',
      where: 'account',
      message: `time zone ${JSON.stringify(account.timeZone)} is not an IANA time zone`,
    });
  }
  if (
    !Number.isInteger(account.billCycleDay) ||
    account.billCycleDay < 1 ||
    account.billCycleDay > MAX_BILL_CYCLE_DAY
  ) {
    problems.push({
      code: 'invalid_account',
      where: 'account',
      message: `bill cycle day must be 1 to ${MAX_BILL_CYCLE_DAY}, got ${String(account.billCycleDay)}`,
    });
  }
  if (problems.length > 0) return { ok: false, problems };

  const sources: Source[] = [
    { offer: input.plan, kind: 'plan', index: 0 },
    ...sortedAddOns(input.addOns).map((offer, i): Source => ({ offer, kind: 'add-on', index: i + 1 })),
  ];

  // Usage prices by usage service.
  const chosen = new Map<UsageService, ChosenPrice>();
  const chosenFrom = new Map<UsageService, 'plan' | 'add-on'>();
  for (const source of sources) {
    const prices = source.offer.content.prices ?? [];
    prices.forEach((price, i) => {
      if (price.kind !== 'usage') return;
      const where = `${source.kind} ${source.offer.offerCode} version ${source.offer.versionId} /prices/${i}`;
      const service = input.products.get(price.product);
      if (service === undefined) {
        problems.push({
          code: 'unknown_product',
          where,
          message: `usage price ${price.code} names product ${price.product}, which is not among the products given`,
        });
        return;
      }
      const usageService = USAGE_SERVICE_OF[service];
      if (usageService === undefined) return;
      const previous = chosenFrom.get(usageService);
      if (previous === undefined) {
        chosen.set(usageService, { source, price });
        chosenFrom.set(usageService, source.kind);
      } else if (previous === source.kind) {
        const other = chosen.get(usageService) as ChosenPrice;
        problems.push({
          code: 'ambiguous_usage_price',
          where,
          message: `${usageService} usage is priced twice: by ${other.source.offer.offerCode} price ${other.price.code} and by ${source.offer.offerCode} price ${price.code}`,
        });
      }
      // An add-on price for a service the plan already prices is ignored: the plan's price wins.
    });
  }

  // Allowances, in priority order.
  const allowances = compileAllowances(input, sources, problems);
  const tierCalendar = periodCalendar('month', account.timeZone, account.billCycleDay);
  const tierRefs = new Map<string, TierCounterRef>();
  const tierRef = (tariffCode: string, rate: string, zoneId: string): TierCounterRef => {
    const key = `${tariffCode}\u0000${rate}\u0000${zoneId}`;
    let ref = tierRefs.get(key);
    if (ref === undefined) {
      ref = {
        counterIndex: allowances.length + tierRefs.size,
        tariffCode,
        rate,
        zoneId,
        calendar: tierCalendar,
      };
      tierRefs.set(key, ref);
    }
    return ref;
  };

  const services: Partial<Record<UsageService, ServicePlan>> = {};
  for (const [service, { source, price }] of chosen) {
    const where = `${source.kind} ${source.offer.offerCode} version ${source.offer.versionId} price ${price.code}`;
    const versions = input.tariffs.get(price.tariff);
    if (versions === undefined || versions.length === 0) {
      problems.push({
        code: 'unknown_tariff',
        where,
        message: `tariff ${price.tariff} is not among the tariffs given`,
      });
      continue;
    }
    const forService = (measure: Measure): PlanAllowance[] =>
      allowances.filter((a) => USAGE_SERVICE_OF[a.service] === service && a.measure === measure);
    const allowancesSeconds = service === 'voice' ? forService(MEASURE_SECONDS) : [];
    const allowancesBytes = service === 'data' || service === 'iot' ? forService(MEASURE_BYTES) : [];
    const allowancesCount = service === 'voice' || service === 'data' ? [] : forService(MEASURE_COUNT);
    const planVersions: PlanTariffVersion[] = [];
    for (const version of [...versions].sort((a, b) => a.fromMs - b.fromMs)) {
      const compiled = version.compiled;
      const currencyIndex = compiled.currencies.indexOf(account.currency);
      const at = `${where}, tariff ${price.tariff} version ${version.versionId}`;
      if (currencyIndex < 0) {
        problems.push({
          code: 'currency_not_priced',
          where: at,
          message: `tariff ${price.tariff} prices in ${compiled.currencies.join(', ')}, not in the account's ${account.currency}`,
        });
        continue;
      }
      if (service === 'voice' && compiled.voice === undefined) {
        problems.push({
          code: 'service_not_priced_by_tariff',
          where: at,
          message: `tariff ${price.tariff} has no voice rates`,
        });
        continue;
      }
      const view = fastTariffView(compiled, currencyIndex);
      if (service === 'data' && view.dataByZone.every((rate) => rate === undefined)) {
        problems.push({
          code: 'service_not_priced_by_tariff',
          where: at,
          message: `tariff ${price.tariff} has no ${account.currency} data rates`,
        });
        continue;
      }
      const zoneIds = compiled.zones;
      const covers = (list: readonly PlanAllowance[]): Uint8Array => {
        const stride = zoneIds.length + 1;
        const table = new Uint8Array(list.length * stride);
        list.forEach((allowance, a) => {
          for (let z = -1; z < zoneIds.length; z++) {
            const zones = allowance.zones;
            const covered = zones === undefined || (z >= 0 && zones.includes(zoneIds[z] as string));
            table[a * stride + z + 1] = covered ? 1 : 0;
          }
        });
        return table;
      };
      const zoneName = (zone: number): string => (zone < 0 ? '' : (zoneIds[zone] as string));
      const dataTier = view.dataByZone.map((rate) =>
        rate === undefined || rate.pricing.mode === 0
          ? undefined
          : tierRef(price.tariff, 'data', zoneName(rate.zone)),
      );
      const events = new Map<string, PlanEventRates>();
      for (const [eventType, prices] of view.eventsByType) {
        events.set(eventType, {
          prices,
          tiers: prices.map((p: FastEventPrice | undefined) =>
            p === undefined || p.pricing === undefined || p.pricing.mode === 0
              ? undefined
              : tierRef(price.tariff, eventType, zoneName(p.zone)),
          ),
        });
      }
      planVersions.push({
        versionId: version.versionId,
        fromMs: version.fromMs,
        toMs: version.toMs ?? Infinity,
        view,
        coversSeconds: covers(allowancesSeconds),
        coversBytes: covers(allowancesBytes),
        coversCount: covers(allowancesCount),
        zoneStride: zoneIds.length + 1,
        dataTier,
        events,
        smsRates: events.get('sms'),
      });
    }
    services[service] = {
      service,
      offerCode: source.offer.offerCode,
      offerVersionId: source.offer.versionId,
      priceCode: price.code,
      tariffCode: price.tariff,
      sourceIndex: source.index,
      versions: planVersions,
      allowancesSeconds,
      allowancesBytes,
      allowancesCount,
    };
  }
  if (problems.length > 0) return { ok: false, problems };
  const tiers = [...tierRefs.values()];
  const template: RatingTemplate = {
    currency: account.currency,
    timeZone: account.timeZone,
    billCycleDay: account.billCycleDay,
    planOfferCode: input.plan.offerCode,
    planVersionId: input.plan.versionId,
    voice: services.voice,
    sms: services.sms,
    mms: services.mms,
    data: services.data,
    content: services.content,
    iot: services.iot,
    allowances,
    tiers,
    counterCount: allowances.length + tiers.length,
    sourceCount: sources.length,
    tierCalendar,
  };
  return { ok: true, template };
}

function measureOf(unit: string): Measure {
  if (unit === 'second') return MEASURE_SECONDS;
  if (unit === 'byte') return MEASURE_BYTES;
  return MEASURE_COUNT;
}

function compileAllowances(
  input: RatingPlanInput,
  sources: readonly Source[],
  problems: PlanProblem[],
): PlanAllowance[] {
  const { account } = input;
  const found: Array<Omit<PlanAllowance, 'priority'>> = [];
  for (const source of sources) {
    (source.offer.content.allowances ?? []).forEach((definition: AllowanceDefinition, i) => {
      const where = `${source.kind} ${source.offer.offerCode} version ${source.offer.versionId} /allowances/${i}`;
      const bad = (message: string): void => {
        problems.push({
          code: 'invalid_allowance',
          where,
          message: `allowance ${definition.code}: ${message}`,
        });
      };
      if (!isDisplayUnit(definition.unit)) return bad(`unknown unit ${JSON.stringify(definition.unit)}`);
      const unit = definition.unit as DisplayUnit;
      let quantity: bigint;
      let maxQuantity: bigint | undefined;
      try {
        quantity = parseQuantity(definition.quantity, unit).amount;
        if (definition.rollover?.maxQuantity !== undefined)
          maxQuantity = parseQuantity(definition.rollover.maxQuantity, unit).amount;
      } catch (error) {
        return bad(error instanceof Error ? error.message : String(error));
      }
      if (quantity <= 0n || quantity > MAX_SAFE)
        return bad(`quantity must be more than 0 and at most 2^53 − 1 ${baseUnitOf(unit)}s`);
      if (maxQuantity !== undefined && (maxQuantity < 0n || maxQuantity > MAX_SAFE))
        return bad('rollover maxQuantity is out of range');
      const rollover = definition.rollover;
      if (rollover !== undefined && (!Number.isSafeInteger(rollover.maxPeriods) || rollover.maxPeriods < 1)) {
        return bad('rollover maxPeriods must be a whole number of 1 or more');
      }
      const sharing = definition.sharing ?? 'subscription';
      const base = baseUnitOf(unit);
      found.push({
        code: definition.code,
        offerCode: source.offer.offerCode,
        offerVersionId: source.offer.versionId,
        source: source.kind,
        sourceIndex: source.index,
        service: definition.service,
        measure: measureOf(base),
        unit: base,
        quantity: Number(quantity),
        zones: definition.zones === undefined ? undefined : [...definition.zones],
        sharing,
        pooled: sharing === 'account-pool',
        period: definition.period,
        calendar: periodCalendar(definition.period, account.timeZone, account.billCycleDay),
        rollover:
          rollover === undefined
            ? undefined
            : {
                maxPeriods: rollover.maxPeriods,
                maxQuantity: maxQuantity === undefined ? undefined : Number(maxQuantity),
              },
        rolloverDefinition: rollover,
      });
    });
  }
  found.sort(
    (a, b) =>
      (a.source === b.source ? 0 : a.source === 'add-on' ? -1 : 1) ||
      (a.zones === undefined ? 1 : 0) - (b.zones === undefined ? 1 : 0) ||
      compareText(a.code, b.code) ||
      compareText(a.offerCode, b.offerCode),
  );
  // The counter is (owner, code), and the owner is the same for every allowance of one sharing
  // kind of one plan, so (sharing, code) identifies the counter within a template.
  const seen = new Set<string>();
  const result: PlanAllowance[] = [];
  for (const allowance of found) {
    const counter = `${allowance.pooled ? 'pool' : 'own'}\u0000${allowance.code}`;
    if (seen.has(counter)) continue;
    seen.add(counter);
    result.push({ ...allowance, priority: result.length });
  }
  return result;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
