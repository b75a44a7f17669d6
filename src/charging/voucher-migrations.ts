/**
 * Voucher tables, and the index that makes top-ups idempotent on their payment reference.
 *
 * - voucher_batches: one row per generated batch: what each voucher is worth (`unit`, `currency`,
 *   `face_value`: minor units of the currency for money, base units for a bucket), the bonus rule,
 *   the expiry and how many vouchers it holds;
 * - vouchers: one row per voucher: its serial (printed on the card, not secret), the HMAC of its
 *   PIN (the PIN itself is never stored, see src/charging/vouchers.ts), its status and, once
 *   redeemed, which balance it credited and when. `(tenant_id, pin_hash)` is unique: it is how a
 *   redemption finds the voucher, in one index lookup.
 * - charging_movements_top_up_reference: top-up movements by payment reference, so a top-up can
 *   check that its reference was not credited before without reading a balance's whole history.
 *   Partial (kind = 'top_up'), so the charges the engine writes on its hot path add no entries.
 */
import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';

export const voucherMigrations: Record<string, Migration> = {
  '0051_vouchers': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('voucher_batches')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('unit', 'text', (c) => c.notNull())
        // The ISO 4217 code for a money voucher, null for a unit voucher.
        .addColumn('currency', 'text')
        .addColumn('face_value', 'bigint', (c) => c.notNull())
        // { kind: none } | { kind: percent, percent } | { kind: fixed, amount } as JSON (bigints exact).
        .addColumn('bonus', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('voucher_count', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('voucher_batches_pk', ['tenant_id', 'id'])
        .execute();

      await db.schema
        .createTable('vouchers')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('batch_id', 'text', (c) => c.notNull())
        .addColumn('serial', 'text', (c) => c.notNull())
        .addColumn('pin_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('redeemed_balance_id', 'text')
        .addColumn('redeemed_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('vouchers_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema
        .createIndex('vouchers_pin_hash')
        .unique()
        .on('vouchers')
        .columns(['tenant_id', 'pin_hash'])
        .execute();
      await db.schema
        .createIndex('vouchers_serial')
        .unique()
        .on('vouchers')
        .columns(['tenant_id', 'serial'])
        .execute();
      await db.schema
        .createIndex('vouchers_batch')
        .on('vouchers')
        .columns(['tenant_id', 'batch_id', 'serial'])
        .execute();

      await db.schema
        .createIndex('charging_movements_top_up_reference')
        .on('charging_movements')
        .columns(['tenant_id', 'reference'])
        .where(sql.ref('kind'), '=', 'top_up')
        .execute();
    },
  },
};
