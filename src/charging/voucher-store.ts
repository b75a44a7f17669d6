/**
 * The voucher tables (voucher-migrations.ts): the only code that reads or writes them. Every
 * function takes the tenant and filters by it. PINs never reach this file: only their HMAC does.
 */
import type { Executor } from '../storage/database.js';
import { toBigInt, toSafeNumber } from '../storage/values.js';
import type { Instant } from '../kernel/clock.js';
import type { BalanceUnit } from './model.js';
import type { VoucherBonus, VoucherStatus } from './vouchers.js';
import { bigJson, parseBigJson } from './store.js';

export interface VoucherBatchesTable {
  tenant_id: string;
  id: string;
  name: string;
  unit: string;
  currency: string | null;
  face_value: bigint | number;
  bonus: string;
  expires_at: string;
  voucher_count: bigint | number;
  created_by: string;
  created_at: string;
}

export interface VouchersTable {
  tenant_id: string;
  id: string;
  batch_id: string;
  serial: string;
  pin_hash: string;
  status: string;
  redeemed_balance_id: string | null;
  redeemed_at: string | null;
  created_at: string;
}

declare module '../storage/schema.js' {
  interface DatabaseSchema {
    voucher_batches: VoucherBatchesTable;
    vouchers: VouchersTable;
  }
}

export interface VoucherBatch {
  readonly id: string;
  readonly name: string;
  readonly unit: BalanceUnit;
  /** Set for money vouchers. */
  readonly currency: string | undefined;
  /** Minor units of `currency` for money, base units for a unit voucher. */
  readonly faceValue: bigint;
  readonly bonus: VoucherBonus;
  readonly expiresAt: Instant;
  readonly count: number;
  readonly createdBy: string;
  readonly createdAt: Instant;
}

export interface Voucher {
  readonly id: string;
  readonly batchId: string;
  readonly serial: string;
  readonly status: VoucherStatus;
  readonly redeemedBalanceId: string | undefined;
  readonly redeemedAt: Instant | undefined;
  readonly createdAt: Instant;
}

function toBatch(row: VoucherBatchesTable): VoucherBatch {
  return {
    id: row.id,
    name: row.name,
    unit: row.unit as BalanceUnit,
    currency: row.currency ?? undefined,
    faceValue: toBigInt(row.face_value, 'voucher_batches.face_value'),
    bonus: parseBigJson<VoucherBonus>(row.bonus),
    expiresAt: row.expires_at as Instant,
    count: toSafeNumber(row.voucher_count, 'voucher_batches.voucher_count'),
    createdBy: row.created_by,
    createdAt: row.created_at as Instant,
  };
}

function toVoucher(row: VouchersTable): Voucher {
  return {
    id: row.id,
    batchId: row.batch_id,
    serial: row.serial,
    status: row.status as VoucherStatus,
    redeemedBalanceId: row.redeemed_balance_id ?? undefined,
    redeemedAt: (row.redeemed_at ?? undefined) as Instant | undefined,
    createdAt: row.created_at as Instant,
  };
}

export async function insertBatch(db: Executor, tenantId: string, batch: VoucherBatch): Promise<void> {
  await db
    .insertInto('voucher_batches')
    .values({
      tenant_id: tenantId,
      id: batch.id,
      name: batch.name,
      unit: batch.unit,
      currency: batch.currency ?? null,
      face_value: batch.faceValue,
      bonus: bigJson(batch.bonus),
      expires_at: batch.expiresAt,
      voucher_count: batch.count,
      created_by: batch.createdBy,
      created_at: batch.createdAt,
    })
    .execute();
}

/** Inserts vouchers (status unused) in chunks, each with the HMAC of its PIN. */
export async function insertVouchers(
  db: Executor,
  tenantId: string,
  vouchers: ReadonlyArray<{
    id: string;
    batchId: string;
    serial: string;
    pinHash: string;
    createdAt: Instant;
  }>,
): Promise<void> {
  for (let i = 0; i < vouchers.length; i += 200) {
    await db
      .insertInto('vouchers')
      .values(
        vouchers.slice(i, i + 200).map((v) => ({
          tenant_id: tenantId,
          id: v.id,
          batch_id: v.batchId,
          serial: v.serial,
          pin_hash: v.pinHash,
          status: 'unused',
          redeemed_balance_id: null,
          redeemed_at: null,
          created_at: v.createdAt,
        })),
      )
      .execute();
  }
}

export async function findBatch(
  db: Executor,
  tenantId: string,
  id: string,
): Promise<VoucherBatch | undefined> {
  const row = await db
    .selectFrom('voucher_batches')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row === undefined ? undefined : toBatch(row);
}

export async function listBatches(
  db: Executor,
  tenantId: string,
  page: { readonly after?: string; readonly limit: number },
): Promise<VoucherBatch[]> {
  const rows = await db
    .selectFrom('voucher_batches')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(page.after !== undefined, (q) => q.where('id', '>', page.after!))
    .orderBy('id')
    .limit(page.limit)
    .execute();
  return rows.map(toBatch);
}

/** The voucher whose PIN has this HMAC, with its batch. */
export async function findVoucherByPinHash(
  db: Executor,
  tenantId: string,
  pinHash: string,
): Promise<{ voucher: Voucher; batch: VoucherBatch } | undefined> {
  const row = await db
    .selectFrom('vouchers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('pin_hash', '=', pinHash)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const batch = await findBatch(db, tenantId, row.batch_id);
  if (batch === undefined)
    throw new Error(`voucher ${row.id} names batch ${row.batch_id}, which does not exist`);
  return { voucher: toVoucher(row), batch };
}

export async function listVouchers(
  db: Executor,
  tenantId: string,
  filter: {
    readonly batchId?: string;
    readonly status?: VoucherStatus;
    readonly after?: string;
    readonly limit: number;
  },
): Promise<Voucher[]> {
  const rows = await db
    .selectFrom('vouchers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(filter.batchId !== undefined, (q) => q.where('batch_id', '=', filter.batchId!))
    .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
    .$if(filter.after !== undefined, (q) => q.where('serial', '>', filter.after!))
    .orderBy('serial')
    .limit(filter.limit)
    .execute();
  return rows.map(toVoucher);
}

/**
 * Claims an unused voucher for a balance: one conditional UPDATE, so of two concurrent redemptions
 * exactly one changes the row (the database serialises the writes; the loser finds the status no
 * longer 'unused' and changes nothing). True when this call claimed it.
 */
export async function claimVoucher(
  db: Executor,
  tenantId: string,
  id: string,
  balanceId: string,
  at: Instant,
): Promise<boolean> {
  const result = await db
    .updateTable('vouchers')
    .set({ status: 'redeemed', redeemed_balance_id: balanceId, redeemed_at: at })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('status', '=', 'unused')
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Gives a claimed voucher back (its credit failed): only the claim of that balance is undone. */
export async function unclaimVoucher(
  db: Executor,
  tenantId: string,
  id: string,
  balanceId: string,
): Promise<void> {
  await db
    .updateTable('vouchers')
    .set({ status: 'unused', redeemed_balance_id: null, redeemed_at: null })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('status', '=', 'redeemed')
    .where('redeemed_balance_id', '=', balanceId)
    .execute();
}

/** Marks the unused vouchers of batches that expired by `at` as expired; returns how many. */
export async function expireVouchers(db: Executor, tenantId: string, at: Instant): Promise<number> {
  const result = await db
    .updateTable('vouchers')
    .set({ status: 'expired' })
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'unused')
    .where('batch_id', 'in', (eb) =>
      eb
        .selectFrom('voucher_batches')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('expires_at', '<=', at),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Counts the vouchers of a batch by status. */
export async function countVouchers(
  db: Executor,
  tenantId: string,
  batchId: string,
): Promise<Record<VoucherStatus, number>> {
  const rows = await db
    .selectFrom('vouchers')
    .select(['status', (eb) => eb.fn.countAll<number | bigint | string>().as('n')])
    .where('tenant_id', '=', tenantId)
    .where('batch_id', '=', batchId)
    .groupBy('status')
    .execute();
  const out: Record<VoucherStatus, number> = { unused: 0, redeemed: 0, expired: 0 };
  for (const row of rows) out[row.status as VoucherStatus] = Number(row.n);
  return out;
}
