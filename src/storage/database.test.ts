import { it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { describeEachDialect } from '../testing/databases.js';
import { inTransaction } from './database.js';
import { toBigInt } from './values.js';

describeEachDialect('storage engine', (db, dialect) => {
  it('returns 64-bit integers exactly, beyond 2^53', async () => {
    const big = 9_007_199_254_740_993n; // 2^53 + 1: a JS number would round it to 2^53
    const result = await sql<{ v: unknown }>`select cast(${big.toString()} as bigint) as v`.execute(db().db);
    assert.equal(toBigInt(result.rows[0]!.v, 'v'), big);
    assert.equal(typeof result.rows[0]!.v, 'bigint', `${dialect} driver must hand back a bigint`);
  });

  it('returns exact decimals as text', async () => {
    const result = await sql<{
      v: unknown;
    }>`select cast('12345678901234567.123456789012' as decimal(40,12)) as v`.execute(db().db);
    // SQLite has no exact decimal type: amounts are stored as scaled integers, never as decimals.
    if (dialect === 'postgres') assert.equal(result.rows[0]!.v, '12345678901234567.123456789012');
  });

  it('commits a unit of work as a whole and rolls back as a whole', async () => {
    await inTransaction(db(), async (tx) => {
      await tx
        .insertInto('tenants')
        .values({
          id: 'ten_a',
          slug: 'unit-a',
          name: 'A',
          status: 'active',
          settings: '{}',
          created_at: 'x',
          updated_at: 'x',
        })
        .execute();
    });
    await assert.rejects(
      inTransaction(db(), async (tx) => {
        await tx
          .insertInto('tenants')
          .values({
            id: 'ten_b',
            slug: 'unit-b',
            name: 'B',
            status: 'active',
            settings: '{}',
            created_at: 'x',
            updated_at: 'x',
          })
          .execute();
        throw new Error('abort');
      }),
      /abort/,
    );
    const slugs = await db()
      .db.selectFrom('tenants')
      .select('slug')
      .where('slug', 'like', 'unit-%')
      .execute();
    assert.deepEqual(
      slugs.map((r) => r.slug),
      ['unit-a'],
    );
  });
});
