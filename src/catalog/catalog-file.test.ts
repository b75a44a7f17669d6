import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  canonicalCatalog,
  readCatalog,
  readOfferVersion,
  serializeCatalog,
  serializeCatalogJson,
} from './catalog-file.js';
import { describeDiff, diffCatalogs } from './diff.js';
import { catalogProblemsError } from './errors.js';
import { emptyCatalog, type CatalogDocument } from './model.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/catalog/demo-operator.yaml', import.meta.url));
const exampleText = readFileSync(EXAMPLE, 'utf8');

function demo(): CatalogDocument {
  const parsed = readCatalog([{ file: 'demo-operator.yaml', text: exampleText }]);
  assert.deepEqual(parsed.problems, []);
  return parsed.document!;
}

const PRODUCTS = `format: tollgate.catalog/v1
products:
  - { code: VOICE, name: Voice, service: voice }
  - { code: DATA, name: Data, service: data }
`;

const TARIFF = `format: tollgate.catalog/v1
tariffs:
  - code: STD
    name: Standard
    versions:
      - effectiveFrom: 2026-01-01T00:00:00+01:00
        definition:
          timeZone: UTC
          currencies: [EUR]
          zones: []
          prefixTables: []
          data: [{ currency: EUR, blockBytes: 1000, pricing: { mode: flat, unitPrice: '0.00001' } }]
`;

const OFFERS = `format: tollgate.catalog/v1
offers:
  - code: PLAN
    name: Plan
    kind: plan
    currencies: [EUR]
    products: [VOICE, DATA]
    versions:
      - effectiveFrom: 2026-01-01T00:00:00Z
        prices:
          - { code: monthly, kind: recurring, amounts: [{ amount: '10.00', currency: EUR }], period: month, billing: advance, proration: daily }
          - { code: data, kind: usage, product: DATA, tariff: STD }
      - effectiveFrom: 2026-06-01T00:00:00Z
        prices:
          - { code: monthly, kind: recurring, amounts: [{ amount: '12.00', currency: EUR }], period: month, billing: advance, proration: daily }
`;

describe('catalog files', () => {
  it('the example operator catalog validates', () => {
    const document = demo();
    assert.equal(document.offers.length, 8);
    assert.ok(document.offers.some((o) => o.kind === 'add-on'));
    assert.ok(
      document.offers.some((o) =>
        o.versions.some((v) => v.allowances?.some((a) => a.sharing === 'account-pool')),
      ),
    );
  });

  it('round-trips: write, read back, write again gives the same document and the same text', () => {
    const first = demo();
    const yaml = serializeCatalog(first);
    const again = readCatalog([{ file: 'export.yaml', text: yaml }]);
    assert.deepEqual(again.problems, []);
    assert.deepEqual(again.document, first);
    assert.equal(serializeCatalog(again.document!), yaml);
    const json = readCatalog([{ file: 'export.json', text: serializeCatalogJson(first) }]);
    assert.deepEqual(json.document, first);
    assert.equal(diffCatalogs(first, again.document!, '2026-03-01T00:00:00.000Z').entries.length, 0);
  });

  it('is deterministic whatever the order of entries and keys', () => {
    const document = demo();
    const shuffled = {
      ...document,
      offers: [...document.offers].reverse().map((o) => Object.fromEntries(Object.entries(o).reverse())),
      products: [...document.products].reverse(),
    } as unknown as CatalogDocument;
    assert.equal(serializeCatalog(shuffled), serializeCatalog(document));
  });

  it('merges several files, normalises instants and makes implicit version ends explicit', () => {
    const parsed = readCatalog([
      { file: 'products.yaml', text: PRODUCTS },
      { file: 'tariffs.yaml', text: TARIFF },
      { file: 'offers.yaml', text: OFFERS },
    ]);
    assert.deepEqual(parsed.problems, []);
    const document = parsed.document!;
    assert.equal(document.tariffs[0]!.versions[0]!.effectiveFrom, '2025-12-31T23:00:00.000Z');
    assert.deepEqual(
      document.offers[0]!.versions.map((v) => [v.effectiveFrom, v.effectiveTo, v.priceChangePolicy]),
      [
        ['2026-01-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z', 'next-period'],
        ['2026-06-01T00:00:00.000Z', undefined, 'next-period'],
      ],
    );
  });

  it('reports problems with the file, the JSON pointer in that file, the line and the reason', () => {
    const badOffers = OFFERS.replace(
      "amount: '12.00', currency: EUR",
      "amount: '12.00', currency: USD",
    ).replace('tariff: STD', 'tariff: NOPE');
    const parsed = readCatalog([
      { file: 'products.yaml', text: PRODUCTS },
      { file: 'tariffs.yaml', text: TARIFF },
      { file: 'offers.yaml', text: badOffers },
    ]);
    assert.equal(parsed.document, undefined);
    assert.deepEqual(
      parsed.problems.map((p) => [p.file, p.path, p.line]),
      [
        ['offers.yaml', '/offers/0/versions/0/prices/1/tariff', 12],
        ['offers.yaml', '/offers/0/versions/1/prices/0/amounts/0/currency', 15],
      ],
    );
    assert.match(parsed.problems[1]!.message, /USD, which offer PLAN does not sell in/);
    const error = catalogProblemsError(parsed.problems, 'the catalog files are not valid');
    assert.equal(error.code, 'catalog.invalid_definition');
    assert.equal(error.field, 'offers.yaml#/offers/0/versions/0/prices/1/tariff');
    assert.match(
      error.message,
      /offers.yaml#\/offers\/0\/versions\/0\/prices\/1\/tariff: no tariff with code "NOPE" \(and 1 more problem\)/,
    );
    assert.deepEqual(error.errors?.[1], {
      field: 'offers.yaml#/offers/0/versions/1/prices/0/amounts/0/currency',
      message:
        'line 15: price monthly is priced in USD, which offer PLAN does not sell in (its currencies: EUR)',
    });
  });

  it('reports schema problems: unknown fields, missing fields, numbers where text belongs, bad kinds', () => {
    const text = `format: tollgate.catalog/v1
products:
  - { code: VOICE, name: Voice, service: voice, colour: red }
  - { code: DATA, service: data }
offers:
  - code: PLAN
    name: Plan
    kind: plan
    currencies: [EUR]
    products: [VOICE]
    versions:
      - effectiveFrom: 2026-01-01T00:00:00Z
        prices:
          - { code: monthly, kind: recurring, amounts: [{ amount: 10.5, currency: EUR }], period: month, billing: advance, proration: daily }
          - { code: other, kind: rebate }
`;
    const parsed = readCatalog([{ file: 'bad.yaml', text }]);
    const found = parsed.problems.map((p) => `${p.file}#${p.path}@${p.line}: ${p.message}`);
    assert.ok(found.includes('bad.yaml#/products/0/colour@3: is not a known field'), found.join('\n'));
    assert.ok(found.includes('bad.yaml#/products/1/name@4: is required'), found.join('\n'));
    assert.ok(
      found.some((f) =>
        f.startsWith(
          'bad.yaml#/offers/0/versions/0/prices/0/amounts/0/amount@14: must be string; write amounts',
        ),
      ),
      found.join('\n'),
    );
    assert.ok(
      found.some((f) => f.startsWith('bad.yaml#/offers/0/versions/0/prices/1/kind@15')),
      found.join('\n'),
    );
  });

  it('reports YAML syntax errors, duplicate keys, bad instants and codes used twice across files', () => {
    const syntax = readCatalog([{ file: 's.yaml', text: 'format: tollgate.catalog/v1\nproducts: [\n' }]);
    assert.equal(syntax.problems[0]!.file, 's.yaml');
    assert.match(syntax.problems[0]!.message, /not valid YAML or JSON/);
    const duplicateKey = readCatalog([{ file: 'd.yaml', text: 'format: tollgate.catalog/v1\nformat: x\n' }]);
    assert.equal(duplicateKey.problems[0]!.line, 2);
    const badInstant = readCatalog([
      { file: 'o.yaml', text: OFFERS.replace('2026-06-01T00:00:00Z', '2026-06-01') },
    ]);
    assert.equal(badInstant.problems[0]!.path, '/offers/0/versions/1/effectiveFrom');
    const twice = readCatalog([
      { file: 'a.yaml', text: PRODUCTS },
      { file: 'b.yaml', text: PRODUCTS },
    ]);
    assert.deepEqual(
      twice.problems.map((p) => [p.file, p.path]),
      [
        ['b.yaml', '/products/0/code'],
        ['b.yaml', '/products/1/code'],
      ],
    );
  });

  it('refuses overlapping and gapped versions, naming both', () => {
    const overlapping = OFFERS.replace(
      '      - effectiveFrom: 2026-01-01T00:00:00Z\n',
      '      - effectiveFrom: 2026-01-01T00:00:00Z\n        effectiveTo: 2026-07-01T00:00:00Z\n',
    );
    const parsed = readCatalog([
      { file: 'p.yaml', text: PRODUCTS },
      { file: 't.yaml', text: TARIFF },
      { file: 'o.yaml', text: overlapping },
    ]);
    assert.equal(parsed.problems.length, 1);
    assert.equal(parsed.problems[0]!.code, 'version_overlap');
    assert.match(
      parsed.problems[0]!.message,
      /offer PLAN version 1 from 2026-01-01T00:00:00.000Z overlaps offer PLAN version 2/,
    );
    const gapped = readCatalog([
      { file: 'p.yaml', text: PRODUCTS },
      { file: 't.yaml', text: TARIFF },
      { file: 'o.yaml', text: overlapping.replace('effectiveTo: 2026-07-01', 'effectiveTo: 2026-05-01') },
    ]);
    assert.equal(gapped.problems[0]!.code, 'version_gap');
    assert.equal(catalogProblemsError(gapped.problems).code, 'catalog.version_gap');
  });

  it('refuses a negative rate in a tariff, pointing into the definition', () => {
    const parsed = readCatalog([{ file: 't.yaml', text: TARIFF.replace("'0.00001'", "'-0.00001'") }]);
    assert.deepEqual(
      parsed.problems.map((p) => [p.path, p.code]),
      [['/tariffs/0/versions/0/definition/data/0/pricing/unitPrice', 'negative_amount']],
    );
    assert.equal(catalogProblemsError(parsed.problems).code, 'catalog.negative_amount');
  });
});

describe('catalog diff', () => {
  const now = '2026-03-01T00:00:00.000Z';
  const base = () =>
    readCatalog([
      { file: 'p.yaml', text: PRODUCTS },
      { file: 't.yaml', text: TARIFF },
      { file: 'o.yaml', text: OFFERS },
    ]).document!;

  it('lists what would be created from nothing, and nothing for the same catalog', () => {
    const diff = diffCatalogs(canonicalCatalog(emptyCatalog()), base(), now);
    assert.deepEqual(describeDiff(diff), [
      '+ create product DATA',
      '+ create product VOICE',
      '+ create tariff STD',
      '+ create tariff_version STD from 2025-12-31T23:00:00.000Z',
      '+ create offer PLAN',
      '+ create offer_version PLAN from 2026-01-01T00:00:00.000Z',
      '+ create offer_version PLAN from 2026-06-01T00:00:00.000Z',
    ]);
    assert.deepEqual(diffCatalogs(base(), base(), now), { entries: [], problems: [] });
  });

  it('changes and withdraws future versions, retires what is gone, refuses to rewrite history', () => {
    const current = base();
    const future = readCatalog([
      { file: 'p.yaml', text: PRODUCTS.replace('  - { code: VOICE, name: Voice, service: voice }\n', '') },
      { file: 't.yaml', text: TARIFF },
      {
        file: 'o.yaml',
        text: OFFERS.replace("'12.00'", "'13.00'").replace('products: [VOICE, DATA]', 'products: [DATA]'),
      },
    ]).document!;
    assert.deepEqual(describeDiff(diffCatalogs(current, future, now)), [
      '- retire product VOICE',
      '~ change offer PLAN (products)',
      '~ change offer_version PLAN from 2026-06-01T00:00:00.000Z (prices)',
    ]);
    const past = readCatalog([
      { file: 'p.yaml', text: PRODUCTS },
      { file: 't.yaml', text: TARIFF },
      { file: 'o.yaml', text: OFFERS.replace("'10.00'", "'9.00'") },
    ]).document!;
    const refused = diffCatalogs(current, past, now);
    assert.equal(refused.problems.length, 1);
    assert.equal(refused.problems[0]!.path, '/offers/0/versions/0');
    assert.match(
      refused.problems[0]!.message,
      /in force since then; its prices cannot change: add a new version instead/,
    );
  });
});

describe('docs/catalog-as-code.md', () => {
  it('its full example is a valid catalog', () => {
    const docs = readFileSync(
      fileURLToPath(new URL('../../docs/catalog-as-code.md', import.meta.url)),
      'utf8',
    );
    const example = /## A full example\n\n```yaml\n([\s\S]*?)```/.exec(docs)?.[1];
    assert.ok(example, 'the example is where the docs say');
    const parsed = readCatalog([{ file: 'catalog-as-code.md', text: example }]);
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.document!.offers.length, 2);
  });
});

describe('one offer version outside a file (an API body)', () => {
  it('is read like a file’s version: instants normalised to UTC', () => {
    const read = readOfferVersion({
      effectiveFrom: '2027-01-01T01:00:00+01:00',
      prices: [
        { code: 'fee', kind: 'one-time', reason: 'other', amounts: [{ amount: '1.00', currency: 'EUR' }] },
      ],
      promotions: [
        {
          code: 'FREE',
          kind: 'free-periods',
          periods: 1,
          appliesTo: ['fee'],
          availableTo: '2027-02-01T00:00:00Z',
        },
      ],
    });
    assert.deepEqual(read.problems, []);
    assert.equal(read.version?.effectiveFrom, '2027-01-01T00:00:00.000Z');
    assert.equal(read.version?.promotions?.[0]?.availableTo, '2027-02-01T00:00:00.000Z');
  });

  it('names every problem by a JSON pointer into the version, amounts written as numbers included', () => {
    const read = readOfferVersion({
      effectiveFrom: 'next week',
      prices: [{ code: 'fee', kind: 'one-time', reason: 'other', amounts: [{ amount: 1, currency: 'EUR' }] }],
      colour: 'red',
    });
    assert.equal(read.version, undefined);
    const byPath = new Map(read.problems.map((p) => [p.path, p.message]));
    assert.match(byPath.get('/prices/0/amounts/0/amount') ?? '', /quoted text/);
    assert.equal(byPath.get('/colour'), 'is not a known field');
    const dates = readOfferVersion({ effectiveFrom: 'next week', prices: [] });
    assert.deepEqual(
      dates.problems.map((p) => p.path),
      ['/effectiveFrom'],
    );
  });
});
