import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openDatabase } from '../storage/database.js';
import { migrateToLatest } from '../storage/migrate.js';
import { allMigrations } from '../app/migrations.js';
import { accountsWithExpiredReservations, tenantsWithExpiredReservations } from './store.js';

// Migration 0056: the indexes every charging request writes are keyed so that a status change
// leaves them alone, and the expiry sweep's index holds only active reservations.
describe('charging migrations: indexes written per request (0056)', () => {
  it('indexes reservations and sessions by account alone, and active reservations by expiry', async () => {
    const database = await openDatabase('sqlite::memory:');
    try {
      await migrateToLatest(database, allMigrations);
      const { rows } = await sql<{ name: string; sql: string }>`
        select name, sql from sqlite_schema
        where type = 'index' and name in ('charging_reservations_active', 'charging_reservations_account',
          'charging_sessions_account', 'charging_reservations_open') order by name`.execute(database.db);
      assert.deepEqual(
        rows.map((row) => [row.name, row.sql.slice(row.sql.indexOf(' on ') + 4)]),
        [
          ['charging_reservations_account', '"charging_reservations" ("tenant_id", "account_id")'],
          [
            'charging_reservations_active',
            `"charging_reservations" ("tenant_id", "expires_at_ms") where "status" = 'active'`,
          ],
          ['charging_sessions_account', '"charging_sessions" ("tenant_id", "account_id")'],
        ],
      );
    } finally {
      await database.close();
    }
  });

  it('finds expired active reservations through the partial index', async () => {
    const database = await openDatabase('sqlite::memory:');
    try {
      await migrateToLatest(database, allMigrations);
      const db = database.db;
      await sql`insert into tenants (id, slug, name, status, settings, created_at, updated_at)
        values ('t1', 't1', 'T1', 'active', '{}', 'x', 'x')`.execute(db);
      const reservation = (id: string, account: string, status: string, expiresAtMs: number) => ({
        tenant_id: 't1',
        id,
        account_id: account,
        session_id: 's',
        subscription_id: 'sub',
        status,
        expires_at_ms: expiresAtMs,
        state: '{}',
        updated_at: 'x',
      });
      await db
        .insertInto('charging_reservations')
        .values([
          reservation('r1', 'a1', 'active', 1_000),
          reservation('r2', 'a2', 'committed', 1_000),
          reservation('r3', 'a3', 'active', 9_000),
        ])
        .execute();
      assert.deepEqual(await tenantsWithExpiredReservations(db, 5_000), ['t1']);
      assert.deepEqual(await accountsWithExpiredReservations(db, 't1', 5_000, 10), ['a1']);
      // The plan of the store's query (the status written into the SQL, ACTIVE in store.ts).
      const { rows } = await sql<{ detail: string }>`explain query plan
        select distinct account_id from charging_reservations
        where tenant_id = ${'t1'} and status = ${sql.lit('active')} and expires_at_ms <= ${5_000}`.execute(
        db,
      );
      assert.match(rows.map((row) => row.detail).join('; '), /charging_reservations_active/);
    } finally {
      await database.close();
    }
  });
});
