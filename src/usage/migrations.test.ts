import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase } from '../storage/database.js';
import { migrateToLatest } from '../storage/migrate.js';
import { allMigrations } from '../app/migrations.js';

describe('usage migrations', () => {
  it('0053 rebuilds rated_usage on SQLite: rows kept, id the rowid, no foreign key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-migration-0053-'));
    const database = await openDatabase(`sqlite:${join(dir, 'db.sqlite')}`);
    try {
      await migrateToLatest(
        database,
        allMigrations.filter(([name]) => name < '0053'),
      );
      await sql`insert into tenants (id, slug, name, status, settings, created_at, updated_at)
        values ('ten_a', 'a', 'A', 'active', '{}', 'x', 'x')`.execute(database.db);
      const row = {
        id: 9_007_199_254_740_993n, // beyond 2^53: kept exactly
        tenant_id: 'ten_a',
        import_id: 'imp_1',
        source: 'msc',
        line: 7,
        source_record_id: 'r7',
        subscription_id: 'sub_1',
        account_id: 'acct_1',
        service: 'voice',
        identity: '4915112345678',
        start_at: '2026-11-28T10:00:00.000Z',
        duration_sec: 61,
        volume_up_bytes: 0,
        volume_down_bytes: 0,
        event_count: 1,
        called_number: '4930123456',
        detail: null,
        charged_units: 120,
        allowance_units: 0,
        amount_pico: 140_000_000_000,
        currency: 'EUR',
        status: 'unbilled',
        kind: 'original',
        corrects_id: null,
        trace: '^["T1"0]',
        raw: 'r7,V,...',
        rated_at: '2026-11-29T12:00:00.000Z',
      };
      await database.db.insertInto('rated_usage').values(row).execute();

      const report = await migrateToLatest(database, allMigrations);
      assert.ok(report.applied.includes('0053_rated_usage_rowid'), report.applied.join(', '));
      const [stored] = await database.db.selectFrom('rated_usage').selectAll().execute();
      assert.deepEqual(
        stored,
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? BigInt(v) : v])),
      );
      const keys = await sql<{
        table: string;
      }>`select "table" from pragma_foreign_key_list('rated_usage')`.execute(database.db);
      assert.deepEqual(keys.rows, []);
      // The id is the rowid: no separate index for the primary key, and the start index is back.
      const indexes = await sql<{
        name: string;
      }>`select name from pragma_index_list('rated_usage') order by name`.execute(database.db);
      assert.deepEqual(
        indexes.rows.map((r) => r.name),
        ['rated_usage_start'],
      );
      const rowid = await sql<{ r: unknown }>`select rowid as r from rated_usage`.execute(database.db);
      assert.equal(rowid.rows[0]!.r, row.id);
    } finally {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
