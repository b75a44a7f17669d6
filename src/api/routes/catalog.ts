/**
 * The catalog over HTTP.
 *
 * TMF620 Product Catalog Management v4.0.0 at /tmf-api/productCatalogManagement/v4, mapped onto
 * the catalog model:
 * - productSpecification = a product (what the network delivers); `productNumber` is its code and
 *   the extension `serviceType` its service;
 * - productOffering = an offer; `version`, `validFor` and `productOfferingPrice` are those of the
 *   version in force now (else the next one); patching `productOfferingPrice` makes a new version
 *   from `validFor.startDateTime` with exactly the listed prices (standalone ones, and ones of the
 *   offering's earlier versions to keep), and everything else of the version it follows
 *   (allowances, eligibility, contract, promotions whose prices are all kept);
 * - productOfferingPrice = a price: either one of an offer version (read-only: prices change
 *   through a new version of the offering) or a standalone price not yet used by an offering;
 * - category and catalog = the categories and catalogs of the catalog model.
 * Lists take attribute filters (`name`, `lifecycleStatus`, ...), `fields` (attribute selection),
 * `offset` and `limit`, and answer with X-Total-Count and X-Result-Count. PATCH takes JSON Merge
 * Patch (application/merge-patch+json). Amounts are decimal text (`"value": "25.00"`), never JSON
 * numbers: Tollgate's one deviation from the TMF schema, so that no digit of a price is lost.
 *
 * Also /v1/tariffs (tariffs, their versions, rate-deck import as text/csv), /v1/offers/{id}/versions,
 * /v1/catalog/export and /v1/catalog/dry-run.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app/container.js';
import type { Role } from '../../access/index.js';
import { CommonErrors, fail, isTollgateError } from '../../kernel/errors.js';
import { newId } from '../../kernel/ids.js';
import { parseInstant, systemClock } from '../../kernel/clock.js';
import {
  CatalogErrors,
  SERVICES,
  catalogProblemsError,
  readOfferVersion,
  serializeCatalog,
  type CatalogRecord,
  type CatalogStatus,
  type Category,
  type OfferKind,
  type OfferVersionDefinition,
  type PriceDefinition,
  type Product,
  type Service,
  type TariffVersion,
} from '../../catalog/index.js';
import {
  addOfferVersion,
  addTariffVersion,
  changeOffer,
  correctTariffVersion,
  createCatalog,
  createCategory,
  createOffer,
  createPrice,
  createProduct,
  createTariff,
  deleteCatalog,
  deleteCategory,
  deleteOffer,
  deletePrice,
  deleteProduct,
  dryRun,
  exportCatalog,
  getCatalog,
  getCategory,
  getOffer,
  getPrice,
  getProduct,
  getTariff,
  getTariffVersion,
  importRateDeck,
  listCatalogs,
  listCategories,
  listOffers,
  listOfferVersions,
  listPrices,
  listProducts,
  listTariffs,
  listTariffVersions,
  offerVersionAt,
  parseUsageSampleCsv,
  pastUsageSample,
  publishOfferVersion,
  publishTariffVersion,
  tariffVersionAt,
  updateCatalog,
  updateCategory,
  updatePrice,
  updateProduct,
  CATALOG_ID_PREFIXES as P,
  type OfferView,
  type PastUsageSelection,
  type PriceRecord,
  type UsageSample,
} from '../../workflows/catalog.js';
import { getTenant } from '../../workflows/tenants.js';
import { callerOf, principalOf } from '../access.js';
import { sendProblem, withRenamedFields } from '../problem.js';
import { idParams, instantSchema, problemResponses } from '../schemas.js';

const WRITE: readonly Role[] = ['catalog-manager'];
const READ: readonly Role[] = [
  'catalog-manager',
  'billing-operator',
  'support-agent',
  'finance',
  'read-only',
];

export const TMF620_BASE = '/tmf-api/productCatalogManagement/v4';
/** The largest rate deck accepted as a text/csv body: 200k rows take about 10 MB. */
const RATE_DECK_LIMIT_BYTES = 64 * 1024 * 1024;

// ------------------------------------------------------------------------------------------------
// TMF vocabulary

const LIFECYCLE_IN = [
  'In study',
  'In design',
  'In test',
  'Active',
  'Launched',
  'Retired',
  'Obsolete',
  'Rejected',
] as const;
type TmfLifecycle = (typeof LIFECYCLE_IN)[number];
const LIFECYCLE_OUT: Record<CatalogStatus, string> = {
  draft: 'In design',
  active: 'Active',
  retired: 'Retired',
};

function statusOf(tmf: TmfLifecycle | undefined): CatalogStatus | undefined {
  switch (tmf) {
    case undefined:
      return undefined;
    case 'Active':
    case 'Launched':
      return 'active';
    case 'Retired':
    case 'Obsolete':
      return 'retired';
    default:
      return 'draft';
  }
}

const href = (resource: string, id: string) => `${TMF620_BASE}/${resource}/${id}`;
const ref = (resource: string, type: string, item: { id: string; name: string }) => ({
  id: item.id,
  href: href(resource, item.id),
  name: item.name,
  '@referredType': type,
});

const PRICE_TYPES: Record<PriceDefinition['kind'], string> = {
  recurring: 'recurring',
  'one-time': 'oneTime',
  usage: 'usage',
  deposit: 'deposit',
};

function productSpecificationJson(product: Product) {
  return {
    id: product.id,
    href: href('productSpecification', product.id),
    '@type': 'ProductSpecification',
    name: product.name,
    ...(product.description !== undefined ? { description: product.description } : {}),
    productNumber: product.code,
    serviceType: product.service,
    isBundle: false,
    lifecycleStatus: LIFECYCLE_OUT[product.status],
    version: '1',
    lastUpdate: product.updatedAt,
    validFor: { startDateTime: product.createdAt },
  };
}

function productOfferingJson(view: OfferView) {
  const { offer, current } = view;
  const first = view.products[0];
  const contract = current?.content.contract;
  return {
    id: offer.id,
    href: href('productOffering', offer.id),
    '@type': 'ProductOffering',
    name: offer.name,
    ...(offer.description !== undefined ? { description: offer.description } : {}),
    code: offer.code,
    offerType: offer.kind,
    isBundle: offer.kind === 'bundle',
    isSellable: offer.status === 'active',
    lifecycleStatus: LIFECYCLE_OUT[offer.status],
    version: String(current?.number ?? 0),
    lastUpdate: offer.updatedAt,
    currencies: offer.currencies,
    ...(current
      ? {
          validFor: {
            startDateTime: current.effectiveFrom,
            ...(current.effectiveTo !== undefined ? { endDateTime: current.effectiveTo } : {}),
          },
        }
      : {}),
    ...(first ? { productSpecification: ref('productSpecification', 'ProductSpecification', first) } : {}),
    productOfferingPrice: view.prices.map((price) =>
      ref('productOfferingPrice', 'ProductOfferingPrice', price),
    ),
    category: view.categories.map((category) => ref('category', 'Category', category)),
    bundledProductOffering: view.components.map((component) =>
      ref('productOffering', 'ProductOffering', component),
    ),
    productOfferingTerm: contract
      ? [{ name: 'minimum term', duration: { amount: contract.minimumTermMonths, units: 'month' } }]
      : [],
  };
}

/** The published version a new one starting at `from` follows: the last to start by then, else the first. */
function baseVersion(view: OfferView, from: string): OfferView['versions'][number] | undefined {
  const published = view.versions.filter((v) => v.status === 'published');
  const started = published.filter((v) => v.effectiveFrom <= from);
  return started[started.length - 1] ?? published[0];
}

function productOfferingPriceJson(price: PriceRecord) {
  const definition = price.definition;
  const amounts = 'amounts' in definition ? definition.amounts : [];
  const first = amounts[0];
  return {
    id: price.id,
    href: href('productOfferingPrice', price.id),
    '@type': 'ProductOfferingPrice',
    name: price.name,
    ...(price.description !== undefined ? { description: price.description } : {}),
    code: price.code,
    priceType: PRICE_TYPES[definition.kind],
    isBundle: false,
    lifecycleStatus: LIFECYCLE_OUT[price.status],
    version: '1',
    lastUpdate: price.updatedAt,
    ...(price.validFrom !== undefined
      ? {
          validFor: {
            startDateTime: price.validFrom,
            ...(price.validTo !== undefined ? { endDateTime: price.validTo } : {}),
          },
        }
      : {}),
    ...(first ? { price: { unit: first.currency, value: first.amount } } : {}),
    ...(amounts.length > 1 ? { prices: amounts.map((a) => ({ unit: a.currency, value: a.amount })) } : {}),
    ...(definition.kind === 'recurring'
      ? {
          recurringChargePeriodType: definition.period,
          recurringChargePeriodLength: definition.periodCount ?? 1,
          billing: definition.billing,
          proration: definition.proration,
        }
      : {}),
    ...(definition.kind === 'one-time' ? { reason: definition.reason } : {}),
    ...(definition.kind === 'usage' ? { tariff: definition.tariff, product: definition.product } : {}),
    ...(price.offerId !== undefined
      ? { productOffering: { id: price.offerId, href: href('productOffering', price.offerId) } }
      : {}),
  };
}

function categoryJson(
  category: Category,
  parentId: string | undefined,
  offers: Array<{ id: string; name: string }>,
) {
  return {
    id: category.id,
    href: href('category', category.id),
    '@type': 'Category',
    name: category.name,
    ...(category.description !== undefined ? { description: category.description } : {}),
    code: category.code,
    isRoot: category.parent === undefined,
    ...(parentId !== undefined ? { parentId } : {}),
    lifecycleStatus: LIFECYCLE_OUT[category.status],
    version: '1',
    lastUpdate: category.updatedAt,
    validFor: { startDateTime: category.createdAt },
    productOffering: offers.map((offer) => ref('productOffering', 'ProductOffering', offer)),
  };
}

function catalogJson(catalog: CatalogRecord, categories: Category[]) {
  return {
    id: catalog.id,
    href: href('catalog', catalog.id),
    '@type': 'Catalog',
    name: catalog.name,
    ...(catalog.description !== undefined ? { description: catalog.description } : {}),
    code: catalog.code,
    catalogType: 'ProductCatalog',
    lifecycleStatus: LIFECYCLE_OUT[catalog.status],
    version: '1',
    lastUpdate: catalog.updatedAt,
    validFor: { startDateTime: catalog.createdAt },
    category: categories.map((category) => ref('category', 'Category', category)),
  };
}

/** `fields=name,price` keeps those attributes (and always id, href and @type). */
function selectFields(
  resource: Record<string, unknown>,
  fields: string | undefined,
): Record<string, unknown> {
  if (fields === undefined || fields.trim() === '') return resource;
  const wanted = new Set(['id', 'href', '@type', ...fields.split(',').map((f) => f.trim().split('.')[0]!)]);
  return Object.fromEntries(Object.entries(resource).filter(([key]) => wanted.has(key)));
}

// ------------------------------------------------------------------------------------------------
// Schemas

const refSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 100 },
    href: { type: 'string', maxLength: 500 },
    name: { type: 'string', maxLength: 200 },
    '@referredType': { type: 'string', maxLength: 100 },
    '@type': { type: 'string', maxLength: 100 },
  },
} as const;
const refList = { type: 'array', maxItems: 50, items: refSchema } as const;
const validForSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { startDateTime: instantSchema, endDateTime: instantSchema },
} as const;
const typeProperties = {
  '@type': { type: 'string', maxLength: 100 },
  '@baseType': { type: 'string', maxLength: 100 },
  '@schemaLocation': { type: 'string', maxLength: 500 },
} as const;
const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const description = { type: 'string', maxLength: 1000 } as const;
const nullableDescription = { type: ['string', 'null'], maxLength: 1000 } as const;
const lifecycleStatus = { type: 'string', enum: LIFECYCLE_IN } as const;
const code = { type: 'string', minLength: 1, maxLength: 64 } as const;

const FIELD_LIST = '^[A-Za-z@][A-Za-z0-9@_.]*(,[A-Za-z@][A-Za-z0-9@_.]*)*$';
const fieldsQuery = {
  fields: {
    type: 'string',
    maxLength: 500,
    pattern: FIELD_LIST,
    description: 'Attributes to return, comma-separated',
  },
};

function listQuery(extra: Record<string, unknown> = {}) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...fieldsQuery,
      offset: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 },
      limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
      name,
      lifecycleStatus,
      ...extra,
    },
  } as const;
}

const oneQuery = { type: 'object', additionalProperties: false, properties: fieldsQuery } as const;
const tmfResource = {
  type: 'object',
  additionalProperties: true,
  properties: { id: { type: 'string' }, href: { type: 'string' } },
} as const;
const tmfList = { type: 'array', items: tmfResource } as const;

interface ListQuery {
  fields?: string;
  offset: number;
  limit: number;
  name?: string;
  lifecycleStatus?: TmfLifecycle;
}

function filterOf(query: ListQuery) {
  const status = statusOf(query.lifecycleStatus);
  return {
    offset: query.offset,
    limit: query.limit,
    ...(query.name !== undefined ? { name: query.name } : {}),
    ...(status !== undefined ? { status } : {}),
  };
}

function sendList(
  reply: FastifyReply,
  items: Array<Record<string, unknown>>,
  total: number,
  fields: string | undefined,
) {
  reply.header('x-total-count', String(total)).header('x-result-count', String(items.length));
  return items.map((item) => selectFields(item, fields));
}

function created(reply: FastifyReply, resource: { id: string; href?: string }, location?: string) {
  reply.code(201).header('location', location ?? resource.href ?? '');
  return resource;
}

const INSTANT_FIELDS = new Set([
  'startDateTime',
  'endDateTime',
  'effectiveFrom',
  'effectiveTo',
  'at',
  'occurredAt',
]);

/** Refuses date-times that pass the schema's format but name no real instant. */
function checkInstants(value: unknown, pointer: string): void {
  if (value === null || typeof value !== 'object') return;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'definition') continue;
    const at = `${pointer}/${key}`;
    if (INSTANT_FIELDS.has(key) && typeof item === 'string' && parseInstant(item) === undefined)
      throw fail(CommonErrors.invalid_input, `${at} is not a valid date-time`, { field: at });
    if (typeof item === 'object') checkInstants(item, at);
  }
}

type Renames = ReadonlyArray<readonly [RegExp, string]>;

/**
 * The catalog use cases name the field at fault in the catalog model, as a pointer into their input
 * (`/code`, `/versions/0/prices/1/amounts/0/currency`, `/definition/voice/rates/0/unitPrice`);
 * every API error names a pointer into the request (docs/api.md). These say where each resource's
 * request carries what the model calls otherwise; anything else is the body's field of that name.
 */
const REQUEST_FIELDS: Readonly<Record<string, Renames>> = {
  productSpecification: [
    [/^\/code$/, '/body/productNumber'],
    [/^\/service$/, '/body/serviceType'],
    [/^\/status$/, '/body/lifecycleStatus'],
  ],
  productOffering: [
    [/^(\/versions\/\d+)?\/prices\/(\d+)(\/.*)?$/, '/body/productOfferingPrice/$2'],
    [/^(\/versions\/\d+)?\/effectiveFrom$/, '/body/validFor/startDateTime'],
    [/^(\/versions\/\d+)?\/effectiveTo$/, '/body/validFor/endDateTime'],
    [/^(\/versions\/\d+)?\/contract(\/.*)?$/, '/body/productOfferingTerm/0'],
    [/^\/products(\/\d+)?$/, '/body/productSpecification'],
    [/^\/components\/(\d+)$/, '/body/bundledProductOffering/$1'],
    [/^\/kind$/, '/body/offerType'],
    [/^\/status$/, '/body/lifecycleStatus'],
  ],
  productOfferingPrice: [[/^\/status$/, '/body/lifecycleStatus']],
  category: [
    [/^\/parent$/, '/body/parentId'],
    [/^\/offers\/(\d+)$/, '/body/productOffering/$1'],
    [/^\/status$/, '/body/lifecycleStatus'],
  ],
  catalog: [
    [/^\/categories\/(\d+)$/, '/body/category/$1'],
    [/^\/status$/, '/body/lifecycleStatus'],
  ],
};

/** A use case's field as a JSON pointer into the request; pointers into it and other names stay. */
function requestPointer(field: string, renames: Renames = []): string {
  if (!field.startsWith('/') || /^\/(body|querystring|params)(\/|$)/.test(field)) return field;
  for (const [pattern, replacement] of renames)
    if (pattern.test(field)) return field.replace(pattern, replacement);
  return `/body${field}`;
}

/** Publishing takes no body: what does not fit is the draft the path names. */
const PUBLISH_FIELDS: Renames = [[/^\/.*$/, '/params/id']];

/** The renames of the route's resource (none for the /v1 routes, whose bodies use the model's names). */
function renamesOf(url: string | undefined): Renames {
  if (url?.endsWith('/publish')) return PUBLISH_FIELDS;
  if (url === undefined || !url.startsWith(`${TMF620_BASE}/`)) return [];
  return REQUEST_FIELDS[url.slice(TMF620_BASE.length + 1).split('/')[0]!] ?? [];
}

function withRequestPointers(error: unknown, renames: Renames): unknown {
  return withRenamedFields(error, (field) => requestPointer(field, renames));
}

const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;
const tenantOf = (request: FastifyRequest) => principalOf(request).tenantId;

/** Codes for resources created through TMF without one (TMF has no code): PS-, PO-, POP-, CAT-, CTG- and 12 random characters. */
const generatedCode = (kind: string) => `${kind}-${newId('gen', systemClock).slice(-12)}`;

// ------------------------------------------------------------------------------------------------
// Routes

export function catalogRoutes(app: App): FastifyPluginAsync {
  return async (server) => {
    // A rate deck arrives as CSV, with a larger limit than JSON. The text becomes `{ csv }`, the
    // same body a JSON client sends, so one schema validates both.
    server.addContentTypeParser(
      'text/csv',
      { parseAs: 'string', bodyLimit: RATE_DECK_LIMIT_BYTES },
      (_request, body, done) => done(null, { csv: body }),
    );

    // JSON Schema's date-time admits what no clock shows (a leap second in 9999): every instant of
    // a request must also be one Tollgate can store, or the request is refused naming the field.
    server.addHook('preHandler', async (request) => {
      checkInstants(request.body, '/body');
      checkInstants(request.query, '/querystring');
    });

    // Every error of these routes names its field as a pointer into the request (see
    // requestPointer); the problem document itself is the server's one error mapping.
    server.setErrorHandler((error, request, reply) =>
      sendProblem(withRequestPointers(error, renamesOf(request.routeOptions.url)), request, reply),
    );

    const tags = ['TMF620 product catalog'];

    // ---- productSpecification ----------------------------------------------------------------
    server.post(
      `${TMF620_BASE}/productSpecification`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Create a product specification (a product)',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'serviceType'],
            properties: {
              name,
              serviceType: {
                type: 'string',
                enum: SERVICES,
                description: 'Tollgate extension: the service delivered',
              },
              description,
              productNumber: code,
              lifecycleStatus,
              ...typeProperties,
            },
          },
          response: { 201: tmfResource, ...problemResponses },
        },
      },
      async (request, reply) => {
        const body = request.body as {
          name: string;
          serviceType: Service;
          description?: string;
          productNumber?: string;
          lifecycleStatus?: TmfLifecycle;
        };
        const caller = callerOf(request);
        const status = statusOf(body.lifecycleStatus);
        const product = await createProduct(app, caller, {
          code: body.productNumber ?? generatedCode('PS'),
          name: body.name,
          service: body.serviceType,
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(status !== undefined ? { status } : {}),
        });
        return created(reply, productSpecificationJson(product));
      },
    );
    server.get(
      `${TMF620_BASE}/productSpecification`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'List product specifications',
          querystring: listQuery({ productNumber: code, serviceType: { type: 'string', enum: SERVICES } }),
          response: { 200: tmfList, ...problemResponses },
        },
      },
      async (request, reply) => {
        const query = request.query as ListQuery & { productNumber?: string; serviceType?: Service };
        const page = await listProducts(app, tenantOf(request), {
          ...filterOf(query),
          ...(query.productNumber !== undefined ? { code: query.productNumber } : {}),
          ...(query.serviceType !== undefined ? { service: query.serviceType } : {}),
        });
        return sendList(reply, page.items.map(productSpecificationJson), page.total, query.fields);
      },
    );
    server.get(
      `${TMF620_BASE}/productSpecification/:id`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'Retrieve a product specification',
          params: idParams(P.product),
          querystring: oneQuery,
          response: { 200: tmfResource, ...problemResponses },
        },
      },
      async (request) =>
        selectFields(
          productSpecificationJson(await getProduct(app, tenantOf(request), idOf(request))),
          (request.query as { fields?: string }).fields,
        ),
    );
    server.patch(
      `${TMF620_BASE}/productSpecification/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Change a product specification (JSON Merge Patch)',
          params: idParams(P.product),
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              name,
              description: nullableDescription,
              lifecycleStatus,
              serviceType: { type: 'string', enum: SERVICES },
              ...typeProperties,
            },
          },
          response: { 200: tmfResource, ...problemResponses },
        },
      },
      async (request) => {
        const body = request.body as {
          name?: string;
          description?: string | null;
          lifecycleStatus?: TmfLifecycle;
          serviceType?: Service;
        };
        const status = statusOf(body.lifecycleStatus);
        const product = await updateProduct(app, callerOf(request), idOf(request), {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(status !== undefined ? { status } : {}),
          ...(body.serviceType !== undefined ? { service: body.serviceType } : {}),
        });
        return productSpecificationJson(product);
      },
    );
    server.delete(
      `${TMF620_BASE}/productSpecification/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Delete a product specification no offering uses',
          params: idParams(P.product),
          response: { 204: { type: 'null' }, ...problemResponses },
        },
      },
      async (request, reply) => {
        await deleteProduct(app, callerOf(request), idOf(request));
        return reply.code(204).send();
      },
    );

    // ---- productOffering -----------------------------------------------------------------------
    const offeringBody = {
      name,
      description,
      code,
      lifecycleStatus,
      offerType: { type: 'string', enum: ['plan', 'add-on', 'bundle'], description: 'Tollgate extension' },
      isBundle: { type: 'boolean' },
      isSellable: { type: 'boolean' },
      currencies: {
        type: 'array',
        minItems: 1,
        maxItems: 20,
        items: { type: 'string', minLength: 3, maxLength: 3 },
      },
      validFor: validForSchema,
      productSpecification: refSchema,
      productOfferingPrice: refList,
      category: refList,
      bundledProductOffering: refList,
      productOfferingTerm: {
        type: 'array',
        maxItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['duration'],
          properties: {
            name: { type: 'string', maxLength: 200 },
            description,
            duration: {
              type: 'object',
              additionalProperties: false,
              required: ['amount', 'units'],
              properties: {
                amount: { type: 'integer', minimum: 1, maximum: 120 },
                units: { type: 'string', enum: ['month', 'months'] },
              },
            },
          },
        },
      },
      ...typeProperties,
    } as const;

    interface OfferingBody {
      name?: string;
      description?: string | null;
      code?: string;
      lifecycleStatus?: TmfLifecycle;
      offerType?: OfferKind;
      isBundle?: boolean;
      currencies?: string[];
      validFor?: { startDateTime?: string; endDateTime?: string };
      productSpecification?: { id: string };
      productOfferingPrice?: Array<{ id: string }>;
      category?: Array<{ id: string }>;
      bundledProductOffering?: Array<{ id: string }>;
      productOfferingTerm?: Array<{ duration: { amount: number } }>;
    }

    /**
     * The referenced records' codes, and the version the offering's prices make. On create, the
     * refs are standalone prices, which become the first version's prices. On a PATCH of an
     * existing offering, the refs list the new version's prices in full (merge patch replaces the
     * list): standalone prices, and prices of this offering's earlier versions to keep (usage
     * prices, which TMF620 cannot create, are kept that way). Everything TMF620 does not carry —
     * allowances, promotions whose prices are all kept, eligibility, the contract unless
     * productOfferingTerm is given — comes from the version the new one follows, so a price change
     * never drops them.
     */
    async function resolveOffering(
      request: FastifyRequest,
      body: OfferingBody,
      currencies: readonly string[] | undefined,
      existing?: OfferView,
    ) {
      const tenantId = tenantOf(request);
      const product = body.productSpecification
        ? await getProduct(app, tenantId, body.productSpecification.id).catch(() => {
            throw fail(
              CatalogErrors.product_not_found,
              `no product specification ${body.productSpecification!.id}`,
              {
                field: '/body/productSpecification/id',
              },
            );
          })
        : undefined;
      const categories: string[] = [];
      for (const [i, item] of (body.category ?? []).entries()) {
        const category = await getCategory(app, tenantId, item.id).catch(() => {
          throw fail(CatalogErrors.category_not_found, `no category ${item.id}`, {
            field: `/body/category/${i}/id`,
          });
        });
        categories.push(category.code);
      }
      const components: string[] = [];
      for (const [i, item] of (body.bundledProductOffering ?? []).entries()) {
        const view = await getOffer(app, tenantId, item.id).catch(() => {
          throw fail(CatalogErrors.offer_not_found, `no product offering ${item.id}`, {
            field: `/body/bundledProductOffering/${i}/id`,
          });
        });
        components.push(view.offer.code);
      }
      let version: { definition: OfferVersionDefinition; attachPrices: Map<string, string> } | undefined;
      let priceCurrencies: string[] = [];
      if (body.productOfferingPrice !== undefined && body.productOfferingPrice.length > 0) {
        const prices: PriceDefinition[] = [];
        const attachPrices = new Map<string, string>();
        for (const [i, item] of body.productOfferingPrice.entries()) {
          const field = `/body/productOfferingPrice/${i}/id`;
          const price = await getPrice(app, tenantId, item.id).catch((error: unknown) => {
            throw isTollgateError(error)
              ? fail(error.definition, error.message, { field, record: item.id })
              : error;
          });
          if (price.offerId === undefined) {
            // A standalone price becomes this version's, keeping its id and its name.
            prices.push({ ...price.definition, name: price.name });
            attachPrices.set(price.definition.code, price.id);
          } else if (existing !== undefined && price.offerId === existing.offer.id) {
            prices.push(price.definition);
          } else {
            throw fail(CatalogErrors.in_use, `price ${item.id} already belongs to offer ${price.offerId}`, {
              field,
              record: item.id,
            });
          }
        }
        priceCurrencies = [
          ...new Set(prices.flatMap((p) => ('amounts' in p ? p.amounts.map((a) => a.currency) : []))),
        ];
        const effectiveFrom = body.validFor?.startDateTime ?? app.clock.now();
        const base = existing
          ? baseVersion(existing, parseInstant(effectiveFrom) ?? effectiveFrom)
          : undefined;
        const kept = new Set(prices.map((p) => p.code));
        const promotions = (base?.content.promotions ?? []).filter((promotion) =>
          promotion.appliesTo.every((code) => kept.has(code)),
        );
        const term = body.productOfferingTerm?.[0];
        const contract = term
          ? { ...base?.content.contract, minimumTermMonths: term.duration.amount }
          : base?.content.contract;
        version = {
          definition: {
            effectiveFrom,
            ...(body.validFor?.endDateTime !== undefined ? { effectiveTo: body.validFor.endDateTime } : {}),
            prices,
            ...(contract ? { contract } : {}),
            ...(promotions.length > 0 ? { promotions } : {}),
            ...(base?.content.allowances ? { allowances: base.content.allowances } : {}),
            ...(base?.content.eligibility ? { eligibility: base.content.eligibility } : {}),
          },
          attachPrices,
        };
      }
      const offerCurrencies =
        currencies ??
        (priceCurrencies.length > 0
          ? priceCurrencies
          : [(await getTenant(app, tenantId)).settings.defaultCurrency]);
      return { product, categories, components, version, currencies: offerCurrencies };
    }

    server.post(
      `${TMF620_BASE}/productOffering`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary:
            'Create a product offering (an offer); its productOfferingPrice refs become its first version',
          body: { type: 'object', additionalProperties: false, required: ['name'], properties: offeringBody },
          response: { 201: tmfResource, ...problemResponses },
        },
      },
      async (request, reply) => {
        const body = request.body as OfferingBody & { name: string };
        const resolved = await resolveOffering(request, body, body.currencies);
        const status = statusOf(body.lifecycleStatus);
        const kind: OfferKind = body.offerType ?? (body.isBundle ? 'bundle' : 'plan');
        const view = await createOffer(
          app,
          callerOf(request),
          {
            code: body.code ?? generatedCode('PO'),
            name: body.name,
            ...(typeof body.description === 'string' ? { description: body.description } : {}),
            kind,
            currencies: resolved.currencies,
            products: resolved.product ? [resolved.product.code] : [],
            components: resolved.components,
            ...(status !== undefined ? { status } : {}),
            versions: resolved.version ? [resolved.version.definition] : [],
          },
          { attachPrices: resolved.version?.attachPrices ?? new Map(), categories: resolved.categories },
        );
        return created(reply, productOfferingJson(view));
      },
    );
    server.get(
      `${TMF620_BASE}/productOffering`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'List product offerings',
          querystring: listQuery({ code, offerType: { type: 'string', enum: ['plan', 'add-on', 'bundle'] } }),
          response: { 200: tmfList, ...problemResponses },
        },
      },
      async (request, reply) => {
        const query = request.query as ListQuery & { code?: string; offerType?: OfferKind };
        const page = await listOffers(app, tenantOf(request), {
          ...filterOf(query),
          ...(query.code !== undefined ? { code: query.code } : {}),
          ...(query.offerType !== undefined ? { kind: query.offerType } : {}),
        });
        return sendList(reply, page.items.map(productOfferingJson), page.total, query.fields);
      },
    );
    server.get(
      `${TMF620_BASE}/productOffering/:id`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'Retrieve a product offering',
          params: idParams(P.offer),
          querystring: oneQuery,
          response: { 200: tmfResource, ...problemResponses },
        },
      },
      async (request) =>
        selectFields(
          productOfferingJson(await getOffer(app, tenantOf(request), idOf(request))),
          (request.query as { fields?: string }).fields,
        ),
    );
    server.patch(
      `${TMF620_BASE}/productOffering/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary:
            'Change a product offering (JSON Merge Patch); new productOfferingPrice refs make a new version from validFor.startDateTime (default now)',
          params: idParams(P.offer),
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              name,
              description: nullableDescription,
              lifecycleStatus,
              category: refList,
              productOfferingPrice: refList,
              validFor: validForSchema,
              productOfferingTerm: offeringBody.productOfferingTerm,
              ...typeProperties,
            },
          },
          response: { 200: tmfResource, ...problemResponses },
        },
      },
      async (request) => {
        const body = request.body as OfferingBody;
        const tenantId = tenantOf(request);
        const id = idOf(request);
        const existing = await getOffer(app, tenantId, id);
        const resolved = await resolveOffering(
          request,
          { ...body, productSpecification: undefined },
          existing.offer.currencies,
          existing,
        );
        const status = statusOf(body.lifecycleStatus);
        const view = await changeOffer(
          app,
          callerOf(request),
          id,
          {
            ...(body.name !== undefined ? { name: body.name } : {}),
            ...(body.description !== undefined ? { description: body.description } : {}),
            ...(status !== undefined ? { status } : {}),
            ...(body.category !== undefined ? { categories: resolved.categories } : {}),
          },
          resolved.version,
        );
        return productOfferingJson(view);
      },
    );
    server.delete(
      `${TMF620_BASE}/productOffering/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Delete a product offering that has never been in force (retire it otherwise)',
          params: idParams(P.offer),
          response: { 204: { type: 'null' }, ...problemResponses },
        },
      },
      async (request, reply) => {
        await deleteOffer(app, callerOf(request), idOf(request));
        return reply.code(204).send();
      },
    );

    // ---- productOfferingPrice ------------------------------------------------------------------
    const priceSchema = {
      type: 'object',
      additionalProperties: false,
      required: ['unit', 'value'],
      properties: {
        unit: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code' },
        value: {
          type: 'string',
          pattern: '^-?[0-9]{1,18}(\\.[0-9]{1,12})?$',
          description: 'Decimal text in major units, e.g. "25.00"',
        },
      },
    } as const;
    const popProperties = {
      name,
      description,
      code,
      priceType: { type: 'string', enum: ['recurring', 'oneTime', 'deposit'] },
      price: priceSchema,
      lifecycleStatus,
      validFor: validForSchema,
      recurringChargePeriodType: { type: 'string', enum: ['month', 'week', 'day', 'year'] },
      recurringChargePeriodLength: { type: 'integer', minimum: 1, maximum: 36 },
      billing: { type: 'string', enum: ['advance', 'arrears'], description: 'Tollgate extension' },
      proration: { type: 'string', enum: ['none', 'daily', 'exact'], description: 'Tollgate extension' },
      reason: {
        type: 'string',
        enum: ['activation', 'installation', 'equipment', 'other'],
        description: 'Tollgate extension',
      },
      ...typeProperties,
    } as const;

    interface PopBody {
      name?: string;
      description?: string | null;
      code?: string;
      priceType?: 'recurring' | 'oneTime' | 'deposit';
      price?: { unit: string; value: string };
      lifecycleStatus?: TmfLifecycle;
      validFor?: { startDateTime?: string; endDateTime?: string };
      recurringChargePeriodType?: 'month' | 'week' | 'day' | 'year';
      recurringChargePeriodLength?: number;
      billing?: 'advance' | 'arrears';
      proration?: 'none' | 'daily' | 'exact';
      reason?: 'activation' | 'installation' | 'equipment' | 'other';
    }

    function priceDefinition(body: PopBody, codeOf: string, before?: PriceDefinition): PriceDefinition {
      const priceType =
        body.priceType ?? (before ? (PRICE_TYPES[before.kind] as PopBody['priceType']) : 'recurring');
      const previous = before && 'amounts' in before ? before.amounts[0] : undefined;
      const amount = body.price ? { amount: body.price.value, currency: body.price.unit } : previous;
      if (!amount)
        throw fail(CommonErrors.invalid_input, '/body/price is required for this price type', {
          field: '/body/price',
        });
      const amounts = [amount];
      const old = before?.kind === 'recurring' ? before : undefined;
      switch (priceType) {
        case 'oneTime':
          return {
            code: codeOf,
            kind: 'one-time',
            reason: body.reason ?? (before?.kind === 'one-time' ? before.reason : 'other'),
            amounts,
          };
        case 'deposit':
          return { code: codeOf, kind: 'deposit', amounts };
        default:
          return {
            code: codeOf,
            kind: 'recurring',
            amounts,
            period: body.recurringChargePeriodType ?? old?.period ?? 'month',
            ...(body.recurringChargePeriodLength !== undefined || old?.periodCount !== undefined
              ? { periodCount: body.recurringChargePeriodLength ?? old!.periodCount! }
              : {}),
            billing: body.billing ?? old?.billing ?? 'advance',
            proration: body.proration ?? old?.proration ?? 'daily',
          };
      }
    }

    server.post(
      `${TMF620_BASE}/productOfferingPrice`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Create a standalone price, for an offering to use (usage prices come from tariffs)',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'priceType', 'price'],
            properties: popProperties,
          },
          response: { 201: tmfResource, ...problemResponses },
        },
      },
      async (request, reply) => {
        const body = request.body as PopBody & { name: string };
        const status = statusOf(body.lifecycleStatus);
        const price = await createPrice(app, callerOf(request), {
          name: body.name,
          ...(typeof body.description === 'string' ? { description: body.description } : {}),
          definition: priceDefinition(body, body.code ?? generatedCode('POP')),
          ...(status !== undefined ? { status } : {}),
          ...(body.validFor?.startDateTime !== undefined ? { validFrom: body.validFor.startDateTime } : {}),
          ...(body.validFor?.endDateTime !== undefined ? { validTo: body.validFor.endDateTime } : {}),
        });
        return created(reply, productOfferingPriceJson(price));
      },
    );
    server.get(
      `${TMF620_BASE}/productOfferingPrice`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'List prices (of offering versions, and standalone ones)',
          querystring: listQuery({
            priceType: { type: 'string', enum: ['recurring', 'oneTime', 'usage', 'deposit'] },
          }),
          response: { 200: tmfList, ...problemResponses },
        },
      },
      async (request, reply) => {
        const query = request.query as ListQuery & { priceType?: string };
        const kind = Object.entries(PRICE_TYPES).find(([, tmf]) => tmf === query.priceType)?.[0];
        const page = await listPrices(app, tenantOf(request), {
          ...filterOf(query),
          ...(kind !== undefined ? { kind } : {}),
        });
        return sendList(reply, page.items.map(productOfferingPriceJson), page.total, query.fields);
      },
    );
    server.get(
      `${TMF620_BASE}/productOfferingPrice/:id`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'Retrieve a price',
          params: idParams(P.price),
          querystring: oneQuery,
          response: { 200: tmfResource, ...problemResponses },
        },
      },
      async (request) =>
        selectFields(
          productOfferingPriceJson(await getPrice(app, tenantOf(request), idOf(request))),
          (request.query as { fields?: string }).fields,
        ),
    );
    server.patch(
      `${TMF620_BASE}/productOfferingPrice/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Change a standalone price (JSON Merge Patch); prices of offering versions are read-only',
          params: idParams(P.price),
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: { ...popProperties, description: nullableDescription },
          },
          response: { 200: tmfResource, ...problemResponses },
        },
      },
      async (request) => {
        const body = request.body as PopBody;
        const before = await getPrice(app, tenantOf(request), idOf(request));
        const status = statusOf(body.lifecycleStatus);
        const pricing =
          body.price !== undefined ||
          body.priceType !== undefined ||
          body.code !== undefined ||
          body.recurringChargePeriodType !== undefined ||
          body.recurringChargePeriodLength !== undefined ||
          body.billing !== undefined ||
          body.proration !== undefined ||
          body.reason !== undefined;
        const price = await updatePrice(app, callerOf(request), before.id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(status !== undefined ? { status } : {}),
          ...(body.validFor?.startDateTime !== undefined ? { validFrom: body.validFor.startDateTime } : {}),
          ...(body.validFor?.endDateTime !== undefined ? { validTo: body.validFor.endDateTime } : {}),
          ...(pricing && before.offerVersionId === undefined
            ? { definition: priceDefinition(body, body.code ?? before.code, before.definition) }
            : {}),
        });
        return productOfferingPriceJson(price);
      },
    );
    server.delete(
      `${TMF620_BASE}/productOfferingPrice/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Delete a standalone price',
          params: idParams(P.price),
          response: { 204: { type: 'null' }, ...problemResponses },
        },
      },
      async (request, reply) => {
        await deletePrice(app, callerOf(request), idOf(request));
        return reply.code(204).send();
      },
    );

    // ---- category --------------------------------------------------------------------------
    async function categoryOut(tenantId: string, category: Category) {
      const parent =
        category.parent === undefined ? undefined : await categoryByCode(tenantId, category.parent);
      const offers: Array<{ id: string; name: string }> = [];
      for (const offerCode of category.offers) {
        const page = await listOffers(app, tenantId, { code: offerCode, offset: 0, limit: 1 });
        const found = page.items[0];
        if (found) offers.push({ id: found.offer.id, name: found.offer.name });
      }
      return categoryJson(category, parent?.id, offers);
    }
    async function categoryByCode(tenantId: string, categoryCode: string) {
      return (await listCategories(app, tenantId, { code: categoryCode, offset: 0, limit: 1 })).items[0];
    }
    async function offerCodes(tenantId: string, refs: Array<{ id: string }> | undefined, field: string) {
      const out: string[] = [];
      for (const [i, item] of (refs ?? []).entries()) {
        const view = await getOffer(app, tenantId, item.id).catch(() => {
          throw fail(CatalogErrors.offer_not_found, `no product offering ${item.id}`, {
            field: `${field}/${i}/id`,
          });
        });
        out.push(view.offer.code);
      }
      return out;
    }
    async function parentCode(tenantId: string, parentId: string | null | undefined) {
      if (parentId === undefined || parentId === null) return parentId;
      const parent = await getCategory(app, tenantId, parentId).catch(() => {
        throw fail(CatalogErrors.category_not_found, `no category ${parentId}`, { field: '/body/parentId' });
      });
      return parent.code;
    }

    const categoryProperties = {
      name,
      description,
      code,
      lifecycleStatus,
      parentId: { type: 'string', minLength: 1, maxLength: 100 },
      isRoot: { type: 'boolean' },
      productOffering: refList,
      ...typeProperties,
    } as const;
    interface CategoryBody {
      name?: string;
      description?: string | null;
      code?: string;
      lifecycleStatus?: TmfLifecycle;
      parentId?: string | null;
      productOffering?: Array<{ id: string }>;
    }

    server.post(
      `${TMF620_BASE}/category`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Create a category',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: categoryProperties,
          },
          response: { 201: tmfResource, ...problemResponses },
        },
      },
      async (request, reply) => {
        const body = request.body as CategoryBody & { name: string };
        const tenantId = tenantOf(request);
        const status = statusOf(body.lifecycleStatus);
        const parent = await parentCode(tenantId, body.parentId);
        const category = await createCategory(app, callerOf(request), {
          code: body.code ?? generatedCode('CTG'),
          name: body.name,
          ...(typeof body.description === 'string' ? { description: body.description } : {}),
          ...(typeof parent === 'string' ? { parent } : {}),
          offers: await offerCodes(tenantId, body.productOffering, '/body/productOffering'),
          ...(status !== undefined ? { status } : {}),
        });
        return created(reply, await categoryOut(tenantId, category));
      },
    );
    server.get(
      `${TMF620_BASE}/category`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'List categories',
          querystring: listQuery({ code }),
          response: { 200: tmfList, ...problemResponses },
        },
      },
      async (request, reply) => {
        const query = request.query as ListQuery & { code?: string };
        const tenantId = tenantOf(request);
        const page = await listCategories(app, tenantId, {
          ...filterOf(query),
          ...(query.code !== undefined ? { code: query.code } : {}),
        });
        const items = [];
        for (const category of page.items) items.push(await categoryOut(tenantId, category));
        return sendList(reply, items, page.total, query.fields);
      },
    );
    server.get(
      `${TMF620_BASE}/category/:id`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'Retrieve a category',
          params: idParams(P.category),
          querystring: oneQuery,
          response: { 200: tmfResource, ...problemResponses },
        },
      },
      async (request) => {
        const tenantId = tenantOf(request);
        return selectFields(
          await categoryOut(tenantId, await getCategory(app, tenantId, idOf(request))),
          (request.query as { fields?: string }).fields,
        );
      },
    );
    server.patch(
      `${TMF620_BASE}/category/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Change a category (JSON Merge Patch)',
          params: idParams(P.category),
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              name,
              description: nullableDescription,
              lifecycleStatus,
              parentId: { type: ['string', 'null'], minLength: 1, maxLength: 100 },
              productOffering: refList,
              ...typeProperties,
            },
          },
          response: { 200: tmfResource, ...problemResponses },
        },
      },
      async (request) => {
        const body = request.body as CategoryBody;
        const tenantId = tenantOf(request);
        const id = idOf(request);
        await getCategory(app, tenantId, id);
        const status = statusOf(body.lifecycleStatus);
        const parent = await parentCode(tenantId, body.parentId);
        const category = await updateCategory(app, callerOf(request), id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(status !== undefined ? { status } : {}),
          ...(parent !== undefined ? { parent } : {}),
          ...(body.productOffering !== undefined
            ? { offers: await offerCodes(tenantId, body.productOffering, '/body/productOffering') }
            : {}),
        });
        return categoryOut(tenantId, category);
      },
    );
    server.delete(
      `${TMF620_BASE}/category/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Delete a category without subcategories',
          params: idParams(P.category),
          response: { 204: { type: 'null' }, ...problemResponses },
        },
      },
      async (request, reply) => {
        await deleteCategory(app, callerOf(request), idOf(request));
        return reply.code(204).send();
      },
    );

    // ---- catalog ---------------------------------------------------------------------------
    async function catalogOut(tenantId: string, catalog: CatalogRecord) {
      const categories: Category[] = [];
      for (const categoryCode of catalog.categories) {
        const category = await categoryByCode(tenantId, categoryCode);
        if (category) categories.push(category);
      }
      return catalogJson(catalog, categories);
    }
    async function categoryCodes(tenantId: string, refs: Array<{ id: string }> | undefined) {
      const out: string[] = [];
      for (const [i, item] of (refs ?? []).entries()) {
        const category = await getCategory(app, tenantId, item.id).catch(() => {
          throw fail(CatalogErrors.category_not_found, `no category ${item.id}`, {
            field: `/body/category/${i}/id`,
          });
        });
        out.push(category.code);
      }
      return out;
    }
    interface CatalogBody {
      name?: string;
      description?: string | null;
      code?: string;
      lifecycleStatus?: TmfLifecycle;
      category?: Array<{ id: string }>;
    }

    server.post(
      `${TMF620_BASE}/catalog`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Create a catalog',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: {
              name,
              description,
              code,
              lifecycleStatus,
              catalogType: { type: 'string', maxLength: 100 },
              validFor: validForSchema,
              category: refList,
              ...typeProperties,
            },
          },
          response: { 201: tmfResource, ...problemResponses },
        },
      },
      async (request, reply) => {
        const body = request.body as CatalogBody & { name: string };
        const tenantId = tenantOf(request);
        const status = statusOf(body.lifecycleStatus);
        const catalog = await createCatalog(app, callerOf(request), {
          code: body.code ?? generatedCode('CAT'),
          name: body.name,
          ...(typeof body.description === 'string' ? { description: body.description } : {}),
          categories: await categoryCodes(tenantId, body.category),
          ...(status !== undefined ? { status } : {}),
        });
        return created(reply, await catalogOut(tenantId, catalog));
      },
    );
    server.get(
      `${TMF620_BASE}/catalog`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'List catalogs',
          querystring: listQuery({ code }),
          response: { 200: tmfList, ...problemResponses },
        },
      },
      async (request, reply) => {
        const query = request.query as ListQuery & { code?: string };
        const tenantId = tenantOf(request);
        const page = await listCatalogs(app, tenantId, {
          ...filterOf(query),
          ...(query.code !== undefined ? { code: query.code } : {}),
        });
        const items = [];
        for (const catalog of page.items) items.push(await catalogOut(tenantId, catalog));
        return sendList(reply, items, page.total, query.fields);
      },
    );
    server.get(
      `${TMF620_BASE}/catalog/:id`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'Retrieve a catalog',
          params: idParams(P.catalog),
          querystring: oneQuery,
          response: { 200: tmfResource, ...problemResponses },
        },
      },
      async (request) => {
        const tenantId = tenantOf(request);
        return selectFields(
          await catalogOut(tenantId, await getCatalog(app, tenantId, idOf(request))),
          (request.query as { fields?: string }).fields,
        );
      },
    );
    server.patch(
      `${TMF620_BASE}/catalog/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Change a catalog (JSON Merge Patch)',
          params: idParams(P.catalog),
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              name,
              description: nullableDescription,
              lifecycleStatus,
              category: refList,
              ...typeProperties,
            },
          },
          response: { 200: tmfResource, ...problemResponses },
        },
      },
      async (request) => {
        const body = request.body as CatalogBody;
        const tenantId = tenantOf(request);
        const id = idOf(request);
        await getCatalog(app, tenantId, id);
        const status = statusOf(body.lifecycleStatus);
        const catalog = await updateCatalog(app, callerOf(request), id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(status !== undefined ? { status } : {}),
          ...(body.category !== undefined
            ? { categories: await categoryCodes(tenantId, body.category) }
            : {}),
        });
        return catalogOut(tenantId, catalog);
      },
    );
    server.delete(
      `${TMF620_BASE}/catalog/:id`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Delete a catalog',
          params: idParams(P.catalog),
          response: { 204: { type: 'null' }, ...problemResponses },
        },
      },
      async (request, reply) => {
        await deleteCatalog(app, callerOf(request), idOf(request));
        return reply.code(204).send();
      },
    );

    // ---- /v1: tariffs, offer versions, export, dry run -----------------------------------------
    const v1 = ['catalog'];
    const tariffSchema = {
      type: 'object',
      properties: {
        id: { type: 'string' },
        code: { type: 'string' },
        name: { type: 'string' },
        description: { type: 'string' },
        status: { type: 'string' },
        createdAt: { type: 'string' },
        updatedAt: { type: 'string' },
      },
    } as const;
    const versionSummarySchema = {
      type: 'object',
      properties: {
        id: { type: 'string' },
        tariffId: { type: 'string' },
        number: { type: 'integer' },
        status: { type: 'string', enum: ['draft', 'published', 'superseded'] },
        effectiveFrom: { type: 'string' },
        effectiveTo: { type: 'string' },
        priceChangePolicy: { type: 'string' },
        createdAt: { type: 'string' },
        publishedAt: { type: 'string' },
        correction: {
          type: 'object',
          description: 'On a correction: the version it replaced for the same range, and why',
          properties: { correctsVersionId: { type: 'string' }, reason: { type: 'string' } },
        },
      },
    } as const;
    const summary = (version: TariffVersion) => {
      const { definition: _definition, ...rest } = version;
      return rest;
    };
    const policy = { type: 'string', enum: ['next-period', 'immediate-prorated'] } as const;

    server.post(
      '/v1/tariffs',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary: 'Create a tariff, optionally with versions',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['code', 'name'],
            properties: {
              code,
              name,
              description,
              versions: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['effectiveFrom', 'definition'],
                  properties: {
                    effectiveFrom: instantSchema,
                    effectiveTo: instantSchema,
                    priceChangePolicy: policy,
                    definition: {
                      type: 'object',
                      description: 'A tariff definition (see docs/catalog-as-code.md)',
                    },
                  },
                },
              },
            },
          },
          response: { 201: tariffSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const tariff = await createTariff(
          app,
          callerOf(request),
          request.body as Parameters<typeof createTariff>[2],
        );
        return created(reply, tariff, `/v1/tariffs/${tariff.id}`);
      },
    );
    server.get(
      '/v1/tariffs',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'List tariffs',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
              offset: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 },
              code,
              status: { type: 'string', enum: ['draft', 'active', 'retired'] },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: { items: { type: 'array', items: tariffSchema }, total: { type: 'integer' } },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const query = request.query as {
          limit: number;
          offset: number;
          code?: string;
          status?: CatalogStatus;
        };
        return listTariffs(app, tenantOf(request), query);
      },
    );
    server.get(
      '/v1/tariffs/:id',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'Read a tariff with its versions (without their definitions)',
          params: idParams(P.tariff),
          response: {
            200: {
              type: 'object',
              properties: {
                ...tariffSchema.properties,
                versions: { type: 'array', items: versionSummarySchema },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const tenantId = tenantOf(request);
        const tariff = await getTariff(app, tenantId, idOf(request));
        return { ...tariff, versions: (await listTariffVersions(app, tenantId, tariff.id)).map(summary) };
      },
    );
    server.get(
      '/v1/tariffs/:id/versions',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'The versions of a tariff, or with `at` the version in force at that instant',
          params: idParams(P.tariff),
          querystring: { type: 'object', additionalProperties: false, properties: { at: instantSchema } },
          response: {
            200: { type: 'object', properties: { items: { type: 'array', items: versionSummarySchema } } },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const tenantId = tenantOf(request);
        const { at } = request.query as { at?: string };
        if (at !== undefined)
          return { items: [summary((await tariffVersionAt(app, tenantId, idOf(request), at)).version)] };
        return { items: (await listTariffVersions(app, tenantId, idOf(request))).map(summary) };
      },
    );
    server.post(
      '/v1/tariffs/:id/versions',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary:
            'A change to a tariff: a new version from effectiveFrom (without a definition it keeps the latest rates)',
          params: idParams(P.tariff),
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['effectiveFrom'],
            properties: {
              effectiveFrom: instantSchema,
              effectiveTo: instantSchema,
              priceChangePolicy: policy,
              draft: { type: 'boolean', description: 'Store as a draft, to dry-run before publishing' },
              definition: { type: 'object' },
            },
          },
          response: { 201: versionSummarySchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const body = request.body as {
          effectiveFrom: string;
          effectiveTo?: string;
          priceChangePolicy?: 'next-period' | 'immediate-prorated';
          draft?: boolean;
          definition?: unknown;
        };
        const { draft, ...input } = body;
        const version = await addTariffVersion(app, callerOf(request), idOf(request), input, {
          draft: draft === true,
        });
        return created(reply, summary(version), `/v1/tariff-versions/${version.id}`);
      },
    );
    server.post(
      '/v1/tariffs/:id/rate-deck',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary:
            'Import a rate deck (text/csv: prefix,description,rate,connect_fee,increments,currency,effective_date) as a new version',
          params: idParams(P.tariff),
          body: {
            type: 'object',
            additionalProperties: false,
            properties: {
              csv: { type: 'string', description: 'The deck, when sent as JSON rather than text/csv' },
            },
          },
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              effectiveFrom: { ...instantSchema, description: 'Start of the new version (default: now)' },
              priceChangePolicy: policy,
              draft: { type: 'boolean' },
            },
          },
          response: {
            201: {
              type: 'object',
              properties: {
                version: versionSummarySchema,
                rows: { type: 'integer' },
                zones: { type: 'integer' },
                prefixes: { type: 'integer' },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request, reply) => {
        const tenantId = tenantOf(request);
        const tariff = await getTariff(app, tenantId, idOf(request));
        const csv = (request.body as { csv?: string } | undefined)?.csv;
        if (csv === undefined)
          throw fail(
            CommonErrors.invalid_input,
            '/body/csv is required: send the rate deck as text/csv (or JSON { "csv": "..." })',
            {
              field: '/body/csv',
            },
          );
        const query = request.query as {
          effectiveFrom?: string;
          priceChangePolicy?: 'next-period' | 'immediate-prorated';
          draft?: boolean;
        };
        const result = await importRateDeck(app, callerOf(request), {
          tariff: tariff.id,
          csv,
          effectiveFrom: query.effectiveFrom ?? app.clock.now(),
          ...(query.priceChangePolicy !== undefined ? { priceChangePolicy: query.priceChangePolicy } : {}),
          draft: query.draft === true,
        });
        reply.code(201).header('location', `/v1/tariff-versions/${result.version.id}`);
        return { ...result, version: summary(result.version) };
      },
    );
    server.get(
      '/v1/tariff-versions/:id',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'Read a tariff version with its definition',
          params: idParams(P.tariffVersion),
          response: {
            200: { type: 'object', additionalProperties: true, properties: versionSummarySchema.properties },
            ...problemResponses,
          },
        },
      },
      async (request) => getTariffVersion(app, tenantOf(request), idOf(request)),
    );
    server.post(
      '/v1/tariff-versions/:id/publish',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary: 'Publish a draft version: it joins the version set (overlaps and gaps refused)',
          params: idParams(P.tariffVersion),
          response: { 200: versionSummarySchema, ...problemResponses },
        },
      },
      async (request) => summary(await publishTariffVersion(app, callerOf(request), idOf(request))),
    );
    server.post(
      '/v1/tariff-versions/:id/correct',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary:
            'Correct a published version that has started: a new version with the corrected definition replaces it for its whole range (it becomes superseded); re-rate the usage to write the deltas',
          params: idParams(P.tariffVersion),
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['definition', 'reason'],
            properties: {
              definition: { type: 'object' },
              reason: { type: 'string', minLength: 1, maxLength: 500, description: 'What was wrong' },
            },
          },
          response: { 201: versionSummarySchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const body = request.body as { definition: unknown; reason: string };
        const version = await correctTariffVersion(app, callerOf(request), idOf(request), body);
        return created(reply, summary(version), `/v1/tariff-versions/${version.id}`);
      },
    );
    server.post(
      '/v1/offers/:id/versions',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary:
            'A change to an offer: a new version from effectiveFrom with its prices, contract, promotions, allowances and eligibility (see docs/catalog-as-code.md); with draft, stored to dry-run before publishing',
          params: idParams(P.offer),
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['effectiveFrom'],
            properties: {
              effectiveFrom: instantSchema,
              effectiveTo: instantSchema,
              priceChangePolicy: policy,
              draft: { type: 'boolean', description: 'Store as a draft, to dry-run before publishing' },
              prices: {
                type: 'array',
                maxItems: 100,
                items: { type: 'object' },
                description: 'Without prices, the version keeps the content of the latest published one',
              },
              contract: { type: 'object' },
              promotions: { type: 'array', maxItems: 100, items: { type: 'object' } },
              allowances: { type: 'array', maxItems: 100, items: { type: 'object' } },
              eligibility: { type: 'object' },
            },
          },
          response: {
            201: { type: 'object', additionalProperties: true, properties: { id: { type: 'string' } } },
            ...problemResponses,
          },
        },
      },
      async (request, reply) => {
        const { draft, ...body } = request.body as { draft?: boolean; prices?: unknown };
        // Without prices, the new version keeps the latest published content (like a tariff version
        // without a definition): a change of dates or policy only.
        const latest = (await getOffer(app, tenantOf(request), idOf(request))).versions
          .filter((v) => v.status === 'published')
          .at(-1);
        const input = body.prices === undefined ? { ...(latest?.content ?? { prices: [] }), ...body } : body;
        // The version is read as a catalog file's version is: the file's schema, then its rules.
        const read = readOfferVersion(input);
        if (read.version === undefined)
          throw catalogProblemsError(read.problems, 'the offer version is not valid');
        const version = await addOfferVersion(app, callerOf(request), idOf(request), read.version, {
          draft: draft === true,
        });
        return created(reply, version, `/v1/offers/${version.offerId}/versions`);
      },
    );
    server.post(
      '/v1/offer-versions/:id/publish',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary: 'Publish a draft offer version: it joins the version set (overlaps and gaps refused)',
          params: idParams(P.offerVersion),
          response: {
            200: { type: 'object', additionalProperties: true, properties: { id: { type: 'string' } } },
            ...problemResponses,
          },
        },
      },
      async (request) => publishOfferVersion(app, callerOf(request), idOf(request)),
    );
    server.get(
      '/v1/offers/:id/versions',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'The versions of an offer, or with `at` the version in force at that instant',
          params: idParams(P.offer),
          querystring: { type: 'object', additionalProperties: false, properties: { at: instantSchema } },
          response: {
            200: {
              type: 'object',
              properties: {
                items: {
                  type: 'array',
                  items: {
                    type: 'object',
                    additionalProperties: true,
                    properties: { id: { type: 'string' } },
                  },
                },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const tenantId = tenantOf(request);
        const { at } = request.query as { at?: string };
        if (at !== undefined)
          return { items: [(await offerVersionAt(app, tenantId, idOf(request), at)).version] };
        return { items: await listOfferVersions(app, tenantId, idOf(request)) };
      },
    );
    server.get(
      '/v1/catalog/export',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'The whole published catalog as a catalog document (JSON, or YAML with format=yaml)',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { format: { type: 'string', enum: ['json', 'yaml'] } },
          },
        },
      },
      async (request, reply) => {
        const document = await exportCatalog(app, tenantOf(request));
        if ((request.query as { format?: string }).format === 'yaml')
          return reply.type('application/yaml').send(serializeCatalog(document));
        return document;
      },
    );
    const sampleSchema = {
      type: 'object',
      additionalProperties: false,
      required: ['offer', 'service', 'occurredAt'],
      properties: {
        offer: { type: 'string', minLength: 1, maxLength: 100 },
        service: { type: 'string', enum: SERVICES },
        occurredAt: instantSchema,
        calledNumber: { type: 'string', maxLength: 20 },
        durationSec: { type: 'integer', minimum: 0, maximum: 86_400 },
        bytes: { type: 'string', maxLength: 20 },
        eventType: { type: 'string', maxLength: 40 },
        count: { type: 'string', maxLength: 12 },
        visitedMccMnc: { type: 'string', maxLength: 6 },
        currency: { type: 'string', maxLength: 3 },
      },
    } as const;
    server.post(
      '/v1/catalog/dry-run',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary:
            'Price sample usage (events, eventsCsv, or past rated usage from a time range) under the versions in force and under a draft version; revenue delta per offer and zone',
          body: {
            type: 'object',
            additionalProperties: false,
            properties: {
              tariffVersionId: {
                type: 'string',
                maxLength: 100,
                description: 'A draft tariff version (trv_...)',
              },
              offerVersionId: {
                type: 'string',
                maxLength: 100,
                description: 'A draft offer version (ofv_...)',
              },
              events: { type: 'array', items: sampleSchema },
              usage: {
                type: 'object',
                additionalProperties: false,
                required: ['from', 'to'],
                description:
                  'Past usage as the sample: the rated records that started in [from, to), at most limit (default 10000)',
                properties: {
                  from: instantSchema,
                  to: instantSchema,
                  limit: { type: 'integer', minimum: 1, maximum: 100_000 },
                },
              },
              eventsCsv: {
                type: 'string',
                description:
                  'The sample as CSV: offer,service,occurred_at,called_number,duration_sec,bytes,event_type,count,visited_mcc_mnc,currency',
              },
            },
          },
        },
      },
      async (request) => {
        const body = request.body as {
          tariffVersionId?: string;
          offerVersionId?: string;
          events?: UsageSample[];
          eventsCsv?: string;
          usage?: PastUsageSelection;
        };
        const events = [
          ...(body.events ?? []),
          ...(body.eventsCsv !== undefined ? parseUsageSampleCsv(body.eventsCsv) : []),
          ...(body.usage !== undefined ? await pastUsageSample(app, tenantOf(request), body.usage) : []),
        ];
        return dryRun(app, tenantOf(request), {
          ...(body.tariffVersionId !== undefined ? { tariffVersionId: body.tariffVersionId } : {}),
          ...(body.offerVersionId !== undefined ? { offerVersionId: body.offerVersionId } : {}),
          events,
        });
      },
    );
  };
}
