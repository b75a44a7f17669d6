import { it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../kernel/clock.js';
import { isTollgateError } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { inTransaction, type Database, type DialectName } from '../storage/database.js';
import { insertTenant } from '../tenancy/store.js';
import { describeEachDialect } from '../testing/databases.js';
import { GENESIS_HASH, type ChainProblem } from './chain.js';
import {
  appendAuditRecord,
  assertAuditChainOk,
  listAuditRecords,
  verifyAuditChain,
  type AuditInput,
  type TenantChainReport,
} from './store.js';

const clock = new FakeClock('2026-03-01T00:00:00.000Z');
let tenants = 0;

async function newTenant(database: Database): Promise<string> {
  tenants += 1;
  const id = newId('ten', clock);
  await insertTenant(database.db, {
    id,
    slug: `audit-${tenants}`,
    name: `Audit ${tenants}`,
    status: 'active',
    settings: { defaultCurrency: 'EUR', timeZone: 'UTC', locale: 'en' },
    createdAt: clock.now(),
    updatedAt: clock.now(),
  });
  return id;
}

function input(tenantId: string, i: number, overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    tenantId,
    // One minute apart, so time filters have something to cut.
    occurredAt: new Date(Date.parse('2026-03-01T00:00:00.000Z') + i * 60_000).toISOString(),
    actorType: 'api-key',
    actorId: i % 2 === 0 ? 'key_even' : 'key_odd',
    action: i % 3 === 0 ? 'price_plan.updated' : 'account.updated',
    entityType: i % 3 === 0 ? 'price_plan' : 'account',
    entityId: `ent_${i % 4}`,
    before: i === 1 ? null : { version: i - 1 },
    after: { version: i, balance: 12345678901234567891n, nested: { b: [1, 2], a: 'x' } },
    requestId: `req_${i}`,
    ...overrides,
  };
}

async function appendMany(database: Database, dialect: DialectName, tenantId: string, count: number) {
  const records = [];
  for (let i = 1; i <= count; i++) {
    records.push(await inTransaction(database, (tx) => appendAuditRecord(tx, dialect, input(tenantId, i))));
  }
  return records;
}

/** The machine-readable part of a problem (messages are for people and may be reworded). */
function summary(problem: ChainProblem): Record<string, unknown> {
  const { message, ...rest } = problem;
  assert.ok(message.length > 0);
  for (const key of [
    'storedHash',
    'computedHash',
    'storedPrevHash',
    'expectedPrevHash',
    'headHash',
    'chainHash',
    'id',
  ]) {
    delete (rest as Record<string, unknown>)[key];
  }
  return rest;
}

async function verifyOne(
  database: Database,
  tenantId: string,
  pageSize?: number,
): Promise<TenantChainReport> {
  const report = await verifyAuditChain(database.db, tenantId, pageSize === undefined ? {} : { pageSize });
  assert.equal(report.tenants.length, 1);
  assert.equal(report.ok, report.tenants[0]!.ok);
  return report.tenants[0]!;
}

describeEachDialect('audit store', (db, dialect) => {
  it('appends a hash chain per tenant that verifies and reads back exactly as returned', async () => {
    const tenantId = await newTenant(db());
    const appended = await appendMany(db(), dialect, tenantId, 5);
    assert.deepEqual(
      appended.map((r) => r.seq),
      [1n, 2n, 3n, 4n, 5n],
    );
    assert.equal(appended[0]!.id, `${tenantId}:1`);
    assert.equal(appended[0]!.prevHash, GENESIS_HASH);
    for (let i = 1; i < appended.length; i++) assert.equal(appended[i]!.prevHash, appended[i - 1]!.hash);
    // Bigints are stored, hashed and returned as decimal strings; null before stays null.
    assert.deepEqual(appended[0]!.after, {
      version: 1,
      balance: '12345678901234567891',
      nested: { b: [1, 2], a: 'x' },
    });
    assert.equal(appended[0]!.before, null);

    const page = await listAuditRecords(db().db, tenantId, { order: 'asc', limit: 10 });
    assert.deepEqual(page.records, appended);
    assert.equal(page.nextCursor, null);

    const report = await verifyOne(db(), tenantId);
    assert.deepEqual(report, {
      tenantId,
      records: 5,
      ok: true,
      problems: [],
      problemCount: 0,
      head: { lastSeq: 5n, lastHash: appended[4]!.hash },
    });
    assertAuditChainOk({ ok: true, tenants: [report] });
  });

  it('reports a record whose after was edited in the database', async () => {
    const tenantId = await newTenant(db());
    await appendMany(db(), dialect, tenantId, 5);
    await db()
      .db.updateTable('audit_records')
      .set({ after: '{"version":2,"balance":"0"}' })
      .where('tenant_id', '=', tenantId)
      .where('seq', '=', 2n)
      .execute();
    const report = await verifyOne(db(), tenantId);
    assert.equal(report.ok, false);
    assert.deepEqual(report.problems.map(summary), [{ kind: 'hash_mismatch', seq: 2n }]);
    assert.throws(
      () => assertAuditChainOk({ ok: false, tenants: [report] }),
      (error: unknown) =>
        isTollgateError(error) && error.code === 'audit.chain_broken' && error.exitCode === 70,
    );
  });

  it('reports a record whose JSON no longer parses', async () => {
    const tenantId = await newTenant(db());
    await appendMany(db(), dialect, tenantId, 3);
    await db()
      .db.updateTable('audit_records')
      .set({ before: '{not json' })
      .where('tenant_id', '=', tenantId)
      .where('seq', '=', 3n)
      .execute();
    const report = await verifyOne(db(), tenantId);
    assert.deepEqual(report.problems.map(summary), [{ kind: 'malformed_record', seq: 3n }]);
    await assert.rejects(listAuditRecords(db().db, tenantId, { limit: 10 }), /cannot be read/);
  });

  it('reports a record edited and rehashed as a broken link at the next record', async () => {
    const tenantId = await newTenant(db());
    const records = await appendMany(db(), dialect, tenantId, 4);
    // A forger who knows the hashing rule recomputes the edited record's hash.
    const { computeHash } = await import('./chain.js');
    const forged = { ...records[1]!, action: 'account.viewed' };
    await db()
      .db.updateTable('audit_records')
      .set({ action: forged.action, hash: computeHash(forged.prevHash, forged) })
      .where('tenant_id', '=', tenantId)
      .where('seq', '=', 2n)
      .execute();
    const report = await verifyOne(db(), tenantId);
    assert.deepEqual(report.problems.map(summary), [{ kind: 'prev_hash_mismatch', seq: 3n }]);
  });

  it('reports a deleted middle record as a gap, also across page boundaries', async () => {
    const tenantId = await newTenant(db());
    await appendMany(db(), dialect, tenantId, 7);
    await db()
      .db.deleteFrom('audit_records')
      .where('tenant_id', '=', tenantId)
      .where('seq', 'in', [3n, 5n])
      .execute();
    for (const pageSize of [undefined, 1, 2, 3]) {
      const report = await verifyOne(db(), tenantId, pageSize);
      assert.equal(report.records, 5);
      assert.deepEqual(report.problems.map(summary), [
        { kind: 'seq_gap', fromSeq: 3n, toSeq: 3n },
        { kind: 'seq_gap', fromSeq: 5n, toSeq: 5n },
      ]);
    }
  });

  it('reports a deleted last record as a head mismatch', async () => {
    const tenantId = await newTenant(db());
    await appendMany(db(), dialect, tenantId, 5);
    await db()
      .db.deleteFrom('audit_records')
      .where('tenant_id', '=', tenantId)
      .where('seq', '=', 5n)
      .execute();
    const report = await verifyOne(db(), tenantId, 2);
    assert.deepEqual(report.problems.map(summary), [{ kind: 'head_mismatch', headSeq: 5n, chainSeq: 4n }]);
  });

  it('reports a forged head and a deleted head', async () => {
    const tenantId = await newTenant(db());
    const records = await appendMany(db(), dialect, tenantId, 3);
    await db()
      .db.updateTable('audit_heads')
      .set({ last_hash: 'f'.repeat(64) })
      .where('tenant_id', '=', tenantId)
      .execute();
    const forged = await verifyOne(db(), tenantId);
    assert.deepEqual(forged.problems.map(summary), [{ kind: 'head_mismatch', headSeq: 3n, chainSeq: 3n }]);
    assert.equal((forged.problems[0] as { headHash: string }).headHash, 'f'.repeat(64));
    assert.equal((forged.problems[0] as { chainHash: string }).chainHash, records[2]!.hash);

    await db().db.deleteFrom('audit_heads').where('tenant_id', '=', tenantId).execute();
    const missing = await verifyOne(db(), tenantId);
    assert.deepEqual(missing.problems.map(summary), [{ kind: 'head_mismatch', headSeq: null, chainSeq: 3n }]);
    assert.equal(missing.head, null);
  });

  it('refuses to append past a head moved back by hand rather than fork the chain', async () => {
    const tenantId = await newTenant(db());
    const records = await appendMany(db(), dialect, tenantId, 3);
    await db()
      .db.updateTable('audit_heads')
      .set({ last_seq: 1n, last_hash: records[0]!.hash })
      .where('tenant_id', '=', tenantId)
      .execute();
    await assert.rejects(
      inTransaction(db(), (tx) => appendAuditRecord(tx, dialect, input(tenantId, 4))),
      (error: unknown) => isTollgateError(error) && error.code === 'audit.chain_broken',
    );
    const report = await verifyOne(db(), tenantId);
    assert.deepEqual(report.problems.map(summary), [{ kind: 'head_mismatch', headSeq: 1n, chainSeq: 3n }]);
  });

  it('appends nothing when the change rolls back', async () => {
    const tenantId = await newTenant(db());
    await appendMany(db(), dialect, tenantId, 2);
    await assert.rejects(
      inTransaction(db(), async (tx) => {
        await appendAuditRecord(tx, dialect, input(tenantId, 3));
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    const next = await inTransaction(db(), (tx) => appendAuditRecord(tx, dialect, input(tenantId, 3)));
    assert.equal(next.seq, 3n);
    assert.equal((await verifyOne(db(), tenantId)).ok, true);
  });

  it('keeps independent chains for two tenants', async () => {
    const a = await newTenant(db());
    const b = await newTenant(db());
    for (let i = 1; i <= 3; i++) {
      for (const tenantId of [a, b]) {
        const record = await inTransaction(db(), (tx) => appendAuditRecord(tx, dialect, input(tenantId, i)));
        assert.equal(record.seq, BigInt(i));
        if (i === 1) assert.equal(record.prevHash, GENESIS_HASH);
      }
    }
    await db().db.deleteFrom('audit_records').where('tenant_id', '=', a).where('seq', '=', 2n).execute();
    assert.equal((await verifyOne(db(), b)).ok, true);
    assert.deepEqual((await verifyOne(db(), a)).problems.map(summary), [
      { kind: 'seq_gap', fromSeq: 2n, toSeq: 2n },
    ]);

    const all = await verifyAuditChain(db().db);
    assert.equal(all.ok, false);
    const ids = all.tenants.map((t) => t.tenantId);
    assert.deepEqual(ids, [...ids].sort());
    assert.equal(all.tenants.find((t) => t.tenantId === a)?.ok, false);
    assert.deepEqual(
      all.tenants.find((t) => t.tenantId === b),
      await verifyOne(db(), b),
    );

    const unknown = await verifyOne(db(), 'ten_nobody');
    assert.deepEqual(unknown, {
      tenantId: 'ten_nobody',
      records: 0,
      ok: true,
      problems: [],
      problemCount: 0,
      head: null,
    });
  });

  it('filters by entity, action, actor and time, and pages by seq in both orders', async () => {
    const tenantId = await newTenant(db());
    const other = await newTenant(db());
    await appendMany(db(), dialect, tenantId, 12);
    await appendMany(db(), dialect, other, 3);
    const seqs = async (filters: Parameters<typeof listAuditRecords>[2]) =>
      (await listAuditRecords(db().db, tenantId, filters)).records.map((r) => Number(r.seq));

    assert.deepEqual(await seqs({ limit: 100 }), [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert.deepEqual(await seqs({ limit: 100, order: 'asc', entityType: 'price_plan' }), [3, 6, 9, 12]);
    assert.deepEqual(
      await seqs({ limit: 100, order: 'asc', entityType: 'account', entityId: 'ent_1' }),
      [1, 5],
    );
    assert.deepEqual(await seqs({ limit: 100, order: 'asc', entityId: 'ent_0' }), [4, 8, 12]);
    assert.deepEqual(await seqs({ limit: 100, order: 'asc', action: 'price_plan.updated' }), [3, 6, 9, 12]);
    assert.deepEqual(await seqs({ limit: 100, order: 'asc', actorId: 'key_odd' }), [1, 3, 5, 7, 9, 11]);
    assert.deepEqual(
      await seqs({ limit: 100, order: 'asc', actorId: 'key_odd', action: 'account.updated' }),
      [1, 5, 7, 11],
    );
    // Record i occurred at 00:0i: `from` is inclusive, `to` exclusive; offsets are normalised.
    assert.deepEqual(
      await seqs({
        limit: 100,
        order: 'asc',
        from: '2026-03-01T00:03:00.000Z',
        to: '2026-03-01T00:06:00.000Z',
      }),
      [3, 4, 5],
    );
    assert.deepEqual(
      await seqs({ limit: 100, order: 'asc', from: '2026-03-01T01:10:00+01:00' }),
      [10, 11, 12],
    );
    assert.deepEqual(await seqs({ limit: 100, entityType: 'nothing' }), []);

    // Newest first, pages of 5, following nextCursor as beforeSeq.
    const pages: number[][] = [];
    let cursor: bigint | undefined;
    for (;;) {
      const page = await listAuditRecords(db().db, tenantId, { limit: 5, beforeSeq: cursor });
      pages.push(page.records.map((r) => Number(r.seq)));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    assert.deepEqual(pages, [
      [12, 11, 10, 9, 8],
      [7, 6, 5, 4, 3],
      [2, 1],
    ]);

    // Oldest first with a filter, following nextCursor as afterSeq.
    const ascending: number[][] = [];
    cursor = undefined;
    for (;;) {
      const page = await listAuditRecords(db().db, tenantId, {
        limit: 2,
        order: 'asc',
        actorId: 'key_even',
        afterSeq: cursor,
      });
      ascending.push(page.records.map((r) => Number(r.seq)));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    assert.deepEqual(ascending, [
      [2, 4],
      [6, 8],
      [10, 12],
    ]);
    // An exactly full last page says so without an empty extra page.
    assert.equal((await listAuditRecords(db().db, tenantId, { limit: 12 })).nextCursor, null);
  });

  it('rejects invalid filters and invalid records', async () => {
    const tenantId = await newTenant(db());
    const invalidFilter = (field: string) => (error: unknown) =>
      isTollgateError(error) && error.code === 'audit.invalid_filter' && error.field === field;
    await assert.rejects(listAuditRecords(db().db, tenantId, { limit: 0 }), invalidFilter('limit'));
    await assert.rejects(listAuditRecords(db().db, tenantId, { limit: 1001 }), invalidFilter('limit'));
    await assert.rejects(listAuditRecords(db().db, tenantId, { limit: 1.5 }), invalidFilter('limit'));
    await assert.rejects(
      listAuditRecords(db().db, tenantId, { limit: 5, from: 'yesterday' }),
      invalidFilter('from'),
    );
    await assert.rejects(
      listAuditRecords(db().db, tenantId, {
        limit: 5,
        from: '2026-02-01T00:00:00Z',
        to: '2026-01-01T00:00:00Z',
      }),
      invalidFilter('from'),
    );
    await assert.rejects(
      listAuditRecords(db().db, tenantId, { limit: 5, afterSeq: -1n }),
      invalidFilter('afterSeq'),
    );

    const invalidRecord = (field: string) => (error: unknown) =>
      isTollgateError(error) && error.code === 'audit.invalid_record' && error.field === field;
    const append = (overrides: Partial<AuditInput>) =>
      inTransaction(db(), (tx) => appendAuditRecord(tx, dialect, input(tenantId, 1, overrides)));
    await assert.rejects(append({ occurredAt: '2026-03-01T00:00:00Z' }), invalidRecord('occurredAt'));
    await assert.rejects(append({ action: '' }), invalidRecord('action'));
    await assert.rejects(append({ entityId: 'half a pair \ud800' }), invalidRecord('entityId'));
    await assert.rejects(append({ requestId: 'nul\u0000' }), invalidRecord('requestId'));
    // Unpaired surrogates inside before/after are escaped in the stored JSON, so they are kept.
    const odd = await append({ after: { text: 'half a pair \ud800 and 😀' } });
    assert.deepEqual((await listAuditRecords(db().db, tenantId, { limit: 1 })).records[0], odd);
    assert.equal((await verifyOne(db(), tenantId)).ok, true);
  });

  it('serialises concurrent appends for one tenant into seq 1..n without gaps', async () => {
    const tenantId = await newTenant(db());
    // The first round races on the tenant's very first record, before any head row exists.
    for (const round of [0, 1]) {
      const appended = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          inTransaction(db(), (tx) => appendAuditRecord(tx, dialect, input(tenantId, round * 20 + i + 1))),
        ),
      );
      assert.deepEqual(
        appended.map((r) => Number(r.seq)).sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => round * 20 + i + 1),
      );
    }
    const report = await verifyOne(db(), tenantId, 7);
    assert.equal(report.records, 40);
    assert.deepEqual(report.problems, []);
    assert.equal(report.head?.lastSeq, 40n);
  });
});
