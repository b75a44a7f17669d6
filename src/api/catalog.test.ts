/**
 * The catalog over HTTP: TMF620 resources (create 201, retrieve, list with attribute filters,
 * `fields`, offset/limit and count headers, JSON Merge Patch, delete 204, 404 problems), the
 * tariff routes (versions, rate decks as text/csv, drafts, dry run), roles and tenant isolation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bearer, expectProblem, openTestApi, type TestApi } from '../testing/api.js';
import { applyCatalog } from '../workflows/catalog.js';

const TMF = '/tmf-api/productCatalogManagement/v4';
const DECK = [
  'prefix,description,rate,connect_fee,increments,currency,effective_date',
  '49,Germany,0.02,0,60/60,EUR,2026-01-01',
  '4915,Germany mobile,0.05,0,60/1,EUR,2026-01-01',
  '33,France,0.08,0,60/60,EUR,2026-01-01',
].join('\n');
const dataTariff = (unitPrice: string) => ({
  timeZone: 'UTC',
  currencies: ['EUR'],
  zones: [],
  prefixTables: [],
  data: [{ currency: 'EUR', blockBytes: 1000, pricing: { mode: 'flat', unitPrice } }],
});

describe('catalog API', () => {
  let api: TestApi;
  let admin: Record<string, string>;
  let manager: Record<string, string>;
  let readOnly: Record<string, string>;

  async function call(method: string, url: string, payload?: unknown, headers = manager) {
    return api.server.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
  }
  async function create(url: string, payload: unknown) {
    const response = await call('POST', url, payload);
    assert.equal(response.statusCode, 201, `${url}: ${response.body}`);
    return response.json() as Record<string, unknown> & { id: string; href: string };
  }

  before(async () => {
    api = await openTestApi();
    admin = bearer(api.a.adminKey);
    manager = bearer(await api.keyWithRoles(api.a, ['catalog-manager']));
    readOnly = bearer(await api.keyWithRoles(api.a, ['read-only']));
  });
  after(() => api.dispose());

  it('productSpecification: create, retrieve, list with filters and fields, merge-patch, delete, 404', async () => {
    const created = await call('POST', `${TMF}/productSpecification`, {
      name: 'Mobile data',
      serviceType: 'data',
      productNumber: 'DATA',
      lifecycleStatus: 'Launched',
      '@type': 'ProductSpecification',
    });
    assert.equal(created.statusCode, 201);
    const spec = created.json() as Record<string, unknown> & { id: string; href: string };
    assert.match(spec.id, /^prd_/);
    assert.equal(spec.href, `${TMF}/productSpecification/${spec.id}`);
    assert.equal(created.headers.location, spec.href);
    assert.equal(spec['@type'], 'ProductSpecification');
    assert.equal(spec.productNumber, 'DATA');
    assert.equal(spec.lifecycleStatus, 'Active');
    await create(`${TMF}/productSpecification`, {
      name: 'Mobile voice',
      serviceType: 'voice',
      lifecycleStatus: 'In design',
    });

    const one = await call('GET', `${TMF}/productSpecification/${spec.id}`, undefined, readOnly);
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.json(), spec);

    const all = await call('GET', `${TMF}/productSpecification`);
    assert.equal(all.headers['x-total-count'], '2');
    assert.equal(all.headers['x-result-count'], '2');
    const named = await call('GET', `${TMF}/productSpecification?name=Mobile%20data&fields=name,serviceType`);
    assert.deepEqual(named.json(), [
      {
        id: spec.id,
        href: spec.href,
        '@type': 'ProductSpecification',
        name: 'Mobile data',
        serviceType: 'data',
      },
    ]);
    const active = await call('GET', `${TMF}/productSpecification?lifecycleStatus=Active`);
    assert.deepEqual(
      (active.json() as Array<{ id: string }>).map((p) => p.id),
      [spec.id],
    );
    const paged = await call('GET', `${TMF}/productSpecification?offset=1&limit=1`);
    assert.equal(paged.headers['x-total-count'], '2');
    assert.equal(paged.headers['x-result-count'], '1');
    const single = await call('GET', `${TMF}/productSpecification/${spec.id}?fields=productNumber`);
    assert.deepEqual(Object.keys(single.json() as object).sort(), ['@type', 'href', 'id', 'productNumber']);

    const patched = await api.server.inject({
      method: 'PATCH',
      url: `${TMF}/productSpecification/${spec.id}`,
      headers: { ...manager, 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ description: 'LTE and 5G', lifecycleStatus: 'Retired' }),
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal((patched.json() as { description: string }).description, 'LTE and 5G');
    assert.equal((patched.json() as { lifecycleStatus: string }).lifecycleStatus, 'Retired');
    const removed = await api.server.inject({
      method: 'PATCH',
      url: `${TMF}/productSpecification/${spec.id}`,
      headers: { ...manager, 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ description: null }),
    });
    assert.equal((removed.json() as { description?: string }).description, undefined, 'null removes a field');

    const deleted = await call('DELETE', `${TMF}/productSpecification/${spec.id}`);
    assert.equal(deleted.statusCode, 204);
    assert.equal(deleted.body, '');
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const response = await call(
        method,
        `${TMF}/productSpecification/${spec.id}`,
        method === 'PATCH' ? { name: 'x' } : undefined,
      );
      const problem = expectProblem(response, 404, { code: 'catalog.product_not_found' });
      assert.match(problem.detail, new RegExp(spec.id));
    }
  });

  it('productOffering with prices, a product and a category; prices of a version are read-only', async () => {
    const product = await create(`${TMF}/productSpecification`, {
      name: 'Fibre',
      serviceType: 'broadband',
      productNumber: 'FIBRE',
    });
    const monthly = await create(`${TMF}/productOfferingPrice`, {
      name: 'Monthly fee',
      code: 'monthly',
      priceType: 'recurring',
      price: { unit: 'EUR', value: '39.99' },
      recurringChargePeriodType: 'month',
    });
    assert.equal(monthly.priceType, 'recurring');
    assert.deepEqual(monthly.price, { unit: 'EUR', value: '39.99' });
    const install = await create(`${TMF}/productOfferingPrice`, {
      name: 'Installation',
      code: 'install',
      priceType: 'oneTime',
      price: { unit: 'EUR', value: '69.00' },
      reason: 'installation',
    });
    const category = await create(`${TMF}/category`, { name: 'Home', code: 'HOME' });
    const offering = await create(`${TMF}/productOffering`, {
      name: 'Fibre 500',
      code: 'FIBRE-500',
      validFor: { startDateTime: '2026-01-01T00:00:00Z' },
      productSpecification: { id: product.id },
      productOfferingPrice: [{ id: monthly.id }, { id: install.id }],
      category: [{ id: category.id }],
      productOfferingTerm: [{ name: 'minimum term', duration: { amount: 12, units: 'month' } }],
    });
    assert.equal(offering.version, '1');
    assert.deepEqual(offering.validFor, { startDateTime: '2026-01-01T00:00:00.000Z' });
    assert.deepEqual(
      (offering.productOfferingPrice as Array<{ id: string }>).map((p) => p.id),
      [monthly.id, install.id],
      'the standalone prices became the version’s prices, ids kept',
    );
    assert.equal((offering.productSpecification as { id: string }).id, product.id);
    assert.equal((offering.category as Array<{ id: string }>)[0]!.id, category.id);
    assert.deepEqual(offering.productOfferingTerm, [
      { name: 'minimum term', duration: { amount: 12, units: 'month' } },
    ]);
    const homeCategory = (await call('GET', `${TMF}/category/${category.id}`)).json() as {
      productOffering: Array<{ id: string }>;
    };
    assert.deepEqual(
      homeCategory.productOffering.map((o) => o.id),
      [offering.id],
    );

    const price = (await call('GET', `${TMF}/productOfferingPrice/${monthly.id}`)).json() as Record<
      string,
      unknown
    >;
    assert.deepEqual(price.productOffering, { id: offering.id, href: offering.href });
    expectProblem(await call('PATCH', `${TMF}/productOfferingPrice/${monthly.id}`, { name: 'x' }), 409, {
      code: 'catalog.price_read_only',
    });
    expectProblem(await call('DELETE', `${TMF}/productOfferingPrice/${monthly.id}`), 409, {
      code: 'catalog.price_read_only',
    });
    expectProblem(await call('DELETE', `${TMF}/productOffering/${offering.id}`), 409, {
      code: 'catalog.in_use',
    });

    // A new price through PATCH is a new version from its validFor.
    const dearer = await create(`${TMF}/productOfferingPrice`, {
      name: 'Monthly fee',
      code: 'monthly',
      priceType: 'recurring',
      price: { unit: 'EUR', value: '44.99' },
    });
    const patched = await call('PATCH', `${TMF}/productOffering/${offering.id}`, {
      productOfferingPrice: [{ id: dearer.id }],
      validFor: { startDateTime: '2030-01-01T00:00:00Z' },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const versions = (await call('GET', `/v1/offers/${offering.id}/versions`)).json() as {
      items: Array<{ number: number; effectiveTo?: string }>;
    };
    assert.deepEqual(
      versions.items.map((v) => [v.number, v.effectiveTo]),
      [
        [1, '2030-01-01T00:00:00.000Z'],
        [2, undefined],
      ],
    );
    const in2031 = (
      await call('GET', `/v1/offers/${offering.id}/versions?at=2031-01-01T00:00:00Z`)
    ).json() as { items: Array<{ number: number }> };
    assert.equal(in2031.items[0]!.number, 2);
    expectProblem(await call('GET', `/v1/offers/${offering.id}/versions?at=2025-01-01T00:00:00Z`), 404, {
      code: 'catalog.no_version_in_force',
    });

    const listed = await call('GET', `${TMF}/productOffering?code=FIBRE-500&fields=name,version`);
    assert.deepEqual(listed.json(), [
      { id: offering.id, href: offering.href, '@type': 'ProductOffering', name: 'Fibre 500', version: '1' },
    ]);
    const catalog = await create(`${TMF}/catalog`, { name: 'Shop', category: [{ id: category.id }] });
    assert.equal((catalog.category as Array<{ id: string }>)[0]!.id, category.id);
  });

  it('filters on offerType and serviceType before paging, so counts and pages stay right', async () => {
    // Codes sort the matches last: a filter applied to a page after the query found nothing on the
    // first page and still counted every offer.
    await create(`${TMF}/productOffering`, { name: 'Plan A', code: 'AAA-PLAN', offerType: 'plan' });
    await create(`${TMF}/productOffering`, { name: 'Plan B', code: 'AAB-PLAN', offerType: 'plan' });
    await create(`${TMF}/productOffering`, { name: 'Add-on', code: 'ZZZ-ADDON', offerType: 'add-on' });
    const addOns = await call('GET', `${TMF}/productOffering?offerType=add-on&limit=1&fields=code`);
    assert.equal(addOns.headers['x-total-count'], '1');
    assert.equal(addOns.headers['x-result-count'], '1');
    assert.deepEqual(
      (addOns.json() as Array<{ code: string }>).map((o) => o.code),
      ['ZZZ-ADDON'],
    );

    await create(`${TMF}/productSpecification`, { name: 'A', serviceType: 'sms', productNumber: 'AAA-SMS' });
    await create(`${TMF}/productSpecification`, { name: 'Z', serviceType: 'iptv', productNumber: 'ZZZ-TV' });
    const tv = await call('GET', `${TMF}/productSpecification?serviceType=iptv&limit=1`);
    assert.equal(tv.headers['x-total-count'], '1');
    assert.deepEqual(
      (tv.json() as Array<{ productNumber: string }>).map((p) => p.productNumber),
      ['ZZZ-TV'],
    );
  });

  it('refuses a price in a currency the offering does not sell in, and a negative price', async () => {
    const usd = await create(`${TMF}/productOfferingPrice`, {
      name: 'Fee',
      priceType: 'recurring',
      price: { unit: 'USD', value: '5.00' },
    });
    const problem = expectProblem(
      await call('POST', `${TMF}/productOffering`, {
        name: 'Euro only',
        currencies: ['EUR'],
        productOfferingPrice: [{ id: usd.id }],
      }),
      400,
      // The price at fault is the offering's first productOfferingPrice reference.
      { code: 'catalog.unsupported_currency', field: '/body/productOfferingPrice/0' },
    );
    assert.match(problem.detail, /priced in USD, which offer .* does not sell in \(its currencies: EUR\)/);
    expectProblem(
      await call('POST', `${TMF}/productSpecification`, {
        name: 'Bad',
        serviceType: 'sms',
        productNumber: 'a b',
      }),
      400,
      { code: 'catalog.invalid_definition', field: '/body/productNumber' },
    );
    assert.equal(
      (await call('GET', `${TMF}/productOffering?name=Euro%20only`)).json().length,
      0,
      'nothing created',
    );
    expectProblem(
      await call('POST', `${TMF}/productOfferingPrice`, {
        name: 'Refund',
        priceType: 'oneTime',
        price: { unit: 'EUR', value: '-5.00' },
      }),
      400,
      { code: 'catalog.negative_amount', field: '/body/price/value' },
    );
  });

  it('tariffs: versions, rate deck as text/csv, overlaps and negative rates refused, draft + dry run + publish', async () => {
    const tariff = await create('/v1/tariffs', {
      code: 'VOICE-DE',
      name: 'Voice Germany',
      versions: [{ effectiveFrom: '2026-01-01T00:00:00Z', definition: dataTariff('0.00001') }],
    });
    const deck = await api.server.inject({
      method: 'POST',
      url: `/v1/tariffs/${tariff.id}/rate-deck?effectiveFrom=2030-01-01T00:00:00Z`,
      headers: { ...manager, 'content-type': 'text/csv' },
      payload: DECK,
    });
    assert.equal(deck.statusCode, 201, deck.body);
    const imported = deck.json() as { rows: number; zones: number; version: { id: string; number: number } };
    assert.equal(imported.rows, 3);
    assert.equal(imported.zones, 3);
    assert.equal(deck.headers.location, `/v1/tariff-versions/${imported.version.id}`);
    const stored = (await call('GET', `/v1/tariff-versions/${imported.version.id}`)).json() as {
      definition: { voice: unknown; data: unknown[] };
    };
    assert.ok(stored.definition.voice);
    assert.equal(stored.definition.data.length, 1, 'the data rates of the earlier version are kept');

    const bad = await api.server.inject({
      method: 'POST',
      url: `/v1/tariffs/${tariff.id}/rate-deck?effectiveFrom=2031-01-01T00:00:00Z`,
      headers: { ...manager, 'content-type': 'text/csv' },
      payload: `${DECK}\n44,UK,cheap,0,60/60,EUR,2026-01-01\n`,
    });
    const problem = expectProblem(bad, 400, { code: 'tariff.invalid_rate_deck' });
    assert.deepEqual(problem.errors?.[0]?.field, 'line 5/rate');

    expectProblem(
      await call('POST', `/v1/tariffs/${tariff.id}/versions`, {
        effectiveFrom: '2029-01-01T00:00:00Z',
        effectiveTo: '2030-06-01T00:00:00Z',
        definition: dataTariff('0.00002'),
      }),
      400,
      { code: 'catalog.version_overlap', field: '/body/effectiveFrom' },
    );
    const negative = expectProblem(
      await call('POST', `/v1/tariffs/${tariff.id}/versions`, {
        effectiveFrom: '2032-01-01T00:00:00Z',
        definition: dataTariff('-0.00002'),
      }),
      400,
      { code: 'catalog.negative_amount' },
    );
    assert.equal(negative.field, '/body/definition/data/0/pricing/unitPrice');

    const versions = (await call('GET', `/v1/tariffs/${tariff.id}/versions`, undefined, readOnly)).json() as {
      items: unknown[];
    };
    assert.equal(versions.items.length, 2);

    // A draft, priced against sample usage, then published.
    await create(`${TMF}/productSpecification`, {
      name: 'Data',
      serviceType: 'data',
      productNumber: 'MDATA',
    });
    const apply = await call('GET', '/v1/catalog/export?format=yaml');
    assert.match(String(apply.headers['content-type']), /yaml/);
    const draft = await create(`/v1/tariffs/${tariff.id}/versions`, {
      effectiveFrom: '2033-01-01T00:00:00Z',
      draft: true,
      definition: dataTariff('0.00002'),
    });
    assert.equal(draft.status, 'draft');
    const dry = await call('POST', '/v1/catalog/dry-run', { tariffVersionId: draft.id, events: [] });
    assert.equal(dry.statusCode, 200, dry.body);
    assert.deepEqual(dry.json(), { events: 0, priced: 0, lines: [], totals: [], errors: [] });
    // Past usage as the sample (this tenant has none yet; src/workflows/catalog-dry-run.test.ts
    // prices some).
    const past = await call('POST', '/v1/catalog/dry-run', {
      tariffVersionId: draft.id,
      usage: { from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z', limit: 100 },
    });
    assert.equal(past.statusCode, 200, past.body);
    assert.equal((past.json() as { events: number }).events, 0);
    expectProblem(
      await call('POST', '/v1/catalog/dry-run', { usage: { from: '2026-11-01T00:00:00Z' } }),
      400,
      { code: 'common.invalid_input', field: '/body/usage/to' },
    );
    const published = await call('POST', `/v1/tariff-versions/${draft.id}/publish`);
    assert.equal(published.statusCode, 200, published.body);
    const inForce = (
      await call('GET', `/v1/tariffs/${tariff.id}/versions?at=2034-01-01T00:00:00Z`)
    ).json() as { items: Array<{ id: string }> };
    assert.equal(inForce.items[0]!.id, draft.id);
  });

  it('tariff corrections: a started version replaced for its range, by catalog managers only, once', async () => {
    const tariff = await create('/v1/tariffs', {
      code: 'DATA-FIX',
      name: 'Data (to be corrected)',
      versions: [{ effectiveFrom: '2026-01-01T00:00:00Z', definition: dataTariff('0.00009') }],
    });
    const [wrong] = (
      (await call('GET', `/v1/tariffs/${tariff.id}/versions`)).json() as { items: Array<{ id: string }> }
    ).items;
    const url = `/v1/tariff-versions/${wrong!.id}/correct`;
    const body = { definition: dataTariff('0.00001'), reason: 'rate keyed with a 9 instead of a 1' };
    expectProblem(await call('POST', url, body, readOnly), 403, {});
    expectProblem(await call('POST', url, { definition: dataTariff('0.00001') }), 400, {});
    expectProblem(await call('POST', url, { ...body, definition: dataTariff('-0.00001') }), 400, {
      code: 'catalog.negative_amount',
      field: '/body/definition/data/0/pricing/unitPrice',
    });
    const response = await call('POST', url, body);
    assert.equal(response.statusCode, 201, response.body);
    const corrected = response.json() as {
      id: string;
      status: string;
      effectiveFrom: string;
      correction: { correctsVersionId: string; reason: string };
    };
    assert.equal(response.headers.location, `/v1/tariff-versions/${corrected.id}`);
    assert.equal(corrected.status, 'published');
    assert.equal(corrected.effectiveFrom, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(corrected.correction, { correctsVersionId: wrong!.id, reason: body.reason });
    const old = (await call('GET', `/v1/tariff-versions/${wrong!.id}`)).json() as { status: string };
    assert.equal(old.status, 'superseded');
    const inForce = (
      await call('GET', `/v1/tariffs/${tariff.id}/versions?at=2026-06-01T00:00:00Z`)
    ).json() as { items: Array<{ id: string }> };
    assert.equal(inForce.items[0]!.id, corrected.id);
    expectProblem(await call('POST', url, body), 409, { code: 'catalog.version_not_correctable' });
    // A version that has not started is replaced, not corrected.
    const future = await create(`/v1/tariffs/${tariff.id}/versions`, {
      effectiveFrom: '2035-01-01T00:00:00Z',
      definition: dataTariff('0.00002'),
    });
    expectProblem(await call('POST', `/v1/tariff-versions/${future.id}/correct`, body), 409, {
      code: 'catalog.version_not_correctable',
    });
  });

  it('dry run: a draft tariff priced against a CSV sample of usage, per offer and zone', async () => {
    const text = readFileSync(
      fileURLToPath(new URL('../../examples/catalog/demo-operator.yaml', import.meta.url)),
      'utf8',
    );
    await applyCatalog(api.app, { tenantId: api.b.id, actor: { type: 'system', id: 'test' } }, [
      { file: 'demo.yaml', text },
    ]);
    const b = bearer(api.b.adminKey);
    const tariff = (
      (await call('GET', '/v1/tariffs?code=FIXED-VOIP', undefined, b)).json() as {
        items: Array<{ id: string }>;
      }
    ).items[0]!;
    const current = (
      await call('GET', `/v1/tariffs/${tariff.id}/versions?at=2026-03-01T00:00:00Z`, undefined, b)
    ).json() as {
      items: Array<{ id: string }>;
    };
    const stored = (
      await call('GET', `/v1/tariff-versions/${current.items[0]!.id}`, undefined, b)
    ).json() as {
      definition: { voice: { rates: Array<{ zone: string; unitPrice: string }> } };
    };
    const definition = stored.definition;
    definition.voice.rates.find((r) => r.zone === 'DE-mobile')!.unitPrice = '0.30';
    const draft = (
      await call(
        'POST',
        `/v1/tariffs/${tariff.id}/versions`,
        { effectiveFrom: '2030-01-01T00:00:00Z', draft: true, definition },
        b,
      )
    ).json() as { id: string };
    const eventsCsv = [
      'offer,service,occurred_at,called_number,duration_sec',
      // 120 s to a German mobile: 0.15/min now, 0.30 in the draft (60/1 increments: 2 min).
      'BROADBAND-500,voip,2026-02-10T09:00:00Z,4915112345678,120',
      // A German fixed line is free in both.
      'BROADBAND-500,voip,2026-02-10T09:00:00Z,4930123456,300',
    ].join('\n');
    const response = await call('POST', '/v1/catalog/dry-run', { tariffVersionId: draft.id, eventsCsv }, b);
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), {
      events: 2,
      priced: 2,
      lines: [
        {
          offer: 'BROADBAND-500',
          zone: 'DE-fixed',
          currency: 'EUR',
          events: 1,
          current: '0',
          draft: '0',
          delta: '0',
        },
        {
          offer: 'BROADBAND-500',
          zone: 'DE-mobile',
          currency: 'EUR',
          events: 1,
          current: '0.3',
          draft: '0.6',
          delta: '0.3',
        },
      ],
      totals: [{ currency: 'EUR', current: '0.3', draft: '0.6', delta: '0.3' }],
      errors: [],
    });
  });

  it('roles: writes need catalog-manager or admin, reads are open to staff, no credentials is 401', async () => {
    expectProblem(await call('GET', `${TMF}/productOffering`, undefined, {}), 401, {
      code: 'access.missing_credentials',
    });
    expectProblem(await call('POST', `${TMF}/catalog`, { name: 'x' }, readOnly), 403, {
      code: 'access.role_not_allowed',
    });
    const support = bearer(await api.keyWithRoles(api.a, ['support-agent']));
    assert.equal((await call('GET', `${TMF}/catalog`, undefined, support)).statusCode, 200);
    const subscriber = bearer(await api.keyWithRoles(api.a, ['subscriber']));
    expectProblem(await call('GET', `${TMF}/catalog`, undefined, subscriber), 403);
    assert.equal((await call('POST', `${TMF}/catalog`, { name: 'By admin' }, admin)).statusCode, 201);
  });

  it('tenant B sees none of tenant A’s catalog', async () => {
    const offering = await create(`${TMF}/productOffering`, { name: 'A only' });
    const b = bearer(api.b.adminKey);
    expectProblem(await call('GET', `${TMF}/productOffering/${offering.id}`, undefined, b), 404, {
      code: 'catalog.offer_not_found',
    });
    expectProblem(await call('PATCH', `${TMF}/productOffering/${offering.id}`, { name: 'hijacked' }, b), 404);
    expectProblem(await call('DELETE', `${TMF}/productOffering/${offering.id}`, undefined, b), 404);
    const list = await call('GET', `${TMF}/productOffering?limit=500`, undefined, b);
    assert.ok(!list.body.includes(offering.id));
    assert.ok((list.json() as Array<{ name: string }>).every((o) => o.name !== 'A only'));
    assert.equal(list.headers['x-total-count'], String((list.json() as unknown[]).length));
    assert.equal(
      ((await call('GET', `${TMF}/productOffering/${offering.id}`)).json() as { name: string }).name,
      'A only',
    );
  });

  it('POST honours Idempotency-Key', async () => {
    const headers = { ...manager, 'idempotency-key': 'catalog-test-1' };
    const first = await call('POST', `${TMF}/category`, { name: 'Once', code: 'ONCE' }, headers);
    const again = await call('POST', `${TMF}/category`, { name: 'Once', code: 'ONCE' }, headers);
    assert.equal(first.statusCode, 201);
    assert.equal(again.statusCode, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.body, first.body);
  });
});
