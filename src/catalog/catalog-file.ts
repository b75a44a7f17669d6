/**
 * Catalog as code (pure): the whole catalog — products, tariffs, offers with their versions,
 * categories and catalogs — as one document written in YAML or JSON, possibly split over several
 * files. This module parses files into the model, reporting every problem with the file, a JSON
 * pointer, the line and the reason; checks the document as a whole (references, version sets,
 * offer rules, tariff rules); and writes a document back to YAML deterministically, so that an
 * export read back in is identical and a diff between two exports shows only real changes.
 *
 * The format is documented in docs/catalog-as-code.md; `CATALOG_SCHEMA` below is its JSON Schema.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, stringify, isNode, type Document } from 'yaml';
import { parseInstant } from '../kernel/clock.js';
import {
  ALLOWANCE_SHARING,
  BILLING_TIMINGS,
  CATALOG_FORMAT,
  CATALOG_STATUSES,
  CUSTOMER_TYPES,
  OFFER_KINDS,
  ONE_TIME_REASONS,
  PERIOD_UNITS,
  PRICE_CHANGE_POLICIES,
  PRORATION_POLICIES,
  SERVICES,
  pointer,
  type CatalogDocument,
  type CatalogProblem,
  type OfferKind,
  type OfferVersionDefinition,
  type Service,
} from './model.js';
import {
  offerDefinitionProblems,
  tariffDefinitionProblems,
  tariffZoneIds,
  type OfferRuleContext,
} from './offer-rules.js';
import { resolveImplicitEnds, sortVersions, versionSetProblems } from './versions.js';

// ------------------------------------------------------------------------------------------------
// The JSON Schema of a catalog file

const code = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } as const;
const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;
const instant = { type: 'string', minLength: 1, maxLength: 40 } as const;
const decimal = { type: 'string', minLength: 1, maxLength: 40 } as const;
const codes = { type: 'array', items: code } as const;
const money = {
  type: 'object',
  additionalProperties: false,
  required: ['amount', 'currency'],
  properties: { amount: decimal, currency: { type: 'string' } },
} as const;
const amounts = { type: 'array', items: money } as const;
const positiveInteger = { type: 'integer', minimum: 1 } as const;

const priceSchema = {
  type: 'object',
  required: ['code', 'kind'],
  discriminator: { propertyName: 'kind' },
  oneOf: [
    {
      additionalProperties: false,
      required: ['code', 'kind', 'amounts', 'period', 'billing', 'proration'],
      properties: {
        code,
        name: text(200),
        kind: { const: 'recurring' },
        amounts,
        period: { enum: PERIOD_UNITS },
        periodCount: positiveInteger,
        billing: { enum: BILLING_TIMINGS },
        proration: { enum: PRORATION_POLICIES },
      },
    },
    {
      additionalProperties: false,
      required: ['code', 'kind', 'reason', 'amounts'],
      properties: {
        code,
        name: text(200),
        kind: { const: 'one-time' },
        reason: { enum: ONE_TIME_REASONS },
        amounts,
      },
    },
    {
      additionalProperties: false,
      required: ['code', 'kind', 'product', 'tariff'],
      properties: { code, name: text(200), kind: { const: 'usage' }, product: code, tariff: code },
    },
    {
      additionalProperties: false,
      required: ['code', 'kind', 'amounts'],
      properties: {
        code,
        name: text(200),
        kind: { const: 'deposit' },
        amounts,
        refundable: { type: 'boolean' },
      },
    },
  ],
} as const;

const promotionCommon = {
  code,
  name: text(200),
  appliesTo: codes,
  availableFrom: instant,
  availableTo: instant,
} as const;

const promotionSchema = {
  type: 'object',
  required: ['code', 'kind', 'appliesTo'],
  discriminator: { propertyName: 'kind' },
  oneOf: [
    {
      additionalProperties: false,
      required: ['percentage'],
      properties: {
        ...promotionCommon,
        kind: { const: 'percentage' },
        percentage: decimal,
        periods: positiveInteger,
      },
    },
    {
      additionalProperties: false,
      required: ['amounts'],
      properties: { ...promotionCommon, kind: { const: 'fixed-amount' }, amounts, periods: positiveInteger },
    },
    {
      additionalProperties: false,
      required: ['periods'],
      properties: { ...promotionCommon, kind: { const: 'free-periods' }, periods: positiveInteger },
    },
    {
      additionalProperties: false,
      required: ['amounts', 'periods'],
      properties: {
        ...promotionCommon,
        kind: { const: 'introductory-price' },
        amounts,
        periods: positiveInteger,
      },
    },
  ],
} as const;

const allowanceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['code', 'service', 'quantity', 'unit', 'period'],
  properties: {
    code,
    name: text(200),
    service: { enum: SERVICES },
    quantity: decimal,
    unit: { type: 'string', minLength: 1, maxLength: 20 },
    period: { enum: PERIOD_UNITS },
    zones: { type: 'array', items: text(64) },
    rollover: {
      type: 'object',
      additionalProperties: false,
      required: ['maxPeriods'],
      properties: { maxPeriods: positiveInteger, maxQuantity: decimal },
    },
    sharing: { enum: ALLOWANCE_SHARING },
  },
} as const;

const offerVersionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['effectiveFrom', 'prices'],
  properties: {
    effectiveFrom: instant,
    effectiveTo: instant,
    priceChangePolicy: { enum: PRICE_CHANGE_POLICIES },
    prices: { type: 'array', items: priceSchema },
    contract: {
      type: 'object',
      additionalProperties: false,
      required: ['minimumTermMonths'],
      properties: {
        minimumTermMonths: positiveInteger,
        earlyTerminationFee: {
          type: 'object',
          required: ['kind'],
          discriminator: { propertyName: 'kind' },
          oneOf: [
            {
              additionalProperties: false,
              required: ['kind', 'amounts'],
              properties: { kind: { const: 'fixed' }, amounts },
            },
            {
              additionalProperties: false,
              required: ['kind', 'percentage'],
              properties: { kind: { const: 'remaining-recurring' }, percentage: decimal },
            },
          ],
        },
      },
    },
    promotions: { type: 'array', items: promotionSchema },
    allowances: { type: 'array', items: allowanceSchema },
    eligibility: {
      type: 'object',
      additionalProperties: false,
      properties: {
        customerTypes: { type: 'array', items: { enum: CUSTOMER_TYPES } },
        compatiblePlans: codes,
        excludes: codes,
        maxPerSubscription: positiveInteger,
      },
    },
  },
} as const;

/** The JSON Schema of a catalog file (draft 2020-12 subset; Ajv's `discriminator` keyword). */
export const CATALOG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['format'],
  properties: {
    format: { const: CATALOG_FORMAT },
    products: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'name', 'service'],
        properties: {
          code,
          name: text(200),
          description: text(2000),
          service: { enum: SERVICES },
          status: { enum: CATALOG_STATUSES },
        },
      },
    },
    tariffs: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'name', 'versions'],
        properties: {
          code,
          name: text(200),
          description: text(2000),
          status: { enum: CATALOG_STATUSES },
          versions: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['effectiveFrom', 'definition'],
              properties: {
                effectiveFrom: instant,
                effectiveTo: instant,
                priceChangePolicy: { enum: PRICE_CHANGE_POLICIES },
                definition: { type: 'object' },
              },
            },
          },
        },
      },
    },
    offers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'name', 'kind', 'currencies', 'products', 'versions'],
        properties: {
          code,
          name: text(200),
          description: text(2000),
          kind: { enum: OFFER_KINDS },
          status: { enum: CATALOG_STATUSES },
          currencies: { type: 'array', items: { type: 'string' } },
          products: codes,
          components: codes,
          versions: { type: 'array', items: offerVersionSchema },
        },
      },
    },
    categories: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'name'],
        properties: { code, name: text(200), description: text(2000), parent: code, offers: codes },
      },
    },
    catalogs: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'name'],
        properties: { code, name: text(200), description: text(2000), categories: codes },
      },
    },
  },
} as const;

let compiled: ReturnType<Ajv['compile']> | undefined;
function schemaValidator() {
  compiled ??= new Ajv({ allErrors: true, strict: false, discriminator: true }).compile(CATALOG_SCHEMA);
  return compiled;
}

// ------------------------------------------------------------------------------------------------
// Reading files

export interface CatalogSource {
  /** The name problems refer to: a path as the user gave it. */
  readonly file: string;
  readonly text: string;
}

export interface ParsedCatalog {
  /** The merged document in canonical form; present only when there is no problem. */
  readonly document: CatalogDocument | undefined;
  readonly problems: CatalogProblem[];
  /**
   * Maps a problem whose path points into the canonical `document` (as diff.ts reports them) to
   * the file, the path inside that file and the line where the value is written.
   */
  readonly locate: (problem: CatalogProblem) => CatalogProblem;
}

interface ParsedFile {
  readonly file: string;
  readonly document: CatalogDocument;
  readonly yaml: Document;
  readonly lines: LineCounter;
}

const SECTIONS = ['products', 'tariffs', 'offers', 'categories', 'catalogs'] as const;
type Section = (typeof SECTIONS)[number];

/**
 * Reads one or more catalog files (YAML or JSON; JSON is YAML) into one document and checks it as
 * a whole. Problems name the file, the JSON pointer inside that file, the line and the reason.
 */
export function readCatalog(sources: readonly CatalogSource[]): ParsedCatalog {
  const parsed: ParsedFile[] = [];
  const problems: CatalogProblem[] = [];
  for (const source of sources) {
    const result = parseOneFile(source);
    problems.push(...result.problems);
    if (result.file) parsed.push(result.file);
  }
  if (problems.length > 0) return { document: undefined, problems, locate: (problem) => problem };

  // Merge, remembering where each entry came from so problems point into the right file.
  const origins: Record<Section, Array<{ file: ParsedFile; index: number }>> = {
    products: [],
    tariffs: [],
    offers: [],
    categories: [],
    catalogs: [],
  };
  const merged: Record<Section, unknown[]> = {
    products: [],
    tariffs: [],
    offers: [],
    categories: [],
    catalogs: [],
  };
  for (const file of parsed) {
    for (const section of SECTIONS) {
      file.document[section].forEach((entry, index) => {
        merged[section].push(entry);
        origins[section].push({ file, index });
      });
    }
  }
  const document = { format: CATALOG_FORMAT, ...merged } as unknown as CatalogDocument;
  const locate = (problem: CatalogProblem): CatalogProblem => {
    const match = /^\/(products|tariffs|offers|categories|catalogs)\/(\d+)(.*)$/.exec(problem.path);
    if (!match)
      return sources.length === 1 ? withLine({ ...problem, file: sources[0]!.file }, parsed[0]) : problem;
    const origin = origins[match[1] as Section][Number(match[2])];
    if (!origin) return problem;
    const path = `/${match[1]}/${origin.index}${match[3]}`;
    return withLine({ ...problem, file: origin.file.file, path }, origin.file);
  };
  const semantic = catalogProblems(document).map(locate);
  if (semantic.length > 0) return { document: undefined, problems: semantic, locate };
  const canonical = canonicalCatalog(document);
  // Canonical entries are sorted by code and versions by start: find each one's merged position.
  const locateCanonical = (problem: CatalogProblem): CatalogProblem => {
    const match = /^\/(products|tariffs|offers|categories|catalogs)\/(\d+)(?:\/versions\/(\d+))?(.*)$/.exec(
      problem.path,
    );
    if (!match) return locate(problem);
    const section = match[1] as Section;
    const entry = (
      canonical[section] as ReadonlyArray<{ code: string; versions?: Array<{ effectiveFrom: string }> }>
    )[Number(match[2])];
    if (!entry) return locate(problem);
    const mergedIndex = (document[section] as ReadonlyArray<{ code: string }>).findIndex(
      (e) => e.code === entry.code,
    );
    let rest = match[4] ?? '';
    if (match[3] !== undefined) {
      const from = entry.versions?.[Number(match[3])]?.effectiveFrom;
      const original = (
        document[section][mergedIndex] as { versions?: Array<{ effectiveFrom: string }> } | undefined
      )?.versions;
      const versionIndex = original?.findIndex((v) => v.effectiveFrom === from) ?? -1;
      rest = `/versions/${versionIndex < 0 ? match[3] : versionIndex}${rest}`;
    }
    return locate({ ...problem, path: `/${section}/${mergedIndex < 0 ? match[2] : mergedIndex}${rest}` });
  };
  return { document: canonical, problems: [], locate: locateCanonical };
}

/** Reads one text that must hold the whole catalog (the API's JSON body, a single file). */
export function readCatalogText(text: string, file = 'catalog'): ParsedCatalog {
  return readCatalog([{ file, text }]);
}

function parseOneFile(source: CatalogSource): { file?: ParsedFile; problems: CatalogProblem[] } {
  const lines = new LineCounter();
  const yaml = parseDocument(source.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (yaml.errors.length > 0) {
    return {
      problems: yaml.errors.map((error) => ({
        file: source.file,
        path: '',
        message: `not valid YAML or JSON: ${error.message.split('\n')[0]}`,
        line: lines.linePos(error.pos[0]).line,
      })),
    };
  }
  const value: unknown = yaml.toJS({ maxAliasCount: 100 });
  const validate = schemaValidator();
  if (!validate(value)) {
    const seen = new Set<string>();
    const problems: CatalogProblem[] = [];
    for (const error of validate.errors ?? []) {
      const problem = describeSchemaError(error, value);
      const key = `${problem.path}|${problem.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(withLine({ ...problem, file: source.file }, { yaml, lines }));
    }
    return { problems };
  }
  const instantProblems: CatalogProblem[] = [];
  const document = normaliseInstants(value as Record<string, unknown>, (path, message) =>
    instantProblems.push(withLine({ file: source.file, path, message }, { yaml, lines })),
  );
  if (instantProblems.length > 0) return { problems: instantProblems };
  return { file: { file: source.file, document, yaml, lines }, problems: [] };
}

function describeSchemaError(error: ErrorObject, root: unknown): CatalogProblem {
  let path = error.instancePath;
  let message = error.message ?? 'is invalid';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      path = `${path}/${String(params.missingProperty)}`;
      message = 'is required';
      break;
    case 'additionalProperties':
      path = `${path}/${String(params.additionalProperty)}`;
      message = 'is not a known field';
      break;
    case 'enum':
      message = `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
      break;
    case 'const':
      message = `must be ${JSON.stringify(params.allowedValue)}`;
      break;
    case 'discriminator':
      path = `${path}/${String(params.tag ?? 'kind')}`;
      message =
        params.error === 'mapping'
          ? 'is not a known kind'
          : `must be set to one of the kinds this field accepts`;
      break;
    case 'type': {
      message = `must be ${String(params.type)}`;
      const actual = valueAt(root, path);
      if (params.type === 'string' && typeof actual === 'number')
        message += `; write amounts, quantities and codes as quoted text ("${String(actual)}") so no digit is lost`;
      break;
    }
    case 'pattern':
      message =
        'must be a code: letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64';
      break;
    default:
      break;
  }
  return { path, message };
}

function valueAt(root: unknown, path: string): unknown {
  let current = root;
  for (const token of path.split('/').slice(1)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[token.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return current;
}

function withLine(
  problem: CatalogProblem,
  file: { yaml: Document; lines: LineCounter } | undefined,
): CatalogProblem {
  if (!file || problem.line !== undefined) return problem;
  const tokens = problem.path
    .split('/')
    .slice(1)
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((token) => (/^\d+$/.test(token) ? Number(token) : token));
  // The deepest node that exists on the path: a missing field is reported at its parent.
  for (let length = tokens.length; length >= 0; length--) {
    const node: unknown = length === 0 ? file.yaml.contents : file.yaml.getIn(tokens.slice(0, length), true);
    if (isNode(node) && node.range) return { ...problem, line: file.lines.linePos(node.range[0]).line };
  }
  return problem;
}

/** Every instant field, normalised to the stored form (UTC, milliseconds); bad ones reported. */
/**
 * Reads one offer version given outside a file (an API body) the way a file's version is read:
 * checked against the file's schema, then its instants normalised to UTC. Problems' paths are JSON
 * pointers into the version; the catalog rules (offerVersionProblems) come after.
 */
export function readOfferVersion(value: unknown): {
  version?: OfferVersionDefinition;
  problems: CatalogProblem[];
} {
  offerVersionValidator ??= new Ajv({ allErrors: true, strict: false, discriminator: true }).compile(
    offerVersionSchema,
  );
  if (!offerVersionValidator(value)) {
    const seen = new Set<string>();
    const problems: CatalogProblem[] = [];
    for (const error of offerVersionValidator.errors ?? []) {
      const problem = describeSchemaError(error, value);
      const key = `${problem.path}|${problem.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(problem);
    }
    return { problems };
  }
  const problems: CatalogProblem[] = [];
  const version = normaliseInstantsIn(value, '', (path, message) => problems.push({ path, message }));
  return problems.length > 0 ? { problems } : { version: version as OfferVersionDefinition, problems };
}

let offerVersionValidator: ReturnType<Ajv['compile']> | undefined;

function normaliseInstants(
  value: Record<string, unknown>,
  report: (path: string, message: string) => void,
): CatalogDocument {
  const out = normaliseInstantsIn(value, '', report) as Record<string, unknown>;
  return {
    format: CATALOG_FORMAT,
    products: [],
    tariffs: [],
    offers: [],
    categories: [],
    catalogs: [],
    ...out,
  } as CatalogDocument;
}

function normaliseInstantsIn(
  value: unknown,
  root: string,
  report: (path: string, message: string) => void,
): unknown {
  const visit = (node: unknown, path: string): unknown => {
    if (Array.isArray(node)) return node.map((item, i) => visit(item, `${path}/${i}`));
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(node as Record<string, unknown>)) {
      const at = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (key === 'definition') {
        out[key] = item; // a tariff definition is the tariff core's business
      } else if (INSTANT_KEYS.has(key) && typeof item === 'string') {
        const normalised = parseInstant(item);
        if (normalised === undefined)
          report(
            at,
            `${JSON.stringify(item)} is not a date-time like 2026-01-01T00:00:00Z (RFC 3339, with a zone)`,
          );
        out[key] = normalised ?? item;
      } else {
        out[key] = visit(item, at);
      }
    }
    return out;
  };
  return visit(value, root);
}

const INSTANT_KEYS = new Set(['effectiveFrom', 'effectiveTo', 'availableFrom', 'availableTo']);

// ------------------------------------------------------------------------------------------------
// Checking a document as a whole

/**
 * Every problem of a catalog document as a whole: duplicate codes, references to things that do
 * not exist, version sets with overlaps or gaps, offer rules and tariff rules. Paths are JSON
 * pointers into the document.
 */
export function catalogProblems(document: CatalogDocument): CatalogProblem[] {
  const problems: CatalogProblem[] = [];
  const add = (path: string, message: string, code?: CatalogProblem['code']) =>
    problems.push({ path, message, ...(code !== undefined ? { code } : {}) });

  for (const section of SECTIONS) {
    const firstAt = new Map<string, number>();
    (document[section] as ReadonlyArray<{ code: string }>).forEach((entry, i) => {
      const earlier = firstAt.get(entry.code);
      if (earlier !== undefined)
        add(
          pointer(section, i, 'code'),
          `${section.slice(0, -1)} code ${entry.code} is already used by ${section}/${earlier}`,
        );
      else firstAt.set(entry.code, i);
    });
  }

  const products = new Map<string, Service>(document.products.map((p) => [p.code, p.service]));
  const offers = new Map<string, OfferKind>(document.offers.map((o) => [o.code, o.kind]));
  const tariffs = new Set(document.tariffs.map((t) => t.code));
  const zonesOfTariff = new Map(
    document.tariffs.map((t) => [
      t.code,
      [...new Set(t.versions.flatMap((v) => tariffZoneIds(v.definition)))],
    ]),
  );
  const context: OfferRuleContext = {
    products,
    offers,
    tariffs,
    tariffZones: (code) => zonesOfTariff.get(code),
  };

  document.tariffs.forEach((tariff, i) => {
    const versions = resolveImplicitEnds(tariff.versions);
    for (const problem of versionSetProblems(
      versions,
      (v, j) => `tariff ${tariff.code} version ${j + 1} from ${v.effectiveFrom}`,
    )) {
      const index = problem.indexes[problem.indexes.length - 1] ?? 0;
      add(pointer('tariffs', i, 'versions', index), problem.message, versionCode(problem.kind));
    }
    tariff.versions.forEach((version, j) => {
      const base = pointer('tariffs', i, 'versions', j, 'definition');
      for (const problem of tariffDefinitionProblems(version.definition, tariff.code, tariff.name))
        problems.push({ ...problem, path: base + problem.path });
    });
  });

  document.offers.forEach((offer, i) => {
    const base = pointer('offers', i);
    problems.push(...offerDefinitionProblems(offer, context, base));
    const versions = resolveImplicitEnds(offer.versions);
    for (const problem of versionSetProblems(
      versions,
      (v, j) => `offer ${offer.code} version ${j + 1} from ${v.effectiveFrom}`,
    )) {
      const index = problem.indexes[problem.indexes.length - 1] ?? 0;
      add(pointer('offers', i, 'versions', index), problem.message, versionCode(problem.kind));
    }
  });

  const categories = new Map(document.categories.map((c) => [c.code, c]));
  document.categories.forEach((category, i) => {
    if (category.parent !== undefined) {
      if (!categories.has(category.parent))
        add(pointer('categories', i, 'parent'), `no category ${JSON.stringify(category.parent)}`);
      else {
        // Walk up: a category must not be its own ancestor.
        const seen = new Set([category.code]);
        let parent: string | undefined = category.parent;
        while (parent !== undefined) {
          if (seen.has(parent)) {
            add(
              pointer('categories', i, 'parent'),
              `category ${category.code} is its own ancestor (through ${parent})`,
            );
            break;
          }
          seen.add(parent);
          parent = categories.get(parent)?.parent;
        }
      }
    }
    (category.offers ?? []).forEach((code, j) => {
      if (!offers.has(code)) add(pointer('categories', i, 'offers', j), `no offer ${JSON.stringify(code)}`);
    });
  });
  document.catalogs.forEach((catalog, i) => {
    (catalog.categories ?? []).forEach((code, j) => {
      if (!categories.has(code))
        add(pointer('catalogs', i, 'categories', j), `no category ${JSON.stringify(code)}`);
    });
  });
  return problems;
}

function versionCode(kind: 'invalid_range' | 'overlap' | 'gap'): CatalogProblem['code'] {
  return kind === 'overlap' ? 'version_overlap' : kind === 'gap' ? 'version_gap' : undefined;
}

// ------------------------------------------------------------------------------------------------
// Canonical form and writing

/**
 * The canonical form of a document: entries sorted by code, versions by start with implicit ends
 * made explicit, defaults written out (status 'active', price change policy 'next-period'), empty
 * optional lists left out, and every object's keys in one fixed order. Two documents that mean the
 * same catalog have the same canonical form.
 */
export function canonicalCatalog(document: CatalogDocument): CatalogDocument {
  const byCode = <T extends { code: string }>(list: readonly T[]) =>
    [...list].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  const versionsOf = <T extends { effectiveFrom: string; effectiveTo?: string; priceChangePolicy?: string }>(
    list: readonly T[],
  ) =>
    sortVersions(resolveImplicitEnds(list)).map((v) => ({
      ...v,
      priceChangePolicy: v.priceChangePolicy ?? 'next-period',
    }));
  const doc = {
    format: CATALOG_FORMAT,
    products: byCode(document.products).map((p) => ({ ...p, status: p.status ?? 'active' })),
    tariffs: byCode(document.tariffs).map((t) => ({
      ...t,
      status: t.status ?? 'active',
      versions: versionsOf(t.versions),
    })),
    offers: byCode(document.offers).map((o) => {
      const { components, ...rest } = o;
      return {
        ...rest,
        ...(components && components.length > 0 ? { components } : {}),
        status: o.status ?? 'active',
        versions: versionsOf(o.versions).map((v) => {
          const { promotions, allowances, ...version } = v;
          return {
            ...version,
            ...(promotions && promotions.length > 0 ? { promotions } : {}),
            ...(allowances && allowances.length > 0 ? { allowances } : {}),
          };
        }),
      };
    }),
    categories: byCode(document.categories).map((c) => ({ ...c, offers: c.offers ?? [] })),
    catalogs: byCode(document.catalogs).map((c) => ({ ...c, categories: c.categories ?? [] })),
  };
  return orderKeys(doc) as CatalogDocument;
}

/** The preferred order of keys in written documents; keys not listed follow, alphabetically. */
const KEY_ORDER = [
  'format',
  'id',
  'code',
  'name',
  'description',
  'kind',
  'service',
  'status',
  'reason',
  'product',
  'tariff',
  'currencies',
  'currency',
  'products',
  'components',
  'parent',
  'effectiveFrom',
  'effectiveTo',
  'priceChangePolicy',
  'amounts',
  'amount',
  'percentage',
  'quantity',
  'unit',
  'period',
  'periodCount',
  'periods',
  'billing',
  'proration',
  'refundable',
  'appliesTo',
  'availableFrom',
  'availableTo',
  'zones',
  'rollover',
  'sharing',
  'maxPeriods',
  'maxQuantity',
  'prices',
  'contract',
  'minimumTermMonths',
  'earlyTerminationFee',
  'promotions',
  'allowances',
  'eligibility',
  'tariffs',
  'offers',
  'categories',
  'catalogs',
  'versions',
  'definition',
];
const RANK = new Map(KEY_ORDER.map((key, i) => [key, i]));

function orderKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(orderKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => {
    const ra = RANK.get(a) ?? KEY_ORDER.length;
    const rb = RANK.get(b) ?? KEY_ORDER.length;
    return ra !== rb ? ra - rb : a < b ? -1 : a > b ? 1 : 0;
  });
  return Object.fromEntries(entries.map(([k, v]) => [k, orderKeys(v)]));
}

/** The document as YAML, deterministically: the canonical form, no anchors, no line folding. */
export function serializeCatalog(document: CatalogDocument): string {
  const header =
    '# Tollgate catalog (format tollgate.catalog/v1). See docs/catalog-as-code.md.\n' +
    '# Amounts are decimal text in major units; instants are UTC.\n';
  return header + stringify(canonicalCatalog(document), { lineWidth: 0, aliasDuplicateObjects: false });
}

/** The document as JSON text (canonical form, two-space indent). */
export function serializeCatalogJson(document: CatalogDocument): string {
  return `${JSON.stringify(canonicalCatalog(document), null, 2)}\n`;
}

/** A stable text for comparing two values: JSON with keys sorted at every level. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortAllKeys(value));
}

function sortAllKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortAllKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value as Record<string, unknown>)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => [k, sortAllKeys((value as Record<string, unknown>)[k])]),
  );
}
