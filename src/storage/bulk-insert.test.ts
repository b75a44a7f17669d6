import { it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { describeEachDialect } from '../testing/databases.js';
import { BulkInserter } from './bulk-insert.js';
import { inTransaction } from './database.js';

describeEachDialect('bulk inserts', (db, dialect) => {
  const table = 'bulk_insert_probe';

  it('inserts and upserts many rows a statement; a failed batch leaves nothing when rolled back whole', async () => {
    const database = db();
    await sql`create table ${sql.table(table)} (k bigint primary key, v text not null, c text not null)`.execute(
      database.db,
    );
    const upsert = new BulkInserter(
      table,
      ['k', 'v'],
      { key: ['k'], update: ['v'] },
      { c: 'fixed' },
      { rolledBackWhole: true },
    );
    // Statements of 1 250 rows at most (2 500 parameters): 3 000 rows take three.
    const values: unknown[] = [];
    for (let k = 0; k < 3000; k++) values.push(k, `v${k}`);
    await inTransaction(database, (tx) => upsert.insert(tx, values));
    const [first] = upsert.statements(database.db, values);
    // SQLite runs them without a statement journal; PostgreSQL's statements are unchanged.
    assert.equal(first!.sql.startsWith('insert or fail into'), dialect === 'sqlite', first!.sql);
    assert.equal(
      new BulkInserter(table, ['k', 'v']).statements(database.db, [1, 'x'])[0]!.sql.includes(' or '),
      false,
    );

    // An upsert of existing keys updates them.
    await inTransaction(database, (tx) => upsert.insert(tx, [5, 'five', 2999, 'last', 3000, 'new']));
    const rows = await sql<{
      k: unknown;
      v: string;
      c: string;
    }>`select k, v, c from ${sql.table(table)} where k in (5, 2999, 3000) order by k`.execute(database.db);
    assert.deepEqual(
      rows.rows.map((r) => [Number(r.k), r.v, r.c]),
      [
        [5, 'five', 'fixed'],
        [2999, 'last', 'fixed'],
        [3000, 'new', 'fixed'],
      ],
    );

    // A statement that fails on its third row, after other statements of the same transaction:
    // the rollback takes back every row of the transaction, those of the failed statement too.
    const failing: unknown[] = [];
    for (let k = 10_000; k < 12_600; k++) failing.push(k, k === 12_502 ? null : `v${k}`);
    await assert.rejects(
      inTransaction(database, (tx) => upsert.insert(tx, failing)),
      /null|NOT NULL/i,
    );
    const count = await sql<{
      n: unknown;
    }>`select count(*) as n from ${sql.table(table)} where k >= 10000`.execute(database.db);
    assert.equal(Number(count.rows[0]!.n), 0);
  });
});
