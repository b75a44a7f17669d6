import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDialect } from '../testing/databases.js';
import { QueryTemplate } from './query-template.js';

describeEachDialect('query templates', (db) => {
  it('compiles what the builder compiles, with each call its own bound values', async () => {
    const database = db();
    const build = (name: string, status: string, id: string) =>
      database.db.updateTable('tenants').set({ name, status, updated_at: name }).where('id', '=', id);
    const template = new QueryTemplate(['name', 'status', 'id'], (executor, v) =>
      executor
        .updateTable('tenants')
        .set({ name: v.name, status: v.status, updated_at: v.name })
        .where('id', '=', v.id),
    );
    for (const [name, status, id] of [
      ['A', 'active', 'ten_1'],
      ['B', 'suspended', 'ten_2'],
    ] as const) {
      const direct = build(name, status, id).compile();
      const compiled = template.compile(database.db, { name, status, id });
      assert.equal(compiled.sql, direct.sql);
      assert.deepEqual(compiled.parameters, direct.parameters);
    }
    // It runs: the values are bound parameters.
    await database.db
      .insertInto('tenants')
      .values({
        id: 'ten_q',
        slug: 'q',
        name: 'Q',
        status: 'active',
        settings: '{}',
        created_at: 'x',
        updated_at: 'x',
      })
      .execute();
    await database.db.executeQuery(
      template.compile(database.db, { name: "O'Brien", status: 'active', id: 'ten_q' }),
    );
    const row = await database.db
      .selectFrom('tenants')
      .select(['name', 'updated_at'])
      .where('id', '=', 'ten_q')
      .executeTakeFirst();
    assert.deepEqual(row, { name: "O'Brien", updated_at: "O'Brien" });
  });

  it('refuses a statement that binds a value which is not one of its names', () => {
    const template = new QueryTemplate(['id'], (executor, v) =>
      executor.updateTable('tenants').set({ name: 'fixed' }).where('id', '=', v.id),
    );
    assert.throws(
      () => template.compile(db().db, { id: 'x' }),
      /binds "fixed", which is not one of its values/,
    );
  });
});
