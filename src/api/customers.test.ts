/**
 * The customers API over HTTP: TMF629 customers, TMF666 billing accounts (with the tree),
 * TMF637 products (subscriptions), the service identity lookup and bulk import; filters, fields,
 * paging headers, merge patch, 404s, tenant isolation, subscriber scoping, 401 and 403.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../kernel/clock.js';
import { bearer, expectProblem, openTestApi, type TestApi } from '../testing/api.js';
import { seedTestCatalog } from '../testing/catalog.js';

const CUSTOMERS = '/tmf-api/customerManagement/v4/customer';
const ACCOUNTS = '/tmf-api/accountManagement/v4/billingAccount';
const PRODUCTS = '/tmf-api/productInventory/v4/product';

type Json = Record<string, unknown> & { id: string };

describe('customers API', () => {
  let api: TestApi;
  let agent: string;
  let readOnly: string;
  let partner: string;
  /** Offer ids of the test catalog (tenant A), by code. */
  let offers: Map<string, string>;
  const offerId = (code: string) => offers.get(code)!;

  async function call(key: string | undefined, method: string, url: string, payload?: unknown, headers = {}) {
    return api.server.inject({
      method: method as 'GET',
      url,
      headers: { ...(key ? bearer(key) : {}), ...headers },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
  }

  async function created(key: string, url: string, payload: unknown): Promise<Json> {
    const response = await call(key, 'POST', url, payload);
    assert.equal(response.statusCode, 201, response.body);
    const body = response.json() as Json;
    assert.equal(response.headers.location, body.href);
    return body;
  }

  async function subscriberKey(accountId: string): Promise<string> {
    const response = await call(api.a.adminKey, 'POST', '/v1/api-keys', {
      name: 'portal user',
      roles: ['subscriber'],
      accountId,
    });
    assert.equal(response.statusCode, 201, response.body);
    return (response.json() as { secret: string }).secret;
  }

  let customer: Json;
  let account: Json;
  let otherAccount: Json;
  let product: Json;
  let otherProduct: Json;

  before(async () => {
    // A fixed 'now', so dated assignments and plan changes mean the same on any day the test runs.
    api = await openTestApi({ clock: new FakeClock('2026-06-01T00:00:00.000Z') });
    agent = await api.keyWithRoles(api.a, ['support-agent']);
    readOnly = await api.keyWithRoles(api.a, ['read-only']);
    partner = await api.keyWithRoles(api.a, ['partner']);
    offers = await seedTestCatalog(api.app, { tenantId: api.a.id, actor: { type: 'system', id: 'test' } });
  });
  after(() => api.dispose());

  it('creates, reads, lists with filters, fields and paging, and patches customers (TMF629)', async () => {
    customer = await created(agent, CUSTOMERS, {
      name: 'Ada Lovelace',
      engagedParty: { '@referredType': 'Individual' },
      contactMedium: [
        { mediumType: 'email', preferred: true, characteristic: { emailAddress: 'ada@example.com' } },
        {
          mediumType: 'postalAddress',
          characteristic: { street1: '1 Analytical Way', city: 'London', country: 'gb' },
        },
      ],
    });
    assert.match(customer.id, /^cust_/);
    assert.equal(customer.href, `${CUSTOMERS}/${customer.id}`);
    assert.equal(customer['@type'], 'Customer');
    assert.deepEqual(customer.engagedParty, { name: 'Ada Lovelace', '@referredType': 'Individual' });
    assert.equal(
      (customer.contactMedium as Array<{ characteristic: { country?: string } }>)[1]!.characteristic.country,
      'GB',
    );
    await created(agent, CUSTOMERS, { name: 'Initech', engagedParty: { '@referredType': 'Organization' } });
    await created(agent, CUSTOMERS, { name: 'Initrode', engagedParty: { '@referredType': 'Organization' } });

    const read = await call(readOnly, 'GET', `${CUSTOMERS}/${customer.id}`);
    assert.equal(read.statusCode, 200);
    assert.deepEqual(read.json(), customer);

    const byName = await call(readOnly, 'GET', `${CUSTOMERS}?name=Initech`);
    assert.deepEqual(
      (byName.json() as Json[]).map((c) => c.name),
      ['Initech'],
    );
    assert.equal(byName.headers['x-total-count'], '1');

    const paged = await call(readOnly, 'GET', `${CUSTOMERS}?offset=1&limit=1&fields=name,status`);
    assert.equal(paged.statusCode, 200, paged.body);
    assert.equal(paged.headers['x-total-count'], '3');
    assert.equal(paged.headers['x-result-count'], '1');
    const [second] = paged.json() as Json[];
    assert.deepEqual(Object.keys(second!).sort(), ['href', 'id', 'name', 'status']);
    assert.equal(second!.name, 'Initech');
    expectProblem(await call(readOnly, 'GET', `${CUSTOMERS}?fields=name,shoeSize`), 400, {
      code: 'common.invalid_input',
      field: '/querystring/fields',
    });

    const patched = await call(
      agent,
      'PATCH',
      `${CUSTOMERS}/${customer.id}`,
      JSON.stringify({ name: 'Augusta Ada King', contactMedium: [] }),
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal((patched.json() as Json).name, 'Augusta Ada King');
    assert.deepEqual((patched.json() as Json).contactMedium, []);
    const invalidEmail = await call(agent, 'PATCH', `${CUSTOMERS}/${customer.id}`, {
      contactMedium: [{ mediumType: 'email', characteristic: { emailAddress: 'not-an-email' } }],
    });
    expectProblem(invalidEmail, 400, {
      code: 'customers.invalid_contact',
      field: '/body/contactMedium/0/characteristic/emailAddress',
    });

    const missing = 'cust_01ARZ3NDEKTSV4RRFFQ69G5FAV';
    const problem = expectProblem(await call(readOnly, 'GET', `${CUSTOMERS}/${missing}`), 404, {
      code: 'customers.customer_not_found',
    });
    assert.match(problem.detail, new RegExp(missing));
    expectProblem(await call(agent, 'PATCH', `${CUSTOMERS}/${missing}`, { name: 'x' }), 404);
  });

  it('creates billing accounts with preferences, and serves the tree with its roll-up (TMF666)', async () => {
    account = await created(agent, ACCOUNTS, {
      name: 'Ada home',
      relatedParty: [{ id: customer.id, role: 'customer', '@referredType': 'Customer' }],
      currency: 'GBP',
      language: 'en-gb',
      billCycleDay: 15,
      timeZone: 'Europe/London',
      invoiceDelivery: 'paper',
      creditLimit: { amount: '150.00', currency: 'GBP' },
      creditClass: 'B',
      taxExemption: [
        {
          issuingJurisdiction: 'gb',
          certificateNumber: 'VAT-EX-1',
          validFor: { startDateTime: '2026-01-01T00:00:00Z' },
        },
      ],
    });
    assert.match(account.id, /^acct_/);
    assert.equal(account.state, 'active');
    assert.equal(account.language, 'en-GB');
    assert.deepEqual(account.creditLimit, { amount: '150.00', currency: 'GBP' });
    assert.deepEqual(account.relatedParty, [
      { id: customer.id, href: `${CUSTOMERS}/${customer.id}`, role: 'customer', '@referredType': 'Customer' },
    ]);
    assert.deepEqual(account.taxExemption, [
      {
        issuingJurisdiction: 'GB',
        certificateNumber: 'VAT-EX-1',
        validFor: { startDateTime: '2026-01-01T00:00:00.000Z' },
      },
    ]);
    assert.deepEqual(account.billStructure, { presentationMedia: [{ name: 'paper' }] });

    otherAccount = await created(agent, ACCOUNTS, {
      name: 'Ada work line',
      relatedParty: [{ id: customer.id }],
      accountRelationship: [
        { relationshipType: 'parent', account: { id: account.id } },
        { relationshipType: 'payer', account: { id: account.id } },
      ],
      costCentre: 'R&D',
      creditLimit: { amount: '20.5', currency: 'EUR' },
      currency: 'EUR',
    });
    assert.deepEqual(
      (otherAccount.accountRelationship as Array<{ relationshipType: string; account: { id: string } }>).map(
        (r) => [r.relationshipType, r.account.id],
      ),
      [
        ['parent', account.id],
        ['payer', account.id],
      ],
    );
    expectProblem(
      await call(agent, 'POST', ACCOUNTS, {
        name: 'x',
        relatedParty: [{ id: customer.id }],
        creditLimit: { amount: '12.345', currency: 'GBP' },
        currency: 'GBP',
      }),
      400,
      { code: 'money.invalid_decimal' },
    );
    expectProblem(
      await call(agent, 'POST', ACCOUNTS, {
        name: 'x',
        relatedParty: [{ id: 'cust_01ARZ3NDEKTSV4RRFFQ69G5FAV' }],
      }),
      404,
      { code: 'customers.customer_not_found', field: '/body/relatedParty/0/id' },
    );
    const cycle = await call(agent, 'PATCH', `${ACCOUNTS}/${account.id}`, {
      accountRelationship: [{ relationshipType: 'parent', account: { id: otherAccount.id } }],
    });
    expectProblem(cycle, 409, { code: 'customers.account_cycle', field: '/body/accountRelationship' });

    const patched = await call(agent, 'PATCH', `${ACCOUNTS}/${account.id}`, {
      billCycleDay: 1,
      creditClass: null,
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal((patched.json() as Json).billCycleDay, 1);
    assert.equal((patched.json() as Json).creditClass, undefined);
    const listed = await call(readOnly, 'GET', `${ACCOUNTS}?relatedParty.id=${customer.id}&fields=name`);
    assert.deepEqual(
      (listed.json() as Json[]).map((a) => a.name),
      ['Ada home', 'Ada work line'],
    );
    assert.equal(listed.headers['x-total-count'], '2');

    const tree = await call(readOnly, 'GET', `${ACCOUNTS}/${account.id}/tree`);
    assert.equal(tree.statusCode, 200, tree.body);
    const body = tree.json() as {
      root: { id: string; children: Array<{ id: string; costCentre: string }> };
      rollUp: { accounts: number; creditLimits: unknown[]; costCentres: unknown[] };
    };
    assert.equal(body.root.id, account.id);
    assert.deepEqual(
      body.root.children.map((c) => c.id),
      [otherAccount.id],
    );
    assert.equal(body.rollUp.accounts, 2);
    assert.deepEqual(body.rollUp.creditLimits, [
      { amount: '20.50', currency: 'EUR' },
      { amount: '150.00', currency: 'GBP' },
    ]);
    assert.deepEqual(body.rollUp.costCentres, [{ costCentre: 'R&D', accounts: 1 }]);
  });

  it('creates products with identities and add-ons, patches status, identities and plan (TMF637)', async () => {
    product = await created(agent, PRODUCTS, {
      productOffering: { id: offerId('MOBILE-M'), name: 'MOBILE-M' },
      billingAccount: { id: account.id },
      name: 'Ada mobile',
      startDate: '2026-01-01T00:00:00Z',
      realizingResource: [
        { '@referredType': 'MSISDN', value: '+44 7700 900123' },
        { '@referredType': 'IMSI', value: '234150999999999' },
      ],
      productRelationship: [
        { relationshipType: 'addOn', product: { productOffering: { name: 'ROAMING-PACK' } } },
      ],
    });
    assert.match(product.id, /^sub_/);
    assert.equal(product.status, 'active');
    assert.deepEqual(product.productOffering, {
      id: offerId('MOBILE-M'),
      href: `/tmf-api/productCatalogManagement/v4/productOffering/${offerId('MOBILE-M')}`,
      name: 'MOBILE-M',
      '@referredType': 'ProductOffering',
    });
    assert.equal((product.billingAccount as Json).id, account.id);
    assert.equal((product.relatedParty as Json[])[0]!.id, customer.id);
    const resources = product.realizingResource as Array<
      Json & { value: string; name: string; validFor: object }
    >;
    assert.deepEqual(
      resources.map((r) => [r['@referredType'], r.value, r.name]),
      [
        ['IMSI', '234150999999999', '234150999999999'],
        ['MSISDN', '447700900123', '+447700900123'],
      ],
    );
    assert.deepEqual(resources[1]!.validFor, { startDateTime: '2026-01-01T00:00:00.000Z' });
    otherProduct = await created(agent, PRODUCTS, {
      productOffering: { name: 'IOT' },
      billingAccount: { id: otherAccount.id },
      status: 'pendingActive',
      startDate: '2026-01-01T00:00:00Z',
    });
    assert.equal(otherProduct.status, 'pendingActive');

    // The same MSISDN on another product: 409, and the product is not created.
    const clash = await call(agent, 'POST', PRODUCTS, {
      productOffering: { name: 'IOT' },
      billingAccount: { id: otherAccount.id },
      realizingResource: [{ '@referredType': 'MSISDN', value: '447700900123' }],
    });
    const problem = expectProblem(clash, 409, {
      code: 'customers.identity_in_use',
      field: '/body/realizingResource/0/value',
    });
    assert.match(
      problem.detail,
      new RegExp(`MSISDN \\+447700900123 is assigned to subscription ${product.id}`),
    );
    const count = await call(readOnly, 'GET', `${PRODUCTS}?billingAccount.id=${otherAccount.id}`);
    assert.equal(count.headers['x-total-count'], '1');

    expectProblem(await call(agent, 'PATCH', `${PRODUCTS}/${product.id}`, { status: 'suspended' }), 400, {
      code: 'customers.reason_required',
    });
    const suspended = await call(agent, 'PATCH', `${PRODUCTS}/${product.id}`, {
      status: 'suspended',
      statusReason: 'lost phone',
    });
    assert.equal(suspended.statusCode, 200, suspended.body);
    assert.equal((suspended.json() as Json).status, 'suspended');
    expectProblem(await call(agent, 'PATCH', `${PRODUCTS}/${product.id}`, { status: 'pendingActive' }), 409, {
      code: 'customers.invalid_transition',
    });

    // Round trip: read, end the MSISDN now, add an ICCID, change plan from a future date.
    const current = (await call(readOnly, 'GET', `${PRODUCTS}/${product.id}`)).json() as {
      realizingResource: Array<{ id: string; '@referredType': string; validFor: Record<string, string> }>;
      productRelationship: unknown[];
    };
    const msisdn = current.realizingResource.find((r) => r['@referredType'] === 'MSISDN')!;
    const ended = '2026-02-01T00:00:00.000Z';
    const changed = await call(
      agent,
      'PATCH',
      `${PRODUCTS}/${product.id}`,
      JSON.stringify({
        realizingResource: [
          ...current.realizingResource.filter((r) => r.id !== msisdn.id),
          { ...msisdn, validFor: { ...msisdn.validFor, endDateTime: ended } },
          { '@referredType': 'DeviceId', value: 'tracker-0042' },
        ],
        productRelationship: current.productRelationship,
        productOffering: { name: 'MOBILE-S' },
        productOfferingChangeDate: '2099-01-01T00:00:00Z',
        productOfferingChangeType: 'downgrade',
      }),
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(changed.statusCode, 200, changed.body);
    const after = changed.json() as {
      productOffering: { id: string };
      realizingResource: Array<{ '@referredType': string; validFor: Record<string, string> }>;
      productOfferingHistory: Array<{ changeType: string; productOffering: { id: string } }>;
    };
    assert.equal(after.productOffering.id, offerId('MOBILE-M'), 'the downgrade takes effect in 2099');
    assert.deepEqual(
      after.productOfferingHistory.map((h) => [h.changeType, h.productOffering.id]),
      [
        ['initial', offerId('MOBILE-M')],
        ['downgrade', offerId('MOBILE-S')],
      ],
    );
    assert.equal(
      after.realizingResource.find((r) => r['@referredType'] === 'MSISDN')!.validFor.endDateTime,
      ended,
    );
    // Leaving an entry out is refused: history is kept.
    expectProblem(await call(agent, 'PATCH', `${PRODUCTS}/${product.id}`, { realizingResource: [] }), 409, {
      code: 'customers.history_kept',
    });

    // The MSISDN is free from 1 February: it moves to the other product.
    const moved = await call(agent, 'PATCH', `${PRODUCTS}/${otherProduct.id}`, {
      realizingResource: [
        {
          '@referredType': 'MSISDN',
          value: '+447700900123',
          validFor: { startDateTime: '2026-03-01T00:00:00Z' },
        },
      ],
    });
    assert.equal(moved.statusCode, 200, moved.body);

    const lookup = async (at: string) => {
      const response = await call(
        readOnly,
        'GET',
        `/v1/service-identities?type=msisdn&value=%2B44%207700%20900123&at=${at}`,
      );
      assert.equal(response.statusCode, 200, response.body);
      return (
        response.json() as { items: Array<{ subscriptionId: string; accountId: string; customerId: string }> }
      ).items;
    };
    assert.equal((await lookup('2026-01-15T00:00:00Z'))[0]!.subscriptionId, product.id);
    assert.deepEqual(await lookup('2026-02-15T00:00:00Z'), []);
    const [march] = await lookup('2026-03-02T00:00:00Z');
    assert.equal(march!.subscriptionId, otherProduct.id);
    assert.equal(march!.accountId, otherAccount.id);
    assert.equal(march!.customerId, customer.id);
    expectProblem(await call(readOnly, 'GET', '/v1/service-identities?type=msisdn&value=07700900123'), 400, {
      code: 'customers.invalid_identity',
      field: '/querystring/value',
    });

    const filtered = await call(readOnly, 'GET', `${PRODUCTS}?status=suspended&fields=status,billingAccount`);
    assert.deepEqual(
      (filtered.json() as Json[]).map((p) => [p.id, p.status]),
      [[product.id, 'suspended']],
    );
    const onOffer = await call(readOnly, 'GET', `${PRODUCTS}?productOffering.id=${offerId('IOT')}`);
    assert.deepEqual(
      (onOffer.json() as Json[]).map((p) => p.id),
      [otherProduct.id],
    );
  });

  it('imports rows with a per-row report: non-atomic applies valid rows, atomic nothing on failure', async () => {
    const rows = [
      {
        customerRef: 'IMP-1',
        customerName: 'Grace Hopper',
        accountRef: 'IMP-A1',
        offerCode: 'MOBILE-BASIC',
        msisdn: '+447700900201',
      },
      {
        customerRef: 'IMP-2',
        customerName: 'Alan Turing',
        accountRef: 'IMP-A2',
        offerCode: 'MOBILE-BASIC',
        msisdn: '+447700900201',
      },
      { customerRef: 'IMP-3', customerName: 'Joan Clarke', accountRef: 'IMP-A3', billCycleDay: '40' },
    ];
    const atomic = await call(agent, 'POST', '/v1/customers/bulk-import?atomic=true', { rows });
    const problem = expectProblem(atomic, 400, { code: 'customers.import_rejected' }) as unknown as {
      report: { applied: number; rejected: number; errors: Array<{ row: number; field: string }> };
      errors: Array<{ field: string }>;
    };
    assert.equal(problem.report.applied, 0);
    assert.deepEqual(
      problem.report.errors.map((e) => [e.row, e.field]),
      [
        [2, 'msisdn'],
        [3, 'billCycleDay'],
      ],
    );
    assert.deepEqual(
      problem.errors.map((e) => e.field),
      ['/body/rows/1/msisdn', '/body/rows/2/billCycleDay'],
    );
    const none = await call(readOnly, 'GET', `${CUSTOMERS}?name=Grace%20Hopper`);
    assert.deepEqual(none.json(), [], 'the atomic import left nothing behind');

    const partial = await call(agent, 'POST', '/v1/customers/bulk-import', { rows });
    assert.equal(partial.statusCode, 200, partial.body);
    const report = partial.json() as {
      applied: number;
      rejected: number;
      errors: Array<{ row: number; field: string; message: string }>;
    };
    assert.equal(report.applied, 1);
    assert.equal(report.rejected, 2);
    assert.match(report.errors[0]!.message, /MSISDN \+447700900201 is assigned to subscription/);

    const csv = await call(agent, 'POST', '/v1/customers/bulk-import?atomic=true', {
      csv: 'customerRef,customerName,accountRef,offerCode,nai\nIMP-4,"Hopper, Grace",IMP-A4,DSL,grace@ISP.example\n',
    });
    assert.equal(csv.statusCode, 200, csv.body);
    assert.equal((csv.json() as { applied: number }).applied, 1);
    expectProblem(
      await call(agent, 'POST', '/v1/customers/bulk-import', { csv: 'customerRef,shoeSize\nx,42\n' }),
      400,
      { code: 'customers.invalid_import', field: '/body/csv' },
    );
  });

  it('refuses products on offers that do not exist, of the wrong kind, not in force or not compatible', async () => {
    const body = (extra: Record<string, unknown>) => ({
      billingAccount: { id: account.id },
      startDate: '2026-01-01T00:00:00Z',
      ...extra,
    });
    const cases: Array<[Record<string, unknown>, number, string, string, RegExp]> = [
      [
        { productOffering: { name: 'MOBILE-XL' } },
        404,
        'customers.offer_not_found',
        '/body/productOffering/name',
        /^offer MOBILE-XL does not exist$/,
      ],
      [
        { productOffering: { id: offerId('ROAMING-PACK') } },
        400,
        'customers.wrong_offer_kind',
        '/body/productOffering/id',
        /^offer ROAMING-PACK is an add-on, not a plan$/,
      ],
      [
        { productOffering: { name: 'FUTURE-PLAN' } },
        400,
        'customers.offer_not_in_force',
        '/body/productOffering/name',
        /^offer FUTURE-PLAN has no version in force at 2026-01-01T00:00:00.000Z$/,
      ],
      [
        {
          productOffering: { name: 'MOBILE-S' },
          productRelationship: [{ relationshipType: 'addOn', product: { productOffering: { name: 'IOT' } } }],
        },
        400,
        'customers.wrong_offer_kind',
        '/body/productRelationship/0/product/productOffering/name',
        /^offer IOT is a plan, not an add-on$/,
      ],
      [
        {
          productOffering: { name: 'MOBILE-S' },
          productRelationship: [
            { relationshipType: 'addOn', product: { productOffering: { name: 'PREMIUM-ROAMING' } } },
          ],
        },
        409,
        'customers.incompatible_add_on',
        '/body/productRelationship/0/product/productOffering/name',
        /cannot be added to plan MOBILE-S/,
      ],
    ];
    for (const [extra, status, code, field, detail] of cases) {
      const problem = expectProblem(
        await call(agent, 'POST', PRODUCTS, body(extra)),
        status,
        { code, field },
        JSON.stringify(extra),
      );
      assert.match(problem.detail, detail);
    }
    // A plan change to an add-on is refused too.
    expectProblem(
      await call(agent, 'PATCH', `${PRODUCTS}/${otherProduct.id}`, {
        productOffering: { name: 'DATA-10GB' },
      }),
      400,
      { code: 'customers.wrong_offer_kind', field: '/body/productOffering/name' },
    );
    // Tenant B has no catalog: A's offer ids do not exist for it.
    const accountOfB = await created(api.b.adminKey, ACCOUNTS, {
      name: 'B account',
      relatedParty: [
        {
          id: (
            await created(api.b.adminKey, CUSTOMERS, {
              name: 'B customer',
              engagedParty: { '@referredType': 'Individual' },
            })
          ).id,
        },
      ],
    });
    expectProblem(
      await call(api.b.adminKey, 'POST', PRODUCTS, {
        productOffering: { id: offerId('MOBILE-M') },
        billingAccount: { id: accountOfB.id },
      }),
      404,
      { code: 'customers.offer_not_found', field: '/body/productOffering/id' },
    );
    // Bulk import: rows naming offers by code; an unknown code is reported on its column.
    const imported = await call(agent, 'POST', '/v1/customers/bulk-import', {
      csv: 'customerRef,customerName,accountRef,offerCode,addOns\nOFR-1,Lise Meitner,OFR-A1,MOBILE-L,PREMIUM-ROAMING;DATA-10GB\nOFR-2,Emmy Noether,OFR-A2,MOBILE-XL,\n',
    });
    assert.equal(imported.statusCode, 200, imported.body);
    const report = imported.json() as {
      applied: number;
      errors: Array<{ row: number; field: string; message: string }>;
    };
    assert.equal(report.applied, 1);
    assert.deepEqual(report.errors, [
      { row: 2, field: 'offerCode', message: 'offer MOBILE-XL does not exist' },
    ]);
  });

  it('keeps tenants apart: B gets 404 for A’s ids and sees none of them in lists', async () => {
    for (const url of [
      `${CUSTOMERS}/${customer.id}`,
      `${ACCOUNTS}/${account.id}`,
      `${ACCOUNTS}/${account.id}/tree`,
      `${PRODUCTS}/${product.id}`,
    ]) {
      const problem = expectProblem(await call(api.b.adminKey, 'GET', url), 404, {}, url);
      assert.ok(problem.detail.includes(/(cust|acct|sub)_[0-9A-Z]{26}/.exec(url)![0]), problem.detail);
    }
    expectProblem(await call(api.b.adminKey, 'PATCH', `${PRODUCTS}/${product.id}`, { name: 'mine' }), 404);
    expectProblem(
      await call(api.b.adminKey, 'POST', PRODUCTS, {
        productOffering: { id: 'x' },
        billingAccount: { id: account.id },
      }),
      404,
      { code: 'customers.account_not_found', field: '/body/billingAccount/id' },
    );
    for (const url of [CUSTOMERS, ACCOUNTS, PRODUCTS, '/v1/service-identities']) {
      const response = await call(api.b.adminKey, 'GET', url);
      assert.equal(response.statusCode, 200);
      for (const id of [customer.id, account.id, product.id])
        assert.ok(!response.body.includes(id), `${url} shows ${id}`);
    }
    const lookup = await call(
      api.b.adminKey,
      'GET',
      '/v1/service-identities?type=imsi&value=234150999999999',
    );
    assert.deepEqual((lookup.json() as { items: unknown[] }).items, []);
  });

  it('scopes a subscriber to its own account and products', async () => {
    const key = await subscriberKey(account.id);
    assert.equal((await call(key, 'GET', `${ACCOUNTS}/${account.id}`)).statusCode, 200);
    expectProblem(await call(key, 'GET', `${ACCOUNTS}/${otherAccount.id}`), 404, {
      code: 'customers.account_not_found',
    });
    const accounts = (await call(key, 'GET', ACCOUNTS)).json() as Json[];
    assert.deepEqual(
      accounts.map((a) => a.id),
      [account.id],
    );
    assert.equal((await call(key, 'GET', `${PRODUCTS}/${product.id}`)).statusCode, 200);
    expectProblem(await call(key, 'GET', `${PRODUCTS}/${otherProduct.id}`), 404, {
      code: 'customers.subscription_not_found',
    });
    const products = await call(key, 'GET', PRODUCTS);
    assert.deepEqual(
      (products.json() as Json[]).map((p) => p.id),
      [product.id],
    );
    assert.equal(products.headers['x-total-count'], '1');
    const sneaky = await call(key, 'GET', `${PRODUCTS}?billingAccount.id=${otherAccount.id}`);
    assert.deepEqual(sneaky.json(), []);
    for (const [method, url] of [
      ['GET', CUSTOMERS],
      ['GET', `${CUSTOMERS}/${customer.id}`],
      ['GET', `${ACCOUNTS}/${account.id}/tree`],
      ['GET', '/v1/service-identities'],
      ['PATCH', `${PRODUCTS}/${product.id}`],
      ['PATCH', `${ACCOUNTS}/${account.id}`],
    ] as const) {
      expectProblem(await call(key, method, url, method === 'PATCH' ? { name: 'x' } : undefined), 403, {
        code: 'access.role_not_allowed',
      });
    }
  });

  it('answers 401 without credentials and 403 to roles that may not read or change', async () => {
    expectProblem(await call(undefined, 'GET', CUSTOMERS), 401, { code: 'access.missing_credentials' });
    expectProblem(await call(undefined, 'POST', PRODUCTS, {}), 401);
    expectProblem(await call(partner, 'GET', ACCOUNTS), 403, { code: 'access.role_not_allowed' });
    const finance = await api.keyWithRoles(api.a, ['finance']);
    assert.equal((await call(finance, 'GET', PRODUCTS)).statusCode, 200);
    expectProblem(await call(finance, 'PATCH', `${ACCOUNTS}/${account.id}`, { name: 'x' }), 403);
    expectProblem(
      await call(readOnly, 'POST', CUSTOMERS, { name: 'x', engagedParty: { '@referredType': 'Individual' } }),
      403,
    );
    expectProblem(await call(readOnly, 'POST', '/v1/customers/bulk-import', { rows: [{}] }), 403);
  });
});
