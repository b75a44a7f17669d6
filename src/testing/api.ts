/**
 * A whole API for tests: an App on a fresh test database (SQLite in a temporary folder by default,
 * or PostgreSQL, see databases.ts), the Fastify server built by buildServer, and two tenants A and
 * B, each with an admin key. Requests go through `server.inject`, so no port is opened.
 *
 *   const api = await openTestApi();
 *   const res = await api.server.inject({ method: 'GET', url: '/v1/tenant', headers: bearer(api.a.adminKey) });
 *   await api.dispose();
 */
import { ChargingEngine } from '../workflows/charging.js';
import assert from 'node:assert/strict';
import type { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { createLogger, type App } from '../app/container.js';
import { parseConfig } from '../kernel/config.js';
import { systemClock, type Clock } from '../kernel/clock.js';
import type { Role } from '../access/index.js';
import type { DialectName } from '../storage/database.js';
import { newId } from '../kernel/ids.js';
import { buildServer } from '../api/server.js';
import type { RouteEntry } from '../api/access.js';
import { createTenant } from '../workflows/tenants.js';
import { createApiKey, clearAuthenticationCache } from '../workflows/api-keys.js';
import type { Actor } from '../workflows/context.js';
import { openTestDatabase, type TestDatabase } from './databases.js';

/** A tenant made for the test, with the secret of its first admin key. */
export interface TestTenant {
  readonly id: string;
  readonly slug: string;
  readonly adminKey: string;
  readonly adminKeyId: string;
}

export interface TestApi {
  readonly app: App;
  readonly server: FastifyInstance;
  readonly dialect: DialectName;
  readonly database: TestDatabase;
  readonly a: TestTenant;
  readonly b: TestTenant;
  /** Creates a key in `tenant` holding `roles` and returns its secret (subscriber keys get an account). */
  keyWithRoles(tenant: TestTenant, roles: readonly Role[]): Promise<string>;
  /** Closes the server and the database, and removes the temporary files. */
  dispose(): Promise<void>;
}

export interface TestApiOptions {
  readonly dialect?: DialectName;
  /** Extra TOLLGATE_* settings, e.g. `{ TOLLGATE_BODY_LIMIT_BYTES: '2048' }`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Where log lines go (set TOLLGATE_LOG_LEVEL in `env` to see any: the default is silent). */
  readonly logDestination?: Writable;
  readonly clock?: Clock;
}

/** A signing secret for bearer tokens in tests (32+ characters, as the configuration demands). */
export const TEST_TOKEN_SECRET = 'test-token-secret-0123456789abcdefghijklmnop';

const TEST_ACTOR: Actor = { type: 'system', id: 'test-setup' };

/** The headers that present `key` as a bearer credential. */
export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

let tenantCounter = 0;

export async function openTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const dialect = options.dialect ?? 'sqlite';
  clearAuthenticationCache();
  const database = await openTestDatabase(dialect);
  let server: FastifyInstance | undefined;
  try {
    const config = parseConfig({
      TOLLGATE_LOG_LEVEL: 'silent',
      TOLLGATE_WEBHOOKS_ENABLED: 'false',
      TOLLGATE_TOKEN_SECRET: TEST_TOKEN_SECRET,
      ...options.env,
    });
    const clock = options.clock ?? systemClock;
    const app: App = {
      config,
      database,
      clock,
      logger: createLogger(config, options.logDestination),
      charging: new ChargingEngine({ database, clock }),
      close: () => database.dispose(),
    };
    server = await buildServer(app);
    const makeTenant = async (label: string): Promise<TestTenant> => {
      tenantCounter += 1;
      const slug = `${label}-${process.pid}-${tenantCounter}`;
      const tenant = await createTenant(app, TEST_ACTOR, { slug, name: `Tenant ${label.toUpperCase()}` });
      const created = await createApiKey(
        app,
        { tenantId: tenant.id, actor: TEST_ACTOR },
        {
          name: `${label} admin`,
          roles: ['admin'],
        },
      );
      return { id: tenant.id, slug, adminKey: created.secret, adminKeyId: created.key.id };
    };
    const a = await makeTenant('a');
    const b = await makeTenant('b');
    const ready = server;
    return {
      app,
      server: ready,
      dialect,
      database,
      a,
      b,
      async keyWithRoles(tenant, roles) {
        const created = await createApiKey(
          app,
          { tenantId: tenant.id, actor: TEST_ACTOR },
          {
            name: `test key ${roles.join('+')}`,
            roles,
            ...(roles.includes('subscriber') ? { accountId: 'acct_TEST' } : {}),
          },
        );
        return created.secret;
      },
      async dispose() {
        clearAuthenticationCache();
        await ready.close();
        await database.dispose();
      },
    };
  } catch (error) {
    await server?.close().catch(() => undefined);
    await database.dispose().catch(() => undefined);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Walking the route table: concrete URLs and valid bodies made from each route's own schema.

/** The parts of JSON Schema the route helpers read. */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly minProperties?: number;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly format?: string;
}

/** A route's schema for one part of the request (`body`, `params`, `querystring`), if declared. */
export function schemaOf(route: RouteEntry, part: 'body' | 'params' | 'querystring'): JsonSchema | undefined {
  return (route.schema as Record<string, JsonSchema | undefined> | undefined)?.[part];
}

/** Routes that need credentials (everything but health, docs and the API description). */
export function protectedRoutes(server: FastifyInstance): RouteEntry[] {
  return server.routeTable.filter((route) => 'roles' in route.access);
}

/** The id prefix (`key`, `whs`...) a route's `:id` parameter takes, read from its params schema. */
export function idPrefixOf(route: RouteEntry): string | undefined {
  if (!route.url.includes(':id')) return undefined;
  // Ids that carry no prefix (64-bit decimal ids, source names) declare their kind instead.
  const kind = idKindOf(route);
  if (kind !== undefined) return kind;
  const pattern = schemaOf(route, 'params')?.properties?.id?.pattern;
  const match = pattern ? /^\^([a-z][a-z0-9]*)_/.exec(pattern) : null;
  if (!match)
    throw new Error(`${route.method} ${route.url}: its :id parameter declares no prefixed id pattern`);
  return match[1];
}

/**
 * The kind an `:id` parameter declares with `x-id-kind` when its ids carry no prefix: rated usage
 * and rejects (64-bit decimal ids), usage sources (names).
 */
export function idKindOf(route: RouteEntry): string | undefined {
  const id = schemaOf(route, 'params')?.properties?.id as (JsonSchema & { 'x-id-kind'?: string }) | undefined;
  return id?.['x-id-kind'];
}

/** The route's URL with `:id` replaced by `id` (default: a well-formed id that exists nowhere). */
export function pathOf(route: RouteEntry, id?: string): string {
  const prefix = idPrefixOf(route);
  const kind = idKindOf(route);
  const fresh = () =>
    kind === undefined
      ? newId(prefix!, systemClock)
      : kind === 'usage-source'
        ? 'no-such-source'
        : kind === 'charging-reservation'
          ? encodeURIComponent('no-such-session/1/10')
          : '999999999999';
  const filled = prefix ? route.url.replace(':id', id ?? fresh()) : route.url;
  if (filled.includes(':')) throw new Error(`pathOf: ${route.url} has a parameter the helper does not know`);
  return filled.replace('*', 'x');
}

/** Values for fields whose schema alone cannot produce a valid one (patterns, URLs). */
const SAMPLE_VALUES: Readonly<Record<string, unknown>> = {
  url: 'http://127.0.0.1:9/hook',
  roles: ['read-only'],
  eventTypes: ['*'],
  defaultCurrency: 'EUR',
  timeZone: 'UTC',
  locale: 'en',
  accountId: 'acct_SAMPLE',
  // TMF620 prices: { unit: currency, value: decimal text }.
  unit: 'EUR',
  value: '9.99',
  // Usage source definitions: a numbering plan's country calling code.
  countryCode: '49',
  // 64-bit ids given as decimal text (rejects to reprocess).
  'ids[]': '999999999999',
};

/** A value valid for `schema`; `name` picks a known sample for fields that need one. */
export function sampleValue(name: string, schema: JsonSchema): unknown {
  if (name in SAMPLE_VALUES) return SAMPLE_VALUES[name];
  if (schema.enum && schema.enum.length > 0) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (schema.format === 'date-time') return new Date(systemClock.nowMs() + 86_400_000).toISOString();
  if (schema.pattern) {
    throw new Error(`sampleValue: add a sample for "${name}" (pattern ${schema.pattern}) to SAMPLE_VALUES`);
  }
  switch (type) {
    case 'string':
      return 'sample'.padEnd(schema.minLength ?? 0, 'x').slice(0, schema.maxLength ?? 200);
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () =>
        sampleValue(`${name}[]`, schema.items ?? { type: 'string' }),
      );
    case 'object':
      return sampleBody(schema);
    default:
      throw new Error(`sampleValue: cannot make a value for "${name}" of type ${String(type)}`);
  }
}

/**
 * A body that satisfies `schema`: every required field, and when the schema asks for at least n
 * properties but requires none, the first n declared ones.
 */
export function sampleBody(schema: JsonSchema): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const properties = schema.properties ?? {};
  for (const name of schema.required ?? []) {
    const property = properties[name];
    if (!property) throw new Error(`sampleBody: required "${name}" has no schema`);
    body[name] = sampleValue(name, property);
  }
  for (const [name, property] of Object.entries(properties)) {
    if (Object.keys(body).length >= (schema.minProperties ?? 0)) break;
    if (!(name in body)) body[name] = sampleValue(name, property);
  }
  return body;
}

/** The problem document of a response, after checking that it is one (RFC 9457, no internals). */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly instance?: string;
  readonly requestId?: string;
  readonly field?: string;
  readonly errors?: ReadonlyArray<{ field: string; message: string }>;
}

/** Asserts that `response` is a problem+json document with `status`, and returns it. */
export function expectProblem(
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  expected: { code?: string; field?: string } = {},
  context = '',
): Problem {
  const where = context ? `${context}: ` : '';
  assert.equal(
    response.statusCode,
    status,
    `${where}expected ${status}, got ${response.statusCode} ${response.body}`,
  );
  assert.match(
    String(response.headers['content-type']),
    /^application\/problem\+json/,
    `${where}content-type is ${String(response.headers['content-type'])}`,
  );
  assert.doesNotMatch(
    response.body,
    /node_modules|\bat [^ ]+ \(|\n\s+at /,
    `${where}the body leaks a stack trace`,
  );
  const problem = JSON.parse(response.body) as Problem;
  assert.equal(typeof problem.type, 'string', `${where}type`);
  assert.equal(typeof problem.title, 'string', `${where}title`);
  assert.equal(typeof problem.detail, 'string', `${where}detail`);
  assert.equal(typeof problem.code, 'string', `${where}code`);
  assert.equal(problem.status, status, `${where}the document's status`);
  assert.equal(problem.type, `urn:tollgate:problem:${problem.code}`, `${where}type names the code`);
  if (expected.code !== undefined) assert.equal(problem.code, expected.code, `${where}code`);
  if (expected.field !== undefined) assert.equal(problem.field, expected.field, `${where}field`);
  return problem;
}
