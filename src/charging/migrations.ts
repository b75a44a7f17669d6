/**
 * The online charging tables: balances, their movements, reservations and charging sessions.
 *
 * The charging engine (workflows/charging.ts) holds the state of each account it serves in memory
 * and writes every change of one event-loop turn in one transaction (group commit), before any of
 * that turn's answers leave. These tables are what it loads from after a restart:
 * - charging_balances: one row per balance, its definition (JSON) and its running amount, holds
 *   and version (the number of movements posted);
 * - charging_movements: append-only; every balance equals the sum of its movements, and the
 *   engine checks it (paired assertion) when it loads an account;
 * - charging_reservations: one row per reservation, updated when it is committed, released or
 *   expires; the active ones are the holds;
 * - charging_sessions: the last request of each session (number, fingerprint, outcome), which is
 *   what answers a repeated request without charging twice.
 *
 * Every charging request writes some of these rows, so each index is an index written per request
 * (0056 keeps those few and small; see its comment and docs/charging.md).
 */
import { sql, type Kysely, type Migration } from 'kysely';

export const chargingMigrations: Record<string, Migration> = {
  '0050_charging': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('charging_balances')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('owner_kind', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('unit', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        // Validity, priority, filters, credit limit, spending cap limit, thresholds (JSON).
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('held', 'bigint', (c) => c.notNull())
        .addColumn('version', 'bigint', (c) => c.notNull())
        .addColumn('credited_total', 'bigint', (c) => c.notNull())
        // The spending cap's period and what was spent in it (JSON), or null.
        .addColumn('spending', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('charging_balances_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema
        .createIndex('charging_balances_account')
        .on('charging_balances')
        .columns(['tenant_id', 'account_id'])
        .execute();

      await db.schema
        .createTable('charging_movements')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('balance_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('balance_after', 'bigint', (c) => c.notNull())
        .addColumn('at_ms', 'bigint', (c) => c.notNull())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('charging_movements_pk', ['tenant_id', 'balance_id', 'seq'])
        .execute();

      await db.schema
        .createTable('charging_reservations')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('subscription_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        // Everything else of the reservation (rating group, units, holds...) as JSON: it is read
        // back whole, and only status and expiry are ever searched.
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('charging_reservations_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema
        .createIndex('charging_reservations_open')
        .on('charging_reservations')
        .columns(['tenant_id', 'status', 'expires_at_ms'])
        .execute();
      await db.schema
        .createIndex('charging_reservations_account')
        .on('charging_reservations')
        .columns(['tenant_id', 'account_id', 'status'])
        .execute();

      await db.schema
        .createTable('charging_sessions')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('subscription_id', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('terminated', 'bigint', (c) => c.notNull())
        .addColumn('last_request_number', 'bigint', (c) => c.notNull())
        // The last request's fingerprint and outcome (answered again for a repeated request) and
        // the ids of the session's reservations, as JSON.
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('notify_uri', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('charging_sessions_pk', ['tenant_id', 'session_id'])
        .execute();
      await db.schema
        .createIndex('charging_sessions_account')
        .on('charging_sessions')
        .columns(['tenant_id', 'account_id', 'terminated'])
        .execute();
    },
  },

  '0056_charging_hot_indexes': {
    // The indexes written by every charging request, made cheaper to write (measured on the
    // charging bench: they were over a quarter of the pages each group commit wrote, and a growing
    // share as the tables grew, because their keys (account, status) put each request's entry on
    // a different page of a large index):
    // - reservations by account no longer hold the status, so committing or releasing one (a
    //   status change) leaves this index alone; a status filter reads the row;
    // - sessions by account no longer hold `terminated`, likewise for the end of a session;
    // - the expiry sweep's index holds only the active reservations (a partial index): a few pages
    //   however many reservations were ever made, instead of one entry per reservation moved on
    //   each status change. The store's queries name the status as a literal (store.ts, ACTIVE), so
    //   that every planner knows they match it.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema.dropIndex('charging_reservations_open').execute();
      await db.schema
        .createIndex('charging_reservations_active')
        .on('charging_reservations')
        .columns(['tenant_id', 'expires_at_ms'])
        .where(sql.ref('status'), '=', 'active')
        .execute();
      await db.schema.dropIndex('charging_reservations_account').execute();
      await db.schema
        .createIndex('charging_reservations_account')
        .on('charging_reservations')
        .columns(['tenant_id', 'account_id'])
        .execute();
      await db.schema.dropIndex('charging_sessions_account').execute();
      await db.schema
        .createIndex('charging_sessions_account')
        .on('charging_sessions')
        .columns(['tenant_id', 'account_id'])
        .execute();
    },
  },
};
