import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FakeClock } from '../kernel/clock.js';
import { isTollgateError } from '../kernel/errors.js';
import { describeEachDialect, postgresServerUrl } from '../testing/databases.js';
import { listAuditRecords, verifyAuditChain } from '../audit/index.js';
import { listEvents } from '../events/index.js';
import { serializeCatalog, readCatalog, type OfferVersionDefinition } from '../catalog/index.js';
import { createTenant } from './tenants.js';
import type { Actor, Caller } from './context.js';
import {
  addOfferVersion,
  addTariffVersion,
  applyCatalog,
  createOffer,
  createProduct,
  createTariff,
  diffCatalog,
  dryRun,
  exportCatalog,
  importRateDeck,
  listTariffVersions,
  offerVersionAt,
  publishTariffVersion,
  tariffVersionAt,
  getTariffVersion,
} from './catalog.js';

const actor: Actor = { type: 'system', id: 'test' };
const EXAMPLE = readFileSync(
  fileURLToPath(new URL('../../examples/catalog/demo-operator.yaml', import.meta.url)),
  'utf8',
);
const demo = [{ file: 'demo-operator.yaml', text: EXAMPLE }];

async function rejectsWith(promise: Promise<unknown>, code: string, detail?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isTollgateError(error), `expected a TollgateError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (detail) assert.match(error.message, detail);
    return true;
  });
}

const dataTariff = (unitPrice: string) => ({
  timeZone: 'UTC',
  currencies: ['EUR'],
  zones: [],
  prefixTables: [],
  data: [{ currency: 'EUR', blockBytes: 1000, pricing: { mode: 'flat', unitPrice } }],
});

const planVersion = (effectiveFrom: string, amount: string, currency = 'EUR'): OfferVersionDefinition => ({
  effectiveFrom,
  prices: [
    {
      code: 'monthly',
      kind: 'recurring',
      amounts: [{ amount, currency }],
      period: 'month',
      billing: 'advance',
      proration: 'daily',
    },
    { code: 'data', kind: 'usage', product: 'DATA', tariff: 'DATA-RATES' },
  ],
});

describeEachDialect('catalog workflows', (db, dialect) => {
  // The 200k-row import runs on SQLite and on a real PostgreSQL server; embedded PGlite is slow enough
  // at it to double the suite's time without telling anything more.
  const skip200k = () =>
    dialect === 'postgres' && !postgresServerUrl() ? 'embedded PostgreSQL: see the SQLite run' : false;
  const clock = new FakeClock('2026-03-01T10:00:00.000Z');
  const deps = () => ({ database: db(), clock });
  let counter = 0;
  async function tenant(): Promise<Caller> {
    counter += 1;
    const created = await createTenant(deps(), actor, { slug: `cat-${counter}`, name: `Catalog ${counter}` });
    return { tenantId: created.id, actor };
  }
  async function auditCount(caller: Caller) {
    return (await listAuditRecords(db().db, caller.tenantId, { limit: 1000 })).records.length;
  }
  /** A tenant with a DATA product, a DATA-RATES tariff and an offer PLAN with one version. */
  async function smallCatalog() {
    const caller = await tenant();
    await createProduct(deps(), caller, { code: 'DATA', name: 'Data', service: 'data' });
    const tariff = await createTariff(deps(), caller, {
      code: 'DATA-RATES',
      name: 'Data rates',
      versions: [{ effectiveFrom: '2026-01-01T00:00:00Z', definition: dataTariff('0.00001') }],
    });
    const view = await createOffer(deps(), caller, {
      code: 'PLAN',
      name: 'Plan',
      kind: 'plan',
      currencies: ['EUR'],
      products: ['DATA'],
      versions: [planVersion('2026-01-01T00:00:00Z', '10.00')],
    });
    return { caller, tariff, offer: view.offer };
  }

  it('applies the demo catalog in one go, exports it back identically, and a second apply changes nothing', async () => {
    const caller = await tenant();
    const before = await auditCount(caller);
    const diff = await applyCatalog(deps(), caller, demo);
    assert.ok(diff.entries.length > 20, `${diff.entries.length} entries`);
    assert.equal(await auditCount(caller), before + 1, 'one audit record for the whole apply');
    const events = await listEvents(db().db, caller.tenantId, { limit: 100 });
    assert.ok(events.some((e) => e.type === 'catalog.applied'));
    const exported = await exportCatalog(deps(), caller.tenantId);
    assert.deepEqual(exported, readCatalog(demo).document);
    const again = await applyCatalog(deps(), caller, [
      { file: 'export.yaml', text: serializeCatalog(exported) },
    ]);
    assert.deepEqual(again.entries, []);
    assert.equal(await auditCount(caller), before + 1);
    assert.equal((await verifyAuditChain(db().db, caller.tenantId)).ok, true);
  });

  it('apply is all or nothing: a file with one bad offer applies nothing', async () => {
    const caller = await tenant();
    const bad = EXAMPLE.replace(
      "amounts: [{ amount: '7.00', currency: EUR }]",
      "amounts: [{ amount: '7.00', currency: USD }]",
    );
    await rejectsWith(
      applyCatalog(deps(), caller, [{ file: 'demo.yaml', text: bad }]),
      'catalog.unsupported_currency',
      /demo\.yaml#\/offers\/7\/versions\/0\/prices\/0\/amounts\/0\/currency: price purchase is priced in USD/,
    );
    assert.deepEqual(await exportCatalog(deps(), caller.tenantId), {
      format: 'tollgate.catalog/v1',
      products: [],
      tariffs: [],
      offers: [],
      categories: [],
      catalogs: [],
    });
    assert.equal(await auditCount(caller), 1, 'only the tenant creation');

    // A problem found inside the transaction (history rewritten) rolls back everything too.
    await applyCatalog(deps(), caller, demo);
    const applied = await exportCatalog(deps(), caller.tenantId);
    const rewritten = EXAMPLE.replace("amount: '25.00'", "amount: '24.00'").replace(
      'name: Mobile voice',
      'name: Voice',
    );
    await rejectsWith(
      applyCatalog(deps(), caller, [{ file: 'demo.yaml', text: rewritten }]),
      'catalog.invalid_definition',
      /demo\.yaml#\/offers\/1\/versions\/0: offer MOBILE-POSTPAID-M version from 2026-01-01T00:00:00.000Z has been in force/,
    );
    assert.deepEqual(
      await exportCatalog(deps(), caller.tenantId),
      applied,
      'the product rename was not applied either',
    );
    const diff = await diffCatalog(deps(), caller.tenantId, [{ file: 'demo.yaml', text: rewritten }]);
    assert.equal(diff.problems[0]?.file, 'demo.yaml');
  });

  it('finds the offer and tariff versions in force at any instant', async () => {
    const caller = await tenant();
    await applyCatalog(deps(), caller, demo);
    const at = async (instant: string) =>
      (await offerVersionAt(deps(), caller.tenantId, 'MOBILE-POSTPAID-M', instant)).version;
    const january = await at('2026-01-01T00:00:00Z');
    const lastMoment = await at('2026-06-30T23:59:59.999Z');
    const july = await at('2026-07-01T00:00:00Z');
    const later = await at('2030-01-01T00:00:00+02:00');
    assert.equal(january.id, lastMoment.id);
    assert.notEqual(january.id, july.id);
    assert.equal(july.id, later.id);
    assert.equal(july.effectiveTo, undefined);
    assert.equal(january.effectiveTo, '2026-07-01T00:00:00.000Z');
    assert.deepEqual((july.content.prices[0] as { amounts: unknown }).amounts, [
      { amount: '27.00', currency: 'EUR' },
    ]);
    await rejectsWith(
      at('2025-12-31T23:59:59.999Z'),
      'catalog.no_version_in_force',
      /MOBILE-POSTPAID-M has no version in force at 2025-12-31T23:59:59.999Z/,
    );
    const tariff = await tariffVersionAt(deps(), caller.tenantId, 'MOBILE-STANDARD', '2026-05-01T12:00:00Z');
    assert.equal(tariff.version.number, 1);
    await rejectsWith(
      offerVersionAt(deps(), caller.tenantId, 'NOPE', '2026-05-01T12:00:00Z'),
      'catalog.offer_not_found',
    );
  });

  it('a change is a new version: it closes the open one, and overlaps, gaps and the past are refused', async () => {
    const { caller, offer } = await smallCatalog();
    const second = await addOfferVersion(deps(), caller, offer.id, {
      ...planVersion('2026-04-01T00:00:00Z', '12.00'),
      priceChangePolicy: 'immediate-prorated',
    });
    assert.equal(second.number, 2);
    assert.equal(second.priceChangePolicy, 'immediate-prorated');
    const first = await offerVersionAt(deps(), caller.tenantId, offer.id, '2026-03-31T23:59:59.999Z');
    assert.equal(first.version.effectiveTo, '2026-04-01T00:00:00.000Z');
    const auditBefore = await auditCount(caller);

    // A version from 2026-03-15 to 2026-04-15 lands inside versions 1 and 2.
    await rejectsWith(
      addOfferVersion(deps(), caller, offer.id, {
        ...planVersion('2026-03-15T00:00:00Z', '11.00'),
        effectiveTo: '2026-04-15T00:00:00Z',
      }),
      'catalog.version_overlap',
      /^offer PLAN: version 1 \[2026-01-01T00:00:00.000Z, 2026-04-01T00:00:00.000Z\) overlaps the new version \[2026-03-15T00:00:00.000Z, 2026-04-15T00:00:00.000Z\): both are in force at 2026-03-15T00:00:00.000Z$/,
    );
    await rejectsWith(
      addOfferVersion(deps(), caller, offer.id, planVersion('2026-04-01T00:00:00Z', '13.00')),
      'catalog.version_overlap',
      /overlaps/,
    );
    assert.equal(await auditCount(caller), auditBefore, 'refused changes leave no trace');
    // Starting before now would change what was in force: refused.
    const other = await smallCatalog();
    await rejectsWith(
      addOfferVersion(deps(), other.caller, other.offer.id, planVersion('2026-02-01T00:00:00Z', '9.00')),
      'catalog.version_started',
      /version 1 \[2026-01-01T00:00:00.000Z, open\) is in force now; it can end at 2026-03-01T10:00:00.000Z at the earliest, not at 2026-02-01T00:00:00.000Z/,
    );
  });

  it('refuses a price in a currency the offer does not support, and a negative rate, changing nothing', async () => {
    const { caller, offer, tariff } = await smallCatalog();
    const auditBefore = await auditCount(caller);
    await rejectsWith(
      addOfferVersion(deps(), caller, offer.id, planVersion('2026-05-01T00:00:00Z', '10.00', 'USD')),
      'catalog.unsupported_currency',
      /\/prices\/0\/amounts\/0\/currency: price monthly is priced in USD, which offer PLAN does not sell in/,
    );
    await rejectsWith(
      addOfferVersion(deps(), caller, offer.id, planVersion('2026-05-01T00:00:00Z', '-10.00')),
      'catalog.negative_amount',
    );
    await rejectsWith(
      addTariffVersion(deps(), caller, tariff.id, {
        effectiveFrom: '2026-05-01T00:00:00Z',
        definition: dataTariff('-0.00001'),
      }),
      'catalog.negative_amount',
      /\/definition\/data\/0\/pricing\/unitPrice: "-0.00001" is negative/,
    );
    await rejectsWith(
      createOffer(deps(), caller, {
        code: 'MULTI',
        name: 'Multi',
        kind: 'plan',
        currencies: ['EUR', 'USD'],
        products: ['DATA'],
        versions: [planVersion('2026-05-01T00:00:00Z', '10.00')],
      }),
      'catalog.invalid_definition',
      /no amount in USD/,
    );
    assert.equal(await auditCount(caller), auditBefore);
    assert.equal((await listTariffVersions(deps(), caller.tenantId, tariff.id)).length, 1);
  });

  it('imports a rate deck into a new tariff version, and refuses a deck with bad rows naming line and column', async () => {
    const caller = await tenant();
    await applyCatalog(deps(), caller, demo);
    const csv = [
      'prefix,description,rate,connect_fee,increments,currency,effective_date',
      '49,Germany fixed,0.02,0,60/60,EUR,2026-01-01',
      '4915,Germany mobile,0.05,0,60/1,EUR,2026-01-01',
      '1,North America,0.10,0.05,60/60,EUR,2026-01-01',
      '"33","France, all",0.08,,60/60,EUR,2026-01-01',
    ].join('\n');
    const result = await importRateDeck(deps(), caller, {
      tariff: 'MOBILE-STANDARD',
      csv,
      effectiveFrom: '2026-04-01T00:00:00Z',
    });
    assert.equal(result.rows, 4);
    assert.equal(result.version.number, 2);
    const inForce = await tariffVersionAt(deps(), caller.tenantId, 'MOBILE-STANDARD', '2026-04-02T00:00:00Z');
    assert.equal(inForce.version.id, result.version.id);
    const definition = inForce.version.definition as {
      roaming: unknown;
      data: unknown[];
      zones: Array<{ id: string }>;
    };
    assert.ok(definition.roaming, 'roaming networks kept');
    assert.equal(definition.data.length, 3, 'data rates kept');
    assert.ok(definition.zones.some((z) => z.id === 'EU-roaming'));

    const bad = `${csv}\n44,UK,-0.10,0,60/60,EUR,2026-01-01\n45,Denmark,0.1,0,sixty,EUR,2026-01-01`;
    await assert.rejects(
      importRateDeck(deps(), caller, {
        tariff: 'MOBILE-STANDARD',
        csv: bad,
        effectiveFrom: '2026-05-01T00:00:00Z',
      }),
      (error: unknown) => {
        assert.ok(isTollgateError(error));
        assert.equal(error.code, 'tariff.invalid_rate_deck');
        assert.deepEqual(
          error.errors?.map((e) => e.field),
          ['line 6/rate', 'line 7/increments'],
        );
        return true;
      },
    );
    assert.equal((await listTariffVersions(deps(), caller.tenantId, inForce.tariff.id)).length, 2);
  });

  it('imports a rate deck of 200k rows as one version', { timeout: 60_000, skip: skip200k() }, async () => {
    const caller = await tenant();
    await createTariff(deps(), caller, { code: 'WHOLESALE', name: 'Wholesale' });
    const rows = ['prefix,description,rate,connect_fee,increments,currency,effective_date'];
    for (let i = 0; i < 200_000; i++) {
      // 200 destinations of 1000 prefixes each: 4 digits of country-ish code and 3 more digits.
      const zone = Math.floor(i / 1000);
      rows.push(
        `${2000 + zone}${String(i % 1000).padStart(3, '0')},Destination ${zone},0.0${(zone % 90) + 10},0,60/60,EUR,2026-01-01`,
      );
    }
    const started = performance.now();
    const result = await importRateDeck(deps(), caller, {
      tariff: 'WHOLESALE',
      csv: rows.join('\n'),
      effectiveFrom: '2026-04-01T00:00:00Z',
    });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(result.rows, 200_000);
    assert.equal(result.prefixes, 200_000);
    assert.equal(result.zones, 200);
    assert.ok(seconds < 30, `took ${seconds.toFixed(1)} s`);
    const stored = await getTariffVersion(deps(), caller.tenantId, result.version.id);
    assert.equal(
      (stored.definition as { prefixTables: Array<{ entries: unknown[] }> }).prefixTables[0]!.entries.length,
      200_000,
    );
  });

  it('dry run: prices sample usage under the version in force and under a draft, per offer and zone', async () => {
    const caller = await tenant();
    await applyCatalog(deps(), caller, demo);
    const current = await tariffVersionAt(deps(), caller.tenantId, 'MOBILE-STANDARD', '2026-03-01T00:00:00Z');
    // The draft doubles the price of DE-mobile calls (0.12 -> 0.24 per minute at peak).
    const definition = JSON.parse(JSON.stringify(current.version.definition)) as {
      voice: { rates: Array<{ zone: string; unitPrice: string }> };
    };
    definition.voice.rates.find((r) => r.zone === 'DE-mobile')!.unitPrice = '0.24';
    const draft = await addTariffVersion(
      deps(),
      caller,
      'MOBILE-STANDARD',
      { effectiveFrom: '2026-06-01T00:00:00Z', definition },
      { draft: true },
    );
    assert.equal(draft.status, 'draft');
    // The draft is not in force until published.
    assert.equal(
      (await tariffVersionAt(deps(), caller.tenantId, 'MOBILE-STANDARD', '2026-07-01T00:00:00Z')).version.id,
      current.version.id,
    );

    const report = await dryRun(deps(), caller.tenantId, {
      tariffVersionId: draft.id,
      events: [
        // Tuesday 2026-02-10 10:00 Berlin: peak. 120 s to a German mobile: 2 min x 0.12 = 0.24, draft 0.48.
        {
          offer: 'MOBILE-POSTPAID-M',
          service: 'voice',
          occurredAt: '2026-02-10T09:00:00Z',
          calledNumber: '4915112345678',
          durationSec: 120,
        },
        // 61 s to a German fixed line at peak: 60/1 increments -> 61 s x 0.09/60 = 0.0915; unchanged by the draft.
        {
          offer: 'MOBILE-POSTPAID-M',
          service: 'voice',
          occurredAt: '2026-02-10T09:00:00Z',
          calledNumber: '4930123456',
          durationSec: 61,
        },
        // 1 MB of data at home: 10 blocks of 100 kB x 0.001 = 0.01.
        { offer: 'MOBILE-POSTPAID-M', service: 'data', occurredAt: '2026-02-10T09:00:00Z', bytes: '1000000' },
        { offer: 'MOBILE-PREPAID', service: 'sms', occurredAt: '2026-02-10T09:00:00Z', count: '2' },
        {
          offer: 'MOBILE-POSTPAID-M',
          service: 'voice',
          occurredAt: '2026-02-10T09:00:00Z',
          calledNumber: '999',
          durationSec: 10,
        },
      ],
    });
    assert.equal(report.events, 5);
    assert.equal(report.priced, 4);
    assert.deepEqual(report.lines, [
      {
        offer: 'MOBILE-POSTPAID-M',
        zone: 'DE-fixed',
        currency: 'EUR',
        events: 1,
        current: '0.0915',
        draft: '0.0915',
        delta: '0',
      },
      {
        offer: 'MOBILE-POSTPAID-M',
        zone: 'DE-mobile',
        currency: 'EUR',
        events: 1,
        current: '0.24',
        draft: '0.48',
        delta: '0.24',
      },
      {
        offer: 'MOBILE-POSTPAID-M',
        zone: 'home',
        currency: 'EUR',
        events: 1,
        current: '0.01',
        draft: '0.01',
        delta: '0',
      },
      {
        offer: 'MOBILE-PREPAID',
        zone: 'home',
        currency: 'EUR',
        events: 1,
        current: '0.18',
        draft: '0.18',
        delta: '0',
      },
    ]);
    assert.deepEqual(report.totals, [{ currency: 'EUR', current: '0.5215', draft: '0.7615', delta: '0.24' }]);
    assert.equal(report.errors.length, 1);
    assert.equal(report.errors[0]!.index, 4);

    const published = await publishTariffVersion(deps(), caller, draft.id);
    assert.equal(published.status, 'published');
    assert.equal(
      (await tariffVersionAt(deps(), caller.tenantId, 'MOBILE-STANDARD', '2026-07-01T00:00:00Z')).version.id,
      draft.id,
    );
    assert.equal(
      (await tariffVersionAt(deps(), caller.tenantId, 'MOBILE-STANDARD', '2026-05-31T00:00:00Z')).version
        .effectiveTo,
      '2026-06-01T00:00:00.000Z',
    );
    await rejectsWith(publishTariffVersion(deps(), caller, draft.id), 'catalog.version_not_draft');
  });
});
