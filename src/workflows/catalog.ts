/**
 * Use cases of the catalog: products, offers and tariffs changed through versions; the version in
 * force at an instant; catalog files validated, diffed and applied (one transaction, all or
 * nothing, audited); export; rate decks imported into a new tariff version; and a dry run that
 * prices sample usage under a draft version and reports the revenue delta per offer and zone.
 *
 * Every change runs in one transaction with its audit record and its outbox event (runChange +
 * recordChange). Definitions are checked completely before anything is written, so a bad price,
 * currency or rate leaves the catalog exactly as it was.
 */
import { createHash } from 'node:crypto';
import type { Instant } from '../kernel/clock.js';
import { CommonErrors, fail, isTollgateError } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { RATED_SCALE } from '../kernel/money.js';
import { formatDecimal } from '../kernel/decimal.js';
import { isCurrency } from '../kernel/currencies.js';
import {
  CATALOG_FORMAT,
  CatalogErrors,
  canonicalCatalog,
  catalogProblemsError,
  chargeCall,
  chargeData,
  chargeEvent,
  checkVersionSet,
  compileTariff,
  completeTariffDefinition,
  describeRange,
  diffCatalogs,
  historyProblems,
  offerProblems,
  offerVersionProblems,
  parseRateDeck,
  readCatalog,
  requireRateDeckFragment,
  resolveImplicitEnds,
  sortVersions,
  tariffDefinitionProblems,
  versionAt,
  tariffZoneIds,
  type CatalogDiff,
  type CatalogDocument,
  type CatalogProblem,
  type CatalogRecord,
  type CatalogSource,
  type CatalogStatus,
  type Category,
  type CompiledTariff,
  type Offer,
  type OfferDefinition,
  type OfferKind,
  type OfferRuleContext,
  type OfferVersion,
  type OfferVersionContent,
  type OfferVersionDefinition,
  type ParsedCatalog,
  type PriceChangePolicy,
  type PriceDefinition,
  type Product,
  type ProductDefinition,
  type Service,
  type Tariff,
  type TariffDefinition,
  type TariffVersion,
  type TariffVersionDefinition,
  type VersionRange,
} from '../catalog/index.js';
import * as store from '../catalog/store.js';
import { USAGE_SERVICE_OF } from '../rating/index.js';
import { listRatedUsage, type RatedUsageView } from './usage-rating.js';
import type { EntityFilter, Page, PriceRecord } from '../catalog/store.js';
import { findTenantById } from '../tenancy/store.js';
import type { Executor } from '../storage/database.js';
import {
  readExecutor,
  recordChange,
  runChange,
  type Caller,
  type ChangeContext,
  type WorkflowDeps,
} from './context.js';

export type { EntityFilter, Page, PriceRecord } from '../catalog/store.js';

/** The id prefixes of catalog records. */
export const CATALOG_ID_PREFIXES = {
  product: 'prd',
  offer: 'ofr',
  offerVersion: 'ofv',
  price: 'pop',
  tariff: 'trf',
  tariffVersion: 'trv',
  category: 'ctg',
  catalog: 'cat',
} as const;
const P = CATALOG_ID_PREFIXES;

// ------------------------------------------------------------------------------------------------
// Shared helpers

function notFound(code: keyof typeof CatalogErrors, what: string, id: string) {
  return fail(CatalogErrors[code], `no ${what} ${id}`, { record: id });
}

function problemsError(problems: readonly CatalogProblem[], summary: string, prefix = '') {
  return catalogProblemsError(
    problems.map((p) => ({ ...p, path: prefix + p.path })),
    summary,
  );
}

async function codeFree(
  find: (db: Executor, tenantId: string, code: string) => Promise<unknown>,
  db: Executor,
  tenantId: string,
  code: string,
  what: string,
  field = '/code',
): Promise<void> {
  if (await find(db, tenantId, code))
    throw fail(CatalogErrors.code_taken, `code ${code} is taken: another ${what} has it`, {
      field,
      record: code,
    });
}

function checkCode(code: string, field = '/code'): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(code))
    throw fail(
      CatalogErrors.invalid_definition,
      `${JSON.stringify(code)} is not a code: letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64`,
      { field },
    );
}

/** The rule context from the store: products, offers, tariffs, and the zones of `tariffCodes`. */
async function ruleContext(
  db: Executor,
  tenantId: string,
  tariffCodes: readonly string[] = [],
): Promise<OfferRuleContext> {
  const products = await store.allProducts(db, tenantId);
  const offers = await store.allOffers(db, tenantId);
  const tariffs = await store.allTariffs(db, tenantId);
  const zones = new Map<string, string[]>();
  for (const code of new Set(tariffCodes)) {
    const tariff = tariffs.find((t) => t.code === code);
    if (!tariff) continue;
    const versions = await store.listTariffVersions(db, tenantId, tariff.id, { status: 'published' });
    zones.set(code, [...new Set(versions.flatMap((v) => tariffZoneIds(v.definition)))]);
  }
  return {
    products: new Map<string, Service>(
      products.filter((p) => p.status !== 'retired').map((p) => [p.code, p.service]),
    ),
    offers: new Map<string, OfferKind>(offers.map((o) => [o.code, o.kind])),
    tariffs: new Set(tariffs.map((t) => t.code)),
    tariffZones: (code) => zones.get(code),
  };
}

function usageTariffs(content: OfferVersionContent): string[] {
  return content.prices.flatMap((p) => (p.kind === 'usage' ? [p.tariff] : []));
}

interface StoredVersion extends VersionRange {
  readonly id: string;
  readonly number: number;
  readonly effectiveTo: Instant | undefined;
}

/**
 * Where a new published version goes in a set: the open-ended version it supersedes is closed at
 * its start; the resulting set must have no overlap and no gap, and nothing in force before now
 * may change. Returns the versions to close.
 */
function planVersionInsert(
  published: readonly StoredVersion[],
  incoming: { effectiveFrom: Instant; effectiveTo?: Instant | undefined },
  now: Instant,
  owner: string,
): Array<{ id: string; effectiveTo: Instant }> {
  const closes: Array<{ id: string; effectiveTo: Instant }> = [];
  const adjusted = sortVersions(published).map((version) => {
    if (version.effectiveTo === undefined && version.effectiveFrom < incoming.effectiveFrom) {
      closes.push({ id: version.id, effectiveTo: incoming.effectiveFrom });
      return { ...version, effectiveTo: incoming.effectiveFrom };
    }
    return version;
  });
  const candidate: StoredVersion[] = [
    ...adjusted,
    { ...incoming, effectiveTo: incoming.effectiveTo, id: '', number: 0 },
  ];
  const describe = (v: StoredVersion) =>
    v.id === '' ? `the new version ${describeRange(v)}` : `version ${v.number} ${describeRange(v)}`;
  try {
    checkVersionSet(candidate, owner, describe);
  } catch (error) {
    // The new version's range is what does not fit: its start (or end) is the field at fault.
    if (!isTollgateError(error)) throw error;
    throw fail(error.definition, error.message, {
      record: owner,
      field: '/effectiveFrom',
      errors: (error.errors ?? []).map((e) => ({ field: '/effectiveFrom', message: e.message })),
    });
  }
  const history = historyProblems(published, candidate, now, (v) => v.id, describe);
  if (history.length > 0) {
    throw fail(
      CatalogErrors.version_started,
      `${owner}: ${history[0]}; a new version must start at ${now} or later`,
      {
        record: owner,
        field: '/effectiveFrom',
        errors: history.map((message) => ({ field: '/effectiveFrom', message })),
      },
    );
  }
  return closes;
}

function checkInstant(value: string, field: string): Instant {
  // Accepts any RFC 3339 date-time and stores the fixed-width UTC form.
  const match = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(value);
  const ms = match ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms))
    throw fail(
      CatalogErrors.invalid_version_range,
      `${field}: ${JSON.stringify(value)} is not a date-time like 2026-01-01T00:00:00Z`,
      {
        field,
      },
    );
  return new Date(ms).toISOString();
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** What the audit trail keeps of a tariff version: its definition can be megabytes, so a digest. */
function tariffVersionSummary(version: TariffVersion) {
  const text = JSON.stringify(version.definition);
  return {
    id: version.id,
    tariffId: version.tariffId,
    number: version.number,
    status: version.status,
    effectiveFrom: version.effectiveFrom,
    effectiveTo: version.effectiveTo ?? null,
    priceChangePolicy: version.priceChangePolicy,
    definitionSha256: sha256(text),
    definitionBytes: Buffer.byteLength(text),
  };
}

// ------------------------------------------------------------------------------------------------
// Products

export async function createProduct(
  deps: WorkflowDeps,
  caller: Caller,
  input: ProductDefinition,
): Promise<Product> {
  checkCode(input.code);
  return runChange(deps, caller, async (ctx) => {
    await codeFree(store.findProductByCode, ctx.tx, ctx.tenantId, input.code, 'product');
    const now = ctx.clock.now();
    const product: Product = {
      id: newId(P.product, ctx.clock),
      tenantId: ctx.tenantId,
      code: input.code,
      name: input.name,
      description: input.description,
      service: input.service,
      status: input.status ?? 'active',
      createdAt: now,
      updatedAt: now,
    };
    await store.insertProduct(ctx.tx, product);
    await recordChange(ctx, {
      action: 'product.created',
      entityType: 'product',
      entityId: product.id,
      after: product,
      event: { type: 'product.created', payload: product },
    });
    return product;
  });
}

export async function getProduct(deps: WorkflowDeps, tenantId: string, id: string): Promise<Product> {
  const found = await store.findProduct(readExecutor(deps), tenantId, id);
  if (!found) throw notFound('product_not_found', 'product', id);
  return found;
}

export function listProducts(
  deps: WorkflowDeps,
  tenantId: string,
  filter: EntityFilter & { readonly service?: Service },
): Promise<Page<Product>> {
  return store.listProducts(readExecutor(deps), tenantId, filter);
}

export interface ProductChanges {
  readonly name?: string;
  /** null removes it (JSON Merge Patch). */
  readonly description?: string | null;
  readonly service?: Service;
  readonly status?: CatalogStatus;
}

export async function updateProduct(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
  changes: ProductChanges,
): Promise<Product> {
  return runChange(deps, caller, async (ctx) => {
    const before = await store.findProduct(ctx.tx, ctx.tenantId, id);
    if (!before) throw notFound('product_not_found', 'product', id);
    const after: Product = { ...before, ...defined(changes), updatedAt: ctx.clock.now() };
    await store.updateProduct(ctx.tx, after);
    await recordChange(ctx, {
      action: 'product.updated',
      entityType: 'product',
      entityId: id,
      before,
      after,
      event: { type: 'product.updated', payload: after },
    });
    return after;
  });
}

export async function deleteProduct(deps: WorkflowDeps, caller: Caller, id: string): Promise<void> {
  await runChange(deps, caller, async (ctx) => {
    const before = await store.findProduct(ctx.tx, ctx.tenantId, id);
    if (!before) throw notFound('product_not_found', 'product', id);
    const users = await store.offersReferencing(ctx.tx, ctx.tenantId, { product: before.code });
    if (users.length > 0)
      throw fail(
        CatalogErrors.in_use,
        `product ${before.code} (${id}) is delivered by offers ${users.join(', ')}; retire it instead`,
        {
          record: id,
        },
      );
    await store.deleteProduct(ctx.tx, ctx.tenantId, id);
    await recordChange(ctx, {
      action: 'product.deleted',
      entityType: 'product',
      entityId: id,
      before,
      event: { type: 'product.deleted', payload: { id, code: before.code } },
    });
  });
}

/** The fields that are set; a `null` (JSON Merge Patch for "remove") becomes undefined. */
function defined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, v === null ? undefined : v]),
  ) as { [K in keyof T]?: Exclude<T[K], null> };
}

// ------------------------------------------------------------------------------------------------
// Offers and offer versions

export interface OfferView {
  readonly offer: Offer;
  /** Every version, drafts included, by start. */
  readonly versions: OfferVersion[];
  /** The published version in force now, else the next one to start, else the latest draft. */
  readonly current: OfferVersion | undefined;
  /** The prices of `current`. */
  readonly prices: PriceRecord[];
  readonly categories: Category[];
  /** The offer's products, in the order the offer lists them. */
  readonly products: Product[];
  /** For bundles: the bundled offers. */
  readonly components: Offer[];
}

export interface NewOfferInput extends Omit<OfferDefinition, 'versions'> {
  readonly versions?: readonly OfferVersionDefinition[];
}

export async function createOffer(
  deps: WorkflowDeps,
  caller: Caller,
  input: NewOfferInput,
  options: { attachPrices?: ReadonlyMap<string, string>; categories?: readonly string[] } = {},
): Promise<OfferView> {
  checkCode(input.code);
  const created = await runChange(deps, caller, async (ctx) => {
    await codeFree(store.findOfferByCode, ctx.tx, ctx.tenantId, input.code, 'offer');
    const versions = resolveImplicitEnds(input.versions ?? []).map((v) => ({
      ...v,
      effectiveFrom: checkInstant(v.effectiveFrom, '/versions/effectiveFrom'),
      ...(v.effectiveTo !== undefined
        ? { effectiveTo: checkInstant(v.effectiveTo, '/versions/effectiveTo') }
        : {}),
    }));
    const header = { ...input, components: input.components ?? [] };
    const context = await ruleContext(
      ctx.tx,
      ctx.tenantId,
      versions.flatMap((v) => usageTariffs(v)),
    );
    const withSelf: OfferRuleContext = {
      ...context,
      offers: new Map([...context.offers, [input.code, input.kind]]),
    };
    const problems = [
      ...offerProblems(header, withSelf),
      ...versions.flatMap((v, i) => offerVersionProblems(header, v, withSelf, `/versions/${i}`)),
    ];
    if (problems.length > 0) throw problemsError(problems, `offer ${input.code}`);
    checkVersionSet(versions, `offer ${input.code}`);
    const now = ctx.clock.now();
    const offer: Offer = {
      id: newId(P.offer, ctx.clock),
      tenantId: ctx.tenantId,
      code: input.code,
      name: input.name,
      description: input.description,
      kind: input.kind,
      currencies: [...input.currencies],
      products: [...input.products],
      components: [...(input.components ?? [])],
      status: input.status ?? 'active',
      createdAt: now,
      updatedAt: now,
    };
    await store.insertOffer(ctx.tx, offer);
    let number = 1;
    for (const version of sortVersions(versions)) {
      await insertOfferVersionWithPrices(ctx, offer, version, number++, 'published', options.attachPrices);
    }
    for (const code of options.categories ?? []) {
      const category = await store.findCategoryByCode(ctx.tx, ctx.tenantId, code);
      if (!category)
        throw fail(CatalogErrors.category_not_found, `no category ${code}`, {
          field: '/category',
          record: code,
        });
      await store.saveCategory(
        ctx.tx,
        { ...category, offers: [...category.offers, offer.code], updatedAt: now },
        false,
      );
    }
    await recordChange(ctx, {
      action: 'offer.created',
      entityType: 'offer',
      entityId: offer.id,
      after: { ...offer, versions },
      event: { type: 'offer.created', payload: offer },
    });
    return offer;
  });
  return getOffer(deps, caller.tenantId, created.id);
}

async function insertOfferVersionWithPrices(
  ctx: ChangeContext,
  offer: Offer,
  definition: OfferVersionDefinition,
  number: number,
  status: 'draft' | 'published',
  attach: ReadonlyMap<string, string> = new Map(),
): Promise<OfferVersion> {
  const { effectiveFrom, effectiveTo, priceChangePolicy, ...content } = definition;
  const now = ctx.clock.now();
  const version: OfferVersion = {
    id: newId(P.offerVersion, ctx.clock),
    tenantId: ctx.tenantId,
    offerId: offer.id,
    number,
    status,
    effectiveFrom,
    effectiveTo,
    priceChangePolicy: priceChangePolicy ?? 'next-period',
    content,
    createdAt: now,
    publishedAt: status === 'published' ? now : undefined,
  };
  await store.insertOfferVersion(ctx.tx, version);
  for (const price of content.prices) {
    const record: PriceRecord = {
      id: attach.get(price.code) ?? newId(P.price, ctx.clock),
      tenantId: ctx.tenantId,
      offerId: offer.id,
      offerVersionId: version.id,
      code: price.code,
      name: price.name ?? `${offer.name} ${price.code}`,
      description: undefined,
      status: status === 'published' ? 'active' : 'draft',
      definition: price,
      validFrom: effectiveFrom,
      validTo: effectiveTo,
      createdAt: now,
      updatedAt: now,
    };
    if (attach.has(price.code)) await store.updatePrice(ctx.tx, record);
    else await store.insertPrice(ctx.tx, record);
  }
  return version;
}

async function syncPriceValidity(
  ctx: ChangeContext,
  versionId: string,
  changes: { validTo?: Instant; status?: CatalogStatus },
) {
  for (const price of await store.listPricesOfVersion(ctx.tx, ctx.tenantId, versionId)) {
    await store.updatePrice(ctx.tx, {
      ...price,
      ...(changes.validTo !== undefined ? { validTo: changes.validTo } : {}),
      ...(changes.status !== undefined ? { status: changes.status } : {}),
      updatedAt: ctx.clock.now(),
    });
  }
}

async function offerView(db: Executor, offer: Offer, now: Instant): Promise<OfferView> {
  const versions = await store.listOfferVersions(db, offer.tenantId, offer.id);
  const published = versions.filter((v) => v.status === 'published');
  const current =
    published.find((v) => v.effectiveFrom <= now && (v.effectiveTo === undefined || v.effectiveTo > now)) ??
    published.find((v) => v.effectiveFrom > now) ??
    published[published.length - 1] ??
    versions[versions.length - 1];
  const prices = current ? await store.listPricesOfVersion(db, offer.tenantId, current.id) : [];
  const categoryCodes = await store.categoriesOfOffer(db, offer.tenantId, offer.code);
  const categories: Category[] = [];
  for (const code of categoryCodes) {
    const category = await store.findCategoryByCode(db, offer.tenantId, code);
    if (category) categories.push(category);
  }
  const products: Product[] = [];
  for (const code of offer.products) {
    const product = await store.findProductByCode(db, offer.tenantId, code);
    if (product) products.push(product);
  }
  const components: Offer[] = [];
  for (const code of offer.components) {
    const component = await store.findOfferByCode(db, offer.tenantId, code);
    if (component) components.push(component);
  }
  return { offer, versions, current, prices, categories, products, components };
}

export async function getOffer(deps: WorkflowDeps, tenantId: string, id: string): Promise<OfferView> {
  const db = readExecutor(deps);
  const offer = await store.findOffer(db, tenantId, id);
  if (!offer) throw notFound('offer_not_found', 'offer', id);
  return offerView(db, offer, deps.clock.now());
}

export async function listOffers(
  deps: WorkflowDeps,
  tenantId: string,
  filter: EntityFilter & { readonly kind?: OfferKind },
): Promise<Page<OfferView>> {
  const db = readExecutor(deps);
  const page = await store.listOffers(db, tenantId, filter);
  const items: OfferView[] = [];
  for (const offer of page.items) items.push(await offerView(db, offer, deps.clock.now()));
  return { items, total: page.total };
}

export interface OfferChanges {
  readonly name?: string;
  /** null removes it (JSON Merge Patch). */
  readonly description?: string | null;
  readonly status?: CatalogStatus;
  /** Codes of the categories that list the offer (replaces the membership). */
  readonly categories?: readonly string[];
}

export async function updateOffer(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
  changes: OfferChanges,
): Promise<OfferView> {
  await runChange(deps, caller, async (ctx) => {
    const before = await store.findOffer(ctx.tx, ctx.tenantId, id);
    if (!before) throw notFound('offer_not_found', 'offer', id);
    const { categories, ...fields } = changes;
    const after: Offer = { ...before, ...defined(fields), updatedAt: ctx.clock.now() };
    await store.updateOffer(ctx.tx, after);
    if (categories !== undefined) {
      const wanted = new Set(categories);
      for (const code of wanted) {
        if (!(await store.findCategoryByCode(ctx.tx, ctx.tenantId, code)))
          throw fail(CatalogErrors.category_not_found, `no category ${code}`, {
            field: '/category',
            record: code,
          });
      }
      for (const category of await store.allCategories(ctx.tx, ctx.tenantId)) {
        const has = category.offers.includes(before.code);
        if (has === wanted.has(category.code)) continue;
        const offers = has
          ? category.offers.filter((c) => c !== before.code)
          : [...category.offers, before.code];
        await store.saveCategory(ctx.tx, { ...category, offers, updatedAt: ctx.clock.now() }, false);
      }
    }
    await recordChange(ctx, {
      action: 'offer.updated',
      entityType: 'offer',
      entityId: id,
      before,
      after: { ...after, ...(categories !== undefined ? { categories } : {}) },
      event: { type: 'offer.updated', payload: after },
    });
  });
  return getOffer(deps, caller.tenantId, id);
}

/**
 * Changes an offer's description and, when `newVersion` is given, its prices: both in one
 * transaction (the TMF620 PATCH of a productOffering).
 */
export async function changeOffer(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
  changes: OfferChanges,
  newVersion?: { definition: OfferVersionDefinition; attachPrices?: ReadonlyMap<string, string> },
): Promise<OfferView> {
  await runChange(deps, caller, async () => {
    if (Object.keys(changes).length > 0) await updateOffer(deps, caller, id, changes);
    if (newVersion)
      await addOfferVersion(deps, caller, id, newVersion.definition, {
        attachPrices: newVersion.attachPrices ?? new Map(),
      });
  });
  return getOffer(deps, caller.tenantId, id);
}

export async function deleteOffer(deps: WorkflowDeps, caller: Caller, id: string): Promise<void> {
  await runChange(deps, caller, async (ctx) => {
    const before = await store.findOffer(ctx.tx, ctx.tenantId, id);
    if (!before) throw notFound('offer_not_found', 'offer', id);
    const now = ctx.clock.now();
    const started = (await store.listOfferVersions(ctx.tx, ctx.tenantId, id, { status: 'published' })).filter(
      (v) => v.effectiveFrom <= now,
    );
    if (started.length > 0)
      throw fail(
        CatalogErrors.in_use,
        `offer ${before.code} (${id}) has been in force since ${started[0]!.effectiveFrom}; its prices are history that rating needs, so retire it instead of deleting it`,
        { record: id },
      );
    const users = await store.offersReferencing(ctx.tx, ctx.tenantId, { offer: before.code });
    if (users.length > 0)
      throw fail(
        CatalogErrors.in_use,
        `offer ${before.code} (${id}) is referenced by offers ${users.join(', ')}`,
        { record: id },
      );
    for (const category of await store.allCategories(ctx.tx, ctx.tenantId)) {
      if (category.offers.includes(before.code))
        await store.saveCategory(
          ctx.tx,
          { ...category, offers: category.offers.filter((c) => c !== before.code) },
          false,
        );
    }
    await store.deleteOffer(ctx.tx, ctx.tenantId, id);
    await recordChange(ctx, {
      action: 'offer.deleted',
      entityType: 'offer',
      entityId: id,
      before,
      event: { type: 'offer.deleted', payload: { id, code: before.code } },
    });
  });
}

export interface NewVersionOptions {
  /** A draft is stored and checked on its own, and joins the version set only when published. */
  readonly draft?: boolean;
  /** Standalone prices (TMF productOfferingPrice ids) that become this version's prices, by price code. */
  readonly attachPrices?: ReadonlyMap<string, string>;
}

/** A change to an offer: a new version with its effective date (published at once unless a draft). */
export async function addOfferVersion(
  deps: WorkflowDeps,
  caller: Caller,
  offerId: string,
  input: OfferVersionDefinition,
  options: NewVersionOptions = {},
): Promise<OfferVersion> {
  return runChange(deps, caller, async (ctx) => {
    const offer = await store.findOffer(ctx.tx, ctx.tenantId, offerId);
    if (!offer) throw notFound('offer_not_found', 'offer', offerId);
    const definition: OfferVersionDefinition = {
      ...input,
      effectiveFrom: checkInstant(input.effectiveFrom, '/effectiveFrom'),
      ...(input.effectiveTo !== undefined
        ? { effectiveTo: checkInstant(input.effectiveTo, '/effectiveTo') }
        : {}),
    };
    const context = await ruleContext(ctx.tx, ctx.tenantId, usageTariffs(definition));
    const problems = offerVersionProblems(offer, definition, context);
    if (problems.length > 0) throw problemsError(problems, `offer ${offer.code}`);
    if (definition.effectiveTo !== undefined && definition.effectiveTo <= definition.effectiveFrom)
      throw fail(CatalogErrors.invalid_version_range, 'effectiveTo must be after effectiveFrom', {
        field: '/effectiveTo',
      });
    const number = await store.nextVersionNumber(ctx.tx, 'offer_versions', ctx.tenantId, offer.id);
    if (!options.draft) {
      const published = await store.listOfferVersions(ctx.tx, ctx.tenantId, offer.id, {
        status: 'published',
      });
      const closes = planVersionInsert(published, definition, ctx.clock.now(), `offer ${offer.code}`);
      for (const close of closes) {
        await store.updateOfferVersion(ctx.tx, ctx.tenantId, close.id, { effectiveTo: close.effectiveTo });
        await syncPriceValidity(ctx, close.id, { validTo: close.effectiveTo });
      }
    }
    const version = await insertOfferVersionWithPrices(
      ctx,
      offer,
      definition,
      number,
      options.draft ? 'draft' : 'published',
      options.attachPrices,
    );
    const action = options.draft ? 'offer_version.drafted' : 'offer_version.published';
    await recordChange(ctx, {
      action,
      entityType: 'offer_version',
      entityId: version.id,
      after: version,
      event: { type: action, payload: { ...version, offerCode: offer.code } },
    });
    return version;
  });
}

export async function publishOfferVersion(
  deps: WorkflowDeps,
  caller: Caller,
  versionId: string,
): Promise<OfferVersion> {
  return runChange(deps, caller, async (ctx) => {
    const draft = await store.findOfferVersion(ctx.tx, ctx.tenantId, versionId);
    if (!draft) throw notFound('version_not_found', 'offer version', versionId);
    if (draft.status !== 'draft')
      throw fail(CatalogErrors.version_not_draft, `offer version ${versionId} is already published`, {
        record: versionId,
      });
    const offer = (await store.findOffer(ctx.tx, ctx.tenantId, draft.offerId))!;
    const context = await ruleContext(ctx.tx, ctx.tenantId, usageTariffs(draft.content));
    const problems = offerVersionProblems(offer, draft.content, context);
    if (problems.length > 0) throw problemsError(problems, `offer ${offer.code}`);
    const published = await store.listOfferVersions(ctx.tx, ctx.tenantId, offer.id, { status: 'published' });
    for (const close of planVersionInsert(published, draft, ctx.clock.now(), `offer ${offer.code}`)) {
      await store.updateOfferVersion(ctx.tx, ctx.tenantId, close.id, { effectiveTo: close.effectiveTo });
      await syncPriceValidity(ctx, close.id, { validTo: close.effectiveTo });
    }
    const now = ctx.clock.now();
    await store.updateOfferVersion(ctx.tx, ctx.tenantId, versionId, {
      status: 'published',
      publishedAt: now,
    });
    await syncPriceValidity(ctx, versionId, { status: 'active' });
    const after: OfferVersion = { ...draft, status: 'published', publishedAt: now };
    await recordChange(ctx, {
      action: 'offer_version.published',
      entityType: 'offer_version',
      entityId: versionId,
      before: draft,
      after,
      event: { type: 'offer_version.published', payload: { ...after, offerCode: offer.code } },
    });
    return after;
  });
}

export async function listOfferVersions(
  deps: WorkflowDeps,
  tenantId: string,
  offerId: string,
): Promise<OfferVersion[]> {
  const db = readExecutor(deps);
  if (!(await store.findOffer(db, tenantId, offerId))) throw notFound('offer_not_found', 'offer', offerId);
  return store.listOfferVersions(db, tenantId, offerId);
}

async function findOfferByRef(db: Executor, tenantId: string, ref: string): Promise<Offer> {
  const offer =
    (await store.findOffer(db, tenantId, ref)) ?? (await store.findOfferByCode(db, tenantId, ref));
  if (!offer) throw notFound('offer_not_found', 'offer', ref);
  return offer;
}

/** The published version of an offer (by id or code) in force at `instant`. */
export async function offerVersionAt(
  deps: WorkflowDeps,
  tenantId: string,
  offerRef: string,
  instant: Instant,
): Promise<{ offer: Offer; version: OfferVersion }> {
  const db = readExecutor(deps);
  const offer = await findOfferByRef(db, tenantId, offerRef);
  const at = checkInstant(instant, 'at');
  const version = await store.findOfferVersionAt(db, tenantId, offer.id, at);
  if (!version)
    throw fail(CatalogErrors.no_version_in_force, `offer ${offer.code} has no version in force at ${at}`, {
      record: offer.id,
    });
  return { offer, version };
}

// ------------------------------------------------------------------------------------------------
// Tariffs and tariff versions

export interface NewTariffInput {
  readonly code: string;
  readonly name: string;
  readonly description?: string;
  readonly versions?: readonly TariffVersionDefinition[];
}

function checkTariffDefinition(
  definition: unknown,
  tariff: { code: string; name: string },
  prefix = '/definition',
): void {
  const problems = tariffDefinitionProblems(definition, tariff.code, tariff.name);
  if (problems.length > 0) throw problemsError(problems, `tariff ${tariff.code}`, prefix);
}

export async function createTariff(
  deps: WorkflowDeps,
  caller: Caller,
  input: NewTariffInput,
): Promise<Tariff> {
  checkCode(input.code);
  return runChange(deps, caller, async (ctx) => {
    await codeFree(store.findTariffByCode, ctx.tx, ctx.tenantId, input.code, 'tariff');
    const versions = resolveImplicitEnds(input.versions ?? []).map((v) => ({
      ...v,
      effectiveFrom: checkInstant(v.effectiveFrom, '/versions/effectiveFrom'),
      ...(v.effectiveTo !== undefined
        ? { effectiveTo: checkInstant(v.effectiveTo, '/versions/effectiveTo') }
        : {}),
    }));
    versions.forEach((v, i) => checkTariffDefinition(v.definition, input, `/versions/${i}/definition`));
    checkVersionSet(versions, `tariff ${input.code}`);
    const now = ctx.clock.now();
    const tariff: Tariff = {
      id: newId(P.tariff, ctx.clock),
      tenantId: ctx.tenantId,
      code: input.code,
      name: input.name,
      description: input.description,
      status: 'active',
      createdAt: now,
      updatedAt: now,
    };
    await store.insertTariff(ctx.tx, tariff);
    let number = 1;
    for (const version of sortVersions(versions))
      await insertTariffVersion(ctx, tariff, version, number++, 'published');
    await recordChange(ctx, {
      action: 'tariff.created',
      entityType: 'tariff',
      entityId: tariff.id,
      after: tariff,
      event: { type: 'tariff.created', payload: tariff },
    });
    return tariff;
  });
}

async function insertTariffVersion(
  ctx: ChangeContext,
  tariff: Tariff,
  definition: TariffVersionDefinition,
  number: number,
  status: 'draft' | 'published',
  correction?: TariffVersion['correction'],
): Promise<TariffVersion> {
  const now = ctx.clock.now();
  const version: TariffVersion = {
    id: newId(P.tariffVersion, ctx.clock),
    tenantId: ctx.tenantId,
    tariffId: tariff.id,
    number,
    status,
    effectiveFrom: definition.effectiveFrom,
    effectiveTo: definition.effectiveTo,
    priceChangePolicy: definition.priceChangePolicy ?? 'next-period',
    definition: definition.definition,
    createdAt: now,
    publishedAt: status === 'published' ? now : undefined,
    ...(correction !== undefined ? { correction } : {}),
  };
  await store.insertTariffVersion(ctx.tx, version);
  return version;
}

async function findTariffByRef(db: Executor, tenantId: string, ref: string): Promise<Tariff> {
  const tariff =
    (await store.findTariff(db, tenantId, ref)) ?? (await store.findTariffByCode(db, tenantId, ref));
  if (!tariff) throw notFound('tariff_not_found', 'tariff', ref);
  return tariff;
}

export async function getTariff(deps: WorkflowDeps, tenantId: string, id: string): Promise<Tariff> {
  const found = await store.findTariff(readExecutor(deps), tenantId, id);
  if (!found) throw notFound('tariff_not_found', 'tariff', id);
  return found;
}

export function listTariffs(
  deps: WorkflowDeps,
  tenantId: string,
  filter: EntityFilter,
): Promise<Page<Tariff>> {
  return store.listTariffs(readExecutor(deps), tenantId, filter);
}

/** The versions of a tariff, without their definitions (which can be megabytes each). */
export async function listTariffVersions(
  deps: WorkflowDeps,
  tenantId: string,
  tariffId: string,
): Promise<TariffVersion[]> {
  const db = readExecutor(deps);
  if (!(await store.findTariff(db, tenantId, tariffId)))
    throw notFound('tariff_not_found', 'tariff', tariffId);
  return store.listTariffVersions(db, tenantId, tariffId, { withDefinitions: false });
}

export async function getTariffVersion(
  deps: WorkflowDeps,
  tenantId: string,
  versionId: string,
): Promise<TariffVersion> {
  const found = await store.findTariffVersion(readExecutor(deps), tenantId, versionId);
  if (!found) throw notFound('version_not_found', 'tariff version', versionId);
  return found;
}

/** A change to a tariff: a new version with its effective date (published at once unless a draft). */
export async function addTariffVersion(
  deps: WorkflowDeps,
  caller: Caller,
  tariffRef: string,
  input: Omit<TariffVersionDefinition, 'definition'> & { readonly definition?: unknown },
  options: { draft?: boolean } = {},
): Promise<TariffVersion> {
  return runChange(deps, caller, async (ctx) => {
    const tariff = await findTariffByRef(ctx.tx, ctx.tenantId, tariffRef);
    let body = input.definition;
    if (body === undefined) {
      // No definition: the new version keeps the rates of the latest published one (a new date or policy).
      const latest = (
        await store.listTariffVersions(ctx.tx, ctx.tenantId, tariff.id, {
          status: 'published',
          withDefinitions: false,
        })
      ).pop();
      if (!latest)
        throw fail(
          CatalogErrors.invalid_definition,
          `tariff ${tariff.code} has no version to copy; give the definition`,
          {
            field: '/definition',
          },
        );
      body = (await store.findTariffVersion(ctx.tx, ctx.tenantId, latest.id))!.definition;
    }
    const definition: TariffVersionDefinition = {
      ...input,
      definition: body,
      effectiveFrom: checkInstant(input.effectiveFrom, '/effectiveFrom'),
      ...(input.effectiveTo !== undefined
        ? { effectiveTo: checkInstant(input.effectiveTo, '/effectiveTo') }
        : {}),
    };
    if (definition.effectiveTo !== undefined && definition.effectiveTo <= definition.effectiveFrom)
      throw fail(CatalogErrors.invalid_version_range, 'effectiveTo must be after effectiveFrom', {
        field: '/effectiveTo',
      });
    checkTariffDefinition(definition.definition, tariff);
    return storeTariffVersion(ctx, tariff, definition, options.draft === true);
  });
}

async function storeTariffVersion(
  ctx: ChangeContext,
  tariff: Tariff,
  definition: TariffVersionDefinition,
  draft: boolean,
  auditExtra: Record<string, unknown> = {},
): Promise<TariffVersion> {
  const number = await store.nextVersionNumber(ctx.tx, 'tariff_versions', ctx.tenantId, tariff.id);
  if (!draft) {
    const published = await store.listTariffVersions(ctx.tx, ctx.tenantId, tariff.id, {
      status: 'published',
      withDefinitions: false,
    });
    for (const close of planVersionInsert(published, definition, ctx.clock.now(), `tariff ${tariff.code}`))
      await store.updateTariffVersion(ctx.tx, ctx.tenantId, close.id, { effectiveTo: close.effectiveTo });
  }
  const version = await insertTariffVersion(ctx, tariff, definition, number, draft ? 'draft' : 'published');
  const action = draft ? 'tariff_version.drafted' : 'tariff_version.published';
  const summary = { ...tariffVersionSummary(version), tariffCode: tariff.code, ...auditExtra };
  await recordChange(ctx, {
    action,
    entityType: 'tariff_version',
    entityId: version.id,
    after: summary,
    event: { type: action, payload: summary },
  });
  return version;
}

export async function publishTariffVersion(
  deps: WorkflowDeps,
  caller: Caller,
  versionId: string,
): Promise<TariffVersion> {
  return runChange(deps, caller, async (ctx) => {
    const draft = await store.findTariffVersion(ctx.tx, ctx.tenantId, versionId);
    if (!draft) throw notFound('version_not_found', 'tariff version', versionId);
    if (draft.status !== 'draft')
      throw fail(CatalogErrors.version_not_draft, `tariff version ${versionId} is already published`, {
        record: versionId,
      });
    const tariff = (await store.findTariff(ctx.tx, ctx.tenantId, draft.tariffId))!;
    checkTariffDefinition(draft.definition, tariff);
    const published = await store.listTariffVersions(ctx.tx, ctx.tenantId, tariff.id, {
      status: 'published',
      withDefinitions: false,
    });
    for (const close of planVersionInsert(published, draft, ctx.clock.now(), `tariff ${tariff.code}`))
      await store.updateTariffVersion(ctx.tx, ctx.tenantId, close.id, { effectiveTo: close.effectiveTo });
    const now = ctx.clock.now();
    await store.updateTariffVersion(ctx.tx, ctx.tenantId, versionId, {
      status: 'published',
      publishedAt: now,
    });
    const after: TariffVersion = { ...draft, status: 'published', publishedAt: now };
    const summary = { ...tariffVersionSummary(after), tariffCode: tariff.code };
    await recordChange(ctx, {
      action: 'tariff_version.published',
      entityType: 'tariff_version',
      entityId: versionId,
      after: summary,
      event: { type: 'tariff_version.published', payload: summary },
    });
    return after;
  });
}

/** The longest correction reason kept (it goes into the version and the audit record). */
const MAX_CORRECTION_REASON = 500;

/**
 * Corrects a published tariff version that has started (a wrong rate found after usage was rated
 * with it): a new published version with the corrected definition takes its place for exactly its
 * range, naming it and the reason, and it becomes 'superseded' — kept, so the records rated under
 * it still say what they were rated with, but never in force again. History is otherwise not
 * rewritten: rated records keep their charges until a re-rating run (`usage rerate`) writes
 * delta records against the corrected version. A version that has not started is changed by
 * replacing it, not corrected. Audited as tariff_version.corrected, with the event of that name.
 */
export async function correctTariffVersion(
  deps: WorkflowDeps,
  caller: Caller,
  versionId: string,
  input: { readonly definition: unknown; readonly reason: string },
): Promise<TariffVersion> {
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (reason.length === 0 || reason.length > MAX_CORRECTION_REASON)
    throw fail(
      CommonErrors.invalid_input,
      `a correction needs a reason of 1 to ${MAX_CORRECTION_REASON} characters (what was wrong)`,
      { field: '/reason', record: versionId },
    );
  return runChange(deps, caller, async (ctx) => {
    const old = await store.findTariffVersion(ctx.tx, ctx.tenantId, versionId);
    if (!old) throw notFound('version_not_found', 'tariff version', versionId);
    const now = ctx.clock.now();
    if (old.status !== 'published')
      throw fail(
        CatalogErrors.version_not_correctable,
        old.status === 'draft'
          ? `tariff version ${versionId} is a draft: change it or replace it, then publish it`
          : `tariff version ${versionId} was already corrected; correct the version that replaced it`,
        { record: versionId },
      );
    if (old.effectiveFrom > now)
      throw fail(
        CatalogErrors.version_not_correctable,
        `tariff version ${versionId} starts at ${old.effectiveFrom}, after now: nothing was rated with it; ` +
          'add a version with the right rates from the same instant instead',
        { record: versionId },
      );
    const tariff = (await store.findTariff(ctx.tx, ctx.tenantId, old.tariffId))!;
    checkTariffDefinition(input.definition, tariff);
    await store.updateTariffVersion(ctx.tx, ctx.tenantId, old.id, { status: 'superseded' });
    const number = await store.nextVersionNumber(ctx.tx, 'tariff_versions', ctx.tenantId, tariff.id);
    const version = await insertTariffVersion(
      ctx,
      tariff,
      {
        effectiveFrom: old.effectiveFrom,
        ...(old.effectiveTo !== undefined ? { effectiveTo: old.effectiveTo } : {}),
        priceChangePolicy: old.priceChangePolicy,
        definition: input.definition,
      },
      number,
      'published',
      { correctsVersionId: old.id, reason },
    );
    const summary = {
      ...tariffVersionSummary(version),
      tariffCode: tariff.code,
      correctsVersionId: old.id,
      reason,
    };
    await recordChange(ctx, {
      action: 'tariff_version.corrected',
      entityType: 'tariff_version',
      entityId: version.id,
      before: { ...tariffVersionSummary(old), tariffCode: tariff.code },
      after: summary,
      event: { type: 'tariff_version.corrected', payload: summary },
    });
    return version;
  });
}

/** The published version of a tariff (by id or code) in force at `instant`. */
export async function tariffVersionAt(
  deps: WorkflowDeps,
  tenantId: string,
  tariffRef: string,
  instant: Instant,
): Promise<{ tariff: Tariff; version: TariffVersion }> {
  const db = readExecutor(deps);
  const tariff = await findTariffByRef(db, tenantId, tariffRef);
  const at = checkInstant(instant, 'at');
  const version = await store.findTariffVersionAt(db, tenantId, tariff.id, at);
  if (!version)
    throw fail(CatalogErrors.no_version_in_force, `tariff ${tariff.code} has no version in force at ${at}`, {
      record: tariff.id,
    });
  return { tariff, version };
}

export interface RateDeckImportInput {
  /** The tariff's id or code. */
  readonly tariff: string;
  readonly csv: string;
  readonly effectiveFrom: string;
  readonly effectiveTo?: string;
  readonly priceChangePolicy?: PriceChangePolicy;
  readonly draft?: boolean;
}

export interface RateDeckImportResult {
  readonly version: TariffVersion;
  readonly rows: number;
  readonly zones: number;
  readonly prefixes: number;
}

/**
 * Imports a rate deck (CSV) into a new version of a tariff: the deck's prefix table, zones and
 * voice rates replace those of the tariff's latest version (its data, SMS, roaming and time bands
 * are kept), the whole definition is validated and compiled, and it is stored as one document.
 * A deck with any bad row imports nothing; every bad row is reported with its line and column.
 */
export async function importRateDeck(
  deps: WorkflowDeps,
  caller: Caller,
  input: RateDeckImportInput,
): Promise<RateDeckImportResult> {
  const effectiveFrom = checkInstant(input.effectiveFrom, 'effectiveFrom');
  const effectiveTo =
    input.effectiveTo === undefined ? undefined : checkInstant(input.effectiveTo, 'effectiveTo');
  const result = parseRateDeck(input.csv, { tableId: 'rate-deck', tableName: 'Rate deck' });
  const fragment = requireRateDeckFragment(result);
  return runChange(deps, caller, async (ctx) => {
    const tariff = await findTariffByRef(ctx.tx, ctx.tenantId, input.tariff);
    const versions = await store.listTariffVersions(ctx.tx, ctx.tenantId, tariff.id, {
      withDefinitions: false,
    });
    const latest = versions.filter((v) => v.status === 'published').pop();
    const baseDefinition = latest
      ? ((await store.findTariffVersion(ctx.tx, ctx.tenantId, latest.id))?.definition as Record<
          string,
          unknown
        >)
      : undefined;
    const tenant = await findTenantById(ctx.tx, ctx.tenantId);
    const definition = mergeRateDeck(baseDefinition, fragment, tenant?.settings.timeZone ?? 'UTC');
    checkTariffDefinition(definition, tariff);
    compileTariff(completeTariffDefinition(definition, tariff.code, tariff.name) as TariffDefinition);
    const version = await storeTariffVersion(
      ctx,
      tariff,
      {
        effectiveFrom,
        ...(effectiveTo !== undefined ? { effectiveTo } : {}),
        ...(input.priceChangePolicy !== undefined ? { priceChangePolicy: input.priceChangePolicy } : {}),
        definition,
      },
      input.draft === true,
      { rateDeckRows: result.rows },
    );
    return {
      version,
      rows: result.rows,
      zones: fragment.zones.length,
      prefixes: fragment.prefixTable.entries.length,
    };
  });
}

type Fragment = ReturnType<typeof requireRateDeckFragment>;

function mergeRateDeck(
  base: Record<string, unknown> | undefined,
  fragment: Fragment,
  timeZone: string,
): Record<string, unknown> {
  const deckZones = new Set(fragment.zones.map((z) => z.id));
  // Zones the rest of the tariff still uses (roaming networks, roaming data and event prices).
  const kept = new Set<string>();
  const roaming = (base?.roaming as { networks?: Array<{ zone?: string }> } | undefined)?.networks ?? [];
  for (const network of roaming) if (typeof network.zone === 'string') kept.add(network.zone);
  for (const list of [base?.data, base?.events]) {
    for (const item of (Array.isArray(list) ? list : []) as Array<{ roamingZone?: string }>)
      if (typeof item.roamingZone === 'string') kept.add(item.roamingZone);
  }
  const baseZones = ((base?.zones as Array<{ id: string }> | undefined) ?? []).filter(
    (z) => kept.has(z.id) && !deckZones.has(z.id),
  );
  const baseVoice = base?.voice as { bandCrossing?: string; rates?: Array<{ zone: string }> } | undefined;
  const roamingRates = (baseVoice?.rates ?? []).filter(
    (rate) => kept.has(rate.zone) && !deckZones.has(rate.zone),
  );
  const currencies = [
    ...new Set([...((base?.currencies as string[] | undefined) ?? []), ...fragment.currencies]),
  ];
  return {
    ...(base ?? {}),
    timeZone: (base?.timeZone as string | undefined) ?? timeZone,
    currencies,
    zones: [...fragment.zones, ...baseZones],
    prefixTables: [fragment.prefixTable],
    voice: {
      prefixTableId: fragment.prefixTable.id,
      bandCrossing: baseVoice?.bandCrossing ?? 'start',
      rates: [...fragment.rates, ...roamingRates],
    },
  };
}

// ------------------------------------------------------------------------------------------------
// Standalone prices (TMF620 productOfferingPrice)

export interface NewPriceInput {
  readonly name: string;
  readonly description?: string;
  readonly definition: PriceDefinition;
  readonly status?: CatalogStatus;
  readonly validFrom?: Instant;
  readonly validTo?: Instant;
}

function checkStandalonePrice(definition: PriceDefinition, field = '/price'): void {
  if (definition.kind === 'usage') return;
  for (const [i, money] of definition.amounts.entries()) {
    if (!isCurrency(money.currency))
      throw fail(
        CatalogErrors.invalid_definition,
        `${JSON.stringify(money.currency)} is not an ISO 4217 currency code`,
        {
          field: `${field}/unit`,
          record: String(i),
        },
      );
  }
  const problems = offerVersionProblems(
    { code: 'standalone', kind: 'plan', currencies: definition.amounts.map((m) => m.currency), products: [] },
    { prices: [definition] },
    { products: new Map(), offers: new Map(), tariffs: new Set() },
  );
  if (problems.length > 0) {
    const first = problems[0]!;
    throw fail(
      first.code === 'negative_amount' ? CatalogErrors.negative_amount : CatalogErrors.invalid_definition,
      first.message,
      {
        field: /amount$/.test(first.path) ? `${field}/value` : field,
      },
    );
  }
}

export async function createPrice(
  deps: WorkflowDeps,
  caller: Caller,
  input: NewPriceInput,
): Promise<PriceRecord> {
  checkStandalonePrice(input.definition);
  return runChange(deps, caller, async (ctx) => {
    if (input.definition.kind === 'usage') {
      if (!(await store.findTariffByCode(ctx.tx, ctx.tenantId, input.definition.tariff)))
        throw fail(CatalogErrors.tariff_not_found, `no tariff ${input.definition.tariff}`, {
          field: '/tariff',
        });
      if (!(await store.findProductByCode(ctx.tx, ctx.tenantId, input.definition.product)))
        throw fail(CatalogErrors.product_not_found, `no product ${input.definition.product}`, {
          field: '/productSpecification',
        });
    }
    const now = ctx.clock.now();
    const price: PriceRecord = {
      id: newId(P.price, ctx.clock),
      tenantId: ctx.tenantId,
      offerId: undefined,
      offerVersionId: undefined,
      code: input.definition.code,
      name: input.name,
      description: input.description,
      status: input.status ?? 'draft',
      definition: input.definition,
      validFrom: input.validFrom,
      validTo: input.validTo,
      createdAt: now,
      updatedAt: now,
    };
    await store.insertPrice(ctx.tx, price);
    await recordChange(ctx, {
      action: 'price.created',
      entityType: 'price',
      entityId: price.id,
      after: price,
      event: { type: 'price.created', payload: price },
    });
    return price;
  });
}

export async function getPrice(deps: WorkflowDeps, tenantId: string, id: string): Promise<PriceRecord> {
  const found = await store.findPrice(readExecutor(deps), tenantId, id);
  if (!found) throw notFound('price_not_found', 'price', id);
  return found;
}

export function listPrices(
  deps: WorkflowDeps,
  tenantId: string,
  filter: EntityFilter & { kind?: string },
): Promise<Page<PriceRecord>> {
  return store.listPrices(readExecutor(deps), tenantId, filter);
}

export interface PriceChanges {
  readonly name?: string;
  /** null removes it (JSON Merge Patch). */
  readonly description?: string | null;
  readonly status?: CatalogStatus;
  readonly definition?: PriceDefinition;
  readonly validFrom?: Instant;
  readonly validTo?: Instant;
}

/** Changes a standalone price. A price of an offer version is history: change the offer instead. */
export async function updatePrice(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
  changes: PriceChanges,
): Promise<PriceRecord> {
  if (changes.definition) checkStandalonePrice(changes.definition);
  return runChange(deps, caller, async (ctx) => {
    const before = await store.findPrice(ctx.tx, ctx.tenantId, id);
    if (!before) throw notFound('price_not_found', 'price', id);
    if (before.offerVersionId !== undefined)
      throw fail(
        CatalogErrors.price_read_only,
        `price ${id} belongs to offer version ${before.offerVersionId}; prices change through a new version of the offer`,
        { record: id },
      );
    const after: PriceRecord = {
      ...before,
      ...defined(changes),
      code: changes.definition?.code ?? before.code,
      updatedAt: ctx.clock.now(),
    };
    await store.updatePrice(ctx.tx, after);
    await recordChange(ctx, {
      action: 'price.updated',
      entityType: 'price',
      entityId: id,
      before,
      after,
      event: { type: 'price.updated', payload: after },
    });
    return after;
  });
}

export async function deletePrice(deps: WorkflowDeps, caller: Caller, id: string): Promise<void> {
  await runChange(deps, caller, async (ctx) => {
    const before = await store.findPrice(ctx.tx, ctx.tenantId, id);
    if (!before) throw notFound('price_not_found', 'price', id);
    if (before.offerVersionId !== undefined)
      throw fail(
        CatalogErrors.price_read_only,
        `price ${id} belongs to offer version ${before.offerVersionId} and cannot be deleted on its own`,
        {
          record: id,
        },
      );
    await store.deletePrice(ctx.tx, ctx.tenantId, id);
    await recordChange(ctx, {
      action: 'price.deleted',
      entityType: 'price',
      entityId: id,
      before,
      event: { type: 'price.deleted', payload: { id } },
    });
  });
}

// ------------------------------------------------------------------------------------------------
// Categories and catalogs

export interface CategoryInput {
  readonly code: string;
  readonly name: string;
  readonly description?: string;
  readonly parent?: string;
  readonly offers?: readonly string[];
  readonly status?: CatalogStatus;
}

async function checkCategoryRefs(
  db: Executor,
  tenantId: string,
  input: { code: string; parent?: string; offers?: readonly string[] },
) {
  if (input.parent !== undefined) {
    if (input.parent === input.code)
      throw fail(CatalogErrors.invalid_definition, 'a category cannot be its own parent', {
        field: '/parentId',
      });
    if (!(await store.findCategoryByCode(db, tenantId, input.parent)))
      throw fail(CatalogErrors.category_not_found, `no parent category ${input.parent}`, {
        field: '/parentId',
      });
  }
  for (const code of input.offers ?? []) {
    if (!(await store.findOfferByCode(db, tenantId, code)))
      throw fail(CatalogErrors.offer_not_found, `no offer ${code}`, { field: '/productOffering' });
  }
}

export async function createCategory(
  deps: WorkflowDeps,
  caller: Caller,
  input: CategoryInput,
): Promise<Category> {
  checkCode(input.code);
  return runChange(deps, caller, async (ctx) => {
    await codeFree(store.findCategoryByCode, ctx.tx, ctx.tenantId, input.code, 'category');
    await checkCategoryRefs(ctx.tx, ctx.tenantId, input);
    const now = ctx.clock.now();
    const category: Category = {
      id: newId(P.category, ctx.clock),
      tenantId: ctx.tenantId,
      code: input.code,
      name: input.name,
      description: input.description,
      parent: input.parent,
      offers: [...(input.offers ?? [])],
      status: input.status ?? 'active',
      createdAt: now,
      updatedAt: now,
    };
    await store.saveCategory(ctx.tx, category, true);
    await recordChange(ctx, {
      action: 'category.created',
      entityType: 'category',
      entityId: category.id,
      after: category,
      event: { type: 'category.created', payload: category },
    });
    return category;
  });
}

export async function getCategory(deps: WorkflowDeps, tenantId: string, id: string): Promise<Category> {
  const found = await store.findCategory(readExecutor(deps), tenantId, id);
  if (!found) throw notFound('category_not_found', 'category', id);
  return found;
}

export async function findCategoryByCode(
  deps: WorkflowDeps,
  tenantId: string,
  code: string,
): Promise<Category | undefined> {
  return store.findCategoryByCode(readExecutor(deps), tenantId, code);
}

export function listCategories(
  deps: WorkflowDeps,
  tenantId: string,
  filter: EntityFilter,
): Promise<Page<Category>> {
  return store.listCategories(readExecutor(deps), tenantId, filter);
}

export async function updateCategory(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
  changes: Partial<Omit<CategoryInput, 'code' | 'parent' | 'description'>> & {
    parent?: string | null;
    description?: string | null;
  },
): Promise<Category> {
  return runChange(deps, caller, async (ctx) => {
    const before = await store.findCategory(ctx.tx, ctx.tenantId, id);
    if (!before) throw notFound('category_not_found', 'category', id);
    const { parent, ...rest } = changes;
    const after: Category = {
      ...before,
      ...defined(rest),
      parent: parent === null ? undefined : (parent ?? before.parent),
      updatedAt: ctx.clock.now(),
    };
    await checkCategoryRefs(ctx.tx, ctx.tenantId, {
      code: after.code,
      ...(after.parent !== undefined ? { parent: after.parent } : {}),
      offers: after.offers,
    });
    await store.saveCategory(ctx.tx, after, false);
    await recordChange(ctx, {
      action: 'category.updated',
      entityType: 'category',
      entityId: id,
      before,
      after,
      event: { type: 'category.updated', payload: after },
    });
    return after;
  });
}

export async function deleteCategory(deps: WorkflowDeps, caller: Caller, id: string): Promise<void> {
  await runChange(deps, caller, async (ctx) => {
    const before = await store.findCategory(ctx.tx, ctx.tenantId, id);
    if (!before) throw notFound('category_not_found', 'category', id);
    const children = (await store.allCategories(ctx.tx, ctx.tenantId)).filter(
      (c) => c.parent === before.code,
    );
    if (children.length > 0)
      throw fail(
        CatalogErrors.in_use,
        `category ${before.code} (${id}) has subcategories ${children.map((c) => c.code).join(', ')}`,
        {
          record: id,
        },
      );
    for (const catalog of await store.allCatalogs(ctx.tx, ctx.tenantId)) {
      if (catalog.categories.includes(before.code))
        await store.saveCatalog(
          ctx.tx,
          { ...catalog, categories: catalog.categories.filter((c) => c !== before.code) },
          false,
        );
    }
    await store.deleteCategory(ctx.tx, ctx.tenantId, id);
    await recordChange(ctx, {
      action: 'category.deleted',
      entityType: 'category',
      entityId: id,
      before,
      event: { type: 'category.deleted', payload: { id, code: before.code } },
    });
  });
}

export interface CatalogInput {
  readonly code: string;
  readonly name: string;
  readonly description?: string;
  readonly categories?: readonly string[];
  readonly status?: CatalogStatus;
}

async function checkCatalogRefs(db: Executor, tenantId: string, categories: readonly string[]) {
  for (const code of categories) {
    if (!(await store.findCategoryByCode(db, tenantId, code)))
      throw fail(CatalogErrors.category_not_found, `no category ${code}`, { field: '/category' });
  }
}

export async function createCatalog(
  deps: WorkflowDeps,
  caller: Caller,
  input: CatalogInput,
): Promise<CatalogRecord> {
  checkCode(input.code);
  return runChange(deps, caller, async (ctx) => {
    await codeFree(store.findCatalogByCode, ctx.tx, ctx.tenantId, input.code, 'catalog');
    await checkCatalogRefs(ctx.tx, ctx.tenantId, input.categories ?? []);
    const now = ctx.clock.now();
    const catalog: CatalogRecord = {
      id: newId(P.catalog, ctx.clock),
      tenantId: ctx.tenantId,
      code: input.code,
      name: input.name,
      description: input.description,
      categories: [...(input.categories ?? [])],
      status: input.status ?? 'active',
      createdAt: now,
      updatedAt: now,
    };
    await store.saveCatalog(ctx.tx, catalog, true);
    await recordChange(ctx, {
      action: 'catalog.created',
      entityType: 'catalog',
      entityId: catalog.id,
      after: catalog,
      event: { type: 'catalog.created', payload: catalog },
    });
    return catalog;
  });
}

export async function getCatalog(deps: WorkflowDeps, tenantId: string, id: string): Promise<CatalogRecord> {
  const found = await store.findCatalog(readExecutor(deps), tenantId, id);
  if (!found) throw notFound('catalog_not_found', 'catalog', id);
  return found;
}

export function listCatalogs(
  deps: WorkflowDeps,
  tenantId: string,
  filter: EntityFilter,
): Promise<Page<CatalogRecord>> {
  return store.listCatalogs(readExecutor(deps), tenantId, filter);
}

export async function updateCatalog(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
  changes: Partial<Omit<CatalogInput, 'code' | 'description'>> & { description?: string | null },
): Promise<CatalogRecord> {
  return runChange(deps, caller, async (ctx) => {
    const before = await store.findCatalog(ctx.tx, ctx.tenantId, id);
    if (!before) throw notFound('catalog_not_found', 'catalog', id);
    const after: CatalogRecord = { ...before, ...defined(changes), updatedAt: ctx.clock.now() };
    await checkCatalogRefs(ctx.tx, ctx.tenantId, after.categories);
    await store.saveCatalog(ctx.tx, after, false);
    await recordChange(ctx, {
      action: 'catalog.updated',
      entityType: 'catalog',
      entityId: id,
      before,
      after,
      event: { type: 'catalog.updated', payload: after },
    });
    return after;
  });
}

export async function deleteCatalog(deps: WorkflowDeps, caller: Caller, id: string): Promise<void> {
  await runChange(deps, caller, async (ctx) => {
    const before = await store.findCatalog(ctx.tx, ctx.tenantId, id);
    if (!before) throw notFound('catalog_not_found', 'catalog', id);
    await store.deleteCatalog(ctx.tx, ctx.tenantId, id);
    await recordChange(ctx, {
      action: 'catalog.deleted',
      entityType: 'catalog',
      entityId: id,
      before,
      event: { type: 'catalog.deleted', payload: { id, code: before.code } },
    });
  });
}

// ------------------------------------------------------------------------------------------------
// Catalog as code: export, validate, diff, apply

async function exportFrom(db: Executor, tenantId: string): Promise<CatalogDocument> {
  const products = await store.allProducts(db, tenantId);
  const tariffs = await store.allTariffs(db, tenantId);
  const offers = await store.allOffers(db, tenantId);
  const categories = await store.allCategories(db, tenantId);
  const catalogs = await store.allCatalogs(db, tenantId);
  const tariffEntries = [];
  for (const tariff of tariffs) {
    const versions = await store.listTariffVersions(db, tenantId, tariff.id, { status: 'published' });
    tariffEntries.push({
      code: tariff.code,
      name: tariff.name,
      description: tariff.description,
      status: tariff.status,
      versions: versions.map((v) => ({
        effectiveFrom: v.effectiveFrom,
        effectiveTo: v.effectiveTo,
        priceChangePolicy: v.priceChangePolicy,
        definition: v.definition,
      })),
    });
  }
  const offerEntries = [];
  for (const offer of offers) {
    const versions = await store.listOfferVersions(db, tenantId, offer.id, { status: 'published' });
    offerEntries.push({
      code: offer.code,
      name: offer.name,
      description: offer.description,
      kind: offer.kind,
      status: offer.status,
      currencies: offer.currencies,
      products: offer.products,
      components: offer.components,
      versions: versions.map((v) => ({
        effectiveFrom: v.effectiveFrom,
        effectiveTo: v.effectiveTo,
        priceChangePolicy: v.priceChangePolicy,
        ...v.content,
      })),
    });
  }
  const document = {
    format: CATALOG_FORMAT,
    products: products.map((p) => ({
      code: p.code,
      name: p.name,
      description: p.description,
      service: p.service,
      status: p.status,
    })),
    tariffs: tariffEntries,
    offers: offerEntries,
    categories: categories.map((c) => ({
      code: c.code,
      name: c.name,
      description: c.description,
      parent: c.parent,
      offers: c.offers,
    })),
    catalogs: catalogs.map((c) => ({
      code: c.code,
      name: c.name,
      description: c.description,
      categories: c.categories,
    })),
  };
  return canonicalCatalog(JSON.parse(JSON.stringify(document)) as CatalogDocument);
}

/** The whole published catalog of a tenant as a catalog document (canonical form). */
export function exportCatalog(deps: WorkflowDeps, tenantId: string): Promise<CatalogDocument> {
  return exportFrom(readExecutor(deps), tenantId);
}

/** Reads and checks catalog files on their own (no database): what `catalog validate` does. */
export function validateCatalogFiles(sources: readonly CatalogSource[]): ParsedCatalog {
  return readCatalog(sources);
}

function requireDocument(parsed: ParsedCatalog): CatalogDocument {
  if (parsed.document === undefined)
    throw catalogProblemsError(parsed.problems, 'the catalog files are not valid');
  return parsed.document;
}

/** What applying the files would do to the tenant's catalog. Refuses invalid files. */
export async function diffCatalog(
  deps: WorkflowDeps,
  tenantId: string,
  sources: readonly CatalogSource[],
): Promise<CatalogDiff> {
  const parsed = readCatalog(sources);
  const wanted = requireDocument(parsed);
  const diff = diffCatalogs(await exportCatalog(deps, tenantId), wanted, deps.clock.now());
  return { entries: diff.entries, problems: diff.problems.map(parsed.locate) };
}

/**
 * Applies catalog files: the tenant's catalog becomes what the files say, in one transaction with
 * one audit record and one event. Nothing is applied when any file, entry or version has a problem.
 */
export async function applyCatalog(
  deps: WorkflowDeps,
  caller: Caller,
  sources: readonly CatalogSource[],
): Promise<CatalogDiff> {
  const parsed = readCatalog(sources);
  const wanted = requireDocument(parsed);
  return runChange(deps, caller, async (ctx) => {
    const current = await exportFrom(ctx.tx, ctx.tenantId);
    const diff = diffCatalogs(current, wanted, ctx.clock.now());
    if (diff.problems.length > 0)
      throw catalogProblemsError(diff.problems.map(parsed.locate), 'the catalog cannot be applied');
    if (diff.entries.length === 0) return diff;
    await applyDocument(ctx, wanted, diff);
    await recordChange(ctx, {
      action: 'catalog.applied',
      entityType: 'catalog',
      entityId: ctx.tenantId,
      after: { entries: diff.entries, files: sources.map((s) => ({ file: s.file, sha256: sha256(s.text) })) },
      event: { type: 'catalog.applied', payload: { entries: diff.entries } },
    });
    return diff;
  });
}

async function applyDocument(ctx: ChangeContext, wanted: CatalogDocument, diff: CatalogDiff): Promise<void> {
  const db = ctx.tx;
  const tenantId = ctx.tenantId;
  const now = ctx.clock.now();
  const touched = (kind: string, code: string) =>
    diff.entries.some((e) => (e.kind === kind || e.kind === `${kind}_version`) && e.code === code);

  for (const def of wanted.products) {
    if (!touched('product', def.code)) continue;
    const existing = await store.findProductByCode(db, tenantId, def.code);
    const product: Product = {
      id: existing?.id ?? newId(P.product, ctx.clock),
      tenantId,
      code: def.code,
      name: def.name,
      description: def.description,
      service: def.service,
      status: def.status ?? 'active',
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    if (existing) await store.updateProduct(db, product);
    else await store.insertProduct(db, product);
  }

  for (const def of wanted.tariffs) {
    if (!touched('tariff', def.code)) continue;
    const existing = await store.findTariffByCode(db, tenantId, def.code);
    const tariff: Tariff = {
      id: existing?.id ?? newId(P.tariff, ctx.clock),
      tenantId,
      code: def.code,
      name: def.name,
      description: def.description,
      status: def.status ?? 'active',
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    if (existing) await store.updateTariff(db, tariff);
    else await store.insertTariff(db, tariff);
    const stored = existing
      ? await store.listTariffVersions(db, tenantId, tariff.id, { status: 'published' })
      : [];
    await reconcileVersions(
      stored,
      def.versions,
      (a, b) =>
        JSON.stringify(a.definition) === JSON.stringify(b.definition) &&
        a.priceChangePolicy === (b.priceChangePolicy ?? 'next-period'),
      (id, effectiveTo) => store.updateTariffVersion(db, tenantId, id, { effectiveTo: effectiveTo ?? null }),
      (id) => store.deleteTariffVersion(db, tenantId, id),
      async (version) => {
        const number = await store.nextVersionNumber(db, 'tariff_versions', tenantId, tariff.id);
        await insertTariffVersion(ctx, tariff, version, number, 'published');
      },
    );
  }

  for (const def of wanted.offers) {
    if (!touched('offer', def.code)) continue;
    const existing = await store.findOfferByCode(db, tenantId, def.code);
    const offer: Offer = {
      id: existing?.id ?? newId(P.offer, ctx.clock),
      tenantId,
      code: def.code,
      name: def.name,
      description: def.description,
      kind: def.kind,
      currencies: def.currencies,
      products: def.products,
      components: def.components ?? [],
      status: def.status ?? 'active',
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    if (existing) await store.updateOffer(db, offer);
    else await store.insertOffer(db, offer);
    const stored = existing
      ? await store.listOfferVersions(db, tenantId, offer.id, { status: 'published' })
      : [];
    await reconcileVersions(
      stored,
      def.versions,
      (a, b) => {
        const { effectiveFrom: _f, effectiveTo: _t, priceChangePolicy, ...content } = b;
        return (
          JSON.stringify(a.content) === JSON.stringify(content) &&
          a.priceChangePolicy === (priceChangePolicy ?? 'next-period')
        );
      },
      async (id, effectiveTo) => {
        await store.updateOfferVersion(db, tenantId, id, { effectiveTo: effectiveTo ?? null });
        for (const price of await store.listPricesOfVersion(db, tenantId, id))
          await store.updatePrice(db, { ...price, validTo: effectiveTo, updatedAt: now });
      },
      (id) => store.deleteOfferVersion(db, tenantId, id),
      async (version) => {
        const number = await store.nextVersionNumber(db, 'offer_versions', tenantId, offer.id);
        await insertOfferVersionWithPrices(ctx, offer, version, number, 'published');
      },
    );
  }

  for (const def of wanted.categories) {
    if (!touched('category', def.code)) continue;
    const existing = await store.findCategoryByCode(db, tenantId, def.code);
    await store.saveCategory(
      db,
      {
        id: existing?.id ?? newId(P.category, ctx.clock),
        tenantId,
        code: def.code,
        name: def.name,
        description: def.description,
        parent: def.parent,
        offers: def.offers ?? [],
        status: 'active',
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      },
      existing === undefined,
    );
  }
  for (const def of wanted.catalogs) {
    if (!touched('catalog', def.code)) continue;
    const existing = await store.findCatalogByCode(db, tenantId, def.code);
    await store.saveCatalog(
      db,
      {
        id: existing?.id ?? newId(P.catalog, ctx.clock),
        tenantId,
        code: def.code,
        name: def.name,
        description: def.description,
        categories: def.categories ?? [],
        status: 'active',
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      },
      existing === undefined,
    );
  }

  // Retire what the files no longer list: kept for history, no longer sold.
  for (const entry of diff.entries) {
    if (entry.action !== 'retire' || entry.effectiveFrom !== undefined) continue;
    switch (entry.kind) {
      case 'product': {
        const found = await store.findProductByCode(db, tenantId, entry.code);
        if (found) await store.updateProduct(db, { ...found, status: 'retired', updatedAt: now });
        break;
      }
      case 'tariff': {
        const found = await store.findTariffByCode(db, tenantId, entry.code);
        if (found) await store.updateTariff(db, { ...found, status: 'retired', updatedAt: now });
        break;
      }
      case 'offer': {
        const found = await store.findOfferByCode(db, tenantId, entry.code);
        if (found) await store.updateOffer(db, { ...found, status: 'retired', updatedAt: now });
        break;
      }
      case 'category': {
        const found = await store.findCategoryByCode(db, tenantId, entry.code);
        if (found) await store.deleteCategory(db, tenantId, found.id);
        break;
      }
      case 'catalog': {
        const found = await store.findCatalogByCode(db, tenantId, entry.code);
        if (found) await store.deleteCatalog(db, tenantId, found.id);
        break;
      }
      default:
        break;
    }
  }
}

/**
 * Makes a stored version set equal to the wanted one (both already checked by the diff): versions
 * with the same start and content keep their id and get the wanted end; future versions whose
 * content changed are replaced by new versions; future versions no longer wanted are withdrawn.
 */
async function reconcileVersions<
  S extends { id: string; effectiveFrom: string; effectiveTo: string | undefined },
  W extends VersionRange,
>(
  stored: readonly S[],
  wanted: readonly W[],
  sameContent: (stored: S, wanted: W) => boolean,
  setEnd: (id: string, effectiveTo: string | undefined) => Promise<void>,
  remove: (id: string) => Promise<void>,
  insert: (version: W) => Promise<void>,
): Promise<void> {
  const wantedByStart = new Map(wanted.map((w) => [w.effectiveFrom, w]));
  const toInsert: W[] = [];
  for (const version of stored) {
    const match = wantedByStart.get(version.effectiveFrom);
    if (match === undefined || !sameContent(version, match)) {
      await remove(version.id);
      continue;
    }
    if (match.effectiveTo !== version.effectiveTo) await setEnd(version.id, match.effectiveTo);
    wantedByStart.delete(version.effectiveFrom);
  }
  for (const version of wantedByStart.values()) toInsert.push(version);
  for (const version of sortVersions(toInsert)) await insert(version);
}

// ------------------------------------------------------------------------------------------------
// Dry run: sample usage priced under the versions in force and under a draft

/** One usage event of a sample. Quantities are integer text or safe integers, never fractions. */
export interface UsageSample {
  /** The offer (code or id) the subscriber holds. */
  readonly offer: string;
  readonly service: Service;
  readonly occurredAt: string;
  readonly calledNumber?: string;
  readonly durationSec?: number;
  readonly bytes?: string;
  readonly eventType?: string;
  readonly count?: string;
  readonly visitedMccMnc?: string;
  readonly currency?: string;
}

export interface DryRunInput {
  /** A draft (or any) version of a tariff to price with instead of the tariff's version in force. */
  readonly tariffVersionId?: string;
  /** A draft (or any) version of an offer to price that offer's usage with. */
  readonly offerVersionId?: string;
  readonly events: readonly UsageSample[];
}

export interface DryRunLine {
  readonly offer: string;
  readonly zone: string;
  readonly currency: string;
  readonly events: number;
  readonly current: string;
  readonly draft: string;
  readonly delta: string;
}

export interface DryRunReport {
  readonly events: number;
  readonly priced: number;
  readonly lines: DryRunLine[];
  readonly totals: Array<{ currency: string; current: string; draft: string; delta: string }>;
  readonly errors: Array<{ index: number; field: string; message: string }>;
}

/**
 * Prices each sample event twice — under the offer and tariff versions in force at its time, and
 * under the draft — and sums both per offer, zone and currency. Amounts are rated amounts (12
 * decimals, unrounded). Events that cannot be priced are listed with the reason and left out.
 */
export async function dryRun(
  deps: WorkflowDeps,
  tenantId: string,
  input: DryRunInput,
): Promise<DryRunReport> {
  const db = readExecutor(deps);
  const draftTariff = input.tariffVersionId
    ? await store.findTariffVersion(db, tenantId, input.tariffVersionId)
    : undefined;
  if (input.tariffVersionId && !draftTariff)
    throw notFound('version_not_found', 'tariff version', input.tariffVersionId);
  const draftOffer = input.offerVersionId
    ? await store.findOfferVersion(db, tenantId, input.offerVersionId)
    : undefined;
  if (input.offerVersionId && !draftOffer)
    throw notFound('version_not_found', 'offer version', input.offerVersionId);
  if (draftTariff) {
    const tariff = (await store.findTariff(db, tenantId, draftTariff.tariffId))!;
    checkTariffDefinition(draftTariff.definition, tariff);
  }

  // A sample has thousands of events over a few offers and tariffs: each offer's and tariff's
  // published versions are read once (tariff versions without their definitions, which a rate
  // deck makes megabytes long), and each tariff version in force is read whole and compiled once.
  const compiled = new Map<string, CompiledTariff>();
  const compile = async (tariff: Tariff, version: TariffVersion): Promise<CompiledTariff> => {
    let found = compiled.get(version.id);
    if (!found) {
      const whole =
        version.definition === undefined
          ? ((await store.findTariffVersion(db, tenantId, version.id)) ?? version)
          : version;
      found = compileTariff(
        completeTariffDefinition(whole.definition, tariff.code, tariff.name) as TariffDefinition,
      );
      compiled.set(version.id, found);
    }
    return found;
  };
  const offers = new Map<string, Offer | undefined>();
  const offerOf = async (ref: string) => {
    if (!offers.has(ref))
      offers.set(
        ref,
        (await store.findOffer(db, tenantId, ref)) ?? (await store.findOfferByCode(db, tenantId, ref)),
      );
    return offers.get(ref);
  };
  const offerVersions = new Map<string, OfferVersion[]>();
  const offerVersionIn = async (offer: Offer, at: Instant) => {
    let published = offerVersions.get(offer.id);
    if (!published) {
      published = await store.listOfferVersions(db, tenantId, offer.id, { status: 'published' });
      offerVersions.set(offer.id, published);
    }
    return versionAt(published, at);
  };
  const tariffs = new Map<string, { tariff: Tariff; published: TariffVersion[] }>();
  const tariffOf = async (ref: string) => {
    let found = tariffs.get(ref);
    if (!found) {
      const tariff = await findTariffByRef(db, tenantId, ref);
      const published = await store.listTariffVersions(db, tenantId, tariff.id, {
        status: 'published',
        withDefinitions: false,
      });
      found = { tariff, published };
      tariffs.set(ref, found);
    }
    return found;
  };
  const products = new Map<string, Product | undefined>();
  const productOf = async (code: string) => {
    if (!products.has(code)) products.set(code, await store.findProductByCode(db, tenantId, code));
    return products.get(code);
  };
  const draftTariffCode = draftTariff
    ? (await store.findTariff(db, tenantId, draftTariff.tariffId))?.code
    : undefined;

  const sums = new Map<
    string,
    { offer: string; zone: string; currency: string; events: number; current: bigint; draft: bigint }
  >();
  const errors: DryRunReport['errors'] = [];
  let priced = 0;
  for (const [index, event] of input.events.entries()) {
    try {
      const offer = await offerOf(event.offer);
      if (!offer) throw fail(CatalogErrors.offer_not_found, `no offer ${event.offer}`, { field: 'offer' });
      const at = checkInstant(event.occurredAt, 'occurredAt');
      const inForce = await offerVersionIn(offer, at);
      if (!inForce)
        throw fail(
          CatalogErrors.no_version_in_force,
          `offer ${offer.code} has no version in force at ${at}`,
          { field: 'occurredAt' },
        );
      const price = async (content: OfferVersionContent, useDraftTariff: boolean, currency?: string) => {
        const usage = await usagePriceFor(productOf, offer, content, event.service);
        const tariff = await tariffOf(usage.tariff);
        const version =
          useDraftTariff && draftTariff && draftTariffCode === usage.tariff
            ? draftTariff
            : versionAt(tariff.published, at);
        if (!version)
          throw fail(
            CatalogErrors.no_version_in_force,
            `tariff ${usage.tariff} has no version in force at ${at}`,
            { field: 'occurredAt' },
          );
        return chargeSample(
          await compile(tariff.tariff, version),
          currency === undefined ? event : { ...event, currency },
          at,
        );
      };
      const current = await price(inForce.content, false);
      const draftContent =
        draftOffer && draftOffer.offerId === offer.id ? draftOffer.content : inForce.content;
      // The draft prices the event in the currency the version in force charged it in, so the two
      // amounts compare; a draft that no longer prices in that currency is this event's error.
      const draft = await price(draftContent, true, current.currency);
      const key = `${offer.code}\u0000${current.zone}\u0000${current.currency}`;
      const sum = sums.get(key) ?? {
        offer: offer.code,
        zone: current.zone,
        currency: current.currency,
        events: 0,
        current: 0n,
        draft: 0n,
      };
      sum.events += 1;
      sum.current += current.amountPico;
      sum.draft += draft.amountPico;
      sums.set(key, sum);
      priced += 1;
    } catch (error) {
      const e = error as { message?: string; field?: string };
      errors.push({
        index,
        field: `/events/${index}${e.field ? `/${e.field}` : ''}`,
        message: e.message ?? String(error),
      });
    }
  }
  const text = (pico: bigint) => formatDecimal(pico, RATED_SCALE).replace(/(\.\d*?[1-9])0+$|\.0+$/, '$1');
  const lines = [...sums.values()]
    .sort((a, b) => (a.offer + a.zone + a.currency < b.offer + b.zone + b.currency ? -1 : 1))
    .map((s) => ({
      offer: s.offer,
      zone: s.zone,
      currency: s.currency,
      events: s.events,
      current: text(s.current),
      draft: text(s.draft),
      delta: text(s.draft - s.current),
    }));
  const byCurrency = new Map<string, { current: bigint; draft: bigint }>();
  for (const s of sums.values()) {
    const total = byCurrency.get(s.currency) ?? { current: 0n, draft: 0n };
    total.current += s.current;
    total.draft += s.draft;
    byCurrency.set(s.currency, total);
  }
  const totals = [...byCurrency.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([currency, t]) => ({
      currency,
      current: text(t.current),
      draft: text(t.draft),
      delta: text(t.draft - t.current),
    }));
  return { events: input.events.length, priced, lines, totals, errors };
}

async function usagePriceFor(
  productOf: (code: string) => Promise<Product | undefined>,
  offer: Offer,
  content: OfferVersionContent,
  service: Service,
) {
  // Usage arrives as rating sees it (a VoIP call as voice, broadband as data): the price of the
  // product with exactly this service wins, else the one whose usage arrives as this service.
  let arrivesAs: (PriceDefinition & { kind: 'usage' }) | undefined;
  for (const price of content.prices) {
    if (price.kind !== 'usage') continue;
    const product = await productOf(price.product);
    if (product?.service === service) return price;
    if (product !== undefined && USAGE_SERVICE_OF[product.service] === service) arrivesAs ??= price;
  }
  if (arrivesAs !== undefined) return arrivesAs;
  throw fail(CatalogErrors.price_not_found, `offer ${offer.code} has no usage price for ${service}`, {
    field: 'service',
  });
}

function chargeSample(
  tariff: CompiledTariff,
  event: UsageSample,
  at: Instant,
): { zone: string; currency: string; amountPico: bigint } {
  const roaming = event.visitedMccMnc !== undefined ? { visitedMccMnc: event.visitedMccMnc } : {};
  const currency = event.currency !== undefined ? { currency: event.currency } : {};
  switch (event.service) {
    case 'voice':
    case 'voip': {
      if (event.calledNumber === undefined || event.durationSec === undefined)
        throw fail(CatalogErrors.invalid_usage_sample, 'a voice event needs calledNumber and durationSec', {
          field: 'calledNumber',
        });
      const charge = chargeCall(tariff, {
        calledNumber: event.calledNumber,
        startMs: Date.parse(at),
        durationSec: event.durationSec,
        ...currency,
        ...roaming,
      });
      return {
        zone: charge.roamingZone ?? charge.zone,
        currency: charge.currency,
        amountPico: charge.amountPico,
      };
    }
    case 'data':
    case 'broadband':
    case 'iot': {
      if (event.bytes === undefined || !/^\d{1,20}$/.test(event.bytes))
        throw fail(CatalogErrors.invalid_usage_sample, 'a data event needs bytes as integer text', {
          field: 'bytes',
        });
      const charge = chargeData(tariff, { bytes: BigInt(event.bytes), ...currency, ...roaming });
      return { zone: charge.roamingZone ?? 'home', currency: charge.currency, amountPico: charge.amountPico };
    }
    default: {
      const count =
        event.count === undefined ? 1n : /^\d{1,12}$/.test(event.count) ? BigInt(event.count) : undefined;
      if (count === undefined)
        throw fail(CatalogErrors.invalid_usage_sample, 'count must be integer text', { field: 'count' });
      const charge = chargeEvent(tariff, {
        eventType: event.eventType ?? event.service,
        count,
        ...currency,
        ...roaming,
      });
      return { zone: charge.roamingZone ?? 'home', currency: charge.currency, amountPico: charge.amountPico };
    }
  }
}

export interface PastUsageSelection {
  /** Rated usage that started in [from, to), RFC 3339. */
  readonly from: string;
  readonly to: string;
  /** At most this many records, in the order they were rated (default 10,000; at most 100,000). */
  readonly limit?: number;
}

const PAST_USAGE_DEFAULT_LIMIT = 10_000;
const PAST_USAGE_MAX_LIMIT = 100_000;
const PAST_USAGE_PAGE = 1_000;

/**
 * Past usage as a dry-run sample: the rated records (originals, not re-rating corrections) that
 * started in [from, to), each with the offer that priced it (from its charge trace). The dry run
 * then prices them without allowances under the versions in force and under the draft, so the
 * delta is what the draft changes in the price of the same traffic.
 */
export async function pastUsageSample(
  deps: WorkflowDeps,
  tenantId: string,
  selection: PastUsageSelection,
): Promise<UsageSample[]> {
  const from = checkInstant(selection.from, '/usage/from');
  const to = checkInstant(selection.to, '/usage/to');
  if (to <= from)
    throw fail(CatalogErrors.invalid_usage_sample, `usage.to (${to}) must be after usage.from (${from})`, {
      field: '/usage/to',
    });
  const limit = selection.limit ?? PAST_USAGE_DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > PAST_USAGE_MAX_LIMIT)
    throw fail(
      CatalogErrors.invalid_usage_sample,
      `usage.limit must be a whole number from 1 to ${PAST_USAGE_MAX_LIMIT}`,
      { field: '/usage/limit' },
    );
  const sample: UsageSample[] = [];
  let after: bigint | undefined;
  while (sample.length < limit) {
    const page = await listRatedUsage(deps, tenantId, {
      kind: 'original',
      from,
      to,
      limit: Math.min(PAST_USAGE_PAGE, limit - sample.length),
      ...(after !== undefined ? { after } : {}),
    });
    for (const usage of page) sample.push(sampleOfRatedUsage(usage));
    if (page.length === 0) break;
    after = page[page.length - 1]!.id;
  }
  return sample;
}

function sampleOfRatedUsage(usage: RatedUsageView): UsageSample {
  const trace = usage.trace as { offerCode?: string };
  const common = {
    // A record without an offer in its trace is reported by the dry run as "no offer".
    offer: trace.offerCode ?? '',
    service: usage.service,
    occurredAt: usage.startAt,
    currency: usage.currency,
    ...(usage.roaming && usage.visitedMccMnc !== undefined ? { visitedMccMnc: usage.visitedMccMnc } : {}),
  };
  switch (usage.service) {
    case 'voice':
      return {
        ...common,
        ...(usage.calledNumber !== undefined ? { calledNumber: usage.calledNumber } : {}),
        durationSec: usage.durationSec,
      };
    case 'data':
    case 'iot':
      return { ...common, bytes: String(BigInt(usage.volumeUpBytes) + BigInt(usage.volumeDownBytes)) };
    default:
      return {
        ...common,
        ...(usage.eventType !== undefined ? { eventType: usage.eventType } : {}),
        count: String(Math.max(1, usage.eventCount)),
      };
  }
}

const SAMPLE_COLUMNS = [
  'offer',
  'service',
  'occurred_at',
  'called_number',
  'duration_sec',
  'bytes',
  'event_type',
  'count',
  'visited_mcc_mnc',
  'currency',
] as const;

/**
 * Reads a usage sample from CSV: a header naming some of the columns offer, service, occurred_at,
 * called_number, duration_sec, bytes, event_type, count, visited_mcc_mnc, currency (offer, service
 * and occurred_at required), then one event per line. Fields are plain (no quoting needed).
 */
export function parseUsageSampleCsv(csv: string): UsageSample[] {
  const lines = csv.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  for (const required of ['offer', 'service', 'occurred_at'])
    if (!header.includes(required))
      throw fail(CatalogErrors.invalid_usage_sample, `the usage sample has no ${required} column`, {
        field: 'line 1/header',
      });
  const unknown = header.filter((h) => !(SAMPLE_COLUMNS as readonly string[]).includes(h));
  if (unknown.length > 0)
    throw fail(CatalogErrors.invalid_usage_sample, `unknown columns ${unknown.join(', ')}`, {
      field: 'line 1/header',
    });
  const out: UsageSample[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const cells = line.split(',');
    const get = (name: string) => {
      const value = cells[header.indexOf(name)]?.trim();
      return value === undefined || value === '' ? undefined : value;
    };
    const duration = get('duration_sec');
    if (duration !== undefined && !/^\d{1,9}$/.test(duration))
      throw fail(CatalogErrors.invalid_usage_sample, `line ${i + 2}: duration_sec must be whole seconds`, {
        field: `line ${i + 2}/duration_sec`,
      });
    const sample: Record<string, unknown> = {
      offer: get('offer'),
      service: get('service'),
      occurredAt: get('occurred_at'),
      calledNumber: get('called_number'),
      durationSec: duration === undefined ? undefined : Number(duration),
      bytes: get('bytes'),
      eventType: get('event_type'),
      count: get('count'),
      visitedMccMnc: get('visited_mcc_mnc'),
      currency: get('currency'),
    };
    out.push(defined(sample) as unknown as UsageSample);
  });
  return out;
}
