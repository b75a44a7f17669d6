/**
 * Usage mediation over HTTP, against a real server on 127.0.0.1: TMF635 single and bulk POSTs
 * (rated, rejected, duplicate), lists with filters and fields, reads with the charge trace, 404s,
 * 400s naming the field, roles, tenant isolation, Idempotency-Key replays that charge once, file
 * uploads with their import summary, FreeSWITCH JSON CDRs, rejects (correct, reprocess, discard),
 * controls, explanations and re-rating.
 *
 * Tenant A gets the demo operator's catalog and customers. Clara Weber (4915120000003) is on
 * MOBILE-POSTPAID-M; a 125 s call to the UK (WORLD) on Saturday 28 November 2026 at 11:00 Berlin
 * time is charged 60/60: 3 minutes × 0.99 + 0.25 connect = 3.22 EUR.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../kernel/clock.js';
import { DIALECTS } from '../testing/databases.js';
import { bearer, expectProblem, openTestApi, type TestApi } from '../testing/api.js';
import { loadDemoFiles } from '../app/demo-files.js';
import { applyCatalog } from '../workflows/catalog.js';
import { importCustomers, importRecordsFromCsv } from '../workflows/customers.js';
import { TEST_CSV_LINES, TEST_NUMBERING, testCsvSource } from '../testing/usage.js';

const USAGE = '/tmf-api/usageManagement/v4/usage';
const NUMBERING = TEST_NUMBERING;
// The PUT names the source in its path, so the body has no name.
const { name: _name, ...CSV_SOURCE } = testCsvSource('msc-test');
// The same file as the workflow test: 8 records, 4 rated, 3 rejected, 1 duplicate.
const LINES = TEST_CSV_LINES;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A TMF635 usage body: a call from `identity` to `called` of `seconds`, with a record id. */
function call(recordId: string, identity = '015120000003', seconds = 125, at = '2026-11-28T10:00:00Z'): Json {
  return {
    usageDate: at,
    usageType: 'voice',
    usageCharacteristic: [
      { name: 'identity', value: identity },
      { name: 'calledNumber', value: '00442079460000' },
      { name: 'durationSec', value: seconds },
      { name: 'sourceRecordId', value: recordId },
    ],
  };
}

const AMOUNT = /^-?[0-9]+\.[0-9]{12}$/;

for (const dialect of DIALECTS) {
  describe(`usage API [${dialect}]`, () => {
    let api: TestApi;
    let base: string;
    let operator: string;
    let readOnly: string;
    const clock = new FakeClock('2026-11-29T12:00:00.000Z');

    async function send(
      key: string | undefined,
      method: string,
      url: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<{ status: number; headers: Headers; json: Json; text: string }> {
      const isText = typeof body === 'string';
      const response = await fetch(`${base}${url}`, {
        method,
        headers: {
          ...(key ? bearer(key) : {}),
          ...(body !== undefined ? { 'content-type': isText ? 'text/csv' : 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: isText ? body : JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      let json: Json = {};
      try {
        json = text === '' ? {} : (JSON.parse(text) as Json);
      } catch {
        json = {};
      }
      return { status: response.status, headers: response.headers, json, text };
    }

    /** Asserts a problem document through expectProblem, from a fetch response. */
    function problem(
      response: Awaited<ReturnType<typeof send>>,
      status: number,
      expected: { code?: string; field?: string } = {},
    ) {
      return expectProblem(
        {
          statusCode: response.status,
          headers: { 'content-type': response.headers.get('content-type') },
          body: response.text,
        },
        status,
        expected,
      );
    }

    before(async () => {
      api = await openTestApi({ dialect, clock });
      const caller = { tenantId: api.a.id, actor: { type: 'system' as const, id: 'test' } };
      const files = loadDemoFiles();
      await applyCatalog(api.app, caller, [files.catalog]);
      const report = await importCustomers(api.app, caller, importRecordsFromCsv(files.customers.text), {
        atomic: true,
      });
      assert.equal(report.rejected, 0);
      await api.server.listen({ host: '127.0.0.1', port: 0 });
      const address = api.server.server.address();
      assert.ok(address !== null && typeof address === 'object');
      base = `http://127.0.0.1:${address.port}`;
      operator = await api.keyWithRoles(api.a, ['billing-operator']);
      readOnly = await api.keyWithRoles(api.a, ['read-only']);
      for (const [name, definition] of [
        ['api', { format: 'api', numbering: NUMBERING, timeZone: 'Europe/Berlin' }],
        ['msc-test', CSV_SOURCE],
        ['freeswitch', { format: 'freeswitch-json', numbering: NUMBERING }],
      ] as const) {
        const response = await send(operator, 'PUT', `/v1/usage/sources/${name}`, definition);
        assert.equal(response.status, 201, response.text);
        assert.equal(response.headers.get('location'), `/v1/usage/sources/${name}`);
      }
    });
    after(() => api.dispose());

    let first: Json;

    it('rates one TMF635 usage: 201, Location, the amount at 12 decimals as text', async () => {
      const response = await send(operator, 'POST', USAGE, call('t1'));
      assert.equal(response.status, 201, response.text);
      first = response.json;
      assert.equal(response.headers.get('location'), first.href);
      assert.match(first.id, /^[1-9][0-9]*$/);
      assert.equal(first.usageType, 'voice');
      assert.equal(first.status, 'rated');
      const rated = first.ratedProductUsage[0];
      assert.deepEqual(rated.taxExcludedRatingAmount, { amount: '3.220000000000', currency: 'EUR' });
      assert.match(rated.productRef.id, /^sub_/);
      const identity = first.usageCharacteristic.find((c: Json) => c.name === 'identity');
      assert.equal(identity.value, '4915120000003', 'the national form is normalised with the source');
    });

    it('answers a duplicate with 409 and a refused record with 422, each naming its reject', async () => {
      const duplicate = await send(operator, 'POST', USAGE, call('t1'));
      const dup = problem(duplicate, 409, { code: 'usage.record_duplicate' }) as Json;
      assert.match(dup.rejectId, /^[1-9][0-9]*$/);

      const rejected = await send(operator, 'POST', USAGE, call('t-unknown', '015199999999'));
      const doc = problem(rejected, 422, {
        code: 'usage.record_rejected',
        field: '/body/usageCharacteristic/0/value',
      }) as Json;
      assert.equal(doc.reason, 'unknown_subscriber');
      const reject = await send(readOnly, 'GET', `/v1/usage/rejects/${doc.rejectId}`);
      assert.equal(reject.status, 200, reject.text);
      assert.equal(reject.json.status, 'open');
      assert.equal(reject.json.reason, 'unknown_subscriber');
    });

    it('bulk: answers per record where it ended', async () => {
      const response = await send(operator, 'POST', `${USAGE}/bulk`, {
        usage: [
          call('b1', '015120000003', 60),
          call('b2', '015199999999'),
          call('t1'),
          // A negative duration is a record mediation refuses (out_of_bounds), not a bad request:
          // it is stored as a reject and the other records of the bulk are taken.
          call('b4', '015120000003', -5),
        ],
      });
      assert.equal(response.status, 200, response.text);
      const { results } = response.json;
      assert.equal(results[0].outcome, 'rated');
      assert.match(results[0].amount.amount, AMOUNT);
      assert.equal(results[0].href, `${USAGE}/${results[0].id}`);
      assert.equal(results[1].outcome, 'rejected');
      assert.equal(results[1].reason, 'unknown_subscriber');
      assert.equal(results[2].outcome, 'duplicate');
      assert.equal(results[3].outcome, 'rejected');
      assert.equal(results[3].reason, 'out_of_bounds');
      assert.match(results[3].message, /duration -5 s is outside 0 to/);
      assert.deepEqual(
        [response.json.recordsIn, response.json.rated, response.json.rejected, response.json.duplicates],
        [4, 1, 2, 1],
      );
    });

    it('refuses bad bodies with 400 naming the field', async () => {
      const cases: Array<[unknown, string]> = [
        [{ ...call('x'), colour: 'red' }, '/body/colour'],
        [{ ...call('x'), usageType: 'fax' }, '/body/usageType'],
        [{ ...call('x'), usageDate: 'yesterday' }, '/body/usageDate'],
        [{ usageType: 'voice', usageCharacteristic: [{ name: 'identity', value: '1' }] }, '/body/usageDate'],
        [
          { ...call('x'), usageCharacteristic: [{ name: 'calledNumber', value: '0044' }] },
          '/body/usageCharacteristic',
        ],
        [
          {
            ...call('x'),
            usageCharacteristic: [...call('x').usageCharacteristic, { name: 'durationSec', value: 2 }],
          },
          '/body/usageCharacteristic/4/name',
        ],
        [
          {
            ...call('x'),
            usageCharacteristic: [
              { name: 'identity', value: '015120000003' },
              { name: 'durationSec', value: 1.5 },
            ],
          },
          '/body/usageCharacteristic/1/value',
        ],
        [
          {
            ...call('x'),
            usageCharacteristic: [
              { name: 'identity', value: '015120000003' },
              { name: 'price', value: { amount: 0.99, currency: 'EUR' } },
            ],
          },
          '/body/usageCharacteristic/1/value',
        ],
        [
          { ...call('x'), usageCharacteristic: [{ name: 'colour', value: 'red' }] },
          '/body/usageCharacteristic/0/name',
        ],
      ];
      for (const [body, field] of cases) {
        problem(await send(operator, 'POST', USAGE, body), 400, { field });
      }
      problem(
        await send(operator, 'POST', `${USAGE}/bulk`, { usage: [call('x'), { ...call('y'), extra: 1 }] }),
        400,
        {
          field: '/body/usage/1/extra',
        },
      );
      problem(await send(operator, 'POST', `${USAGE}?source=nope`, call('x')), 404, {
        code: 'usage.source_not_found',
      });
      problem(await send(operator, 'POST', `${USAGE}?source=msc-test`, call('x')), 400, {
        code: 'usage.invalid_source',
      });
      problem(
        await send(operator, 'PUT', '/v1/usage/sources/bad', {
          format: 'api',
          numbering: { countryCode: '0' },
        }),
        400,
        {
          field: '/body/numbering/countryCode',
        },
      );
    });

    it('Idempotency-Key: a replay answers the first response and charges nothing more', async () => {
      const headers = { 'idempotency-key': `usage-${dialect}-1` };
      const once = await send(operator, 'POST', USAGE, call('t-idem'), headers);
      assert.equal(once.status, 201, once.text);
      const again = await send(operator, 'POST', USAGE, call('t-idem'), headers);
      assert.equal(again.status, 201, again.text);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.headers.get('location'), once.headers.get('location'));
      assert.deepEqual(again.json, once.json);
      // One rated record, and no duplicate stored for the replay.
      const listed = await send(readOnly, 'GET', `${USAGE}?limit=1000`);
      const withId = listed.json.filter((u: Json) =>
        u.usageCharacteristic.some((c: Json) => c.name === 'sourceRecordId' && c.value === 't-idem'),
      );
      assert.equal(withId.length, 1);
      const duplicates = await send(readOnly, 'GET', '/v1/usage/rejects?kind=duplicate&limit=500');
      assert.ok(!duplicates.json.items.some((r: Json) => String(r.raw).includes('t-idem')));
      // The same key for another body is refused, and ingests nothing.
      problem(await send(operator, 'POST', USAGE, call('t-other'), headers), 422, {
        code: 'idempotency.key_reused',
      });
      const after = await send(readOnly, 'GET', `${USAGE}?limit=1000`);
      assert.equal(after.json.length, listed.json.length);
    });

    it('lists with filters, fields and keyset paging; reads one with its trace', async () => {
      const subscription = first.ratedProductUsage[0].productRef.id as string;
      const all = await send(
        readOnly,
        'GET',
        `${USAGE}?product.id=${subscription}&usageType=voice&usageDate.gte=2026-11-28T00:00:00Z&usageDate.lt=2026-11-29T00:00:00Z`,
      );
      assert.equal(all.status, 200, all.text);
      assert.equal(all.headers.get('x-result-count'), String(all.json.length));
      assert.ok(all.json.some((u: Json) => u.id === first.id));
      assert.ok(all.json.every((u: Json) => u.usageType === 'voice' && u.usageDate.startsWith('2026-11-28')));
      const none = await send(readOnly, 'GET', `${USAGE}?usageType=data`);
      assert.deepEqual(none.json, []);

      const fields = await send(readOnly, 'GET', `${USAGE}?fields=usageDate,ratedProductUsage&limit=1`);
      assert.deepEqual(Object.keys(fields.json[0]).sort(), ['href', 'id', 'ratedProductUsage', 'usageDate']);
      const cursor = fields.headers.get('x-next-cursor');
      assert.ok(cursor);
      const next = await send(readOnly, 'GET', `${USAGE}?limit=1&after=${cursor}`);
      assert.ok(BigInt(next.json[0].id) > BigInt(cursor));
      problem(await send(readOnly, 'GET', `${USAGE}?fields=nope`), 400, { field: '/querystring/fields' });

      const one = await send(readOnly, 'GET', first.href);
      assert.equal(one.status, 200, one.text);
      assert.equal(one.json.chargeTrace.zone ?? one.json.ratedProductUsage[0].zone, 'WORLD');
      assert.equal(typeof one.json.chargeTrace, 'object');
      assert.equal(typeof one.json.ratedProductUsage[0].taxExcludedRatingAmount.amount, 'string');
      problem(await send(readOnly, 'GET', `${USAGE}/999999999999`), 404, { code: 'usage.usage_not_found' });
      problem(await send(readOnly, 'GET', `${USAGE}/abc`), 400, { field: '/params/id' });
      problem(await send(readOnly, 'GET', '/v1/usage/rejects/999999999999'), 404, {
        code: 'usage.reject_not_found',
      });
      problem(await send(readOnly, 'GET', '/v1/usage/sources/nope'), 404, { code: 'usage.source_not_found' });
    });

    it('explains a rated usage and re-rates without change', async () => {
      const explanation = await send(readOnly, 'GET', `/v1/usage/rated/${first.id}/explanation`);
      assert.equal(explanation.status, 200, explanation.text);
      assert.ok(explanation.json.lines.some((l: string) => /Formula:/.test(l)));
      assert.ok(explanation.json.lines.some((l: string) => /3\.22 EUR/.test(l)));
      assert.deepEqual(explanation.json.netAmount, { amount: '3.220000000000', currency: 'EUR' });
      const rerate = await send(operator, 'POST', '/v1/usage/rerate', {
        subscriptionId: first.ratedProductUsage[0].productRef.id,
        from: '2026-11-01T00:00:00Z',
        to: '2026-12-01T00:00:00Z',
      });
      assert.equal(rerate.status, 200, rerate.text);
      assert.equal(rerate.json.deltas, 0);
      assert.ok(rerate.json.examined >= 2);
      problem(
        await send(operator, 'POST', '/v1/usage/rerate', {
          from: '2026-11-01T00:00:00Z',
          to: '2026-12-01T00:00:00Z',
        }),
        400,
      );
    });

    let uploadId: string;

    it('uploads a CSV file and answers the import with its controls', async () => {
      const file = `${LINES.join('\n')}\n`;
      const response = await send(
        operator,
        'POST',
        '/v1/usage/uploads?source=msc-test&fileName=msc.csv',
        file,
      );
      assert.equal(response.status, 201, response.text);
      const imported = response.json.import;
      uploadId = imported.id;
      assert.equal(response.headers.get('location'), `/v1/usage/imports/${imported.id}`);
      assert.equal(imported.status, 'completed');
      assert.equal(imported.fileName, 'msc.csv');
      assert.deepEqual(
        [imported.recordsIn, imported.rated, imported.rejected, imported.duplicates],
        [8, 4, 3, 1],
      );
      assert.ok(response.json.controls.every((c: Json) => c.balanced));
      const again = await send(operator, 'POST', '/v1/usage/uploads?source=msc-test', file);
      problem(again, 409, { code: 'usage.already_imported' });
      // The file as the client named it (or upload-<checksum>), never the server's temporary path,
      // and how to force it over HTTP.
      assert.match(
        again.json.detail,
        /^upload-[0-9a-f]{12} \(sha256 [0-9a-f]{12}…\) was imported already as imp_/,
      );
      assert.doesNotMatch(again.json.detail, /tollgate-upload-|\/tmp\//);
      assert.match(again.json.detail, /force=true/);
      problem(await send(operator, 'POST', '/v1/usage/uploads?source=msc-test', { csv: file }), 415);
      const read = await send(readOnly, 'GET', `/v1/usage/imports/${imported.id}`);
      assert.equal(read.status, 200, read.text);
      assert.equal(read.json.import.rated, 4);
      assert.ok(read.json.controls.length >= 1);
      const list = await send(readOnly, 'GET', '/v1/usage/imports?source=msc-test');
      assert.ok(list.json.items.some((i: Json) => i.id === imported.id));
    });

    it('takes a FreeSWITCH JSON CDR: 200 whether rated or rejected', async () => {
      const answer = Date.UTC(2026, 10, 28, 14, 0, 0) / 1000;
      const cdr = {
        variables: {
          uuid: 'fs-1',
          caller_id_number: '015120000003',
          destination_number: '00442079460000',
          start_epoch: String(answer - 5),
          answer_epoch: String(answer),
          billsec: '60',
          hangup_cause: 'NORMAL_CLEARING',
        },
      };
      const rated = await send(operator, 'POST', '/v1/usage/freeswitch/json-cdr', cdr);
      assert.equal(rated.status, 200, rated.text);
      assert.equal(rated.json.outcome, 'rated');
      assert.match(rated.json.amount.amount, AMOUNT);
      const rejected = await send(operator, 'POST', '/v1/usage/freeswitch/json-cdr', { switchname: 'fs1' });
      assert.equal(rejected.status, 200, rejected.text);
      assert.equal(rejected.json.outcome, 'rejected');
      assert.equal(rejected.json.reason, 'malformed_record');
    });

    it('rejects: list, correct and reprocess, discard', async () => {
      const list = await send(readOnly, 'GET', `/v1/usage/rejects?importId=${uploadId}&reason=unparseable`);
      assert.equal(list.status, 200, list.text);
      assert.equal(list.json.items.length, 1);
      const reject = list.json.items[0];
      assert.equal(reject.line, 7);
      const corrected = await send(operator, 'POST', `/v1/usage/rejects/${reject.id}/correct`, {
        raw: String(reject.raw).replace(',6O,', ',60,'),
      });
      assert.equal(corrected.status, 200, corrected.text);
      const before = await send(readOnly, 'GET', '/v1/usage/controls?from=2026-11-28&to=2026-11-30');
      const reprocess = await send(operator, 'POST', '/v1/usage/rejects/reprocess', { ids: [reject.id] });
      assert.equal(reprocess.status, 200, reprocess.text);
      assert.deepEqual(reprocess.json, { attempted: 1, rated: 1, stillRejected: 0, duplicates: 0 });
      const done = await send(readOnly, 'GET', `/v1/usage/rejects/${reject.id}`);
      assert.equal(done.json.status, 'reprocessed');
      assert.match(done.json.resolvedUsageId, /^[1-9][0-9]*$/);

      const controls = await send(readOnly, 'GET', '/v1/usage/controls?from=2026-11-28&to=2026-11-30');
      assert.equal(controls.status, 200, controls.text);
      assert.equal(controls.json.balanced, true);
      const sum = (days: Json[], key: string) => days.reduce((s, d) => s + (d[key] as number), 0);
      assert.equal(sum(controls.json.days, 'rated'), sum(before.json.days, 'rated') + 1);
      assert.equal(sum(controls.json.days, 'recordsIn'), sum(before.json.days, 'recordsIn'));
      problem(await send(readOnly, 'GET', '/v1/usage/controls?from=28.11.2026'), 400, {
        field: '/querystring/from',
      });

      const unknown = await send(
        readOnly,
        'GET',
        `/v1/usage/rejects?importId=${uploadId}&reason=unknown_subscriber`,
      );
      const id = unknown.json.items[0].id;
      const discarded = await send(operator, 'POST', `/v1/usage/rejects/${id}/discard`, {
        reason: 'test traffic',
      });
      assert.equal(discarded.status, 200, discarded.text);
      assert.equal(discarded.json.status, 'discarded');
      problem(await send(operator, 'POST', `/v1/usage/rejects/${id}/discard`, { reason: 'again' }), 409, {
        code: 'usage.reject_closed',
      });
      problem(await send(operator, 'POST', `/v1/usage/rejects/${id}/correct`, {}), 400, {
        field: '/body/raw',
      });
    });

    it('sources: list and read', async () => {
      const list = await send(readOnly, 'GET', '/v1/usage/sources');
      assert.deepEqual(list.json.items.map((s: Json) => s.id).sort(), ['api', 'freeswitch', 'msc-test']);
      const one = await send(readOnly, 'GET', '/v1/usage/sources/msc-test');
      assert.equal(one.json.definition.format, 'csv');
      const replaced = await send(operator, 'PUT', '/v1/usage/sources/api', {
        format: 'api',
        numbering: NUMBERING,
      });
      assert.equal(replaced.status, 200, replaced.text);
    });

    it('roles: 401 without a key, 403 for roles not allowed, reads for finance, support and read-only', async () => {
      problem(await send(undefined, 'GET', USAGE), 401);
      problem(await send(undefined, 'POST', USAGE, call('r')), 401);
      const catalog = await api.keyWithRoles(api.a, ['catalog-manager']);
      const subscriber = await api.keyWithRoles(api.a, ['subscriber']);
      for (const key of [catalog, subscriber]) {
        problem(await send(key, 'GET', USAGE), 403, { code: 'access.role_not_allowed' });
        problem(await send(key, 'GET', '/v1/usage/rejects'), 403);
      }
      for (const role of ['finance', 'support-agent', 'read-only'] as const) {
        const key = await api.keyWithRoles(api.a, [role]);
        assert.equal((await send(key, 'GET', first.href)).status, 200);
        assert.equal((await send(key, 'GET', '/v1/usage/controls')).status, 200);
        problem(await send(key, 'POST', USAGE, call('r')), 403);
        problem(await send(key, 'POST', '/v1/usage/uploads?source=msc-test', 'x'), 403);
        problem(await send(key, 'POST', '/v1/usage/rejects/reprocess', {}), 403);
        problem(
          await send(key, 'PUT', '/v1/usage/sources/api', { format: 'api', numbering: NUMBERING }),
          403,
        );
      }
    });

    it("tenant B sees none of A's usage, rejects, imports or sources", async () => {
      const b = api.b.adminKey;
      problem(await send(b, 'GET', first.href), 404);
      problem(await send(b, 'GET', `/v1/usage/rated/${first.id}/explanation`), 404);
      problem(await send(b, 'GET', `/v1/usage/imports/${uploadId}`), 404);
      const rejectsOfA = await send(readOnly, 'GET', '/v1/usage/rejects?limit=1');
      const rejectId = rejectsOfA.json.items[0].id;
      problem(await send(b, 'GET', `/v1/usage/rejects/${rejectId}`), 404);
      problem(await send(b, 'POST', `/v1/usage/rejects/${rejectId}/discard`, { reason: 'x' }), 404);
      problem(await send(b, 'GET', '/v1/usage/sources/msc-test'), 404);
      assert.deepEqual((await send(b, 'GET', USAGE)).json, []);
      assert.deepEqual((await send(b, 'GET', '/v1/usage/rejects')).json.items, []);
      assert.deepEqual((await send(b, 'GET', '/v1/usage/imports')).json.items, []);
      assert.deepEqual((await send(b, 'GET', '/v1/usage/sources')).json.items, []);
      assert.deepEqual((await send(b, 'GET', '/v1/usage/controls')).json.days, []);
      problem(await send(b, 'POST', USAGE, call('x')), 404, { code: 'usage.source_not_found' });
      const rerate = await send(b, 'POST', '/v1/usage/rerate', {
        subscriptionId: first.ratedProductUsage[0].productRef.id,
        from: '2026-11-01T00:00:00Z',
        to: '2026-12-01T00:00:00Z',
      });
      assert.equal(rerate.json.examined, 0);
    });
  });
}
