/**
 * The catalog's tables: the only code that reads or writes them. Every function takes the tenant
 * and filters by it. Definitions (version content, price definitions) are JSON text.
 */
import type { Executor } from '../storage/database.js';
import { fromJson, toJson, toSafeNumber } from '../storage/values.js';
import type {
  CatalogRecord,
  CatalogStatus,
  Category,
  Offer,
  OfferKind,
  OfferVersion,
  OfferVersionContent,
  PriceChangePolicy,
  PriceDefinition,
  Product,
  Service,
  Tariff,
  TariffVersion,
  VersionStatus,
} from './model.js';

interface EntityColumns {
  id: string;
  tenant_id: string;
  code: string;
  name: string;
  description: string | null;
  status: string;
  created_at: string;
  updated_at: string;
}

export interface ProductsTable extends EntityColumns {
  service: string;
}
export interface OffersTable extends EntityColumns {
  kind: string;
  currencies: string;
  products: string;
  components: string;
}
export type TariffsTable = EntityColumns;
export interface CategoriesTable extends EntityColumns {
  parent_code: string | null;
}
export type CatalogsTable = EntityColumns;

interface VersionColumns {
  id: string;
  tenant_id: string;
  number: bigint | number;
  status: string;
  effective_from: string;
  effective_to: string | null;
  price_change_policy: string;
  definition: string;
  created_at: string;
  published_at: string | null;
}
export interface OfferVersionsTable extends VersionColumns {
  offer_id: string;
}
export interface TariffVersionsTable extends VersionColumns {
  tariff_id: string;
  /** Migration 0055: set on a correction (the version it replaces and why), else null. */
  corrects_version_id: string | null;
  correction_reason: string | null;
}

export interface OfferPricesTable {
  id: string;
  tenant_id: string;
  offer_id: string | null;
  offer_version_id: string | null;
  code: string;
  name: string;
  description: string | null;
  kind: string;
  status: string;
  definition: string;
  valid_from: string | null;
  valid_to: string | null;
  created_at: string;
  updated_at: string;
}

export interface CatalogItemsTable {
  tenant_id: string;
  container_id: string;
  item_kind: string;
  item_code: string;
  position: bigint | number;
}

declare module '../storage/schema.js' {
  interface DatabaseSchema {
    products: ProductsTable;
    offers: OffersTable;
    tariffs: TariffsTable;
    categories: CategoriesTable;
    catalogs: CatalogsTable;
    offer_versions: OfferVersionsTable;
    tariff_versions: TariffVersionsTable;
    offer_prices: OfferPricesTable;
    catalog_items: CatalogItemsTable;
  }
}

/** Filters shared by the entity lists (TMF620 attribute filters map onto these). */
export interface EntityFilter {
  readonly code?: string;
  readonly name?: string;
  readonly status?: CatalogStatus;
  readonly offset: number;
  readonly limit: number;
}

export interface Page<T> {
  readonly items: T[];
  readonly total: number;
}

type EntityTable = 'products' | 'offers' | 'tariffs' | 'categories' | 'catalogs';

const base = (row: EntityColumns) => ({
  id: row.id,
  tenantId: row.tenant_id,
  code: row.code,
  name: row.name,
  description: row.description ?? undefined,
  status: row.status as CatalogStatus,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const baseRow = (e: {
  id: string;
  tenantId: string;
  code: string;
  name: string;
  description: string | undefined;
  status: CatalogStatus;
  createdAt: string;
  updatedAt: string;
}): EntityColumns => ({
  id: e.id,
  tenant_id: e.tenantId,
  code: e.code,
  name: e.name,
  description: e.description ?? null,
  status: e.status,
  created_at: e.createdAt,
  updated_at: e.updatedAt,
});

function toProduct(row: ProductsTable): Product {
  return { ...base(row), service: row.service as Service };
}
function toOffer(row: OffersTable): Offer {
  return {
    ...base(row),
    kind: row.kind as OfferKind,
    currencies: toJson<string[]>(row.currencies, 'offers.currencies'),
    products: toJson<string[]>(row.products, 'offers.products'),
    components: toJson<string[]>(row.components, 'offers.components'),
  };
}
function toTariff(row: TariffsTable): Tariff {
  return base(row);
}

async function listEntityRows<T extends EntityColumns>(
  db: Executor,
  table: EntityTable,
  tenantId: string,
  filter: EntityFilter,
  columns: Readonly<Record<string, string | undefined>> = {},
): Promise<Page<T>> {
  // The five entity tables share these columns; Kysely cannot type a query over a union of tables.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let query = (db as any).selectFrom(table).where('tenant_id', '=', tenantId);
  if (filter.code !== undefined) query = query.where('code', '=', filter.code);
  // Filters on a table's own columns (a product's service, an offer's kind) belong in the query
  // too: filtering a page after the fact would leave pages short and the total wrong.
  for (const [column, value] of Object.entries(columns))
    if (value !== undefined) query = query.where(column, '=', value);
  if (filter.name !== undefined) query = query.where('name', '=', filter.name);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  const counted = (await query
    .select((eb: { fn: { countAll: () => { as: (n: string) => unknown } } }) => eb.fn.countAll().as('n'))
    .executeTakeFirst()) as { n: unknown } | undefined;
  const rows = (await query
    .selectAll()
    .orderBy('code')
    .offset(filter.offset)
    .limit(filter.limit)
    .execute()) as T[];
  return { items: rows, total: toSafeNumber(counted?.n ?? 0, `${table}.count`) };
}

// ------------------------------------------------------------------------------------------------
// Products

export async function insertProduct(db: Executor, product: Product): Promise<void> {
  await db
    .insertInto('products')
    .values({ ...baseRow(product), service: product.service })
    .execute();
}

export async function updateProduct(db: Executor, product: Product): Promise<void> {
  await db
    .updateTable('products')
    .set({
      name: product.name,
      description: product.description ?? null,
      service: product.service,
      status: product.status,
      updated_at: product.updatedAt,
    })
    .where('tenant_id', '=', product.tenantId)
    .where('id', '=', product.id)
    .execute();
}

export async function findProduct(db: Executor, tenantId: string, id: string): Promise<Product | undefined> {
  const row = await db
    .selectFrom('products')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toProduct(row) : undefined;
}

export async function findProductByCode(
  db: Executor,
  tenantId: string,
  code: string,
): Promise<Product | undefined> {
  const row = await db
    .selectFrom('products')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('code', '=', code)
    .executeTakeFirst();
  return row ? toProduct(row) : undefined;
}

export async function listProducts(
  db: Executor,
  tenantId: string,
  filter: EntityFilter & { readonly service?: Service },
): Promise<Page<Product>> {
  const page = await listEntityRows<ProductsTable>(db, 'products', tenantId, filter, {
    service: filter.service,
  });
  return { items: page.items.map(toProduct), total: page.total };
}

export async function allProducts(db: Executor, tenantId: string): Promise<Product[]> {
  const rows = await db
    .selectFrom('products')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('code')
    .execute();
  return rows.map(toProduct);
}

export async function deleteProduct(db: Executor, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('products').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

// ------------------------------------------------------------------------------------------------
// Offers

export async function insertOffer(db: Executor, offer: Offer): Promise<void> {
  await db
    .insertInto('offers')
    .values({
      ...baseRow(offer),
      kind: offer.kind,
      currencies: fromJson(offer.currencies),
      products: fromJson(offer.products),
      components: fromJson(offer.components),
    })
    .execute();
}

export async function updateOffer(db: Executor, offer: Offer): Promise<void> {
  await db
    .updateTable('offers')
    .set({
      name: offer.name,
      description: offer.description ?? null,
      kind: offer.kind,
      status: offer.status,
      currencies: fromJson(offer.currencies),
      products: fromJson(offer.products),
      components: fromJson(offer.components),
      updated_at: offer.updatedAt,
    })
    .where('tenant_id', '=', offer.tenantId)
    .where('id', '=', offer.id)
    .execute();
}

export async function findOffer(db: Executor, tenantId: string, id: string): Promise<Offer | undefined> {
  const row = await db
    .selectFrom('offers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toOffer(row) : undefined;
}

export async function findOfferByCode(
  db: Executor,
  tenantId: string,
  code: string,
): Promise<Offer | undefined> {
  const row = await db
    .selectFrom('offers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('code', '=', code)
    .executeTakeFirst();
  return row ? toOffer(row) : undefined;
}

export async function listOffers(
  db: Executor,
  tenantId: string,
  filter: EntityFilter & { readonly kind?: OfferKind },
): Promise<Page<Offer>> {
  const page = await listEntityRows<OffersTable>(db, 'offers', tenantId, filter, { kind: filter.kind });
  return { items: page.items.map(toOffer), total: page.total };
}

export async function allOffers(db: Executor, tenantId: string): Promise<Offer[]> {
  const rows = await db
    .selectFrom('offers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('code')
    .execute();
  return rows.map(toOffer);
}

/** Deletes an offer with its versions and their prices. */
export async function deleteOffer(db: Executor, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('offer_prices').where('tenant_id', '=', tenantId).where('offer_id', '=', id).execute();
  await db
    .deleteFrom('offer_versions')
    .where('tenant_id', '=', tenantId)
    .where('offer_id', '=', id)
    .execute();
  await db.deleteFrom('offers').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

// ------------------------------------------------------------------------------------------------
// Versions (offers and tariffs share the shape)

function toOfferVersion(row: OfferVersionsTable): OfferVersion {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    offerId: row.offer_id,
    number: toSafeNumber(row.number, 'offer_versions.number'),
    status: row.status as VersionStatus,
    effectiveFrom: row.effective_from,
    effectiveTo: row.effective_to ?? undefined,
    priceChangePolicy: row.price_change_policy as PriceChangePolicy,
    content: toJson<OfferVersionContent>(row.definition, 'offer_versions.definition'),
    createdAt: row.created_at,
    publishedAt: row.published_at ?? undefined,
  };
}

function toTariffVersion(row: TariffVersionsTable): TariffVersion {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    tariffId: row.tariff_id,
    number: toSafeNumber(row.number, 'tariff_versions.number'),
    status: row.status as VersionStatus,
    effectiveFrom: row.effective_from,
    effectiveTo: row.effective_to ?? undefined,
    priceChangePolicy: row.price_change_policy as PriceChangePolicy,
    definition: toJson<unknown>(row.definition, 'tariff_versions.definition'),
    createdAt: row.created_at,
    publishedAt: row.published_at ?? undefined,
    ...(row.corrects_version_id !== null && row.corrects_version_id !== undefined
      ? { correction: { correctsVersionId: row.corrects_version_id, reason: row.correction_reason ?? '' } }
      : {}),
  };
}

export async function insertOfferVersion(db: Executor, version: OfferVersion): Promise<void> {
  await db
    .insertInto('offer_versions')
    .values({
      id: version.id,
      tenant_id: version.tenantId,
      offer_id: version.offerId,
      number: BigInt(version.number),
      status: version.status,
      effective_from: version.effectiveFrom,
      effective_to: version.effectiveTo ?? null,
      price_change_policy: version.priceChangePolicy,
      definition: fromJson(version.content),
      created_at: version.createdAt,
      published_at: version.publishedAt ?? null,
    })
    .execute();
}

export async function insertTariffVersion(db: Executor, version: TariffVersion): Promise<void> {
  await db
    .insertInto('tariff_versions')
    .values({
      id: version.id,
      tenant_id: version.tenantId,
      tariff_id: version.tariffId,
      number: BigInt(version.number),
      status: version.status,
      effective_from: version.effectiveFrom,
      effective_to: version.effectiveTo ?? null,
      price_change_policy: version.priceChangePolicy,
      definition: fromJson(version.definition),
      created_at: version.createdAt,
      published_at: version.publishedAt ?? null,
      corrects_version_id: version.correction?.correctsVersionId ?? null,
      correction_reason: version.correction?.reason ?? null,
    })
    .execute();
}

export interface VersionChanges {
  readonly effectiveTo?: string | null;
  readonly status?: VersionStatus;
  readonly publishedAt?: string;
  readonly priceChangePolicy?: PriceChangePolicy;
}

function versionSet(changes: VersionChanges) {
  return {
    ...(changes.effectiveTo !== undefined ? { effective_to: changes.effectiveTo } : {}),
    ...(changes.status !== undefined ? { status: changes.status } : {}),
    ...(changes.publishedAt !== undefined ? { published_at: changes.publishedAt } : {}),
    ...(changes.priceChangePolicy !== undefined ? { price_change_policy: changes.priceChangePolicy } : {}),
  };
}

export async function updateOfferVersion(
  db: Executor,
  tenantId: string,
  id: string,
  changes: VersionChanges,
): Promise<void> {
  await db
    .updateTable('offer_versions')
    .set(versionSet(changes))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

export async function updateTariffVersion(
  db: Executor,
  tenantId: string,
  id: string,
  changes: VersionChanges,
): Promise<void> {
  await db
    .updateTable('tariff_versions')
    .set(versionSet(changes))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

export async function deleteOfferVersion(db: Executor, tenantId: string, id: string): Promise<void> {
  await db
    .deleteFrom('offer_prices')
    .where('tenant_id', '=', tenantId)
    .where('offer_version_id', '=', id)
    .execute();
  await db.deleteFrom('offer_versions').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

export async function deleteTariffVersion(db: Executor, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('tariff_versions').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

export async function listOfferVersions(
  db: Executor,
  tenantId: string,
  offerId: string,
  options: { status?: VersionStatus } = {},
): Promise<OfferVersion[]> {
  let query = db
    .selectFrom('offer_versions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('offer_id', '=', offerId);
  if (options.status) query = query.where('status', '=', options.status);
  const rows = await query.orderBy('effective_from').orderBy('number').execute();
  return rows.map(toOfferVersion);
}

export async function listTariffVersions(
  db: Executor,
  tenantId: string,
  tariffId: string,
  options: { status?: VersionStatus; withDefinitions?: boolean } = {},
): Promise<TariffVersion[]> {
  let query = db
    .selectFrom('tariff_versions')
    .where('tenant_id', '=', tenantId)
    .where('tariff_id', '=', tariffId);
  if (options.status) query = query.where('status', '=', options.status);
  if (options.withDefinitions === false) {
    // Rate-deck versions can be megabytes each: listing them does not read the definitions.
    const rows = await query
      .select([
        'id',
        'tenant_id',
        'tariff_id',
        'number',
        'status',
        'effective_from',
        'effective_to',
        'price_change_policy',
        'created_at',
        'published_at',
        'corrects_version_id',
        'correction_reason',
      ])
      .orderBy('effective_from')
      .orderBy('number')
      .execute();
    return rows.map((row) => ({ ...toTariffVersion({ ...row, definition: 'null' }), definition: undefined }));
  }
  const rows = await query.selectAll().orderBy('effective_from').orderBy('number').execute();
  return rows.map(toTariffVersion);
}

export async function findOfferVersion(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<OfferVersion | undefined> {
  const row = await db
    .selectFrom('offer_versions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toOfferVersion(row) : undefined;
}

export async function findTariffVersion(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<TariffVersion | undefined> {
  const row = await db
    .selectFrom('tariff_versions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toTariffVersion(row) : undefined;
}

/** The published version of an offer in force at `instant`: from <= instant < to (or open). */
export async function findOfferVersionAt(
  db: Executor,
  tenantId: string,
  offerId: string,
  instant: string,
): Promise<OfferVersion | undefined> {
  const row = await db
    .selectFrom('offer_versions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('offer_id', '=', offerId)
    .where('status', '=', 'published')
    .where('effective_from', '<=', instant)
    .where((eb) => eb.or([eb('effective_to', 'is', null), eb('effective_to', '>', instant)]))
    .orderBy('effective_from', 'desc')
    .executeTakeFirst();
  return row ? toOfferVersion(row) : undefined;
}

export async function findTariffVersionAt(
  db: Executor,
  tenantId: string,
  tariffId: string,
  instant: string,
): Promise<TariffVersion | undefined> {
  const row = await db
    .selectFrom('tariff_versions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('tariff_id', '=', tariffId)
    .where('status', '=', 'published')
    .where('effective_from', '<=', instant)
    .where((eb) => eb.or([eb('effective_to', 'is', null), eb('effective_to', '>', instant)]))
    .orderBy('effective_from', 'desc')
    .executeTakeFirst();
  return row ? toTariffVersion(row) : undefined;
}

export async function nextVersionNumber(
  db: Executor,
  table: 'offer_versions' | 'tariff_versions',
  tenantId: string,
  ownerId: string,
): Promise<number> {
  const row =
    table === 'offer_versions'
      ? await db
          .selectFrom('offer_versions')
          .select((eb) => eb.fn.max('number').as('n'))
          .where('tenant_id', '=', tenantId)
          .where('offer_id', '=', ownerId)
          .executeTakeFirst()
      : await db
          .selectFrom('tariff_versions')
          .select((eb) => eb.fn.max('number').as('n'))
          .where('tenant_id', '=', tenantId)
          .where('tariff_id', '=', ownerId)
          .executeTakeFirst();
  return row?.n === null || row?.n === undefined ? 1 : toSafeNumber(row.n, `${table}.number`) + 1;
}

// ------------------------------------------------------------------------------------------------
// Tariffs

export async function insertTariff(db: Executor, tariff: Tariff): Promise<void> {
  await db.insertInto('tariffs').values(baseRow(tariff)).execute();
}

export async function updateTariff(db: Executor, tariff: Tariff): Promise<void> {
  await db
    .updateTable('tariffs')
    .set({
      name: tariff.name,
      description: tariff.description ?? null,
      status: tariff.status,
      updated_at: tariff.updatedAt,
    })
    .where('tenant_id', '=', tariff.tenantId)
    .where('id', '=', tariff.id)
    .execute();
}

export async function findTariff(db: Executor, tenantId: string, id: string): Promise<Tariff | undefined> {
  const row = await db
    .selectFrom('tariffs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toTariff(row) : undefined;
}

export async function findTariffByCode(
  db: Executor,
  tenantId: string,
  code: string,
): Promise<Tariff | undefined> {
  const row = await db
    .selectFrom('tariffs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('code', '=', code)
    .executeTakeFirst();
  return row ? toTariff(row) : undefined;
}

export async function listTariffs(
  db: Executor,
  tenantId: string,
  filter: EntityFilter,
): Promise<Page<Tariff>> {
  const page = await listEntityRows<TariffsTable>(db, 'tariffs', tenantId, filter);
  return { items: page.items.map(toTariff), total: page.total };
}

export async function allTariffs(db: Executor, tenantId: string): Promise<Tariff[]> {
  const rows = await db
    .selectFrom('tariffs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('code')
    .execute();
  return rows.map(toTariff);
}

// ------------------------------------------------------------------------------------------------
// Prices (TMF620 productOfferingPrice)

export interface PriceRecord {
  readonly id: string;
  readonly tenantId: string;
  /** Absent for a standalone price no offering uses yet. */
  readonly offerId: string | undefined;
  readonly offerVersionId: string | undefined;
  readonly code: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly status: CatalogStatus;
  readonly definition: PriceDefinition;
  readonly validFrom: string | undefined;
  readonly validTo: string | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
}

function toPrice(row: OfferPricesTable): PriceRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    offerId: row.offer_id ?? undefined,
    offerVersionId: row.offer_version_id ?? undefined,
    code: row.code,
    name: row.name,
    description: row.description ?? undefined,
    status: row.status as CatalogStatus,
    definition: toJson<PriceDefinition>(row.definition, 'offer_prices.definition'),
    validFrom: row.valid_from ?? undefined,
    validTo: row.valid_to ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function priceRow(price: PriceRecord): OfferPricesTable {
  return {
    id: price.id,
    tenant_id: price.tenantId,
    offer_id: price.offerId ?? null,
    offer_version_id: price.offerVersionId ?? null,
    code: price.code,
    name: price.name,
    description: price.description ?? null,
    kind: price.definition.kind,
    status: price.status,
    definition: fromJson(price.definition),
    valid_from: price.validFrom ?? null,
    valid_to: price.validTo ?? null,
    created_at: price.createdAt,
    updated_at: price.updatedAt,
  };
}

export async function insertPrice(db: Executor, price: PriceRecord): Promise<void> {
  await db.insertInto('offer_prices').values(priceRow(price)).execute();
}

export async function updatePrice(db: Executor, price: PriceRecord): Promise<void> {
  const { id: _id, tenant_id: _tenant, created_at: _created, ...changes } = priceRow(price);
  await db
    .updateTable('offer_prices')
    .set(changes)
    .where('tenant_id', '=', price.tenantId)
    .where('id', '=', price.id)
    .execute();
}

export async function findPrice(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<PriceRecord | undefined> {
  const row = await db
    .selectFrom('offer_prices')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toPrice(row) : undefined;
}

export async function listPricesOfVersion(
  db: Executor,
  tenantId: string,
  offerVersionId: string,
): Promise<PriceRecord[]> {
  const rows = await db
    .selectFrom('offer_prices')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('offer_version_id', '=', offerVersionId)
    .orderBy('id')
    .execute();
  return rows.map(toPrice);
}

export async function listPrices(
  db: Executor,
  tenantId: string,
  filter: EntityFilter & { readonly kind?: string },
): Promise<Page<PriceRecord>> {
  let query = db.selectFrom('offer_prices').where('tenant_id', '=', tenantId);
  if (filter.code !== undefined) query = query.where('code', '=', filter.code);
  if (filter.name !== undefined) query = query.where('name', '=', filter.name);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind);
  const counted = await query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  const rows = await query.selectAll().orderBy('id').offset(filter.offset).limit(filter.limit).execute();
  return { items: rows.map(toPrice), total: toSafeNumber(counted?.n ?? 0, 'offer_prices.count') };
}

export async function deletePrice(db: Executor, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('offer_prices').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

// ------------------------------------------------------------------------------------------------
// Categories, catalogs and their items

async function itemsOf(db: Executor, tenantId: string, containerId: string, kind: string): Promise<string[]> {
  const rows = await db
    .selectFrom('catalog_items')
    .select(['item_code'])
    .where('tenant_id', '=', tenantId)
    .where('container_id', '=', containerId)
    .where('item_kind', '=', kind)
    .orderBy('position')
    .execute();
  return rows.map((row) => row.item_code);
}

async function setItems(
  db: Executor,
  tenantId: string,
  containerId: string,
  kind: string,
  codes: readonly string[],
): Promise<void> {
  await db
    .deleteFrom('catalog_items')
    .where('tenant_id', '=', tenantId)
    .where('container_id', '=', containerId)
    .where('item_kind', '=', kind)
    .execute();
  const unique = [...new Set(codes)];
  if (unique.length === 0) return;
  await db
    .insertInto('catalog_items')
    .values(
      unique.map((code, i) => ({
        tenant_id: tenantId,
        container_id: containerId,
        item_kind: kind,
        item_code: code,
        position: BigInt(i),
      })),
    )
    .execute();
}

/** Codes of the categories that list `offerCode`. */
export async function categoriesOfOffer(
  db: Executor,
  tenantId: string,
  offerCode: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('catalog_items')
    .innerJoin('categories', 'categories.id', 'catalog_items.container_id')
    .select(['categories.code'])
    .where('catalog_items.tenant_id', '=', tenantId)
    .where('catalog_items.item_kind', '=', 'offer')
    .where('catalog_items.item_code', '=', offerCode)
    .orderBy('categories.code')
    .execute();
  return rows.map((row) => row.code);
}

export async function categoryReferences(
  db: Executor,
  tenantId: string,
  categoryCode: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('catalog_items')
    .innerJoin('catalogs', 'catalogs.id', 'catalog_items.container_id')
    .select(['catalogs.code'])
    .where('catalog_items.tenant_id', '=', tenantId)
    .where('catalog_items.item_kind', '=', 'category')
    .where('catalog_items.item_code', '=', categoryCode)
    .execute();
  return rows.map((row) => row.code);
}

async function toCategory(db: Executor, row: CategoriesTable): Promise<Category> {
  return {
    ...base(row),
    parent: row.parent_code ?? undefined,
    offers: await itemsOf(db, row.tenant_id, row.id, 'offer'),
  };
}

async function toCatalog(db: Executor, row: CatalogsTable): Promise<CatalogRecord> {
  return { ...base(row), categories: await itemsOf(db, row.tenant_id, row.id, 'category') };
}

export async function saveCategory(db: Executor, category: Category, isNew: boolean): Promise<void> {
  if (isNew) {
    await db
      .insertInto('categories')
      .values({ ...baseRow(category), parent_code: category.parent ?? null })
      .execute();
  } else {
    await db
      .updateTable('categories')
      .set({
        name: category.name,
        description: category.description ?? null,
        parent_code: category.parent ?? null,
        status: category.status,
        updated_at: category.updatedAt,
      })
      .where('tenant_id', '=', category.tenantId)
      .where('id', '=', category.id)
      .execute();
  }
  await setItems(db, category.tenantId, category.id, 'offer', category.offers);
}

export async function saveCatalog(db: Executor, catalog: CatalogRecord, isNew: boolean): Promise<void> {
  if (isNew) {
    await db.insertInto('catalogs').values(baseRow(catalog)).execute();
  } else {
    await db
      .updateTable('catalogs')
      .set({
        name: catalog.name,
        description: catalog.description ?? null,
        status: catalog.status,
        updated_at: catalog.updatedAt,
      })
      .where('tenant_id', '=', catalog.tenantId)
      .where('id', '=', catalog.id)
      .execute();
  }
  await setItems(db, catalog.tenantId, catalog.id, 'category', catalog.categories);
}

export async function findCategory(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<Category | undefined> {
  const row = await db
    .selectFrom('categories')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toCategory(db, row) : undefined;
}

export async function findCategoryByCode(
  db: Executor,
  tenantId: string,
  code: string,
): Promise<Category | undefined> {
  const row = await db
    .selectFrom('categories')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('code', '=', code)
    .executeTakeFirst();
  return row ? toCategory(db, row) : undefined;
}

export async function listCategories(
  db: Executor,
  tenantId: string,
  filter: EntityFilter,
): Promise<Page<Category>> {
  const page = await listEntityRows<CategoriesTable>(db, 'categories', tenantId, filter);
  const items: Category[] = [];
  for (const row of page.items) items.push(await toCategory(db, row));
  return { items, total: page.total };
}

export async function allCategories(db: Executor, tenantId: string): Promise<Category[]> {
  const rows = await db
    .selectFrom('categories')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('code')
    .execute();
  const out: Category[] = [];
  for (const row of rows) out.push(await toCategory(db, row));
  return out;
}

export async function deleteCategory(db: Executor, tenantId: string, id: string): Promise<void> {
  await db
    .deleteFrom('catalog_items')
    .where('tenant_id', '=', tenantId)
    .where('container_id', '=', id)
    .execute();
  await db.deleteFrom('categories').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

export async function findCatalog(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<CatalogRecord | undefined> {
  const row = await db
    .selectFrom('catalogs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toCatalog(db, row) : undefined;
}

export async function findCatalogByCode(
  db: Executor,
  tenantId: string,
  code: string,
): Promise<CatalogRecord | undefined> {
  const row = await db
    .selectFrom('catalogs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('code', '=', code)
    .executeTakeFirst();
  return row ? toCatalog(db, row) : undefined;
}

export async function listCatalogs(
  db: Executor,
  tenantId: string,
  filter: EntityFilter,
): Promise<Page<CatalogRecord>> {
  const page = await listEntityRows<CatalogsTable>(db, 'catalogs', tenantId, filter);
  const items: CatalogRecord[] = [];
  for (const row of page.items) items.push(await toCatalog(db, row));
  return { items, total: page.total };
}

export async function allCatalogs(db: Executor, tenantId: string): Promise<CatalogRecord[]> {
  const rows = await db
    .selectFrom('catalogs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('code')
    .execute();
  const out: CatalogRecord[] = [];
  for (const row of rows) out.push(await toCatalog(db, row));
  return out;
}

export async function deleteCatalog(db: Executor, tenantId: string, id: string): Promise<void> {
  await db
    .deleteFrom('catalog_items')
    .where('tenant_id', '=', tenantId)
    .where('container_id', '=', id)
    .execute();
  await db.deleteFrom('catalogs').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

/** Codes of offers that use a product, tariff or offer, for refusing deletes of things in use. */
export async function offersReferencing(
  db: Executor,
  tenantId: string,
  reference: { product?: string; tariff?: string; offer?: string },
): Promise<string[]> {
  const offers = await allOffers(db, tenantId);
  const found = new Set<string>();
  for (const offer of offers) {
    if (reference.product !== undefined && offer.products.includes(reference.product)) found.add(offer.code);
    if (reference.offer !== undefined && offer.components.includes(reference.offer)) found.add(offer.code);
    if (reference.tariff !== undefined || reference.offer !== undefined) {
      for (const version of await listOfferVersions(db, tenantId, offer.id)) {
        const content = version.content;
        if (
          reference.tariff !== undefined &&
          content.prices.some((p) => p.kind === 'usage' && p.tariff === reference.tariff)
        )
          found.add(offer.code);
        if (
          reference.offer !== undefined &&
          offer.code !== reference.offer &&
          (content.eligibility?.compatiblePlans?.includes(reference.offer) ||
            content.eligibility?.excludes?.includes(reference.offer))
        )
          found.add(offer.code);
      }
    }
  }
  return [...found].sort();
}

// ------------------------------------------------------------------------------------------------
// Change detection

/**
 * A short text that changes whenever the tenant's catalog changes in a way that can change a price:
 * products, offers and tariffs (count and last update) and their versions (count, last created,
 * last published). Version definitions are never updated in place (a change of a version that has
 * not started replaces it; a correction adds one), so these catch every change. A long-running
 * pricer (the online charging engine) compares it now and then with the one it loaded under, and
 * reloads when it differs: a catalog change made by another process (the CLI) is seen too.
 */
export async function catalogFingerprint(db: Executor, tenantId: string): Promise<string> {
  const parts: unknown[] = [];
  for (const table of ['products', 'offers', 'tariffs'] as const) {
    const row = await db
      .selectFrom(table)
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('updated_at').as('a')])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    parts.push(row?.n, row?.a);
  }
  for (const table of ['offer_versions', 'tariff_versions'] as const) {
    const row = await db
      .selectFrom(table)
      .select((eb) => [
        eb.fn.countAll().as('n'),
        eb.fn.max('created_at').as('a'),
        eb.fn.max('published_at').as('b'),
      ])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    parts.push(row?.n, row?.a, row?.b);
  }
  return parts.map((part) => String(part ?? '')).join('|');
}
