/**
 * Idempotency-Key on every POST, on SQLite and on PostgreSQL: the same key and body return the
 * first response (and change nothing more); the same key with another body is refused with a 422
 * that names the header; concurrent first attempts create exactly one record; a request that
 * failed stores nothing, so a corrected retry with the same key goes through; keys are per tenant.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../testing/databases.js';
import {
  bearer,
  expectProblem,
  openTestApi,
  pathOf,
  sampleBody,
  schemaOf,
  type TestApi,
  type TestTenant,
} from '../testing/api.js';

interface Created {
  key: { id: string; name: string; roles: string[] };
  secret: string;
}

let keyCounter = 0;
/** A fresh Idempotency-Key, unique across the run. */
function freshKey(label: string): string {
  keyCounter += 1;
  return `${label}-${process.pid}-${keyCounter}`;
}

for (const dialect of DIALECTS) {
  describe(`Idempotency-Key [${dialect}]`, () => {
    let api: TestApi;
    before(async () => {
      api = await openTestApi({ dialect });
    });
    after(() => api.dispose());

    function createKey(tenant: TestTenant, idempotencyKey: string | undefined, body: unknown) {
      return api.server.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: {
          ...bearer(tenant.adminKey),
          ...(idempotencyKey !== undefined ? { 'idempotency-key': idempotencyKey } : {}),
        },
        payload: body as object,
      });
    }

    /** The tenant's API keys with this name. */
    async function keysNamed(tenant: TestTenant, name: string): Promise<Array<{ id: string }>> {
      const response = await api.server.inject({
        method: 'GET',
        url: '/v1/api-keys?limit=500',
        headers: bearer(tenant.adminKey),
      });
      assert.equal(response.statusCode, 200);
      return (response.json() as { items: Array<{ id: string; name: string }> }).items.filter(
        (k) => k.name === name,
      );
    }

    async function auditCount(tenant: TestTenant, entityId: string): Promise<number> {
      const response = await api.server.inject({
        method: 'GET',
        url: `/v1/audit?entityId=${entityId}`,
        headers: bearer(tenant.adminKey),
      });
      return (response.json() as { items: unknown[] }).items.length;
    }

    it('the same key and body return the first response, byte for byte, and create one key', async () => {
      const key = freshKey('same');
      const body = { name: `same-${key}`, roles: ['read-only'] };
      const first = await createKey(api.a, key, body);
      assert.equal(first.statusCode, 201, first.body);
      assert.equal(first.headers['idempotent-replayed'], 'false');
      const second = await createKey(api.a, key, body);
      assert.equal(second.statusCode, 201, second.body);
      assert.equal(second.headers['idempotent-replayed'], 'true');
      assert.equal(second.body, first.body);
      assert.match(String(second.headers['content-type']), /^application\/json/);
      const created = first.json() as Created;
      assert.equal(first.headers.location, `/v1/api-keys/${created.key.id}`);
      assert.equal(
        second.headers.location,
        first.headers.location,
        'a replay carries the Location header too',
      );
      assert.match(created.key.id, /^key_/);
      assert.equal((second.json() as Created).key.id, created.key.id);
      // The same JSON with its fields in another order is the same request.
      const reordered = await createKey(api.a, key, { roles: ['read-only'], name: body.name });
      assert.equal(reordered.statusCode, 201);
      assert.equal(reordered.body, first.body);

      assert.deepEqual(
        (await keysNamed(api.a, body.name)).map((k) => k.id),
        [created.key.id],
      );
      assert.equal(await auditCount(api.a, created.key.id), 1, 'one creation is audited');
      // The replayed secret is the real one: it authenticates.
      const tenant = await api.server.inject({
        method: 'GET',
        url: '/v1/tenant',
        headers: bearer(created.secret),
      });
      assert.equal(tenant.statusCode, 200);
    });

    it('the same key with a different body is refused with a 422 naming Idempotency-Key', async () => {
      const key = freshKey('diff');
      const first = await createKey(api.a, key, { name: `diff-${key}`, roles: ['read-only'] });
      assert.equal(first.statusCode, 201);
      const other = await createKey(api.a, key, { name: `diff-${key}`, roles: ['finance'] });
      const problem = expectProblem(other, 422, { code: 'idempotency.key_reused', field: 'Idempotency-Key' });
      assert.match(problem.detail, /Idempotency-Key/);
      assert.match(problem.detail, /different body/);
      assert.match(problem.detail, /POST \/v1\/api-keys/);
      // Nothing more was created, and the first response still replays.
      assert.equal((await keysNamed(api.a, `diff-${key}`)).length, 1);
      const again = await createKey(api.a, key, { name: `diff-${key}`, roles: ['read-only'] });
      assert.equal(again.body, first.body);
    });

    it('the same key on another route is refused too', async () => {
      const key = freshKey('route');
      assert.equal(
        (await createKey(api.a, key, { name: `route-${key}`, roles: ['read-only'] })).statusCode,
        201,
      );
      const subscription = await api.server.inject({
        method: 'POST',
        url: '/v1/webhook-subscriptions',
        headers: { ...bearer(api.a.adminKey), 'idempotency-key': key },
        payload: { url: 'http://127.0.0.1:9/hook' },
      });
      expectProblem(subscription, 422, { code: 'idempotency.key_reused', field: 'Idempotency-Key' });
    });

    it('five concurrent requests with one key create exactly one key and all get its response', async () => {
      const key = freshKey('race');
      const body = { name: `race-${key}`, roles: ['read-only'] };
      const responses = await Promise.all(Array.from({ length: 5 }, () => createKey(api.a, key, body)));
      for (const response of responses) assert.equal(response.statusCode, 201, response.body);
      const ids = new Set(responses.map((r) => (r.json() as Created).key.id));
      assert.equal(ids.size, 1, `several keys were created: ${[...ids].join(', ')}`);
      assert.deepEqual(responses.map((r) => r.headers['idempotent-replayed']).sort(), [
        'false',
        'true',
        'true',
        'true',
        'true',
      ]);
      const bodies = new Set(responses.map((r) => r.body));
      assert.equal(bodies.size, 1);
      assert.deepEqual(
        (await keysNamed(api.a, body.name)).map((k) => k.id),
        [...ids],
      );
      assert.equal(await auditCount(api.a, [...ids][0]!), 1, 'the losers rolled back their audit records');
    });

    it('a request refused by validation stores nothing: a corrected retry with the same key succeeds', async () => {
      const key = freshKey('invalid');
      const name = `invalid-${key}`;
      // Refused by the schema, before the use case runs.
      expectProblem(await createKey(api.a, key, { name, roles: ['wizard'] }), 400, {
        field: '/body/roles/0',
      });
      // Refused by the use case itself, inside the idempotent transaction.
      const subscriber = await createKey(api.a, key, { name, roles: ['subscriber'] });
      expectProblem(subscriber, 400, { code: 'access.invalid_role', field: 'accountId' });
      assert.equal((await keysNamed(api.a, name)).length, 0);

      const corrected = await createKey(api.a, key, { name, roles: ['read-only'] });
      assert.equal(corrected.statusCode, 201, corrected.body);
      assert.equal(corrected.headers['idempotent-replayed'], 'false');
      const replay = await createKey(api.a, key, { name, roles: ['read-only'] });
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.equal(replay.body, corrected.body);
      assert.equal((await keysNamed(api.a, name)).length, 1);
    });

    it('keys are per tenant: tenant B may use the same key string for its own request', async () => {
      const key = freshKey('tenant');
      const body = { name: `tenant-${key}`, roles: ['read-only'] };
      const inA = await createKey(api.a, key, body);
      const inB = await createKey(api.b, key, body);
      assert.equal(inA.statusCode, 201);
      assert.equal(inB.statusCode, 201);
      assert.equal(inB.headers['idempotent-replayed'], 'false', "B got A's stored response");
      const idA = (inA.json() as Created).key.id;
      const idB = (inB.json() as Created).key.id;
      assert.notEqual(idA, idB);
      assert.deepEqual(
        (await keysNamed(api.a, body.name)).map((k) => k.id),
        [idA],
      );
      assert.deepEqual(
        (await keysNamed(api.b, body.name)).map((k) => k.id),
        [idB],
      );
      // Each tenant's replay is its own; a different body under the same key is refused per tenant.
      assert.equal((await createKey(api.b, key, body)).body, inB.body);
      assert.equal((await createKey(api.a, key, body)).body, inA.body);
      expectProblem(await createKey(api.b, key, { ...body, roles: ['finance'] }), 422, {
        code: 'idempotency.key_reused',
      });
    });

    it('without the header, the same body twice creates two keys', async () => {
      const body = { name: `no-header-${freshKey('none')}`, roles: ['read-only'] };
      const first = await createKey(api.a, undefined, body);
      const second = await createKey(api.a, undefined, body);
      assert.equal(first.statusCode, 201);
      assert.equal(second.statusCode, 201);
      assert.equal(first.headers['idempotent-replayed'], undefined);
      assert.equal((await keysNamed(api.a, body.name)).length, 2);
    });

    it('an action replays too: revoking with the same key answers the first response', async () => {
      const created = (
        await createKey(api.a, undefined, { name: 'to revoke', roles: ['read-only'] })
      ).json() as Created;
      const key = freshKey('revoke');
      const revoke = () =>
        api.server.inject({
          method: 'POST',
          url: `/v1/api-keys/${created.key.id}/revoke`,
          headers: { ...bearer(api.a.adminKey), 'idempotency-key': key },
        });
      const first = await revoke();
      assert.equal(first.statusCode, 200, first.body);
      assert.equal((first.json() as { status: string }).status, 'revoked');
      const second = await revoke();
      assert.equal(second.headers['idempotent-replayed'], 'true');
      assert.equal(second.body, first.body);
    });

    it('every POST route checks the Idempotency-Key it is given', async () => {
      const posts = api.server.routeTable.filter(
        (route) => route.method === 'POST' && 'roles' in route.access,
      );
      assert.ok(posts.length >= 5, `only ${posts.length} POST routes`);
      for (const route of posts) {
        const body = schemaOf(route, 'body');
        for (const bad of ['x'.repeat(256), 'has space', 'tab\there']) {
          const response = await api.server.inject({
            method: 'POST',
            url: pathOf(route),
            headers: { ...bearer(api.a.adminKey), 'idempotency-key': bad },
            ...(body ? { payload: sampleBody(body) } : {}),
          });
          expectProblem(
            response,
            400,
            { code: 'idempotency.invalid_key', field: 'Idempotency-Key' },
            `${route.url} with Idempotency-Key ${JSON.stringify(bad.slice(0, 20))}`,
          );
        }
      }
    });
  });
}
