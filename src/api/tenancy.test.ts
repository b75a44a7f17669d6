/**
 * Tenancy, route by route: tenant B's admin key can neither read nor change tenant A's data.
 *
 * Tenant A and tenant B each get one record of every kind that has an id (API key, webhook
 * subscription, domain event, webhook delivery). Then every `:id` route in the route table is
 * called with B's key and A's id: always 404, and A's data is unchanged afterwards. Every list
 * route shows B none of A's ids. A new `:id` route taking an id kind this test does not create
 * fails the test, so it cannot be skipped silently.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { DIALECTS, postgresServerUrl } from '../testing/databases.js';
import {
  bearer,
  expectProblem,
  idPrefixOf,
  openTestApi,
  pathOf,
  protectedRoutes,
  sampleBody,
  schemaOf,
  type TestApi,
  type TestTenant,
} from '../testing/api.js';
import { seedTestCatalog } from '../testing/catalog.js';
import { WebhookDispatcher } from '../events/index.js';
import type { RouteEntry } from './access.js';

/** Ids of the records one tenant owns, by id prefix. */
type Owned = Record<string, string[]>;

interface Page {
  items: Array<Record<string, unknown> & { id: string }>;
}

/** A port on 127.0.0.1 that nothing listens on: webhook deliveries to it fail at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * The usage routes need a rated catalog, sources and usage to say anything; src/api/usage.test.ts
 * seeds the demo operator and checks their tenancy (404s by id, empty lists, no cross-tenant
 * changes) on every one of them, so this walk leaves them out.
 */
function coveredByUsageTest(route: RouteEntry): boolean {
  return (
    route.url.startsWith('/v1/usage/') ||
    route.url.startsWith('/tmf-api/usageManagement/') ||
    // Prepaid balances, vouchers and reservations: src/api/charging-tenancy.test.ts walks every
    // one of these routes the same way (404s on each of A's ids, lists and filters without A's
    // records, creating routes naming A's records refused, A's data compared before and after),
    // with the balances, vouchers and reservations this suite's generic sample bodies cannot make.
    route.url.startsWith('/v1/charging/') ||
    route.url.startsWith('/tmf-api/prepayBalanceManagement/')
  );
}

function label(route: RouteEntry): string {
  return `${route.method} ${route.url}`;
}

// Embedded PostgreSQL (PGlite) takes about ten seconds to start, so the PostgreSQL variant of this
// suite runs when a server is given (TEST_DATABASE_URL, as in CI); idempotency.test.ts always runs both.
const dialects = postgresServerUrl() ? DIALECTS : DIALECTS.filter((dialect) => dialect === 'sqlite');

for (const dialect of dialects) {
  describe(`tenancy: tenant B cannot reach tenant A's data [${dialect}]`, () => {
    let api: TestApi;
    const owned: { a: Owned; b: Owned } = { a: {}, b: {} };
    /** Every id of tenant A, its tenant id and its audit record ids included. */
    let idsOfA: string[] = [];
    let snapshotBefore: unknown;

    async function call(key: string, method: string, url: string, payload?: unknown) {
      return api.server.inject({
        method: method as 'GET',
        url,
        headers: bearer(key),
        ...(payload !== undefined ? { payload: payload as object } : {}),
      });
    }

    async function list(key: string, url: string): Promise<Page['items']> {
      const response = await call(key, 'GET', url);
      assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
      return (response.json() as Page).items;
    }

    /** Everything tenant A can see of itself, for a before/after comparison. */
    async function snapshotOfA() {
      const key = api.a.adminKey;
      const deliveries = await list(key, '/v1/webhook-deliveries?limit=500');
      const deliveryDetails = [];
      for (const delivery of deliveries) {
        deliveryDetails.push(
          (await call(key, 'GET', `/v1/webhook-deliveries/${delivery.id}`)).json() as unknown,
        );
      }
      return {
        tenant: (await call(key, 'GET', '/v1/tenant')).json() as unknown,
        // lastUsedAt moves when A itself uses a key; nothing else about a key may change.
        keys: (await list(key, '/v1/api-keys?limit=500')).map(({ lastUsedAt: _lastUsedAt, ...rest }) => rest),
        subscriptions: await list(key, '/v1/webhook-subscriptions?limit=500'),
        deliveries: deliveryDetails,
        events: await list(key, '/v1/events?limit=500'),
        audit: await list(key, '/v1/audit?limit=1000'),
      };
    }

    /** One record of each catalog kind; none used by another, so each can also be deleted. */
    async function seedCatalog(tenant: TestTenant, into: Owned): Promise<void> {
      const tmf = '/tmf-api/productCatalogManagement/v4';
      const create = async (url: string, payload: unknown) => {
        const response = await call(tenant.adminKey, 'POST', url, payload);
        assert.equal(response.statusCode, 201, `${url}: ${response.body}`);
        return (response.json() as { id: string }).id;
      };
      into.prd = [await create(`${tmf}/productSpecification`, { name: 'Data', serviceType: 'data' })];
      into.pop = [
        await create(`${tmf}/productOfferingPrice`, {
          name: 'Fee',
          priceType: 'recurring',
          price: { unit: 'EUR', value: '5.00' },
        }),
      ];
      into.ofr = [await create(`${tmf}/productOffering`, { name: 'Offering' })];
      const currency = (
        (await call(tenant.adminKey, 'GET', `${tmf}/productOffering/${into.ofr[0]}`)).json() as {
          currencies: string[];
        }
      ).currencies[0]!;
      into.ofv = [
        await create(`/v1/offers/${into.ofr[0]}/versions`, {
          effectiveFrom: '2030-01-01T00:00:00Z',
          draft: true,
          prices: [
            { code: 'fee', kind: 'one-time', reason: 'other', amounts: [{ amount: '1.00', currency }] },
          ],
        }),
      ];
      into.ctg = [
        await create(`${tmf}/category`, { name: 'Category', productOffering: [{ id: into.ofr[0] }] }),
      ];
      into.cat = [await create(`${tmf}/catalog`, { name: 'Catalog', category: [{ id: into.ctg[0] }] })];
      const definition = {
        timeZone: 'UTC',
        currencies: ['EUR'],
        zones: [],
        prefixTables: [],
        data: [{ currency: 'EUR', blockBytes: 1000, pricing: { mode: 'flat', unitPrice: '0.00001' } }],
      };
      into.trf = [
        await create('/v1/tariffs', {
          code: 'DATA',
          name: 'Data',
          versions: [{ effectiveFrom: '2026-01-01T00:00:00Z', definition }],
        }),
      ];
      into.trv = [
        await create(`/v1/tariffs/${into.trf[0]}/versions`, {
          effectiveFrom: '2030-01-01T00:00:00Z',
          draft: true,
        }),
      ];
    }

    /** A customer, its billing account and a subscription with an MSISDN (cust_, acct_, sub_ ids). */
    async function seedCustomers(tenant: TestTenant, into: Owned): Promise<void> {
      const create = async (url: string, payload: unknown) => {
        const response = await call(tenant.adminKey, 'POST', url, payload);
        assert.equal(response.statusCode, 201, `${url}: ${response.body}`);
        return (response.json() as { id: string }).id;
      };
      into.cust = [
        await create('/tmf-api/customerManagement/v4/customer', {
          name: 'Customer',
          engagedParty: { '@referredType': 'Individual' },
        }),
      ];
      into.acct = [
        await create('/tmf-api/accountManagement/v4/billingAccount', {
          name: 'Account',
          relatedParty: [{ id: into.cust[0] }],
        }),
      ];
      into.sub = [
        await create('/tmf-api/productInventory/v4/product', {
          productOffering: { name: 'MOBILE-M' },
          billingAccount: { id: into.acct[0] },
          realizingResource: [{ '@referredType': 'MSISDN', value: '+447700900001' }],
        }),
      ];
    }

    /** Creating routes whose sample body would name records that do not exist get a valid one. */
    function validBody(route: RouteEntry, into: Owned): unknown {
      if (route.url === '/tmf-api/accountManagement/v4/billingAccount') {
        return { name: 'More', relatedParty: [{ id: into.cust![0] }] };
      }
      if (route.url === '/tmf-api/productInventory/v4/product') {
        return { productOffering: { name: 'MOBILE-S' }, billingAccount: { id: into.acct![0] } };
      }
      return undefined;
    }

    async function seed(tenant: TestTenant, into: Owned, port: number): Promise<void> {
      const key = await call(tenant.adminKey, 'POST', '/v1/api-keys', {
        name: 'extra',
        roles: ['read-only'],
      });
      assert.equal(key.statusCode, 201, key.body);
      const subscription = await call(tenant.adminKey, 'POST', '/v1/webhook-subscriptions', {
        url: `http://127.0.0.1:${port}/hook`,
        eventTypes: ['*'],
        description: `unreachable receiver of ${tenant.slug}`,
      });
      assert.equal(subscription.statusCode, 201, subscription.body);
      // A change after the subscription exists, so fan-out gives it a delivery.
      const renamed = await call(tenant.adminKey, 'PATCH', '/v1/tenant', { name: `${tenant.slug} renamed` });
      assert.equal(renamed.statusCode, 200, renamed.body);
      into.key = [(key.json() as { key: { id: string } }).key.id, tenant.adminKeyId];
      into.whs = [(subscription.json() as { subscription: { id: string } }).subscription.id];
      // The offers subscriptions take, applied first: applying a catalog retires what it does not name.
      await seedTestCatalog(api.app, { tenantId: tenant.id, actor: { type: 'system', id: 'test' } });
      await seedCatalog(tenant, into);
      await seedCustomers(tenant, into);
    }

    before(async () => {
      api = await openTestApi({ dialect });
      const port = await closedPort();
      await seed(api.a, owned.a, port);
      await seed(api.b, owned.b, port);
      const dispatcher = new WebhookDispatcher({
        database: api.app.database,
        clock: api.app.clock,
        timeoutMs: 2000,
        backoff: { maxAttempts: 1 },
        concurrency: 1,
      });
      const report = await dispatcher.runOnce();
      assert.ok(report.createdDeliveries >= 2, `fan-out made ${report.createdDeliveries} deliveries`);
      assert.equal(report.failed, report.createdDeliveries, 'every delivery failed at its only attempt');
      for (const [tenant, into] of [
        [api.a, owned.a],
        [api.b, owned.b],
      ] as const) {
        const deliveries = await list(tenant.adminKey, '/v1/webhook-deliveries');
        assert.ok(deliveries.length > 0, `${tenant.slug} has no delivery`);
        assert.equal(deliveries[0]!.status, 'failed', 'the unreachable receiver fails the delivery');
        into.whd = deliveries.map((d) => d.id);
        const events = await list(tenant.adminKey, '/v1/events');
        assert.ok(events.length >= 3, `${tenant.slug} has ${events.length} events`);
        into.evt = events.map((e) => e.id);
      }
      const auditOfA = await list(api.a.adminKey, '/v1/audit?limit=1000');
      idsOfA = [api.a.id, ...Object.values(owned.a).flat(), ...auditOfA.map((r) => r.id)];
      snapshotBefore = await snapshotOfA();
    });
    after(() => api.dispose());

    it('every :id route answers 404 to B for each of A’s ids, whatever the method', async () => {
      const unknownKinds: string[] = [];
      let checked = 0;
      for (const route of protectedRoutes(api.server)) {
        if (coveredByUsageTest(route)) continue;
        const prefix = idPrefixOf(route);
        if (prefix === undefined) continue;
        const ids = owned.a[prefix];
        if (!ids) {
          unknownKinds.push(`${label(route)} takes ${prefix}_ ids`);
          continue;
        }
        const body = schemaOf(route, 'body');
        for (const id of ids) {
          const response = await call(
            api.b.adminKey,
            route.method,
            pathOf(route, id),
            body && sampleBody(body),
          );
          const problem = expectProblem(response, 404, {}, `${label(route)} by B on A's ${id}`);
          assert.ok(
            problem.detail.includes(id),
            `${label(route)}: the detail names the id: ${problem.detail}`,
          );
          checked += 1;
        }
      }
      assert.deepEqual(
        unknownKinds,
        [],
        'routes take ids of a kind this test does not create: create one in seed() so tenancy covers them',
      );
      assert.ok(checked >= 13, `only ${checked} cross-tenant requests were made`);
    });

    it('every list route shows B none of A’s ids, and B’s own records', async () => {
      let checked = 0;
      for (const route of protectedRoutes(api.server)) {
        if (route.method !== 'GET' || route.url.includes(':id') || coveredByUsageTest(route)) continue;
        const response = await call(api.b.adminKey, 'GET', pathOf(route));
        assert.equal(response.statusCode, 200, `${label(route)}: ${response.body}`);
        for (const id of idsOfA) {
          assert.ok(!response.body.includes(id), `${label(route)} shows B tenant A's ${id}`);
        }
        if (schemaOf(route, 'querystring')?.properties?.limit) {
          const json = response.json() as Page | Page['items'];
          const items = Array.isArray(json) ? json : json.items; // TMF lists are arrays
          assert.ok(items.length > 0, `${label(route)}: B sees none of its own records either`);
        }
        checked += 1;
      }
      assert.ok(checked >= 7, `only ${checked} list routes`);
    });

    it('filters naming A’s records find nothing for B', async () => {
      const [keyOfA] = owned.a.key!;
      const [subscriptionOfA] = owned.a.whs!;
      const [deliveryOfA] = await list(api.a.adminKey, '/v1/webhook-deliveries');
      const eventOfA = String(deliveryOfA!.eventId);
      // The filters find A's records for A, so B's empty answers below mean something.
      assert.ok((await list(api.a.adminKey, `/v1/audit?entityId=${keyOfA}`)).length > 0);
      assert.ok((await list(api.a.adminKey, `/v1/audit?actorId=${api.a.adminKeyId}`)).length > 0);
      assert.ok((await list(api.a.adminKey, `/v1/webhook-deliveries?eventId=${eventOfA}`)).length > 0);
      assert.ok(
        (await list(api.a.adminKey, `/v1/webhook-deliveries?subscriptionId=${subscriptionOfA}`)).length > 0,
      );

      assert.deepEqual(await list(api.b.adminKey, `/v1/audit?entityId=${keyOfA}`), []);
      assert.deepEqual(await list(api.b.adminKey, `/v1/audit?actorId=${api.a.adminKeyId}`), []);
      assert.deepEqual(await list(api.b.adminKey, `/v1/webhook-deliveries?eventId=${eventOfA}`), []);
      expectProblem(
        await call(api.b.adminKey, 'GET', `/v1/webhook-deliveries?subscriptionId=${subscriptionOfA}`),
        404,
      );
    });

    it('/v1/tenant answers B with B', async () => {
      const response = await call(api.b.adminKey, 'GET', '/v1/tenant');
      assert.equal(response.statusCode, 200);
      const tenant = response.json() as { id: string; slug: string; name: string };
      assert.equal(tenant.id, api.b.id);
      assert.equal(tenant.slug, api.b.slug);
      assert.equal(tenant.name, `${api.b.slug} renamed`);
    });

    it('the audit trail of B holds only B’s entities', async () => {
      const records = await list(api.b.adminKey, '/v1/audit?limit=1000');
      assert.ok(records.length >= 4, `B has ${records.length} audit records`);
      const idsOfB = new Set([api.b.id, ...Object.values(owned.b).flat()]);
      for (const record of records) {
        assert.ok(
          !idsOfA.includes(String(record.entityId)),
          `B's audit shows A's ${String(record.entityId)}`,
        );
        assert.ok(
          idsOfB.has(String(record.entityId)),
          `B's audit shows an entity not of B: ${String(record.entityId)}`,
        );
      }
      const verification = await call(api.b.adminKey, 'GET', '/v1/audit/verification');
      assert.equal(verification.statusCode, 200);
      assert.deepEqual(verification.json(), { ok: true, records: records.length, problems: [] });
    });

    it('B’s changes without an id (create, update its tenant) land in B only', async () => {
      for (const route of protectedRoutes(api.server)) {
        if (route.method === 'GET' || route.url.includes(':id') || coveredByUsageTest(route)) continue;
        const body = schemaOf(route, 'body');
        const payload = validBody(route, owned.b) ?? (body && sampleBody(body));
        const response = await call(api.b.adminKey, route.method, pathOf(route), payload);
        assert.ok(response.statusCode < 300, `${label(route)} by B: ${response.statusCode} ${response.body}`);
      }
    });

    it('the same :id routes do work for B on B’s own records (the 404s above are tenancy)', async () => {
      // A correction needs a version that has started (trv_ is a draft of 2030) and a valid definition.
      const correctStartedVersion = async () => {
        const versions = (
          await call(api.b.adminKey, 'GET', `/v1/tariffs/${owned.b.trf![0]}/versions`)
        ).json() as { items: Array<{ id: string; status: string; effectiveFrom: string }> };
        const started = versions.items.find((v) => v.status === 'published' && v.effectiveFrom < '2027')!;
        const stored = (await call(api.b.adminKey, 'GET', `/v1/tariff-versions/${started.id}`)).json() as {
          definition: unknown;
        };
        return call(api.b.adminKey, 'POST', `/v1/tariff-versions/${started.id}/correct`, {
          definition: stored.definition,
          reason: 'tenancy check',
        });
      };
      // Destructive routes last, so B's records still exist for the others.
      const routes = protectedRoutes(api.server)
        .filter((route) => idPrefixOf(route) !== undefined && !coveredByUsageTest(route))
        .sort((x, y) => Number(x.method === 'DELETE') - Number(y.method === 'DELETE'));
      for (const route of routes) {
        // B's first key is its extra read-only key: revoking it leaves B's admin key working.
        const id = owned.b[idPrefixOf(route)!]![0]!;
        const body = schemaOf(route, 'body');
        const response = route.url.endsWith('/rate-deck')
          ? await api.server.inject({
              method: 'POST',
              url: `${pathOf(route, id)}?effectiveFrom=2029-01-01T00:00:00Z`,
              headers: { ...bearer(api.b.adminKey), 'content-type': 'text/csv' },
              payload:
                'prefix,description,rate,connect_fee,increments,currency,effective_date\n4930,Berlin,0.01,0,60/60,EUR,2026-01-01\n',
            })
          : route.url.endsWith('/correct')
            ? await correctStartedVersion()
            : await call(api.b.adminKey, route.method, pathOf(route, id), body && sampleBody(body));
        assert.ok(
          response.statusCode < 300,
          `${label(route)} by B on its own ${id}: ${response.statusCode} ${response.body}`,
        );
      }
    });

    it('after all of B’s requests, A’s data is exactly as before', async () => {
      assert.deepEqual(await snapshotOfA(), snapshotBefore);
      const audit = await list(api.a.adminKey, '/v1/audit?limit=1000');
      for (const record of audit) assert.notEqual(record.actorId, api.b.adminKeyId, 'B acted in A');
      // A's extra key still authenticates: B could not revoke it.
      const extraOfA = (await list(api.a.adminKey, '/v1/api-keys')).find((k) => k.id === owned.a.key![0]);
      assert.equal(extraOfA?.status, 'active');
    });
  });
}
