/**
 * The server as a whole: the OpenAPI description documents every protected route with its
 * security, docs/health/readiness/metrics answer, every response carries a request id, secrets
 * never reach the logs, signed bearer tokens work and fail as they should, and a revoked key
 * stops working at once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { signToken, type Role, type TokenClaims } from '../access/index.js';
import {
  TEST_TOKEN_SECRET,
  bearer,
  expectProblem,
  openTestApi,
  protectedRoutes,
  type TestApi,
} from '../testing/api.js';

interface OpenApiOperation {
  security?: unknown;
  description?: string;
  parameters?: Array<{ in: string; name: string; schema?: { pattern?: string; 'x-id-kind'?: string } }>;
  responses?: Record<string, unknown>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  components: { securitySchemes: Record<string, unknown> };
  paths: Record<string, Record<string, OpenApiOperation>>;
}

const REQUEST_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;

function keyIdOf(secret: string): string {
  return `key_${secret.slice('tgk_'.length, 'tgk_'.length + 26)}`;
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

function claims(overrides: Partial<TokenClaims> & { tid: string }): TokenClaims {
  return { sub: 'user-1', roles: ['read-only'], iat: nowSec() - 5, exp: nowSec() + 300, ...overrides };
}

describe('the API server', () => {
  let api: TestApi;
  before(async () => {
    api = await openTestApi();
  });
  after(() => api.dispose());

  describe('OpenAPI description and docs', () => {
    let doc: OpenApiDocument;
    before(async () => {
      const response = await api.server.inject({ method: 'GET', url: '/openapi.json' });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^application\/json/);
      doc = response.json() as OpenApiDocument;
    });

    it('is OpenAPI 3.1.0 with both security schemes', () => {
      assert.equal(doc.openapi, '3.1.0');
      assert.equal(doc.info.title, 'Tollgate API');
      assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKey', 'bearer']);
      assert.deepEqual(doc.components.securitySchemes.bearer, {
        type: 'http',
        scheme: 'bearer',
        description: 'An API key (tgk_...) or a signed token',
      });
    });

    it('documents every protected route with its security and roles', () => {
      const routes = protectedRoutes(api.server);
      assert.ok(routes.length >= 20);
      for (const route of routes) {
        const path = route.url.replace(/:(\w+)/g, '{$1}');
        const operation = doc.paths[path]?.[route.method.toLowerCase()];
        const label = `${route.method} ${route.url}`;
        assert.ok(operation, `${label} is missing from /openapi.json`);
        assert.deepEqual(operation.security, [{ bearer: [] }, { apiKey: [] }], `${label} security`);
        const roles = 'roles' in route.access ? route.access.roles : [];
        assert.match(operation.description ?? '', /Roles: admin/, `${label} names its roles`);
        for (const role of roles) assert.ok(operation.description!.includes(role), `${label} omits ${role}`);
        if (route.url.includes(':id')) {
          const id = operation.parameters?.find((p) => p.in === 'path' && p.name === 'id');
          // Prefixed ids (key_...), or ids of a declared kind without prefix (64-bit decimal, names).
          if (id?.schema?.['x-id-kind'] === undefined)
            assert.match(id?.schema?.pattern ?? '', /^\^[a-z]+_/, `${label} documents the id format`);
          else assert.ok(id.schema.pattern, `${label} documents the id format`);
        }
        if (route.method === 'POST') {
          assert.ok(
            operation.parameters?.some((p) => p.in === 'header' && p.name === 'idempotency-key'),
            `${label} does not document Idempotency-Key`,
          );
        }
      }
    });

    it('documents nothing that is not a route, and leaves probes without security', () => {
      const documented = Object.entries(doc.paths).flatMap(([path, operations]) =>
        Object.keys(operations).map(
          (method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`,
        ),
      );
      const routes = new Set(api.server.routeTable.map((route) => `${route.method} ${route.url}`));
      for (const entry of documented) assert.ok(routes.has(entry), `${entry} is documented but not served`);
      assert.equal(doc.paths['/healthz']?.get?.security, undefined);
      assert.equal(doc.paths['/readyz']?.get?.security, undefined);
      assert.equal(doc.paths['/openapi.json'], undefined, 'the description describes the API, not itself');
    });

    it('/docs serves the browsable reference as HTML', async () => {
      const response = await api.server.inject({ method: 'GET', url: '/docs' });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^text\/html/);
      assert.match(response.body, /<html/i);
      assert.match(response.body, /swagger-ui/i);
    });
  });

  describe('health, readiness and metrics', () => {
    it('/healthz and /readyz answer 200 without credentials', async () => {
      const health = await api.server.inject({ method: 'GET', url: '/healthz' });
      assert.equal(health.statusCode, 200);
      assert.deepEqual(health.json(), { status: 'ok' });
      const ready = await api.server.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(ready.json(), { status: 'ready', database: 'sqlite', pendingMigrations: 0 });
    });

    it('/metrics needs a key and counts requests by route pattern, not by raw URL', async () => {
      expectProblem(await api.server.inject({ method: 'GET', url: '/metrics' }), 401, {
        code: 'access.missing_credentials',
      });
      const missing = 'key_01ARZ3NDEKTSV4RRFFQ69G5FAV';
      const notFound = await api.server.inject({
        method: 'GET',
        url: `/v1/api-keys/${missing}`,
        headers: bearer(api.a.adminKey),
      });
      assert.equal(notFound.statusCode, 404);
      await api.server.inject({ method: 'GET', url: '/healthz' });

      const readOnly = await api.keyWithRoles(api.a, ['read-only']);
      const response = await api.server.inject({ method: 'GET', url: '/metrics', headers: bearer(readOnly) });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const text = response.body;
      assert.match(text, /^# TYPE tollgate_http_requests_total counter$/m);
      assert.match(
        text,
        /^tollgate_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]\d*$/m,
      );
      assert.match(
        text,
        /^tollgate_http_requests_total\{method="GET",route="\/v1\/api-keys\/:id",status="404"\} [1-9]\d*$/m,
      );
      assert.match(text, /^tollgate_http_request_duration_seconds_bucket\{/m);
      assert.ok(!text.includes(missing), 'a raw id became a metric label');
    });
  });

  describe('request ids', () => {
    it('every response carries its own x-request-id, also in problem documents', async () => {
      const key = bearer(api.a.adminKey);
      const requests = [
        { method: 'GET', url: '/healthz' },
        { method: 'GET', url: '/v1/tenant', headers: key },
        { method: 'GET', url: '/v1/tenant' },
        { method: 'GET', url: '/v1/api-keys', headers: bearer(await api.keyWithRoles(api.a, ['finance'])) },
        { method: 'GET', url: '/v1/nope', headers: key },
        { method: 'GET', url: '/v1/api-keys?limit=0', headers: key },
        { method: 'GET', url: '/v1/api-keys/%', headers: key },
        {
          method: 'POST',
          url: '/v1/api-keys',
          headers: { ...key, 'content-type': 'text/plain' },
          payload: 'x',
        },
      ] as const;
      const seen = new Set<string>();
      for (const request of requests) {
        const response = await api.server.inject(request);
        const id = String(response.headers['x-request-id']);
        assert.match(id, REQUEST_ID, `${request.method} ${request.url} (${response.statusCode})`);
        seen.add(id);
        if (response.statusCode >= 400) {
          assert.equal((response.json() as { requestId: string }).requestId, id);
        }
      }
      assert.equal(seen.size, requests.length, 'request ids repeat');
    });

    it('a sane X-Request-Id from the caller is echoed; an unsafe one is replaced', async () => {
      for (const url of ['/healthz', '/v1/tenant', '/v1/nope', '/v1/api-keys/%']) {
        const response = await api.server.inject({
          method: 'GET',
          url,
          headers: { ...bearer(api.a.adminKey), 'x-request-id': 'trace-abc.123:x' },
        });
        assert.equal(response.headers['x-request-id'], 'trace-abc.123:x', url);
      }
      for (const unsafe of ['has spaces', 'x'.repeat(101), '<script>', 'new\u00e9']) {
        const response = await api.server.inject({
          method: 'GET',
          url: '/healthz',
          headers: { 'x-request-id': unsafe },
        });
        assert.match(String(response.headers['x-request-id']), REQUEST_ID, JSON.stringify(unsafe));
      }
    });
  });

  describe('bearer tokens', () => {
    function get(url: string, token: string) {
      return api.server.inject({ method: 'GET', url, headers: bearer(token) });
    }

    it('a valid token acts in its tenant with its roles', async () => {
      const token = signToken(claims({ tid: api.a.id }), TEST_TOKEN_SECRET);
      const tenant = await get('/v1/tenant', token);
      assert.equal(tenant.statusCode, 200);
      assert.equal((tenant.json() as { id: string }).id, api.a.id);
      assert.equal((await get('/v1/webhook-subscriptions', token)).statusCode, 200);
      expectProblem(await get('/v1/api-keys', token), 403, { code: 'access.role_not_allowed' });
      const inB = signToken(claims({ tid: api.b.id }), TEST_TOKEN_SECRET);
      assert.equal(((await get('/v1/tenant', inB)).json() as { id: string }).id, api.b.id);
    });

    it('changes made with a token are attributed to its subject', async () => {
      const token = signToken(
        claims({ tid: api.a.id, sub: 'alice@example.com', roles: ['admin'] }),
        TEST_TOKEN_SECRET,
      );
      const response = await api.server.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: bearer(token),
        payload: { name: 'made by a token', roles: ['read-only'] },
      });
      assert.equal(response.statusCode, 201, response.body);
      assert.equal(
        (response.json() as { key: { createdBy: string } }).key.createdBy,
        'token:alice@example.com',
      );
    });

    it('an expired, tampered, foreign or unsigned token gets 401', async () => {
      const valid = signToken(claims({ tid: api.a.id }), TEST_TOKEN_SECRET);
      const [header, , signature] = valid.split('.');
      const escalated = Buffer.from(JSON.stringify(claims({ tid: api.a.id, roles: ['admin'] }))).toString(
        'base64url',
      );
      const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${escalated}.`;
      const cases: Array<[string, string, string]> = [
        [
          'expired',
          signToken(claims({ tid: api.a.id, exp: nowSec() - 1 }), TEST_TOKEN_SECRET),
          'access.token_expired',
        ],
        ['tampered payload', `${header}.${escalated}.${signature}`, 'access.token_invalid'],
        [
          'tampered signature',
          `${valid.slice(0, -2)}${valid.endsWith('AA') ? 'BB' : 'AA'}`,
          'access.token_invalid',
        ],
        [
          'signed with another secret',
          signToken(claims({ tid: api.a.id }), `${TEST_TOKEN_SECRET}-other`),
          'access.token_invalid',
        ],
        ['alg none', unsigned, 'access.token_invalid'],
        [
          'unknown tenant',
          signToken(claims({ tid: 'ten_01ARZ3NDEKTSV4RRFFQ69G5FAV' }), TEST_TOKEN_SECRET),
          'access.token_invalid',
        ],
        [
          'unknown role',
          signToken(claims({ tid: api.a.id, roles: ['wizard' as Role] }), TEST_TOKEN_SECRET),
          'access.token_invalid',
        ],
        [
          'subscriber without acct',
          signToken(claims({ tid: api.a.id, roles: ['subscriber'] }), TEST_TOKEN_SECRET),
          'access.token_invalid',
        ],
      ];
      for (const [name, token, code] of cases) {
        const problem = expectProblem(await get('/v1/tenant', token), 401, { code }, name);
        if (name === 'subscriber without acct') assert.match(problem.detail, /acct/);
      }
      const subscriber = signToken(
        claims({ tid: api.a.id, roles: ['subscriber'], acct: 'acct_1' }),
        TEST_TOKEN_SECRET,
      );
      assert.equal((await get('/v1/tenant', subscriber)).statusCode, 200);
    });

    it('a server without a token secret refuses every token', async () => {
      const noTokens = await openTestApi({ env: { TOLLGATE_TOKEN_SECRET: '' } });
      try {
        assert.equal(noTokens.app.config.tokenSecret, undefined);
        const token = signToken(claims({ tid: noTokens.a.id, roles: ['admin'] }), TEST_TOKEN_SECRET);
        const response = await noTokens.server.inject({
          method: 'GET',
          url: '/v1/tenant',
          headers: bearer(token),
        });
        const problem = expectProblem(response, 401, { code: 'access.token_invalid' });
        assert.match(problem.detail, /not enabled/);
      } finally {
        await noTokens.dispose();
      }
    });
  });

  describe('revocation', () => {
    it('a revoked key gets 401 on its very next request', async () => {
      const secret = await api.keyWithRoles(api.a, ['read-only']);
      // Used once, so the key sits in the authentication cache.
      assert.equal(
        (await api.server.inject({ method: 'GET', url: '/v1/tenant', headers: bearer(secret) })).statusCode,
        200,
      );
      const revoked = await api.server.inject({
        method: 'POST',
        url: `/v1/api-keys/${keyIdOf(secret)}/revoke`,
        headers: bearer(api.a.adminKey),
      });
      assert.equal(revoked.statusCode, 200, revoked.body);
      assert.equal((revoked.json() as { status: string }).status, 'revoked');
      for (const headers of [bearer(secret), { 'x-api-key': secret }]) {
        const response = await api.server.inject({ method: 'GET', url: '/v1/tenant', headers });
        expectProblem(response, 401, { code: 'access.key_revoked' });
      }
    });
  });
});

describe('logs', () => {
  const lines: string[] = [];
  let api: TestApi;
  before(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    api = await openTestApi({ env: { TOLLGATE_LOG_LEVEL: 'trace' }, logDestination: destination });
  });
  after(() => api.dispose());

  it('never hold a presented key, a created secret, a token or the token secret', async () => {
    const admin = api.a.adminKey;
    const token = signToken(claims({ tid: api.a.id, roles: ['admin'] }), TEST_TOKEN_SECRET);
    const forged = `tgk_${'0'.repeat(26)}_${'S'.repeat(43)}`;
    const secrets = [admin, token, forged, TEST_TOKEN_SECRET];

    const created = await api.server.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { ...bearer(admin), 'idempotency-key': 'log-test-1' },
      payload: { name: 'logged?', roles: ['admin'] },
    });
    assert.equal(created.statusCode, 201);
    const newSecret = (created.json() as { secret: string }).secret;
    secrets.push(newSecret);
    const subscription = await api.server.inject({
      method: 'POST',
      url: '/v1/webhook-subscriptions',
      headers: { 'x-api-key': newSecret },
      payload: { url: 'http://127.0.0.1:9/hook' },
    });
    assert.equal(subscription.statusCode, 201);
    secrets.push((subscription.json() as { secret: string }).secret);

    for (const headers of [
      bearer(admin),
      { 'x-api-key': admin },
      bearer(newSecret),
      bearer(token),
      bearer(forged),
      { authorization: `Basic ${admin}` },
      bearer(`${token}x`),
    ]) {
      await api.server.inject({ method: 'GET', url: '/v1/api-keys', headers });
      await api.server.inject({ method: 'GET', url: '/v1/nope', headers });
    }
    // A replay and a refused reuse of the Idempotency-Key are logged too.
    await api.server.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { ...bearer(admin), 'idempotency-key': 'log-test-1' },
      payload: { name: 'logged?', roles: ['finance'] },
    });

    const log = lines.join('');
    assert.ok(lines.length >= 30, `only ${lines.length} log lines: is logging on?`);
    assert.match(log, /"msg":"incoming request"/);
    assert.match(log, /"msg":"request completed"/);
    assert.match(log, /"reqId":"req_/);
    for (const secret of secrets) {
      assert.ok(secret.length >= 32);
      assert.ok(!log.includes(secret), `a secret reached the logs: ${secret.slice(0, 12)}...`);
      // Not even its secret part on its own.
      assert.ok(
        !log.includes(secret.slice(-24)),
        `part of a secret reached the logs: ${secret.slice(0, 12)}...`,
      );
    }
  });
});

describe('POST routes without a body, and key expiry', () => {
  let api: TestApi;
  before(async () => {
    api = await openTestApi({ dialect: 'sqlite' });
  });
  after(() => api.dispose());

  it('refuse a body on a POST that takes none, and accept no body or {}', async () => {
    const created = await api.server.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: bearer(api.a.adminKey),
      payload: { name: 'to revoke', roles: ['read-only'] },
    });
    const id = (created.json() as { key: { id: string } }).key.id;
    const withBody = await api.server.inject({
      method: 'POST',
      url: `/v1/api-keys/${id}/revoke`,
      headers: bearer(api.a.adminKey),
      payload: { foo: 1 },
    });
    assert.equal(withBody.statusCode, 400);
    assert.equal((withBody.json() as { field: string }).field, '/body/foo');
    const empty = await api.server.inject({
      method: 'POST',
      url: `/v1/api-keys/${id}/revoke`,
      headers: bearer(api.a.adminKey),
      payload: {},
    });
    assert.equal(empty.statusCode, 200, empty.body);
    const none = await api.server.inject({
      method: 'POST',
      url: `/v1/api-keys/${id}/revoke`,
      headers: bearer(api.a.adminKey),
    });
    assert.equal(none.statusCode, 200, none.body);
    assert.equal((none.json() as { status: string }).status, 'revoked');
  });

  it('refuse a key that would be born expired', async () => {
    const response = await api.server.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: bearer(api.a.adminKey),
      payload: { name: 'stale', roles: ['read-only'], expiresAt: '2001-01-01T00:00:00Z' },
    });
    assert.equal(response.statusCode, 400);
    const problem = response.json() as { code: string; field: string };
    assert.equal(problem.code, 'access.invalid_expiry');
    assert.equal(problem.field, 'expiresAt');
  });
});
