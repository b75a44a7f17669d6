/**
 * Every route declares its roles, and the server enforces them: walking the full route table, no
 * credentials give 401 and a key without an allowed role gives 403, so a new route cannot ship
 * unprotected. A route that declares no access at all stops the server from starting.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { ROLES, type Role } from '../access/index.js';
import {
  bearer,
  expectProblem,
  openTestApi,
  pathOf,
  protectedRoutes,
  sampleBody,
  schemaOf,
  type TestApi,
} from '../testing/api.js';
import { installAccessControl, type RouteEntry } from './access.js';
import { sendProblem } from './problem.js';

const NON_ADMIN_ROLES = ROLES.filter((role) => role !== 'admin');

function label(route: RouteEntry): string {
  return `${route.method} ${route.url}`;
}

/** A request to `route` as a valid client would send it (sample id, valid body). */
function requestFor(route: RouteEntry, headers: Record<string, string>) {
  const body = schemaOf(route, 'body');
  return {
    method: route.method as 'GET',
    url: pathOf(route),
    headers,
    ...(body ? { payload: sampleBody(body) } : {}),
  };
}

describe('access control on every route', () => {
  let api: TestApi;
  let routes: RouteEntry[];
  const keys = new Map<Role, string>();

  before(async () => {
    api = await openTestApi();
    routes = protectedRoutes(api.server);
    for (const role of NON_ADMIN_ROLES) keys.set(role, await api.keyWithRoles(api.a, [role]));
  });
  after(() => api.dispose());

  it('the route table holds every route, each with a declared access', () => {
    const table = api.server.routeTable;
    for (const expected of [
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /openapi.json',
      'GET /v1/tenant',
      'PATCH /v1/tenant',
      'POST /v1/api-keys',
      'GET /v1/api-keys/:id',
      'POST /v1/api-keys/:id/revoke',
      'DELETE /v1/webhook-subscriptions/:id',
      'POST /v1/webhook-deliveries/:id/retry',
      'GET /v1/audit',
    ]) {
      assert.ok(
        table.some((route) => label(route) === expected),
        `${expected} is missing from routeTable`,
      );
    }
    for (const route of table) {
      const access = route.access;
      if ('public' in access) {
        assert.ok(access.public.length > 0, `${label(route)} is public without saying why`);
      } else {
        assert.ok(access.roles.length > 0, `${label(route)} allows no role at all`);
        for (const role of access.roles)
          assert.ok(ROLES.includes(role), `${label(route)}: unknown role ${role}`);
      }
    }
    // Only health probes, the API description and its browsable docs are public.
    const publicUrls = table.filter((route) => 'public' in route.access).map((route) => route.url);
    for (const url of publicUrls) {
      assert.ok(
        ['/healthz', '/readyz', '/openapi.json'].includes(url) || url.startsWith('/docs'),
        `${url} is public; only probes and documentation may be`,
      );
    }
    assert.ok(routes.length >= 20, `only ${routes.length} protected routes found`);
  });

  it('every protected route answers 401 without credentials', async () => {
    for (const route of routes) {
      const response = await api.server.inject(requestFor(route, {}));
      expectProblem(response, 401, { code: 'access.missing_credentials' }, label(route));
    }
  });

  it('every protected route answers 401 to an unknown key, a malformed header or a forged token', async () => {
    const unknownKey = `tgk_${'0'.repeat(26)}_${'A'.repeat(43)}`;
    const cases: Array<{ headers: Record<string, string>; code: string }> = [
      { headers: bearer(unknownKey), code: 'access.invalid_credentials' },
      { headers: { 'x-api-key': unknownKey }, code: 'access.invalid_credentials' },
      {
        headers: { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
        code: 'access.invalid_credentials',
      },
      {
        headers: { authorization: `Basic ${Buffer.from(`tollgate:${unknownKey}`).toString('base64')}` },
        code: 'access.invalid_credentials',
      },
      { headers: { authorization: 'Basic %%%' }, code: 'access.invalid_credentials' },
      { headers: bearer('not-a-token'), code: 'access.token_invalid' },
    ];
    for (const route of routes) {
      for (const { headers, code } of cases) {
        const response = await api.server.inject(requestFor(route, headers));
        expectProblem(response, 401, { code }, `${label(route)} with ${JSON.stringify(headers)}`);
      }
    }
  });

  it('every protected route answers 403 to a key whose roles it does not allow', async () => {
    let checked = 0;
    for (const route of routes) {
      const allowed = 'roles' in route.access ? route.access.roles : [];
      const wrong = NON_ADMIN_ROLES.filter((role) => !allowed.includes(role));
      if (wrong.length === 0) {
        // Only a route every role may read has no wrong role; say so explicitly.
        assert.deepEqual([...allowed].sort(), [...ROLES].sort(), `${label(route)} has no wrong role`);
        continue;
      }
      for (const role of wrong) {
        const response = await api.server.inject(requestFor(route, bearer(keys.get(role)!)));
        const problem = expectProblem(
          response,
          403,
          { code: 'access.role_not_allowed' },
          `${label(route)} as ${role}`,
        );
        assert.match(problem.detail, new RegExp(`the caller has ${role}`));
        checked += 1;
      }
    }
    assert.ok(checked > 50, `only ${checked} wrong-role requests were made`);
  });

  it('the declared roles, and admin, get past access control on every protected route', async () => {
    for (const route of routes) {
      const allowed = 'roles' in route.access ? route.access.roles : [];
      const callers: Array<[string, string]> = [
        ['admin', api.a.adminKey],
        ...allowed
          .filter((role) => role !== 'admin')
          .map((role): [string, string] => [role, keys.get(role)!]),
      ];
      for (const [role, key] of callers) {
        const response = await api.server.inject(requestFor(route, bearer(key)));
        assert.ok(
          ![401, 403].includes(response.statusCode) && response.statusCode < 500,
          `${label(route)} as ${role}: ${response.statusCode} ${response.body}`,
        );
      }
    }
  });

  it('X-Api-Key works like a bearer key', async () => {
    const response = await api.server.inject({
      method: 'GET',
      url: '/v1/tenant',
      headers: { 'x-api-key': api.a.adminKey },
    });
    assert.equal(response.statusCode, 200);
    assert.equal((response.json() as { id: string }).id, api.a.id);
  });

  it('HTTP Basic with an API key as the password works like a bearer key (mod_json_cdr can send only that)', async () => {
    const response = await api.server.inject({
      method: 'GET',
      url: '/v1/tenant',
      headers: { authorization: `Basic ${Buffer.from(`tollgate:${api.a.adminKey}`).toString('base64')}` },
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal((response.json() as { id: string }).id, api.a.id);
  });

  it('public routes answer without credentials', async () => {
    for (const url of ['/healthz', '/readyz', '/openapi.json', '/docs']) {
      const response = await api.server.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, `${url}: ${response.statusCode}`);
    }
  });
});

describe('a route without declared access', () => {
  let api: TestApi;
  before(async () => {
    api = await openTestApi();
  });
  after(() => api.dispose());

  function freshServer() {
    const server = Fastify({ logger: false });
    const table = installAccessControl(server, api.app, {
      tokenSecret: undefined,
      publicPrefixes: ['/docs'],
    });
    server.setErrorHandler((error, request, reply) => sendProblem(error, request, reply));
    return { server, table };
  }

  it('stops the server from starting', async () => {
    const { server } = freshServer();
    await assert.rejects(
      async () => {
        await server.register(async (plugin) => {
          plugin.get('/v1/forgotten', async () => ({ leaked: true }));
        });
        await server.ready();
      },
      (error: Error) => {
        assert.match(error.message, /GET \/v1\/forgotten declares no access/);
        assert.match(error.message, /refusing to start/);
        return true;
      },
    );
    await server.close().catch(() => undefined);
  });

  it('also when registered directly on the root instance', async () => {
    const { server } = freshServer();
    await assert.rejects(async () => {
      server.post('/v1/forgotten', async () => ({ leaked: true }));
      await server.ready();
    }, /POST \/v1\/forgotten declares no access/);
    await server.close().catch(() => undefined);
  });

  it('is public under a documentation prefix, and protected routes are listed with their roles', async () => {
    const { server, table } = freshServer();
    server.get('/docs/extra', async () => 'docs');
    server.get('/v1/guarded', { config: { access: { roles: ['finance'] } } }, async () => ({ ok: true }));
    await server.ready();
    assert.deepEqual(
      table.map((route) => ({ method: route.method, url: route.url, access: route.access })),
      [
        { method: 'GET', url: '/docs/extra', access: { public: 'API documentation' } },
        { method: 'GET', url: '/v1/guarded', access: { roles: ['finance'] } },
      ],
    );
    assert.equal((await server.inject({ method: 'GET', url: '/docs/extra' })).statusCode, 200);
    expectProblem(await server.inject({ method: 'GET', url: '/v1/guarded' }), 401, {
      code: 'access.missing_credentials',
    });
    const readOnly = await api.keyWithRoles(api.a, ['read-only']);
    expectProblem(
      await server.inject({ method: 'GET', url: '/v1/guarded', headers: bearer(readOnly) }),
      403,
      {
        code: 'access.role_not_allowed',
      },
    );
    const finance = await api.keyWithRoles(api.a, ['finance']);
    assert.equal(
      (await server.inject({ method: 'GET', url: '/v1/guarded', headers: bearer(finance) })).statusCode,
      200,
    );
    await server.close();
  });
});
