/**
 * Bad input never gets a 500: a corpus made from each route's own schema (malformed JSON, wrong
 * shapes, missing and unknown fields, wrong types, oversized and non-JSON bodies, bad ids, bad
 * query parameters) is sent to every route, and every answer must be a 4xx problem+json document
 * that names the field at fault and the reason, with no trace of the internals.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions } from 'fastify';
import { newId } from '../kernel/ids.js';
import { systemClock } from '../kernel/clock.js';
import { DIALECTS, postgresServerUrl } from '../testing/databases.js';
import {
  bearer,
  expectProblem,
  idKindOf,
  idPrefixOf,
  openTestApi,
  pathOf,
  protectedRoutes,
  sampleBody,
  sampleValue,
  schemaOf,
  type JsonSchema,
  type Problem,
  type TestApi,
} from '../testing/api.js';
import type { RouteEntry } from './access.js';
import { problemFor, toTollgateError } from './problem.js';

const BODY_LIMIT = 2048;
const BULK_USAGE = '/tmf-api/usageManagement/v4/usage/bulk';

interface Case {
  readonly name: string;
  readonly request: InjectOptions;
  readonly status: number;
  /** The field the problem must name; undefined when the check is only on status and shape. */
  readonly field?: string;
  readonly code?: string;
}

/** A value of the wrong JSON type for `schema`. */
function wrongType(schema: JsonSchema): unknown {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
      return 'twelve';
    case 'boolean':
      return 'yes';
    case 'array':
      return 'not-an-array';
    case 'object':
      return ['not', 'an', 'object'];
    default:
      return { unexpected: true };
  }
}

/** Invalid values that have the right type: out of range, too long, not in the enum, bad format. */
function wrongValues(name: string, schema: JsonSchema): unknown[] {
  const out: unknown[] = [];
  if (schema.enum) out.push('not-one-of-the-values');
  if (schema.maxLength !== undefined) out.push('x'.repeat(schema.maxLength + 1));
  if (schema.minLength !== undefined && schema.minLength > 0) out.push('');
  if (schema.pattern !== undefined) out.push('!! not the pattern !!');
  if (schema.format === 'date-time') out.push('next tuesday', '2026-13-45T25:61:61Z', '9999-12-31T23:59:60Z');
  if (schema.minimum !== undefined) out.push(schema.minimum - 1);
  if (schema.maximum !== undefined) out.push(schema.maximum + 1);
  if (schema.minItems !== undefined && schema.minItems > 0) out.push([]);
  if (schema.maxItems !== undefined) {
    // Valid items, one too many of them, so that the only error is the count.
    const [item] = sampleValue(name, schema) as unknown[];
    out.push(Array.from({ length: schema.maxItems + 1 }, () => item));
  }
  if (schema.type === 'string' && !schema.enum) out.push('nul\u0000inside');
  return out;
}

/** Wrong types and wrong values for every property of an object schema, one level of nesting deep. */
function propertyCases(
  schema: JsonSchema,
  base: Record<string, unknown>,
  pointer: string,
): Array<{ name: string; body: Record<string, unknown>; field: string }> {
  const cases: Array<{ name: string; body: Record<string, unknown>; field: string }> = [];
  for (const [property, propertySchema] of Object.entries(schema.properties ?? {})) {
    const field = `${pointer}/${property}`;
    cases.push({
      name: `${field} of the wrong type`,
      body: { ...base, [property]: wrongType(propertySchema) },
      field,
    });
    for (const value of wrongValues(property, propertySchema)) {
      cases.push({
        name: `${field} = ${JSON.stringify(value).slice(0, 40)}`,
        body: { ...base, [property]: value },
        field,
      });
    }
    if (propertySchema.type === 'object' && propertySchema.properties) {
      const inner = sampleBody({ ...propertySchema, minProperties: 1 });
      for (const nested of propertyCases(propertySchema, inner, field)) {
        cases.push({ ...nested, body: { ...base, [property]: nested.body } });
      }
      if (propertySchema.additionalProperties === false) {
        cases.push({
          name: `unknown field in ${field}`,
          body: { ...base, [property]: { ...inner, unexpectedField: 1 } },
          field: `${field}/unexpectedField`,
        });
      }
    }
  }
  return cases;
}

/**
 * True when the problem names `expected` (a JSON pointer such as `/body/settings/timeZone`). Schema
 * errors give the pointer itself; errors raised by a use case after validation name the field as
 * the use case knows it (`settings.timeZone`, `url`, `eventTypes/0`), which must lead to it.
 */
function namesField(problem: Problem, expected: string): boolean {
  const actual = problem.field;
  if (actual === undefined) return false;
  if (actual === expected || problem.code === 'common.invalid_input') return actual === expected;
  const tail = expected.replace(/^\/(body|querystring|params)\//, '');
  const normalized = actual
    .replace(/^\//, '')
    .replace(/\[(\d+)\]/g, '/$1')
    .replace(/\./g, '/');
  return normalized === tail || normalized.startsWith(`${tail}/`);
}

/** The corpus for one route, made from its schema. */
function corpusFor(route: RouteEntry, headers: Record<string, string>): Case[] {
  const method = route.method as InjectOptions['method'];
  const url = pathOf(route);
  const bodySchema = schemaOf(route, 'body');
  const querySchema = schemaOf(route, 'querystring');
  const base = bodySchema ? sampleBody(bodySchema) : undefined;
  const json = { ...headers, 'content-type': 'application/json' };
  const cases: Case[] = [];
  const add = (
    name: string,
    request: Partial<InjectOptions>,
    status: number,
    field?: string,
    code?: string,
  ) =>
    cases.push({
      name,
      request: {
        method,
        url,
        headers,
        ...(base !== undefined && request.payload === undefined ? { payload: base } : {}),
        ...request,
      },
      status,
      ...(field !== undefined ? { field } : {}),
      ...(code !== undefined ? { code } : {}),
    });

  if (route.method !== 'GET') {
    add('malformed JSON', { headers: json, payload: '{bad json' }, 400, '/body');
    add('truncated JSON', { headers: json, payload: '{"name": "abc' }, 400, '/body');
    add('prototype pollution', { headers: json, payload: '{"__proto__": {"admin": true}}' }, 400, '/body');
    add('an empty body that says it is JSON', { headers: json, payload: '' }, 400, '/body');
    add(
      'a body over the size limit',
      { headers: json, payload: JSON.stringify({ padding: 'x'.repeat(BODY_LIMIT + 10) }) },
      413,
      '/body',
      'common.payload_too_large',
    );
    add(
      'a text/plain body',
      { headers: { ...headers, 'content-type': 'text/plain' }, payload: 'name=x' },
      415,
      'Content-Type',
      'common.unsupported_media_type',
    );
    add(
      'an XML body',
      { headers: { ...headers, 'content-type': 'application/xml' }, payload: '<key name="x"/>' },
      415,
      'Content-Type',
      'common.unsupported_media_type',
    );
    add(
      'a form body',
      { headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=x' },
      415,
      'Content-Type',
    );
  }
  if (bodySchema && base) {
    add('a JSON array instead of an object', { headers: json, payload: '[]' }, 400, '/body');
    add('a JSON string instead of an object', { headers: json, payload: '"text"' }, 400, '/body');
    add('JSON null instead of an object', { headers: json, payload: 'null' }, 400, '/body');
    add('a number instead of an object', { headers: json, payload: '42' }, 400, '/body');
    for (const required of bodySchema.required ?? []) {
      const { [required]: _dropped, ...rest } = base;
      add(`missing required /body/${required}`, { payload: rest }, 400, `/body/${required}`);
    }
    add('an unknown field', { payload: { ...base, unexpectedField: 'x' } }, 400, '/body/unexpectedField');
    add(
      'a tenantId smuggled into the body',
      { payload: { ...base, tenantId: 'ten_OTHER' } },
      400,
      '/body/tenantId',
    );
    for (const bad of propertyCases(bodySchema, base, '/body'))
      add(bad.name, { payload: bad.body }, 400, bad.field);
  }
  const kind = idKindOf(route);
  if (kind !== undefined) {
    // Ids without a prefix: 64-bit decimal text (rated usage, rejects) or a source's name.
    const bad =
      kind === 'usage-source'
        ? ['-leading-dash', `${'n'.repeat(65)}`, 'has%20space', '..%2F..%2Fetc%2Fpasswd', '%00']
        : ['nope', '0', '-1', '1.5', '012', '99999999999999999999', "1'%20OR%20'1'%3D'1", '%00'];
    for (const id of bad) add(`bad id ${id}`, { url: route.url.replace(':id', id) }, 400, '/params/id');
  }
  const prefix = kind === undefined ? idPrefixOf(route) : undefined;
  if (prefix !== undefined) {
    const otherPrefix = prefix === 'evt' ? 'key' : 'evt';
    const valid = newId(prefix, systemClock);
    // As they appear in the URL, percent-encoded.
    for (const id of [
      'nope',
      newId(otherPrefix, systemClock),
      `${prefix}_${valid.slice(prefix.length + 1).toLowerCase()}`,
      valid.slice(0, -1),
      `${valid}0`,
      `${prefix}_${'U'.repeat(26)}`,
      `${prefix}_%20${valid.slice(prefix.length + 1)}`,
      "key_'%20OR%20'1'%3D'1",
      '..%2F..%2Fetc%2Fpasswd',
      '%00',
    ]) {
      add(`bad id ${id}`, { url: route.url.replace(':id', id) }, 400, '/params/id');
    }
    add('an over-long id', { url: route.url.replace(':id', `${prefix}_${'A'.repeat(300)}`) }, 400, 'url');
    add('a broken percent-encoding in the id', { url: route.url.replace(':id', '%E0%A4%A') }, 400, 'url');
  }
  add('an unknown query parameter', { url: `${url}?unexpectedParam=1` }, 400, '/querystring/unexpectedParam');
  for (const [name, schema] of Object.entries(querySchema?.properties ?? {})) {
    const field = `/querystring/${name}`;
    const values: unknown[] = [...wrongValues(name, schema)];
    if (schema.type === 'integer') values.push('abc', '1.5', '1e400', '-0x10', '99999999999999999999');
    for (const value of values) {
      add(
        `${field}=${String(value).slice(0, 30)}`,
        { url: `${url}?${name}=${encodeURIComponent(String(value))}` },
        400,
        field,
      );
    }
    add(`${field} given twice`, { url: `${url}?${name}=a&${name}=b` }, 400, field);
  }
  return cases;
}

const dialects = postgresServerUrl() ? DIALECTS : DIALECTS.filter((dialect) => dialect === 'sqlite');

for (const dialect of dialects) {
  describe(`bad input gets a 4xx problem that names the field [${dialect}]`, () => {
    let api: TestApi;
    before(async () => {
      api = await openTestApi({ dialect, env: { TOLLGATE_BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
    });
    after(() => api.dispose());

    async function auditTrailOfA(): Promise<unknown[]> {
      const response = await api.server.inject({
        method: 'GET',
        url: '/v1/audit?limit=1000',
        headers: bearer(api.a.adminKey),
      });
      return (response.json() as { items: unknown[] }).items;
    }

    it('the corpus, route by route, changes nothing', async () => {
      const trailBefore = await auditTrailOfA();
      const headers = bearer(api.a.adminKey);
      let sent = 0;
      const failures: string[] = [];
      for (const route of protectedRoutes(api.server)) {
        // The usage upload takes a raw file (text/csv, text/plain, octet-stream), not JSON: its
        // bad input (JSON bodies, sizes, duplicates) is checked in src/api/usage.test.ts.
        if (route.url === '/v1/usage/uploads') continue;
        for (const original of corpusFor(route, headers)) {
          // A value too long for its schema (a 1 MiB raw record, 10 001 bulk records) can only be
          // sent in a body larger than this test's server accepts: that is a 413 before any 400.
          const payload = (original.request as { payload?: unknown }).payload;
          const size = typeof payload === 'string' ? payload.length : JSON.stringify(payload ?? '').length;
          const testCase =
            original.status === 400 && size > BODY_LIMIT && route.url !== BULK_USAGE
              ? { ...original, status: 413, field: '/body', code: 'common.payload_too_large' }
              : original;
          // The bulk usage POST accepts up to 32 MiB whatever the server-wide limit (10 000 records).
          if (route.url === BULK_USAGE && (size > BODY_LIMIT || original.status === 413)) continue;
          const response = await api.server.inject(testCase.request);
          const context = `${route.method} ${route.url}: ${testCase.name}`;
          try {
            const problem = expectProblem(
              response,
              testCase.status,
              testCase.code !== undefined ? { code: testCase.code } : {},
              context,
            );
            if (testCase.field !== undefined) {
              assert.ok(
                namesField(problem, testCase.field),
                `${context}: field ${String(problem.field)} does not name ${testCase.field}`,
              );
            }
            assert.ok(problem.detail.length > 10, `${context}: the detail says nothing: ${problem.detail}`);
            if (problem.code === 'common.invalid_input' && testCase.field?.startsWith('/')) {
              // Schema errors read "<field> <reason>"; errors about the whole body say "the body ...".
              const named = testCase.field === '/body' ? /\bbody\b/ : testCase.field;
              assert.ok(
                typeof named === 'string' ? problem.detail.includes(named) : named.test(problem.detail),
                `${context}: the detail does not name the field: ${problem.detail}`,
              );
            }
            assert.equal(response.headers['x-request-id'], problem.requestId, `${context}: request id`);
          } catch (error) {
            failures.push((error as Error).message.split('\n')[0]!);
          }
          sent += 1;
        }
      }
      assert.deepEqual(failures, [], `${failures.length} of ${sent} bad requests were mishandled`);
      assert.ok(sent > 300, `the corpus has only ${sent} requests`);
      assert.deepEqual(await auditTrailOfA(), trailBefore, 'a bad request changed something');
    });

    it('a validation problem lists every error, each with a field and a message', async () => {
      const response = await api.server.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: bearer(api.a.adminKey),
        payload: { roles: 'admin', unexpectedField: true },
      });
      const problem = expectProblem(response, 400, { code: 'common.invalid_input' });
      const fields = (problem.errors ?? []).map((e) => e.field).sort();
      assert.deepEqual(fields, ['/body/name', '/body/roles', '/body/unexpectedField']);
      for (const error of problem.errors ?? []) assert.ok(error.message.length > 0);
      assert.deepEqual(Object.fromEntries((problem.errors ?? []).map((e) => [e.field, e.message])), {
        '/body/name': 'is required',
        '/body/roles': 'must be array',
        '/body/unexpectedField': 'is not a known field',
      });
    });

    it('unknown routes and methods get a 404 problem, with or without credentials', async () => {
      for (const [method, url] of [
        ['GET', '/'],
        ['GET', '/v1/nope'],
        ['GET', '/v2/tenant'],
        ['PUT', '/v1/tenant'],
        ['DELETE', '/v1/api-keys'],
        ['POST', '/v1/nope'],
        ['GET', '/v1/../../etc/passwd'],
        ['GET', '/v1/api-keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV/unknown-action'],
      ] as const) {
        for (const headers of [{}, bearer(api.a.adminKey)]) {
          const response = await api.server.inject({
            method,
            url,
            headers,
            ...(method === 'POST' ? { payload: {} } : {}),
          });
          const problem = expectProblem(
            response,
            404,
            { code: 'common.not_found', field: 'url' },
            `${method} ${url}`,
          );
          assert.match(problem.detail, new RegExp(`^no route ${method} `));
        }
      }
    });

    it('an unexpected error becomes a 500 that reveals nothing of it', () => {
      const internal = new Error('connect ECONNREFUSED postgres://admin:hunter2@db:5432');
      internal.stack = `${internal.message}\n    at Object.query (/srv/node_modules/pg/lib/client.js:1:1)`;
      const problem = problemFor(toTollgateError(internal), { url: '/v1/x?y=1', id: 'req_1' } as never);
      assert.equal(problem.status, 500);
      assert.equal(problem.code, 'common.internal');
      assert.equal(problem.instance, '/v1/x');
      const text = JSON.stringify(problem);
      for (const secret of ['hunter2', 'ECONNREFUSED', 'node_modules', 'client.js']) {
        assert.ok(!text.includes(secret), `the problem leaks ${secret}`);
      }
    });
  });
}
