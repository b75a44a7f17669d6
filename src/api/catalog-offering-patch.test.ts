/**
 * A price change through TMF620: PATCH a productOffering with new productOfferingPrice refs makes a
 * new version. TMF620 carries prices only, so the new version must keep what the offer's catalog
 * says beyond them — allowances, eligibility, the contract, promotions on kept prices — and may
 * keep prices of earlier versions (usage prices, which TMF620 cannot create) by listing them.
 *
 * The offer is the demo's MOBILE-POSTPAID-M: version 2 (from 2026-07-01) has the prices monthly,
 * activation, voice, sms and data, a 24-month contract and three allowances.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bearer, expectProblem, openTestApi, type TestApi } from '../testing/api.js';
import { applyCatalog } from '../workflows/catalog.js';

const TMF = '/tmf-api/productCatalogManagement/v4';

interface Version {
  number: number;
  effectiveFrom: string;
  content: {
    prices: Array<{ code: string; kind: string; name?: string; amounts?: unknown }>;
    allowances?: unknown[];
    contract?: unknown;
    eligibility?: unknown;
  };
}

let api: TestApi;
let headers: Record<string, string>;

before(async () => {
  api = await openTestApi();
  headers = bearer(api.a.adminKey);
  const text = readFileSync(
    fileURLToPath(new URL('../../examples/catalog/demo-operator.yaml', import.meta.url)),
    'utf8',
  );
  await applyCatalog(api.app, { tenantId: api.a.id, actor: { type: 'system', id: 'test' } }, [
    { file: 'demo.yaml', text },
  ]);
});
after(() => api.dispose());

async function call(method: string, url: string, payload?: unknown) {
  return api.server.inject({
    method: method as 'GET',
    url,
    headers,
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
}

it('a TMF620 price change keeps the allowances, contract and usage prices of the version it follows', async () => {
  const offering = (
    (await call('GET', `${TMF}/productOffering?code=MOBILE-POSTPAID-M`)).json() as Array<{
      id: string;
      productOfferingPrice: Array<{ id: string; name: string }>;
    }>
  )[0]!;
  const versionsOf = async () =>
    ((await call('GET', `/v1/offers/${offering.id}/versions`)).json() as { items: Version[] }).items;
  const before = (await versionsOf()).at(-1)!;
  assert.equal(before.number, 2);
  // The refs of the version in force now, by price code.
  const refs = new Map<string, string>();
  for (const ref of offering.productOfferingPrice) {
    const price = (await call('GET', `${TMF}/productOfferingPrice/${ref.id}`)).json() as { code: string };
    refs.set(price.code, ref.id);
  }

  const monthly = await call('POST', `${TMF}/productOfferingPrice`, {
    name: 'Mobile M monthly from March',
    code: 'monthly',
    priceType: 'recurring',
    price: { unit: 'EUR', value: '29.00' },
  });
  assert.equal(monthly.statusCode, 201, monthly.body);
  const patched = await call('PATCH', `${TMF}/productOffering/${offering.id}`, {
    productOfferingPrice: [
      { id: (monthly.json() as { id: string }).id },
      { id: refs.get('voice')! },
      { id: refs.get('sms')! },
      { id: refs.get('data')! },
    ],
    validFor: { startDateTime: '2027-03-01T00:00:00Z' },
  });
  assert.equal(patched.statusCode, 200, patched.body);

  const added = (await versionsOf()).at(-1)!;
  assert.equal(added.number, 3);
  assert.equal(added.effectiveFrom, '2027-03-01T00:00:00.000Z');
  assert.deepEqual(
    added.content.prices.map((p) => [p.code, p.kind]),
    [
      ['monthly', 'recurring'],
      ['voice', 'usage'],
      ['sms', 'usage'],
      ['data', 'usage'],
    ],
  );
  assert.equal(
    added.content.prices[0]!.name,
    'Mobile M monthly from March',
    'the standalone price keeps its name',
  );
  assert.deepEqual(added.content.allowances, before.content.allowances);
  assert.equal(added.content.allowances?.length, 3);
  assert.deepEqual(added.content.contract, before.content.contract);

  // A price of another offering cannot be taken over; the error points at the ref.
  const other = (
    (await call('GET', `${TMF}/productOffering?code=MOBILE-PREPAID`)).json() as Array<{
      productOfferingPrice: Array<{ id: string }>;
    }>
  )[0]!;
  expectProblem(
    await call('PATCH', `${TMF}/productOffering/${offering.id}`, {
      productOfferingPrice: [{ id: other.productOfferingPrice[0]!.id }],
      validFor: { startDateTime: '2027-04-01T00:00:00Z' },
    }),
    409,
    { code: 'catalog.in_use', field: '/body/productOfferingPrice/0/id' },
  );
});

it('a new offer version through /v1: a draft to dry-run, then published', async () => {
  const offering = (
    (await call('GET', `${TMF}/productOffering?code=MOBILE-POSTPAID-M`)).json() as Array<{
      id: string;
    }>
  )[0]!;
  const current = (
    (await call('GET', `/v1/offers/${offering.id}/versions?at=2026-08-01T00:00:00Z`)).json() as {
      items: Version[];
    }
  ).items[0]!;
  // The draft prices voice with the prepaid tariff instead of the standard one (a refused version
  // names the field in the body: see the end of this test).
  const prices = current.content.prices.map((p) =>
    p.code === 'voice' ? { ...p, tariff: 'MOBILE-PREPAID' } : p,
  );
  const drafted = await call('POST', `/v1/offers/${offering.id}/versions`, {
    effectiveFrom: '2028-01-01T00:00:00Z',
    draft: true,
    prices,
    // The national minutes are zoned by the standard tariff's zones, which the prepaid one lacks.
    allowances: current.content.allowances?.filter((a) => (a as { service: string }).service !== 'voice'),
  });
  assert.equal(drafted.statusCode, 201, drafted.body);
  const draft = drafted.json() as { id: string; status: string };
  assert.equal(draft.status, 'draft');
  const inForce = async (at: string) =>
    ((await call('GET', `/v1/offers/${offering.id}/versions?at=${at}`)).json() as { items: Version[] })
      .items[0]!.number;
  assert.equal(await inForce('2028-02-01T00:00:00Z'), 3, 'a draft is not in force');

  // Tuesday 10 February 2026, 10:00 in Berlin: 125 s to the UK, charged 60/60 (180 s).
  // In force: MOBILE-STANDARD, zone WORLD, 3 x 0.99 + 0.25 connect = 3.22.
  // Draft: MOBILE-PREPAID, zone INTERNATIONAL, 3 x 0.79 = 2.37.
  const dry = await call('POST', '/v1/catalog/dry-run', {
    offerVersionId: draft.id,
    events: [
      {
        offer: 'MOBILE-POSTPAID-M',
        service: 'voice',
        occurredAt: '2026-02-10T09:00:00Z',
        calledNumber: '442079460000',
        durationSec: 125,
      },
    ],
  });
  assert.equal(dry.statusCode, 200, dry.body);
  assert.deepEqual((dry.json() as { totals: unknown }).totals, [
    { currency: 'EUR', current: '3.22', draft: '2.37', delta: '-0.85' },
  ]);

  const published = await call('POST', `/v1/offer-versions/${draft.id}/publish`);
  assert.equal(published.statusCode, 200, published.body);
  assert.equal((published.json() as { status: string }).status, 'published');
  assert.equal(await inForce('2028-02-01T00:00:00Z'), 4);
  expectProblem(await call('POST', `/v1/offer-versions/${draft.id}/publish`), 409, {
    code: 'catalog.version_not_draft',
  });
  // A draft that no longer fits the published versions is refused on publishing, naming the draft.
  const overlapping = await call('POST', `/v1/offers/${offering.id}/versions`, {
    effectiveFrom: '2027-06-01T00:00:00Z',
    effectiveTo: '2029-01-01T00:00:00Z',
    draft: true,
  });
  assert.equal(overlapping.statusCode, 201, overlapping.body);
  expectProblem(
    await call('POST', `/v1/offer-versions/${(overlapping.json() as { id: string }).id}/publish`),
    400,
    { code: 'catalog.version_overlap', field: '/params/id' },
  );
  // A version that does not follow the catalog's rules is refused naming the field in the body.
  expectProblem(
    await call('POST', `/v1/offers/${offering.id}/versions`, {
      effectiveFrom: '2029-01-01T00:00:00Z',
      prices: [
        {
          code: 'monthly',
          kind: 'recurring',
          amounts: [{ amount: '-1.00', currency: 'EUR' }],
          period: 'month',
          billing: 'advance',
          proration: 'daily',
        },
      ],
    }),
    400,
    { code: 'catalog.negative_amount', field: '/body/prices/0/amounts/0/amount' },
  );
});
